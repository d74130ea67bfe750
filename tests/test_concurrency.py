"""Many questions at once: through the served UI, on one Assistant, and while an ingest is writing.

Each question has its own known fact, so an answer given to the wrong question shows; answers given at once
must be the answers given one at a time; a question asked during an ingest is answered from the last committed
snapshot (never from a half-written document) and does not wait for the ingest to finish.
"""
from __future__ import annotations

import html
import itertools
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO
from eval.gold import load
from rag import assistant as assistant_module
from rag.assistant import Assistant
from uihelpers import running_ui

pytestmark = pytest.mark.slow

THREADS = 20
# Twenty gold questions whose expected facts differ from one another.
GOLD_IDS = ["s004", "s005", "s008", "s011", "s014", "s022", "s024", "s027", "s029", "s035",
            "s036", "s040", "s041", "s042", "s043", "s044", "s048", "s053", "s055", "s056"]
NEW_DOCUMENTS = 30


@pytest.fixture(scope="module")
def questions() -> list[tuple[str, str]]:
    """(question, expected fact) of the chosen gold items."""
    items = {item.id: item for item in load(REPO / "eval" / "gold" / "sample.jsonl")}
    chosen = [(items[i].question, items[i].answers[0]) for i in GOLD_IDS]
    assert len({fact for _, fact in chosen}) == THREADS
    return chosen


def all_at_once(work, inputs: list) -> tuple[list, list[BaseException]]:
    """`work(x)` for every input on its own thread, all released together; (results, errors)."""
    barrier = threading.Barrier(len(inputs))

    def run(x):
        barrier.wait()
        return work(x)

    with ThreadPoolExecutor(len(inputs)) as pool:
        futures = [pool.submit(run, x) for x in inputs]
    errors = [f.exception() for f in futures if f.exception()]
    return [None if f.exception() else f.result() for f in futures], errors


def plain(markdown: str) -> str:
    """The text a person reads in a chat message (markdown escapes and entities removed).

    >>> plain("\\\\$200,000 \\\\[1\\\\] &amp; more")
    '$200,000 [1] & more'
    """
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


# --- (a) the served UI

def session(url: str):
    """A client program with its own browser session on the UI."""
    from gradio_client import Client

    return Client(url, verbose=False)


def ask_ui(client, question: str) -> tuple[str, str, str]:
    """(question shown, answer shown, sources panel) of one question asked in a new conversation."""
    client.reset_session()
    _, chat, sources = client.predict(question, "offline", 6, [], "", "", api_name="/ask")
    user, bot = (plain("".join(part["text"] for part in message["content"])) for message in chat)
    return user, bot, sources


def headings(panel: str) -> list[str]:
    """The questions a sources panel is headed with, as text (however the page escapes them).

    >>> headings('<section><h4>Who is Azerbaijan&#39;s envoy?</h4></section>')
    ["Who is Azerbaijan's envoy?"]
    """
    return [html.unescape(h) for h in re.findall(r"<h4>(.*?)</h4>", panel, re.S)]


def test_twenty_questions_at_once_through_the_ui(sample, questions):
    asked = [q for q, _ in questions]
    # every question answered (no refusal threshold), so each has its own text and a mix-up shows
    with running_ui(sample.settings.store.index_dir, RAG_UI_CONCURRENCY=str(THREADS), RAG_ABSTAIN_THRESHOLD="0") as url:
        solo = session(url)
        alone = {q: ask_ui(solo, q) for q in asked}                    # one at a time
        with ThreadPoolExecutor(THREADS) as pool:
            clients = list(pool.map(lambda _: session(url), asked))
        began = time.perf_counter()
        together, errors = all_at_once(lambda pair: ask_ui(*pair), list(zip(clients, asked)))
        seconds = time.perf_counter() - began
    mixed = [q for q, got in zip(asked, together)
             if got is None or got != alone[q] or got[0] != q or q not in headings(got[2])]
    print(f"\nUI: {THREADS} questions at once in {seconds:.1f} s; errors {len(errors)}, mixed up {len(mixed)}")
    assert len({answer[1] for answer in alone.values()}) == THREADS       # twenty different answers to tell apart
    assert errors == [] and mixed == []


# --- (b) one Assistant, many threads

def test_twenty_threads_on_one_assistant_give_the_sequential_answers(sample, embedder, questions):
    settings = sample.settings.replace(abstain_threshold=0.0)         # every question answered: each its own text
    answering = Assistant(settings=settings, store=sample.store, embedder=embedder)
    alone = {q: answering.ask(q).to_dict() for q, _ in questions}
    assert len({a["text"] for a in alone.values()}) == THREADS
    fresh = Assistant(settings=settings, embedder=embedder)           # its snapshot is loaded by the threads
    for assistant in (fresh, answering):
        together, errors = all_at_once(lambda q: assistant.ask(q).to_dict(), [q for q, _ in questions])
        mixed = [q for q, got in zip([q for q, _ in questions], together) if got != alone[q] or got["question"] != q]
        print(f"\nAssistant: {THREADS} threads; errors {len(errors)}, mixed up {len(mixed)}")
        assert errors == [] and mixed == []


# --- (c) questions during an ingest

SYLLABLES = ["ka", "lo", "mi", "ran", "te", "vo", "zu", "bel", "dor", "fen", "gri", "hal", "jun", "kes", "mur"]
THINGS = "river harvest lantern market bridge bakery council mountain orchard parade tower garden ferry".split()


def festival_document(n: int) -> tuple[str, str, str]:
    """(festival, town, text) of generated document `n`: one fact and some filler, a few chunks long."""
    rng = random.Random(n)
    festival, town = ("".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize() for _ in range(2))
    filler = [" ".join(f"The {rng.choice(THINGS)} near the {rng.choice(THINGS)} was {rng.choice(['busy', 'quiet'])} "
                       f"on day {rng.randint(1, 300)}." for _ in range(4)) for _ in range(5)]
    text = f"{festival} festival report number {n}.\n\nThe {festival} festival is held every year in the town of " \
           f"{town}. Visitors bring lanterns.\n\n" + "\n\n".join(filler) + "\n"
    return festival, town, text


def committed_quote(store, citation) -> bool:
    """Whether the citation quotes its document as committed now, all of the document's chunks stored."""
    info = {d.source: d for d in store.documents()}.get(citation.source)
    return info is not None and len(store.chunk_keys([citation.source])) == info.chunks \
        and store.document_text(citation.source)[citation.start:citation.end] == citation.quote


class Askers:
    """Threads asking the questions in turn until stopped; each answer is checked against the store at once."""

    def __init__(self, assistant, questions: list[str], threads: int = 3):
        self.assistant, self.questions, self.stop = assistant, questions, threading.Event()
        self.log, self.errors = [], []
        self.threads = [threading.Thread(target=self._ask, args=(k,)) for k in range(threads)]

    def _ask(self, k: int) -> None:
        for n in itertools.count(k, len(self.threads)):
            if self.stop.is_set():
                return
            question = self.questions[n % len(self.questions)]
            try:
                began, answer = time.perf_counter(), self.assistant.ask(question)
                ended = time.perf_counter()
                fresh = all(committed_quote(self.assistant.store, c) for c in answer.citations)
                self.log.append((began, ended, question, answer, fresh))
            except Exception as error:  # noqa: BLE001 - counted and reported by the test
                self.errors.append(error)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


def test_questions_during_an_ingest_are_answered_at_once_from_committed_documents(tmp_path, embedder, corpus_dir,
                                                                                   questions):
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    assert not assistant.ingest([corpus_dir]).failed
    folder = tmp_path / "new"
    folder.mkdir()
    festivals = [festival_document(n) for n in range(NEW_DOCUMENTS)]
    for n, (_, _, text) in enumerate(festivals):
        (folder / f"festival_{n:02d}.txt").write_text(text)
    towns = {town for _, town, _ in festivals}
    clear = [f for f in festivals if f[0] not in towns][:8]           # a festival named like another's town is a riddle
    asked = [q for q, _ in questions[:8]] + [f"Where is the {f} festival held?" for f, _, _ in clear]
    before = {q: assistant.ask(q).to_dict() for q in asked}

    with Askers(assistant, asked) as askers:
        time.sleep(0.5)
        began = time.perf_counter()
        report = assistant.ingest([folder])
        ended = time.perf_counter()
        time.sleep(0.5)
    duration = ended - began
    after = {q: assistant.ask(q).to_dict() for q in asked}

    during = [e - b for b, e, *_ in askers.log if b < ended and e > began]
    print(f"\ningest of {NEW_DOCUMENTS} documents {duration:.1f} s; {len(askers.log)} questions asked, "
          f"{len(during)} during it, longest {max(during):.2f} s; errors {len(askers.errors)}")
    assert len(report.added) == NEW_DOCUMENTS and not report.failed and askers.errors == []
    assert len(during) >= 10 and max(during) < duration / 3           # not queued behind the ingest
    assert [q for _, _, q, _, fresh in askers.log if not fresh] == []   # cited documents were committed, in full
    assert [q for _, _, q, a, _ in askers.log if a.to_dict() not in (before[q], after[q])] == []  # one snapshot
    cited = [c for *_, a, _ in askers.log for c in a.citations]
    assert cited and all(committed_quote(assistant.store, c) for c in cited)
    for festival, town, _ in clear:                                   # the new documents are citable now
        assert town in after[f"Where is the {festival} festival held?"]["text"]


# --- (d) another process writing the same index (a second Assistant stands for the UI while `rag ingest` runs)

ZORBLAT = "Festival notes.\n\nThe Zorblat festival is held every year in the town of {town}. Visitors bring lanterns.\n"
ZORBLAT_QUESTION = "Where is the Zorblat festival held?"
QUOLP_QUESTION = "Where does the Quolp market open?"


@pytest.fixture
def writer_and_reader(tmp_path, embedder, monkeypatch):
    """(documents folder, writing Assistant, reading Assistant) on one index holding the Zorblat notes."""
    monkeypatch.setattr(assistant_module, "STALE_CHECK_SECONDS", 0.0)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zorblat.txt").write_text(ZORBLAT.format(town="Quenby"))
    writer = Assistant(tmp_path / "index", embedder=embedder)
    writer.ingest([docs])
    reader = Assistant(tmp_path / "index", embedder=embedder)
    assert "Quenby" in reader.ask(ZORBLAT_QUESTION).text
    return docs, writer, reader


def test_a_reader_sees_another_writers_edit_of_the_same_size(writer_and_reader):
    docs, writer, reader = writer_and_reader
    (docs / "zorblat.txt").write_text(ZORBLAT.format(town="Varnby"))      # as many chunks and documents as before
    writer.ingest([docs])
    answer = reader.ask(ZORBLAT_QUESTION)
    assert "Varnby" in answer.text and "Quenby" not in answer.text
    assert answer.citations and all(committed_quote(reader.store, c) for c in answer.citations)


def test_a_reader_never_loads_another_writers_ingest_midway(writer_and_reader):
    docs, writer, reader = writer_and_reader
    (docs / "quolp.txt").write_text("Market notes.\n\nThe Quolp market opens every Tuesday in Dellwick.\n")
    paused, resume = threading.Event(), threading.Event()

    def pause_after_writing(done, total, note):
        if note.startswith("embedded"):
            paused.set()
            resume.wait(60)

    ingest = threading.Thread(target=writer.ingest, args=([docs],), kwargs={"progress": pause_after_writing})
    ingest.start()
    try:
        assert paused.wait(60)
        assert "Dellwick" not in reader.ask(QUOLP_QUESTION).text      # written and committed, the ingest not over
    finally:
        resume.set()
        ingest.join()
    assert "Dellwick" in reader.ask(QUOLP_QUESTION).text
