"""``metalink-dgl train`` and ``evaluate`` through click's CliRunner, including bad input."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli

TINY = ["--dataset", "sider", "--max-molecules", "300", "--epochs", "1", "--hidden", "32", "--device", "cpu",
        "--no-progress"]


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _error(result) -> str:
    assert result.exit_code != 0, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture
def keep_threads():
    """Restore torch's thread count after a test that sets it."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_train_then_evaluate_then_resume(tmp_path, keep_threads):
    out = tmp_path / "run"
    result = _invoke("train", *TINY, "--setting", "relational", "--seeds", "0", "1", "--out", str(out),
                     "--threads", "1")
    assert torch.get_num_threads() == 1
    assert result.exit_code == 0, result.output
    assert json.loads((out / "seed_0" / "config.json").read_text())["threads"] == 1
    assert "test ROC-AUC" in result.output and "seeds [0, 1]" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and len(summary["test_roc_auc"]["values"]) == 2
    metrics = json.loads((out / "seed_1" / "metrics.json").read_text())

    result = _invoke("evaluate", "--checkpoint", str(out / "seed_1" / "best.pt"), "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["roc_auc"] == metrics["test_roc_auc"]

    assert "--resume" in _error(_invoke("train", *TINY, "--setting", "relational", "--seeds", "0", "--out", str(out)))
    result = _invoke("train", *TINY, "--setting", "relational", "--seeds", "0", "1", "--out", str(out), "--resume",
                     "--threads", "1")
    assert result.exit_code == 0 and json.loads((out / "summary.json").read_text()) == summary


@pytest.mark.parametrize(
    "args,match",
    [
        (["--aux-ratio", "1.5"], "--aux-ratio 1.5 must be in [0, 1)"),
        (["--setting", "meta", "--layers", "0"], "needs --layers >= 1"),
        (["--setting", "meta", "--shots", "0"], "--shots 0 must be at least 1"),
        (["--heldout-ratio", "0"], "--heldout-ratio"),
        (["--epochs", "0"], "--epochs 0"),
    ],
)
def test_bad_options_are_one_line_errors_and_write_nothing(tmp_path, args, match):
    out = tmp_path / "run"
    line = _error(_invoke("train", *TINY, *args, "--out", str(out)))
    assert match in line
    assert not out.exists()


def test_unknown_dataset_and_stray_arguments(tmp_path):
    assert "tox21" in _error(_invoke("train", "--dataset", "tox22", "--out", str(tmp_path / "r")))
    assert "unexpected extra argument (3)" in _error(_invoke("train", *TINY, "3", "--out", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(tmp_path):
    line = _error(_invoke("train", *TINY[:-3], "--device", "cuda", "--out", str(tmp_path / "r")))
    assert "--device cuda" in line and "environment.yml" in line


def test_evaluate_refuses_bad_checkpoints(tmp_path):
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    assert "truncated or corrupt" in _error(_invoke("evaluate", "--checkpoint", str(tmp_path / "cut.pt")))
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    assert "not a metalink-dgl checkpoint" in _error(_invoke("evaluate", "--checkpoint", str(tmp_path / "other.pt")))
