"""Bundled datasets, loaded once per test session (read-only: tests must not mutate them)."""

from __future__ import annotations

import pytest

from metalink_dgl.data import load_dataset


@pytest.fixture(scope="session")
def tox21():
    return load_dataset("tox21")


@pytest.fixture(scope="session")
def sider():
    return load_dataset("sider")


@pytest.fixture(scope="session")
def toxcast():
    return load_dataset("toxcast")


@pytest.fixture(scope="session")
def adme():
    return load_dataset("adme")
