"""Shared fixtures: a per-session featurization cache, never the user's ~/.cache."""

from __future__ import annotations

import pytest


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
