"""An eval harness that decides: runs isolated from the user's working index, fingerprinted, and compared with
paired significance tests (so two runs of the same code differ by nothing, and a degraded setting is 'worse')."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from cli import app
from core.settings import Settings
from eval import command
from eval.report import fmt
from index.embed import Embedder
from rag.assistant import Assistant

from conftest import REPO

SAMPLE_GOLD = REPO / "eval" / "gold" / "sample.jsonl"
POLLUTION = ("SOCAR paid $1.2 billion for its stake in the Tamar gas field, the company said on Monday. "
             "The name of the Jewish community member who was targeted is David Levi.\n")
VARYING = {"latency_p50_ms", "latency_p95_ms", "latency_max_ms", "first_text_p50_ms", "first_text_p95_ms"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, embedder, corpus_dir):
    """Four runs of the sample suite: on a machine whose working index is polluted, on a clean one (twice the
    same code), from a copy of the corpus in a folder of another name and depth with a one-thread encoder, and
    with a degraded setting.

    The degraded run refuses every question (RAG_ABSTAIN_THRESHOLD=1.0). Why that and not a milder change: a
    one-setting degradation such as top_k=1 loses 6-10 items of 108, McNemar p 0.03-0.07, and its verdict flipped
    between machines. Refusing everything turns the ~67 answerable items answered right into refusals and gains
    only the ~13 unanswerable ones answered wrongly today: p < 1e-8, and about 40 items would have to change
    before the verdict could; the answerer's figures move by a few items from one change to the next."""
    base = tmp_path_factory.mktemp("eval-runs")
    polluted = Settings(index_dir=base / "work" / ".index")
    extra = base / "uploads"
    extra.mkdir()
    (extra / "notes.txt").write_text(POLLUTION)
    working = Assistant(settings=polluted, embedder=embedder)
    working.ingest([corpus_dir, extra])
    out = {"polluted": command.run_gold(SAMPLE_GOLD, corpus_dir, base / "polluted", polluted, embedder=embedder),
           "working_docs": len(working.documents())}
    clean = Settings(index_dir=base / "clean" / ".index")
    out["clean"] = command.run_gold(SAMPLE_GOLD, corpus_dir, base / "clean-run", clean, embedder=embedder)
    out["degraded"] = command.run_gold(SAMPLE_GOLD, corpus_dir, base / "degraded", clean.replace(abstain_threshold=1.0),
                                       embedder=embedder, baseline=base / "clean-run")
    elsewhere = base / "zz other place" / "deeper" / "still deeper" / "corpus"
    shutil.copytree(corpus_dir, elsewhere)
    out["elsewhere"] = command.run_gold(SAMPLE_GOLD, elsewhere, base / "elsewhere",
                                        Settings(index_dir=base / "x" / ".index").replace(threads=1),
                                        embedder=Embedder(threads=1))
    out["dirs"] = {name: base / name for name in ("polluted", "clean-run", "degraded")}
    return out


def figures(report) -> dict:
    return {k: v for k, v in report.summary.items() if k not in VARYING}


def test_a_polluted_working_index_changes_nothing(runs):
    assert figures(runs["polluted"]) == figures(runs["clean"])
    answers = {i["id"]: i["answer"] for i in runs["polluted"].items}
    assert answers == {i["id"]: i["answer"] for i in runs["clean"].items}
    assert not any("notes.txt" in c["source"] for i in runs["polluted"].items for c in i["citations"])
    assert runs["working_docs"] == 6                          # the user's working index was left as it was


def test_the_polluted_index_would_have_changed_answers(runs, embedder, corpus_dir, tmp_path):
    """Guard: the pollution is not inert — answering from the working index (--index-dir) does change answers."""
    work = runs["dirs"]["polluted"].parent / "work" / ".index"
    direct = command.run_gold(SAMPLE_GOLD, corpus_dir, tmp_path / "direct", Settings(index_dir=work),
                              embedder=embedder, isolate=False)
    assert any("notes.txt" in c["source"] for i in direct.items for c in i["citations"])


def placed(report) -> dict:
    """Every item's answer and its citations as (file name, start, end, quote): what a user reads, with the
    folder the corpus lives in left out."""
    return {i["id"]: (i["answer"], [(c["source"].rsplit("/", 1)[-1], c["start"], c["end"], c["quote"])
                                    for c in i["citations"]]) for i in report.items}


def test_answers_do_not_depend_on_where_the_folder_lives_or_the_encoder_threads(runs):
    """The offline answer is a function of the question, the index and the settings: the corpus copied to a folder
    of another name and depth (so every passage id differs) and encoded with one thread gives every answer and
    citation of the clean run."""
    elsewhere, clean = placed(runs["elsewhere"]), placed(runs["clean"])
    assert [k for k in clean if elsewhere[k] != clean[k]] == []
    assert len(clean) == 108


def test_every_fingerprint_field_is_recorded(runs):
    run = json.loads((runs["dirs"]["clean-run"] / "results.json").read_text())["run"]
    assert set(run["code"]) in ({"commit", "dirty"}, {"package_version"})
    assert run["settings"]["top_k"] == 6 and run["settings"]["mode"] == "auto" and "index_dir" in run["settings"]
    assert len(run["corpus"]["sha256"]) == 64 and run["corpus"]["files"] == 5
    assert len(run["gold"]["sha256"]) == 64 and run["gold"]["items"] == 108
    assert len(run["embedding_model"]["sha256"]) == 64 and run["answerer_artefact"]
    assert run["modes_used"] == {"offline": 108}
    assert run["machine"]["cores"] and run["started"] and run["seconds"] > 0 and run["warmup_seconds"] > 0


def test_same_code_twice_is_no_significant_change(runs):
    text, verdict = command.compare(runs["dirs"]["polluted"], runs["dirs"]["clean-run"])
    assert verdict == "no significant change" and "0 better, 0 worse" in text


def test_a_degraded_setting_is_worse_and_fails_the_gate(runs):
    text, verdict = command.compare(runs["dirs"]["clean-run"], runs["dirs"]["degraded"])
    assert verdict == "worse", text
    line = next(l for l in text.splitlines() if l.startswith("correct "))
    assert line.rstrip().endswith("*")                          # its interval excludes zero
    gate = CliRunner().invoke(app, ["eval", "--compare", str(runs["dirs"]["clean-run"]),
                                    "--compare", str(runs["dirs"]["degraded"]), "--fail-on-regression"])
    assert gate.exit_code == 1 and "verdict: worse" in gate.output
    same = CliRunner().invoke(app, ["eval", "--compare", str(runs["dirs"]["polluted"]),
                                    "--compare", str(runs["dirs"]["clean-run"]), "--fail-on-regression"])
    assert same.exit_code == 0


def test_the_report_says_what_produced_it_what_each_figure_means_and_what_changed(runs):
    clean = (runs["dirs"]["clean-run"] / "report.md").read_text()
    assert clean.index("## Run") < clean.index("## Figures") and "commit" in clean and "warmup_seconds" in clean
    recall = fmt(json.loads((runs["dirs"]["clean-run"] / "results.json").read_text())["summary"]["refusal_recall"])
    assert f"| refusal_recall | {recall} | share of unanswerable questions refused |" in clean
    assert "## Answer or refuse: the trade-off" in clean and "| 0.5 |" in clean     # the whole curve, not one point
    assert "## CI gate: passed" in clean and "### unanswerable (" in clean    # failures grouped by kind
    degraded = (runs["dirs"]["degraded"] / "report.md").read_text()
    assert "## CI gate: FAILED" in degraded and "verdict: worse" in degraded and "Changes since" in degraded
    html = (runs["dirs"]["degraded"] / "report.html").read_text()
    assert "verdict: worse" in html and html.count("data:image/png;base64,") == 3


def test_short_and_strict_correctness_are_stricter_than_containment():
    from core.records import Answer, Citation
    from eval.gold import GoldItem
    from eval.runner import score_item

    item = GoldItem("q", "Who chairs the council?", ["Kamal Kharrazi"], ["a.txt"], "name")
    wrong_opening = Answer("Ali Khamenei — the council, chaired by Kamal Kharrazi, met [1].",
                           [Citation("/c/a.txt", "T", "The council met.", 0, 16, 0.9)], False, item.question,
                           item.question, short_answer="Ali Khamenei")
    scored = score_item(item, wrong_opening, 1.0, lambda source: "The council met.", 6)
    assert scored["correct"] and scored["short_correct"] == 0.0 and scored["strict_correct"] == 0.0


def test_runs_of_different_corpora_are_not_compared_unless_forced(runs, tmp_path):
    data = json.loads((runs["dirs"]["clean-run"] / "results.json").read_text())
    data["run"]["corpus"]["sha256"] = "0" * 64
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.json").write_text(json.dumps(data))
    refused = CliRunner().invoke(app, ["eval", "--compare", str(runs["dirs"]["clean-run"]), "--compare", str(other)])
    assert refused.exit_code == 1 and "different corpus" in " ".join(refused.output.split())
    assert command.compare(runs["dirs"]["clean-run"], other, force=True)[1] == "no significant change"


def test_robustness_suites_write_their_figures(embedder, corpus_dir, tmp_path):
    settings = Settings(index_dir=tmp_path / ".index")
    result = command.run_gold(SAMPLE_GOLD, corpus_dir, tmp_path / "out", settings, embedder=embedder,
                              suites=["negative", "noise", "duplication", "conflict", "unaltered", "versions:1",
                                      "distractors:20"])
    written = json.loads((tmp_path / "out" / "robustness.json").read_text())
    assert written == result.summary["robustness"]
    assert written["negative"]["n"] == 85 and 0.5 <= written["negative"]["refused"] <= 1.0
    assert written["noise"]["answerable_correct"] >= written["plain"]["answerable_correct"] - 0.05
    assert written["duplication"]["same_answer"] >= 0.9
    assert written["conflict"]["conflict_flagged"] >= 0.5           # altered copies are flagged (0.68 measured)
    assert written["unaltered"]["false_flags"] <= 0.05               # unaltered copies are not (0.00 measured)
    assert result.summary["conflict_flagged"] <= 0.05                 # nor the plain corpus's answers
    variants = list((tmp_path / ".index-eval" / "variants").iterdir())[0]
    copies = sorted(p.name for p in (variants / "duplication").iterdir() if p.name.startswith("copy"))
    altered = [p for p in (variants / "conflict").iterdir() if p.name.startswith("altered_")]
    assert len(copies) == 3 * 5 and altered
    assert "765 kilometers" not in next(p for p in altered if "003_" in p.name).read_text()
    assert not (corpus_dir / copies[0]).exists()                   # the user's corpus folder is never written
    for suite, added in (("versions:1", 5), ("distractors:20", 20)):   # every item asked again beside the additions
        shift = written[suite]
        assert shift["n"] == 108 and shift["added"] == added
        assert shift["plain_accuracy"] == round(result.summary["accuracy"], 4)
        assert shift["accuracy_change"] == round(shift["accuracy"] - shift["plain_accuracy"], 4)
        assert len(shift["right_to_wrong"]) == shift["worse"] and 0 <= shift["accuracy_p"] <= 1
        assert shift["verdict"] == "no significant change", shift    # (1 and 3 of 108 items flipped, measured)
    added = written["distractors:20"]      # issue 29: unrelated documents make it answer nothing it refused, and
    assert added["newly_answered"] == 0 and added["refusal_recall_change"] >= -0.03, added   # move accuracy
    assert abs(added["accuracy_change"]) <= 0.03, added     # <= 0.03 (with the folder's IDF weighing the evidence,
    # 4 refusals were answered here; with the reference IDF one borderline answer, 0.287 at a 0.285 threshold,
    # may fall under it when retrieval ranks the passages a little differently)
    assert (variants / "versions-1" / "000_fa8bb00622d1fd93 (1).txt").exists()
