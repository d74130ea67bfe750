"""The persistent lexical index: a process answers without reading every passage, the ranking is the
BM25 it replaced, and the index heals from the store after a crash or a lost file."""
from __future__ import annotations

import shutil
from pathlib import Path

import bm25s
import pytest

from core.records import Filters
from index.lexicon import Lexicon, chunk_terms, lexicon_path
from rag import Assistant
from text.terms import terms

BORDER = "How long is the border between Iran and Azerbaijan?"


@pytest.fixture
def indexed(tmp_path, embedder, corpus_copy):
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    assistant.ingest([corpus_copy])
    return assistant, corpus_copy


def reference_ranking(store, query: str, n: int) -> list[str]:
    """BM25 (bm25s, Lucene variant) built in memory from every stored passage: what retrieval did before."""
    chunks = store.all_chunks()
    model = bm25s.BM25()
    model.index([chunk_terms(c) or ["\x00"] for c in chunks], show_progress=False)
    query_terms = [t for t in terms(query) if t in model.vocab_dict]
    ids, scores = model.retrieve([query_terms], k=n, show_progress=False, n_threads=1)
    return [chunks[i].id for i, s in zip(ids[0], scores[0]) if s > 0]


@pytest.fixture(scope="module")
def distinct(tmp_path_factory, embedder, sample):
    """The sample corpus without the documents that copy another (near-duplicates are one family in the term
    statistics, which plain BM25 does not know): here the ranking must be exactly the BM25 it replaced."""
    folder = tmp_path_factory.mktemp("distinct")
    originals = [Path(s) for s, d in sample.corpus.documents.items() if not d.duplicate_of]
    assert len(originals) < len(sample.corpus.documents), "the sample corpus holds a near-copy"
    for path in originals:
        shutil.copy(path, folder / path.name)
    assistant = Assistant(tmp_path_factory.mktemp("distinct-index"), embedder=embedder)
    assistant.ingest([folder])
    assert set(assistant.corpus.weights.values()) == {1.0}
    return assistant


@pytest.mark.parametrize("query", [BORDER, "embassy Tel Aviv opened", "Aslanov money offered spying",
                                   "Strategic Council for Foreign Relations chairman"])
def test_lexical_ranking_is_the_bm25_it_replaced(distinct, query):
    found = distinct.corpus.bm25.search(query, 10)
    assert found == reference_ranking(distinct.store, query, 10)



def test_a_new_process_answers_without_reading_the_passages(sample, embedder, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the whole collection was read")

    monkeypatch.setattr(type(sample.store), "all_chunks", refuse)
    monkeypatch.setattr(type(sample.store), "chunks_of", refuse)
    fresh = Assistant(sample.settings.store.index_dir, embedder=embedder)
    answer = fresh.ask(BORDER)
    assert "765" in answer.text and not answer.abstained


def test_a_lost_lexicon_is_rebuilt_from_the_store(indexed, embedder):
    assistant, _ = indexed
    before = assistant.ask(BORDER)
    path = lexicon_path(assistant.settings.store)
    assistant.lexicon.close()
    path.unlink()
    fresh = Assistant(assistant.settings.store.index_dir, embedder=embedder)
    again = fresh.ask(BORDER)
    assert again.text == before.text
    assert len(fresh.lexicon.held()) == len(fresh.documents()) == 5


def test_a_document_the_lexicon_missed_is_added_at_the_next_open(indexed, embedder):
    """As after a crash between the store's commit and the lexicon's: the next open heals it."""
    assistant, _ = indexed
    victim = next(d.source for d in assistant.documents() if "003_" in d.source)
    assistant.lexicon.drop([victim])
    assert victim not in assistant.lexicon.held()
    fresh = Assistant(assistant.settings.store.index_dir, embedder=embedder)
    fresh.corpus
    assert fresh.lexicon.held()[victim].doc_hash == next(d.content_hash for d in fresh.documents()
                                                         if d.source == victim)
    assert any(fresh.corpus.bm25.search("765 kilometers border", 3, Filters((victim,))))


def test_removed_and_changed_documents_leave_the_lexical_index(indexed):
    assistant, folder = indexed
    target = next(folder.glob("003_*.txt"))
    assistant.remove(str(target))
    assert not assistant.corpus.bm25.search("765 kilometers common border", 20, Filters((str(target),)))
    target.write_text("The Kestrel Valley reservoir holds 48 million cubic metres of water.\n", encoding="utf-8")
    assistant.ingest([folder])
    hits = assistant.corpus.bm25.search("Kestrel reservoir", 5)
    assert len(hits) == 1 and not assistant.corpus.bm25.search("765 kilometers common border", 20,
                                                               Filters((str(target),)))
    assert "48 million" in assistant.ask("How much water does the Kestrel Valley reservoir hold?").text


def test_filters_restrict_lexical_hits_to_documents_and_dates(sample):
    docs = sample.documents()
    one = docs[0].source
    hits = sample.corpus.bm25.search("Iran Azerbaijan Israel", 20, Filters((one,)))
    assert hits and all(cid in {c for c, s, _ in sample.store.chunk_keys([one])} for cid in hits)
    dated = [d for d in docs if d.date]
    since = max(d.date for d in dated)
    hits = sample.corpus.bm25.search("Iran Azerbaijan Israel", 20, Filters(since=since))
    newest = {d.source for d in dated if d.date >= since}
    assert hits and {s for c, s, _ in sample.store.chunk_keys() if c in hits} <= newest


def test_the_lexicon_lives_in_the_index_folder_one_per_collection_and_server(tmp_path):
    from core.settings import StoreSettings

    embedded = lexicon_path(StoreSettings(index_dir=tmp_path))
    served = lexicon_path(StoreSettings(index_dir=tmp_path, chroma_host="10.0.0.5", chroma_port=8001))
    other = lexicon_path(StoreSettings(index_dir=tmp_path, collection="papers"))
    assert len({embedded, served, other}) == 3 and all(p.parent == tmp_path for p in (embedded, served, other))
    Lexicon(embedded).close()
    assert embedded.exists()


def test_an_ingest_writes_the_lexicon_as_it_commits(tmp_path, embedder, corpus_copy, monkeypatch):
    """The ingest hands each committed window to the lexicon; nothing is read back from the store."""
    from index.store import Store

    def refuse(*args, **kwargs):
        raise AssertionError("the ingest read passages back from the store")

    monkeypatch.setattr(Store, "chunks_of", refuse)
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    assistant.ingest([corpus_copy])
    assert len(assistant.lexicon.held()) == 5 and "765" in assistant.ask(BORDER).text
