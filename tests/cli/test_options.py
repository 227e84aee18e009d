"""The CLI's options come from TrainConfig once; `python -m metalink_dgl` is the same CLI; task types on the
command line (including the bad inputs, one line each, nothing written)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import metalink_dgl.engine
from cli.main import cli
from cli.train import command as train_command
from metalink_dgl import __version__
from metalink_dgl.data import load_dataset
from metalink_dgl.engine import TrainConfig

HLM, RLM = "LOG HLM_CLint (mL/min/kg)", "LOG RLM_CLint (mL/min/kg)"


@pytest.fixture
def captured(monkeypatch):
    """``train`` runs without training: the TrainConfig it would train is captured."""
    configs = []

    def fake_train(config, **kwargs):
        configs.append(config)
        return {"metric": "roc_auc", "dataset": config.dataset, "seeds": config.seeds, "best_epochs": [0],
                "val_roc_auc": {"mean": 0.5, "std": 0.0}, "test_roc_auc": {"mean": 0.5, "std": 0.0}}

    monkeypatch.setattr(metalink_dgl.engine, "train", fake_train)
    return configs


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _flag(field: dataclasses.Field) -> str:
    return "--" + field.name.replace("_", "-")


def test_every_config_field_is_a_train_option_with_its_help():
    text = re.sub(r"\s+", " ", _run("train", "--help").output).replace("- ", "-")  # unwrapped
    for f in dataclasses.fields(TrainConfig):
        help_text = f.metadata.get("help")
        assert help_text, f"TrainConfig.{f.name} has no CLI help"
        assert re.search(rf"{_flag(f)}\b", text), _flag(f)
        assert help_text[:40] in text, f.name


def test_option_defaults_are_the_configs():
    """An option's default is the config's, or None: not given, so the config's own default applies."""
    config, ctx = TrainConfig(), click.Context(train_command)
    defaults = {p.name: p.get_default(ctx) for p in train_command.params if not p.required}
    for f in dataclasses.fields(TrainConfig):
        assert f.name == "dataset" or defaults[f.name] in (None, getattr(config, f.name)), f.name
    assert sum(v is not None for v in defaults.values()) >= 25


def test_defaults_are_the_configs_and_lists_are_parsed(captured, tmp_path):
    assert _run("train", "--dataset", "sider", "--out", str(tmp_path / "a")).exit_code == 0
    expected = TrainConfig(dataset="sider", out=str(tmp_path / "a"))
    assert captured[0] == expected
    result = _run("train", "--dataset", "sider", "--seeds", "0", "1", "2", "--task-columns", "a, b ,c",
                  "--task-types", "a=regression, b=binary", "--shared-weights", "--split", "random",
                  "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    config = captured[1]
    assert config.seeds == [0, 1, 2] and config.task_columns == ["a", "b", "c"] and config.shared_weights
    assert config.task_types == {"a": "regression", "b": "binary"} and config.split == "random"


@pytest.mark.parametrize("words,seeds", [
    (["3,4"], [3, 4]), (["0,", "1", "2"], [0, 1, 2]), (["5", "--seeds", "6"], [5, 6]), (["7"], [7]),
])
def test_seed_lists(captured, tmp_path, words, seeds):
    result = _run("train", "--dataset", "sider", "--seeds", *words, "--epochs", "3", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert captured[0].seeds == seeds and captured[0].epochs == 3


def test_default_out_names_the_run(captured, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run("train", "--dataset", "sider", "--layers", "1").exit_code == 0
    assert _run("train", "--dataset", "sider", "--model", "baseline++", "--layers", "0").exit_code == 0
    assert [c.out for c in captured] == ["runs/sider-relational-L1", "runs/sider-relational-baseline++"]


@pytest.mark.parametrize("args,message", [
    (["--setting", "relationnal"], "Invalid value for '--setting': 'relationnal' is not one of"),
    (["--device", "tpu"], "Invalid value for '--device'"),
    (["--epochs", "many"], "Invalid value for '--epochs'"),
    (["--seeds", "one"], "Invalid value for --seeds: 'one' is not a list of integers"),
    (["3"], "unexpected extra argument (3)"),
    ([], "Missing option '--dataset'"),
])
def test_bad_values_are_clicks_errors(captured, tmp_path, args, message):
    dataset = [] if not args else ["--dataset", "sider"]
    result = CliRunner().invoke(cli, ["train", *dataset, *args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and message in result.output and not captured
    assert not (tmp_path / "r").exists()


def test_help_shows_the_defaults_of_each_dataset_kind():
    text = re.sub(r"\s+", " ", _run("train", "--help").output)
    for shown in ("[default: relational; fewshot: meta]", "[default: gcn; coco: resnet50; fewshot: resnet12]",
                  "[default: coco: 224; fewshot: 84]", "[default: 256; fewshot: 5]", "[default: 0]",
                  "[default: 0.001]", "[required]"):
        assert shown in text, shown


@pytest.mark.parametrize("command", ["describe", "split"])
def test_cache_dir_only_where_graphs_are_featurized(command):
    assert "--cache-dir" not in _run(command, "--help").output
    assert "--cache-dir" in _run("train", "--help").output and "--cache-dir" in _run("evaluate", "--help").output


def test_experiment_seed_and_name_lists(write_experiment, tmp_path):
    runs = tmp_path / "runs"
    result = _run("experiment", str(write_experiment), "--seeds", "3", "4", "--methods", " ERM", "--dry-run",
                  "--runs", str(runs))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3 and "ERM L0 seed 3 " in lines[0] and "ERM L0 seed 4 " in lines[1]
    result = _run("experiment", str(write_experiment), "--seeds", "3,4", "--report-only", "--partial",
                  "--runs", str(runs), "--results", str(tmp_path / "results"), "--no-progress")
    assert result.exit_code == 0, result.output
    recorded = (tmp_path / "results" / "e.json").read_text()
    assert "--seeds 3 4 --runs" in recorded


@pytest.fixture
def write_experiment(tmp_path):
    """A one-cell experiment config (ERM on SIDER, standard)."""
    path = tmp_path / "e.yaml"
    path.write_text("name: e\ndatasets: [sider]\nsettings: [standard]\nseeds: [0]\nbase: {epochs: 1}\n"
                    "methods:\n  ERM: {layers: 0}\n")
    return path


def test_python_dash_m_runs_the_same_cli():
    assert _run("--version").output.strip() == f"metalink-dgl, version {__version__}"
    helped = subprocess.run([sys.executable, "-m", "metalink_dgl", "train", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: metalink-dgl train [OPTIONS]")
    assert re.sub(r"\s", "", helped.stdout) == re.sub(r"\s", "", _run("train", "--help").output)  # maybe wrapped


def _adme_slice(path, rows=40, **cells) -> str:
    """ADME's first rows (SMILES, HLM, a 0/1 column), with cells overridden: ``{"3_hlm": "x"}``."""
    adme = load_dataset("adme")
    hlm = adme.Y[:, adme.task_names.index(HLM)]
    lines = [["smiles", "hlm", "flag"]]
    for i in range(rows):
        lines.append([adme.smiles[i], "" if hlm[i] != hlm[i] else f"{hlm[i]:.3f}", str(i % 2)])
    for key, value in cells.items():
        i, column = key.split("_")
        lines[int(i) + 1][lines[0].index(column)] = value
    path.write_text("\n".join(",".join(r) for r in lines) + "\n")
    return str(path)


def _one_error(result) -> str:
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    return errors[0]


def test_task_types_bad_input_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    common = ["--max-molecules", "10", "--epochs", "1", "--out", str(out), "--no-progress", "--device", "cpu"]
    text = _one_error(_run("train", "--dataset", _adme_slice(tmp_path / "t.csv", **{"3_hlm": "high"}), *common))
    assert "t.csv, line 5, column 'hlm'" in text and "'high' is not a number" in text
    text = _one_error(_run("train", "--dataset", _adme_slice(tmp_path / "b.csv", **{"2_hlm": "0.5"}),
                           "--task-types", "hlm=binary", *common))
    assert "b.csv, line" in text and "column 'hlm'" in text and "--task-types hlm=binary" in text
    text = _one_error(_run("train", "--dataset", _adme_slice(tmp_path / "i.csv", **{"1_hlm": "inf"}), *common))
    assert "'inf' is not a number" in text
    assert "not a task column" in _one_error(_run("train", "--dataset", _adme_slice(tmp_path / "u.csv"),
                                                  "--task-types", "nope=binary", *common))
    assert "write each as" in _one_error(_run("train", "--dataset", _adme_slice(tmp_path / "w.csv"),
                                              "--task-types", "hlm", *common))
    assert not out.exists()


def test_a_binary_column_read_as_regression(tmp_path):
    path = _adme_slice(tmp_path / "r.csv")
    assert load_dataset(path).task_types == ["regression", "binary"]
    forced = load_dataset(path, task_types={"flag": "regression"})
    assert forced.task_types == ["regression", "regression"] and set(forced.Y[:, 1].tolist()) == {0.0, 1.0}
    result = _run("describe", "--dataset", path, "--task-types", "flag=regression")
    assert result.exit_code == 0 and "regression task" in result.output and "binary task" not in result.output
