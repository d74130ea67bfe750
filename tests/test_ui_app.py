"""ui.app handlers (no browser): streaming, follow-ups, errors as one line, uploads, removal."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from core.records import Delta

from core.errors import RagError
from core.settings import Settings
from ui import uploads

gr = pytest.importorskip("gradio")
from ui.app import Conversation, Handlers, build_app, credentials  # noqa: E402

Q1 = "How much money was Aslanov offered to carry out the hit?"
FACT = "The Zorblat festival is held every year in the town of Quenby."


def run_ask(handlers, question, conversation=Conversation(), **options):
    """Every update the ask handler yields, and the final (chat, sources, state)."""
    settings = dict(mode="offline", top_k=None, sources=[], since="", until="") | options
    updates = list(handlers.ask(question, conversation, settings["mode"], settings["top_k"], settings["sources"],
                                settings["since"], settings["until"]))
    chat = [u[1] for u in updates if isinstance(u[1], list)][-1]
    sources = [u[2] for u in updates if isinstance(u[2], str)]
    states = [u[3] for u in updates if isinstance(u[3], Conversation)]
    return updates, chat, (sources[-1] if sources else None), (states[-1] if states else conversation)


@pytest.fixture(scope="module")
def sample_handlers(sample):
    return Handlers(sample, sample.settings)


def test_answer_streams_then_shows_highlighted_source(sample_handlers):
    updates, chat, sources, state = run_ask(sample_handlers, Q1)
    assert updates[0][0] == ""                                  # the question box is cleared at once
    assert len(updates) > 3                                     # the answer arrives in pieces
    assert "$200,000" in chat[-1]["content"] and "(#src-1-1)" in chat[-1]["content"]
    assert 'id="src-1-1"' in sources and "<mark>" in sources and "$200,000" in sources
    assert state.turn == 1 and [m["role"] for m in state.history] == ["user", "assistant"]


@pytest.mark.xfail(strict=True, reason="known miss of the learned answerer (issue 13): the sentence about the offer "
                                      "is chosen, not the one about the arrest")
def test_follow_up_uses_the_conversation(sample_handlers):
    _, _, _, state = run_ask(sample_handlers, Q1)
    _, chat, sources, state = run_ask(sample_handlers, "Where was he arrested?", state)
    assert "Jewish center" in chat[-1]["content"]
    assert state.turn == 2 and len(state.sections) == 2 and 'id="src-2-1"' in sources and 'id="src-1-1"' in sources


def test_unanswerable_question_is_a_visible_refusal(sample_handlers):
    _, chat, sources, _ = run_ask(sample_handlers, "What is the population of Canada?")
    assert chat[-1]["content"].startswith("> ") and "Not in the documents" in chat[-1]["content"]
    assert "refused" in sources


def test_bad_date_is_a_short_message(sample_handlers):
    _, chat, sources, state = run_ask(sample_handlers, Q1, since="3 Feb")
    assert "date from must be a date like" in chat[-1]["content"] and sources is None and state.turn == 0


def test_empty_question_does_nothing(sample_handlers):
    updates = list(sample_handlers.ask("   ", Conversation(), "offline", 6, [], "", ""))
    assert len(updates) == 1 and all(isinstance(u, type(gr.skip())) for u in updates[0])


class Failing:
    """An assistant stand-in whose answering fails (test-only)."""

    llm_available = False

    def __init__(self, error):
        self.error = error

    def stream(self, *args, **kwargs):
        yield Delta("partial ")
        raise self.error

    @staticmethod
    def supported_types():
        return [".txt"]

    def documents(self):
        raise self.error


@pytest.mark.parametrize("error, shown, hidden", [
    (RagError("the vector store could not be reached at localhost:8000"), "could not be reached", "Traceback"),
    (ValueError("internal detail /secret/path"), "something went wrong", "/secret/path"),
])
def test_errors_become_one_line_without_traceback(tmp_path, error, shown, hidden):
    handlers = Handlers(Failing(error), Settings(index_dir=tmp_path))
    _, chat, _, state = run_ask(handlers, "anything?")
    assert shown in chat[-1]["content"] and hidden not in chat[-1]["content"]
    assert "Error" in chat[-1]["content"] and state.history == []
    table, _, _, _ = handlers.refresh([])
    assert shown in table and hidden not in table


def test_upload_index_ask_remove(tmp_path, embedder):
    from rag.assistant import Assistant

    settings = Settings(index_dir=tmp_path / "index", ui_upload_mb=0.01)
    assistant = Assistant(settings=settings, embedder=embedder)
    handlers = Handlers(assistant, settings)
    inbox = tmp_path / "browser-upload"
    inbox.mkdir()
    (inbox / "zorblat notes.txt").write_text(f"Festival notes.\n\n{FACT} Visitors bring lanterns.\n")
    (inbox / "tool.exe").write_bytes(b"MZ")
    (inbox / "huge.txt").write_text("word " * 5000)

    summary, table, remove_choice, _, _, cleared = handlers.upload(
        [str(p) for p in sorted(inbox.iterdir())], [])
    assert "zorblat notes.txt</b>: indexed" in summary
    assert "tool.exe</b>: not added: unsupported file type" in summary
    assert "huge.txt</b>: not added: file is 0.0 MB, over the 0.01 MB upload limit" in summary
    assert "zorblat notes.txt" in table and cleared is None
    stored = uploads.uploads_dir(settings.store.index_dir) / "zorblat notes.txt"
    assert stored.is_file() and [d.source for d in assistant.documents()] == [str(stored)]

    _, chat, sources, _ = run_ask(handlers, "Where is the Zorblat festival held?")
    assert "Quenby" in chat[-1]["content"] and "zorblat notes.txt" in sources

    asked, _ = handlers.confirm_removal(str(stored))
    assert "Remove zorblat notes.txt?" in asked and assistant.documents()       # asked first, nothing removed yet
    status, table, _, _, indexed_summary, upload_log, _ = handlers.remove(str(stored), [])
    assert "Removed zorblat notes.txt" in status and "zorblat" not in table
    assert upload_log == "" and "No documents are indexed yet" in indexed_summary   # the old "indexed" line goes
    assert not stored.exists() and assistant.documents() == []
    _, chat, sources, _ = run_ask(handlers, "Where is the Zorblat festival held?")
    assert "Quenby" not in chat[-1]["content"] and "zorblat" not in (sources or "")


def _upload(handlers, folder: Path, files: dict[str, bytes]) -> str:
    """Upload `files` (name -> content) through the handler; the summary it shows."""
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return handlers.upload([str(folder / name) for name in files], [])[0]


def test_a_refused_or_failed_upload_leaves_no_file_and_keeps_the_stored_copy(tmp_path, embedder):
    from rag.assistant import Assistant

    settings = Settings(index_dir=tmp_path / "index")
    assistant = Assistant(settings=settings, embedder=embedder)
    handlers = Handlers(assistant, settings)
    folder = uploads.uploads_dir(settings.store.index_dir)
    good = f"Festival notes.\n\n{FACT}\n".encode()
    summary = _upload(handlers, tmp_path / "first", {"notes.txt": good, "empty.txt": b"", "blank.md": b" \n\n ",
                                                       "tool.exe": b"MZ", "broken.pdf": b"%PDF-1.4 not a PDF"})
    assert "notes.txt</b>: indexed" in summary
    assert "empty.txt</b>: not added: empty file: nothing to index" in summary
    assert "blank.md</b>: not added: empty file: nothing to index" in summary
    assert "tool.exe</b>: not added: unsupported file type &#39;.exe&#39;; supported: .docx" in summary
    assert "broken.pdf</b>: not indexed: corrupt or unreadable PDF" in summary and "</b>: failed" not in summary
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

    summary = _upload(handlers, tmp_path / "second", {"notes.txt": b"\x00\xff" * 50})   # a re-upload that fails
    assert "notes.txt</b>: not indexed" in summary
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"] and (folder / "notes.txt").read_bytes() == good
    _, chat, _, _ = run_ask(handlers, "Where is the Zorblat festival held?")
    assert "Quenby" in chat[-1]["content"]                          # the stored copy still answers

    summary = _upload(handlers, tmp_path / "third", {"notes.txt": good + b"Lanterns are lit at dusk.\n"})
    assert "notes.txt</b>: updated" in summary and (folder / "notes.txt").read_bytes().endswith(b"dusk.\n")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]   # nothing set aside is left behind


def test_a_pdf_shows_the_date_it_states_not_the_day_it_was_made(tmp_path, embedder):
    from pdfs import STEAM, write_text_pdf
    from rag.assistant import Assistant

    settings = Settings(index_dir=tmp_path / "index")
    handlers = Handlers(Assistant(settings=settings, embedder=embedder), settings)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_text_pdf(inbox / "dated.pdf", "Kestrel Valley Water Report", "Kestrel Water Board",
                   [["Published 14 March 2023"] + STEAM[0].split(". "), STEAM[1]])
    write_text_pdf(inbox / "undated.pdf", "Steam Engines in Britain", "Encyclopedia of Engineering", STEAM[:2])
    _, table, _, _, _, _ = handlers.upload([str(inbox / "dated.pdf"), str(inbox / "undated.pdf")], [])
    dates = dict(re.findall(r'<td class="file">([^<]+)</td><td class="title">[^<]*</td><td class="date">([^<]*)</td>',
                            table))
    assert dates == {"dated.pdf": "2023-03-14", "undated.pdf": ""}   # not the PDF's creation date (today)


def test_upload_never_writes_outside_the_uploads_folder(tmp_path):
    folder = uploads.uploads_dir(tmp_path / "index")
    folder.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    os.symlink(outside, folder / "link.txt")                   # a planted link must be replaced, not followed
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.txt").write_text("new")
    (inbox / "..evil .md").write_text("x")
    result = uploads.store([inbox / "link.txt", inbox / "..evil .md"], folder, 1.0, [".txt", ".md"])
    assert outside.read_text() == "keep me"
    assert sorted(Path(p).name for p in result.stored) == ["evil .md", "link.txt"]
    assert all(Path(p).parent == folder for p in result.stored)
    assert not (folder / "link.txt").is_symlink() and (folder / "link.txt").read_text() == "new"


def test_app_builds_with_the_expected_elements(sample):
    demo = build_app(sample, sample.settings)
    ids = {block.elem_id for block in demo.blocks.values() if getattr(block, "elem_id", None)}
    assert {"chat", "question", "sources", "upload", "documents", "remove-choice", "remove", "mode", "top-k",
            "source-filter", "since", "until", "index-summary", "to-documents", "remove-confirm"} <= ids


def test_credentials_need_both_user_and_password(tmp_path):
    assert credentials(Settings(index_dir=tmp_path)) is None
    assert credentials(Settings(index_dir=tmp_path, ui_user="ann", ui_password="pw")) == ("ann", "pw")
    with pytest.raises(RagError, match="both"):
        credentials(Settings(index_dir=tmp_path, ui_user="ann"))
