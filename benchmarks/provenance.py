"""Where a stored benchmark result came from: the git commit of the code that produced it.

Used by ``benchmarks/scaling.py`` (``make scaling``) and ``benchmarks/ch15.py --seeds``, which store their
results in ``benchmarks/results/`` with the command, the code version and the machine's load.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git_hash(*paths: str) -> str:
    """The HEAD commit, with ``+uncommitted`` when any of ``paths`` (relative to the repository) has changes
    git has not committed; ``"unknown"`` outside a git checkout or without git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", *paths], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip() if paths else ""
        return out.stdout.strip() + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
