"""Summary statistics of a dataset's label matrix, as a JSON-ready dict and as text."""

from __future__ import annotations

import numpy as np

from ..label_matrix import task_columns
from .datasets import MoleculeDataset

_TABLE_ROWS = 20  # tasks listed in the text table before it is shortened
_VALUE_STATS = (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max))


def describe(dataset: MoleculeDataset) -> dict:
    """Counts and label statistics of ``dataset`` (plain Python types, JSON-serialisable).

    Returns
    -------
    dict
        ``name``, ``source``, ``molecules`` (N), ``tasks`` (T), ``labels_observed``,
        ``missing_fraction`` (of the N x T cells), ``positives_per_task`` (min/median/max),
        ``positive_rate`` (positives / observed labels), ``invalid_dropped`` and
        ``per_task``: one dict per task with ``task``, ``type`` and ``labelled`` (its count of
        observed labels); for a binary task ``positives``, ``negatives`` and ``positive_rate``
        (None when it has no labels), for a continuous one ``mean``, ``std`` (population,
        ddof=0), ``min`` and ``max`` of its values (None without labels). The positive counts
        and rate are over the binary tasks, None when there is none.
    """
    columns = task_columns(dataset.Y)
    labelled = np.array([len(values) for values in columns], dtype=np.int64)
    binary = ~dataset.continuous
    positives = np.array([int((values == 1).sum()) for values, b in zip(columns, binary) if b], dtype=np.int64)
    n_observed = int(labelled.sum())
    n_binary = int(labelled[binary].sum())
    cells = len(dataset) * dataset.n_tasks
    per_task = [_task(name, kind, columns[j])
                for j, (name, kind) in enumerate(zip(dataset.task_names, dataset.task_types))]
    return {
        "name": dataset.name,
        "source": dataset.source,
        "molecules": len(dataset),
        "tasks": dataset.n_tasks,
        "labels_observed": n_observed,
        "missing_fraction": round(1.0 - n_observed / cells, 4) if cells else 0.0,
        "positives_per_task": ({"min": int(positives.min()), "median": float(np.median(positives)),
                                "max": int(positives.max())} if positives.size else None),
        "positive_rate": round(int(positives.sum()) / n_binary, 4) if n_binary else None,
        "invalid_dropped": int(dataset.n_invalid),
        "per_task": per_task,
    }


def _task(name: str, kind: str, values: np.ndarray) -> dict:
    """The statistics of one task of type ``kind`` from its (n,) observed labels ``values``."""
    n = len(values)
    if kind == "binary":
        p = int((values == 1).sum())
        return {"task": name, "type": kind, "labelled": n, "positives": p, "negatives": n - p,
                "positive_rate": round(p / n, 4) if n else None}
    values = values.astype(np.float64)
    return {"task": name, "type": kind, "labelled": n,
            **{key: (round(float(fn(values)), 4) if n else None) for key, fn in _VALUE_STATS}}


def format_description(d: dict) -> str:
    """One screen of text from :func:`describe`'s dict: the totals, then one table per task type
    (binary: labelled, positives, negatives, positive %; regression: labelled, mean, std, min,
    max); a long table is shortened."""
    lines = [
        f"dataset           {d['name']}",
        f"source            {d['source']}",
        f"molecules         {d['molecules']}   (invalid SMILES dropped: {d['invalid_dropped']})",
        f"tasks             {d['tasks']}",
        f"labels observed   {d['labels_observed']}   (missing {100 * d['missing_fraction']:.1f} % of cells)",
    ]
    ppt = d["positives_per_task"]
    if ppt is not None:
        rate = "n/a" if d["positive_rate"] is None else f"{100 * d['positive_rate']:.1f} %"
        lines += [f"positive rate     {rate}",
                  f"positives/task    min {ppt['min']}, median {ppt['median']:g}, max {ppt['max']}"]
    lines.append("")
    for kind, header, row in (("binary", _BINARY_HEADER, _binary_row), ("regression", _VALUE_HEADER, _value_row)):
        tasks = [t for t in d["per_task"] if t["type"] == kind]
        if not tasks:
            continue
        title = f"{kind} task"
        width = min(max([len(title), *(len(t["task"]) for t in tasks)]), 48)
        lines.append(f"{title:<{width}}  {header}")
        shown = tasks if len(tasks) <= _TABLE_ROWS else tasks[: _TABLE_ROWS - 5] + [None] + tasks[-5:]
        for t in shown:
            if t is None:
                lines.append(f"... {len(tasks) - _TABLE_ROWS + 5} more tasks (--json lists them all)")
                continue
            name = t["task"] if len(t["task"]) <= width else t["task"][: width - 3] + "..."
            lines.append(f"{name:<{width}}  {row(t)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


_BINARY_HEADER = f"{'labelled':>8}  {'pos':>6}  {'neg':>6}  {'pos %':>6}"
_VALUE_HEADER = f"{'labelled':>8}  {'mean':>9}  {'std':>9}  {'min':>9}  {'max':>9}"


def _binary_row(t: dict) -> str:
    """The cells of a binary task's row under :data:`_BINARY_HEADER`."""
    pct = "-" if t["positive_rate"] is None else f"{100 * t['positive_rate']:.1f}"
    return f"{t['labelled']:>8}  {t['positives']:>6}  {t['negatives']:>6}  {pct:>6}"


def _value_row(t: dict) -> str:
    """The cells of a continuous task's row under :data:`_VALUE_HEADER`."""
    cells = ["-" if t[k] is None else f"{t[k]:.4g}" for k in ("mean", "std", "min", "max")]
    return f"{t['labelled']:>8}  " + "  ".join(f"{c:>9}" for c in cells)
