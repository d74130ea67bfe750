"""`rag bench`: this project's speed, side by side with the encoder ceiling and a naive llama-index pipeline.

Every figure is measured in one process and one run. Timings depend on the machine and its load; the
output records both. Nothing here is a pass/fail test.
"""
from __future__ import annotations

import contextlib
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

from core.records import Chunk, DocumentInfo
from core.settings import Settings
from eval.metrics import percentile

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
    return {"p50_ms": round(percentile(values, 50) * 1000, 1), "p95_ms": round(percentile(values, 95) * 1000, 1)}


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
def encoder_ceiling(embedder, texts: list[str], rounds: int = 1) -> dict:
    """Encoder speed on `texts` (the best of `rounds` runs: the least disturbed by other work on the machine)."""
    embedder.compute(texts[:8])
    seconds = min(timed(embedder.compute, texts)[0] for _ in range(rounds))
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


SYNTHETIC = ("chunks beyond the real corpus are real chunks with their sentences shuffled (the same words), "
             "100 per synthetic document, their vectors the real vectors plus small noise, written without the encoder")


def scale_curve(sizes: list[int], settings: Settings, questions: list[str], base, work: Path,
                stores: tuple[str, ...]) -> list[dict]:
    """Open time, answer latency and memory at N chunks, each measured in a fresh process, in the embedded
    store and against a `chroma run` server started here."""
    curve = []
    for kind in stores:
        with (chroma_server(work / "chroma-server") if kind == "server" else contextlib.nullcontext(None)) as port:
            for size in sizes:
                point_settings = scale_settings(settings, work, size, kind, port)
                build, _ = timed(synthetic_store, point_settings, size, base)
                curve.append({"store": kind, "chunks": size, "build_seconds": round(build, 1),
                              **fresh_process(point_settings, questions), "synthetic": SYNTHETIC})
    return curve


def scale_settings(settings: Settings, work: Path, size: int, kind: str, port: int | None) -> Settings:
    folder = work / f"scale-{kind}-{size}"
    if kind == "server":
        return settings.replace(index_dir=folder, chroma_host="127.0.0.1", chroma_port=port, collection=f"scale{size}")
    return settings.replace(index_dir=folder)


@contextlib.contextmanager
def chroma_server(folder: Path):
    """A `chroma run` server on a free loopback port, stopped afterwards."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def synthetic_store(settings: Settings, size: int, base) -> None:
    """`size` chunks in 100-chunk synthetic documents, committed with their lexicon (no encoder)."""
    import numpy as np

    from index.lexicon import Lexicon
    from index.store import Store

    texts, vectors, base_terms = base
    rng = np.random.default_rng(size)
    store, lexicon = Store(settings.store), Lexicon.for_store(settings.store)
    title_terms = terms_of_text("synthetic")
    by_id = {}
    for start in range(0, size, 1000):
        docs, made, vecs = [], [], []
        for first in range(start, min(size, start + 1000), 100):
            source = str(settings.store.index_dir / f"synthetic_{first // 100:05d}.txt")
            chunks = []
            for i in range(first, min(size, first + 100)):
                text, vector = _variant(texts[i % len(texts)], vectors[i % len(texts)], rng)
                chunks.append(Chunk(f"syn{i:07d}", source, text, 0, len(text), "h", "synthetic", "", i - first))
                by_id[chunks[-1].id] = title_terms + base_terms[i % len(texts)]
                vecs.append(vector)
            made += chunks
            docs.append((DocumentInfo(source, "h", "synthetic", chars=0, chunks=len(chunks)), chunks))
        store.upsert_chunks(made, vecs)
        lexicon.put([(info.source, "h", chunks) for info, chunks in docs], terms_of=lambda c: by_id.pop(c.id))
        store.put_documents([info for info, _ in docs], [""] * len(docs), [vecs[0]] * len(docs))
    lexicon.close()


def terms_of_text(text: str) -> list[str]:
    from text.terms import terms

    return terms(text)


def _variant(text: str, vector, rng):
    import numpy as np

    sentences = text.split(". ")
    rng.shuffle(sentences)
    noisy = np.asarray(vector) + rng.normal(0, 0.02, len(vector))
    return ". ".join(sentences), (noisy / np.linalg.norm(noisy)).tolist()


def fresh_process(settings: Settings, questions: list[str]) -> dict:
    """`probe` run in a new Python process: what a user's `rag ask` or UI start would pay at this size."""
    job = json.dumps({"settings": {"index_dir": str(settings.store.index_dir), "chroma_host": settings.store.chroma_host,
                                   "chroma_port": settings.store.chroma_port, "collection": settings.store.collection,
                                   "reader": "off"},   # the extractive answer, as it first shows
                      "questions": questions})
    done = subprocess.run([sys.executable, "-c", "from eval.bench import probe; probe()"], input=job,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the scale probe failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe() -> None:
    """Open an index, answer the questions (stdin JSON), print the figures as JSON (run by `fresh_process`)."""
    from rag.assistant import Assistant

    job = json.loads(sys.stdin.read())
    assistant = Assistant(settings=Settings(**job["settings"]))
    assistant.embedder.encode_one("warm up")
    before = rss_mb()
    opened, _ = timed(lambda: assistant.corpus)
    first, _ = timed(assistant.ask, job["questions"][0])
    latencies = [timed(assistant.ask, q)[0] for q in job["questions"]]
    print(json.dumps({"open_seconds": round(opened, 3), "first_answer_seconds": round(first, 3),
                      **percentiles(latencies), "rss_mb": rss_mb(), "rss_before_open_mb": before,
                      "lexicon_mb": round(assistant.lexicon.path.stat().st_size / 1e6, 1)}))


def cold_start(settings: Settings) -> dict:
    """A `rag ask` in a new process (and whether it imported torch), against loading the SentenceTransformer
    model in a new process, the cost the encoder used to put on every question."""
    env = {**os.environ, "RAG_INDEX_DIR": str(settings.store.index_dir / "project")}
    ask = ("import sys\nfrom cli import app\nsys.argv = ['rag', 'ask', 'How much was Aslanov offered?']\n"
           "try:\n    app()\nexcept SystemExit as done:\n    code = done.code\n"
           "print('torch' in sys.modules, 'llama_index.core' in sys.modules, file=sys.stderr)")
    seconds, done = timed(subprocess.run, [sys.executable, "-c", ask], env=env, capture_output=True, text=True)
    load = ("from index.embed import Embedder\nEmbedder(backend='torch').encode(['warm up'])")
    st_seconds, _ = timed(subprocess.run, [sys.executable, "-c", load], env=env, capture_output=True, text=True)
    torch_imported, llama_imported = (done.stderr.strip().splitlines() or ["? ?"])[-1].split()
    return {"rag_ask_seconds": round(seconds, 2), "rag_ask_ok": "Aslanov" in done.stdout or "[1]" in done.stdout,
            "sentence_transformer_load_seconds": round(st_seconds, 2),
            "ratio_to_sentence_transformer_load": round(seconds / st_seconds, 2),
            "torch_imported_by_ask": torch_imported == "True", "llama_index_imported_by_ask": llama_imported == "True"}


def run(quick: bool, settings: Settings, scale: list[int] | None = None, stores: tuple[str, ...] | None = None) -> dict:
    from index.embed import Embedder

    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)      # one line per HTTP call to the Chroma server
    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    settings = settings.replace(index_dir=work / "index")
    sizes = scale or ([1000] if quick else [1000, 10_000, 100_000])
    try:
        return _measure(quick, settings, work, Embedder, sizes, stores or (("embedded",) if quick else STORES))
    finally:
        shutil.rmtree(work, ignore_errors=True)


STORES = ("embedded", "server")


def _measure(quick: bool, settings: Settings, work: Path, embedder_cls, sizes: list[int], stores) -> dict:
    paragraphs, squad_questions = squad_paragraphs(settings.shared, 60 if quick else 646)
    folder = write_folder(work / "corpus", paragraphs, settings.shared)
    texts = corpus_chunks(folder, settings)
    embedder = embedder_cls(batch_size=settings.ingest.embed_batch, threads=settings.ingest.threads)
    result = {"machine": machine(), "quick": quick, "store": settings.store.chroma_host or "embedded",
              "corpus": {"files": len(list(folder.iterdir())), "chunks": len(texts)}}
    result["torch_ceiling"], result["vectors_max_difference"] = torch_ceiling(embedder_cls, embedder, texts, settings)
    result["encoder_ceiling"] = encoder_ceiling(embedder, texts, rounds=2)
    # answers timed as they first show: the extractive answer (the reader's seconds are `rag eval`'s latency figures)
    project_settings = settings.replace(index_dir=settings.store.index_dir / "project", reader="off")
    result["ingest"], assistant = project_ingest(folder, project_settings, embedder,
                                                 result["encoder_ceiling"]["tokens"])
    result["ingest"]["ratio_to_ceiling"] = round(result["ingest"]["tokens_per_s"] /
                                                 result["encoder_ceiling"]["tokens_per_s"], 3)
    result["ingest"]["ratio_to_torch_ceiling"] = round(result["ingest"]["tokens_per_s"] /
                                                       result["torch_ceiling"]["tokens_per_s"], 3)
    questions = SAMPLE_QUESTIONS + [q for q, _ in random.Random(7).sample(squad_questions, 12 if quick else 40)]
    result["naive"] = naive_pipeline(folder, settings, questions)
    result["query"] = query_latency(assistant, questions)
    result["int8"] = int8_comparison(texts[:64 if quick else 256], settings, quick)
    if not quick:
        result["batch_threads_tokens_per_s"] = batch_and_threads(embedder_cls, texts[:128])
    base = _base_vectors(assistant)
    result["scale"] = scale_curve(sizes, settings, questions, base, work, stores)
    result["cold_start"] = cold_start(settings)
    result["targets"] = targets(result)
    return result


def _base_vectors(assistant):
    chunks = assistant.store.all_chunks()
    vectors = assistant.store.embeddings_of([c.id for c in chunks])
    return [c.text for c in chunks], [vectors[c.id] for c in chunks], [terms_of_text(c.text) for c in chunks]


def torch_ceiling(embedder_cls, onnx_embedder, texts: list[str], settings: Settings) -> tuple[dict, float]:
    """The torch fp32 encoder (sentence-transformers) on the same texts, and the largest difference between
    its vectors and the ONNX encoder's."""
    import numpy as np

    reference = embedder_cls(batch_size=settings.ingest.embed_batch, threads=settings.ingest.threads, backend="torch")
    speed = encoder_ceiling(reference, texts, rounds=2)
    sample = texts[:64]
    gap = float(np.max(np.abs(np.array(reference.encode(sample)) - np.array(onnx_embedder.encode(sample)))))
    return speed, gap


def targets(r: dict) -> dict:
    """Each target of the speed issues with the measured figure and whether it is met."""
    largest = {p["store"]: p for p in r["scale"] if p["chunks"] == max(q["chunks"] for q in r["scale"])}
    smallest = {p["store"]: p for p in r["scale"] if p["chunks"] == min(q["chunks"] for q in r["scale"])}
    cold = r["cold_start"]
    found = {
        "ingest >= 1.3 x torch fp32 ceiling": (r["ingest"]["ratio_to_torch_ceiling"],
                                               r["ingest"]["ratio_to_torch_ceiling"] >= 1.3),
        "cold rag ask <= 2 s": (cold["rag_ask_seconds"], cold["rag_ask_seconds"] <= 2.0),
        "cold rag ask <= 0.3 x SentenceTransformer load": (cold["ratio_to_sentence_transformer_load"],
                                                           cold["ratio_to_sentence_transformer_load"] <= 0.3),
        "re-ingest <= 5 %": (r["ingest"]["reingest_fraction"], r["ingest"]["reingest_fraction"] <= 0.05),
    }
    for store, point in largest.items():
        size = f"{point['chunks']:,} chunks ({store})"
        growth = round(point["rss_mb"] - smallest[store]["rss_mb"], 1)
        found[f"open <= 2 s at {size}"] = (point["open_seconds"], point["open_seconds"] <= 2.0)
        found[f"answer p50 <= 150 ms at {size}"] = (point["p50_ms"], point["p50_ms"] <= 150)
        found[f"memory growth <= 300 MB to {size}"] = (growth, growth <= 300)
    return found


def main(quick: bool = False, as_json: bool = False, settings: Settings | None = None,
         scale: list[int] | None = None, stores: tuple[str, ...] | None = None) -> dict:
    result = run(quick, settings or Settings(), scale, stores)
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
    table.add_row("ingest tokens/s", f"{ingest['tokens_per_s']} ({ingest['ratio_to_torch_ceiling']:.2f} x torch "
                  f"fp32, {ingest['ratio_to_ceiling']:.2f} x ONNX fp32)",
                  f"encoder ceilings: torch fp32 {r['torch_ceiling']['tokens_per_s']}, ONNX fp32 {ceiling['tokens_per_s']} "
                  f"(vectors within {r['vectors_max_difference']:.1e})")
    table.add_row("ingest seconds", str(ingest["seconds"]), f"naive llama-index {naive['ingest_seconds']}")
    table.add_row("query p50/p95 ms", f"{query['p50_ms']}/{query['p95_ms']} (offline answer)",
                  f"naive retrieval {naive['retrieval']['p50_ms']}/{naive['retrieval']['p95_ms']}")
    table.add_row("re-ingest", f"{ingest['reingest_fraction']:.1%} of first", "target <= 5 %")
    table.add_row("torch int8 speed-up", f"{r['int8']['speedup']}x torch fp32, hit@5 "
                  f"{r['int8']['hit_at_5_change_points']:+} pts", "keep only if >= 1.6x and drop < 1 pt")
    for point in r["scale"]:
        table.add_row(f"{point['chunks']:,} chunks ({point['store']})",
                      f"open {point['open_seconds']} s, answer p50 {point['p50_ms']} ms, p95 {point['p95_ms']} ms",
                      f"RSS {point['rss_mb']} MB, lexicon {point['lexicon_mb']} MB")
    cold = r["cold_start"]
    table.add_row("cold rag ask", f"{cold['rag_ask_seconds']} s (torch imported: {cold['torch_imported_by_ask']})",
                  f"SentenceTransformer load {cold['sentence_transformer_load_seconds']} s")
    for name, (figure, met) in r["targets"].items():
        table.add_row(f"target: {name}", str(figure), "met" if met else "MISSED")
    Console().print(table)
    Console().print(r["machine"])
