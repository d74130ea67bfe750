"""Follow-up questions: carry the entities of earlier turns into the retrieval query."""
from __future__ import annotations

import re

from core.records import Message
from rag.citations import GROUP_RE
from text.entities import entities
from text.sentences import split_sentences
from text.terms import PRONOUNS, STOPWORDS

TURN_CHARS = 2000  # of an earlier turn that is read (a question is capped at as many)


def needs_context(question: str) -> bool:
    """A follow-up leans on earlier turns: it has a pronoun or almost no content of its own.

    >>> needs_context("When did that happen?"), needs_context("When did Azerbaijan open its embassy in Tel Aviv?")
    (True, False)
    """
    words = [w.lower() for w in re.findall(r"[\w']+", question)]
    content = [w for w in words if w not in STOPWORDS and w not in PRONOUNS]
    return len(content) <= 2 or (any(w in PRONOUNS for w in words) and len(words) <= 8)


def standalone(question: str, history: list[Message]) -> str:
    """The retrieval query for `question`: itself, plus the entities of the last exchange if it leans on it.

    >>> standalone("When was he arrested?", [{"role": "user", "content": "Who is Aqil Aslanov?"},
    ...                                       {"role": "assistant", "content": "A Georgian citizen."}])
    'When was he arrested? (Aqil Aslanov; Georgian)'
    """
    if not history or not needs_context(question):
        return question
    last_user, last_answer = last_turn(history, "user"), last_turn(history, "assistant")
    carried = [e for e in entities(last_user) + entities(_first_sentence(last_answer))
               if e.lower() not in question.lower()]
    return f"{question} ({'; '.join(dict.fromkeys(carried))})" if carried else question


def last_turn(history: list[Message], role: str) -> str:
    """The text of the last turn by `role`, capped at TURN_CHARS (a pasted book is not scanned whole).

    >>> len(last_turn([{"role": "user", "content": "1," * 50_000}], "user"))
    2000
    >>> last_turn([{"role": "user", "content": "A?"}, {"role": "assistant", "content": None}], "assistant")
    ''
    """
    text = next((m.get("content") for m in reversed(history) if m.get("role") == role), "")
    return str(text or "")[:TURN_CHARS]


def _first_sentence(text: str) -> str:
    """The first sentence of an answer, without its citation markers.

    >>> _first_sentence("Aqil Aslanov [1]. He was arrested [2].")
    'Aqil Aslanov.'
    """
    text = GROUP_RE.sub("", text).replace(" .", ".")
    spans = split_sentences(text)
    return text[spans[0][0]:spans[0][1]] if spans else ""
