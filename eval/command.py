"""What `rag eval` does: ingest, run, write reports, compare runs, check the CI thresholds."""
from __future__ import annotations

import json
from pathlib import Path

from eval import gold as gold_sets
from eval import report as reports
from eval.runner import EvalReport, run
from core.errors import GoldFileError, RagError
from core.settings import Settings

THRESHOLDS = Path(__file__).with_name("thresholds.json")


def _assistant(settings: Settings, index_dir: Path | None = None):
    from rag.assistant import Assistant

    return Assistant(settings=settings.replace(index_dir=index_dir) if index_dir else settings)


def run_gold(gold_path: Path, docs_dir: Path, out_dir: Path, settings: Settings, progress=None,
             assistant=None, judge_repeats: int = 0) -> EvalReport:
    items = gold_sets.load(gold_path, docs_dir)
    assistant = assistant or _assistant(settings)
    reply = judge_reply(assistant, judge_repeats)
    report = assistant.ingest([docs_dir])
    if report.failed:
        raise GoldFileError(f"{docs_dir}: {len(report.failed)} corpus files failed to ingest: {report.failed[:3]}")
    result = with_judge(run(items, assistant, progress), reply, judge_repeats)
    reports.write(result, out_dir, f"Eval: {Path(gold_path).name} ({assistant.mode_for(None)} mode)")
    return result


def run_benchmark(name: str, out_dir: Path, settings: Settings, limit: int | None = None, seed: int = 13,
                  progress=None, judge_repeats: int = 0) -> EvalReport:
    from eval import benchmarks

    home = bench_home(settings, name)
    bench = benchmarks.prepare(name, home / "corpus", settings.shared / "benchmarks", limit, seed)
    assistant = _assistant(settings, home / "index")
    reply = judge_reply(assistant, judge_repeats)
    assistant.ingest([bench.corpus])
    result = with_judge(run(bench.items, assistant, progress), reply, judge_repeats)
    result.summary.update(bench.extra_metrics(result.items))
    result.summary.update({"benchmark": name, "limit": limit, "seed": seed})
    reports.write(result, out_dir, f"Benchmark: {name} (limit {limit}, seed {seed})")
    return result


def judge_reply(assistant, repeats: int):
    """The LLM judge's reply function, or None when no judging was asked for; LLM mode is required."""
    if repeats <= 0:
        return None
    if assistant.mode_for(None) != "llm":
        raise RagError("--judge needs LLM mode: set OPENAI_API_KEY or RAG_LLM_BASE_URL (and RAG_MODE auto or llm)")
    return assistant.answerer("llm").reply


def with_judge(result: EvalReport, reply, repeats: int) -> EvalReport:
    """The LLM-judge score beside the LLM-free ones (never instead of them)."""
    if reply is not None:
        from eval.judge import judge

        result.summary.update(judge(result.items, reply, repeats))
    return result


def bench_home(settings: Settings, name: str) -> Path:
    """Where a benchmark's corpus and index live: beside the main index, never inside the repository's tree.

    >>> str(bench_home(Settings(index_dir=Path("/data/.index")), "squad"))
    '/data/.index-bench/squad'
    """
    index_dir = Path(settings.store.index_dir).absolute()
    return index_dir.with_name(f"{index_dir.name}-bench") / name


def summary_lines(result: EvalReport) -> list[str]:
    return [f"{k:32} {v}" for k, v in reports.summary_rows(result.summary)]


def load_summary(folder: Path) -> tuple[dict, list[dict]]:
    try:
        data = json.loads((Path(folder) / "results.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise GoldFileError(f"{folder}/results.json: cannot read ({err})") from None
    return data["summary"], data["items"]


def compare_dirs(old: Path, new: Path) -> str:
    """Metrics side by side and the items that flipped right <-> wrong."""
    (s_old, i_old), (s_new, i_new) = load_summary(old), load_summary(new)
    lines = [f"{'metric':32} {'old':>8} {'new':>8}"]
    for key, _ in reports.summary_rows(s_new):
        lines.append(f"{key:32} {reports.fmt(s_old.get(key)):>8} {reports.fmt(s_new.get(key)):>8}")
    before = {i["id"]: i["correct"] for i in i_old}
    for item in i_new:
        if item["id"] in before and before[item["id"]] != item["correct"]:
            arrow = "wrong -> right" if item["correct"] else "right -> wrong"
            lines.append(f"{arrow}: {item['id']} {item['question']}")
    return "\n".join(lines)


def check_thresholds(summary: dict, thresholds: dict) -> list[str]:
    """Failures, each naming the metric, its value and the threshold.

    >>> check_thresholds({"accuracy": 0.8, "latency_p50_ms": 90}, {"min": {"accuracy": 0.85},
    ...                                                             "max": {"latency_p50_ms": 500}})
    ['accuracy = 0.800 is below the threshold 0.85']
    """
    failures = []
    for key, floor in thresholds.get("min", {}).items():
        if summary.get(key) is None or summary[key] < floor:
            failures.append(f"{key} = {reports.fmt(summary.get(key))} is below the threshold {floor}")
    for key, ceiling in thresholds.get("max", {}).items():
        if summary.get(key) is None or summary[key] > ceiling:
            failures.append(f"{key} = {reports.fmt(summary.get(key))} is above the threshold {ceiling}")
    return failures
