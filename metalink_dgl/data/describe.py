"""Summary statistics of a dataset's label matrix, as a JSON-ready dict and as text."""

from __future__ import annotations

import numpy as np

from .datasets import MoleculeDataset

_TABLE_ROWS = 20  # tasks listed in the text table before it is shortened


def describe(dataset: MoleculeDataset) -> dict:
    """Counts and label statistics of ``dataset`` (plain Python types, JSON-serialisable).

    Returns
    -------
    dict
        ``name``, ``source``, ``molecules`` (N), ``tasks`` (T), ``labels_observed``,
        ``missing_fraction`` (of the N x T cells), ``positives_per_task`` (min/median/max),
        ``positive_rate`` (positives / observed labels), ``invalid_dropped`` and
        ``per_task``: one dict per task with ``task``, ``labelled``, ``positives``,
        ``negatives`` and ``positive_rate`` (None when the task has no labels).
    """
    Y = dataset.Y
    observed = ~np.isnan(Y)
    labelled = observed.sum(axis=0)
    positives = (Y == 1).sum(axis=0)
    n_observed = int(labelled.sum())
    per_task = [
        {"task": name, "labelled": int(n), "positives": int(p), "negatives": int(n - p),
         "positive_rate": round(float(p / n), 4) if n else None}
        for name, n, p in zip(dataset.task_names, labelled, positives)
    ]
    pos = positives if positives.size else np.zeros(1, dtype=np.int64)
    return {
        "name": dataset.name,
        "source": dataset.source,
        "molecules": len(dataset),
        "tasks": dataset.n_tasks,
        "labels_observed": n_observed,
        "missing_fraction": round(1.0 - n_observed / Y.size, 4) if Y.size else 0.0,
        "positives_per_task": {"min": int(pos.min()), "median": float(np.median(pos)), "max": int(pos.max())},
        "positive_rate": round(int(positives.sum()) / n_observed, 4) if n_observed else None,
        "invalid_dropped": int(dataset.n_invalid),
        "per_task": per_task,
    }


def format_description(d: dict) -> str:
    """One screen of text from :func:`describe`'s dict; long task tables are shortened."""
    ppt = d["positives_per_task"]
    rate = "n/a" if d["positive_rate"] is None else f"{100 * d['positive_rate']:.1f} %"
    lines = [
        f"dataset           {d['name']}",
        f"source            {d['source']}",
        f"molecules         {d['molecules']}   (invalid SMILES dropped: {d['invalid_dropped']})",
        f"tasks             {d['tasks']}",
        f"labels observed   {d['labels_observed']}   (missing {100 * d['missing_fraction']:.1f} % of cells)",
        f"positive rate     {rate}",
        f"positives/task    min {ppt['min']}, median {ppt['median']:g}, max {ppt['max']}",
        "",
    ]
    tasks = d["per_task"]
    width = min(max([len("task"), *(len(t["task"]) for t in tasks)]), 48)
    lines.append(f"{'task':<{width}}  {'labelled':>8}  {'pos':>6}  {'neg':>6}  {'pos %':>6}")
    shown = tasks if len(tasks) <= _TABLE_ROWS else tasks[: _TABLE_ROWS - 5] + [None] + tasks[-5:]
    for t in shown:
        if t is None:
            lines.append(f"... {len(tasks) - _TABLE_ROWS + 5} more tasks (--json lists them all)")
            continue
        name = t["task"] if len(t["task"]) <= width else t["task"][: width - 3] + "..."
        pct = "-" if t["positive_rate"] is None else f"{100 * t['positive_rate']:.1f}"
        lines.append(f"{name:<{width}}  {t['labelled']:>8}  {t['positives']:>6}  {t['negatives']:>6}  {pct:>6}")
    return "\n".join(lines)
