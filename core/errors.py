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
    """The configured LLM failed after bounded retries. `reason` says what went wrong (an answer's notice
    names it); the message also says where and what to do.

    >>> error = LLMError("APITimeoutError", "http://127.0.0.1:8080/v1")
    >>> error.reason, str(error)   # doctest: +NORMALIZE_WHITESPACE
    ('APITimeoutError', 'the LLM server at http://127.0.0.1:8080/v1 failed (APITimeoutError): check
    RAG_LLM_BASE_URL, RAG_LLM_MODEL and OPENAI_API_KEY, or run with --mode offline')
    """

    remedy = "check RAG_LLM_BASE_URL, RAG_LLM_MODEL and OPENAI_API_KEY, or run with --mode offline"

    def __init__(self, reason: str, server: str = ""):
        super().__init__(reason, server)
        self.reason, self.server = reason, server

    def __str__(self) -> str:
        where = f"the LLM server at {self.server}" if self.server else "the LLM"
        return f"{where} failed ({self.reason}): {self.remedy}"


class BadQuestion(RagError):
    """A question that cannot be asked (e.g. empty)."""


class GoldFileError(RagError):
    """A gold-set file with a malformed line; the message names file and line."""


class SettingsError(RagError):
    """A setting (RAG_* variable or keyword) that is unknown or has a bad value; the message names it."""


class BadSetting(RagError):
    """A value a person typed in a form or sent in a request (a date filter...) that cannot be used; the message
    names it and is shown as is; `field` names the field."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def user_message(error: BaseException) -> str:
    """The one line a person sees for an error: the project's own errors as they are; anything else
    (a bug of ours) by its class and message only, never a traceback.

    >>> user_message(BadQuestion("the question is empty")), user_message(KeyError("x"))
    ('the question is empty', "unexpected KeyError: 'x'")
    """
    if isinstance(error, RagError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"


def unexpected(error: BaseException) -> str:
    """What a server shows for a bug of ours: its class only (the traceback goes to the server log).

    >>> unexpected(KeyError("secret"))
    'something went wrong (KeyError); the details are in the server log'
    """
    return f"something went wrong ({type(error).__name__}); the details are in the server log"
