"""Plots of a results dict (see :mod:`metalink_dgl.experiments.report`), drawn from the dict alone.

* Figure 4 (``aux-ratio`` reports): test ROC-AUC against the test auxiliary ratio, mean ± std
  over seeds per dataset, with the published reference (GROVER) as a dashed line;
* the Pearson correlation heat map of Table 3 (``task-correlation`` reports), task names on
  both axes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plots import plt
from .report import SCALE, figure_files


def plot_figures(results: dict, results_dir: Path) -> list[Path]:
    """Draw the plots of ``results`` into ``results_dir``; returns their paths."""
    kind = results["report"]["kind"]
    draw = {"aux-ratio": plot_aux_ratio, "task-correlation": plot_correlation}.get(kind)
    paths = [Path(results_dir) / name for name in figure_files(results)]
    for path in paths:
        draw(results, path)
    return paths


def plot_aux_ratio(results: dict, path: Path) -> None:
    """One panel per dataset: ours with error bars over seeds, the paper's reference dashed."""
    sweep = next(iter(results["grid"]["evaluate"]))
    reference = results["report"].get("reference")
    rows = (results.get("paper") or {}).get("rows") or []
    datasets = results["grid"]["datasets"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        cell = next((c for c in results["cells"] if c["dataset"] == dataset), None)
        points = [p for p in (cell["sweep"][sweep] if cell else []) if p["mean"] is not None]
        if points:
            n = sorted({len(p["seeds"]) for p in points})
            ax.errorbar([p["value"] for p in points], [SCALE * p["mean"] for p in points],
                        yerr=[SCALE * p["std"] for p in points], marker="o", capsize=3,
                        label=f"MetaLink (n={'/'.join(map(str, n))} seeds)")
        else:
            ax.text(0.5, 0.25, "no finished runs yet", transform=ax.transAxes, ha="center", color="grey")
        ref = next((r for r in rows if r.get("dataset") == dataset and r.get("method") == reference), None)
        if ref is not None:
            ax.axhline(ref["mean"], color="grey", linestyle="--", label=f"{reference} (paper Table 1)")
        ax.set(title=dataset, xlabel=f"test {sweep.replace('_', ' ')}", ylabel="test ROC-AUC x100")
        ax.legend(loc="best", fontsize=7)
    fig.suptitle(results["title"], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_correlation(results: dict, path: Path) -> None:
    """Heat map of the task-task Pearson correlation, task names on both axes."""
    a = results["analysis"]
    matrix = np.array([[np.nan if x is None else x for x in row] for row in a["matrix"]], dtype=float)
    names = [f"{j}: {name}" for j, name in enumerate(a["task_names"])]
    size = max(6.0, 0.28 * len(names) + 3)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.colorbar(image, ax=ax, fraction=0.04, label="Pearson correlation")
    ax.set_title(f"{a['dataset']}: Pearson correlation of the task labels", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
