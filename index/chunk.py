"""Chunk: sentence-aware passages with exact character offsets into the cleaned text."""
from __future__ import annotations

from text.sentences import split_sentences


def chunk_spans(text: str, target_words: int = 180, overlap: int = 1) -> list[tuple[int, int]]:
    """Group sentences into passages of about `target_words`, repeating `overlap` sentences.

    >>> t = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    >>> [t[s:e] for s, e in chunk_spans(t, target_words=6, overlap=1)]
    ['One two three. Four five six.', 'Four five six. Seven eight nine.', 'Seven eight nine. Ten eleven twelve.']
    """
    sentences = split_sentences(text)
    chunks: list[tuple[int, int]] = []
    first = 0
    while first < len(sentences):
        last, words = first, 0
        while last < len(sentences) and (words < target_words or last == first):
            words += len(text[sentences[last][0]:sentences[last][1]].split())
            last += 1
        chunks.append((sentences[first][0], sentences[last - 1][1]))
        if last >= len(sentences):
            break
        first = max(last - overlap, first + 1)
    return chunks
