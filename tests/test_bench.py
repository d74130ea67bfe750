"""`rag bench --quick --json` runs in make test's environment and prints every figure (speed is not asserted)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

RAG = Path(sys.executable).parent / "rag"


def test_quick_benchmark_prints_every_figure_as_json(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    done = subprocess.run([str(RAG), "bench", "--quick", "--json", "--index-dir", str(tmp_path / "index")],
                          capture_output=True, text=True, cwd=REPO, env=dict(env, HF_HUB_OFFLINE="1"), timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    print(json.dumps({k: figures[k] for k in ("ingest", "query", "int8", "cold_start")}))
    assert figures["encoder_ceiling"]["tokens_per_s"] > 0 and figures["ingest"]["tokens_per_s"] > 0
    assert figures["ingest"]["reingest_chunks_embedded"] == 0                # unchanged corpus: nothing re-embedded
    assert figures["naive"]["retrieval"]["p50_ms"] > 0 and figures["query"]["p50_ms"] > 0
    assert {"speedup", "hit_at_5_change_points"} <= set(figures["int8"])
    assert figures["scale"] and figures["scale"][0]["chunks"] == 1000 and figures["scale"][0]["rss_mb"] > 0
    assert figures["cold_start"]["rag_ask_ok"] and not figures["cold_start"]["torch_imported_by_ask"]
    assert all(isinstance(ratio, (int, float)) for ratio, _ in figures["targets"].values())
