"""What every model shares: an encoder whose output is L2-normalised, and a head per seen task."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
