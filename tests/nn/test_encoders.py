import dgl
import pandas as pd
import pytest
import torch
from dgllife.model.gnn import MPNNGNN

from metalink_dgl.data import BUNDLED, FEATURIZERS
from metalink_dgl.data.molecules import quiet_rdkit
from metalink_dgl.nn.encoders import ENCODERS, build_encoder
from metalink_dgl.nn.mpnn import EdgeTypeMPNNGNN


def _batch(featurizer: str, n: int = 40) -> dgl.DGLGraph:
    """The first ``n`` Tox21 molecules and a salt with no bonds, batched."""
    with BUNDLED["tox21"].path() as path:
        smiles = list(pd.read_csv(path).smiles[:n]) + ["[Na+].[Cl-]"]
    make = FEATURIZERS[featurizer].graph_maker()
    with quiet_rdkit():
        graphs = [g for g in map(make, smiles) if g is not None]
    return dgl.batch(graphs)


def _twins(edge_feat_size: int) -> tuple[MPNNGNN, EdgeTypeMPNNGNN]:
    spec = FEATURIZERS["canonical"]
    torch.manual_seed(0)
    ref = MPNNGNN(spec.node_feat_size, edge_feat_size, node_out_feats=64, edge_hidden_feats=128,
                  num_step_message_passing=3)
    ours = EdgeTypeMPNNGNN(spec.node_feat_size, edge_feat_size, node_out_feats=64, edge_hidden_feats=128,
                           num_step_message_passing=3)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("edges", ["bond one-hots", "continuous"])
def test_edge_type_mpnn_matches_dgllife_outputs_and_gradients(edges):
    g = _batch("canonical")
    e = g.edata["e"] if edges == "bond one-hots" else torch.randn(g.num_edges(), 5)
    # one-hot bonds take the per-edge-type path (few distinct rows), continuous ones the per-edge path
    distinct = len(torch.unique(e, dim=0))
    assert (distinct < 20) == (edges == "bond one-hots")
    ref, ours = _twins(e.shape[1])
    outs = []
    for model in (ref, ours):
        out = model(g, g.ndata["h"], e)
        (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
        outs.append(out)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    for (name, a), (_, b) in zip(ref.named_parameters(), ours.named_parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_every_encoder_embeds_each_molecule_once(name):
    g = _batch(ENCODERS[name].featurizer, n=10)
    encoder = build_encoder(name, FEATURIZERS[ENCODERS[name].featurizer], hidden=32).eval()
    z = encoder(g)
    assert z.shape == (g.batch_size, 32) and torch.isfinite(z).all()
    # a molecule's embedding does not depend on the rest of the batch
    alone = encoder(dgl.batch(dgl.unbatch(g)[:3]))
    torch.testing.assert_close(alone, z[:3], rtol=1e-4, atol=1e-5)
