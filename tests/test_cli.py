"""The `rag` command as a newcomer meets it: piped listings and answers (whole lines, whole words, a closed pipe
ending quietly), a missing corpus folder, the chat banner, help for every option, the forms of `eval compare`."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import app
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


# --- in pipes: whole lines, whole words, and a reader that goes away

ASKED = "When did Azerbaijan open its embassy in Tel Aviv?"
UNANSWERED = "Who won the 1998 World Cup?"


def piped(command: str) -> subprocess.CompletedProcess:
    """`command` run by bash as a user types it (stdout block-buffered, as in a terminal's pipelines); with
    pipefail the status is rag's own, not that of the reader at the end of the pipe."""
    env = ui_env()
    env.pop("PYTHONUNBUFFERED")
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True,
                          timeout=300, env=env)


def whole_words_of(shown: str, full: str) -> bool:
    """Whether `shown` is `full` (spaces collapsed) or its first words followed by "…": no word cut."""
    words = shown.removesuffix("…").split()
    return words == full.split()[:len(words)] and (shown.endswith("…") or words == full.split())


def test_a_closed_pipe_ends_quietly_with_status_0(sample):
    index = shlex.quote(str(sample.settings.store.index_dir))
    rag = shlex.quote(str(RAG))        # the checkout's folder may hold a space
    ask = f"{rag} ask --index-dir {index} {shlex.quote(ASKED)}"
    first = piped(f"{ask} --json | head -1")
    assert (first.returncode, first.stderr, first.stdout) == (0, "", "{\n")
    # `true` exits at once, long before rag writes: every write, and the flush at exit, meets a closed pipe
    for command in (f"{ask} --json", ask, f"{rag} docs --index-dir {index}", f"{rag} docs --json --index-dir {index}"):
        run = piped(f"{command} | true")
        assert (run.returncode, run.stderr) == (0, ""), command


def test_a_piped_answer_prints_whole_lines_like_its_json(sample):
    index = str(sample.settings.store.index_dir)
    data = json.loads(rag("ask", "--json", ASKED, "--index-dir", index).stdout)
    lines = rag("ask", ASKED, "--index-dir", index).stdout.splitlines()
    assert not data["abstained"] and len(data["text"]) > 80            # longer than rich's 80 columns
    assert lines[:len(data["text"].splitlines())] == data["text"].splitlines()
    for n, c in enumerate(data["citations"], 1):
        assert f"[{n}] {Path(c['source']).name} — {c['title']} {c['date']}" in lines
        assert f"    “{c['quote']}”" in lines


def test_refusal_passages_are_cut_at_a_word_with_no_stray_closing_quote(sample):
    index = str(sample.settings.store.index_dir)
    data = json.loads(rag("ask", "--json", UNANSWERED, "--index-dir", index).stdout)
    lines = rag("ask", UNANSWERED, "--index-dir", index).stdout.splitlines()
    assert data["abstained"] and "Closest passages (they do not answer it):" in lines
    quotes = [line for line in lines if line.startswith("    “")]
    heads = [line for line in lines if re.match(r"\[\d+\] ", line)]
    assert len(quotes) == len(heads) == min(3, len(data["passages"])) and "”" not in [s.strip() for s in lines]
    for head, quote, passage in zip(heads, quotes, data["passages"]):
        assert quote.endswith("”") and whole_words_of(quote[5:-1], passage["quote"])
        title = head.partition(" — ")[2].removesuffix(passage["date"]).strip()
        assert whole_words_of(title, passage["title"])


# --- help: a line of help for every option, flags shown as flags

def option_rows(screen: str) -> list[tuple[str, str]]:
    """(option, its help) for every option row of a --help screen rendered wide (one row an option)."""
    rows = re.findall(r"^│\s+(--[\w-]+)\s+(?:<[^>]*>)?(.*?)│$", screen, re.M)
    return [(name, re.sub(r"\[(?:default: [^\]]*|required)\]", "", rest).strip()) for name, rest in rows]


def command_paths(command, path=()) -> list[list[str]]:
    """The words that reach every command and group of the `rag` tree (`[]`, `["ask"]`, ...)."""
    subcommands = getattr(command, "commands", {})
    return [list(path), *[p for name, sub in sorted(subcommands.items()) for p in command_paths(sub, (*path, name))]]


def test_every_option_of_every_command_has_help_and_no_bool_placeholder():
    paths = command_paths(typer.main.get_command(app))
    assert [] in paths and {("ask",), ("docs",), ("eval",), ("ingest",), ("serve",)} <= {tuple(p) for p in paths}
    for args in paths:
        screen = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "300"}).output
        rows = option_rows(screen)
        assert "--help" in dict(rows) and "<bool>" not in screen, args
        assert [name for name, text in rows if not text] == [], args


# --- rag eval: compare two runs in any of the three forms

def run_folder(folder: Path, right: int, items: int = 40) -> Path:
    """A results.json of `items` questions of which the first `right` were answered right."""
    folder.mkdir()
    rows = [{"id": f"q{k:02d}", "question": f"Question {k}?", "correct": k < right} for k in range(items)]
    (folder / "results.json").write_text(json.dumps({"run": {}, "summary": {}, "items": rows}))
    return folder


@pytest.mark.parametrize("form", [["compare", "OLD", "NEW"], ["--compare", "OLD", "NEW"],
                                  ["--compare", "OLD", "--compare", "NEW"]])
def test_each_form_of_compare_compares_two_runs_and_gates(form, tmp_path):
    # 30 of 40 items right -> wrong and none the other way: McNemar p ~ 2e-9, worse beyond doubt
    old, new = run_folder(tmp_path / "old", 40), run_folder(tmp_path / "new", 10)
    args = ["eval", *[{"OLD": str(old), "NEW": str(new)}.get(a, a) for a in form]]
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0 and "0 better, 30 worse" in shown.output and "verdict: worse" in shown.output
    assert CliRunner().invoke(app, [*args, "--fail-on-regression"]).exit_code == 1
    same = CliRunner().invoke(app, [*args[:-1], str(old), "--fail-on-regression"])
    assert same.exit_code == 0 and "verdict: no significant change" in same.output


def test_compare_with_one_folder_says_the_forms_that_work(tmp_path):
    old = run_folder(tmp_path / "old", 40)
    refused = CliRunner().invoke(app, ["eval", "compare", str(old)])
    assert refused.exit_code == 1 and "rag eval compare OLD_DIR NEW_DIR" in " ".join(refused.output.split())
    screen = " ".join(CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "300"}).output.split())
    assert "compare OLD_DIR NEW_DIR" in screen and "--compare OLD_DIR NEW_DIR" in screen
