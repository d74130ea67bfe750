"""The one typed settings object, built once at each entry point and passed down.

Settings come in groups, one a stage: `store`, `ingest`, `retrieval`, `answer`,
`llm`, `ui`, `api`; each stage is handed its own group. Every field is an environment
variable with the prefix ``RAG_`` (``RAG_INDEX_DIR``, ``RAG_TOP_K``,
``RAG_LLM_MODEL``, ``RAG_UI_PORT`` ...) and a flat keyword of `Settings`:

>>> s = Settings(index_dir="/tmp/x", top_k=3, llm_model="m", ui_port=9000)
>>> s.store.index_dir, s.retrieval.top_k, s.llm.model, s.ui.port
(PosixPath('/tmp/x'), 3, 'm', 9000)
>>> s.replace(top_k=1).retrieval.top_k, s.retrieval.top_k
(1, 3)
>>> Settings(top_kk=1)
Traceback (most recent call last):
core.errors.SettingsError: unknown setting 'top_kk' (RAG_TOP_KK)

The OpenAI key is the exception: it is read from ``OPENAI_API_KEY`` only, here.
"""
from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Literal, Any, Optional

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import SettingsError

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})   # hosts only this machine reaches (no login needed)


@functools.lru_cache(maxsize=None)
def find_shared(repo: Path = REPO) -> Path:
    """The shared data folder (sample corpus, benchmarks): beside this checkout, else beside the local
    repository it was cloned from (a fresh clone in a temporary folder still finds it)."""
    candidates = [repo.parent / "shared"]
    if candidates[0].is_dir():
        return candidates[0]          # the usual case: no git call
    try:
        origin = subprocess.run(["git", "config", "--get", "remote.origin.url"], cwd=repo, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / "shared")
    return next((c for c in candidates if c.is_dir()), candidates[0])


class Group(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)


class StoreSettings(Group):
    index_dir: Path = Field(Path(".index"), description="Folder of the embedded Chroma store")
    collection: str = Field("documents", description="Chroma collection name")
    chroma_host: str = Field("", description="Chroma server host; empty = embedded store in index_dir")
    chroma_port: int = Field(8000, description="Chroma server port")


class IngestSettings(Group):
    max_file_mb: float = Field(20.0, description="Files larger than this are refused")
    fallback_encoding: str = Field("", description="Encoding tried when a text file is not UTF-8 (empty = refuse it)")
    chunk_words: int = Field(120, description="Target chunk size in words (fits the encoder's 256-token window)")
    chunk_overlap_sentences: int = Field(1, description="Sentences repeated between neighbouring chunks")
    embed_batch: int = Field(16, description="Chunks per encoder batch (16 measured 15 % faster than 32 on 2 cores)")
    embed_int8: bool = Field(False, description="Dynamic int8 quantisation of the encoder (torch backend)")
    encoder: Literal["onnx", "torch"] = Field("onnx", description="Encoder backend: onnx (ONNX Runtime, no torch) or torch "
                                             "(sentence-transformers); the same vectors within 1e-6")
    threads: int = Field(0, description="Encoder threads; 0 = number of cores")
    ocr_dpi: int = Field(150, ge=0, description="Resolution PDF pages without a text layer (scans) are rendered "
                                                "at for OCR; 0 = no OCR (such pages are reported unreadable)")
    duplicate_threshold: float = Field(0.2, description="Shared-name Jaccard above which two similar documents "
                                                        "are near-duplicates")


class RetrievalSettings(Group):
    top_k: int = Field(6, ge=1, description="Passages retrieved per question")
    candidates: int = Field(20, ge=1, description="Candidates taken from each retriever before fusion")
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant")
    reranker: str = Field("none", description="Reranker applied to the fused candidates (see `rag.rerank`)")


class AnswerSettings(Group):
    mode: str = Field("auto", description="Answer mode: auto (llm when configured, else offline) or a registered "
                                          "mode (offline, llm; see `rag.answer`)")
    abstain_threshold: Optional[float] = Field(
        None, ge=0.0, le=1.0, description="Evidence probability under which the assistant refuses (unset: the "
        "trained model's operating point, chosen on validation data). Lower: fewer refusals, more wrong answers")
    evidence_gate: bool = Field(True, description="LLM mode refuses without calling the LLM when no passage passes "
                                                  "the evidence threshold, and sends only passages that do")
    model_path: Optional[Path] = Field(None, description="Weights of the offline answerer (unset: the bundled "
                                                         "rag/evidence/answerer.json; `rag train` writes new ones)")
    max_answer_words: int = Field(60, description="Word cap of an offline answer")
    sentence_rerank: int = Field(0, description="Candidate sentences re-encoded for the offline answer "
                                                "(slower, 0 = use passage similarity)")
    reader: str = Field("auto", description="Who reads the best sentences for the offline answer's short answer: "
                                            "auto (the local model when installed), off, or a registered reader")
    reader_seconds: float = Field(20.0, gt=0, description="Time the reader may take; past it the extractive "
                                                          "answer stands")
    local_model: Optional[Path] = Field(None, description="A GGUF model file for the local answer mode (unset: "
                                                          "the model `make model` installs in the user cache)")


class LLMSettings(Group):
    model_config = SettingsConfigDict(env_prefix="RAG_LLM_", extra="forbid", frozen=True)

    model: str = Field("gpt-4o-mini", description="Model name for the OpenAI-compatible server; empty = the "
                                                  "server's only model (asked at /v1/models)")
    base_url: str = Field("", description="OpenAI-compatible base URL (vLLM, Ollama, llama.cpp, LM Studio)")
    timeout: float = Field(30.0, gt=0, description="Seconds one LLM request may wait for the server (to answer, "
                                                   "or for its next piece)")
    retries: int = Field(2, ge=0, description="Retries on 429/5xx/timeouts before the offline fallback")
    max_tokens: int = Field(200, ge=1, description="Tokens an answer may have (four cited sentences need ~150)")
    stop: list[str] = Field(["Question:", "<passage", "Passages:", "<|im_start|>"], max_length=4,
                            description="Stop sequences of an answer request (JSON list, at most 4): the "
                                        "prompt's own forms, so a model imitating the prompt stops there")
    first_token_seconds: float = Field(6.0, gt=0, description="Seconds a question may wait for the reply's first "
                                                              "piece, retries and a follow-up's rewrite included")
    answer_seconds: float = Field(3.5, gt=0, description="Seconds a reply may take after its first piece")

    @property
    def api_key(self) -> str:
        """The OpenAI key, from the environment only (never a setting, never logged)."""
        return os.environ.get("OPENAI_API_KEY", "")

    @property
    def configured(self) -> bool:
        return bool(self.base_url or self.api_key)

    @property
    def budget(self) -> float:
        """Seconds a question may wait for the LLM at most: its first piece, then the rest of the reply.

        >>> LLMSettings(first_token_seconds=5, answer_seconds=3).budget
        8.0
        """
        return self.first_token_seconds + self.answer_seconds


class UISettings(Group):
    model_config = SettingsConfigDict(env_prefix="RAG_UI_", extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address the UI binds")
    port: int = Field(7860, description="UI port")
    user: str = Field("", description="Basic-auth user for the UI (with ui_password)")
    password: SecretStr = Field(SecretStr(""), description="Basic-auth password for the UI")
    upload_mb: float = Field(20.0, description="Largest upload accepted by the UI")
    concurrency: int = Field(2, ge=1, description="Questions answered at once by the UI")


class APISettings(Group):
    model_config = SettingsConfigDict(env_prefix="RAG_API_", extra="forbid", frozen=True)

    key: SecretStr = Field(SecretStr(""), description="Bearer key every route of `rag serve` but /health requires "
                                                      "(empty = none; never logged)")
    host: str = Field("127.0.0.1", description="Address `rag serve` binds")
    port: int = Field(8000, description="`rag serve` port")
    workers: int = Field(0, ge=0, description="Questions answered at once by `rag serve` (0 = number of cores, "
                                              "at least 2); uploads and removals run one at a time beside them")


GROUPS: dict[str, type[Group]] = {"store": StoreSettings, "ingest": IngestSettings, "retrieval": RetrievalSettings,
                                  "answer": AnswerSettings, "llm": LLMSettings, "ui": UISettings, "api": APISettings}


def flat_names() -> dict[str, tuple[str, str]]:
    """Each flat setting name (the environment variable without RAG_, lower case) -> (group, field).

    >>> flat_names()["llm_base_url"], flat_names()["top_k"]
    (('llm', 'base_url'), ('retrieval', 'top_k'))
    """
    names = {}
    for group, model in GROUPS.items():
        prefix = model.model_config["env_prefix"][len("RAG_"):].lower()
        names.update({f"{prefix}{field}": (group, field) for field in model.model_fields})
    return names


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

    shared_dir: Path | None = Field(None, description="Shared data: the sample corpus and the public benchmarks "
                                                      "(default: the `shared` folder beside the checkout or its origin)")
    store: StoreSettings = Field(default_factory=StoreSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ui: UISettings = Field(default_factory=UISettings)
    api: APISettings = Field(default_factory=APISettings)

    def __init__(self, **values: Any):
        try:
            super().__init__(**values)
        except ValidationError as err:
            raise SettingsError(_describe(err)) from None

    @model_validator(mode="before")
    @classmethod
    def _route_flat(cls, data: Any) -> Any:
        """Flat keywords (index_dir=..., top_k=...) go to their group; each group reads the rest from RAG_*."""
        if not isinstance(data, dict):
            return data
        names, routed = flat_names(), {k: v for k, v in data.items() if k == "shared_dir" or k in GROUPS}
        per_group: dict[str, dict] = {}
        for key, value in data.items():
            if key in routed:
                continue
            if key not in names:
                raise SettingsError(f"unknown setting {key!r} (RAG_{key.upper()})")
            group, field = names[key]
            per_group.setdefault(group, {})[field] = value
        for group, values in per_group.items():
            routed[group] = GROUPS[group](**values)
        return routed

    def replace(self, **flat: Any) -> "Settings":
        """A copy with some flat settings changed (the others as they are here, not re-read from RAG_*)."""
        names = flat_names()
        unknown = [k for k in flat if k not in names and k != "shared_dir"]
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r} (RAG_{unknown[0].upper()})")
        changed: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            if key in names:
                changed.setdefault(names[key][0], {})[names[key][1]] = value
        groups: dict[str, Any] = {"shared_dir": flat.get("shared_dir", self.shared_dir)}
        for group, model in GROUPS.items():   # rebuilt (validated), the unchanged fields as they are here
            groups[group] = model(**{**getattr(self, group).model_dump(), **changed.get(group, {})})
        return Settings(**groups)

    @property
    def shared(self) -> Path:
        """The shared data folder: RAG_SHARED_DIR, else found beside the checkout (git is asked only then)."""
        return Path(self.shared_dir) if self.shared_dir else find_shared()

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (the password masked), e.g. for an eval run's fingerprint."""
        out: dict[str, Any] = {"shared_dir": str(self.shared)}
        for key, (group, field) in flat_names().items():
            value = getattr(getattr(self, group), field)
            out[key] = "***" if isinstance(value, SecretStr) and value.get_secret_value() else \
                "" if isinstance(value, SecretStr) else str(value) if isinstance(value, Path) else value
        return out


def _describe(err: ValidationError) -> str:
    """One line naming the setting and the bad value."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"setting {where or '?'}: {first.get('msg', 'invalid')} (got {first.get('input')!r})"
