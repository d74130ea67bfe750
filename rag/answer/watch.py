"""Watching an LLM reply as it streams in: the signs that it is going nowhere, so the request can be
abandoned early and the offline answer given instead (pure functions; `rag.answer.llm` acts on them).

A reply is given up when it imitates the prompt's own format, cites more passages that do not exist than
ones that do, repeats itself, or has written a few sentences without citing any passage. Markers are read
with the one grammar of `rag.citations`.
"""
from __future__ import annotations

import re

from rag import citations as marks

UNCITED_SENTENCES = 2      # complete sentences a reply may write before its first valid marker
REPEAT_CHARS = 40          # a reply whose last this-many characters already occurred has started to loop
# The prompt's own forms (and the chat-template tokens a base model writes out): a reply that writes them has
# stopped answering and started continuing the prompt. Case matters: "the question: ..." is prose.
PROMPT_FORMS = re.compile(r"</?\s*passage\b|\bPassages?\s*(?:\[\d+\]|\d+)?\s*:|\bQuestion\s*:|\bRules\s*:"
                          r"|<\|im_(?:start|end)\|>|<(?:start|end)_of_turn>|\[/?INST\]|<\|(?:user|assistant)\|>")


def going_nowhere(reply: str, passages: int, refusal: str = "") -> str:
    """Why a reply still streaming in should be abandoned, or '' while it may still become an answer.
    `passages` is how many were numbered in the prompt; a reply opening with `refusal` may leave it uncited.

    >>> going_nowhere("Aslanov was offered $200,000 [1]. He", 3)
    ''
    >>> going_nowhere("Aslanov was offered money. Passage [2]: The", 3)
    'it imitates the prompt ("Passage [2]:")'
    >>> going_nowhere("The sum was $5 [7]", 3)
    'it cites passages that do not exist ([7])'
    >>> going_nowhere("He was paid. He was arrested. He", 3)
    'it cites no passage in its first 2 sentences'
    >>> going_nowhere("The documents do not answer this question. Sorry", 3, "The documents do not answer this question.")
    ''
    >>> going_nowhere("It was big and it was red [1] " * 4, 3)
    'it repeats itself'
    """
    return (imitation(reply) or invented(reply, passages) or uncited(reply, passages, refusal)
            or ("it repeats itself" if repeats(reply) else ""))


def finished_badly(reply: str, passages: int, refusal: str = "") -> str:
    """Why a whole reply is no answer ('' if it may be one): the checks above, and a reply that is not a
    refusal must cite at least one passage that exists.

    >>> finished_badly("Baku [1].", 2), finished_badly("Baku.", 2)
    ('', 'it cites no passage')
    >>> finished_badly("The documents do not answer this question.", 2, "The documents do not answer this question.")
    ''
    """
    problem = going_nowhere(reply, passages, refusal)
    if problem or valid_markers(reply, passages) or (refusal and reply.strip().startswith(refusal)):
        return problem
    return "it cites no passage"


def imitation(reply: str) -> str:
    """The first piece of the prompt's own format the reply writes, as a reason ('' if none).

    >>> imitation("It was 1932 [1].\\n\\nQuestion: When"), imitation("Asked the question: it was 1932 [1].")
    ('it imitates the prompt ("Question:")', '')
    >>> imitation('<|im_start|>user')
    'it imitates the prompt ("<|im_start|>")'
    """
    found = PROMPT_FORMS.search(reply)
    return f'it imitates the prompt ("{found.group()}")' if found else ""


def invented(reply: str, passages: int) -> str:
    """A reason when more of the reply's markers point at no passage than at one ('' otherwise: a stray
    wrong marker among right ones is removed when the answer is validated).

    >>> invented("A [1]. B [9].", 2), invented("A [9]. B [12][1].", 2)
    ('', 'it cites passages that do not exist ([9], [12])')
    """
    numbers = marks.markers(reply)
    wrong = [n for n in numbers if not 1 <= n <= passages]
    if len(wrong) <= len(numbers) - len(wrong):
        return ""
    return f"it cites passages that do not exist ({', '.join(f'[{n}]' for n in dict.fromkeys(wrong))})"


def uncited(reply: str, passages: int, refusal: str = "") -> str:
    """A reason when UNCITED_SENTENCES complete sentences (the last one may still be growing) carry no valid
    marker between them; a refusal sentence does not count.

    >>> uncited("One. Two. Thr", 2), uncited("One. Two [1]. Thr", 2), uncited("One. Two", 2)
    ('it cites no passage in its first 2 sentences', '', '')
    """
    if valid_markers(reply, passages):
        return ""
    done = [s for s in marks.sentences(reply)[:-1] if not (refusal and s.startswith(refusal.rstrip(".")))]
    return f"it cites no passage in its first {UNCITED_SENTENCES} sentences" if len(done) >= UNCITED_SENTENCES else ""


def valid_markers(reply: str, passages: int) -> int:
    """How many of the reply's markers point at a numbered passage.

    >>> valid_markers("A [1]. B [2, 5].", 2)
    2
    """
    return sum(1 <= n <= passages for n in marks.markers(reply))


def repeats(reply: str, span: int = REPEAT_CHARS) -> bool:
    """Whether the reply's last `span` characters (spaces folded) already occurred earlier in it.

    >>> repeats("<|im_end|>\\nuser\\n" * 6), repeats("Aslanov was offered $200,000 to carry out the hit [1].")
    (True, False)
    """
    text = " ".join(reply.split())
    return len(text) >= 2 * span and text[-span:] in text[:-span]
