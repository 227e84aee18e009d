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


def shard_loss(logits: torch.Tensor, target: torch.Tensor, continuous: torch.Tensor | None, *, n_binary: int,
               n_continuous: int, world_size: int) -> torch.Tensor:
    """One rank's share of :func:`label_loss` of a minibatch whose queried pairs are split over ``world_size`` ranks.

    ``world_size * (BCE summed over this rank's binary pairs / n_binary + squared error summed
    over its continuous pairs / n_continuous)``, where the counts are those of the whole
    minibatch. DDP averages the ranks' gradients, so the averaged gradient is the gradient of
    :func:`label_loss` on the whole minibatch however the pairs fall on the ranks (a rank with
    no queried pair contributes a zero loss that still runs backward). Batch norm is the
    exception: its statistics are each rank's own rows.

    Parameters
    ----------
    logits, target : Tensor, (Q_r,)
        This rank's queried pairs (possibly none).
    continuous : BoolTensor, (Q_r,), optional
        Which of them are continuous; None: all binary.
    n_binary, n_continuous : int
        Binary and continuous queried pairs of the whole minibatch, over all ranks.
    """
    binary = None if continuous is None else ~continuous
    loss = logits.sum() * 0.0
    if n_binary:
        pairs = slice(None) if binary is None else binary
        loss = loss + F.binary_cross_entropy_with_logits(logits[pairs], target[pairs], reduction="sum") / n_binary
    if n_continuous:
        loss = loss + F.mse_loss(logits[continuous], target[continuous], reduction="sum") / n_continuous
    return loss * world_size
