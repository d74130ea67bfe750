"""What an offline answer quotes and opens with, on notes written here: a list item is quoted without its
number and a heading without its colon, still verbatim at its offsets; a short answer that is part of a date is
the whole date the sentence states, with its year, unless the question asks for a part of it."""
from __future__ import annotations

import pytest

from rag import Assistant

NOTES = {
    "harbour.txt": "Harlow harbour timeline\n\nThe harbour town of Harlow has changed a great deal over the last "
                   "decade.\n\n1- Quenby opens its first lantern museum in Harlow on March 29, 2023:\nThe museum "
                   "holds four hundred lanterns from the fishing fleet.\n\n2. The Harlow ferry carried 4,200 "
                   "passengers across the bay in 2022.\n\n3) Works on the new breakwater began in the spring of "
                   "2021.\n",
    "fair.txt": "The Quenby lantern fair\n\nThe Quenby lantern fair opens every spring. Visitors bring lanterns "
                "from the whole coast.\nThe fair was first held on 14 May 1998, when twelve families lit lanterns "
                "along the pier.\n",
}


@pytest.fixture(scope="module")
def notes(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("notes")
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    assistant = Assistant(tmp_path_factory.mktemp("notes-index"), embedder=embedder, abstain_threshold=0.0)
    assert not assistant.ingest([folder]).failed
    return assistant


def quoted(assistant, question: str):
    answer = assistant.ask(question)
    assert not answer.abstained and answer.citations, question
    for c in answer.citations:
        assert assistant.document_text(c.source)[c.start:c.end] == c.quote     # still verbatim at its offsets
    return answer


def test_a_numbered_heading_is_quoted_without_its_number_and_colon_and_dated_with_its_year(notes):
    answer = quoted(notes, "When did Quenby open its lantern museum?")
    assert answer.citations[0].quote == "Quenby opens its first lantern museum in Harlow on March 29, 2023"
    assert answer.short_answer == "March 29, 2023"
    assert answer.text == f"March 29, 2023 — {answer.citations[0].quote} [1]"


@pytest.mark.parametrize("question, quote", [
    ("How many passengers did the Harlow ferry carry across the bay?",
     "The Harlow ferry carried 4,200 passengers across the bay in 2022."),
    ("When did works on the new breakwater begin?", "Works on the new breakwater began in the spring of 2021."),
])
def test_list_numbers_are_not_quoted(notes, question, quote):
    assert quoted(notes, question).citations[0].quote == quote


def test_a_question_for_a_year_is_answered_with_the_year_stated(notes):
    answer = quoted(notes, "In what year did Quenby open its lantern museum?")
    assert "2023" in answer.short_answer
