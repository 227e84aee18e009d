"""featurize: dgllife features in a flat compact graph bank, vectorised batching, and the checked disk cache."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging

import dgl
import numpy as np
import pytest
import torch
from dgllife.utils import smiles_to_bigraph

from metalink_dgl.data import FEATURIZERS, MoleculeDataset, MoleculeGraphs, default_cache_dir, featurize, store
from metalink_dgl.errors import MetaLinkError

# The module, not the function of the same name that metalink_dgl.data exports.
featurize_module = importlib.import_module("metalink_dgl.data.featurize")

IONS = ["[Na+]", "[Cl-].[Na+]", "CCO", "C", "O=C(O)c1ccccc1"]


@pytest.fixture(scope="module")
def small(tox21) -> MoleculeDataset:
    """200 real Tox21 molecules."""
    return tox21.subset(np.arange(200))


@pytest.fixture(scope="module")
def ions() -> MoleculeDataset:
    """Molecules without bonds (single ions, salts) next to ordinary ones."""
    n = len(IONS)
    return MoleculeDataset("ions", "test", list(IONS), np.zeros((n, 1), np.float32), ["t"],
                           np.arange(2, n + 2, dtype=np.int64))


def _same_graphs(a: MoleculeGraphs, b: MoleculeGraphs) -> None:
    """Every stored array and layout equal (hence every expanded feature too)."""
    assert a.layouts() == b.layouts() and a.featurizer == b.featurizer
    mine, theirs = a.arrays(), b.arrays()
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert mine[name].dtype == theirs[name].dtype and np.array_equal(mine[name], theirs[name]), name


def _same_graph(g: dgl.DGLGraph, ref: dgl.DGLGraph) -> None:
    assert g.num_nodes() == ref.num_nodes() and g.num_edges() == ref.num_edges()
    for mine, theirs in zip(g.edges(), ref.edges()):
        assert torch.equal(mine.long(), theirs.long())
    assert torch.equal(g.batch_num_nodes(), ref.batch_num_nodes())
    assert torch.equal(g.batch_num_edges(), ref.batch_num_edges())
    for mine, theirs in ((g.ndata, ref.ndata), (g.edata, ref.edata)):
        assert set(mine.keys()) == set(theirs.keys())
        for key in mine.keys():
            assert torch.equal(mine[key], theirs[key]), key


@pytest.mark.parametrize("name", list(FEATURIZERS))
def test_bank_equals_dgllife_graphs(name, small, cache_dir):
    spec = FEATURIZERS[name]
    graphs = featurize(small, name, cache_dir=cache_dir, progress=False)
    assert len(graphs) == len(small) == len(graphs.to_graphs(np.arange(len(small))))
    for i in (0, 17, 199):
        ref = smiles_to_bigraph(small.smiles[i], add_self_loop=spec.add_self_loop,
                                node_featurizer=spec.make_atom(), edge_featurizer=spec.make_bond())
        (g,) = graphs.to_graphs([i])
        _same_graph(g, ref)


def test_feature_sizes_come_from_the_featurizers(small, cache_dir):
    graphs = featurize(small, "canonical", cache_dir=cache_dir, progress=False)
    spec = FEATURIZERS["canonical"]
    assert graphs.node_feats["h"].shape[1] == spec.node_feat_size == spec.make_atom().feat_size()
    assert graphs.edge_feats["e"].shape[1] == spec.edge_feat_size == spec.make_bond().feat_size()
    pretrain = FEATURIZERS["pretrain"]
    assert pretrain.categorical and pretrain.node_keys == ["atomic_number", "chirality_type"]
    assert pretrain.edge_vocab["bond_type"] == 5  # 4 bond types + the self-loop type


@pytest.mark.parametrize("name", list(FEATURIZERS))
def test_batch_equals_dgl_batch(name, small, cache_dir):
    graphs = featurize(small, name, cache_dir=cache_dir, progress=False)
    idx = np.array([199, 3, 3, 0, 57, 120])
    g = graphs.batch(idx)
    _same_graph(g, dgl.batch(graphs.to_graphs(idx)))
    assert g.batch_size == len(idx)
    assert torch.equal(graphs.batch(torch.as_tensor(idx)).edges()[0], g.edges()[0])
    if name != "pretrain":  # per-molecule readout sees each molecule's own atoms
        sums = dgl.readout_nodes(g, "h", op="sum")
        expected = torch.stack([graphs.to_graphs([i])[0].ndata["h"].sum(0) for i in idx])
        assert torch.allclose(sums, expected)


@pytest.mark.parametrize("name", list(FEATURIZERS))
def test_molecules_without_bonds(name, ions, cache_dir):
    graphs = featurize(ions, name, cache_dir=cache_dir, progress=False)
    loops = FEATURIZERS[name].add_self_loop
    assert graphs.num_nodes()[:2].tolist() == [1, 2]
    assert graphs.num_edges()[:2].tolist() == ([1, 2] if loops else [0, 0])
    g = graphs.batch([0, 1, 2])
    _same_graph(g, dgl.batch(graphs.to_graphs([0, 1, 2])))
    single = graphs.batch([0])
    assert single.num_nodes() == 1 and single.num_edges() == (1 if loops else 0)


def _banks(cache_dir):
    return sorted(p for p in cache_dir.iterdir() if p.is_dir())


def test_cache_round_trip_loads_without_featurizing(small, cache_dir, tmp_path, monkeypatch, caplog):
    first = featurize(small, "canonical", cache_dir=cache_dir, progress=False)
    (path,) = _banks(cache_dir)
    assert path.name.startswith("tox21-canonical-") and (path / "manifest.json").exists()
    assert {p.suffix for p in path.iterdir()} == {".npy", ".json"}
    fresh = featurize(small, "canonical", cache_dir=tmp_path / "other", progress=False, cache=False)

    def _fail(*args, **kwargs):
        raise AssertionError("featurized again instead of loading the cache")

    monkeypatch.setattr(featurize_module, "build_bank", _fail)
    with caplog.at_level(logging.INFO, logger="metalink_dgl"):
        second = featurize(small, "canonical", cache_dir=cache_dir, progress=False)
    assert any("from cache" in r.getMessage() for r in caplog.records)
    assert all(isinstance(a, np.memmap) and not a.flags.writeable for a in second.arrays().values())
    _same_graphs(second, first)
    _same_graphs(second, fresh)


def test_cache_key_depends_on_smiles_and_featurizer(small, cache_dir):
    featurize(small, "canonical", cache_dir=cache_dir, progress=False)
    featurize(small, "attentivefp", cache_dir=cache_dir, progress=False)
    featurize(small.subset(np.arange(100)), "canonical", cache_dir=cache_dir, progress=False)
    assert len(_banks(cache_dir)) == 3


def _truncate(path):
    array = path / "node.h.codes.npy"
    array.write_bytes(array.read_bytes()[: array.stat().st_size // 2])


def _overwrite(path):
    array = path / "edge.e.codes.npy"
    data = bytearray(array.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\x07" * 64
    array.write_bytes(bytes(data))


def _drop_manifest(path):
    (path / "manifest.json").unlink()


def _edit_manifest(path):
    manifest = path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"molecules": 60', '"molecules": 61'))


def _inconsistent_but_signed(path):
    """Valid checksums, but the offsets do not fit the feature rows: only the shape checks catch it."""
    offsets = np.load(path / "node_offsets.npy")
    offsets[-1] += 5
    np.save(path / "node_offsets.npy", offsets)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["node_offsets"]["sha256"] = store.file_sha256(path / "node_offsets.npy")
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    manifest["checksum"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [_truncate, _overwrite, _drop_manifest, _edit_manifest, _inconsistent_but_signed])
def test_damaged_cache_is_rebuilt_with_a_warning(damage, small, cache_dir, caplog):
    sub = small.subset(np.arange(60))
    featurize(sub, "canonical", cache_dir=cache_dir, progress=False)
    good = featurize(sub, "canonical", progress=False, cache=False)  # in memory: damage must not touch it
    (path,) = _banks(cache_dir)
    damage(path)
    with caplog.at_level(logging.WARNING, logger="metalink_dgl"):
        rebuilt = featurize(sub, "canonical", cache_dir=cache_dir, progress=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"cache {path} is corrupt or stale; rebuilding" in warnings[0]
    _same_graphs(rebuilt, good)
    assert _banks(cache_dir) == [path]  # replaced in place, no stray temporary folder
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="metalink_dgl"):
        featurize(sub, "canonical", cache_dir=cache_dir, progress=False)  # the rewritten bank is good again
    assert any("from cache" in r.getMessage() for r in caplog.records)


def test_unwritable_cache_dir_only_warns(small, tmp_path, caplog):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="metalink_dgl"):
        graphs = featurize(small.subset(np.arange(10)), "canonical", cache_dir=blocker / "cache", progress=False)
    assert len(graphs) == 10
    assert any("continuing without a cache" in r.getMessage() for r in caplog.records)


def test_unknown_featurizer(small, cache_dir):
    with pytest.raises(MetaLinkError, match="unknown featurizer 'nope'"):
        featurize(small, "nope", cache_dir=cache_dir)


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("METALINK_DGL_CACHE", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("METALINK_DGL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "metalink-dgl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "metalink-dgl"


def test_featurize_uses_env_cache_by_default(small, cache_dir):
    featurize(small.subset(np.arange(5)), "canonical", progress=False)
    assert len(_banks(cache_dir)) == 1
