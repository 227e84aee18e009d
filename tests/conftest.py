"""Shared fixtures: a per-session featurization cache, never the user's ~/.cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory):
    """Point METALINK_DGL_CACHE at a temporary directory for the whole test session."""
    mp = pytest.MonkeyPatch()
    mp.setenv("METALINK_DGL_CACHE", str(tmp_path_factory.mktemp("metalink-cache")))
    yield
    mp.undo()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh featurization cache folder for one test (also set as METALINK_DGL_CACHE)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("METALINK_DGL_CACHE", str(path))
    return path


@pytest.fixture
def kill_on_call(monkeypatch):
    """``kill_on_call(module, name, n)`` makes the ``n``-th call of ``module.name`` raise
    KeyboardInterrupt (a run killed mid-way); it returns a function that restores the original."""

    def patch(module, name: str, n: int):
        original = getattr(module, name)
        calls = {"n": 0}

        def dies(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, dies)
        return lambda: monkeypatch.setattr(module, name, original)

    return patch


def assert_queried_labels_unused(run, Y: torch.Tensor) -> dict:
    """Score with ``run(Y)`` (a ``score_rows`` result), flip every queried label, score again: the rows and
    probabilities must be bit-identical. Returns the first result."""
    base = run(Y)
    queried = torch.zeros_like(Y, dtype=torch.bool)
    queried[torch.from_numpy(base["row"]), torch.from_numpy(base["task"])] = True
    flipped = Y.clone()
    flipped[queried] = 1 - flipped[queried]
    again = run(flipped)
    assert np.array_equal(base["row"], again["row"]) and np.array_equal(base["pred"], again["pred"])
    return base


@pytest.fixture
def leak_check():
    """:func:`assert_queried_labels_unused`, for tests in any folder."""
    return assert_queried_labels_unused


@pytest.fixture
def torchrun_train():
    """``torchrun_train(out, *extra) -> CompletedProcess``: ``metalink-dgl train`` in two torchrun processes
    (gloo, one thread each) on 200 SIDER molecules for 2 epochs, writing ``out``; ``extra`` are more options."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}

    def run(out: Path, *extra: str) -> subprocess.CompletedProcess:
        args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                "-m", "metalink_dgl", "train", "--dataset", "sider", "--max-molecules", "200", "--epochs", "2",
                "--hidden", "32", "--batch-size", "16", "--device", "cpu", "--threads", "1", "--seeds", "0",
                "--no-progress", "--out", str(out), *extra]
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture(scope="session")
def sider():
    """The bundled SIDER set (1427 molecules x 27 tasks)."""
    from metalink_dgl.data import load_dataset

    return load_dataset("sider")


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory, sider):
    """Factory ``(setting="relational", **config) -> Path``: a complete checkpoint of an untrained SIDER model.

    Built, not trained (instant): for tests of what reads checkpoints, not of what the model learned.
    """
    import torch

    from metalink_dgl.checkpoint import save_checkpoint
    from metalink_dgl.data import make_split
    from metalink_dgl.engine import TrainConfig, build_model
    from metalink_dgl.kg import EvalDraw, get_setting

    made = {}

    def make(setting: str = "relational", **config):
        key = (setting, tuple(sorted(config.items())))
        if key not in made:
            cfg = TrainConfig(dataset="sider", setting=setting, **{"hidden": 16, "batch_size": 8, **config})
            torch.manual_seed(0)
            model = build_model(cfg, sider.n_tasks)
            split = make_split(sider.smiles, "random", 0)
            draw = EvalDraw.create(torch.from_numpy(sider.Y), split, get_setting(setting), seed=0,
                                   aux_ratio=cfg.aux_ratio, heldout_ratio=cfg.heldout_ratio, shots=cfg.shots)
            path = tmp_path_factory.mktemp("checkpoint") / f"{setting}.pt"
            save_checkpoint(path, config=cfg.to_dict(), task_names=sider.task_names, state_dict=model.state_dict(),
                            draw=draw.state(), seed=0, epoch=0,
                            split={k: torch.as_tensor(getattr(split, k)) for k in ("train", "val", "test")})
            made[key] = path
        return made[key]

    return make
