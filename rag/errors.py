"""Every error the project raises on purpose. Messages name the bad value."""
from __future__ import annotations


class RagError(Exception):
    """Base class: the CLI and UI turn these into one-line user messages."""


class ModelMissing(RagError):
    """The bundled embedding model package is not installed."""


class UnsupportedFile(RagError):
    """A file whose type the loader does not read."""


class BadDocument(RagError):
    """A file that could not be read as a document (corrupt, empty, binary...)."""


class StoreError(RagError):
    """The vector store could not be reached or refused an operation."""


class LLMError(RagError):
    """The configured LLM failed after bounded retries."""


class BadQuestion(RagError):
    """A question that cannot be asked (e.g. empty)."""


class GoldFileError(RagError):
    """A gold-set file with a malformed line; the message names file and line."""
