"""The training loss of the queried pairs: BCE on binary tasks, MSE on standardised continuous ones."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def label_loss(logits: torch.Tensor, target: torch.Tensor, continuous: torch.Tensor | None = None) -> torch.Tensor:
    """BCE over the binary pairs plus MSE over the continuous pairs, each averaged over its own pairs.

    Parameters
    ----------
    logits : Tensor, (Q,)
        Model outputs of the queried pairs.
    target : Tensor, (Q,)
        0/1 for a binary pair, the standardised value for a continuous one.
    continuous : BoolTensor, (Q,), optional
        Which pairs are continuous; None: all binary (then exactly the mean BCE).
    """
    if continuous is None or not bool(continuous.any()):
        return F.binary_cross_entropy_with_logits(logits, target)
    loss = F.mse_loss(logits[continuous], target[continuous])
    if not bool(continuous.all()):
        loss = loss + F.binary_cross_entropy_with_logits(logits[~continuous], target[~continuous])
    return loss
