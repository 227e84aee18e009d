"""Which run stands for a (cell, seed): the number of KG layers chosen on validation ROC-AUC.

The paper searches L in 2..5 and reports "the test set performance when the best validation
set performance is reached" (appendix A). For each (dataset, setting, method, seed) the run
with the highest best-epoch validation ROC-AUC wins (ties: fewer layers); its test ROC-AUC
(at that best epoch, as ``train`` already reports) is the seed's value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

from .grid import Run


def read_json(path: Path) -> dict | None:
    """The JSON object at ``path``, or None if there is no file."""
    return json.loads(path.read_text()) if path.is_file() else None


def group_runs(runs: Iterable[Run]) -> dict[tuple, list[Run]]:
    """``(dataset, setting, method, seed)`` -> the runs of its layer candidates, in order."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((*run.cell, run.seed), []).append(run)
    return groups


def choose(candidates: list[Run]) -> tuple[Run, dict, dict[int, dict]] | None:
    """The best-validation run of one (cell, seed), its ``metrics.json`` and every candidate's.

    None until every candidate has finished: a seed is never reported on part of its search.
    """
    metrics = {}
    for run in candidates:
        m = read_json(run.dir / "metrics.json")
        if m is None:
            return None
        metrics[run.layers] = m
    best = max(candidates, key=lambda r: (_score(scores(metrics[r.layers])[0]), -r.layers))
    return best, metrics[best.layers], metrics


def scores(metrics: dict) -> tuple[float, float]:
    """Validation and test value of a run's selection metric (``metrics["metric"]``: ROC-AUC, R2 or the
    mixed score; ROC-AUC in a file written before it was recorded)."""
    metric = metrics.get("metric", "roc_auc")
    return metrics[f"val_{metric}"], metrics[f"test_{metric}"]


def eval_path(run: Run, sweep: str, value: float) -> Path:
    """Where the score of ``run``'s best checkpoint at ``sweep=value`` is cached."""
    return run.dir / f"eval_{sweep}_{value:g}.json"


def _score(value) -> float:
    value = float(value)
    return value if math.isfinite(value) else -math.inf
