"""Continuous and mixed labels through the engine, on the bundled Biogen ADME set (real, log-scale values)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from metalink_dgl.data import load_dataset
from metalink_dgl.data.scaling import LabelScaler
from metalink_dgl.engine import TrainConfig, evaluate_checkpoint, load_model, prepare_data, score_rows, train
from metalink_dgl.engine.multitask import MultitaskJob
from metalink_dgl.kg import SETTINGS, EvalDraw

pytestmark = pytest.mark.slow

HLM, RLM = "LOG HLM_CLint (mL/min/kg)", "LOG RLM_CLint (mL/min/kg)"
FAST = dict(hidden=64, batch_size=64, device="cpu", seeds=[0])


def _config(tmp_path, name="run", **kw) -> TrainConfig:
    """A quick ADME run; meta settings hold out the last column (RLM clearance, 3054 labels), so that the new
    task has test pairs in a slice (a random pick may be a protein-binding task with 168 labels in all)."""
    return TrainConfig(**{"dataset": "adme", "epochs": 2, "max_molecules": 600, "out": str(tmp_path / name),
                          "heldout_tasks": "last", **FAST, **kw})


#: The issue-19 options of the model and layer, on continuous labels (the edge feature is (y, is_binary, is_continuous))
VARIANTS = [("relational", dict(data_init="labels", message="linear", aggregate="sum", label_term="source",
                                deep_supervision=True)),
            ("relational-meta", dict(freeze_seen_tasks=True, kg_dropout=0.3)),
            ("meta", dict(new_task_init="ridge", deep_supervision=True, episode_query="informed"))]


@pytest.mark.parametrize(("setting", "extra"), [(s, {}) for s in ("standard", "relational", "meta", "relational-meta")]
                         + [("meta", dict(episode_shots=16))] + VARIANTS)  # support drawn from the training fold
def test_every_setting_trains_on_continuous_labels_and_reports_regression_metrics(tmp_path, setting, extra):
    summary = train(_config(tmp_path, setting=setting, shots=64, **extra), progress=False)
    metrics = json.loads((tmp_path / "run" / "seed_0" / "metrics.json").read_text())
    assert summary["metric"] == metrics["metric"] == "r2"
    test = metrics["test"]
    assert test["n_tasks_scored"] >= 1 and "roc_auc" not in test
    for key in ("rmse", "mae", "r2", "pearson"):
        assert np.isfinite(test[key]), key
    for name, scores in test["regression"].items():
        assert scores["rmse"] >= scores["mae"] > 0 and scores["n"] >= 2, name
    if SETTINGS[setting].meta:  # only the held-out (new) task is scored
        heldout = json.loads((tmp_path / "run" / "seed_0" / "draw.json").read_text())["heldout_tasks"]
        assert set(test["regression"]) <= set(heldout)


def test_standardisation_comes_from_the_train_fold_and_a_queried_test_value_changes_nothing(tmp_path):
    config = _config(tmp_path, setting="relational")
    data = prepare_data(config, progress=False)
    job = MultitaskJob(config, data, seed=0)
    assert job.scaler.continuous.all() and job.scaler.std.gt(0).all()
    test_rows = torch.as_tensor(job.split.test)
    # a test-fold value: the statistics do not move
    changed = data.Y.clone()
    j = int((~torch.isnan(changed[test_rows])).sum(0).argmax())
    r = int(test_rows[~torch.isnan(changed[test_rows, j]) & ~job.draw.aux["test"][:, j]][0])  # queried, not revealed
    changed[r, j] = changed[r, j] + 5.0
    again = LabelScaler.fit(changed, job.train_rows, data.continuous)
    assert torch.equal(again.mean, job.scaler.mean) and torch.equal(again.std, job.scaler.std)
    # a train-fold value does move them (the check above can fail)
    moved = data.Y.clone()
    t = int(job.train_rows[~torch.isnan(moved[job.train_rows, j])][0])
    moved[t, j] += 5.0
    assert not torch.equal(LabelScaler.fit(moved, job.train_rows, data.continuous).mean, job.scaler.mean)
    # the predictions of every pair but the changed one are identical
    torch.manual_seed(0)
    from metalink_dgl.engine import build_model

    model = build_model(config, data.Y.shape[1], continuous=True).eval()
    everything = torch.ones(data.Y.shape[1], dtype=torch.bool)

    def run(Y):
        return score_rows(model, data.inputs, job.scaler.transform(Y), test_rows, job.draw.aux["test"],
                          SETTINGS["relational"], everything, job.draw.support, batch_size=32,
                          device=torch.device("cpu"), scaler=job.scaler)

    base, other = run(data.Y), run(changed)
    keep = ~((base["row"] == r) & (base["task"] == j))
    assert (~keep).sum() == 1
    np.testing.assert_array_equal(base["pred"], other["pred"])
    np.testing.assert_array_equal(base["y_true"][keep], other["y_true"][keep])


@pytest.mark.parametrize(("setting", "extra"),
                         [(s, {}) for s in ("standard", "relational", "meta", "relational-meta")] + VARIANTS)
def test_queried_continuous_values_never_reach_the_model(tmp_path, setting, extra, leak_check):
    config = _config(tmp_path, setting=setting, epochs=1, shots=64, **extra)
    train(config, progress=False)
    model, _, ckpt = load_model(tmp_path / "run" / "seed_0" / "best.pt")
    data = prepare_data(config, progress=False)
    scaler = LabelScaler.from_state(ckpt["scaler"], data.Y.shape[1])
    draw = EvalDraw.from_state(ckpt["draw"])
    targets = draw.heldout if SETTINGS[setting].meta else torch.ones_like(draw.heldout)

    def run(Y):
        return score_rows(model, data.inputs, scaler.transform(Y), ckpt["split"]["test"], draw.aux["test"],
                          SETTINGS[setting], targets, draw.support, support_shown=draw.support_shown,
                          batch_size=32, device=torch.device("cpu"), scaler=scaler)

    scored = leak_check(run, data.Y)  # every queried value changed: identical predictions
    assert len(scored["pred"]) > 50


def _mixed_csv(path, n=700) -> None:
    """ADME's SMILES with HLM as a value and RLM as a 0/1 call (above its median: 1)."""
    adme = load_dataset("adme")
    hlm, rlm = (adme.Y[:, adme.task_names.index(name)] for name in (HLM, RLM))
    median = np.nanmedian(rlm)
    lines = ["smiles,hlm,rlm_high"]
    for s, h, r in list(zip(adme.smiles, hlm, rlm))[:n]:
        lines.append(f"{s},{'' if np.isnan(h) else f'{h:.4f}'},{'' if np.isnan(r) else int(r > median)}")
    path.write_text("\n".join(lines) + "\n")


def test_a_mixed_csv_trains_and_reports_both_metric_kinds(tmp_path):
    _mixed_csv(tmp_path / "mixed.csv")
    summary = train(TrainConfig(dataset=str(tmp_path / "mixed.csv"), setting="relational", epochs=3,
                                out=str(tmp_path / "run"), **FAST), progress=False)
    test = json.loads((tmp_path / "run" / "seed_0" / "metrics.json").read_text())["test"]
    assert summary["metric"] == test["metric"] == "score"
    assert set(test["per_task"]) == {"hlm", "rlm_high"} and set(test["regression"]) == {"hlm"}
    assert 0.0 <= test["roc_auc"] <= 1.0 and np.isfinite(test["r2"])
    assert test["score"] == pytest.approx((test["per_task"]["hlm"] + test["per_task"]["rlm_high"]) / 2)
    again = evaluate_checkpoint(tmp_path / "run" / "seed_0" / "best.pt", device="cpu")
    assert again["score"] == test["score"] and again["regression"] == test["regression"]


def test_relational_beats_standard_on_related_continuous_endpoints(tmp_path):
    """Human and rat microsomal clearance are strongly related: knowing one predicts the other. Scored
    leave-one-endpoint-out, standard and relational on identical pairs."""
    r2 = {}
    for setting in ("standard", "relational"):
        config = _config(tmp_path, setting, setting=setting, task_columns=[HLM, RLM], max_molecules=1500,
                         epochs=12, aux_ratio=0.5)
        train(config, progress=False)
        r2[setting] = evaluate_checkpoint(tmp_path / setting / "seed_0" / "best.pt", leave_one_out=True,
                                          device="cpu")["r2"]
    assert r2["relational"] > r2["standard"] + 0.05, r2
