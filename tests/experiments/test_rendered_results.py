"""The committed results: their Markdown is exactly what the renderer makes of their JSON, and their
figures show what the JSON holds."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from metalink_dgl.experiments import render
from metalink_dgl.experiments.figures import draw_figure
from metalink_dgl.experiments.stats import SCALE
from metalink_dgl.plots import plt

RESULTS = Path(__file__).resolve().parents[2] / "results"
NAMES = ["table1", "table3", "fig4", "table5", "adme", "ablations", "heldout"]


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


@contextlib.contextmanager
def _drawn(results: dict):
    """The figure of ``results`` (:func:`draw_figure`), closed afterwards."""
    fig = draw_figure(results)
    try:
        yield fig
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", NAMES)
def test_committed_markdown_is_the_rendering_of_its_json(name):
    assert render(_load(name)) == (RESULTS / f"{name}.md").read_text()


@pytest.mark.parametrize("name", ["table1", "table5"])
def test_table_figure_has_one_bar_per_finished_cell_at_its_mean_and_the_paper_values(name):
    results = _load(name)
    paper = [r for r in results["paper"]["rows"] if r["method"] == "MetaLink"]
    with _drawn(results) as fig:
        for ax, dataset in zip(fig.axes, results["grid"]["datasets"]):
            bars = sorted(round(p.get_height(), 6) for p in ax.patches if isinstance(p, Rectangle))
            cells = [c for c in results["cells"] if c["dataset"] == dataset and c["seeds"]]
            assert bars == sorted(round(SCALE * c["test"]["mean"], 6) for c in cells)
            assert ax.get_title() == dataset and ax.get_ylim() == (40, 100)
            diamonds = next(line for line in ax.get_lines() if line.get_marker() == "D")
            assert list(diamonds.get_ydata()) == [r["mean"] for s in results["grid"]["settings"] for r in paper
                                                  if (r["dataset"], r["setting"]) == (dataset, s)]
        assert "ROC-AUC" in fig.axes[0].get_ylabel()
        methods = list(dict.fromkeys(c["method"] for c in results["cells"]))
        assert [t.get_text() for t in fig.legends[0].get_texts()] == [*methods, "MetaLink (paper)"]


def test_aux_ratio_figure_plots_each_sweep_point_and_the_reference_of_each_dataset():
    results = _load("fig4")
    with _drawn(results) as fig:
        for ax, dataset in zip(fig.axes, results["grid"]["datasets"]):
            cell = next(c for c in results["cells"] if c["dataset"] == dataset)
            points = cell["sweep"]["aux_ratio"]
            line = next(line for line in ax.get_lines() if len(line.get_xdata()) == len(points))
            np.testing.assert_allclose(np.asarray(line.get_xdata(), float), [p["value"] for p in points])
            np.testing.assert_allclose(np.asarray(line.get_ydata(), float), [SCALE * p["mean"] for p in points])
            assert any(isinstance(c, LineCollection) for c in ax.collections)  # the error bars
            assert ax.get_title() == dataset and "aux ratio" in ax.get_xlabel() and "ROC-AUC" in ax.get_ylabel()
            reference = next(r for r in results["paper"]["rows"]
                             if (r["dataset"], r["method"]) == (dataset, results["report"]["reference"]))
            dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
            assert [list(line.get_ydata()) for line in dashed] == [[reference["mean"]] * 2]


def test_correlation_figure_is_the_t_by_t_matrix_with_every_task_named():
    results = _load("table3")
    with _drawn(results) as fig:
        ax = fig.axes[0]
        matrix = np.array([[np.nan if x is None else x for x in row] for row in results["analysis"]["matrix"]])
        n_tasks = len(results["analysis"]["task_names"])
        assert matrix.shape == (n_tasks, n_tasks)
        np.testing.assert_allclose(ax.get_images()[0].get_array().filled(np.nan), matrix)
        assert ax.get_title().startswith(results["analysis"]["dataset"]) and "Pearson correlation" in ax.get_title()
        names = [t.get_text() for t in ax.get_xticklabels()]
        assert names == [f"{j}: {n}" for j, n in enumerate(results["analysis"]["task_names"])]


def test_endpoints_figure_has_a_bar_per_cell_and_endpoint_and_a_curve_per_cell():
    results = _load("adme")
    with _drawn(results) as fig:
        bars, curve = fig.axes[0], fig.axes[1]
        cells = [c for c in results["cells"] if c.get("regression")]
        expected = sorted(round(s["r2"]["mean"], 6) for c in cells
                          for s in c["regression"]["test"]["per_task"].values())
        assert sorted(round(p.get_height(), 6) for p in bars.patches if isinstance(p, Rectangle)) == expected
        values = results["grid"]["evaluate"]["aux_ratio"]
        lines = [line for line in curve.get_lines() if line.get_marker() == "o"]
        assert len(lines) == len(cells)
        for line, c in zip(lines, cells):
            np.testing.assert_allclose(np.asarray(line.get_ydata(), float),
                                       [c["regression"]["sweep"]["aux_ratio"][f"{v:g}"]["mean"]["r2"]["mean"]
                                        for v in values])
