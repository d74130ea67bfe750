"""The repository itself: what a newcomer reads first must be whole."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import REPO

MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)


def tracked_text_files() -> list:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    files = [REPO / name for name in listed.decode().split("\0") if name]
    return [f for f in files if f.is_file() and b"\0" not in f.read_bytes()[:8000]]


def test_no_tracked_text_file_holds_a_merge_conflict_marker():
    found = [f"{path.relative_to(REPO)}:{text[:m.start()].count(chr(10)) + 1}"
             for path in tracked_text_files()
             for text in [path.read_text(encoding="utf-8", errors="replace")] for m in MARKER.finditer(text)]
    assert found == []
