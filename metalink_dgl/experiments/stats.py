"""Small shared pieces of the results files: the scale of printed numbers, mean ± std, portable commands."""

from __future__ import annotations

import os
import shlex

import numpy as np

#: Paper numbers are printed as ROC-AUC x 100; ours are stored as fractions.
SCALE = 100.0
#: What a missing number is printed as.
MISSING = "—"


def stats(values: list[float]) -> dict:
    """Mean and sample std (0 for one value; None for none) of ``values``."""
    if not values:
        return {"mean": None, "std": None, "values": []}
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "values": [float(v) for v in values]}


def portable_command(command: str) -> str:
    """``command`` with every absolute path replaced by ``<path>``: results name no machine's folders."""
    try:
        words = shlex.split(command)
    except ValueError:  # not a shell line: leave it as it is
        return command
    return shlex.join("<path>" if os.path.isabs(w) else w for w in words)


def machine_line(m: dict) -> str:
    """One line naming a machine record (platform, CPUs, torch and dgl versions)."""
    return f"{m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']}, dgl {m['dgl']}"
