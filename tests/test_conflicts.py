"""Conflicting sources: when documents disagree on the answer's value, the answer shows both values with their
citations and says so; the same value in another form, a more precise statement of it, or a passage about
another event is no disagreement.

Synthetic pairs are built from real passages (SQuAD 2.0 paragraphs in the shared benchmarks): a copy of the
paragraph with the answer's value altered, alone or inside near-duplicate text, indexed beside the original.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from conftest import CORPUS
from core.settings import find_shared
from eval.benchmarks import safe_name
from eval.robustness import altered
from rag import Assistant

DTX = "When did Azerbaijan's State Security Service announce the arrest of the Iran-affiliated cell?"
ANALYSIS, CRADLE = "003_3c2440bdc0ef8b21.txt", "004_78d31ce787c7425f.txt"
SQUAD = find_shared() / "benchmarks" / "squad-v2-dev-subset" / "dev-v2.0.json"
PAIRS = 8                                    # synthetic pairs: the first questions of the test articles that
YEAR = re.compile(r"^(1[5-9]\d\d|20[0-2]\d)$")  # ask for a year stated once in their paragraph


def quotes_are_verbatim(assistant, answer) -> None:
    for c in answer.citations:
        assert assistant.document_text(c.source)[c.start:c.end] == c.quote


def test_the_dtx_date_shows_both_dates_cited_and_a_note(sample):
    answer = sample.ask(DTX)
    assert not answer.abstained and len(answer.conflicts) == 1
    conflict = answer.conflicts[0]
    assert conflict.kind == "date"
    # newest source first, with its date
    assert [(Path(v.citation.source).name, v.value) for v in conflict.values] == [
        (ANALYSIS, "November 2, 2022"), (CRADLE, "1 November")]
    assert answer.text.startswith('Sources disagree: "What is driving the renewed escalation between Iran…" '
                                  '(2023-05-25) says November 2, 2022 [1]; "Azerbaijan to open embassy in Israel, '
                                  'arrests Iran-affiliated…" (2022-11-02) says 1 November [2].')
    assert [Path(c.source).name for c in answer.citations] == [ANALYSIS, CRADLE]
    assert "November 2, 2022" in answer.citations[0].quote and "1 November" in answer.citations[1].quote
    quotes_are_verbatim(sample, answer)


def test_the_cli_prints_the_note_and_json_carries_the_conflict(sample):
    index = str(sample.settings.store.index_dir)
    shown = CliRunner().invoke(app, ["ask", DTX, "--index-dir", index])
    assert shown.exit_code == 0 and "Sources disagree:" in shown.output
    data = json.loads(CliRunner().invoke(app, ["ask", DTX, "--index-dir", index, "--json"]).stdout)
    assert [v["value"] for v in data["conflicts"][0]["values"]] == ["November 2, 2022", "1 November"]
    [conflict] = data["conflicts"]
    assert conflict["kind"] == "date" and conflict["values"][1]["citation"]["date"] == "2022-11-02"


def test_a_question_the_sources_agree_on_has_no_conflict(sample):
    answer = sample.ask("How long is the border Iran shares with Azerbaijan?")
    assert not answer.abstained and answer.conflicts == [] and "Sources disagree" not in answer.text


@pytest.fixture(scope="module")
def extra(tmp_path_factory, embedder):
    """The sample corpus plus notes written for these tests, indexed once."""
    folder = tmp_path_factory.mktemp("extra-docs")
    for p in CORPUS.iterdir():
        (folder / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "brief.txt").write_text(
        "Regional security brief\n\nIn March 2024 the State Security Service of Azerbaijan announced the arrest "
        "of a second group, which it said had been recruited by Russian military intelligence to sabotage "
        "pipelines.\n", encoding="utf-8")
    assistant = Assistant(tmp_path_factory.mktemp("extra-index"), embedder=embedder)
    assistant.ingest([folder])
    return assistant


def test_a_passage_about_another_arrest_in_another_year_is_no_conflict(extra):
    answer = extra.ask(DTX)
    values = [v.value for c in answer.conflicts for v in c.values]
    assert not answer.abstained and "March 2024" not in values and "2024" not in answer.text


# --- synthetic pairs from public passages


def held_out_articles() -> list[dict]:
    from learn.data import read_squad, split_articles

    data = read_squad(find_shared() / "benchmarks")
    test_titles = split_articles([a["title"] for a in data], 13)["test"]
    return [a for a in data if a["title"] in test_titles]


def year_questions(articles: list[dict], count: int) -> list[tuple[str, int, dict, str]]:
    """(article title, paragraph number, question, year): answerable questions whose answer is a year stated
    once in its paragraph, the first `count` in the file's order."""
    found = []
    for article in articles:
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answer = qa["answers"][0]["text"] if qa["answers"] else ""
                if not qa.get("is_impossible") and YEAR.match(answer) and para["context"].count(answer) == 1:
                    found.append((article["title"], p, qa, answer))
                    break
    return found[:count]


def pair_corpus(folder: Path, articles: list[dict], shown, copy=None, copied=()) -> Path:
    """Each shown paragraph with its two neighbours, and (given `copy(text, year)`) a copy of each `copied`
    one: alone for every other pair, else inside the neighbours' text (near-duplicate text around it)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_title = {a["title"]: a["paragraphs"] for a in articles}
    for title, p, _, _ in shown:
        paras = by_title[title]
        for q in (p - 1, p, p + 1):
            if 0 <= q < len(paras):
                (folder / f"{safe_name(title)}_{q:03d}.txt").write_text(paras[q]["context"])
    for k, (title, p, _, year) in enumerate(copied if copy else ()):
        paras = by_title[title]
        text = copy(paras[p]["context"], year)
        if k % 2:
            around = [paras[q]["context"] for q in (p - 1, p + 1) if 0 <= q < len(paras)]
            text = "\n\n".join([around[0], text, *around[1:]])
        (folder / f"copy_{k}.txt").write_text(text)
    return folder


def ask_all(folder: Path, index: Path, embedder, chosen):
    """Ask every chosen question with the refusal gate off: these tests are about what the sources say, and
    a question near the refusal threshold would otherwise be answered or refused as the copies shift the
    corpus statistics (refusal has tests of its own)."""
    assistant = Assistant(index, embedder=embedder, abstain_threshold=0.0)
    assistant.ingest([folder])
    return assistant, [assistant.ask(qa["question"]) for _, _, qa, _ in chosen]


@pytest.fixture(scope="module")
def squad_pairs(tmp_path_factory, embedder):
    """The year questions of the held-out test articles (their paragraphs are the corpus of every test
    below, copies aside) and the first PAIRS of them that the assistant answers from those original
    paragraphs alone with a sentence stating the year (a disagreement is about the answer's value)."""
    if not SQUAD.is_file():
        pytest.skip(f"the SQuAD subset is expected at {SQUAD}")
    articles = held_out_articles()
    candidates = year_questions(articles, 3 * PAIRS)
    base = tmp_path_factory.mktemp("pairs")
    _, answers = ask_all(pair_corpus(base / "docs", articles, candidates), base / "index", embedder, candidates)
    shown = {(t, q): para["context"] for a in articles for t, paras in [(a["title"], a["paragraphs"])]
             for t2, p, _, _ in candidates if t2 == t for q, para in enumerate(paras) if abs(q - p) <= 1}
    answered = []
    for c, a in zip(candidates, answers):
        # its year stated in no other paragraph, and not beside another chosen one (a copy carries its
        # neighbours): the original value then has one source
        alone = not any(c[3] in text for key, text in shown.items() if key != (c[0], c[1]))
        apart = all(c[0] != d[0] or abs(c[1] - d[1]) > 1 for d in answered)
        if a.citations and c[3] in a.citations[0].quote and alone and apart:
            answered.append(c)
    assert all(a.conflicts == [] for a in answers)            # the originals alone disagree with nothing
    return articles, candidates, answered[:PAIRS]


def test_an_altered_copy_of_a_real_passage_is_flagged_with_both_years(squad_pairs, embedder, tmp_path):
    articles, shown, chosen = squad_pairs
    assert len(chosen) == PAIRS
    folder = pair_corpus(tmp_path / "docs", articles, shown, lambda text, year: text.replace(year, altered(year)),
                         chosen)
    assistant, answers = ask_all(folder, tmp_path / "index", embedder, chosen)
    for (_, _, qa, year), answer in zip(chosen, answers):
        values = sorted(v.value for c in answer.conflicts for v in c.values)
        assert values == sorted([year, altered(year)]), (qa["question"], answer.text)
        copies = sorted(Path(v.citation.source).name.startswith("copy_") for c in answer.conflicts for v in c.values)
        assert copies == [False, True]                  # one value from the copy, one from the original
        assert answer.text.startswith("Sources disagree:") and year in answer.text and altered(year) in answer.text
        quotes_are_verbatim(assistant, answer)


@pytest.mark.parametrize("restate", [lambda text, year: text, lambda text, year: text.replace(year, f"{year} AD")],
                         ids=["unaltered", "year-in-another-form"])
def test_copies_stating_the_same_year_are_no_conflict(squad_pairs, embedder, tmp_path, restate):
    articles, shown, chosen = squad_pairs
    _, answers = ask_all(pair_corpus(tmp_path / "docs", articles, shown, restate, chosen), tmp_path / "index",
                         embedder, chosen)
    assert [a.conflicts for a in answers] == [[]] * PAIRS, [(v.value, Path(v.citation.source).name, v.citation.quote) for a in answers for c in a.conflicts for v in c.values]
