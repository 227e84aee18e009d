"""Sparse label storage: the same blocks as a dense matrix, hence the same draws, masks, training and metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from metalink_dgl.data import load_dataset
from metalink_dgl.data.scaling import LabelScaler
from metalink_dgl.engine import TrainConfig, train
from metalink_dgl.kg import SETTINGS, EvalDraw, get_setting, training_masks
from metalink_dgl.label_matrix import SparseLabels, as_label_matrix, take


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal values and NaNs in the same places, bit for bit."""
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(torch.isnan(a), torch.isnan(b)) and torch.equal(
        torch.nan_to_num(a, nan=-99.0), torch.nan_to_num(b, nan=-99.0))


@pytest.mark.parametrize("name", ["tox21", "toxcast", "adme"])
def test_sparse_blocks_equal_the_dense_ones_on_the_bundled_sets(name):
    Y = torch.from_numpy(load_dataset(name).Y)
    S = SparseLabels.from_dense(Y)
    assert S.shape == tuple(Y.shape) and S.nnz == int((~torch.isnan(Y)).sum())
    rows = torch.randint(0, len(Y), (300,), generator=torch.Generator().manual_seed(0))
    rows[:3] = rows[0]  # repeats
    assert _same(S[rows], Y[rows]) and _same(S[rows.numpy()], Y[rows]) and _same(S[10:40], Y[10:40])
    assert _same(S[torch.zeros(0, dtype=torch.long)], Y[:0]) and _same(S.to_dense(), Y)
    tasks = torch.tensor([Y.shape[1] - 1, 0])
    assert _same(take(S, rows, tasks), Y[rows][:, tasks])


def test_toxcast_is_sparse_by_default_and_much_smaller():
    Y = load_dataset("toxcast").Y  # 29 % of the cells observed
    S = as_label_matrix(Y, "auto")
    assert isinstance(as_label_matrix(load_dataset("tox21").Y, "auto"), torch.Tensor)  # 83 % observed: dense
    assert isinstance(S, SparseLabels) and S.nbytes() < 0.7 * Y.nbytes
    assert isinstance(as_label_matrix(Y, "dense"), torch.Tensor)


def test_triplets_in_any_order_make_the_same_matrix_and_bad_ones_are_refused():
    Y = torch.from_numpy(load_dataset("sider").Y)[:200]
    rows, cols = (~torch.isnan(Y)).nonzero(as_tuple=True)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(1))
    S = SparseLabels.from_coo(rows[order], cols[order], Y[rows, cols][order], tuple(Y.shape))
    assert _same(S.to_dense(), Y)
    with pytest.raises(ValueError, match="given twice"):
        SparseLabels.from_coo([0, 0], [1, 1], [1.0, 0.0], (2, 3))
    with pytest.raises(ValueError, match="NaN"):
        SparseLabels.from_coo([0], [1], [float("nan")], (2, 3))
    with pytest.raises(ValueError, match="task index"):
        SparseLabels.from_coo([0], [3], [1.0], (2, 3))


def test_scaler_and_support_draw_are_identical_on_sparse_labels():
    adme = load_dataset("adme")
    Y = torch.from_numpy(adme.Y)
    rows = torch.arange(0, len(Y), 2)
    continuous = torch.from_numpy(np.asarray(adme.continuous))
    dense, sparse = LabelScaler.fit(Y, rows, continuous), LabelScaler.fit(SparseLabels.from_dense(Y), rows, continuous)
    assert torch.equal(dense.mean, sparse.mean) and torch.equal(dense.std, sparse.std)
    assert _same(sparse.transform(SparseLabels.from_dense(Y)).to_dense(), dense.transform(Y))

    toxcast = torch.from_numpy(load_dataset("toxcast").Y)
    split = type("Split", (), {"train": np.arange(0, 6000), "val": np.arange(6000, 7000),
                               "test": np.arange(7000, 8576)})
    draws = [EvalDraw.create(Y, split, get_setting("relational-meta"), seed=3, aux_ratio=0.2, heldout_ratio=0.2,
                             shots=16, source="toxcast") for Y in (toxcast, SparseLabels.from_dense(toxcast))]
    for key in ("heldout", "support", "support_shown"):
        assert torch.equal(getattr(draws[0], key), getattr(draws[1], key)), key
    assert len(draws[0].support) and all(torch.equal(draws[0].aux[k], draws[1].aux[k]) for k in ("val", "test"))


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_training_masks_are_identical_on_sparse_blocks(setting):
    Y = torch.from_numpy(load_dataset("toxcast").Y)
    S = SparseLabels.from_dense(Y)
    seen = torch.rand(Y.shape[1], generator=torch.Generator().manual_seed(0)) > 0.2
    batch = torch.randperm(len(Y), generator=torch.Generator().manual_seed(2))[:128]
    masks = [training_masks(M[batch], get_setting(setting), seen, aux_ratio=0.2, heldout_ratio=0.2, support_ratio=0.5,
                            generator=torch.Generator().manual_seed(5)) for M in (Y, S)]
    for field in ("revealed", "queried", "new_tasks"):
        assert torch.equal(getattr(masks[0], field), getattr(masks[1], field)), field
    assert masks[0].queried.any()


def _run(tmp_path, storage: str, **kw) -> dict:
    out = tmp_path / storage
    config = TrainConfig(epochs=2, seeds=[0], hidden=32, batch_size=64, device="cpu", threads=1, out=str(out),
                         label_storage=storage, **kw)
    train(config, progress=False)
    seed = out / "seed_0"
    history = json.loads((seed / "history.json").read_text())
    history = [{k: v for k, v in row.items() if k != "seconds"} for row in history]
    metrics = json.loads((seed / "metrics.json").read_text())
    metrics.pop("seconds_per_epoch")
    return {"history": history, "metrics": metrics, "draw": (seed / "draw.json").read_text()}


@pytest.mark.slow
@pytest.mark.parametrize("dataset,setting,extra", [
    ("toxcast", "relational-meta", dict(max_molecules=600, shots=16)),
    ("adme", "relational", dict(max_molecules=600)),
])
def test_dense_and_sparse_training_give_identical_runs(tmp_path, dataset, setting, extra):
    dense = _run(tmp_path, "dense", dataset=dataset, setting=setting, **extra)
    sparse = _run(tmp_path, "sparse", dataset=dataset, setting=setting, **extra)
    assert dense == sparse
    assert len(dense["history"]) == 2
