"""The `rag` command as a newcomer meets it: piped listings, a missing corpus folder, the chat banner."""
from __future__ import annotations

import subprocess

from uihelpers import RAG, ui_env


def rag(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(RAG), *args], input=stdin, capture_output=True, text=True, timeout=300,
                          env=ui_env())


def test_docs_piped_prints_every_full_name_that_remove_takes(sample, tmp_path):
    long_name = "a-rather-long-report-name-that-a-table-of-eighty-columns-would-cut-2024-final-v2.txt"
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / long_name).write_text("The Quenby lantern fair opens every spring. Visitors bring lanterns.\n")
    index = str(tmp_path / "index")
    assert rag("ingest", str(folder), "--index-dir", index).returncode == 0
    listed = rag("docs", "--index-dir", index)
    lines = listed.stdout.splitlines()
    assert listed.returncode == 0 and lines[0].split("\t")[0] == "file"
    assert lines[1].split("\t")[0] == long_name                      # whole, not cut to the terminal
    assert rag("remove", lines[1].split("\t")[0], "--index-dir", index).returncode == 0


def test_eval_with_a_missing_corpus_folder_says_so(tmp_path):
    missing = tmp_path / "no-such-folder"
    run = rag("eval", "--gold", "eval/gold/sample.jsonl", "--docs", str(missing), "--out", str(tmp_path / "out"))
    assert run.returncode == 1
    assert f"{missing} does not exist" in " ".join(run.stderr.split())


def test_chat_starts_with_how_to_quit_and_follow_ups(sample):
    run = rag("chat", "--index-dir", str(sample.settings.store.index_dir), stdin="exit\n")
    banner = " ".join(run.stderr.split())
    assert run.returncode == 0 and "exit" in banner and "Ctrl+D" in banner and "Follow-up" in banner
