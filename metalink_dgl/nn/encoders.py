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


def _mpnn(spec: FeaturizerSpec, hidden: int, dropout: float) -> MoleculeEncoder:
    # The edge network makes a (64 x 64) matrix per edge: keep the node size at 64 for CPU.
    node_out = 64
    gnn = MPNNGNN(spec.node_feat_size, spec.edge_feat_size, node_out_feats=node_out, edge_hidden_feats=128,
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
