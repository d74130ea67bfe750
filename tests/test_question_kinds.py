"""Questions beyond one fact. The kind of a question (`rag.answer.kinds`) is checked on labelled public
questions its rules were not written from (HotpotQA's bridge/comparison types, MultiHop-RAG's comparison
type and yes/no answers); then each kind is asked through `Assistant.ask` of documents written here: a
summary, reasons, a list, the sources' disagreements, yes/no, a bridge and a comparison, each answered with
quotes that are the documents' text, and refused when the documents do not hold the answer.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.settings import find_shared
from rag import Assistant
from rag.answer.kinds import kind_of

BENCHMARKS = find_shared() / "benchmarks"
HOTPOT = BENCHMARKS / "hotpotqa-dev-distractor-100" / "dev_distractor_100.json"
MULTIHOP = BENCHMARKS / "multihop-rag-500"
ANSWERED_YES_NO = ("yesno", "comparison", "disagreements")     # the kinds a yes or a no answers

DOCS = {
    "council_2021.txt": """Marrow Bay council approves new harbour wall
By Staff Reporter - March 3, 2021

The council of Marrow Bay approved the construction of a new harbour wall on Tuesday after a long debate.

Council members backed the wall because winter storms had flooded the fish market three times in two years. \
Fishermen fear that another flood would ruin the spring season.

The wall will be built by Tessel Works, an engineering firm founded by Ida Brandvold in 1962. Work is expected \
to start in the summer.

The harbour master said that the old pier would be closed during the works.
""",
    "works_2022.txt": """Harbour wall works begin in Marrow Bay
By Local Desk - June 14, 2022

Construction of the Marrow Bay harbour wall started on 6 June, the town council announced.

The project is funded by the regional development fund, the port authority and a local fishing cooperative. \
The wall is 420 metres long and will protect the fish market, the ferry terminal and the lifeboat station.

Residents are concerned about the noise of the pile drivers, and some shop owners worry that fewer visitors \
will come during the works.

The mayor, Oskar Lind, said the town had waited twenty years for the wall.
""",
    "review_2023.txt": """Marrow Bay: a year of building
Review - September 30, 2023

The town council announced that construction of the harbour wall started on 13 June 2022, after a delay caused \
by the supply of concrete.

Tessel Works completed the wall in August 2023, two months ahead of schedule. The wall is 420 metres long.

The old pier, which had been closed during the works, reopened to anglers in September.

The council now plans to rebuild the lifeboat station because its slipway is too short for the new boat.
""",
    "brandvold.txt": """Ida Brandvold

Ida Brandvold (born 4 May 1931 in Bergen) was a Norwegian engineer who designed sea defences along the North \
Sea coast.

She studied at the Norwegian Institute of Technology and founded her own engineering firm in 1962, which she \
led until her retirement in 1996.
""",
    "castles.txt": """Two castles of the Skarn valley

Halvik Castle was built in 1284 by the lords of the Skarn valley to guard the river crossing.

Ostmoor Castle was built in 1412 on a hill above the town of Ostmoor, after the old wooden fort burned down.

Both castles are open to visitors in the summer months.
""",
}
COPY = ("works_2022_republished.txt", DOCS["works_2022.txt"] + "\nRepublished with permission.\n")


@pytest.fixture(scope="module")
def harbour(tmp_path_factory, embedder) -> Assistant:
    """An Assistant over the documents above and a republished near-copy of one of them."""
    folder = tmp_path_factory.mktemp("harbour-docs")
    for name, text in [*DOCS.items(), COPY]:
        (folder / name).write_text(text, encoding="utf-8")
    assistant = Assistant(tmp_path_factory.mktemp("harbour-index"), embedder=embedder)
    report = assistant.ingest([folder])
    assert not report.failed and report.duplicates, (report.failed, report.duplicates)
    return assistant


def cited(assistant: Assistant, answer) -> list[str]:
    """The cited file names, after checking that every quote is its document's text at its offsets."""
    for c in answer.citations:
        assert assistant.document_text(c.source)[c.start:c.end] == c.quote, c
    return [Path(c.source).name for c in answer.citations]


# --- the kind of a question, on questions the rules were not written from
@pytest.mark.skipif(not HOTPOT.exists(), reason="HotpotQA sample not in the shared benchmarks")
def test_hotpotqa_comparisons_are_told_from_bridge_questions():
    rows = json.loads(HOTPOT.read_text(encoding="utf-8"))
    agree = [(kind_of(r["question"]) == "comparison") == (r["type"] == "comparison") for r in rows]
    bridges = [kind_of(r["question"]) == "bridge" for r in rows if r["type"] == "bridge"]
    assert sum(agree) / len(agree) >= 0.9           # measured 0.94 (comparison recall 18/21)
    assert sum(bridges) / len(bridges) >= 0.4        # measured 0.48: a bridge not recognised is asked as a fact


@pytest.mark.skipif(not MULTIHOP.exists(), reason="MultiHop-RAG sample not in the shared benchmarks")
def test_multihop_yes_no_and_comparison_questions_are_recognised():
    queries = json.loads((MULTIHOP / "queries.json").read_text(encoding="utf-8"))["queries"]
    truth = json.loads((MULTIHOP / "ground_truth.json").read_text(encoding="utf-8"))
    yes_no = [(truth[q["id"]]["answer"].strip().lower().rstrip(".") in ("yes", "no"),
               kind_of(q["question"]) in ANSWERED_YES_NO) for q in queries]
    compared = [kind_of(q["question"]) == "comparison" for q in queries if q["question_type"] == "comparison_query"]
    assert sum(a == b for a, b in yes_no) / len(yes_no) >= 0.85     # measured 0.904
    assert sum(compared) / len(compared) >= 0.85                      # measured 0.909


# --- each kind answered, cited, offline
def test_a_fact_question_is_answered_as_before(harbour):
    answer = harbour.ask("Who is the mayor of Marrow Bay?")
    assert answer.kind == "fact"


def test_a_summary_quotes_several_documents_oldest_first_and_a_near_copy_once(harbour):
    answer = harbour.ask("Summarize the main points of these documents.")
    names = cited(harbour, answer)
    assert answer.kind == "summary" and not answer.abstained
    assert len(set(names)) >= 3 and not {"works_2022.txt", COPY[0]} <= set(names)
    dates = [c.date for c in answer.citations if c.date]
    assert dates == sorted(dates)
    assert answer.text.count("\n- ") == len(answer.text.splitlines()) - 1     # one line a statement


def test_a_summary_of_a_topic_no_document_names_is_refused(harbour):
    answer = harbour.ask("Summarize what the documents say about volcanoes.")
    assert answer.kind == "summary" and answer.abstained and not answer.citations


def test_reasons_quote_the_sentences_that_state_a_cause(harbour):
    answer = harbour.ask("Why did the council approve the harbour wall?")
    cited(harbour, answer)
    assert answer.kind == "reasons" and not answer.abstained
    assert "storms had flooded the fish market" in answer.text


def test_a_list_gives_each_item_with_its_citation(harbour):
    answer = harbour.ask("Which castles are open to visitors?")
    names = cited(harbour, answer)
    assert answer.kind == "list" and not answer.abstained and names
    assert all(line.startswith("- ") and line.endswith("]") for line in answer.text.splitlines())


def test_the_disagreements_of_the_collection_name_both_sources_and_dates(harbour):
    answer = harbour.ask("What do the sources disagree on?")
    names = cited(harbour, answer)
    assert answer.kind == "disagreements" and not answer.abstained and "scanned all 6 documents" in answer.text
    assert len(answer.conflicts) == 1
    values = {v.value for v in answer.conflicts[0].values}
    assert values == {"13 June 2022", "6 June"}
    assert "review_2023.txt" in names and ({"works_2022.txt", COPY[0]} & set(names))
    assert "(2023-09-30)" in answer.text and "(2022-06-14)" in answer.text


def test_yes_only_when_a_cited_sentence_states_it(harbour):
    stated = harbour.ask("Was the harbour wall completed ahead of schedule?")
    cited(harbour, stated)
    assert stated.kind == "yesno" and stated.short_answer == "Yes" and stated.text.startswith("Yes — ")
    assert "ahead of schedule" in stated.citations[0].quote
    unstated = harbour.ask("Did the council approve a new ferry terminal?")
    assert unstated.kind == "yesno" and not unstated.short_answer and not unstated.text.startswith(("Yes", "No"))


def test_a_bridge_question_cites_both_steps(harbour):
    answer = harbour.ask("Where was the founder of Tessel Works born?")
    names = cited(harbour, answer)
    assert answer.kind == "bridge" and not answer.abstained and "Bergen" in answer.text
    assert "brandvold.txt" in names and "council_2021.txt" in names


def test_a_comparison_compares_the_values_each_sentence_states(harbour):
    answer = harbour.ask("Which castle was built first, Ostmoor Castle or Halvik Castle?")
    cited(harbour, answer)
    assert answer.kind == "comparison" and answer.short_answer == "Halvik Castle"
    assert answer.text.startswith("Halvik Castle — ") and len(answer.citations) == 2


def test_the_kind_is_in_the_answers_data(harbour):
    assert harbour.ask("Why did the council approve the harbour wall?").to_dict()["kind"] == "reasons"


# --- the same kinds written by a model (LLM mode over real HTTP to a scripted OpenAI-compatible server)
SUMMARY = "Summarize the main points of these documents."


def passages_of(body: dict) -> list[str]:
    """The passage texts of a prompt, in their numbered order."""
    return re.findall(r'<passage number="\d+"[^>]*>\n(.*?)\n</passage>', body["messages"][-1]["content"], re.S)


def written_list(body: dict) -> str:
    """A reply as a model writes a list: one line a passage, in its own words, with the passage's marker."""
    return "\n".join(f"- In short: {text.split()[0]} and more [{n}]" for n, text in enumerate(passages_of(body), 1))


@pytest.fixture
def writer(harbour, monkeypatch):
    """An Assistant over the harbour index answering in LLM mode, and its scripted server."""
    from fake_openai import FakeOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeOpenAI() as server:
        yield Assistant(settings=harbour.settings, store=harbour.store, embedder=harbour.embedder,
                        llm_base_url=server.url, llm_timeout=2.0, llm_retries=0, mode="llm"), server


def test_a_model_writes_the_summary_from_the_sentences_the_offline_answer_chose(harbour, writer):
    assistant, server = writer
    server.script = [written_list]
    offline = harbour.ask(SUMMARY)
    *pieces, answer = assistant.stream(SUMMARY)
    body = server.requests[-1]["body"]
    assert passages_of(body) == [c.quote for c in offline.citations]      # the offline answer's sentences
    assert "Task: Summarise" in body["messages"][-1]["content"] and 'date="' in body["messages"][-1]["content"]
    assert answer.mode == "llm" and answer.kind == "summary" and not answer.abstained and not answer.notice
    assert answer.text.startswith("- In short:") and answer.text.count("\n- ") == len(offline.citations) - 1
    assert [c.quote for c in answer.citations] == [c.quote for c in offline.citations]
    cited(harbour, answer)
    shown = "".join(p.text for p in pieces[:pieces.index(next(p for p in pieces if p.restart))])
    assert shown == offline.text and all(p.provisional for p in pieces)    # the offline answer first


@pytest.mark.parametrize("behaviour", ["500", "uncited"])
def test_a_model_failing_a_kinded_question_leaves_the_offline_answer_with_a_notice(harbour, writer, behaviour):
    assistant, server = writer
    server.script = [behaviour]
    answer = assistant.ask(SUMMARY)
    assert answer.mode == "offline" and answer.kind == "summary" and answer.notice.startswith("LLM")
    assert answer.text == harbour.ask(SUMMARY).text


def test_a_kinded_question_the_documents_do_not_answer_is_refused_without_asking_the_model(writer):
    assistant, server = writer
    answer = assistant.ask("Summarize what the documents say about volcanoes.")
    assert answer.abstained and answer.kind == "summary" and not server.requests
