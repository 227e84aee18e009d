"""Baseline++ (Chen et al., 2019) for the meta setting, as the paper adapts it (section 4.1).

The encoder is trained on the seen tasks like ERM (``--layers 0``, the standard setting on
seen tasks only). At test time it is frozen, and each held-out task gets a new cosine
classifier :math:`s \\cos(z_i, w_j) + b_j` fitted to the support examples' labels; the query
examples are scored with it on exactly the pairs MetaLink is scored on.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .settings import Masks, Setting, make_masks

#: Baseline++ head fitting: Adam steps and learning rate on the frozen support embeddings.
HEAD_STEPS, HEAD_LR = 200, 0.05


def fit_cosine_heads(z: torch.Tensor, Y: torch.Tensor, seed: int = 0) -> torch.nn.Module:
    """Fit one cosine classifier per task to the labelled entries of ``Y``.

    Parameters
    ----------
    z : Tensor, (S, D)
        Frozen support embeddings.
    Y : Tensor, (S, T)
        Their labels on the T tasks, NaN where unknown.
    seed : int
        Seed of the heads' initialisation.

    Returns
    -------
    nn.Module
        ``heads(z) -> (B, T)`` logits.
    """
    generator = torch.Generator().manual_seed(seed)
    heads = CosineHeads(torch.randn(Y.shape[1], z.shape[1], generator=generator).to(z.device))
    observed = ~torch.isnan(Y)
    target = torch.nan_to_num(Y).to(z.device)
    optimizer = torch.optim.Adam(heads.parameters(), lr=HEAD_LR)
    with torch.enable_grad():
        for _ in range(HEAD_STEPS):
            loss = F.binary_cross_entropy_with_logits(heads(z), target, weight=observed.float().to(z.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return heads.eval()


class CosineHeads(torch.nn.Module):
    """``scale * cos(z_i, w_j) + b_j`` for T tasks (Baseline++'s classifier), scale starting at 10."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = torch.nn.Parameter(weight)
        self.bias = torch.nn.Parameter(weight.new_zeros(weight.shape[0]))
        self.scale = torch.nn.Parameter(weight.new_tensor(10.0))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, T) logits."""
        return self.scale * F.normalize(z, dim=-1) @ F.normalize(self.weight, dim=-1).T + self.bias


@torch.no_grad()
def score_support_heads(model, inputs, Y: torch.Tensor, rows: torch.Tensor, aux: torch.Tensor, setting: Setting,
                        targets: torch.Tensor, support: torch.Tensor, *, batch_size: int,
                        device: torch.device) -> dict:
    """Baseline++'s counterpart of :func:`metalink_dgl.evaluation.score_rows` (same arguments and output).

    The queried pairs are those of :func:`~metalink_dgl.settings.make_masks` for the block
    (query rows only), so both methods are scored on identical pairs; revealed labels of
    query rows are not used.
    """
    model.eval()
    z_support = model.embed(inputs.batch(support).to(device))
    heads = fit_cosine_heads(z_support, Y[support][:, targets])
    target_idx = targets.nonzero().flatten()
    out: dict[str, list] = {"row": [], "task": [], "y_true": [], "prob": []}
    for start in range(0, len(rows), batch_size):
        query = rows[start:start + batch_size]
        Yq = Y[query]
        masks: Masks = make_masks(Yq, setting, targets=targets, aux=aux[start:start + batch_size])
        r, t = masks.queried.nonzero(as_tuple=True)
        prob = torch.sigmoid(heads(model.embed(inputs.batch(query).to(device)))).cpu()  # (B, T_held)
        column = torch.full((Y.shape[1],), -1, dtype=torch.long)
        column[target_idx] = torch.arange(len(target_idx))
        out["row"].append(query[r].numpy())
        out["task"].append(t.numpy())
        out["y_true"].append(Yq[r, t].numpy())
        out["prob"].append(prob[r, column[t]].numpy())
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}
