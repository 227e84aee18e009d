"""Minibatch -> knowledge graph: ``data`` and ``task`` nodes joined by revealed labels.

Queried labels are never edges. Names and the label encoding are those of :mod:`.schema`.
"""

from __future__ import annotations

import dgl
import torch

from .schema import DATA, LABEL, LABELS, REV_LABELS, TASK, decode_labels, encode_labels


def build_knowledge_graph(revealed: torch.Tensor, Y: torch.Tensor,
                          continuous: torch.Tensor | None = None) -> dgl.DGLGraph:
    """Build the knowledge graph of one block of examples.

    Parameters
    ----------
    revealed : BoolTensor, (B, T)
        Which labels are edges. Must lie within the observed entries of ``Y``.
    Y : Tensor, (B, T)
        Labels, NaN where unknown: 0/1 for a binary task, the standardised value for a
        continuous one.
    continuous : BoolTensor, (T,), optional
        Continuous tasks; None when every task is binary.

    Returns
    -------
    DGLGraph
        Heterograph with ``B`` data nodes and ``T`` task nodes (also when no label is
        revealed), on ``Y``'s device, with ``edata[LABEL]`` of shape (E, F) on both edge types
        (F = 1 with binary tasks only, else 3; :func:`~metalink_dgl.kg.schema.encode_labels`).

    Examples
    --------
    >>> import torch
    >>> Y = torch.tensor([[1.0, 0.0], [float("nan"), 1.0], [0.0, float("nan")]])
    >>> g = build_knowledge_graph(~torch.isnan(Y), Y)
    >>> g.num_nodes("data"), g.num_nodes("task"), g.num_edges("labels")
    (3, 2, 4)
    """
    B, T = Y.shape
    data_idx, task_idx = revealed.nonzero(as_tuple=True)
    g = dgl.heterograph(
        {LABELS: (data_idx, task_idx), REV_LABELS: (task_idx, data_idx)},
        num_nodes_dict={DATA: B, TASK: T},
        idtype=torch.int64,
        device=Y.device,
    )
    label = encode_labels(Y[data_idx, task_idx].float(),
                          None if continuous is None else continuous.to(Y.device)[task_idx])
    if torch.isnan(label).any():
        raise ValueError("a revealed label is NaN: the revealed mask must lie within observed labels")
    g.edges[LABELS[1]].data[LABEL] = label
    g.edges[REV_LABELS[1]].data[LABEL] = label
    return g


def revealed_matrix(kg: dgl.DGLGraph) -> tuple[torch.Tensor, torch.Tensor]:
    """The revealed labels of a knowledge graph as dense (B, T) matrices (B data, T task nodes).

    Returns
    -------
    labels : Tensor, (B, T)
        The edge label (+1 / -1 for a binary label, the standardised value for a continuous
        one; :func:`~metalink_dgl.kg.schema.decode_labels`) where revealed, 0 elsewhere.
    mask : Tensor, (B, T)
        1 where a label is revealed, 0 elsewhere.
    """
    src, dst = kg.edges(etype=LABELS)
    y = decode_labels(kg.edges[LABELS[1]].data[LABEL])
    shape = (kg.num_nodes(DATA), kg.num_nodes(TASK))
    labels = y.new_zeros(shape).index_put_((src, dst), y)
    mask = y.new_zeros(shape).index_put_((src, dst), torch.ones_like(y))
    return labels, mask
