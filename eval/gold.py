"""Gold sets: JSONL, one item a line; every problem is reported with its file and line."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import GoldFileError

KINDS_UNANSWERABLE = "unanswerable"


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answers: list[str]
    sources: list[str]
    kind: str
    history: list[dict] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.kind != KINDS_UNANSWERABLE


def parse_item(data: object, where: str) -> GoldItem:
    """One validated item; GoldFileError naming `where` (file:line) otherwise.

    >>> parse_item({"id": "q1", "question": "Who?", "answers": ["Kharrazi"], "sources": ["a.txt"], "kind": "name"},
    ...            "gold.jsonl:1").answers
    ['Kharrazi']
    >>> parse_item({"id": "q2", "answers": []}, "gold.jsonl:2")
    Traceback (most recent call last):
    core.errors.GoldFileError: gold.jsonl:2: item has no "question"
    """
    if not isinstance(data, dict):
        raise GoldFileError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if not isinstance(data.get("question"), str) or not data["question"].strip():
        raise GoldFileError(f'{where}: item has no "question"')
    for key in ("answers", "sources"):
        if not isinstance(data.get(key, []), list) or not all(isinstance(x, str) for x in data.get(key, [])):
            raise GoldFileError(f'{where}: "{key}" must be a list of strings')
    kind = str(data.get("kind") or ("unanswerable" if not data.get("answers") else "other"))
    if kind != KINDS_UNANSWERABLE and not data.get("answers"):
        raise GoldFileError(f'{where}: answerable item (kind {kind!r}) has no "answers"')
    return GoldItem(str(data.get("id") or where), data["question"], list(data.get("answers", [])),
                    list(data.get("sources", [])), kind, list(data.get("history", [])))


def load(path: Path, corpus: Path | None = None) -> list[GoldItem]:
    """All items of a gold file; sources are checked against the corpus folder when given."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise GoldFileError(f"{path}: cannot read the gold file ({err})") from None
    items = [_parse_line(line, f"{path}:{number}") for number, line in enumerate(lines, 1) if line.strip()]
    if not items:
        raise GoldFileError(f"{path}: no items")
    if corpus is not None:
        _check_sources(items, lines, path, Path(corpus))
    return items


def _parse_line(line: str, where: str) -> GoldItem:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        raise GoldFileError(f"{where}: malformed JSON ({err.msg} at column {err.colno})") from None
    return parse_item(data, where)


def _check_sources(items: list[GoldItem], lines: list[str], path: Path, corpus: Path) -> None:
    present = {p.name for p in corpus.rglob("*") if p.is_file()}
    numbers = [n for n, line in enumerate(lines, 1) if line.strip()]
    for item, number in zip(items, numbers):
        missing = [s for s in item.sources if s not in present]
        if missing:
            raise GoldFileError(f"{path}:{number}: gold source {missing[0]!r} is not in the corpus {corpus}")
