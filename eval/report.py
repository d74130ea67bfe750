"""Reports: results.json, report.md and report.html with plots, written all-or-nothing into --out."""
from __future__ import annotations

import base64
import html
import json
import shutil
import tempfile
from pathlib import Path

SUMMARY_KEYS = ["n", "accuracy", "answerable_correct", "answerable_hit_at_1", "answerable_hit_at_k",
                "answerable_mrr", "answerable_exact_match", "answerable_f1", "answerable_words",
                "answerable_cited_precision", "answerable_citation_support", "answerable_quote_fidelity",
                "refusal_precision", "refusal_recall", "false_refusal_rate", "latency_p50_ms", "latency_p95_ms"]


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


def markdown(report, title: str, plots: list[str]) -> str:
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(report.summary)]
    lines += ["", "## By kind", "", "| kind | n | accuracy |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {fmt(v['accuracy'])} |" for k, v in report.summary["by_kind"].items()]
    lines += [""] + [f"![{p}]({p})" for p in plots]
    lines += ["", f"## Failed items ({len(failed(report.items))})", "", "| id | kind | question | gold | answer | cited passage |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {i['id']} | {i['kind']} | {_cell(i['question'])} | {_cell('; '.join(i['answers']))} | "
              f"{_cell(i['answer'])} | {_cell(_first_quote(i))} |" for i in failed(report.items)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())[:300]


def _first_quote(item: dict) -> str:
    c = item["citations"][0] if item["citations"] else None
    return f"{Path(c['source']).name}: {c['quote']}" if c else ""


def html_page(report, title: str, plots: dict[str, bytes]) -> str:
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in summary_rows(report.summary))
    images = "".join(f'<img alt="{esc(n)}" src="data:image/png;base64,{base64.b64encode(b).decode()}">'
                     for n, b in plots.items())
    fails = "".join(f"<tr><td>{esc(i['id'])}</td><td>{esc(i['kind'])}</td><td>{esc(i['question'])}</td>"
                    f"<td>{esc('; '.join(i['answers']))}</td><td>{esc(i['answer'])}</td>"
                    f"<td>{esc(_first_quote(i))}</td></tr>" for i in failed(report.items))
    return (f"<!doctype html><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px;"
            f"vertical-align:top}}table{{border-collapse:collapse}}img{{max-width:32%}}</style>"
            f"<h1>{esc(title)}</h1><table>{rows}</table>{images}<h2>Failed items</h2><table><tr><th>id</th>"
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
        "latency.png": lambda ax: (ax.hist([i["latency_ms"] for i in report.items], bins=20),
                                   ax.set_title("latency (ms)")),
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
