"""f_theta: molecule encoders from dgllife, each paired with the featurizer it needs.

Every encoder maps a batched molecule graph to one embedding per molecule, (B, D). The
registry :data:`ENCODERS` maps a CLI name to its featurizer (a key of
:data:`metalink_dgl.data.FEATURIZERS`) and a builder; its keys are the ``--encoder``
choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import dgl
import torch
from dgl.nn.pytorch.glob import Set2Set, SumPooling
from dgllife.model.gnn import GCN, GIN, MPNNGNN, AttentiveFPGNN
from dgllife.model.readout import AttentiveFPReadout, WeightedSumAndMax
from torch import nn
from torch.nn import functional as F

from ..data.featurize import FEATURIZERS, FeaturizerSpec


class MoleculeEncoder(nn.Module):
    """GNN -> readout -> linear projection to ``out_feats``.

    Parameters
    ----------
    gnn : nn.Module
        Node-level GNN; called as ``gnn(g, *inputs(g))``.
    readout : nn.Module
        Graph readout, called as ``readout(g, node_h)`` -> (B, readout_feats).
    readout_feats : int
    out_feats : int
        Embedding size ``D``.
    inputs : callable
        ``g -> tuple`` of the GNN's feature arguments, read from ``g.ndata``/``g.edata``.
    dropout : float
    """

    def __init__(self, gnn: nn.Module, readout: nn.Module, readout_feats: int, out_feats: int,
                 inputs: Callable[[dgl.DGLGraph], tuple], dropout: float = 0.0):
        super().__init__()
        self.gnn, self.readout, self.inputs = gnn, readout, inputs
        self.project = nn.Sequential(nn.Dropout(dropout), nn.Linear(readout_feats, out_feats))
        self.out_feats = out_feats

    def forward(self, g: dgl.DGLGraph) -> torch.Tensor:
        """Batched graph of B molecules -> (B, out_feats)."""
        node_h = self.gnn(g, *self.inputs(g))
        return self.project(self.readout(g, node_h))


class _Readout(nn.Module):
    """Adapter so that readouts with a different call signature look like ``readout(g, h)``."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        return self.module(g, h)


class _AttentiveFPReadout(_Readout):
    def forward(self, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        return self.module(g, h, get_node_weight=False)


def _gcn(spec: FeaturizerSpec, hidden: int, dropout: float) -> MoleculeEncoder:
    gnn = GCN(spec.node_feat_size, hidden_feats=[hidden] * 3, residual=[True] * 3, batchnorm=[True] * 3,
              dropout=[dropout] * 3, allow_zero_in_degree=[True] * 3)
    return MoleculeEncoder(gnn, WeightedSumAndMax(hidden), 2 * hidden, hidden,
                           lambda g: (g.ndata["h"],), dropout)


def _gin(spec: FeaturizerSpec, hidden: int, dropout: float) -> MoleculeEncoder:
    node_keys, edge_keys = list(spec.node_vocab), list(spec.edge_vocab)
    gnn = GIN(list(spec.node_vocab.values()), list(spec.edge_vocab.values()), num_layers=5, emb_dim=hidden,
              JK="last", dropout=dropout)
    return MoleculeEncoder(
        gnn, _Readout(SumPooling()), hidden, hidden,
        lambda g: ([g.ndata[k] for k in node_keys], [g.edata[k] for k in edge_keys]),
        dropout,
    )


class EdgeTypeMPNNGNN(MPNNGNN):
    """dgllife's :class:`~dgllife.model.gnn.MPNNGNN`, computed per distinct edge feature vector.

    Same parameters, same outputs and gradients (up to float rounding; tested against
    dgllife's forward). dgllife evaluates the edge network on every edge in every step and
    materialises (E, D, D) messages; bond features are one-hot, so a batch has only a few
    distinct edge feature rows U (14 in a 128-molecule Tox21 batch). Here the edge network
    runs once on the U rows, each step multiplies every node by the U matrices, (V, U, D), and
    each edge gathers its (source, edge type) row. When U is large (``V * U > E * D``) the
    per-edge (E, D, D) matrices are gathered instead.
    """

    def forward(self, g: dgl.DGLGraph, node_feats: torch.Tensor, edge_feats: torch.Tensor) -> torch.Tensor:
        """(V, node_in_feats) node and (E, edge_in_feats) edge features -> (V, node_out_feats)."""
        conv = self.gnn_layer
        dim = conv._out_feats
        rows, edge_type = torch.unique(edge_feats, dim=0, return_inverse=True)
        weights = conv.edge_func(rows).view(-1, dim, dim)                  # (U, D, D)
        src, dst = (idx.long() for idx in g.edges())
        per_type = g.num_nodes() * len(rows) <= g.num_edges() * dim
        if not per_type:
            weights = weights[edge_type]                                    # (E, D, D)
        node_feats = self.project_node_feats(node_feats)                   # (V, D)
        hidden = node_feats.unsqueeze(0)
        for _ in range(self.num_step_message_passing):
            if per_type:
                messages = torch.einsum("vd,ude->vue", node_feats, weights)[src, edge_type]
            else:
                messages = torch.bmm(node_feats[src].unsqueeze(1), weights).squeeze(1)
            summed = torch.zeros_like(node_feats).index_add_(0, dst, messages)  # sum over in-edges
            node_feats, hidden = self.gru(F.relu(summed + conv.bias).unsqueeze(0), hidden)
            node_feats = node_feats.squeeze(0)
        return node_feats


def _mpnn(spec: FeaturizerSpec, hidden: int, dropout: float) -> MoleculeEncoder:
    # The edge network makes a (64 x 64) matrix per edge type: the node size stays at dgllife's 64.
    node_out = 64
    gnn = EdgeTypeMPNNGNN(spec.node_feat_size, spec.edge_feat_size, node_out_feats=node_out, edge_hidden_feats=128,
                  num_step_message_passing=3)
    return MoleculeEncoder(gnn, _Readout(Set2Set(node_out, n_iters=3, n_layers=1)), 2 * node_out, hidden,
                           lambda g: (g.ndata["h"], g.edata["e"]), dropout)


def _attentivefp(spec: FeaturizerSpec, hidden: int, dropout: float) -> MoleculeEncoder:
    gnn = AttentiveFPGNN(spec.node_feat_size, spec.edge_feat_size, num_layers=2, graph_feat_size=hidden,
                         dropout=dropout)
    return MoleculeEncoder(gnn, _AttentiveFPReadout(AttentiveFPReadout(hidden, num_timesteps=2, dropout=dropout)),
                           hidden, hidden, lambda g: (g.ndata["h"], g.edata["e"]), dropout)


@dataclass(frozen=True)
class EncoderSpec:
    """An ``--encoder`` choice: the featurizer it reads and how to build it."""

    featurizer: str
    build: Callable[[FeaturizerSpec, int, float], MoleculeEncoder]


ENCODERS: dict[str, EncoderSpec] = {
    "gcn": EncoderSpec("canonical", _gcn),
    "gin": EncoderSpec("pretrain", _gin),
    "mpnn": EncoderSpec("canonical", _mpnn),
    "attentivefp": EncoderSpec("attentivefp", _attentivefp),
}


def build_encoder(name: str, hidden: int, dropout: float = 0.0) -> MoleculeEncoder:
    """Build the encoder ``name`` (output size ``hidden``) for graphs made by its featurizer."""
    spec = ENCODERS[name]
    return spec.build(FEATURIZERS[spec.featurizer], hidden, dropout)
