"""Reliability of ingest: every bad file is reported with a reason and every good one indexed, and a
kill -9 at any point of an ingest leaves an index that the next ingest completes to exactly a clean build."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import CORPUS, ORIGINAL, REPO, REWRITE
from rag import Assistant

RAG = Path(sys.executable).with_name("rag")
TESTS = Path(__file__).resolve().parent
LATIN1_NAME = os.fsdecode(b"caf\xe9.txt")  # a name in Latin-1 bytes, not UTF-8

# --- a folder of good and bad files

GOOD = {  # file name -> (text, question, words the answer must contain)
    "plain.txt": ("The Quenby festival takes place every spring in the river town of Marlow.",
                  "Where does the Quenby festival take place?", "Marlow"),
    "name with spaces.txt": ("The Harwick bridge was rebuilt with granite from Cornwall in 1887.",
                             "What was the Harwick bridge rebuilt with?", "granite"),
    "ünïcødé 名前 файл.md": ("The Velmora observatory was founded by the astronomer Ilse Brandt in 1902.",
                            "Who founded the Velmora observatory?", "Ilse Brandt"),
    "line\nbreak.txt": ("The Dunmore chess club meets in the old granary on Thornbury Street.",
                        "Where does the Dunmore chess club meet?", "Thornbury"),
    "report.pdf": ("The Pellam orchard grows forty varieties of pear.",
                   "How many varieties of pear does the Pellam orchard grow?", "forty"),
    "letter.docx": ("The Tolvern canal was designed by the engineer Aurelio Santini.",
                    "Who designed the Tolvern canal?", "Aurelio Santini"),
    "linked/outside.txt": ("The Brisco lantern parade starts at the harbour of Kelmouth.",  # `linked` is a link
                           "Where does the Brisco lantern parade start?", "Kelmouth"),
}
LOCKED = ("locked.txt", "The Ashcombe choir rehearses every week in the crypt of Saint Aldric.",
          "Where does the Ashcombe choir rehearse?", "Saint Aldric")
BAD = {  # file name -> words its reason must contain (the locked file is added when it cannot be read)
    "corrupt.pdf": ("corrupt", "PDF"),
    "scan.pdf": ("PDF has no text layer", "OCR"),
    "bomb.docx": ("zip bomb", "expand to 300 MB"),
    "binary.txt": ("binary",),
    "empty.txt": ("empty file",),
    "latin1.txt": ("not UTF-8", "0xE9"),
    "huge.txt": ("50.0 MB", "over the 20 MB cap"),
    "loop.txt": ("symbolic link loop",),
    "cycle": ("symbolic link loop", "folder already read"),
    LATIN1_NAME: ("file name is not valid UTF-8", "rename"),
}
LOCKED_REASON = ("permission denied",)
SAMPLE_QUESTIONS = [  # one per sample article: (question, fact, files that may be cited)
    ("How much money was Aslanov offered to carry out the hit?", "$200,000",
     {"000_fa8bb00622d1fd93.txt", "001_8aa7530ea92fc152.txt"}),
    ("How many Knesset members signed the letter about the Azeris?", "32", {"002_07a9a01349c831e9.txt"}),
    ("How long is the border Iran shares with Azerbaijan?", "765 kilometers", {"003_3c2440bdc0ef8b21.txt"}),
    ("Where did Tehran open its first consulate in October 2022?", "Kapan", {"004_78d31ce787c7425f.txt"}),
]


def write_pdf(path: Path, text: str = "") -> None:
    """A one-page PDF: `text` as a real text layer, or (no text) only shapes, as a scan has."""
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(str(path))
    if text:
        page.drawString(72, 700, text)
    else:
        page.rect(72, 300, 300, 400, fill=1)
        page.circle(300, 200, 60)
    page.save()


def write_docx(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))


def write_zip_bomb(path: Path, megabytes: int = 300) -> None:
    """A real .docx-named zip whose one member inflates to `megabytes` of zeros (streamed: little RAM)."""
    block = bytes(10**6)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(block)


def write_huge_text(path: Path, megabytes: int = 50) -> None:
    line = b"A long line of real words that goes on and on. " * 20 + b"\n"
    with open(path, "wb") as out:
        while out.tell() < megabytes * 10**6:
            out.write(line)


def make_folder(folder: Path) -> None:
    """The good files (one in a linked folder), the bad files and the unreadable one."""
    (folder / "linked").mkdir(parents=True)
    for name, (text, _, _) in GOOD.items():
        writer = {".pdf": write_pdf, ".docx": write_docx}.get(Path(name).suffix)
        writer(folder / name, text) if writer else (folder / name).write_text(text + "\n", encoding="utf-8")
    (folder / "linked").rename(folder.parent / "elsewhere")
    (folder / "linked").symlink_to(folder.parent / "elsewhere")
    write_pdf(folder / "scan.pdf")
    write_zip_bomb(folder / "bomb.docx")
    write_huge_text(folder / "huge.txt")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage \x00\x01 not a pdf")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin1.txt").write_bytes("Caf\xe9 na\xefve text written in Latin-1.".encode("latin-1"))
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / LATIN1_NAME).write_bytes(b"The Bellhaven ferry leaves at seven.\n")
    (folder / "cycle").symlink_to(folder)
    (folder / LOCKED[0]).write_text(LOCKED[1] + "\n")
    (folder / LOCKED[0]).chmod(0)


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-files") / "mixed"
    make_folder(folder)
    yield folder
    (folder / "huge.txt").unlink()                     # 50 MB that pytest would keep with its last temp folders


def expected(folder: Path, locked_readable: bool) -> tuple[dict, dict]:
    """Good file path -> (question, answer words); bad file path -> reason words, for one reader."""
    good = {str(folder / n): (q, a) for n, (_, q, a) in GOOD.items()}
    bad = {str(folder / n): words for n, words in BAD.items()}
    if locked_readable:
        good[str(folder / LOCKED[0])] = LOCKED[2:]
    else:
        bad[str(folder / LOCKED[0])] = LOCKED_REASON
    return good, bad


def tally(label: str, report: dict, good: dict, bad: dict) -> None:
    """Counts tried / reported / indexed / lost; lost must be 0 and no file may be reported twice."""
    reasons = dict(report["failed"])
    assert len(reasons) == len(report["failed"]), report["failed"]
    reported = [p for p, words in bad.items() if all(w in reasons.get(p, "") for w in words)]
    indexed = [p for p in good if p in report["added"] and p not in reasons]
    lost = len(good) - len(indexed) + len(bad) - len(reported)
    print(f"bad-files ({label}): tried={len(good) + len(bad)} reported={len(reported)} "
          f"indexed={len(indexed)} lost={lost}")
    assert lost == 0, {"reasons": reasons, "added": report["added"]}
    assert sorted(reasons) == sorted(bad) and sorted(report["added"]) == sorted(good)


def check_answers(assistant: Assistant, good: dict) -> None:
    """Every good file and every sample article answers its question (with no refusal threshold: what is
    checked here is that the indexed text is there and cited, not the answerer's calibration)."""
    assistant = Assistant(settings=assistant.settings.replace(abstain_threshold=0.0), store=assistant.store,
                          embedder=assistant.embedder)
    for path, (question, words) in good.items():
        answer = assistant.ask(question)
        assert words in answer.text and answer.citations, (path, answer.text)
        assert answer.citations[0].source == path, (question, answer.citations[0].source)
    for question, fact, names in SAMPLE_QUESTIONS:
        answer = assistant.ask(question)
        assert fact in answer.text and {Path(c.source).name for c in answer.citations} & names, answer.text


def test_bad_files_are_reported_and_good_ones_indexed(tmp_path, embedder, corpus_dir, bad_folder):
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    assistant.ingest([corpus_dir])
    before = (assistant.documents(), sorted(assistant.store.chunk_keys()))
    report = assistant.ingest([bad_folder])
    good, bad = expected(bad_folder, os.access(bad_folder / LOCKED[0], os.R_OK))
    tally("in-process", report.to_dict(), good, bad)
    assert len(assistant.documents()) == len(before[0]) + len(good)
    assert set(before[0]) <= set(assistant.documents())                   # the sample lost nothing
    assert set(before[1]) <= set(assistant.store.chunk_keys())
    check_answers(assistant, good)


WITHOUT_DAC = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: what lets root read any file
    if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, kept across exec
        sys.exit(f"cannot drop capability {cap}: errno {ctypes.get_errno()}")
os.execv(sys.argv[1], sys.argv[1:])
"""


def unprivileged(command: list[str]) -> list[str]:
    """`command`, run so that file permissions apply: as root (tests and CI), without the capabilities
    that let root read any file (the interpreter lives under /root, out of reach of `nobody`)."""
    return [sys.executable, "-c", WITHOUT_DAC, *command] if os.geteuid() == 0 else command


def rag_cli(*args: str, drop_privileges: bool = False) -> subprocess.CompletedProcess:
    command = [str(RAG), *args]
    return subprocess.run(unprivileged(command) if drop_privileges else command, capture_output=True, text=True,
                          cwd=REPO, timeout=600)


@pytest.mark.slow
def test_cli_ingest_of_bad_files_without_privileges(tmp_path, embedder, corpus_dir, bad_folder):
    index = tmp_path / "index"
    first = rag_cli("ingest", str(corpus_dir), "--index-dir", str(index), "--json", drop_privileges=True)
    assert first.returncode == 0 and len(json.loads(first.stdout)["added"]) == 5, first.stderr[-2000:]
    done = rag_cli("ingest", str(bad_folder), "--index-dir", str(index), "--json", drop_privileges=True)
    assert done.returncode == 0, done.stderr[-2000:]
    good, bad = expected(bad_folder, locked_readable=False)
    tally("rag ingest, unprivileged", json.loads(done.stdout), good, bad)
    assistant = Assistant(index, embedder=embedder)
    assert {d.name for d in assistant.documents()} == {p.name for p in corpus_dir.iterdir()} | \
        {Path(p).name for p in good}
    check_answers(assistant, good)


# --- kill -9 during an ingest of a few hundred files

FIRST = ["Hilda", "Oswin", "Marta", "Teodor", "Ines", "Bram", "Sofia", "Cyril", "Agnes", "Lukas", "Noor", "Emil",
         "Greta", "Pavel", "Yara", "Anton", "Clio", "Dario", "Freya", "Ivo"]
SYLLABLES = ["bel", "dor", "fen", "gar", "hol", "kes", "lun", "mar", "nor", "pel", "quin", "ros", "sal", "tor",
             "val", "wen", "zar", "ark", "bry", "cal"]
THINGS = ["bridge", "mill", "clock tower", "granary", "ferry", "lighthouse", "well", "chapel", "school", "forge"]
NOTES = 300
LONG = {3, 17, 150, 290}  # notes of several chunks; the others fit in one


def coined(n: int, ending: str = "ton") -> str:
    """A made-up name, distinct for every n below 400 (and every ending).

    >>> coined(0), coined(21, "ley")
    ('Belbelton', 'Dordorley')
    """
    high, low = divmod(n, len(SYLLABLES))
    return f"{SYLLABLES[high % len(SYLLABLES)]}{SYLLABLES[low]}{ending}".capitalize()


def fact(n: int) -> tuple[str, str, str]:
    """The sentence only note n states, a question it answers and the answer."""
    person, village, thing = f"{FIRST[n % len(FIRST)]} {coined(n * 7 + 3, 'ley')}", coined(n), THINGS[n % len(THINGS)]
    return (f"In record {n}, the engineer {person} repaired the {thing} of the village of {village}.",
            f"Who repaired the {thing} of the village of {village}?", person)


def detail(n: int) -> str:
    return (f"The work took {n % 9 + 2} weeks and cost {40 + n * 3} crowns, paid by the guild of "
            f"{coined(n, 'wick')} and blessed by Bishop {coined(n * 13 + 2, 'ard')} of {coined(n, 'ham')}.")


def addendum(n: int) -> tuple[str, str, str]:
    inspector = f"{FIRST[(n + 5) % len(FIRST)]} {coined(n * 11 + 5, 'by')}"
    return (f"The repairs in the village of {coined(n)} were later inspected by the surveyor {inspector}.",
            f"Which surveyor inspected the repairs in the village of {coined(n)}?", inspector)


def corpus_sentences() -> list[str]:
    """Plain English sentences of the sample articles, 10 to 28 words long."""
    found = []
    for path in sorted(CORPUS.glob("*.txt")):
        for sentence in " ".join(path.read_text(encoding="utf-8").split()).split(". "):
            if 10 <= len(sentence.split()) <= 28 and sentence.isascii() and sentence[0].isupper():
                found.append(sentence.rstrip(".") + ".")
    return found


def make_notes(folder: Path) -> Path:
    """NOTES small files: sentences of the sample articles and one fact of their own each."""
    sentences, rng = corpus_sentences(), random.Random(7)
    folder.mkdir()
    for n in range(NOTES):
        text = " ".join(rng.sample(sentences, 12 if n in LONG else 1) + [fact(n)[0], detail(n)])
        (folder / f"note_{n:03d}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def snapshot(store) -> dict:
    """What an index holds: its document records with their text, and every stored chunk as
    [id, source, doc_hash, ordinal, start, end, text]."""
    return {"documents": [{**d.to_dict(), "text": store.document_text(d.source)} for d in store.documents()],
            "chunks": sorted([c.id, c.source, c.doc_hash, c.ordinal, c.start, c.end, c.text]
                             for c in store.all_chunks())}


def check_committed_whole(state: dict) -> None:
    """Every committed document has exactly the chunks of its committed version, quoting its text."""
    for doc in state["documents"]:
        own = sorted(c[3:] for c in state["chunks"] if c[1:3] == [doc["source"], doc["content_hash"]])
        assert [o[0] for o in own] == list(range(doc["chunks"])), (doc["source"], [o[0] for o in own])
        assert all(doc["text"][start:end] == text for _, start, end, text in own), doc["source"]


def announce(cls, name: str, label) -> None:
    """Make `cls.name` print a line naming its call and wait for the test's go-ahead before running."""
    method = getattr(cls, name)

    def announced(self, *args):
        print(name, label(*args), flush=True)
        sys.stdin.readline()
        return method(self, *args)

    setattr(cls, name, announced)


CHILD = """
import json, sys
sys.path.insert(0, sys.argv[4])
from test_reliability_ingest import announce, snapshot
from index import pipeline
from index.embed import Embedder
from index.store import Store
from rag import Assistant

pipeline.WINDOW_CHUNKS = int(sys.argv[3])
assistant = Assistant(sys.argv[1])
assistant.embedder.encode(["warm up"])
print("state", json.dumps(snapshot(assistant.store)), flush=True)
announce(Embedder, "encode", len)
announce(Store, "upsert_chunks", lambda chunks, vectors: chunks[0].source)
announce(Store, "put_documents", lambda infos, texts, vectors: " ".join(i.source for i in infos))
announce(Store, "delete_chunks", len)
assistant.ingest([sys.argv[2]])
print("finished", flush=True)
"""


@dataclass
class Kill:
    """Where to kill -9 an ingest: at the call `at` picks from the calls seen so far, before it runs
    or `during` seconds into it."""
    name: str
    at: Callable[[list[str]], bool]
    during: float | None = None
    window: int = 32


def nth(call: str, n: int) -> Callable[[list[str]], bool]:
    return lambda seen: seen[-1].startswith(call) and sum(s.startswith(call) for s in seen) == n


def naming(call: str, path: Path) -> Callable[[list[str]], bool]:
    return lambda seen: _names(seen[-1], call, path)


def after(call: str, path: Path) -> Callable[[list[str]], bool]:
    return lambda seen: len(seen) > 1 and _names(seen[-2], call, path)


def _names(line: str, call: str, path: Path) -> bool:
    name, _, arguments = line.partition(" ")
    return name == call and str(path) in arguments.split(" ")


def kill_ingest(index: Path, folder: Path, kill: Kill, log: Path) -> tuple[dict, str]:
    """Run an ingest in a child process and kill -9 it at `kill`: (index state the child found, call killed)."""
    command = [sys.executable, "-c", CHILD, str(index), str(folder), str(kill.window), str(TESTS)]
    with open(log, "a") as stderr, subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                    stderr=stderr, text=True, cwd=REPO) as child:
        first, seen = child.stdout.readline(), []
        for line in child.stdout if first.startswith("state ") else []:
            seen.append(line.rstrip("\n"))
            if kill.at(seen):
                break
            go(child)
        reached = bool(seen) and kill.at(seen)
        if reached and kill.during is not None:
            go(child)
            time.sleep(kill.during)
        child.send_signal(signal.SIGKILL)
    assert reached and child.returncode == -signal.SIGKILL, f"{kill.name}: not reached: {seen[-3:]}\n" \
                                                            f"{log.read_text()[-3000:]}"
    call, _, argument = seen[-1].partition(" ")
    return json.loads(first.split(" ", 1)[1]), f"call {len(seen)}: {call} {Path(argument).name}"


def go(child: subprocess.Popen) -> None:
    child.stdin.write("\n")
    child.stdin.flush()


def append(path: Path, sentence: str) -> str:
    before = path.read_text(encoding="utf-8")
    path.write_text(before + sentence + "\n", encoding="utf-8")
    return before


STATE = """
import json, sys
sys.path.insert(0, sys.argv[2])
from test_reliability_ingest import snapshot
from index.store import Store
from core.settings import Settings
print(json.dumps(snapshot(Store(Settings(index_dir=sys.argv[1]).store))))
"""


def state_of(index: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", STATE, str(index), str(TESTS)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def asked(assistant: Assistant, questions: list[str]) -> list[tuple[str, list]]:
    return [(a.text, [(c.source, c.start, c.end) for c in a.citations]) for a in map(assistant.ask, questions)]


def crash_five_times(folder: Path, index: Path, log: Path) -> None:
    """Ingests of `folder` killed at five points (two notes edited, then one edit undone, on the way); what each
    kill left is checked: every committed document whole."""
    from index.pipeline import WINDOW_CHUNKS

    note = {n: folder / f"note_{n:03d}.txt" for n in range(NOTES)}
    kills = [Kill("while the encoder is busy", nth("encode", 1), 1.0, WINDOW_CHUNKS),
             Kill("inside a chunk write", nth("upsert_chunks", 2), 0.01),           # of the second window
             Kill("before an update is committed", naming("put_documents", note[3])),
             Kill("before an update's old chunks go", after("put_documents", note[17])),
             Kill("inside a commit", nth("put_documents", 4), 0.01)]
    runs = [kill_ingest(index, folder, kill, log) for kill in kills[:2]]
    undo = append(note[3], addendum(3)[0])
    append(note[17], addendum(17)[0])
    runs.append(kill_ingest(index, folder, kills[2], log))
    note[3].write_text(undo, encoding="utf-8")
    runs += [kill_ingest(index, folder, kill, log) for kill in kills[3:]]
    left = [found for found, _ in runs[1:]] + [state_of(index)]
    for kill, (_, call), state in zip(kills, runs, left):
        print(f"kill -9 {kill.name} ({call}): left {len(state['documents'])} documents, "
              f"{len(state['chunks'])} chunks")
        check_committed_whole(state)
    assert left[0] == {"documents": [], "chunks": []}
    first_window = [Path(d["source"]).name for d in left[1]["documents"]]   # committed by the one finished window
    assert 0 < len(first_window) < NOTES and first_window == [note[n].name for n in range(len(first_window))]
    old = [c for c in left[3]["chunks"] if c[1] == str(note[17]) and c[2] != left[3]["documents"][17]["content_hash"]]
    assert old, "the kill was meant to leave the chunks of the old version of note 17"


def check_complete(state: dict, folder: Path) -> None:
    """Every file once, no duplicate chunk, no chunk of an uncommitted or replaced version, none missing."""
    assert [d["source"] for d in state["documents"]] == sorted(str(p) for p in folder.iterdir())
    assert len({c[0] for c in state["chunks"]}) == len(state["chunks"]) == sum(d["chunks"] for d in state["documents"])
    committed = {(d["source"], d["content_hash"]) for d in state["documents"]}
    assert all((c[1], c[2]) in committed for c in state["chunks"]), "a chunk of no committed document is left"
    check_committed_whole(state)


@pytest.mark.slow
def test_kill_9_during_ingest_then_ingest_equals_a_clean_build(tmp_path, embedder):
    folder, index = make_notes(tmp_path / "notes"), tmp_path / "crashed"
    crash_five_times(folder, index, tmp_path / "children.log")
    done = rag_cli("ingest", str(folder), "--index-dir", str(index), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["failed"] == [], done.stderr[-2000:]
    crashed, clean = Assistant(index, embedder=embedder), Assistant(tmp_path / "clean", embedder=embedder)
    clean.ingest([folder])
    final = snapshot(crashed.store)
    check_complete(final, folder)
    assert final == snapshot(clean.store)
    checks = {0: fact(0), 3: fact(3), 17: addendum(17), 40: fact(40), 120: fact(120), 299: fact(299)}
    answers = asked(crashed, [q for _, q, _ in checks.values()])
    assert answers == asked(clean, [q for _, q, _ in checks.values()])
    for (text, cited), (n, (_, question, words)) in zip(answers, checks.items()):
        assert words in text and cited[0][0] == str(folder / f"note_{n:03d}.txt"), (question, text)


def test_an_edited_rewrite_keeps_its_duplicate_link_as_a_clean_build_has_it(tmp_path, embedder, corpus_dir):
    """Later-named near-copies, closer to the rewrite than the original is, must not hide the original."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in (ORIGINAL, REWRITE):
        (folder / name).write_text((corpus_dir / name).read_text(encoding="utf-8"), encoding="utf-8")
    for n in range(3):
        (folder / f"{REWRITE}.copy{n}.txt").write_text((folder / REWRITE).read_text() + f"Copy {n}.\n")
    incremental = Assistant(tmp_path / "incremental", embedder=embedder)
    incremental.ingest([folder])
    append(folder / REWRITE, "The article was corrected the next day.")
    assert [Path(p).name for p in incremental.ingest([folder]).updated] == [REWRITE]
    clean = Assistant(tmp_path / "clean", embedder=embedder)
    clean.ingest([folder])
    rewrite = [next(d for d in a.documents() if d.name == REWRITE) for a in (incremental, clean)]
    assert rewrite[0] == rewrite[1] and rewrite[1].duplicate_of == str(folder / ORIGINAL)
