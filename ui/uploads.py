"""Uploaded files: safe names, type and size checks, copies into the index's uploads folder.

No gradio and no index here: the app hands over the temporary paths the browser upload produced
and the file types the assistant reads (`Assistant.supported_types()`).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_NAME_CHARS = 120
BLANK_CHECK_BYTES = 65_536   # a file this small or smaller is read to see whether it holds only whitespace
EMPTY = "empty file: nothing to index"


@dataclass(frozen=True)
class Outcome:
    """What became of one uploaded file: indexed, updated, unchanged, failed (reading it) or refused (before)."""

    name: str
    status: str
    reason: str = ""
    source: str = ""          # the indexed document's path (what answers cite), when it was stored


@dataclass
class Accepted:
    """Uploads copied into the uploads folder (stored path -> uploaded name), the ones refused, and the
    earlier upload of the same name each one replaced (stored path -> where it was set aside)."""

    stored: dict[str, str] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)
    replaced: dict[str, str] = field(default_factory=dict)


def outcomes(report, refused: list[tuple[str, str]], names: dict[str, str] | None = None) -> list[Outcome]:
    """One Outcome a file, from the ingest report of the stored uploads and the refusals before it;
    `names` maps stored paths to uploaded names.

    >>> from core.records import IngestReport
    >>> rows = outcomes(IngestReport(added=["/u/a.txt"], failed=[("/u/b.pdf", "empty")]), [("c.exe", "bad type")])
    >>> [(o.name, o.status, o.reason, o.source) for o in rows]
    [('a.txt', 'indexed', '', '/u/a.txt'), ('b.pdf', 'failed', 'empty', '/u/b.pdf'), ('c.exe', 'refused', 'bad type', '')]
    """
    names, rows = names or {}, []
    if report is not None:
        for status, sources in (("indexed", report.added), ("updated", report.updated),
                                ("unchanged", report.unchanged)):
            rows += [Outcome(names.get(s, Path(s).name), status, "", s) for s in sources]
        rows += [Outcome(names.get(s, Path(s).name), "failed", reason, s) for s, reason in report.failed]
    return rows + [Outcome(name, "refused", reason) for name, reason in refused]


def uploads_dir(index_dir: Path) -> Path:
    """The folder uploads are copied into (absolute: it names the documents' sources)."""
    return (Path(index_dir) / "uploads").resolve()


def safe_name(name: str) -> str:
    """The base name only, with every character outside letters, digits, ``. _ -`` and space replaced.

    >>> safe_name("../../etc/passwd")
    'passwd'
    >>> safe_name("..\\\\..\\\\evil report (1).txt")
    'evil report _1_.txt'
    >>> safe_name(".hidden.md"), safe_name(".."), safe_name("")
    ('hidden.md', 'upload', 'upload')
    >>> len(safe_name("a" * 300 + ".txt")) <= 120, safe_name("a" * 300 + ".txt").endswith(".txt")
    (True, True)
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    base = re.sub(r"\.{2,}", ".", base) or "upload"
    stem, suffix = os.path.splitext(base)
    if len(base) > MAX_NAME_CHARS:
        base = stem[:MAX_NAME_CHARS - len(suffix[:16])] + suffix[:16]
    return base


def refusal(name: str, size: int, max_mb: float, supported: list[str]) -> str:
    """Why an upload is turned away before indexing, or "" when it is acceptable.

    >>> refusal("a.exe", 10, 20.0, [".txt", ".pdf"])
    "unsupported file type '.exe'; supported: .pdf, .txt"
    >>> refusal("a.txt", 30_000_000, 20.0, [".txt"])
    'file is 30.0 MB, over the 20 MB upload limit'
    >>> refusal("a.TXT", 10, 20.0, [".txt"]), refusal("a.txt", 0, 20.0, [".txt"])
    ('', 'empty file: nothing to index')
    """
    suffix = Path(name).suffix.lower()
    if suffix not in supported:
        return f"unsupported file type {suffix or '(no extension)'!r}; supported: {', '.join(sorted(supported))}"
    if size == 0:
        return EMPTY
    if size > max_mb * 1e6:
        return f"file is {size / 1e6:.1f} MB, over the {max_mb:g} MB upload limit"
    return ""


def inside(folder: Path, path: Path) -> bool:
    """Whether `path` names an entry directly in `folder` (no escape through names or links).

    >>> inside(Path("/x/uploads"), Path("/x/uploads/a.txt")), inside(Path("/x/uploads"), Path("/x/a.txt"))
    (True, False)
    """
    return path.parent == folder and path.name not in {"", ".", ".."}


def store(paths: list[str | Path], folder: Path, max_mb: float, supported: list[str]) -> Accepted:
    """Copy acceptable uploads into `folder` under their safe base name. An older upload of that name is set
    aside, not deleted: `settle` deletes it once the new one is indexed, or puts it back if that fails."""
    result = Accepted()
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path = Path(path)
        name = path.name
        reason = _reason(path, max_mb, supported)
        if reason:
            result.refused.append((name, reason))
            continue
        target = folder / safe_name(name)
        if not inside(folder, target):
            result.refused.append((name, "file name not allowed"))
            continue
        aside = _set_aside(target)
        try:
            _copy(path, target)
        except BaseException:
            _put_back(aside, target)
            raise
        result.stored[str(target)] = name
        result.replaced.update({str(target): aside} if aside else {})
    return result


def indexed(accepted: Accepted, ingest: Callable[[list[str]], object]):
    """The report of `ingest` over the stored uploads (None when none was stored), then `settle`d: a
    failed upload leaves no file, and the upload it replaced comes back."""
    report = None
    try:
        report = ingest(list(accepted.stored)) if accepted.stored else None
        return report
    finally:
        settle(accepted, report)


def settle(accepted: Accepted, report) -> None:
    """After indexing: each stored upload the report lists as failed (all of them when there is no report:
    indexing itself failed) is deleted and the older upload it replaced put back; the older uploads the
    others replaced are deleted."""
    failed = {source for source, _ in report.failed} if report is not None else set(accepted.stored)
    for target in accepted.stored:
        aside = accepted.replaced.get(target, "")
        if target in failed:
            _unlink(target)
            _put_back(aside, Path(target))
        elif aside:
            _unlink(aside)


def _reason(path: Path, max_mb: float, supported: list[str]) -> str:
    """Why the uploaded file at `path` is refused, or "" (a path that is no readable file is refused too).

    >>> _reason(Path("/no/such/notes.txt"), 1.0, [".txt"]), _reason(Path("/tmp/a\\x00.txt"), 1.0, [".txt"])
    ('the upload could not be read', 'the upload could not be read')
    """
    unreadable = "the upload could not be read"
    try:
        if not path.is_file():   # a NUL in the name: no file
            return unreadable
        return refusal(path.name, path.stat().st_size, max_mb, supported) or (EMPTY if _blank(path) else "")
    except OSError:
        return unreadable


def _blank(path: Path) -> bool:
    """Whether a small file holds only whitespace (nothing to index).

    >>> import tempfile; blank = Path(tempfile.mkdtemp()) / "b.txt"; _ = blank.write_text("  \\n\\n ")
    >>> _blank(blank), _blank(Path(__file__))
    (True, False)
    """
    return path.stat().st_size <= BLANK_CHECK_BYTES and not path.read_bytes().strip()


def _set_aside(target: Path) -> str:
    """Move an earlier upload at `target` to a hidden name in its folder (a link is not kept); that name or ""."""
    if target.is_symlink() or not target.is_file():
        return ""
    handle, aside = tempfile.mkstemp(dir=target.parent, prefix=".replaced-")
    os.close(handle)
    os.replace(target, aside)
    return aside


def _put_back(aside: str, target: Path) -> None:
    if aside:
        os.replace(aside, target)


def _copy(source: Path, target: Path) -> None:
    """Copy through a temporary file in the same folder, then rename: a link at `target` is replaced, never followed."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out, open(source, "rb") as data:
            shutil.copyfileobj(data, out)
        os.replace(temporary, target)
    except BaseException:
        _unlink(temporary)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def forget(source: str, folder: Path) -> None:
    """Delete the uploaded copy of a removed document (only files inside the uploads folder)."""
    path = Path(source)
    if inside(folder, path) and path.is_file() and not path.is_symlink():
        _unlink(str(path))
