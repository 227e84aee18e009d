"""Metrics over the scored (example, task) pairs: per-task ROC-AUC (binary tasks) or mAP (MS-COCO),
RMSE, MAE, R2 and Pearson r in original units (continuous tasks), and episode accuracy with a 95%
interval (few-shot).

Model selection uses one number per dataset (its ``metric``): ROC-AUC when every task is
binary, R2 when every task is continuous, and for a mixed matrix ``score``: the mean over
tasks of each task's ROC-AUC (binary) or R2 (continuous).
"""

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
#: How each metric (these, the continuous ones and few-shot ``accuracy``) is printed.
METRIC_NAMES = {"roc_auc": "ROC-AUC", "map": "mAP", "accuracy": "accuracy", "r2": "R2",
                "score": "ROC-AUC (binary) / R2 (continuous)", "rmse": "RMSE", "mae": "MAE", "pearson": "Pearson r"}
#: The continuous tasks' metrics, each averaged over tasks.
REGRESSION_METRICS = ("rmse", "mae", "r2", "pearson")


def selection_metric(continuous: np.ndarray) -> str:
    """The model-selection metric of tasks whose continuous ones are ``continuous`` (T,) bool."""
    if not continuous.any():
        return "roc_auc"
    return "r2" if continuous.all() else "score"


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict | None:
    """RMSE, MAE, R2 and Pearson r of one task's pairs (original units); None if fewer than two pairs
    or constant labels (R2 and r undefined)."""
    if len(y_true) < 2 or float(np.ptp(y_true)) == 0.0:
        return None
    error = y_pred - y_true
    pearson = float(np.corrcoef(y_true, y_pred)[0, 1]) if float(np.ptp(y_pred)) > 0 else math.nan
    return {"rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error))),
            "r2": float(1.0 - np.sum(error ** 2) / np.sum((y_true - y_true.mean()) ** 2)), "pearson": pearson,
            "n": int(len(y_true))}


def task_metrics(y_true: np.ndarray, y_pred: np.ndarray, task: np.ndarray, task_names: list[str],
                 continuous: np.ndarray) -> dict:
    """Per-task metrics of a matrix that may mix binary and continuous tasks.

    Parameters
    ----------
    y_true, y_pred : ndarray, (Q,)
        Labels and predictions of the scored pairs: 0/1 and a probability for a binary task,
        values in original units for a continuous one.
    task : ndarray of int, (Q,)
    task_names : list of str, (T,)
    continuous : ndarray of bool, (T,)

    Returns
    -------
    dict
        With binary tasks only, exactly :func:`roc_auc_by_task`. Otherwise ``metric`` (see
        :func:`selection_metric`) and its value (the mean of ``per_task``), ``per_task`` (name ->
        ROC-AUC or R2), ``roc_auc`` (mean over binary tasks, if any), ``rmse``/``mae``/``r2``/
        ``pearson`` (means over continuous tasks), ``regression`` (name -> the four and ``n``),
        ``n_tasks_scored``, ``n_tasks_skipped`` (one class, or fewer than two distinct
        values) and ``n_pairs``.
    """
    if not continuous.any():
        return roc_auc_by_task(y_true, y_pred, task, task_names)
    cont = continuous[task]
    out: dict = {}
    per_task: dict[str, float] = {}
    skipped = 0
    if (~cont).any():
        binary = roc_auc_by_task(y_true[~cont], y_pred[~cont], task[~cont], task_names)
        out["roc_auc"], skipped = binary["roc_auc"], binary["n_tasks_skipped"]
        per_task.update(binary["per_task"])
    regression: dict[str, dict] = {}
    for j in np.unique(task[cont]):
        scores = regression_scores(y_true[task == j], y_pred[task == j])
        if scores is None:
            skipped += 1
        else:
            regression[task_names[int(j)]] = scores
    for key in REGRESSION_METRICS:
        values = [r[key] for r in regression.values()]
        out[key] = float(np.mean(values)) if values else math.nan
    per_task.update({name: r["r2"] for name, r in regression.items()})
    metric = selection_metric(continuous)
    ordered = {task_names[j]: per_task[task_names[j]] for j in range(len(task_names)) if task_names[j] in per_task}
    return {"metric": metric, **out, metric: float(np.mean(list(ordered.values()))) if ordered else math.nan,
            "n_tasks_scored": len(ordered), "n_tasks_skipped": skipped, "n_pairs": int(len(y_true)),
            "per_task": ordered, "regression": regression}


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
