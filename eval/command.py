"""What `rag eval` does: ingest, run, write reports, compare runs, check the CI thresholds."""
from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

from core.errors import GoldFileError, RagError
from core.settings import Settings
from eval import gold as gold_sets
from eval import report as reports
from eval import significance
from eval.fingerprint import fingerprint
from eval.indexes import isolated, open_assistant
from eval.runner import EvalReport, run
from rag.startup import warm_up

THRESHOLDS = Path(__file__).with_name("thresholds.json")


def run_gold(gold_path: Path, docs_dir: Path, out_dir: Path, settings: Settings, progress=None,
             assistant=None, judge_repeats: int = 0, isolate: bool = True, embedder=None,
             suites: list[str] | None = None, baseline: Path | None = None) -> EvalReport:
    """Answer and score a gold set from exactly `docs_dir`: in an index of its own unless `isolate` is False
    (`--index-dir`) or an assistant is passed in."""
    items = gold_sets.load(gold_path, docs_dir)
    began, clock = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
    assistant = assistant or open_assistant(isolated(settings, docs_dir) if isolate else settings, embedder=embedder)
    reply = judge_reply(assistant, judge_repeats)
    report = assistant.ingest([docs_dir])
    if report.failed:
        raise GoldFileError(f"{docs_dir}: {len(report.failed)} corpus files failed to ingest: {report.failed[:3]}")
    warm = warm_up(assistant)
    result = with_judge(run(items, assistant, progress), reply, judge_repeats, assistant)
    result.run = fingerprint(assistant.settings, Path(docs_dir), Path(gold_path), result.items, began,
                             time.perf_counter() - clock, warm)
    result.run.update(gate_of(Path(gold_path), result.summary))
    if baseline:
        text, decision = compare_data(load_results(baseline), result.to_dict())
        result.run["baseline"] = {"path": str(baseline), "text": text, "verdict": decision}
    modes = "/".join(result.run["modes_used"])
    reports.write(result, out_dir, f"Eval: {Path(gold_path).name} ({modes} mode)")
    if suites:
        result.summary["robustness"] = run_robustness(items, Path(docs_dir), out_dir, settings, suites, result,
                                                      assistant.embedder, progress)
    return result


def run_robustness(items: list, corpus: Path, out_dir: Path, settings: Settings, suites: list[str],
                   plain: EvalReport, embedder=None, progress=None) -> dict:
    """Each robustness suite (`eval.robustness`) scored beside the plain run; written to robustness.json."""
    from eval import robustness

    base = isolated(settings, corpus)
    variants = Path(base.store.index_dir).parent / "variants" / Path(base.store.index_dir).name
    before = {i["id"]: i for i in plain.items}
    figures = {"plain": {k: round(v, 4) if isinstance(v, float) else v for k, v in {
        "n": len(plain.items), "answerable_correct": plain.summary.get("answerable_correct"),
        "refusal_recall": plain.summary.get("refusal_recall")}.items()}}
    for suite in suites:
        folder = corpus if suite == "negative" else robustness.variant_corpus(suite, items, corpus, variants,
                                                                               settings.shared)
        assistant = open_assistant(isolated(settings, folder), embedder=embedder)
        assistant.ingest([folder])
        scored = _negative(items, folder, assistant) if suite == "negative" else \
            _with_values(run(robustness.asked(suite, items, corpus), assistant, progress).items, items, corpus)
        figures[suite] = robustness.summarise(suite, scored, before)
        if robustness.split_suite(suite)[0] in robustness.COUNTED:
            figures[suite]["added"] = len(robustness.corpus_files(folder)) - len(robustness.corpus_files(corpus))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "robustness.json").write_text(json.dumps(figures, indent=2))
    return figures


def _negative(items: list, corpus: Path, assistant) -> list[dict]:
    """Each answerable item asked from every document but its gold ones; scored as an unanswerable item."""
    from eval import robustness
    from eval.runner import document_texts, score_item

    scored, text_of = [], document_texts(assistant)
    for item, rest in robustness.negative_items(items, corpus):
        allowed = [str((Path(corpus) / name).absolute()) for name in rest]
        began = time.perf_counter()
        answer = assistant.ask(item.question, sources=allowed, history=item.history or None)
        scored.append(score_item(item, answer, (time.perf_counter() - began) * 1000, text_of,
                                 assistant.settings.retrieval.top_k))
    return scored


def _with_values(scored: list[dict], items: list, corpus: Path) -> list[dict]:
    """Adds, for the conflict suite, whether each answer states both the gold value and its altered copy."""
    from eval import robustness

    texts = robustness.corpus_files(corpus)
    by_id = {i.id: i for i in items}
    for row in scored:
        item = by_id[row["id"]]
        pairs = [p for s in item.sources if s in texts for p in robustness.counterfeit(texts[s], item.answers)[1]]
        row["shows_both"] = robustness.shows_both(row["answer"], pairs)
    return scored


def run_benchmark(name: str, out_dir: Path, settings: Settings, limit: int | None = None, seed: int = 13,
                  progress=None, judge_repeats: int = 0, suites: list[str] | None = None) -> EvalReport:
    from eval import benchmarks

    home = bench_home(settings, name)
    bench = benchmarks.prepare(name, home / "corpus", settings.shared / "benchmarks", limit, seed)
    began, clock = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
    assistant = open_assistant(settings, home / "index")
    reply = judge_reply(assistant, judge_repeats)
    assistant.ingest([bench.corpus])
    warm = warm_up(assistant)
    result = with_judge(run(bench.items, assistant, progress), reply, judge_repeats, assistant)
    result.run = fingerprint(assistant.settings, Path(bench.corpus), None, result.items, began,
                             time.perf_counter() - clock, warm)
    result.summary.update(bench.extra_metrics(result.items))
    result.summary.update({"benchmark": name, "limit": limit, "seed": seed})
    reports.write(result, out_dir, f"Benchmark: {name} (limit {limit}, seed {seed})")
    if suites:
        result.summary["robustness"] = run_robustness(bench.items, bench.corpus, out_dir, settings, suites, result,
                                                      assistant.embedder, progress)
    return result


def judge_reply(assistant, repeats: int):
    """The LLM judge's reply function, or None when no judging was asked for; LLM mode is required."""
    if repeats <= 0:
        return None
    if assistant.mode_for(None) != "llm":
        raise RagError("--judge needs LLM mode: set OPENAI_API_KEY or RAG_LLM_BASE_URL (and RAG_MODE auto or llm)")
    return assistant.answerer("llm").reply


def with_judge(result: EvalReport, reply, repeats: int, assistant=None) -> EvalReport:
    """The LLM-judge score beside the LLM-free ones (never instead of them); judgements are cached beside the
    eval indexes by (question, gold, answer, judge model), so a repeated run costs no judge call."""
    if reply is not None:
        from eval.judge import JudgeCache, judge

        cache = None
        if assistant is not None:
            llm = assistant.settings.llm
            index_dir = Path(assistant.settings.store.index_dir).absolute()
            cache = JudgeCache(index_dir.with_name(f"{index_dir.name}-eval") / "judge-cache.json",
                               llm.model)
        result.summary.update(judge(result.items, reply, repeats, cache))
    return result


def bench_home(settings: Settings, name: str) -> Path:
    """Where a benchmark's corpus and index live: beside the main index, never inside the repository's tree.

    >>> str(bench_home(Settings(index_dir=Path("/data/.index")), "squad"))
    '/data/.index-bench/squad'
    """
    index_dir = Path(settings.store.index_dir).absolute()
    return index_dir.with_name(f"{index_dir.name}-bench") / name


def summary_lines(result: EvalReport) -> list[str]:
    reasons = result.summary.get("llm_fallbacks_by_reason") or {}
    return ([f"{k:32} {v}" for k, v in reports.summary_rows(result.summary)]
            + [f"  fallback: {reason} × {count}" for reason, count in reasons.items()])


def load_results(folder: Path) -> dict:
    try:
        data = json.loads((Path(folder) / "results.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise GoldFileError(f"{folder}/results.json: cannot read ({err})") from None
    return data


def load_summary(folder: Path) -> tuple[dict, list[dict]]:
    data = load_results(folder)
    return data["summary"], data["items"]


PAIRED_METRICS = ["correct", "hit_at_1", "hit_at_k", "mrr", "exact_match", "f1", "cited_precision",
                  "citation_support", "latency_ms"]


def compare_dirs(old: Path, new: Path, force: bool = False) -> str:
    return compare(old, new, force)[0]


def compare(old: Path, new: Path, force: bool = False) -> tuple[str, str]:
    """(report text, verdict) of two runs: each metric's paired change with its 95 % bootstrap interval, the
    items that flipped, an exact McNemar test on them, and 'better' / 'worse' / 'no significant change'."""
    return compare_data(load_results(old), load_results(new), force)


def compare_data(a: dict, b: dict, force: bool = False) -> tuple[str, str]:
    """`compare` on two results.json contents."""
    _check_comparable(a.get("run", {}), b.get("run", {}), force)
    before = {i["id"]: i for i in a["items"]}
    pairs = [(before[i["id"]], i) for i in b["items"] if i["id"] in before]
    lines = [f"{'metric':24} {'old':>9} {'new':>9} {'change':>9}  95 % interval (paired bootstrap)"]
    lines += [_metric_line(key, pairs) for key in PAIRED_METRICS if _paired(key, pairs)]
    better = [n for o, n in pairs if n["correct"] and not o["correct"]]
    worse = [n for o, n in pairs if o["correct"] and not n["correct"]]
    lines += [f"wrong -> right: {i['id']} {i['question']}" for i in better]
    lines += [f"right -> wrong: {i['id']} {i['question']}" for i in worse]
    decision = significance.verdict(len(better), len(worse))
    lines.append(f"{len(pairs)} paired items; {len(better)} better, {len(worse)} worse; exact McNemar "
                 f"p = {significance.mcnemar_exact(len(better), len(worse)):.4f}; verdict: {decision}")
    return "\n".join(lines), decision


def _paired(key: str, pairs) -> list[tuple[float, float]]:
    return [(float(o[key]), float(n[key])) for o, n in pairs if o.get(key) is not None and n.get(key) is not None]


def _metric_line(key: str, pairs) -> str:
    values = _paired(key, pairs)
    old, new = [o for o, _ in values], [n for _, n in values]
    diff, low, high = significance.paired_bootstrap(old, new)
    mark = " *" if low > 0 or high < 0 else ""
    return (f"{key:24} {sum(old) / len(old):9.3f} {sum(new) / len(new):9.3f} {diff:+9.3f}  "
            f"[{low:+.3f}, {high:+.3f}]{mark}")


def _check_comparable(old: dict, new: dict, force: bool) -> None:
    """Runs of different corpora or gold sets answer different questions: refuse, unless forced."""
    for part in ("corpus", "gold"):
        a, b = old.get(part, {}).get("sha256"), new.get(part, {}).get("sha256")
        if a and b and a != b and not force:
            raise RagError(f"the two runs used different {part} contents ({a[:12]} vs {b[:12]}): their figures "
                           "are not comparable (--force compares them anyway)")


SAMPLE_GOLD = Path(__file__).with_name("gold") / "sample.jsonl"


def gate_of(gold_path: Path, summary: dict) -> dict:
    """The CI gate's thresholds and outcome, for the sample suite they are set for ({} for other gold sets)."""
    if Path(gold_path).resolve() != SAMPLE_GOLD.resolve():
        return {}
    thresholds = {k: v for k, v in json.loads(THRESHOLDS.read_text()).items() if not k.startswith("_")}
    failures = check_thresholds(summary, thresholds)
    return {"gate": {"thresholds": thresholds, "failures": failures, "passed": not failures}}


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
