"""``metalink-dgl describe`` and ``metalink-dgl split`` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from metalink_dgl.data import Split


@pytest.fixture
def run():
    runner = CliRunner()

    def _run(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return _run


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_describe_text(run):
    result = run("describe", "--dataset", "sider")
    assert result.exit_code == 0, result.output
    assert "1427" in result.output and "Hepatobiliary disorders" in result.output


def test_describe_json(run):
    result = run("describe", "--dataset", "tox21", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert (stats["molecules"], stats["tasks"], stats["invalid_dropped"]) == (7823, 12, 8)
    assert len(stats["per_task"]) == 12 and stats["per_task"][0]["task"] == "NR-AR"
    assert 0 < stats["missing_fraction"] < 1 and stats["positives_per_task"]["min"] > 0


def test_describe_user_csv_with_task_columns(run, tmp_path):
    path = tmp_path / "assays.csv"
    path.write_text("name,Smiles,a,b\nx,CCO,0,1\ny,CCN,1,\n")
    result = run("describe", "--dataset", str(path), "--task-columns", "b, a", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert [t["task"] for t in stats["per_task"]] == ["b", "a"] and stats["labels_observed"] == 3


def test_describe_unknown_dataset(run):
    line = _one_line_error(run("describe", "--dataset", "tox22"))
    assert "tox22" in line and "tox21" in line and "sider" in line


def test_describe_bad_label(run, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("smiles,a\nCCO,0\nCCN,high\n")
    line = _one_line_error(run("describe", "--dataset", str(path)))
    assert str(path) in line and "line 3" in line and "'a'" in line and "'high'" in line and "not a number" in line


def test_describe_invalid_smiles_and_skip_invalid(run, tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,a\nCCO,0\nC1CC,1\nCCN,1\n")
    assert "line 3" in _one_line_error(run("describe", "--dataset", str(path)))
    result = run("describe", "--dataset", str(path), "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["molecules"] == 2 and stats["invalid_dropped"] == 1


def test_split_writes_file(run, tmp_path):
    out = tmp_path / "split.json"
    result = run("split", "--dataset", "sider", "--split", "random", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "train 1142" in result.output and "val 143" in result.output and "test 142" in result.output
    split = Split.from_json(out, n=1427)
    assert (split.kind, split.seed, split.dataset) == ("random", 3, "sider")


def test_split_scaffold_default(run, tmp_path):
    out = tmp_path / "scaffold.json"
    result = run("split", "--dataset", "sider", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert Split.from_json(out, n=1427).kind == "scaffold"


@pytest.mark.parametrize("problem", ["missing folder", "unknown dataset", "empty csv", "no smiles column", "bad label"])
def test_split_errors_write_nothing(run, tmp_path, problem):
    out = tmp_path / "split.json"
    dataset = "sider"
    if problem == "missing folder":
        out = tmp_path / "no_such_folder" / "split.json"
    elif problem == "unknown dataset":
        dataset = "not_a_dataset"
    else:
        text = {"empty csv": "", "no smiles column": "mol,a\nCCO,1\n", "bad label": "smiles,a\nCCO,yes\n"}[problem]
        (tmp_path / "user.csv").write_text(text)
        dataset = str(tmp_path / "user.csv")
    _one_line_error(run("split", "--dataset", dataset, "--out", str(out)))
    assert sorted(p.name for p in tmp_path.iterdir()) == (["user.csv"] if dataset.endswith(".csv") else [])


def test_split_rejects_unknown_kind(run, tmp_path):
    result = run("split", "--dataset", "sider", "--split", "stratified", "--out", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("command", ["describe", "split"])
@pytest.mark.parametrize("dataset", ["coco", "fewshot"])
def test_image_datasets_are_refused_in_one_line(run, tmp_path, command, dataset):
    args = ["--out", str(tmp_path / "split.json")] if command == "split" else []
    error = _one_line_error(run(command, "--dataset", dataset, *args))
    assert f"{command} reads molecule datasets; --dataset {dataset} is an image dataset" in error
    assert not (tmp_path / "split.json").exists()
    assert "coco" not in run(command, "--help").output  # its help does not offer them either
