"""Continuous labels in the engine: the train-fold scaler, the mixed loss and the mixed metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

from metalink_dgl.data.scaling import LabelScaler
from metalink_dgl.engine.loss import label_loss
from metalink_dgl.metrics import roc_auc_by_task, task_metrics

NAN = float("nan")


def test_scaler_uses_train_rows_only_and_round_trips():
    Y = torch.tensor([[1.0, 2.0], [0.0, 4.0], [NAN, 6.0], [1.0, 1000.0]])  # row 3 is not a training row
    scaler = LabelScaler.fit(Y, torch.tensor([0, 1, 2]), torch.tensor([False, True]))
    assert scaler.mean.tolist() == [0.0, 4.0] and scaler.std[0] == 1.0
    assert scaler.std[1].item() == pytest.approx(2.0)  # sample std of 2, 4, 6
    Z = scaler.transform(Y)
    torch.testing.assert_close(Z[:, 0], Y[:, 0], equal_nan=True)  # binary column untouched
    torch.testing.assert_close(Z[:3, 1], torch.tensor([-1.0, 0.0, 1.0]))
    tasks = torch.tensor([1, 1, 0])
    torch.testing.assert_close(scaler.inverse(torch.tensor([-1.0, 0.5, 0.3]), tasks), torch.tensor([2.0, 5.0, 0.3]))
    out = scaler.output(torch.tensor([0.5, 0.0]), torch.tensor([1, 0]))
    torch.testing.assert_close(out, torch.tensor([5.0, 0.5]))
    again = LabelScaler.from_state(scaler.state(), 2)
    torch.testing.assert_close(again.transform(Y), Z, equal_nan=True)


def test_scaler_of_binary_tasks_is_the_identity_and_degenerate_tasks_keep_std_one():
    Y = torch.tensor([[1.0, 3.0, NAN], [0.0, 3.0, NAN]])
    assert LabelScaler.identity(3).transform(Y) is Y
    scaler = LabelScaler.fit(Y, torch.tensor([0, 1]), torch.tensor([False, True, True]))
    assert scaler.std.tolist() == [1.0, 1.0, 1.0] and scaler.mean.tolist() == [0.0, 3.0, 0.0]
    assert torch.isfinite(scaler.transform(Y)[:, 1]).all()


def test_mixed_loss_is_bce_plus_mse_each_over_its_pairs():
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5, -0.2], requires_grad=True)
    target = torch.tensor([1.0, 0.0, 1.5, 0.2, 1.0])
    cont = torch.tensor([False, False, True, True, False])
    expected = F.binary_cross_entropy_with_logits(logits[~cont], target[~cont]) + F.mse_loss(logits[cont], target[cont])
    torch.testing.assert_close(label_loss(logits, target, cont), expected)
    assert label_loss(logits, target, None).item() == F.binary_cross_entropy_with_logits(logits, target).item()
    only = torch.ones(5, dtype=torch.bool)
    torch.testing.assert_close(label_loss(logits, target, only), F.mse_loss(logits, target))


def test_task_metrics_binary_only_is_exactly_roc_auc_by_task():
    rng = np.random.default_rng(0)
    y, p, t = rng.integers(0, 2, 60).astype(float), rng.random(60), rng.integers(0, 3, 60)
    assert task_metrics(y, p, t, ["a", "b", "c"], np.zeros(3, bool)) == roc_auc_by_task(y, p, t, ["a", "b", "c"])


def test_task_metrics_mixed_against_sklearn():
    rng = np.random.default_rng(1)
    t = np.repeat([0, 1, 2], 40)
    y = np.concatenate([rng.integers(0, 2, 40), rng.normal(5, 2, 40), np.full(40, 3.0)]).astype(float)
    p = np.concatenate([rng.random(40), y[40:80] + rng.normal(0, 1, 40), rng.normal(3, 1, 40)])
    out = task_metrics(y, p, t, ["bin", "reg", "flat"], np.array([False, True, True]))
    auc = roc_auc_score(y[:40], p[:40])
    r2 = r2_score(y[40:80], p[40:80])
    assert out["metric"] == "score" and out["roc_auc"] == pytest.approx(auc)
    assert out["per_task"] == pytest.approx({"bin": auc, "reg": r2})
    assert out["score"] == pytest.approx((auc + r2) / 2) and out["n_tasks_skipped"] == 1  # constant labels
    reg = out["regression"]["reg"]
    assert reg["mae"] == pytest.approx(mean_absolute_error(y[40:80], p[40:80]))
    assert reg["rmse"] == pytest.approx(math.sqrt(np.mean((y[40:80] - p[40:80]) ** 2)))
    assert reg["pearson"] == pytest.approx(np.corrcoef(y[40:80], p[40:80])[0, 1]) and reg["n"] == 40
    only = task_metrics(y[40:80], p[40:80], np.zeros(40, int), ["reg"], np.array([True]))
    assert only["metric"] == "r2" and only["r2"] == pytest.approx(r2) and "roc_auc" not in only
