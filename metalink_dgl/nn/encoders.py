"""f_theta: molecule encoders from dgllife, each paired with the featurizer it needs.

Every encoder maps a batched molecule graph to one embedding per molecule, (B, D). The
registry :data:`ENCODERS` maps a CLI name to the name of the featurizer it reads (a key of
:data:`metalink_dgl.data.FEATURIZERS`) and a builder; its keys are the ``--encoder``
choices. The featurizer itself is given to :func:`build_encoder` by the caller (anything
with the :class:`GraphFeatures` attributes), so this layer never looks data up.

dgllife is imported when an encoder is built, not with this module: importing dgllife loads its
datasets and scikit-learn, which the layers of :mod:`metalink_dgl.nn` do not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import dgl
import torch
from dgl.nn.pytorch.glob import Set2Set, SumPooling
from torch import nn


class GraphFeatures(Protocol):
    """What an encoder needs to know of its featurizer (:class:`metalink_dgl.data.FeaturizerSpec` has it).

    ``node_feat_size`` / ``edge_feat_size``: widths of the dense features (for a categorical
    featurizer, the number of categorical keys); ``node_vocab`` / ``edge_vocab``: categories
    per key of a categorical featurizer (empty when dense).
    """

    node_feat_size: int
    edge_feat_size: int
    node_vocab: dict[str, int]
    edge_vocab: dict[str, int]


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
    """dgllife's AttentiveFP readout, without its node weights."""

    def forward(self, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        return self.module(g, h, get_node_weight=False)


def _gcn(spec: GraphFeatures, hidden: int, dropout: float) -> MoleculeEncoder:
    from dgllife.model.gnn import GCN
    from dgllife.model.readout import WeightedSumAndMax

    gnn = GCN(spec.node_feat_size, hidden_feats=[hidden] * 3, residual=[True] * 3, batchnorm=[True] * 3,
              dropout=[dropout] * 3, allow_zero_in_degree=[True] * 3)
    return MoleculeEncoder(gnn, WeightedSumAndMax(hidden), 2 * hidden, hidden,
                           lambda g: (g.ndata["h"],), dropout)


def _gin(spec: GraphFeatures, hidden: int, dropout: float) -> MoleculeEncoder:
    from dgllife.model.gnn import GIN

    node_keys, edge_keys = list(spec.node_vocab), list(spec.edge_vocab)
    gnn = GIN(list(spec.node_vocab.values()), list(spec.edge_vocab.values()), num_layers=5, emb_dim=hidden,
              JK="last", dropout=dropout)
    return MoleculeEncoder(
        gnn, _Readout(SumPooling()), hidden, hidden,
        lambda g: ([g.ndata[k] for k in node_keys], [g.edata[k] for k in edge_keys]),
        dropout,
    )


def _mpnn(spec: GraphFeatures, hidden: int, dropout: float) -> MoleculeEncoder:
    from .mpnn import EdgeTypeMPNNGNN

    # The edge network makes a (64 x 64) matrix per edge type: the node size stays at dgllife's 64.
    node_out = 64
    gnn = EdgeTypeMPNNGNN(spec.node_feat_size, spec.edge_feat_size, node_out_feats=node_out, edge_hidden_feats=128,
                  num_step_message_passing=3)
    return MoleculeEncoder(gnn, _Readout(Set2Set(node_out, n_iters=3, n_layers=1)), 2 * node_out, hidden,
                           lambda g: (g.ndata["h"], g.edata["e"]), dropout)


def _attentivefp(spec: GraphFeatures, hidden: int, dropout: float) -> MoleculeEncoder:
    from dgllife.model.gnn import AttentiveFPGNN
    from dgllife.model.readout import AttentiveFPReadout

    gnn = AttentiveFPGNN(spec.node_feat_size, spec.edge_feat_size, num_layers=2, graph_feat_size=hidden,
                         dropout=dropout)
    return MoleculeEncoder(gnn, _AttentiveFPReadout(AttentiveFPReadout(hidden, num_timesteps=2, dropout=dropout)),
                           hidden, hidden, lambda g: (g.ndata["h"], g.edata["e"]), dropout)


@dataclass(frozen=True)
class EncoderSpec:
    """An ``--encoder`` choice: the featurizer it reads and how to build it."""

    featurizer: str
    build: Callable[[GraphFeatures, int, float], MoleculeEncoder]


ENCODERS: dict[str, EncoderSpec] = {
    "gcn": EncoderSpec("canonical", _gcn),
    "gin": EncoderSpec("pretrain", _gin),
    "mpnn": EncoderSpec("canonical", _mpnn),
    "attentivefp": EncoderSpec("attentivefp", _attentivefp),
}


def build_encoder(name: str, features: GraphFeatures, hidden: int, dropout: float = 0.0) -> MoleculeEncoder:
    """Build the encoder ``name`` (output size ``hidden``) for graphs made by its featurizer, whose
    feature sizes ``features`` gives (``FEATURIZERS[ENCODERS[name].featurizer]``)."""
    return ENCODERS[name].build(features, hidden, dropout)
