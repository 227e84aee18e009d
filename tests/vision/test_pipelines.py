"""The vision pipelines end to end on generated images (CPU, tiny ResNet-12): they learn, never leak,
reproduce from checkpoints, and run through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from metalink_dgl.data.synthetic import write_coco
from metalink_dgl.engine import TrainConfig, evaluate_checkpoint, load_model, prepare_data, score_rows, train
from metalink_dgl.engine.fewshot import episode_logits, fixed_episodes, prepare_fewshot
from metalink_dgl.kg import SETTINGS, EvalDraw

pytestmark = pytest.mark.slow

TINY = dict(encoder="resnet12", width=8, image_size=32, hidden=32, device="cpu")
TINY_ARGS = ["--encoder", "resnet12", "--width", "8", "--image-size", "32", "--hidden", "32", "--device", "cpu",
             "--no-progress"]
FEWSHOT = dict(shots=1, query=5, episodes=20, test_episodes=40, pretrain_epochs=5, pretrain_lr=0.05,
               optimizer="sgd", lr=0.01)


def _coco_config(root, out, **kw) -> TrainConfig:
    return TrainConfig(**{"dataset": "coco", "data_root": str(root), "epochs": 8, "batch_size": 32, "lr": 3e-3,
                          "out": str(out), **TINY, **kw})


@pytest.fixture(scope="module")
def coco_run(coco_root, tmp_path_factory):
    config = _coco_config(coco_root, tmp_path_factory.mktemp("coco-run") / "run", setting="relational")
    return config, train(config, progress=False)


@pytest.fixture(scope="module")
def fewshot_run(fewshot_root, tmp_path_factory):
    config = TrainConfig(dataset="fewshot", data_root=str(fewshot_root), epochs=3, layers=2,
                         out=str(tmp_path_factory.mktemp("fewshot-run") / "run"), **TINY, **FEWSHOT)
    return config, train(config, progress=False)


def test_coco_relational_beats_the_label_prior(coco_run):
    config, summary = coco_run
    data = prepare_data(config, progress=False)
    metrics = json.loads((Path(config.out) / "seed_0" / "metrics.json").read_text())
    test_rows = [i for i, p in enumerate(data.dataset.paths) if "/val/" in p]
    prior = float(data.Y[test_rows].mean())  # the mAP of a random scorer, about the positive rate
    assert summary["metric"] == "map" and metrics["split"] == "official"
    assert summary["test_map"]["mean"] > prior + 0.2, (summary["test_map"], prior)
    assert metrics["test"]["n_tasks_scored"] == 6 and summary["n_images"] == 208


def test_coco_queried_labels_never_change_a_prediction(coco_run, leak_check):
    config, _ = coco_run
    model, _, ckpt = load_model(f"{config.out}/seed_0/best.pt")
    data = prepare_data(config, progress=False)
    draw = EvalDraw.from_state(ckpt["draw"])
    rows = ckpt["split"]["test"]
    setting = SETTINGS["relational"]

    def run(Y):
        return score_rows(model, data.inputs, Y, rows, draw.aux["test"], setting, torch.ones_like(draw.heldout),
                          draw.support, batch_size=16, device=torch.device("cpu"))

    base = leak_check(run, data.Y)
    revealed = data.Y.clone()
    test_rows = torch.as_tensor(rows)
    block = revealed[test_rows]
    block[draw.aux["test"]] = 1 - block[draw.aux["test"]]
    revealed[test_rows] = block
    assert not np.array_equal(run(revealed)["pred"], base["pred"])  # revealed labels are used


def test_coco_checkpoint_reproduces_the_test_map(coco_run):
    config, summary = coco_run
    again = evaluate_checkpoint(f"{config.out}/seed_0/best.pt", device="cpu")
    assert again["metric"] == "map" and again["map"] == summary["test_map"]["values"][0]


@pytest.mark.parametrize("setting,model", [("standard", "metalink"), ("meta", "metalink"),
                                           ("relational-meta", "metalink"), ("meta", "baseline++")])
def test_coco_every_other_setting_trains(coco_root, tmp_path, setting, model):
    extra = {} if model == "metalink" else {"model": model, "layers": 0}
    summary = train(_coco_config(coco_root, tmp_path / "run", setting=setting, epochs=3, shots=32, **extra),
                    progress=False)
    assert 0.0 < summary["test_map"]["mean"] <= 1.0
    draw = json.loads((tmp_path / "run" / "seed_0" / "draw.json").read_text())
    assert (len(draw["heldout_tasks"]) == 1) == SETTINGS[setting].meta


def test_fewshot_beats_chance_and_reports_a_confidence_interval(fewshot_run):
    config, summary = fewshot_run
    assert summary["metric"] == "accuracy" and summary["n_classes"] == {"train": 8, "val": 5, "test": 5}
    assert summary["test_accuracy"]["mean"] > 1 / config.ways + 0.3, summary["test_accuracy"]
    metrics = json.loads((Path(config.out) / "seed_0" / "metrics.json").read_text())
    assert metrics["test"]["n_episodes"] == 40 and 0 < metrics["test_ci95"] < 0.2
    assert metrics["pretrain_loss"] is not None
    again = evaluate_checkpoint(f"{config.out}/seed_0/best.pt", device="cpu")
    assert again["accuracy"] == metrics["test_accuracy"] and again["ci95"] == metrics["test_ci95"]


def test_fewshot_query_labels_never_change_a_prediction(fewshot_run):
    config, _ = fewshot_run
    model, _, _ = load_model(f"{config.out}/seed_0/best.pt")
    prepared = prepare_fewshot(config)
    for episode in fixed_episodes(prepared, "test", config, seed=0)[:3]:
        with torch.no_grad():
            z = model.embed(prepared.inputs.batch(episode.rows))
            base = episode_logits(model, z, episode)
            episode.Y[~episode.support] = episode.Y[~episode.support].roll(2, dims=1)
            assert torch.equal(episode_logits(model, z, episode), base)


def test_cli_trains_and_evaluates_coco_and_fewshot(coco_root, fewshot_root, tmp_path):
    runner = CliRunner()
    out = tmp_path / "coco"
    result = runner.invoke(cli, ["train", "--dataset", "coco", "--data-root", str(coco_root), "--setting", "relational",
                                 "--epochs", "1", "--batch-size", "32", "--out", str(out), *TINY_ARGS],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "test mAP" in result.output
    result = runner.invoke(cli, ["evaluate", "--checkpoint", str(out / "seed_0" / "best.pt"), "--device", "cpu"])
    assert result.exit_code == 0 and result.output.startswith("test mAP"), result.output

    out = tmp_path / "fewshot"
    result = runner.invoke(cli, ["train", "--dataset", "fewshot", "--data-root", str(fewshot_root), "--ways", "5",
                                 "--shots", "1", "--query", "3", "--layers", "2", "--epochs", "1", "--episodes", "4",
                                 "--test-episodes", "5", "--pretrain-epochs", "1", "--out", str(out), *TINY_ARGS],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "95% CI" in result.output


def _error(result) -> str:
    assert result.exit_code != 0, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_cli_bad_vision_input_is_one_error_line(coco_root, fewshot_root, tmp_path):
    runner = CliRunner()

    def run(*args):
        return _error(runner.invoke(cli, ["train", "--epochs", "1", "--out", str(tmp_path / "x"), *TINY_ARGS, *args]))

    assert "needs --data-root" in run("--dataset", "coco")
    assert "--max-molecules" in run("--dataset", "coco", "--data-root", str(coco_root), "--max-molecules", "50")
    assert "--split scaffold" in run("--dataset", "coco", "--data-root", str(coco_root), "--split", "scaffold")
    assert "does not read" in run("--dataset", "coco", "--data-root", str(coco_root), "--encoder", "gcn")
    assert "meta setting" in run("--dataset", "fewshot", "--data-root", str(fewshot_root), "--setting", "relational")
    assert str(tmp_path / "none") in run("--dataset", "fewshot", "--data-root", str(tmp_path / "none"))
    broken = write_coco(tmp_path / "broken", n_train=40, n_val=8)
    shutil.copy(broken / "annotations" / "instances_val.json", tmp_path / "keep.json")
    (broken / "annotations" / "instances_val.json").write_text("{oops")
    assert str(broken / "annotations" / "instances_val.json") in run("--dataset", "coco", "--data-root", str(broken))
    shutil.copy(tmp_path / "keep.json", broken / "annotations" / "instances_val.json")
    (broken / "train" / "train_0005.png").write_bytes(b"GIF89a truncated")
    line = run("--dataset", "coco", "--data-root", str(broken), "--batch-size", "8", "--out", str(tmp_path / "y"))
    assert str(broken / "train" / "train_0005.png") in line and "cannot open the image" in line
    weights = tmp_path / "w.pt"
    torch.save({"conv.weight": torch.zeros(1)}, weights)
    line = run("--dataset", "coco", "--data-root", str(coco_root), "--pretrained", str(weights),
               "--out", str(tmp_path / "z"))
    assert str(weights) in line and "do not fit" in line


def test_fewshot_resume_after_a_kill_is_exact(fewshot_root, tmp_path, kill_on_call):
    import metalink_dgl.engine.fewshot as fewshot_module

    small = dict(FEWSHOT, episodes=6, test_episodes=8, pretrain_epochs=2)

    def config(out):
        return TrainConfig(dataset="fewshot", data_root=str(fewshot_root), epochs=3, layers=1, out=str(out),
                           **TINY, **small)

    done = train(config(tmp_path / "whole"), progress=False)
    restore = kill_on_call(fewshot_module, "episodic_epoch", 2)  # killed in the second episodic epoch
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "killed"), progress=False)
    restore()
    assert (tmp_path / "killed" / "seed_0" / "pretrain.pt").exists()
    resumed = train(config(tmp_path / "killed"), resume=True, progress=False)
    assert resumed["test_accuracy"] == done["test_accuracy"] and resumed["test_ci95"] == done["test_ci95"]

    def losses(run):
        return [h["loss"] for h in json.loads((tmp_path / run / "seed_0" / "history.json").read_text())]

    assert losses("killed") == losses("whole") and len(set(losses("whole"))) == 3
