"""Where a number came from: the git commit of the code and the machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import dgl
import dgllife
import rdkit
import torch

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def git_commit(path: str | os.PathLike = _PACKAGE_ROOT) -> str:
    """HEAD of the repository holding ``path``; ``unknown`` outside git.

    ``-dirty`` is appended if a tracked file outside ``results/`` changed: results written by
    a run (benchmark records, tables) do not change the code that produced them.
    """
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ":/", ":(exclude,top)results")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def machine() -> dict:
    """Platform, CPU count, torch threads and the versions of the pinned stack."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(), "torch": torch.__version__, "dgl": dgl.__version__,
            "dgllife": dgllife.__version__, "rdkit": rdkit.__version__}


def provenance() -> dict:
    """``{"commit": ..., "machine": {...}}`` for a results file."""
    return {"commit": git_commit(), "machine": machine()}
