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
