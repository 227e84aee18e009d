"""compact: the stored codes expand to exactly the tensors dgllife gives, for every featurizer and bundled dataset."""

from __future__ import annotations

import dgl
import numpy as np
import pytest
import torch
from dgllife.utils import smiles_to_bigraph

from metalink_dgl.data import FEATURIZERS, featurize
from metalink_dgl.data.compact import encode, merge_layouts
from metalink_dgl.data.molecules import quiet_rdkit

DATASETS = ("tox21", "sider", "toxcast", "adme")


def _spread(dataset, n: int = 120):
    """``n`` molecules spread over the whole file (not just its first rows)."""
    return dataset.subset(np.unique(np.linspace(0, len(dataset) - 1, n).astype(np.int64)))


@pytest.mark.parametrize("dataset", DATASETS)
def test_expanded_batch_is_dgllifes_graph_bit_for_bit(dataset, request):
    data = _spread(request.getfixturevalue(dataset))
    order = np.random.default_rng(0).permutation(len(data))  # a shuffled minibatch, as in training
    for name, spec in FEATURIZERS.items():
        graphs = featurize(data, name, progress=False, cache=False, chunk_size=64)
        with quiet_rdkit():
            ref = dgl.batch([smiles_to_bigraph(data.smiles[i], add_self_loop=spec.add_self_loop,
                                               node_featurizer=spec.make_atom(), edge_featurizer=spec.make_bond())
                             for i in order])
        g = graphs.batch(order)
        for mine, theirs in zip(g.edges(), ref.edges()):  # int64, as the bank always gave (dgllife's are int32)
            assert mine.dtype == torch.int64 and torch.equal(mine, theirs.long()), name
        assert torch.equal(g.batch_num_nodes(), ref.batch_num_nodes())
        assert torch.equal(g.batch_num_edges(), ref.batch_num_edges())
        for mine, theirs in ((g.ndata, ref.ndata), (g.edata, ref.edata)):
            assert set(mine.keys()) == set(theirs.keys())
            for key in theirs.keys():
                assert mine[key].dtype == theirs[key].dtype and torch.equal(mine[key], theirs[key]), (name, key)
                assert mine[key].numpy().tobytes() == theirs[key].numpy().tobytes(), (name, key)  # bit for bit


def test_canonical_codes_are_small(tox21):
    graphs = featurize(_spread(tox21, 300), "canonical", progress=False, cache=False)
    h, e = graphs.node_feats["h"], graphs.edge_feats["e"]
    assert h.codes.dtype == np.uint8 and h.values.dtype == np.int8 and e.values.dtype == np.int8
    assert h.codes.shape[1] + h.values.shape[1] == len(FEATURIZERS["canonical"].blocks("node")["h"])
    assert graphs.nbytes / len(graphs) < 1536  # vs ~12 KB of float32 one-hots


@pytest.mark.parametrize("block", [
    [[0, 1, 1], [0, 0, 1]],          # two 1s in a row: not one-hot
    [[0, 2, 0], [1, 0, 0]],          # a 2
    [[0, -1, 0], [1, 0, 0]],         # a negative value
    [[0, 0.5, 0], [1, 0, 0]],        # a fraction
    [[-0.0, 1, 0], [1, 0, 0]],       # a negative zero
    [[np.nan, 0, 0], [1, 0, 0]],     # NaN
    [[300, 0, 0], [1, 0, 0]],        # beyond int8
])
def test_anything_that_is_not_one_hot_is_stored_exactly(block):
    x = np.array(block, dtype=np.float32)
    x = np.concatenate([x, np.eye(2, dtype=np.float32)], axis=1)  # plus a real one-hot block
    column = encode(x, [(0, 3), (3, 2)])
    assert column.layout.onehot == ((3, 2),)
    back = column.take(np.arange(2)).numpy()
    assert back.dtype == x.dtype and back.tobytes() == x.tobytes()


def test_merged_layout_holds_every_part():
    onehot = np.array([[1, 0], [0, 1]], dtype=np.float32)
    parts = [encode(onehot, [(0, 2)]), encode(np.array([[1, 1]], dtype=np.float32), [(0, 2)]),
             encode(np.array([[-200, 0]], dtype=np.float32), [(0, 2)])]
    layout = merge_layouts([p.layout for p in parts])
    assert layout.onehot == () and layout.values_dtype == "int16"
    whole = encode(np.concatenate([onehot, [[1, 1]], [[-200, 0]]]).astype(np.float32), [(0, 2)])
    assert whole.layout == layout
    for part in parts:
        assert torch.equal(part.to_layout(layout).take(np.arange(len(part))), part.take(np.arange(len(part))))
