"""Analyses of a results dict: Table 3's task correlations, the ablation screening and the default decision."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data import load_dataset
from ..errors import MetaLinkError
from .stats import stats


def task_correlation(options: dict, cells: list[dict], default_dataset: str) -> dict:
    """Table 3: rank tasks by average Pearson correlation with the others; compare two cells per task.

    ``options``: ``dataset``, ``n_tasks`` (3), ``correlation`` (``signed``, the paper's "average
    Pearson correlation", or ``absolute``), ``compare``: ``[{setting, method}, {setting, method}]``
    (baseline first). Correlations are pairwise over molecules with both labels observed.
    """
    dataset = options.get("dataset", default_dataset)
    n, mode = int(options.get("n_tasks", 3)), options.get("correlation", "signed")
    if mode not in ("signed", "absolute"):
        raise MetaLinkError(f"report.correlation {mode!r} must be 'signed' or 'absolute'")
    ds = load_dataset(dataset)
    matrix = pd.DataFrame(ds.Y, columns=ds.task_names).corr(method="pearson", min_periods=3).to_numpy()
    off = matrix.copy()
    np.fill_diagonal(off, np.nan)
    average = np.nanmean(np.abs(off) if mode == "absolute" else off, axis=1)
    order = [int(j) for j in np.argsort(average, kind="stable")]
    picked = {"low": order[:n], "high": order[::-1][:n]}
    compare = options["compare"]
    pair = [find_cell(cells, dataset, c["setting"], c["method"]) for c in compare]

    def per_task(cell: dict | None, name: str) -> dict:
        return stats([e["per_task"][name] for e in (cell or {}).get("per_seed", []) if name in e["per_task"]])

    def group(cell: dict | None, tasks: list[int]) -> dict:
        names = [ds.task_names[j] for j in tasks]
        return stats([float(np.mean(vals)) for e in (cell or {}).get("per_seed", [])
                      if (vals := [e["per_task"][t] for t in names if t in e["per_task"]])])

    groups = {}
    for name, tasks in picked.items():
        base, ours = group(pair[0], tasks), group(pair[1], tasks)
        gain = (100 * (ours["mean"] - base["mean"]) / base["mean"]
                if ours["mean"] is not None and base["mean"] else None)
        groups[name] = {"tasks": [ds.task_names[j] for j in tasks], "indices": tasks,
                        "baseline": base, "ours": ours, "improvement_percent": gain}
    return {
        "dataset": dataset, "correlation": mode, "n_molecules": len(ds), "task_names": ds.task_names,
        "matrix": [[None if math.isnan(x) else round(float(x), 4) for x in row] for row in matrix],
        "average": [round(float(x), 4) for x in average],
        "compare": compare, "groups": groups,
        "per_task": [{"task": ds.task_names[j], "index": j, "average": round(float(average[j]), 4), "group": g,
                      "baseline": per_task(pair[0], ds.task_names[j]), "ours": per_task(pair[1], ds.task_names[j])}
                     for g, tasks in picked.items() for j in tasks],
    }


def picks_text(picks: dict) -> str:
    """``low [1, 2]; high [3, 4]``: task groups and their column indices."""
    return "; ".join(f"{name} {list(tasks)}" for name, tasks in picks.items())


def find_cell(cells: list[dict], dataset: str, setting: str, method: str) -> dict | None:
    """The cell of ``(dataset, setting, method)`` in ``cells``, or None."""
    return next((c for c in cells if (c["dataset"], c["setting"], c["method"]) == (dataset, setting, method)), None)


def screening(results: dict) -> list[dict]:
    """The verdict of an ``ablation`` report: each layer variant against the reference, on validation.

    The reference is the config's first method (the paper's eq. 3); a variant is any other method
    that keeps MetaLink (no ``model`` override). Per dataset, ``delta_val`` is the variant's
    validation ROC-AUC minus the reference's, averaged over the settings where both have one
    (None where neither setting has both); a variant ``wins`` a dataset where that is above 0 and
    is a ``finalist`` when it wins more than one. Test numbers play no part.

    Returns
    -------
    list of dict, one per variant in config order: ``method``, ``delta_val`` ({dataset: float or
    None}), ``won`` (datasets), ``finalist`` (bool).
    """
    methods = results["grid"]["methods"]
    reference = next(iter(methods))
    val = {(c["dataset"], c["setting"], c["method"]): c["val"]["mean"] for c in results["cells"]
           if c["val"]["mean"] is not None}
    verdicts = []
    for method, spec in methods.items():
        if method == reference or "model" in spec["overrides"]:
            continue
        delta = {}
        for dataset in results["grid"]["datasets"]:
            diffs = [val[dataset, s, method] - val[dataset, s, reference] for s in results["grid"]["settings"]
                     if (dataset, s, method) in val and (dataset, s, reference) in val]
            delta[dataset] = float(np.mean(diffs)) if diffs else None
        won = [d for d, x in delta.items() if x is not None and x > 0]
        verdicts.append({"method": method, "delta_val": delta, "won": won, "finalist": len(won) > 1})
    return verdicts


def default_decision(results: dict) -> list[dict]:
    """The full protocol's answer, per candidate, to "does it replace the default?" (a ``table`` report).

    The default is ``report.default``, the candidates ``report.candidates`` (those in the grid). A
    candidate replaces the default only if its validation mean is above the default's in every
    (dataset, setting) cell the candidate runs in, each with every seed of the grid finished for
    both: one lost cell decides against it; a cell where either misses a seed is pending. Test
    numbers play no part.

    Returns
    -------
    list of dict, one per candidate: ``method``, ``cells`` (list of {``dataset``, ``setting``,
    ``delta_val``: candidate minus default, or None while pending}), ``won``, ``lost`` (lists of
    (dataset, setting)), ``pending`` (int), ``mean_delta_val`` (over the decided cells, or None),
    ``verdict`` ("yes", "no" or "pending").
    """
    report = results["report"]
    default = report.get("default")
    if default not in results["grid"]["methods"]:
        return []

    def finished(cell: dict | None) -> bool:
        return bool(cell and cell["seeds"] and not cell["missing_seeds"])

    decisions = []
    for method in (m for m in report.get("candidates", []) if m in results["grid"]["methods"]):
        compared = []
        for ours in (c for c in results["cells"] if c["method"] == method):  # the cells it runs in
            theirs = find_cell(results["cells"], ours["dataset"], ours["setting"], default)
            delta = ours["val"]["mean"] - theirs["val"]["mean"] if finished(ours) and finished(theirs) else None
            compared.append({"dataset": ours["dataset"], "setting": ours["setting"], "delta_val": delta})
        decided = [c for c in compared if c["delta_val"] is not None]
        won = [(c["dataset"], c["setting"]) for c in decided if c["delta_val"] > 0]
        lost = [(c["dataset"], c["setting"]) for c in decided if c["delta_val"] <= 0]
        pending = len(compared) - len(decided)
        decisions.append({
            "method": method, "cells": compared, "won": won, "lost": lost, "pending": pending,
            "mean_delta_val": float(np.mean([c["delta_val"] for c in decided])) if decided else None,
            "verdict": "no" if lost else "pending" if pending or not compared else "yes"})
    return decisions
