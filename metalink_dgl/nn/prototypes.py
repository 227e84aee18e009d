"""Support prototypes: a task's revealed labels summarised as one vector in embedding space."""

from __future__ import annotations

import dgl
import torch
import torch.nn.functional as F

from ..kg.build import revealed_matrix


def label_mean_difference(z: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per task, the mean embedding of its positive revealed labels minus that of its negative ones.

    Parameters
    ----------
    z : Tensor, (B, D)
    labels, mask : Tensor, (B, T)
        Revealed labels (+1/-1) and where they are revealed (:func:`metalink_dgl.kg.revealed_matrix`).

    Returns
    -------
    Tensor, (T, D); a side with no revealed label counts as the zero vector.
    """

    def mean(select: torch.Tensor) -> torch.Tensor:
        return (select.T @ z) / select.sum(0).clamp(min=1)[:, None]

    return mean(mask * (labels > 0)) - mean(mask * (labels < 0))


def support_prototypes(kg: dgl.DGLGraph, z: torch.Tensor) -> torch.Tensor:
    r"""Each task node's :func:`label_mean_difference` over the revealed labels of ``kg``, rescaled
    to the norm of the ones vector, :math:`\sqrt{D}` (zeros for a task with no revealed label).

    Parameters
    ----------
    kg : DGLGraph
        Knowledge graph with B ``data`` and T_b ``task`` nodes, labels encoded as -1/+1.
    z : Tensor, (B, D)
        Data node features.

    Returns
    -------
    Tensor, (T_b, D)
    """
    labels, mask = revealed_matrix(kg)
    return F.normalize(label_mean_difference(z, labels.to(z.dtype), mask.to(z.dtype)), dim=-1) * z.shape[1] ** 0.5
