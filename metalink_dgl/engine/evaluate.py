"""Scoring a split under its fixed draw: blocks of rows -> probabilities of the queried pairs -> ROC-AUC or mAP."""

from __future__ import annotations

import numpy as np
import torch

from ..kg.eval_draw import EvalDraw
from ..kg.settings import Setting
from ..metrics import METRICS
from .block import Block, as_rows, embed_support, forward_block


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
        Which labels of the support rows are shown (:class:`~metalink_dgl.kg.EvalDraw`);
        default all of them.

    Returns
    -------
    dict of ndarrays, each (Q,): ``row`` (dataset row), ``task``, ``y_true``, ``prob``.
    """
    model.eval()
    support_rows = embed_support(model, inputs, Y, support, support_shown, batch_size=batch_size, device=device)
    out: dict[str, list] = {"row": [], "task": [], "y_true": [], "prob": []}
    for start in range(0, len(rows), batch_size):
        query = rows[start:start + batch_size]
        block = Block.assemble(setting, targets, model.embed(inputs.batch(query).to(device)), Y[query],
                               aux[start:start + batch_size], support=support_rows)
        logits, r, t = forward_block(model, block)
        out["row"].append(torch.cat([support, query])[r].numpy())
        out["task"].append(t.numpy())
        out["y_true"].append(block.Y[r, t].numpy())
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
