"""Experiment configs written into a temporary folder, with a paper-numbers file beside them; the
scripts of ``experiments/`` as modules."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
import yaml

PAPER = {
    "tab": {"source": "Table T of a test", "rows": [
        {"method": "MetaLink", "setting": "relational", "dataset": "sider", "mean": 70.0, "std": 2.0, "layers": 3},
        {"method": "GROVER", "setting": "standard", "dataset": "sider", "mean": 65.0, "std": 1.0},
    ]},
    "corr": {"source": "Table C of a test", "tasks": {"low": [2, 17, 22], "high": [5, 20, 21]},
             "improvement_percent": {"low": 20.0, "high": 30.0},
             "rows": [{"group": "low", "setting": "standard", "mean": 57.5, "std": 8.4},
                      {"group": "high", "setting": "relational", "mean": 80.6, "std": 3.3}]},
}

@pytest.fixture
def write_config(tmp_path):
    """``write_config(text, name="exp")`` -> path of ``<tmp>/configs/<name>.yaml`` (paper.yaml beside it)."""
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "paper.yaml").write_text(yaml.safe_dump(PAPER))

    def write(text: str, name: str = "exp"):
        path = folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def experiment_script():
    """``experiment_script(name)`` -> ``experiments/<name>.py`` loaded as a module."""

    def load(name: str):
        path = Path(__file__).resolve().parents[2] / "experiments" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
