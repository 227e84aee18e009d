"""The CLI's options come from TrainConfig once; `python -m metalink_dgl` is the same CLI; task types on the
command line (including the bad inputs, one line each, nothing written)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from click.testing import CliRunner

import metalink_dgl.engine
from cli.config_options import option_fields
from cli.main import cli
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


def test_every_config_field_is_a_train_option_with_help():
    text = _run("train", "--help").output
    for f in option_fields():
        flag = "--" + f.name.replace("_", "-")
        assert flag in text, flag
    assert {f.name for f in option_fields()} < {f.name for f in dataclasses.fields(TrainConfig)}


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
    assert _run("train", "--dataset", "sider", "--seeds", "3,4", "--out", str(tmp_path / "c")).exit_code == 0
    assert captured[2].seeds == [3, 4]


def test_a_bad_choice_is_clicks_error(captured):
    result = CliRunner().invoke(cli, ["train", "--dataset", "sider", "--setting", "relationnal"])
    assert result.exit_code == 2 and "relationnal" in result.output and not captured


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run([sys.executable, "-m", "metalink_dgl", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and __version__ in done.stdout
    helped = subprocess.run([sys.executable, "-m", "metalink_dgl", "train", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--aux-ratio" in helped.stdout


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
