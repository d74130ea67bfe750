"""Follow-up questions: carry the entities of earlier turns into the retrieval query."""
from __future__ import annotations

import re

from core.records import Message
from rag.citations import GROUP_RE
from text.entities import entities
from text.sentences import split_sentences
from text.terms import PRONOUNS, STOPWORDS

TURN_CHARS = 2000  # of an earlier turn that is read (a question is capped at as many)


ELLIPSIS_RE = re.compile(r"^\s*(?:and|also|what about|how about|what else|same for|and what about)\b", re.I)
DEMONSTRATIVES = {"that", "this", "these", "those"}


def needs_context(question: str) -> bool:
    """Whether a message leans on the conversation: it refers back (he, it, there, then; 'that' as a
    pronoun, not a relative), opens elliptically ('And in 2023?', 'What about Armenia?'), or has at most
    one word of content and no name of its own. A question with its own subject stands alone.

    >>> [needs_context(q) for q in ("When was that?", "What is the population of Azerbaijan?",
    ...  "Who did he meet?", "What about Armenia?", "Which year?", "Who is Aliyev?",
    ...  "What did the law that banned it say?", "What did the law that was passed in 2020 ban?")]
    [True, False, True, True, True, False, True, False]
    """
    words = re.findall(r"[\w'’]+", question)
    lowered = [w.lower() for w in words]
    if ELLIPSIS_RE.match(question) or any(_refers(lowered, i) for i in range(len(lowered))):
        return True
    content = [w for w in lowered if w not in STOPWORDS and w not in PRONOUNS]
    named = any(w[:1].isupper() for w in words[1:])
    return len(content) <= 1 and not named


def _refers(words: list[str], i: int) -> bool:
    """Word i points back to an earlier turn: a personal pronoun, or a demonstrative not after a noun."""
    word = words[i]
    if word in DEMONSTRATIVES:
        return i == 0 or words[i - 1] in STOPWORDS
    return word in PRONOUNS


def standalone(question: str, history: list[Message]) -> str:
    """The retrieval query for `question`: itself, plus the entities of the last exchange if it leans on it.

    >>> standalone("When was he arrested?", [{"role": "user", "content": "Who is Aqil Aslanov?"},
    ...                                       {"role": "assistant", "content": "A Georgian citizen."}])
    'When was he arrested? (Aqil Aslanov; Georgian)'
    """
    if not history or not needs_context(question):
        return question
    last_user, last_answer = last_turn(history, "user"), last_turn(history, "assistant")
    carried = [e for e in entities(last_user) + _gist(last_answer) if e.lower() not in question.lower()]
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


def _gist(answer: str) -> list[str]:
    """What of an earlier answer a follow-up's 'he' or 'that' may point at: the short answer it leads with, whole
    ('Herzog — <quote>', 'March 29, 2023 — <quote>'), else the names of its first sentence (after a leading
    Yes or No, the quote's). The quote's other names are what the answer rests on, not what it says.

    >>> _gist("Herzog — After Herzog's visit to Baku, Tehran warned [1]."), _gist("March 29, 2023 — It opened [1].")
    (['Herzog'], ['March 29, 2023'])
    >>> _gist("Aqil Aslanov [1]. He fled [2]."), _gist("Yes — Aqil Aslanov fled [1].")
    (['Aqil Aslanov'], ['Aqil Aslanov'])
    """
    lead, dash, rest = answer.partition(" — ")
    if not dash or not lead.strip() or "[" in lead or "\n" in lead:
        return entities(_first_sentence(answer))
    return entities(_first_sentence(rest)) if lead.strip().lower() in ("yes", "no") else [lead.strip()]


def _first_sentence(text: str) -> str:
    """The first sentence of an answer, without its citation markers.

    >>> _first_sentence("Aqil Aslanov [1]. He was arrested [2].")
    'Aqil Aslanov.'
    """
    text = GROUP_RE.sub("", text).replace(" .", ".")
    spans = split_sentences(text)
    return text[spans[0][0]:spans[0][1]] if spans else ""
