"""Real training runs on bundled data (small slices, few epochs): they learn, never leak, and resume exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import metalink_dgl.engine.multitask as train_module
from metalink_dgl.engine import TrainConfig, evaluate_checkpoint, load_model, prepare_data, score_rows, train
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import SETTINGS, EvalDraw

pytestmark = pytest.mark.slow

FAST = dict(hidden=64, batch_size=64, device="cpu")


def _config(tmp_path, **kw) -> TrainConfig:
    base = dict(dataset="sider", epochs=3, seeds=[0], out=str(tmp_path / "run"), **FAST)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize(
    "setting,dataset,extra",
    [
        ("standard", "tox21", dict(max_molecules=1500)),
        ("relational", "tox21", dict(max_molecules=1500)),
        ("meta", "toxcast", dict(max_molecules=3000, shots=128, epochs=6)),
        ("relational-meta", "toxcast", dict(max_molecules=3000, shots=128, epochs=6)),
    ],
)
def test_every_setting_learns(tmp_path, setting, dataset, extra):
    extra = {"epochs": 4, **extra}
    summary = train(_config(tmp_path, dataset=dataset, setting=setting, **extra), progress=False)
    assert summary["val_roc_auc"]["mean"] > 0.6, summary["val_roc_auc"]
    metrics = json.loads((tmp_path / "run" / "seed_0" / "metrics.json").read_text())
    assert metrics["test"]["n_tasks_scored"] > 0 and 0.0 <= metrics["test_roc_auc"] <= 1.0
    for name in ("config.json", "split.json", "draw.json", "history.json", "history.png", "best.pt", "last.pt"):
        assert (tmp_path / "run" / "seed_0" / name).is_file(), name


def test_relational_beats_standard_on_sider(tmp_path):
    results = {}
    for setting in ("standard", "relational"):
        summary = train(_config(tmp_path, setting=setting, epochs=8, out=str(tmp_path / setting)), progress=False)
        results[setting] = summary["test_roc_auc"]["mean"]
    draws = [json.loads((tmp_path / s / "seed_0" / "draw.json").read_text())["test"] for s in results]
    assert draws[0] == draws[1]  # the same revealed/queried pairs
    assert results["relational"] > results["standard"] + 0.03, results


def _trained(tmp_path, setting="relational", **kw):
    config = _config(tmp_path, setting=setting, epochs=1, **kw)
    train(config, progress=False)
    model, _, ckpt = load_model(tmp_path / "run" / "seed_0" / "best.pt")
    return config, model, ckpt


@pytest.mark.parametrize("setting,layer", [
    ("relational", {}), ("relational-meta", {}),
    ("relational", dict(aggregate="attention", label_term="source")),  # the KG layer's variants (issue 19)
    ("relational-meta", dict(aggregate="signed", label_term="source")),
    ("relational", dict(aggregate="sum")),
    ("relational-meta", dict(message="linear", aggregate="sum", label_term="source")),
    ("relational", dict(data_init="labels", kg_dropout=0.3, deep_supervision=True)),
    ("relational-meta", dict(freeze_seen_tasks=True)),
    ("relational-meta", dict(new_task_init="ridge", deep_supervision=True)),  # support fit, cuts of new tasks
    ("relational-meta", dict(aux_tasks="all")),  # query rows reveal labels of other held-out tasks
])
def test_queried_test_labels_never_change_a_prediction(tmp_path, setting, layer, leak_check):
    config, model, ckpt = _trained(tmp_path, setting, shots=64, **layer)
    data = prepare_data(config, progress=False)
    draw = EvalDraw.from_state(ckpt["draw"])
    s = SETTINGS[setting]
    targets = draw.heldout if s.meta else torch.ones_like(draw.heldout)
    rows = ckpt["split"]["test"]

    def run(Y):
        return score_rows(model, data.inputs, Y, rows, draw.aux["test"], s, targets, draw.support,
                          batch_size=32, device=torch.device("cpu"))

    base = leak_check(run, data.Y)
    queried = torch.zeros_like(data.Y, dtype=torch.bool)
    queried[torch.from_numpy(base["row"]), torch.from_numpy(base["task"])] = True
    # hiding one test row's queried labels changes no other row's prediction. Not bit-identical: the
    # block then scores fewer pairs, and torch's CPU reductions may sum in another order for another
    # shape or thread count (seen once in a full suite run); a leak moves a probability far more than 1e-6.
    hidden = data.Y.clone()
    r0 = int(base["row"][0])
    hidden[r0][queried[r0]] = float("nan")
    third = run(hidden)
    keep = base["row"] != r0
    np.testing.assert_allclose(base["pred"][keep], third["pred"][third["row"] != r0], rtol=0, atol=1e-6)
    # but flipping revealed labels of the test rows does change predictions
    revealed_flip = data.Y.clone()
    test_rows = torch.as_tensor(rows)
    aux = draw.aux["test"] & ~torch.isnan(data.Y[test_rows])
    block = revealed_flip[test_rows]
    block[aux] = 1 - block[aux]
    revealed_flip[test_rows] = block
    assert np.abs(run(revealed_flip)["pred"] - base["pred"]).max() > 1e-3  # far above summation-order noise


@pytest.mark.parametrize(("setting", "episode_query"),
                         [("meta", "all"), ("relational-meta", "all"), ("meta", "informed")])
def test_heldout_labels_never_reach_a_training_graph(tmp_path, monkeypatch, setting, episode_query):
    seen_masks, informed = [], []
    original = train_module.forward_block

    def spy(model, block, **kwargs):
        if model.training:
            seen_masks.append((block.masks.revealed.clone(), block.masks.queried.clone()))
            informed.append(_informed_new_tasks_only(block))
        return original(model, block, **kwargs)

    monkeypatch.setattr(train_module, "forward_block", spy)
    _trained(tmp_path, setting, shots=64, episode_query=episode_query)
    # --episode-query informed queries a new task only where its support shows a positive and a negative
    assert all(informed) if episode_query == "informed" else not all(informed)
    heldout = json.loads((tmp_path / "run" / "seed_0" / "draw.json").read_text())["heldout_tasks"]
    task_names = json.loads((tmp_path / "run" / "seed_0" / "config.json").read_text())
    assert heldout and seen_masks
    from metalink_dgl.data import load_dataset

    names = load_dataset(task_names["dataset"]).task_names
    held = torch.tensor([n in heldout for n in names])
    for revealed, queried in seen_masks:
        assert not revealed[:, held].any() and not queried[:, held].any()


def _informed_new_tasks_only(block) -> bool:
    """True if every queried new task of ``block`` shows a positive and a negative support label."""
    m, Y = block.masks, block.Y
    shown = torch.where(m.revealed, Y, float("nan"))
    informed = (shown == 1).any(0) & (shown == 0).any(0)
    return not (m.queried.any(0) & m.new_tasks & ~informed).any()


def test_checkpoint_reproduces_test_metrics_and_resume_is_exact(tmp_path, kill_on_call):
    config = _config(tmp_path, epochs=3)
    train(config, progress=False)
    metrics = json.loads((tmp_path / "run" / "seed_0" / "metrics.json").read_text())
    again = evaluate_checkpoint(tmp_path / "run" / "seed_0" / "best.pt", device="cpu")
    assert again["roc_auc"] == metrics["test_roc_auc"]
    # a fresh draw at the run's own aux ratio is the saved draw; another ratio scores other pairs
    same = evaluate_checkpoint(tmp_path / "run" / "seed_0" / "best.pt", aux_ratio=config.aux_ratio, device="cpu")
    assert same == again
    more = evaluate_checkpoint(tmp_path / "run" / "seed_0" / "best.pt", aux_ratio=0.6, device="cpu")
    assert more["n_pairs"] < again["n_pairs"]
    with pytest.raises(MetaLinkError, match="aux-ratio 1.0"):
        evaluate_checkpoint(tmp_path / "run" / "seed_0" / "best.pt", aux_ratio=1.0, device="cpu")

    # the same run killed during its third epoch, then resumed, ends with the same numbers
    interrupted = _config(tmp_path, epochs=3, out=str(tmp_path / "killed"))
    restore = kill_on_call(train_module, "train_epoch", 3)
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, progress=False)
    restore()
    assert not (tmp_path / "killed" / "seed_0" / "metrics.json").exists()
    train(interrupted, resume=True, progress=False)
    resumed = json.loads((tmp_path / "killed" / "seed_0" / "metrics.json").read_text())
    assert resumed["test_roc_auc"] == metrics["test_roc_auc"]
    assert resumed["test"]["per_task"] == metrics["test"]["per_task"]


@pytest.mark.parametrize("model,setting", [("labels-as-features", "relational"), ("baseline++", "relational-meta")])
def test_baselines_train_on_the_same_draw_and_reload(tmp_path, monkeypatch, model, setting):
    trained_on = []
    original = train_module.draw_episode

    def spy(n_rows, s, *args, **kwargs):
        trained_on.append(s.name)
        return original(n_rows, s, *args, **kwargs)

    monkeypatch.setattr(train_module, "draw_episode", spy)
    config = _config(tmp_path, model=model, layers=0, setting=setting, epochs=2, shots=64)
    summary = train(config, progress=False)
    assert set(trained_on) == {"standard" if model == "baseline++" else setting}
    reference = _config(tmp_path, setting=setting, epochs=1, shots=64, out=str(tmp_path / "metalink"))
    train(reference, progress=False)
    draw = [json.loads((tmp_path / d / "seed_0" / "draw.json").read_text()) for d in ("run", "metalink")]
    assert draw[0] == draw[1]  # scored on the same pairs as MetaLink
    again = evaluate_checkpoint(tmp_path / "run" / "seed_0" / "best.pt", device="cpu")
    assert again["roc_auc"] == summary["test_roc_auc"]["values"][0] and again["n_tasks_scored"] > 0


def test_a_checkpoint_written_before_the_restructure_loads_and_scores_the_same():
    """``data/sider_relational_v0.1.0.pt`` was trained at 94db211, when the package was 17 flat modules;
    the JSON beside it holds that code's test result."""
    folder = Path(__file__).parent / "data"
    expected = json.loads((folder / "sider_relational_v0.1.0.json").read_text())["test"]
    model, config, _ = load_model(folder / "sider_relational_v0.1.0.pt")
    assert config.setting == "relational" and config.hidden == 16 and model.layers == 2
    result = evaluate_checkpoint(folder / "sider_relational_v0.1.0.pt", device="cpu")
    assert result["n_tasks_scored"] == expected["n_tasks_scored"]
    assert result["roc_auc"] == pytest.approx(expected["roc_auc"], abs=1e-6)
    assert result["per_task"] == pytest.approx(expected["per_task"], abs=1e-6)
