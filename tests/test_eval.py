"""The eval harness: gold-set validity, loader errors, reports, comparison, and the CI gate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import command, gold, load, run
from core.errors import GoldFileError

REPO = Path(__file__).resolve().parents[1]
SAMPLE_GOLD = REPO / "eval" / "gold" / "sample.jsonl"


def squash(text: str) -> str:
    return " ".join(text.lower().split())


def test_sample_suite_is_large_and_varied(corpus_dir):
    items = load(SAMPLE_GOLD, corpus_dir)
    kinds = {i.kind for i in items}
    assert len(items) >= 80 and sum(i.kind == "unanswerable" for i in items) >= 15
    assert {"name", "number", "amount", "date", "place", "why", "multi_doc", "followup"} <= kinds
    assert all(i.history for i in items if i.kind == "followup")
    assert len({i.id for i in items}) == len(items)


def test_every_gold_alias_occurs_in_a_gold_source(corpus_dir):
    for item in load(SAMPLE_GOLD, corpus_dir):
        texts = [squash((corpus_dir / s).read_text(encoding="utf-8")) for s in item.sources]
        for alias in item.answers:
            assert any(squash(alias) in t for t in texts), (item.id, alias)
        assert bool(item.answers) == bool(item.sources) == item.answerable, item.id


@pytest.mark.parametrize("line,message", [
    ('{"id": "x", "question": "Who?", "answers": ["A"], "sources": ["a.txt"]', "gold.jsonl:2: malformed JSON"),
    ('{"id": "x", "answers": ["A"], "sources": ["a.txt"], "kind": "name"}', 'gold.jsonl:2: item has no "question"'),
    ('{"id": "x", "question": "Who?", "answers": ["A"], "sources": ["missing.txt"], "kind": "name"}',
     "gold.jsonl:2: gold source 'missing.txt' is not in the corpus"),
    ('{"id": "x", "question": "Who?", "answers": "A", "sources": [], "kind": "name"}', '"answers" must be a list'),
])
def test_bad_gold_lines_name_file_and_line(tmp_path, line, message):
    (tmp_path / "a.txt").write_text("A text.")
    path = tmp_path / "gold.jsonl"
    good = '{"id": "ok", "question": "What?", "answers": ["text"], "sources": ["a.txt"], "kind": "other"}'
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(GoldFileError) as raised:
        gold.load(path, tmp_path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_bad_gold_file_leaves_nothing_in_out(tmp_path, sample, corpus_dir):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"question": "Who?", "answers": ["A"], "sources": ["nope.txt"], "kind": "name"}\n')
    out = tmp_path / "out"
    with pytest.raises(GoldFileError, match="gold.jsonl:1"):
        command.run_gold(path, corpus_dir, out, sample.settings, assistant=sample)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.fixture(scope="module")
def sample_run(sample, corpus_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "sample"
    result = command.run_gold(SAMPLE_GOLD, corpus_dir, out, sample.settings, assistant=sample)
    return result, out


def test_sample_suite_meets_the_thresholds(sample_run):
    """The CI gate: offline mode on the sample suite, thresholds kept in eval/thresholds.json."""
    result, _ = sample_run
    thresholds = json.loads(command.THRESHOLDS.read_text())
    failures = command.check_thresholds(result.summary, thresholds)
    print("\n".join(command.summary_lines(result)))
    assert not failures, failures


def test_reports_are_written_with_plots_and_failures(sample_run):
    result, out = sample_run
    data = json.loads((out / "results.json").read_text())
    assert data["summary"]["n"] == len(data["items"]) == len(result.items)
    item = data["items"][0]
    assert {"id", "question", "answer", "abstained", "citations", "correct", "f1", "latency_ms"} <= set(item)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "Failed items" in html
    assert "| accuracy |" in (out / "report.md").read_text()
    failed = [i for i in data["items"] if not i["correct"]]
    for i in failed:
        assert i["id"] in html


def test_compare_lists_flipped_items(sample_run, tmp_path):
    _, out = sample_run
    data = json.loads((out / "results.json").read_text())
    data["items"][0]["correct"] = not data["items"][0]["correct"]
    data["summary"]["accuracy"] = 0.5
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.json").write_text(json.dumps(data))
    text = command.compare_dirs(out, other)
    flipped = "wrong -> right" if data["items"][0]["correct"] else "right -> wrong"
    assert f"{flipped}: {data['items'][0]['id']}" in text
    assert "108 paired items" in text and "verdict: no significant change" in text   # one flip is noise


def test_eval_run_python_api(sample):
    items = load(SAMPLE_GOLD)[:3]
    report = run(items, sample)
    assert report.summary["n"] == 3 and len(report.items) == 3
