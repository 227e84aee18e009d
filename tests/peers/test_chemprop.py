"""The chemprop D-MPNN peer: its config checks, the missing-package error, and a real run on our pairs."""

from __future__ import annotations

import importlib
import json
import math

import pytest

from metalink_dgl.engine import TrainConfig, prepare_data, train
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.experiments.grid import load_experiment
from metalink_dgl.peers import chemprop as peer


def _config(tmp_path, name="run", **kw) -> TrainConfig:
    base = dict(dataset="sider", setting="standard", model="chemprop", layers=0, epochs=2, batch_size=64,
                max_molecules=120, seeds=[0], device="cpu", out=str(tmp_path / name))
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("kw,message", [
    (dict(setting="relational"), "standard setting, not --setting relational"),
    (dict(setting="meta"), "standard setting, not --setting meta"),
    (dict(layers=2), "pass --layers 0"),
])
def test_config_refuses_what_the_peer_cannot_run(tmp_path, kw, message):
    with pytest.raises(MetaLinkError, match=message):
        _config(tmp_path, **kw).validate()


def test_table1_runs_the_peer_in_the_standard_setting_only():
    experiment = load_experiment("experiments/configs/table1.yaml")
    cells = [c for c in experiment.cells() if c[2] == "DMPNN (chemprop)"]
    assert cells == [(d, "standard", "DMPNN (chemprop)") for d in ("tox21", "sider", "toxcast")]
    assert experiment.methods["DMPNN (chemprop)"].paper == "DMPNN"  # the paper's DMPNN numbers sit beside it
    runs = [r for r in experiment.runs("runs") if r.method == "DMPNN (chemprop)"]
    assert len(runs) == 9 and {r.config.model for r in runs} == {"chemprop"} and {r.layers for r in runs} == {0}
    assert {r.config.out.split("/")[-2] for r in runs} == {"model=chemprop"}


def test_missing_chemprop_is_one_line_saying_how_to_install(tmp_path, monkeypatch):
    real = importlib.import_module

    def no_chemprop(name, *args, **kwargs):
        if name == "chemprop" or name.startswith("chemprop."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(peer.importlib, "import_module", no_chemprop)
    with pytest.raises(MetaLinkError, match=r"pip install -e '\.\[peers\]'") as err:
        prepare_data(_config(tmp_path).validate(), progress=False)
    assert "\n" not in str(err.value)
    with pytest.raises(MetaLinkError, match="chemprop>=2.1,<2.2"):
        peer.import_chemprop()


@pytest.mark.slow
def test_two_epochs_score_the_pairs_of_the_standard_setting(tmp_path):
    pytest.importorskip("chemprop")
    cache = str(tmp_path / "cache")
    summary = train(_config(tmp_path).validate(), progress=False)
    run = tmp_path / "run" / "seed_0"
    for name in ("config.json", "split.json", "draw.json", "history.json", "best.pt", "last.pt", "metrics.json"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert math.isfinite(metrics["test_roc_auc"]) and 0.0 < metrics["test_roc_auc"] < 1.0
    assert len(json.loads((run / "history.json").read_text())) == 2 and metrics["seconds_per_epoch"] > 0
    assert summary["config"]["model"] == "chemprop"
    # ERM of the same seed: the same split, draw and scored (molecule, task) pairs
    erm = train(_config(tmp_path, "erm", model="metalink", hidden=32, cache_dir=cache).validate(), progress=False)
    erm_metrics = json.loads((tmp_path / "erm" / "seed_0" / "metrics.json").read_text())
    assert erm["seeds"] == summary["seeds"]
    for name in ("split.json", "draw.json"):
        assert (run / name).read_text() == (tmp_path / "erm" / "seed_0" / name).read_text()
    assert metrics["test"]["n_pairs"] == erm_metrics["test"]["n_pairs"] > 0
    assert sorted(metrics["test"]["per_task"]) == sorted(erm_metrics["test"]["per_task"])


def test_predict_with_a_chemprop_checkpoint_scores_chemprops_featurization(untrained_checkpoint, sider, tmp_path):
    pytest.importorskip("chemprop")
    import numpy as np
    import pandas as pd
    import torch

    from metalink_dgl.engine import load_model
    from metalink_dgl.prediction import predict

    path = untrained_checkpoint("standard", model="chemprop", layers=0)
    smiles = list(sider.smiles[:6])
    (tmp_path / "in.csv").write_text("smiles\n" + "\n".join(smiles) + "\n")
    predict(path, tmp_path / "in.csv", tmp_path / "out.csv", progress=False)
    out = pd.read_csv(tmp_path / "out.csv")
    probs = out[[f"{t}_prob" for t in sider.task_names]].to_numpy()
    # the same model on chemprop's own inputs of those molecules, every task of every molecule
    model = load_model(path)[0].eval()
    with torch.no_grad():
        z = model.embed(peer.ChempropInputs(smiles).batch(range(len(smiles))).to("cpu"))
        rows, tasks = torch.meshgrid(torch.arange(len(smiles)), torch.arange(sider.n_tasks), indexing="ij")
        logits = model.score_pairs(z, None, torch.arange(sider.n_tasks), rows.flatten(), tasks.flatten())
    expected = torch.sigmoid(logits).reshape(len(smiles), -1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert np.ptp(probs[:, 0]) > 0  # molecules are told apart
