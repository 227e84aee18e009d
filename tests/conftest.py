"""Shared fixtures: a per-session featurization cache, never the user's ~/.cache."""

from __future__ import annotations

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
    assert np.array_equal(base["row"], again["row"]) and np.array_equal(base["prob"], again["prob"])
    return base


@pytest.fixture
def leak_check():
    """:func:`assert_queried_labels_unused`, for tests in any folder."""
    return assert_queried_labels_unused
