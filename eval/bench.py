"""`rag bench`: this project's speed, side by side with the encoder ceiling and a naive llama-index pipeline.

Every figure is measured in one process and one run. Timings depend on the machine and its load; the
output records both. Nothing here is a pass/fail test.
"""
from __future__ import annotations

import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.settings import Settings

SQUAD = Path("benchmarks") / "squad-v2-dev-subset" / "dev-v2.0.json"   # inside the shared folder
SAMPLE_QUESTIONS = ["How much money was Aslanov offered?", "When did Azerbaijan open its embassy in Tel Aviv?",
                    "Who chairs Iran's Strategic Council for Foreign Relations?", "Where did Tehran open a consulate?",
                    "Why does Iran fear Israeli influence in Azerbaijan?", "What is the population of Canada?",
                    "How long is the border between Iran and Azerbaijan?", "What stake in Tamar did SOCAR buy?"]


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds of durations given in seconds.

    >>> percentiles([0.01, 0.02, 0.03, 0.04])
    {'p50_ms': 20.0, 'p95_ms': 40.0}
    """
    ordered = sorted(values)
    pick = lambda p: ordered[max(0, min(len(ordered) - 1, -(-p * len(ordered) // 100) - 1))]  # noqa: E731
    return {"p50_ms": round(pick(50) * 1000, 1), "p95_ms": round(pick(95) * 1000, 1)}


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - began, result


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 1e6, 1)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_1min": round(os.getloadavg()[0], 2), "date": time.strftime("%Y-%m-%d %H:%M")}


# --- corpus
def squad_paragraphs(shared: Path, limit: int) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """(file name, paragraph) pairs and answerable (question, paragraph index) pairs of the SQuAD subset."""
    data = json.loads((shared / SQUAD).read_text(encoding="utf-8"))["data"]
    paragraphs, questions = [], []
    for article in data:
        for p, para in enumerate(article["paragraphs"]):
            index = len(paragraphs)
            paragraphs.append((f"{article['title'][:40]}_{p:03d}.txt", para["context"]))
            questions += [(qa["question"], index) for qa in para["qas"] if not qa.get("is_impossible")]
    return paragraphs[:limit], [q for q in questions if q[1] < limit]


def write_folder(folder: Path, paragraphs: list[tuple[str, str]], shared: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in paragraphs:
        (folder / name).write_text(text, encoding="utf-8")
    for path in (shared / "corpus").glob("*.txt"):
        shutil.copy(path, folder / path.name)
    return folder


def corpus_chunks(folder: Path, settings: Settings) -> list[str]:
    from index.load import load, walk
    from index.pipeline import prepare

    files, _ = walk([folder])
    return [c.text for f in files for c in prepare(load(f, 10**9), settings.ingest).chunks]


# --- measurements
def encoder_ceiling(embedder, texts: list[str]) -> dict:
    embedder.encode(texts[:8])
    seconds, _ = timed(embedder.encode, texts)
    tokens = embedder.token_count(texts)
    return {"chunks": len(texts), "tokens": tokens, "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds), "chunks_per_s": round(len(texts) / seconds, 1)}


def project_ingest(folder: Path, settings: Settings, embedder, tokens: int) -> tuple[dict, object]:
    from rag.assistant import Assistant

    assistant = Assistant(settings=settings, embedder=embedder)
    first, report = timed(assistant.ingest, [folder])
    again, second = timed(assistant.ingest, [folder])
    return {"seconds": round(first, 2), "tokens_per_s": round(tokens / first), "chunks": report.chunks_embedded,
            "reingest_seconds": round(again, 3), "reingest_chunks_embedded": second.chunks_embedded,
            "reingest_fraction": round(again / first, 4)}, assistant


def naive_pipeline(folder: Path, settings: Settings, questions: list[str]) -> dict:
    """What a user would write: SimpleDirectoryReader + VectorStoreIndex on Chroma, default settings."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import model_path
    from index.store import make_client

    embed_model = HuggingFaceEmbedding(model_name=str(model_path()), device="cpu")
    embed_model.get_text_embedding("warm up")
    client = make_client(settings.store.model_copy(update={"index_dir": settings.store.index_dir / "naive"}))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("naive"))

    def build():
        documents = SimpleDirectoryReader(str(folder)).load_data()
        return VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(
            vector_store=store), embed_model=embed_model)

    seconds, index = timed(build)
    retriever = index.as_retriever(similarity_top_k=settings.retrieval.top_k)
    retriever.retrieve(questions[0])
    latencies = [timed(retriever.retrieve, q)[0] for q in questions]
    return {"ingest_seconds": round(seconds, 2), "chunks": client.get_collection("naive").count(),
            "retrieval": percentiles(latencies)}


def query_latency(assistant, questions: list[str]) -> dict:
    assistant.ask(questions[0])
    return percentiles([timed(assistant.ask, q)[0] for q in questions])


def int8_comparison(texts: list[str], settings: Settings, quick: bool) -> dict:
    """int8 vs fp32: encoder speed, and dense hit@5 of SQuAD questions against their paragraphs."""
    from index.embed import Embedder

    paragraphs, questions = squad_paragraphs(settings.shared, 120 if quick else 646)
    questions = random.Random(13).sample(questions, min(len(questions), 100 if quick else 300))
    out = {}
    for name, int8 in (("fp32", False), ("int8", True)):
        embedder = Embedder(int8=int8, batch_size=settings.ingest.embed_batch)
        speed = encoder_ceiling(embedder, texts)
        out[name] = {"tokens_per_s": speed["tokens_per_s"], "hit_at_5": hit_at_5(embedder, paragraphs, questions)}
    out["speedup"] = round(out["int8"]["tokens_per_s"] / out["fp32"]["tokens_per_s"], 2)
    out["hit_at_5_change_points"] = round(100 * (out["int8"]["hit_at_5"] - out["fp32"]["hit_at_5"]), 1)
    out["int8_worth_default"] = out["hit_at_5_change_points"] > -1.0 and out["speedup"] >= 1.6
    out["questions"] = len(questions)
    return out


def hit_at_5(embedder, paragraphs, questions) -> float:
    import numpy as np

    p = np.array(embedder.encode([text for _, text in paragraphs]))
    q = np.array(embedder.encode([question for question, _ in questions]))
    top = np.argsort(-(q @ p.T), axis=1)[:, :5]
    return round(float(np.mean([gold in row for (_, gold), row in zip(questions, top)])), 4)


def batch_and_threads(embedder_cls, texts: list[str]) -> dict:
    results = {}
    for threads in (1, os.cpu_count() or 1):
        embedder_cls.use_threads(threads)
        for batch in (16, 32, 64):
            embedder = embedder_cls(batch_size=batch)
            results[f"threads={threads},batch={batch}"] = encoder_ceiling(embedder, texts)["tokens_per_s"]
    embedder_cls.use_threads(os.cpu_count() or 1)
    return results


def scale_curve(sizes: list[int], settings: Settings, embedder, questions: list[str], base) -> list[dict]:
    """Query latency and memory with N chunks; chunks beyond the real corpus are real paragraphs with
    shuffled sentences, their vectors the real vectors plus small noise (inserted without the encoder)."""
    curve = []
    for size in sizes:
        folder = settings.store.index_dir / f"scale-{size}"
        began = time.perf_counter()
        store = synthetic_store(folder, size, settings, base)
        build = time.perf_counter() - began
        from rag.assistant import Assistant

        assistant = Assistant(settings=settings.replace(index_dir=folder), store=store,
                              embedder=embedder)
        load_seconds, _ = timed(lambda: assistant.corpus)
        curve.append({"chunks": store.count(), "build_seconds": round(build, 1),
                      "snapshot_load_seconds": round(load_seconds, 2), **query_latency(assistant, questions),
                      "rss_mb": rss_mb(), "vectors": "real vectors + noise, inserted directly (no encoder)"})
    return curve


def synthetic_store(folder: Path, size: int, settings: Settings, base):
    import numpy as np

    from index.store import Store
    from core.records import Chunk, DocumentInfo

    chunks, vectors = base
    rng = np.random.default_rng(size)
    store = Store(settings.replace(index_dir=folder).store)
    per_doc = 100
    for start in range(0, size, per_doc):
        source = str(folder / f"synthetic_{start // per_doc:05d}.txt")
        made, vecs = [], []
        for i in range(start, min(size, start + per_doc)):
            text, vector = _variant(chunks[i % len(chunks)], vectors[i % len(chunks)], rng)
            made.append(Chunk(f"syn{i:07d}", source, text, 0, len(text), "h", "synthetic", "", i - start))
            vecs.append(vector)
        store.upsert_chunks(made, vecs)
        store.put_document(DocumentInfo(source, "h", "synthetic", chars=0, chunks=len(made)), "", vecs[0])
    return store


def _variant(text: str, vector, rng):
    import numpy as np

    sentences = text.split(". ")
    rng.shuffle(sentences)
    noisy = np.asarray(vector) + rng.normal(0, 0.02, len(vector))
    return ". ".join(sentences), (noisy / np.linalg.norm(noisy)).tolist()


def cold_start(settings: Settings) -> dict:
    rag = Path(sys.executable).with_name("rag")
    env = {**os.environ, "RAG_INDEX_DIR": str(settings.store.index_dir / "project")}
    seconds, done = timed(subprocess.run, [str(rag), "ask", "How much was Aslanov offered?"], env=env,
                          capture_output=True, text=True)
    probe = "import sys, cli; print(int('torch' in sys.modules))"
    imports, result = timed(subprocess.run, [sys.executable, "-c", probe], capture_output=True, text=True)
    return {"rag_ask_seconds": round(seconds, 2), "rag_ask_ok": done.returncode == 0,
            "import_cli_seconds": round(imports, 2), "torch_imported_by_cli": result.stdout.strip() == "1"}


def run(quick: bool, settings: Settings) -> dict:
    from index.embed import Embedder

    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    settings = settings.replace(index_dir=work / "index")
    try:
        return _measure(quick, settings, work, Embedder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(quick: bool, settings: Settings, work: Path, embedder_cls) -> dict:
    paragraphs, squad_questions = squad_paragraphs(settings.shared, 60 if quick else 646)
    folder = write_folder(work / "corpus", paragraphs, settings.shared)
    texts = corpus_chunks(folder, settings)
    embedder = embedder_cls(batch_size=settings.ingest.embed_batch, threads=settings.ingest.threads)
    result = {"machine": machine(), "quick": quick, "store": settings.store.chroma_host or "embedded",
              "corpus": {"files": len(list(folder.iterdir())), "chunks": len(texts)}}
    result["encoder_ceiling"] = encoder_ceiling(embedder, texts)
    project_settings = settings.replace(index_dir=settings.store.index_dir / "project")
    result["ingest"], assistant = project_ingest(folder, project_settings, embedder,
                                                 result["encoder_ceiling"]["tokens"])
    result["ingest"]["ratio_to_ceiling"] = round(result["ingest"]["tokens_per_s"] /
                                                 result["encoder_ceiling"]["tokens_per_s"], 3)
    questions = SAMPLE_QUESTIONS + [q for q, _ in random.Random(7).sample(squad_questions, 12 if quick else 40)]
    result["naive"] = naive_pipeline(folder, settings, questions)
    result["query"] = query_latency(assistant, questions)
    result["int8"] = int8_comparison(texts[:64 if quick else 256], settings, quick)
    if not quick:
        result["batch_threads_tokens_per_s"] = batch_and_threads(embedder_cls, texts[:128])
    base = _base_vectors(assistant)
    result["scale"] = scale_curve([1000] if quick else [1000, 10_000, 100_000], settings, embedder, questions, base)
    result["cold_start"] = cold_start(settings)
    result["targets"] = targets(result)
    return result


def _base_vectors(assistant):
    chunks = assistant.store.all_chunks()
    vectors = assistant.store.embeddings_of([c.id for c in chunks])
    return [c.text for c in chunks], [vectors[c.id] for c in chunks]


def targets(r: dict) -> dict:
    """Each target of the speed issue with the measured figure and whether it is met."""
    by_size = {s["chunks"]: s for s in r["scale"]}
    return {k: v for k, v in {
        "ingest >= 0.85 x ceiling": (r["ingest"]["ratio_to_ceiling"], r["ingest"]["ratio_to_ceiling"] >= 0.85),
        "int8 >= 1.6 x fp32": (r["int8"]["speedup"], r["int8"]["speedup"] >= 1.6),
        "p50 <= 50 ms at 10k": _target(by_size.get(10_000), 50),
        "p50 <= 150 ms at 100k": _target(by_size.get(100_000), 150),
        "re-ingest <= 5 %": (r["ingest"]["reingest_fraction"], r["ingest"]["reingest_fraction"] <= 0.05),
    }.items() if v is not None}


def _target(point: dict | None, limit: float):
    return None if point is None else (point["p50_ms"], point["p50_ms"] <= limit)


def main(quick: bool = False, as_json: bool = False, settings: Settings | None = None) -> dict:
    result = run(quick, settings or Settings())
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return result


def print_table(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("measure", "this project", "baseline / target")
    ceiling, ingest, naive, query = r["encoder_ceiling"], r["ingest"], r["naive"], r["query"]
    table.add_row("ingest tokens/s", f"{ingest['tokens_per_s']} ({ingest['ratio_to_ceiling']:.2f} x ceiling)",
                  f"encoder ceiling {ceiling['tokens_per_s']}")
    table.add_row("ingest seconds", str(ingest["seconds"]), f"naive llama-index {naive['ingest_seconds']}")
    table.add_row("query p50/p95 ms", f"{query['p50_ms']}/{query['p95_ms']} (offline answer)",
                  f"naive retrieval {naive['retrieval']['p50_ms']}/{naive['retrieval']['p95_ms']}")
    table.add_row("re-ingest", f"{ingest['reingest_fraction']:.1%} of first", "target <= 5 %")
    table.add_row("int8 speed-up", f"{r['int8']['speedup']}x, hit@5 {r['int8']['hit_at_5_change_points']:+} pts",
                  "target >= 1.6x, drop < 1 pt")
    for point in r["scale"]:
        table.add_row(f"{point['chunks']} chunks", f"p50 {point['p50_ms']} ms, p95 {point['p95_ms']} ms",
                      f"RSS {point['rss_mb']} MB")
    table.add_row("cold start rag ask", f"{r['cold_start']['rag_ask_seconds']} s", "")
    Console().print(table)
    Console().print(r["machine"])
