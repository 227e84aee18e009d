"""The block step: rows and their masks -> knowledge graph -> logits of the queried pairs.

Training, evaluation, ``predict``, few-shot episodes, the diagnostics and the benchmarks all
score through :func:`forward_block`. A :class:`Block` is the rows the knowledge graph of one
step is built over: their embeddings, labels and masks (:mod:`metalink_dgl.kg.masks`).
Outside training, a block is the support rows (meta settings) followed by query rows, made by
:meth:`Block.assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass

import dgl
import numpy as np
import torch

from ..kg.build import build_knowledge_graph
from ..kg.masks import Masks, make_masks, support_first
from ..kg.settings import Setting


@dataclass
class Support:
    """Labelled rows that open every block of an evaluation (meta settings).

    Attributes
    ----------
    z : Tensor, (S, D)
        Their embeddings, on the model's device.
    Y : Tensor, (S, T)
        Their labels (CPU), NaN where unknown or not shown.
    """

    z: torch.Tensor
    Y: torch.Tensor

    def __len__(self) -> int:
        return self.Y.shape[0]


@dataclass
class BlockGraph:
    """The knowledge graph of a block and the pairs it scores, on the embeddings' device.

    Attributes
    ----------
    kg : DGLGraph
        ``B`` data and ``T`` task nodes (:func:`~metalink_dgl.kg.build_knowledge_graph`).
    task_ids : LongTensor, (T,)
        Head of each task node; -1 for a new task.
    rows, tasks : LongTensor, (Q,)
        Block row and task of each queried pair (CPU).
    """

    kg: dgl.DGLGraph
    task_ids: torch.Tensor
    rows: torch.Tensor
    tasks: torch.Tensor


@dataclass
class Block:
    """The rows of one step.

    Attributes
    ----------
    z : Tensor, (B, D)
        Data embeddings (``model.embed``), on the model's device.
    Y : Tensor, (B, T)
        Labels (CPU) in model units (continuous ones standardised), NaN where unknown.
    masks : Masks
        Revealed and queried pairs, new tasks.
    continuous : BoolTensor, (T,), optional
        Continuous tasks; None when every task is binary.
    """

    z: torch.Tensor
    Y: torch.Tensor
    masks: Masks
    continuous: torch.Tensor | None = None

    @classmethod
    def assemble(cls, setting: Setting, targets: torch.Tensor, z: torch.Tensor, Y: torch.Tensor, aux: torch.Tensor,
                 *, support: Support | None = None, queried: torch.Tensor | None = None,
                 continuous: torch.Tensor | None = None) -> Block:
        """The support rows (if any) followed by R query rows, with the masks of ``setting``.

        Parameters
        ----------
        setting : Setting
        targets : BoolTensor, (T,)
            Tasks of interest (the held-out ones in the meta settings).
        z : Tensor, (R, D)
            Embeddings of the query rows.
        Y : Tensor, (R, T)
            Their labels, NaN where unknown.
        aux : BoolTensor, (R, T)
            Their auxiliary pairs (revealed in relational settings, never queried).
        support : Support, optional
            Rows that show their labels on ``targets``.
        queried : BoolTensor, (R, T), optional
            Pairs of the query rows to predict instead of the setting's (see
            :func:`~metalink_dgl.kg.make_masks`); support rows are never queried.
        continuous : BoolTensor, (T,), optional
            Continuous tasks (None: all binary).
        """
        S = 0 if support is None else len(support)
        if S:
            z, Y = torch.cat([support.z, z]), torch.cat([support.Y, Y])
        rows, aux = support_first(S, aux)
        if queried is not None:
            queried = support_first(S, queried)[1]
        masks = make_masks(Y, setting, targets=targets, aux=aux, support=rows, queried=queried)
        return cls(z, Y, masks, continuous)

    def graph(self) -> BlockGraph:
        """The knowledge graph of the revealed labels and the queried pairs."""
        device = self.z.device
        rows, tasks = self.masks.queried.nonzero(as_tuple=True)
        kg = build_knowledge_graph(self.masks.revealed.to(device), self.Y.to(device), self.continuous)
        T = self.Y.shape[1]
        task_ids = torch.where(self.masks.new_tasks, torch.full((T,), -1), torch.arange(T)).to(device)
        return BlockGraph(kg, task_ids, rows, tasks)


def forward_block(model: torch.nn.Module, block: Block, *, task_feats: torch.Tensor | None = None,
                  graph: BlockGraph | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the knowledge-graph part of ``model`` on one block.

    Parameters
    ----------
    model : MetaLink or a baseline (anything with ``score_pairs``)
    block : Block
    task_feats : Tensor, (T, D), optional
        Initial task node features instead of the model's heads (few-shot prototypes).
    graph : BlockGraph, optional
        ``block.graph()``, if the caller built it already (the benchmarks time it apart).

    Returns
    -------
    logits : Tensor, (Q,)
    rows, tasks : LongTensor, (Q,)
        Block row and task index of each queried pair (CPU).
    """
    graph = block.graph() if graph is None else graph
    device = block.z.device
    extra = {} if task_feats is None else {"task_feats": task_feats}  # MetaLink only; baselines have none
    logits = model.score_pairs(block.z, graph.kg, graph.task_ids, graph.rows.to(device), graph.tasks.to(device),
                               **extra)
    return logits, graph.rows, graph.tasks


@torch.no_grad()
def embed_support(model: torch.nn.Module, inputs, Y: torch.Tensor, rows: torch.Tensor, shown: torch.Tensor | None,
                  *, batch_size: int, device: torch.device) -> Support | None:
    """The support rows ``rows`` (S,) of ``inputs``, embedded ``batch_size`` at a time (None if S = 0).

    ``Y`` (N, T) holds their labels; only those in ``shown`` (S, T) are kept (default all).
    """
    if not len(rows):
        return None
    z = torch.cat([model.embed(inputs.batch(rows[i:i + batch_size]).to(device))
                   for i in range(0, len(rows), batch_size)])
    labels = Y[rows]
    return Support(z, labels if shown is None else labels.masked_fill(~shown, float("nan")))


def as_rows(idx) -> torch.Tensor:
    """Dataset row indices (any sequence or array) as a LongTensor."""
    return torch.as_tensor(np.asarray(idx), dtype=torch.long)
