"""Reports: results.json, report.md and report.html with plots, written all-or-nothing into --out."""
from __future__ import annotations

import base64
import html
import json
import shutil
import tempfile
from pathlib import Path

from eval.metrics import by_kind

SUMMARY_KEYS = ["n", "accuracy", "answerable_correct", "answerable_short_correct", "answerable_strict_correct",
                "answerable_hit_at_1", "answerable_hit_at_k",
                "answerable_mrr", "answerable_exact_match", "answerable_f1", "answerable_words",
                "answerable_cited_precision", "answerable_citation_support", "answerable_quote_fidelity",
                "refusal_precision", "refusal_recall", "false_refusal_rate", "conflict_flagged", "latency_p50_ms",
                "latency_p95_ms", "latency_max_ms", "first_text_p50_ms", "first_text_p95_ms"]


GLOSSARY = {
    "n": "questions asked",
    "accuracy": "share of all questions answered right: answerable ones correct, unanswerable ones refused",
    "answerable_correct": "answerable questions not refused whose answer (at most 60 words) contains a gold alias",
    "answerable_short_correct": "... whose opening (the short answer, else the first sentence) contains a gold alias",
    "answerable_strict_correct": "... correct, and a cited quote itself contains a gold alias",
    "answerable_hit_at_1": "a gold document is the first retrieved passage's",
    "answerable_hit_at_k": "a gold document is among the top_k retrieved passages",
    "answerable_mrr": "mean of 1 / rank of the first gold document among the retrieved passages",
    "answerable_exact_match": "the short answer equals a gold alias after SQuAD normalisation",
    "answerable_f1": "token-overlap F1 of the short answer with the best gold alias (SQuAD)",
    "answerable_words": "mean words of an answer",
    "answerable_cited_precision": "share of cited documents that are gold documents",
    "answerable_citation_support": "share of answers with a cited quote containing a gold alias",
    "answerable_quote_fidelity": "share of quotes that read verbatim at their offsets in the stored text",
    "refusal_precision": "share of refusals that were for unanswerable questions",
    "refusal_recall": "share of unanswerable questions refused",
    "false_refusal_rate": "share of answerable questions refused",
    "conflict_flagged": "share of answers that report sources disagreeing on the answer's value",
    "latency_p50_ms": "median milliseconds to answer (after the warm-up)",
    "latency_p95_ms": "95th percentile milliseconds to answer",
    "latency_max_ms": "milliseconds of the slowest question",
    "first_text_p50_ms": "median milliseconds until the first answer text is shown (the extractive answer, before "
                         "a reader's answer replaces it)",
    "first_text_p95_ms": "95th percentile milliseconds until the first answer text is shown",
    "llm_answers_kept": "LLM mode: share of questions answered by the LLM (its reply validated and kept)",
    "llm_not_asked": "LLM mode: share refused by the evidence gate without asking the LLM",
    "llm_fallbacks": "LLM mode: share given the offline answer because the LLM failed or its reply was withdrawn",
    "llm_marker_validity": "LLM mode: share of the kept answers' [n] markers that pointed at a passage sent",
    "llm_answers_all_cited": "LLM mode: share of the kept (non-refusal) answers with every sentence cited",
}


def fmt(value) -> str:
    """A figure as printed in reports.

    >>> fmt(0.91234), fmt(None), fmt(12)
    ('0.912', '–', '12')
    """
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    extra = [k for k in summary if k not in SUMMARY_KEYS and not isinstance(summary[k], (dict, list))]
    return [(k, fmt(summary.get(k))) for k in SUMMARY_KEYS + extra if k in summary]


def failed(items: list[dict]) -> list[dict]:
    return [i for i in items if not i["correct"]]


def run_rows(run: dict) -> list[tuple[str, str]]:
    """The run's fingerprint as (field, value) rows for the top of a report.

    >>> run_rows({"code": {"commit": "abc", "dirty": True}, "modes_used": {"offline": 3}})[:2]
    [('code', 'commit abc, dirty True'), ('modes_used', 'offline 3')]
    """
    rows = []
    for key in ("code", "modes_used", "corpus", "gold", "embedding_model", "answerer_artefact", "machine",
                "started", "seconds", "warmup_seconds"):
        value = run.get(key)
        if value in (None, "", {}):
            continue
        rows.append((key, ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)))
    return rows


def markdown(report, title: str, plots: list[str]) -> str:
    run = report.run or {}
    lines = [f"# {title}", "", "## Run", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in run_rows(run)]
    lines += ["", "## Figures", "", "| metric | value | definition |", "|---|---|---|"]
    lines += [f"| {k} | {v} | {GLOSSARY.get(k, '')} |" for k, v in summary_rows(report.summary)]
    lines += _gate_lines(run.get("gate"))
    if run.get("baseline"):
        lines += ["", f"## Changes since {run['baseline']['path']}", "", "```", run["baseline"]["text"], "```"]
    lines += _tradeoff_lines(report.summary.get("tradeoff"))
    lines += _fallback_lines(report.summary.get("llm_fallbacks_by_reason"))
    lines += ["", "## By kind", "", "| kind | n | accuracy |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {fmt(v['accuracy'])} |" for k, v in report.summary["by_kind"].items()]
    lines += _question_kind_lines(report.summary.get("by_question_kind"))
    lines += [""] + [f"![{p}]({p})" for p in plots]
    lines += ["", f"## Failed items ({len(failed(report.items))}), by kind"]
    for kind, items in by_kind(failed(report.items)).items():
        lines += ["", f"### {kind} ({len(items)})", "", "| id | question | gold | answer | cited passage |",
                  "|---|---|---|---|---|"]
        lines += [f"| {i['id']} | {_cell(i['question'])} | {_cell('; '.join(i['answers']))} | "
                  f"{_cell(i['answer'])} | {_cell(_first_quote(i))} |" for i in items]
    return "\n".join(lines) + "\n"


def _question_kind_lines(kinds: dict | None) -> list[str]:
    """The figures by the kind of question the assistant took each item for (rag.answer.kinds).

    >>> _question_kind_lines({"list": {"n": 2, "accuracy": 0.5, "refused": 0.0, "answerable_correct": 0.5}})[-1]
    '| list | 2 | 0.500 | 0.000 | 0.500 |'
    """
    if not kinds:
        return []
    lines = ["", "## By question kind (as the assistant read the question)", "",
             "| question kind | n | accuracy | refused | answerable answered right |", "|---|---|---|---|---|"]
    return lines + [f"| {k} | {v['n']} | {fmt(v['accuracy'])} | {fmt(v['refused'])} | {fmt(v['answerable_correct'])} |"
                    for k, v in kinds.items()]


def _tradeoff_lines(rows: list[dict] | None) -> list[str]:
    """The whole answer/refuse trade-off, one row per evidence threshold (RAG_ABSTAIN_THRESHOLD moves it)."""
    if not rows:
        return []
    lines = ["", "## Answer or refuse: the trade-off", "",
             "Each row: what this run would score with RAG_ABSTAIN_THRESHOLD at that value "
             "(lower: fewer refusals, more wrong answers).", "",
             "| threshold | answerable answered right | unanswerable refused | accuracy |", "|---|---|---|---|"]
    return lines + [f"| {r['threshold']} | {fmt(r['answerable_right'])} | {fmt(r['unanswerable_refused'])} | "
                    f"{fmt(r['accuracy'])} |" for r in rows]


def _fallback_lines(reasons: dict | None) -> list[str]:
    """LLM mode: why questions got the offline answer instead, most frequent first.

    >>> _fallback_lines({"withdrawn: it repeats itself": 2})[-1]
    '| withdrawn: it repeats itself | 2 |'
    """
    if not reasons:
        return []
    lines = ["", "## LLM fallbacks by reason", "", "| reason | questions |", "|---|---|"]
    return lines + [f"| {_cell(reason)} | {count} |" for reason, count in reasons.items()]


def _gate_lines(gate: dict | None) -> list[str]:
    if not gate:
        return []
    lines = ["", f"## CI gate: {'passed' if gate['passed'] else 'FAILED'}", "", "| metric | threshold |", "|---|---|"]
    lines += [f"| {k} | >= {v} |" for k, v in gate["thresholds"].get("min", {}).items()]
    lines += [f"| {k} | <= {v} |" for k, v in gate["thresholds"].get("max", {}).items()]
    return lines + [f"- {f}" for f in gate["failures"]]


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())[:300]


def _first_quote(item: dict) -> str:
    c = item["citations"][0] if item["citations"] else None
    return f"{Path(c['source']).name}: {c['quote']}" if c else ""


def html_page(report, title: str, plots: dict[str, bytes]) -> str:
    esc = html.escape
    run = report.run or {}
    details = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in run_rows(run))
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td><td>{esc(GLOSSARY.get(k, ''))}</td></tr>"
                   for k, v in summary_rows(report.summary))
    gate = "".join(f"<p>{esc(line)}</p>" for line in _gate_lines(run.get("gate")) if line)
    gate += "".join(f"<p>{esc(line)}</p>" for line in _fallback_lines(report.summary.get("llm_fallbacks_by_reason"))
                    if line.strip("|-"))
    baseline = (f"<h2>Changes since {esc(run['baseline']['path'])}</h2><pre>{esc(run['baseline']['text'])}</pre>"
                if run.get("baseline") else "")
    images = "".join(f'<img alt="{esc(n)}" src="data:image/png;base64,{base64.b64encode(b).decode()}">'
                     for n, b in plots.items())
    fails = "".join(f"<tr><td>{esc(i['id'])}</td><td>{esc(i['kind'])}</td><td>{esc(i['question'])}</td>"
                    f"<td>{esc('; '.join(i['answers']))}</td><td>{esc(i['answer'])}</td>"
                    f"<td>{esc(_first_quote(i))}</td></tr>" for i in failed(report.items))
    return (f"<!doctype html><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px;"
            f"vertical-align:top}}table{{border-collapse:collapse}}img{{max-width:32%}}</style>"
            f"<h1>{esc(title)}</h1><h2>Run</h2><table>{details}</table><h2>Figures</h2><table>{rows}</table>"
            f"{gate}{baseline}{images}<h2>Failed items</h2><table><tr><th>id</th>"
            f"<th>kind</th><th>question</th><th>gold</th><th>answer</th><th>cited passage</th></tr>{fails}</table>")


def plots(report) -> dict[str, bytes]:
    """PNG plots: score by question kind, latency histogram, retrieval rank distribution."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = report.summary["by_kind"]
    ranks = [i.get("retrieval_rank") or 0 for i in report.items if i["kind"] != "unanswerable"]
    figures = {
        "score_by_kind.png": lambda ax: (ax.bar(list(kinds), [v["accuracy"] or 0 for v in kinds.values()]),
                                         ax.set_ylim(0, 1), ax.set_title("accuracy by kind"),
                                         ax.tick_params(axis="x", rotation=45)),
        "latency.png": lambda ax: _latency(ax, [i["latency_ms"] for i in report.items]),
        "retrieval_rank.png": lambda ax: (ax.hist(ranks, bins=range(0, max(ranks + [1]) + 2)),
                                          ax.set_title("rank of first gold source (0 = not retrieved)")),
    }
    out = {}
    for name, draw in figures.items():
        fig, ax = plt.subplots(figsize=(5, 3.5))
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
        out[name] = buffer.getvalue()
    return out


def _latency(ax, values: list[float]) -> None:
    """Latency on a log axis, so one slow question does not squash the rest; the slowest is named."""
    import numpy

    positive = [max(v, 0.1) for v in values] or [0.1]
    ax.hist(positive, bins=numpy.geomspace(min(positive), max(positive) * 1.01, 20))
    ax.set_xscale("log")
    ax.set_title(f"latency (ms, log axis; slowest {max(positive):.0f} ms)")


def write(report, out_dir: Path, title: str) -> None:
    """Write every file into a temporary folder beside `out_dir`, then swap it in: nothing half-written."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        images = plots(report)
        (staging / "results.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        for name, data in images.items():
            (staging / name).write_bytes(data)
        (staging / "report.md").write_text(markdown(report, title, list(images)))
        (staging / "report.html").write_text(html_page(report, title, images))
        _swap(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, out_dir: Path) -> None:
    old = out_dir.with_name(f".{out_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
