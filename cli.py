"""The `rag` command, on top of everything: settings are built once here and passed down; the
library, the UI and the eval harness are imported lazily by the commands that need them."""
from __future__ import annotations

import contextlib
import functools
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from core.errors import RagError, user_message
from core.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ask questions of a folder of documents.")
out = Console()
err = Console(stderr=True)
IndexDir = typer.Option(None, "--index-dir", help="Index folder (default RAG_INDEX_DIR or .index)")


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
        except Exception as error:  # noqa: BLE001 - the project's errors and bugs alike: one line
            err.print(f"[red]error:[/red] {_escape(user_message(error))}", highlight=False)
            raise typer.Exit(1)
    return run


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
           as_json: bool = typer.Option(False, "--json")):
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
def docs(index_dir: Optional[Path] = IndexDir, as_json: bool = typer.Option(False, "--json")):
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
        table.add_row(d.name, d.title[:60], d.date, d.author, d.language, str(d.chunks),
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
def ask(question: str, index_dir: Optional[Path] = IndexDir, as_json: bool = typer.Option(False, "--json"),
        top_k: Optional[int] = typer.Option(None, "--top-k"), source: list[str] = typer.Option([], "--source"),
        since: Optional[str] = typer.Option(None, help="YYYY-MM-DD"), until: Optional[str] = typer.Option(None),
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
            out.print(f"  {value.value} — {value.citation.name} {value.citation.title[:60]} "
                      f"{value.citation.date}".rstrip(), markup=False)
    listed = answer.citations or (answer.passages[:3] if answer.abstained else [])
    if answer.abstained and listed:
        out.print("Closest passages (they do not answer it):", style="dim")
    for n, c in enumerate(listed, 1):
        place = f", {c.place(40)}" if c.place() else ""
        out.print(f"[{n}] {c.name}{place} — {c.title[:70]} {c.date}".rstrip(), markup=False)
        out.print(f"    “{c.quote[:300]}”", style="dim", markup=False)


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
def ui(host: Optional[str] = typer.Option(None), port: Optional[int] = typer.Option(None),
       index_dir: Optional[Path] = IndexDir):
    """Start the chat UI in the browser (127.0.0.1:7860 by default; Ctrl+C stops it)."""
    from ui.app import serve

    serve(settings_for(index_dir, ui_host=host, ui_port=port))


@app.command()
@friendly
def serve(host: Optional[str] = typer.Option(None, help="Address to bind (default RAG_API_HOST or 127.0.0.1)"),
          port: Optional[int] = typer.Option(None, help="Port (default RAG_API_PORT or 8000)"),
          index_dir: Optional[Path] = IndexDir):
    """Serve the OpenAI-compatible API (/v1), a documents API, /docs and the chat UI (/) in one process."""
    from serve.api import run

    run(settings_for(index_dir, api_host=host, api_port=port))


@app.command(name="eval")
@friendly
def eval_command(gold: Optional[Path] = typer.Option(None, help="Gold set (JSONL)"),
                 docs: Optional[Path] = typer.Option(None, help="Corpus folder of the gold set"),
                 benchmark: Optional[str] = typer.Option(None, help="squad | hotpotqa | multihop"),
                 out: Optional[Path] = typer.Option(None, help="Folder for results.json, report.md, report.html"),
                 limit: Optional[int] = typer.Option(None, help="Questions sampled (fixed seed)"),
                 judge: int = typer.Option(0, "--judge", help="LLM mode only: LLM-judge passes (0 = none; "
                                           "2+ also reports the run-to-run spread)"),
                 seed: int = typer.Option(13), compare: Optional[list[Path]] = typer.Option(
                     None, "--compare", help="OLD_DIR NEW_DIR: what changed between two runs, and whether "
                                             "it is significant"),
                 fail_on_regression: bool = typer.Option(False, "--fail-on-regression",
                                                         help="with --compare: exit 1 on a significant drop"),
                 force: bool = typer.Option(False, "--force", help="with --compare: compare runs of different "
                                                                   "corpora or gold sets"),
                 baseline: Optional[Path] = typer.Option(None, "--baseline", help="A previous run's folder: the "
                                                         "report shows what changed since it"),
                 robustness: Optional[str] = typer.Option(
                     None, "--robustness", help="all, or some of negative,noise,duplication,conflict,unaltered: "
                                                "constructed suites scored beside the plain run"),
                 index_dir: Optional[Path] = typer.Option(
                     None, "--index-dir", help="Answer from this index (default: an index of the corpus alone, "
                                               "built for the run and cached by its content hash)"),
                 mode: Optional[str] = typer.Option(None, "--mode", help="auto | offline | llm (any registered "
                                                                         "answer mode; default RAG_MODE)")):
    """Score answers against gold Q&A pairs or a public benchmark."""
    from eval import command

    if compare:
        if len(compare) != 2:
            raise RagError("--compare takes two folders: --compare OLD_DIR --compare NEW_DIR")
        text, verdict = command.compare(compare[0], compare[1], force=force)
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
def bench(quick: bool = typer.Option(False, "--quick"), as_json: bool = typer.Option(False, "--json"),
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
                                                         "rag/answer/answerer.json)"),
          limit: Optional[int] = typer.Option(None, help="Questions per split (default: all)"),
          seed: int = typer.Option(13), index_dir: Optional[Path] = IndexDir):
    """Learn the offline answerer's weights from the SQuAD 2.0 subset in the shared benchmarks (~10 min)."""
    from learn.train import SEED, train as run_training
    from rag.answer.model import ARTEFACT

    record = run_training(settings_for(index_dir), Path(out or ARTEFACT), limit, seed or SEED, say=print)
    for split, figures in record["figures"].items():
        print(f"{split:10} " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    print(f"wrote {out or ARTEFACT}")


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except RagError as error:
        err.print(f"error: {error}")
        sys.exit(1)
