"""``metalink-dgl featurize`` fills the cache that ``train`` then reads without featurizing."""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner

from cli.main import cli

featurize_module = importlib.import_module("metalink_dgl.data.featurize")  # not the function of that name

DATA = ["--dataset", "sider", "--max-molecules", "60"]


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_featurize_then_train_reads_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    result = _invoke("featurize", *DATA, "--cache-dir", str(cache), "--workers", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    (bank,) = [p for p in cache.iterdir() if p.is_dir()]
    assert bank.name.startswith("sider-canonical-") and f"cache {bank} (" in result.output
    assert "60 molecules of sider, featurizer canonical" in result.output and "bytes per molecule" in result.output
    written = {p.name: p.stat().st_mtime_ns for p in bank.iterdir()}

    def _fail(*args, **kwargs):
        raise AssertionError("train featurized again instead of reading the cache of featurize")

    monkeypatch.setattr(featurize_module, "build_bank", _fail)
    result = _invoke("train", *DATA, "--cache-dir", str(cache), "--epochs", "1", "--hidden", "16", "--device", "cpu",
                     "--no-progress", "--out", str(tmp_path / "run"), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert f"loaded 60 canonical molecule graphs from cache {bank}" in result.output  # the log, on stderr
    assert {p.name: p.stat().st_mtime_ns for p in bank.iterdir()} == written


@pytest.mark.parametrize("args,match", [
    (["--featurizer", "pretrain", "--encoder", "gcn"], "--encoder gcn reads featurizer 'canonical', not --featurizer"),
    (["--encoder", "resnet50"], "--encoder 'resnet50' does not read molecules"),
    (["--workers", "0"], "--workers 0 must be at least 1"),
])
def test_bad_options_are_one_line(tmp_path, args, match):
    result = CliRunner().invoke(cli, ["featurize", *DATA, "--cache-dir", str(tmp_path), *args])
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and match in errors[0], result.output


def test_pretrain_featurizer_by_name(tmp_path):
    result = _invoke("featurize", *DATA, "--cache-dir", str(tmp_path), "--featurizer", "pretrain", "--no-progress")
    assert result.exit_code == 0 and "featurizer pretrain" in result.output
    (bank,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert bank.name.startswith("sider-pretrain-")
