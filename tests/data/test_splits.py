"""Balanced scaffold and random splits: no scaffold leaks between folds, seeding, sizes, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metalink_dgl.data import SPLITTERS, Split, bemis_murcko_scaffold, make_split
from metalink_dgl.errors import MetaLinkError


def _check_partition(split: Split, n: int) -> None:
    folds = [split.train, split.val, split.test]
    for fold in folds:
        assert fold.dtype == np.int64 and np.all(np.diff(fold) > 0)  # sorted, no repeats
    every = np.concatenate(folds)
    assert every.size == n and np.array_equal(np.sort(every), np.arange(n))  # disjoint and covering


def _check_sizes(split: Split, n: int, tolerance: float = 0.02) -> None:
    for fold, target in zip((split.train, split.val, split.test), (0.8, 0.1, 0.1)):
        assert abs(len(fold) / n - target) <= tolerance, (len(fold), n, target)


@pytest.fixture(scope="module")
def sider_scaffold(sider) -> Split:
    return make_split(sider.smiles, "scaffold", seed=0)


def test_bemis_murcko_scaffold():
    assert bemis_murcko_scaffold("CCO") == ""  # acyclic: the one empty scaffold
    assert bemis_murcko_scaffold("Cc1ccccc1") == "c1ccccc1"
    assert bemis_murcko_scaffold("C[C@H](N)C1CCCCC1") == bemis_murcko_scaffold("C[C@@H](N)C1CCCCC1") == "C1CCCCC1"
    with pytest.raises(MetaLinkError, match="cannot parse"):
        bemis_murcko_scaffold("C1CC")


@pytest.mark.parametrize("name", ["tox21", "sider"])
def test_no_scaffold_in_two_folds(name, request):
    ds = request.getfixturevalue(name)
    split = make_split(ds.smiles, "scaffold", seed=0) if name == "tox21" else request.getfixturevalue(
        "sider_scaffold")
    _check_partition(split, len(ds))
    _check_sizes(split, len(ds))
    scaffolds = [{bemis_murcko_scaffold(ds.smiles[i]) for i in fold} for fold in (split.train, split.val, split.test)]
    assert not (scaffolds[0] & scaffolds[1]) and not (scaffolds[0] & scaffolds[2]) and not (scaffolds[1] & scaffolds[2])
    assert split.kind == "scaffold" and split.seed == 0


def test_scaffold_seeding(sider, sider_scaffold):
    again = make_split(sider.smiles, "scaffold", seed=0)
    for fold in ("train", "val", "test"):
        assert np.array_equal(getattr(again, fold), getattr(sider_scaffold, fold))
    other = make_split(sider.smiles, "scaffold", seed=1)
    assert not np.array_equal(other.test, sider_scaffold.test)
    _check_partition(other, len(sider))
    _check_sizes(other, len(sider))


def test_random_split(sider):
    n = len(sider)
    split = make_split(sider.smiles, "random", seed=3)
    _check_partition(split, n)
    n_train, n_val = round(0.8 * n), round(0.1 * n)
    assert split.sizes() == {"train": n_train, "val": n_val, "test": n - n_train - n_val}
    assert np.array_equal(make_split(sider.smiles, "random", seed=3).val, split.val)
    assert not np.array_equal(make_split(sider.smiles, "random", seed=4).val, split.val)


def test_registry_and_bad_arguments(sider):
    assert set(SPLITTERS) == {"scaffold", "random"}
    with pytest.raises(MetaLinkError, match="unknown split 'stratified'"):
        make_split(sider.smiles, "stratified")
    with pytest.raises(MetaLinkError, match="fractions"):
        make_split(sider.smiles, "random", frac=(0.8, 0.3, 0.1))


def test_json_round_trip(tmp_path, sider_scaffold, sider):
    path = tmp_path / "split.json"
    split = Split(**{**sider_scaffold.__dict__, "dataset": "sider"})
    split.to_json(path)
    meta = json.loads(path.read_text())
    assert meta["dataset"] == "sider" and meta["n"] == len(sider) and meta["sizes"] == split.sizes()
    assert abs(sum(meta["fractions"].values()) - 1) < 1e-4 and meta["requested_fractions"] == [0.8, 0.1, 0.1]
    back = Split.from_json(path, n=len(sider))
    assert (back.kind, back.seed, back.dataset, back.frac) == ("scaffold", 0, "sider", (0.8, 0.1, 0.1))
    for fold in ("train", "val", "test"):
        got = getattr(back, fold)
        assert got.dtype == np.int64 and np.array_equal(got, getattr(split, fold))


def _bad_split_file(tmp_path, **changes):
    split = make_split([f"C{'C' * i}O" for i in range(10)], "random", seed=0)
    path = tmp_path / "split.json"
    split.to_json(path)
    obj = json.loads(path.read_text())
    obj.update(changes)
    path.write_text(json.dumps(obj))
    return path, obj


def test_from_json_rejects_bad_files(tmp_path):
    path, obj = _bad_split_file(tmp_path)
    with pytest.raises(MetaLinkError, match="10 rows but the dataset has 11"):
        Split.from_json(path, n=11)
    checks = [
        ({"val": obj["val"] + obj["train"][:1]}, "overlap"),
        ({"test": obj["test"] + [10]}, "outside"),
        ({"train": obj["train"][1:]}, "not all"),
        ({"train": "0,1,2"}, "list of integer"),
    ]
    for changes, message in checks:
        bad, _ = _bad_split_file(tmp_path, **changes)
        with pytest.raises(MetaLinkError, match=message) as info:
            Split.from_json(bad)
        assert str(bad) in str(info.value) and "\n" not in str(info.value)
    path.write_text("{not json")
    with pytest.raises(MetaLinkError, match="JSON"):
        Split.from_json(path)
    with pytest.raises(MetaLinkError, match="not found"):
        Split.from_json(tmp_path / "missing.json")


def test_to_json_needs_an_existing_folder(tmp_path, sider_scaffold):
    with pytest.raises(MetaLinkError, match="does not exist"):
        sider_scaffold.to_json(tmp_path / "nope" / "split.json")
    assert not (tmp_path / "nope").exists()
