"""Scoring a split under its fixed draw: blocks of rows -> probabilities of the queried pairs -> ROC-AUC or mAP."""

from __future__ import annotations

import numpy as np
import torch

from ..data.scaling import LabelScaler
from ..errors import MetaLinkError
from ..kg.eval_draw import EvalDraw
from ..kg.settings import Setting
from ..metrics import METRICS, task_metrics
from .block import Block, as_rows, embed_support, forward_block
from .distributed import World


@torch.no_grad()
def score_rows(model, inputs, Y: torch.Tensor, rows: torch.Tensor, aux: torch.Tensor, setting: Setting,
               targets: torch.Tensor, support: torch.Tensor, *, support_shown: torch.Tensor | None = None,
               batch_size: int, device: torch.device, scaler: LabelScaler | None = None) -> dict:
    """Predict every queried pair of ``rows`` (in eval mode) under the fixed draw.

    Each block is the ``support`` rows (showing their labels on ``targets``; meta settings)
    followed by up to ``batch_size`` query rows. With several ranks (:mod:`.distributed`) each
    scores every W-th block and every rank returns all of them, in order: the same blocks, hence
    the same predictions, as one process.

    Parameters
    ----------
    inputs : MoleculeGraphs or ImageBank
        Encoder inputs of the dataset's rows (``inputs.batch(idx)``).
    Y : Tensor, (N, T)
        Labels in model units (continuous ones standardised by ``scaler``).
    rows : LongTensor, (R,)
        Dataset rows to score.
    aux : BoolTensor, (R, T)
        Auxiliary pairs of those rows.
    targets : BoolTensor, (T,)
    support : LongTensor, (S,)
    support_shown : BoolTensor, (S, T), optional
        Which labels of the support rows are shown (:class:`~metalink_dgl.kg.EvalDraw`);
        default all of them.
    scaler : LabelScaler, optional
        How ``Y`` was standardised; default: every task binary.

    Returns
    -------
    dict of ndarrays, each (Q,): ``row`` (dataset row), ``task``, ``y_true`` and ``pred``: the label
    and a probability for a binary task, the label and the prediction in original units for a
    continuous one.
    """
    scaler = LabelScaler.identity(Y.shape[1]) if scaler is None else scaler
    model.eval()
    support_rows = embed_support(model, inputs, Y, support, support_shown, batch_size=batch_size, device=device)
    world = World.current()
    starts = range(0, len(rows), batch_size)
    blocks = {}
    for start in world.share(starts):
        query = rows[start:start + batch_size]
        block = Block.assemble(setting, targets, model.embed(inputs.batch(query).to(device)), Y[query],
                               aux[start:start + batch_size], support=support_rows,
                               continuous=scaler.edge_continuous)
        logits, r, t = forward_block(model, block)
        blocks[start] = {"row": torch.cat([support, query])[r].numpy(), "task": t.numpy(),
                         "y_true": scaler.inverse(block.Y[r, t], t).numpy(), "pred": scaler.output(logits, t).numpy()}
    blocks = world.gather(blocks)
    return {k: np.concatenate([blocks[s][k] for s in starts]) if starts else np.zeros(0)
            for k in ("row", "task", "y_true", "pred")}


def evaluate(model, inputs, Y: torch.Tensor, rows, aux: torch.Tensor, setting: Setting, draw: EvalDraw,
             task_names: list[str], *, batch_size: int, device: torch.device, metric: str = "roc_auc",
             scaler: LabelScaler | None = None) -> dict:
    """The metrics of ``model`` on ``rows`` under the fixed ``draw``: average precision (``metric="map"``,
    COCO) or :func:`metalink_dgl.metrics.task_metrics` (ROC-AUC per binary task; RMSE, MAE, R2 and
    Pearson r per continuous task, in original units).

    ``Y`` is in model units (``scaler``). The target tasks are the held-out ones in the meta
    settings and all tasks otherwise.
    """
    targets = draw.heldout if setting.meta else torch.ones_like(draw.heldout)
    scored = score_rows(model, inputs, Y, as_rows(rows), aux, setting, targets, draw.support,
                        support_shown=draw.support_shown, batch_size=batch_size, device=device, scaler=scaler)
    task = scored["task"].astype(np.int64)
    if metric in METRICS and metric != "roc_auc":
        return METRICS[metric](scored["y_true"], scored["pred"], task, task_names)
    continuous = np.zeros(len(task_names), dtype=bool) if scaler is None else scaler.continuous.numpy()
    return task_metrics(scored["y_true"], scored["pred"], task, task_names, continuous)


def evaluate_leave_one_out(model, inputs, Y: torch.Tensor, rows, setting: Setting, task_names: list[str], *,
                           context, batch_size: int, device: torch.device, scaler: LabelScaler | None = None) -> dict:
    """Each task predicted from every other label its examples have ("leave one endpoint out").

    For each task ``j``, every row of ``rows`` with a label on ``j`` reveals all its other labels
    and is scored on ``j`` alone; the pairs of all tasks are then scored together by
    :func:`metalink_dgl.metrics.task_metrics`. In relational settings every block also holds the
    ``context`` rows (training rows) with all their labels revealed, as a ``predict`` input holds
    other compounds with known values: without them the task node of ``j`` would have no edge
    at all, unlike in any training minibatch. A standard model sees no labels, so it is scored
    on the same pairs without context.
    """
    if setting.meta:
        raise MetaLinkError(f"leave-one-out evaluation predicts seen tasks; a {setting.name} model predicts new ones")
    rows = as_rows(rows)
    observed = ~torch.isnan(Y[rows])
    everything = torch.ones(Y.shape[1], dtype=torch.bool)
    context = as_rows(context) if setting.relational else torch.zeros(0, dtype=torch.long)
    parts = []
    for j in range(Y.shape[1]):
        labelled = observed[:, j]
        if not labelled.any():
            continue
        aux = observed[labelled].clone()
        aux[:, j] = False
        parts.append(score_rows(model, inputs, Y, rows[labelled], aux, setting, everything, context,
                                batch_size=batch_size, device=device, scaler=scaler))
    scored = {k: np.concatenate([p[k] for p in parts]) for k in ("row", "task", "y_true", "pred")}
    continuous = np.zeros(len(task_names), dtype=bool) if scaler is None else scaler.continuous.numpy()
    return task_metrics(scored["y_true"], scored["pred"], scored["task"].astype(np.int64), task_names, continuous)
