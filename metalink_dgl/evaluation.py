"""Scoring: masks -> knowledge graph -> logits of the queried pairs; ROC-AUC or mAP over a split."""

from __future__ import annotations

import numpy as np
import torch

from .draw import EvalDraw
from .graph import build_knowledge_graph
from .metrics import METRICS
from .settings import Masks, Setting, make_masks


def forward_masks(model, z: torch.Tensor, Y: torch.Tensor, masks: Masks,
                  task_feats: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the KG part of ``model`` on one block.

    Parameters
    ----------
    z : Tensor, (B, D)
        Data embeddings (``model.embed``), on the model's device.
    Y : Tensor, (B, T)
        Labels of the block (CPU), NaN where unknown.
    masks : Masks
    task_feats : Tensor, (T, D), optional
        Initial task node features instead of the model's heads (few-shot prototypes).

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
    extra = {} if task_feats is None else {"task_feats": task_feats}  # MetaLink only; baselines have none
    logits = model.predict(z, kg, task_ids, rows.to(device), tasks.to(device), **extra)
    return logits, rows, tasks


def as_rows(idx) -> torch.Tensor:
    """Dataset row indices (any sequence or array) as a LongTensor."""
    return torch.as_tensor(np.asarray(idx), dtype=torch.long)


@torch.no_grad()
def embed_support(model, inputs, Y: torch.Tensor, support: torch.Tensor, support_shown: torch.Tensor | None, *,
                  batch_size: int, device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor]:
    """The support rows of every block: embeddings (S, D), ``batch_size`` at a time (None if S = 0),
    and labels (S, T), NaN outside ``support_shown`` (default: all shown)."""
    z = torch.cat([model.embed(inputs.batch(support[i:i + batch_size]).to(device))
                   for i in range(0, len(support), batch_size)]) if len(support) else None
    labels = Y[support]
    return z, labels if support_shown is None else labels.masked_fill(~support_shown, float("nan"))


@torch.no_grad()
def score_rows(model, inputs, Y: torch.Tensor, rows: torch.Tensor, aux: torch.Tensor, setting: Setting,
               targets: torch.Tensor, support: torch.Tensor, *, support_shown: torch.Tensor | None = None,
               batch_size: int, device: torch.device) -> dict:
    """Predict every queried pair of ``rows`` (in eval mode) under the fixed draw.

    Each block is the ``support`` rows (showing their labels on ``targets``; meta settings)
    followed by up to ``batch_size`` query rows.

    Parameters
    ----------
    inputs : MoleculeGraphs or ImageBank
        Encoder inputs of the dataset's rows (``inputs.batch(idx)``).
    Y : Tensor, (N, T)
    rows : LongTensor, (R,)
        Dataset rows to score.
    aux : BoolTensor, (R, T)
        Auxiliary pairs of those rows.
    targets : BoolTensor, (T,)
    support : LongTensor, (S,)
    support_shown : BoolTensor, (S, T), optional
        Which labels of the support rows are shown (:class:`~metalink_dgl.draw.EvalDraw`);
        default all of them.

    Returns
    -------
    dict of ndarrays, each (Q,): ``row`` (dataset row), ``task``, ``y_true``, ``prob``.
    """
    model.eval()
    T, S = Y.shape[1], len(support)
    z_support, Y_support = embed_support(model, inputs, Y, support, support_shown, batch_size=batch_size,
                                         device=device)
    out: dict[str, list] = {"row": [], "task": [], "y_true": [], "prob": []}
    for start in range(0, len(rows), batch_size):
        query = rows[start:start + batch_size]
        block = torch.cat([support, query])
        z = model.embed(inputs.batch(query).to(device))
        if z_support is not None:
            z = torch.cat([z_support, z])
        Yb = torch.cat([Y_support, Y[query]])
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


def evaluate(model, inputs, Y: torch.Tensor, rows, aux: torch.Tensor, setting: Setting, draw: EvalDraw,
             task_names: list[str], *, batch_size: int, device: torch.device, metric: str = "roc_auc") -> dict:
    """``metric`` (a key of :data:`metalink_dgl.metrics.METRICS`: per-task ROC-AUC or average
    precision, averaged over tasks) of ``model`` on ``rows`` under the fixed ``draw``.

    The target tasks are the held-out ones in the meta settings and all tasks otherwise.
    """
    targets = draw.heldout if setting.meta else torch.ones_like(draw.heldout)
    scored = score_rows(model, inputs, Y, as_rows(rows), aux, setting, targets, draw.support,
                        support_shown=draw.support_shown, batch_size=batch_size, device=device)
    return METRICS[metric](scored["y_true"], scored["prob"], scored["task"].astype(np.int64), task_names)
