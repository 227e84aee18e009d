"""Scoring: masks -> knowledge graph -> logits of the queried pairs; ROC-AUC over a split."""

from __future__ import annotations

import numpy as np
import torch

from .graph import build_knowledge_graph
from .metrics import roc_auc_by_task
from .settings import Masks, Setting, make_masks


def forward_masks(model, z: torch.Tensor, Y: torch.Tensor,
                  masks: Masks) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the KG part of ``model`` on one block.

    Parameters
    ----------
    z : Tensor, (B, D)
        Data embeddings (``model.embed``), on the model's device.
    Y : Tensor, (B, T)
        Labels of the block (CPU), NaN where unknown.
    masks : Masks

    Returns
    -------
    logits : Tensor, (Q,)
    rows, tasks : LongTensor, (Q,)
        Block row and task index of each queried pair (CPU).
    """
    device = z.device
    rows, tasks = masks.queried.nonzero(as_tuple=True)
    kg = build_knowledge_graph(masks.revealed.to(device), Y.to(device))
    T = Y.shape[1]
    task_ids = torch.where(masks.new_tasks, torch.full((T,), -1), torch.arange(T)).to(device)
    logits = model.predict(z, kg, task_ids, rows.to(device), tasks.to(device))
    return logits, rows, tasks


@torch.no_grad()
def score_rows(model, graphs, Y: torch.Tensor, rows: torch.Tensor, aux: torch.Tensor, setting: Setting,
               targets: torch.Tensor, support: torch.Tensor, *, batch_size: int, device: torch.device) -> dict:
    """Predict every queried pair of ``rows`` (in eval mode) under the fixed draw.

    Each block is ``support`` rows (labelled on ``targets``; meta settings) followed by up to
    ``batch_size`` query rows.

    Parameters
    ----------
    graphs : MoleculeGraphs
    Y : Tensor, (N, T)
    rows : LongTensor, (R,)
        Dataset rows to score.
    aux : BoolTensor, (R, T)
        Auxiliary pairs of those rows.
    targets : BoolTensor, (T,)
    support : LongTensor, (S,)

    Returns
    -------
    dict of ndarrays, each (Q,): ``row`` (dataset row), ``task``, ``y_true``, ``prob``.
    """
    model.eval()
    T, S = Y.shape[1], len(support)
    z_support = model.embed(graphs.batch(support).to(device)) if S else None
    out: dict[str, list] = {"row": [], "task": [], "y_true": [], "prob": []}
    for start in range(0, len(rows), batch_size):
        query = rows[start:start + batch_size]
        block = torch.cat([support, query])
        z = model.embed(graphs.batch(query).to(device))
        if z_support is not None:
            z = torch.cat([z_support, z])
        Yb = Y[block]
        masks = make_masks(
            Yb, setting, targets=targets,
            aux=torch.cat([torch.zeros(S, T, dtype=torch.bool), aux[start:start + batch_size]]),
            support=torch.arange(len(block)) < S,
        )
        logits, r, t = forward_masks(model, z, Yb, masks)
        out["row"].append(block[r].numpy())
        out["task"].append(t.numpy())
        out["y_true"].append(Yb[r, t].numpy())
        out["prob"].append(torch.sigmoid(logits).cpu().numpy())
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def evaluate(model, graphs, Y: torch.Tensor, rows, aux: torch.Tensor, setting: Setting, draw_heldout: torch.Tensor,
             support: torch.Tensor, task_names: list[str], *, batch_size: int, device: torch.device) -> dict:
    """ROC-AUC of ``model`` on ``rows`` under the fixed draw (see :func:`metalink_dgl.metrics.roc_auc_by_task`).

    The target tasks are the held-out ones in the meta settings and all tasks otherwise.
    """
    targets = draw_heldout if setting.meta else torch.ones_like(draw_heldout)
    scored = score_rows(model, graphs, Y, torch.as_tensor(np.asarray(rows), dtype=torch.long), aux, setting,
                        targets, support, batch_size=batch_size, device=device)
    return roc_auc_by_task(scored["y_true"], scored["prob"], scored["task"].astype(np.int64), task_names)
