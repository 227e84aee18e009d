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


def ridge_heads(z: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    r"""Per task, the ridge regression head fitted to its revealed labels, in closed form:

    .. math:: w_t = \arg\min_w \sum_i m_{it} (z_i^\top w - y_{it})^2 + \lambda_t \|w\|^2
              = (Z^\top M_t Z + \lambda_t I)^{-1} Z^\top M_t y_t,

    with :math:`\lambda_t` ``strength`` times the mean eigenvalue of :math:`Z^\top M_t Z` (its trace
    over D), so the fit does not depend on the scale of ``z``. Solved as T systems of size
    min(B, D) (:func:`ridge_in_feature_space`, or with B < D :func:`ridge_in_sample_space`: the
    same solution). Differentiable in ``z`` (R2-D2,
    Bertinetto et al., ICLR 2019). As ``strength`` grows the direction tends to
    :math:`Z^\top M_t y_t`: the label-weighted sum that :func:`label_mean_difference` averages.

    Parameters
    ----------
    z : Tensor, (B, D)
    labels, mask : Tensor, (B, T)
        Revealed labels (+1/-1, or a standardised value) and where they are revealed.
    strength : float
        Relative ridge penalty (> 0).

    Returns
    -------
    Tensor, (T, D); zeros for a task with no revealed label.
    """
    return ridge_solver(*z.shape)(z, mask * labels, mask, ridge_penalty(z, mask, strength))


def ridge_penalty(z: torch.Tensor, mask: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """:func:`ridge_heads`' penalty per task, (T, 1, 1): ``strength`` times tr(Z^T M_t Z) / D
    (floored above zero, so a task with no revealed label solves to zeros)."""
    penalty = strength * (mask.T @ z.square().sum(1)) / z.shape[1]
    return penalty.clamp(min=torch.finfo(z.dtype).tiny ** 0.5)[:, None, None]


def ridge_solver(rows: int, dim: int):
    """The form :func:`ridge_heads` solves ``rows`` embeddings of width ``dim`` with: the smaller
    systems, :func:`ridge_in_sample_space` when rows < dim, else :func:`ridge_in_feature_space`."""
    return ridge_in_sample_space if rows < dim else ridge_in_feature_space


def ridge_in_feature_space(z: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                           penalty: torch.Tensor) -> torch.Tensor:
    """:func:`ridge_heads` from T systems of size D x D; ``targets`` (B, T) = M y, ``penalty`` (T, 1, 1)."""
    gram = torch.einsum("bt,bd,be->tde", mask, z, z)  # (T, D, D)
    eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    return torch.linalg.solve(gram + penalty * eye, targets.T @ z)


def ridge_in_sample_space(z: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                          penalty: torch.Tensor) -> torch.Tensor:
    r""":func:`ridge_heads` from T systems of size B x B (push-through identity, same solution):
    :math:`w_t = Z^\top (M_t Z Z^\top + \lambda_t I)^{-1} M_t y_t`; a row off the support solves to 0."""
    kernel = mask.T[:, :, None] * (z @ z.T)  # (T, B, B)
    eye = torch.eye(z.shape[0], dtype=z.dtype, device=z.device)
    return torch.linalg.solve(kernel + penalty * eye, targets.T) @ z


SUPPORT_SUMMARIES = {"prototype": label_mean_difference, "ridge": ridge_heads}


def support_prototypes(kg: dgl.DGLGraph, z: torch.Tensor, tasks: torch.Tensor | None = None,
                       summary: str = "prototype") -> torch.Tensor:
    r"""Task nodes' summaries of their revealed labels in ``kg``: :func:`label_mean_difference`
    (``summary="prototype"``) or :func:`ridge_heads` (``"ridge"``), rescaled to the norm of the
    ones vector, :math:`\sqrt{D}` (zeros for a task with no revealed label).

    Parameters
    ----------
    kg : DGLGraph
        Knowledge graph with B ``data`` and T_b ``task`` nodes, labels encoded as -1/+1.
    z : Tensor, (B, D)
        Data node features.
    tasks : LongTensor, (T,), optional
        The task nodes to summarise (default: all T_b).
    summary : {"prototype", "ridge"}

    Returns
    -------
    Tensor, (T, D)
    """
    labels, mask = revealed_matrix(kg)
    if tasks is not None:
        labels, mask = labels[:, tasks], mask[:, tasks]
    heads = SUPPORT_SUMMARIES[summary](z, labels.to(z.dtype), mask.to(z.dtype))
    return F.normalize(heads, dim=-1) * z.shape[1] ** 0.5
