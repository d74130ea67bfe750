"""Offline answers on the sample corpus: content, cited source, refusals, follow-ups."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import BadQuestion
from text.terms import word_count

JPOST = ("000_fa8bb00622d1fd93.txt", "001_8aa7530ea92fc152.txt")
KAYHAN = ("002_07a9a01349c831e9.txt",)
ANALYSIS = ("003_3c2440bdc0ef8b21.txt",)
CRADLE = ("004_78d31ce787c7425f.txt",)

# Known misses of the learned answerer at its validated threshold (issue 13's note); strict, so a fix shows.
ANSWERABLE = [
    ("How much money was Aslanov offered to carry out the hit?", "$200,000", JPOST),
    ("Who chairs Iran's Strategic Council for Foreign Relations?", "Kharrazi", JPOST),
    ("What stake in the Tamar gas field did SOCAR buy?", "10%", JPOST),
    ("When did Azerbaijan's foreign ministry summon Iran's chargé d'affaires?", "January 25", JPOST),
    ("When did Azerbaijan open its embassy in Tel Aviv?", "March 29, 2023", ANALYSIS),
    ("How long is the border Iran shares with Azerbaijan?", "765 kilometers", ANALYSIS),
    ("How many people did Azerbaijan arrest in May 2023 for plotting to overthrow the government?", "nine", ANALYSIS),
    ("Where did Tehran open its first consulate in October 2022?", "Kapan", CRADLE),
    ("What share of Azerbaijan's arms imports came from Israel between 2016 and 2020?", "69 percent", CRADLE),
    ("How much would the two Israeli satellites cost Azerbaijan?", "$120 million", ANALYSIS),
    ("Who is the spokesperson for the Iranian Ministry of Foreign Affairs?", "Nasser Kanaani", ANALYSIS),
    ("How many Knesset members signed the letter about the Azeris?", "32", KAYHAN),
]
UNANSWERABLE = [
    pytest.param("What price did SOCAR pay for its stake in the Tamar gas field?", marks=pytest.mark.xfail(
        strict=True, reason="known miss of the learned answerer (issue 13): the stake sentence is answered")),
    "What is the population of Canada?",
    "Who won the 2022 football World Cup?",
    pytest.param("What is the name of the Jewish community member who was targeted?", marks=pytest.mark.xfail(
        strict=True, reason="known miss of the learned answerer (issue 13): answered with the agency that foiled "
                            "the plot, a name of the wrong role")),
]


def cited_names(answer):
    return {Path(c.source).name for c in answer.citations}


@pytest.mark.parametrize("question,fact,sources", ANSWERABLE)
def test_answerable_question_gets_the_fact_with_its_source(sample, question, fact, sources):
    answer = sample.ask(question)
    assert not answer.abstained, question
    assert fact.lower() in answer.text.lower(), answer.text
    assert word_count(answer.text) <= 60
    assert cited_names(answer) & set(sources), cited_names(answer)
    assert answer.text.count(".") <= 4 and "[1]" in answer.text


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_unanswerable_question_is_refused(sample, question):
    answer = sample.ask(question)
    assert answer.abstained and answer.citations == [], answer.text
    assert "do not answer" in answer.text
    assert answer.passages, "the closest passages are still listed"


@pytest.mark.parametrize("question,short", [
    ("How long is the border Iran shares with Azerbaijan?", "765 kilometers"),
    ("Where did Tehran open its first consulate in October 2022?", "Kapan"),
])
def test_typed_answer_opens_with_the_short_answer(sample, question, short):
    answer = sample.ask(question)
    assert answer.short_answer == short and answer.text.startswith(short)


def test_why_question_quotes_a_reason(sample):
    answer = sample.ask("Why does Iran fear Israeli influence in Azerbaijan?")
    assert not answer.abstained
    assert any(w in answer.text.lower() for w in ("nuclear", "intelligence", "separatist", "encircle")), answer.text


def test_every_quote_is_the_stored_text_at_its_offsets(sample):
    for case in ANSWERABLE:
        question = case.values[0] if hasattr(case, "values") else case[0]
        for c in sample.ask(question).citations:
            assert sample.document_text(c.source)[c.start:c.end] == c.quote
            assert c.quote in Path(c.source).read_text(encoding="utf-8")


def test_markers_index_the_citations(sample):
    answer = sample.ask("Why does Iran fear Israeli influence in Azerbaijan?")
    import re

    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == set(range(1, len(answer.citations) + 1))


def test_near_duplicate_rewrite_is_not_cited_twice(sample):
    answer = sample.ask("What did Kharrazi tell Hajiyev about neighbours' sensitivities?")
    quotes = [c.quote for c in answer.citations]
    assert len(cited_names(answer) & set(JPOST)) <= 1, quotes


@pytest.mark.xfail(strict=True, reason="known miss of the learned answerer (issue 13): the standalone question is "
                                      "right, the sentence chosen is the one about the offer")
def test_follow_up_uses_the_conversation(sample):
    history = [{"role": "user", "content": "Who was offered $200,000 to carry out the hit?"}]
    first = sample.chat(history[0]["content"], [])
    history.append({"role": "assistant", "content": first.text})
    follow = sample.chat("Where was he arrested?", history)
    assert "Aslanov" in follow.standalone_question and follow.standalone_question != follow.question
    assert "Jewish center" in follow.text, follow.text


def test_filters_by_source_and_date(sample):
    only = sample.ask("Why is Iran worried?", sources=["004_78d31ce787c7425f.txt"])
    assert cited_names(only) <= set(CRADLE) and {Path(p.source).name for p in only.passages} <= set(CRADLE)
    dated = sample.ask("When did Azerbaijan open its embassy in Tel Aviv?", since="2024-01-01")
    assert all(p.date >= "2024-01-01" for p in dated.passages)


def test_empty_question_is_a_clear_error(sample):
    with pytest.raises(BadQuestion, match="empty"):
        sample.ask("  ?!  ")


def test_stream_yields_pieces_then_the_answer(sample):
    pieces = list(sample.stream("Where did Tehran open its first consulate in October 2022?"))
    *text, final = pieces
    assert len(text) > 3 and "".join(p.text for p in text) == final.text
