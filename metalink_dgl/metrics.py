"""Per-task ROC-AUC over the scored (example, task) pairs."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score


def roc_auc_by_task(y_true: np.ndarray, y_score: np.ndarray, task: np.ndarray, task_names: list[str]) -> dict:
    """ROC-AUC of each task over its scored pairs, and their mean.

    Parameters
    ----------
    y_true, y_score : ndarray, (Q,)
        Labels in {0, 1} and scores (probabilities or logits) of the scored pairs.
    task : ndarray of int, (Q,)
        Task index of each pair, into ``task_names``.
    task_names : list of str, (T,)

    Returns
    -------
    dict
        ``roc_auc`` (mean over tasks with both classes among their pairs; NaN if none),
        ``n_tasks_scored``, ``n_tasks_skipped`` (tasks with pairs of one class only),
        ``n_pairs`` and ``per_task`` (name -> ROC-AUC, scored tasks only).
    """
    per_task: dict[str, float] = {}
    skipped = 0
    order = np.argsort(task, kind="stable")
    bounds = np.flatnonzero(np.diff(task[order])) + 1
    for chunk in np.split(order, bounds) if len(order) else []:
        labels = y_true[chunk]
        if labels.min() == labels.max():
            skipped += 1
            continue
        per_task[task_names[int(task[chunk[0]])]] = float(roc_auc_score(labels, y_score[chunk]))
    mean = float(np.mean(list(per_task.values()))) if per_task else math.nan
    return {
        "roc_auc": mean,
        "n_tasks_scored": len(per_task),
        "n_tasks_skipped": skipped,
        "n_pairs": int(len(y_true)),
        "per_task": per_task,
    }
