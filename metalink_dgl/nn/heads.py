"""What every model shares: an encoder whose output is L2-normalised, a head per seen task, and
labels-as-features' input layer over the revealed labels (MetaLink's --data-init labels and the baseline)."""

from __future__ import annotations

import dgl
import torch
import torch.nn.functional as F
from torch import nn

from ..kg.build import revealed_matrix


class TaskHeadModel(nn.Module):
    """Base of :class:`~metalink_dgl.nn.MetaLink` and the baselines.

    Holds the encoder and one head per seen task: ``task_weight`` (T, D) and ``task_bias`` (T,).
    Subclasses add what they do with the knowledge graph (``score_pairs``) and call
    :meth:`reset_heads` from their ``reset_parameters``.

    Parameters
    ----------
    encoder : nn.Module
        Batched input -> (B, D).
    n_tasks : int
        Number of seen tasks ``T`` (0 allowed: every task is new).
    hidden : int
        Embedding size ``D``.
    """

    def __init__(self, encoder: nn.Module, n_tasks: int, hidden: int):
        super().__init__()
        self.encoder, self.n_tasks, self.hidden = encoder, n_tasks, hidden
        self.task_weight = nn.Parameter(torch.empty(n_tasks, hidden))
        self.task_bias = nn.Parameter(torch.empty(n_tasks))

    def reset_heads(self) -> None:
        """Xavier task weights, zero task biases."""
        nn.init.xavier_uniform_(self.task_weight)
        nn.init.zeros_(self.task_bias)

    def embed(self, inputs) -> torch.Tensor:
        """Encoder output, L2-normalised: (B, D)."""
        return F.normalize(self.encoder(inputs), dim=-1)


def mix_revealed_labels(mix: nn.Linear, z: torch.Tensor, kg: dgl.DGLGraph, task_ids: torch.Tensor,
                        n_tasks: int) -> torch.Tensor:
    r""":math:`\mathrm{ReLU}(V [z_i \| y_i \| m_i])`, labels-as-features' input layer, (B, D).

    ``y_i`` (T,) holds data node i's revealed labels on the seen tasks, in head order (+1/-1 for a
    binary label, the standardised value for a continuous one, 0 where not revealed) and ``m_i``
    (T,) where they are revealed, read from the knowledge graph ``kg``: :math:`V [z_i \| y_i \| m_i]
    = V_z z_i + \sum_t (y_{it} a_t + c_t)` over i's label edges. A task node with
    ``task_ids == -1`` (a new task) has no column and is left out.

    Parameters
    ----------
    mix : nn.Linear
        ``V``, from ``D + 2 T`` to its output size.
    z : Tensor, (B, D)
    kg : DGLGraph
        B data and T_b task nodes.
    task_ids : LongTensor, (T_b,)
        Head of each task node, -1 for a new task.
    n_tasks : int
        ``T``, the number of heads.
    """
    labels, mask = revealed_matrix(kg)
    seen = task_ids >= 0
    columns = z.new_zeros(2, len(z), n_tasks)
    columns[:, :, task_ids[seen]] = torch.stack([labels[:, seen], mask[:, seen]]).to(z.dtype)
    return torch.relu(mix(torch.cat([z, columns[0], columns[1]], dim=-1)))
