"""Metrics over the scored (example, task) pairs: per-task ROC-AUC (molecules) or mAP (MS-COCO),
and episode accuracy with a 95% interval (few-shot)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def _by_task(key: str, score: Callable[[np.ndarray, np.ndarray], float]):
    """A per-task metric over scored pairs, averaged over tasks with both classes present."""

    def metric(y_true: np.ndarray, y_score: np.ndarray, task: np.ndarray, task_names: list[str]) -> dict:
        per_task: dict[str, float] = {}
        skipped = 0
        order = np.argsort(task, kind="stable")
        bounds = np.flatnonzero(np.diff(task[order])) + 1
        for chunk in np.split(order, bounds) if len(order) else []:
            labels = y_true[chunk]
            if labels.min() == labels.max():
                skipped += 1
                continue
            per_task[task_names[int(task[chunk[0]])]] = float(score(labels, y_score[chunk]))
        mean = float(np.mean(list(per_task.values()))) if per_task else math.nan
        return {
            "metric": key,
            key: mean,
            "n_tasks_scored": len(per_task),
            "n_tasks_skipped": skipped,
            "n_pairs": int(len(y_true)),
            "per_task": per_task,
        }

    metric.__name__ = f"{key}_by_task"
    metric.__doc__ = f"""{key} of each task over its scored pairs, and their mean.

    Parameters
    ----------
    y_true, y_score : ndarray, (Q,)
        Labels in {{0, 1}} and scores (probabilities or logits) of the scored pairs.
    task : ndarray of int, (Q,)
        Task index of each pair, into ``task_names``.
    task_names : list of str, (T,)

    Returns
    -------
    dict
        ``metric`` (``{key!r}``), ``{key}`` (mean over tasks with both classes among their
        pairs; NaN if none), ``n_tasks_scored``, ``n_tasks_skipped`` (tasks with pairs of one
        class only), ``n_pairs`` and ``per_task`` (name -> value, scored tasks only).
    """
    return metric


#: Per-task ROC-AUC (sklearn ``roc_auc_score``), the molecular datasets' metric.
roc_auc_by_task = _by_task("roc_auc", roc_auc_score)
#: Per-task average precision (sklearn ``average_precision_score``); the mean is MS-COCO's mAP.
map_by_task = _by_task("map", average_precision_score)

#: Metric of a multi-task dataset by name (``roc_auc`` for molecules, ``map`` for MS-COCO).
METRICS: dict[str, Callable[..., dict]] = {"roc_auc": roc_auc_by_task, "map": map_by_task}
#: How each metric (these and few-shot ``accuracy``) is printed.
METRIC_NAMES = {"roc_auc": "ROC-AUC", "map": "mAP", "accuracy": "accuracy"}


def accuracy_interval(accuracies: np.ndarray) -> dict:
    """Mean accuracy over episodes with its 95% confidence interval ``1.96 std / sqrt(n)``.

    Parameters
    ----------
    accuracies : ndarray, (n,)
        Accuracy of each episode, in [0, 1].

    Returns
    -------
    dict
        ``metric`` (``'accuracy'``), ``accuracy`` (mean), ``ci95`` (half-width) and ``n_episodes``.
    """
    acc = np.asarray(accuracies, dtype=np.float64)
    ci = 1.96 * float(acc.std()) / math.sqrt(len(acc)) if len(acc) else math.nan
    return {"metric": "accuracy", "accuracy": float(acc.mean()) if len(acc) else math.nan, "ci95": ci,
            "n_episodes": int(len(acc))}
