"""Fixtures: the generated image datasets of :mod:`metalink_dgl.data.synthetic`, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from metalink_dgl.data.synthetic import write_coco, write_fewshot


@pytest.fixture(scope="session")
def coco_root(tmp_path_factory) -> Path:
    return write_coco(tmp_path_factory.mktemp("coco"))


@pytest.fixture(scope="session")
def fewshot_root(tmp_path_factory) -> Path:
    return write_fewshot(tmp_path_factory.mktemp("fewshot"))
