"""Plots of a results dict (see :mod:`metalink_dgl.experiments.collect`), drawn from the dict alone.

* Figure 4 (``aux-ratio`` reports): test ROC-AUC against the test auxiliary ratio, mean ± std
  over seeds per dataset, with the published reference (GROVER) as a dashed line;
* the Pearson correlation heat map of Table 3 (``task-correlation`` reports), task names on
  both axes;
* Table 1 and Table 5 (``table`` reports): test ROC-AUC per setting, a bar per method;
* KG layer variants (``ablation`` reports): validation and test ROC-AUC minus the reference
  method's, a heat map of methods x (dataset, setting) cells.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..plots import plt
from .stats import SCALE

#: Foot of the ROC-AUC axis of :func:`plot_table` (chance is 50).
BOTTOM = 40


def figure_files(results: dict) -> list[str]:
    """File names of the plots that go with a results dict (next to its JSON)."""
    kind = results["report"]["kind"]
    if kind == "task-correlation":
        return [f"{results['experiment']}_correlation.png"]
    return [f"{results['experiment']}.png"]


def plot_figures(results: dict, results_dir: Path) -> list[Path]:
    """Draw the plots of ``results`` into ``results_dir``; returns their paths."""
    paths = [Path(results_dir) / name for name in figure_files(results)]
    for path in paths:
        fig = draw_figure(results)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return paths


def draw_figure(results: dict) -> Figure:
    """The figure of ``results`` (its report kind decides which), not yet saved."""
    kind = results["report"]["kind"]
    return {"aux-ratio": plot_aux_ratio, "task-correlation": plot_correlation, "table": plot_table,
            "endpoints": plot_endpoints, "ablation": plot_ablation}[kind](results)


def plot_aux_ratio(results: dict) -> Figure:
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
    return fig


def plot_correlation(results: dict) -> Figure:
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
    return fig


def plot_table(results: dict) -> Figure:
    """One panel per dataset: a bar per method and setting (ours, ± std over seeds; the seed
    count at its foot) and the paper's MetaLink value as a black diamond (± its std).
    The axis starts at ``BOTTOM`` (ROC-AUC x100) so that differences of a point show."""
    datasets, settings = results["grid"]["datasets"], results["grid"]["settings"]
    cells = {(c["dataset"], c["setting"], c["method"]): c for c in results["cells"] if c["seeds"]}
    methods = list(dict.fromkeys(c["method"] for c in results["cells"]))
    paper = {(r["dataset"], r["setting"]): r for r in (results.get("paper") or {}).get("rows") or []
             if r.get("method") == "MetaLink"}
    width = 0.8 / len(methods)
    fig, axes = plt.subplots(1, len(datasets), figsize=(max(7.0, 1.2 + 1.1 * len(settings) * len(datasets)), 3.8),
                             squeeze=False, sharey=True)
    for ax, dataset in zip(axes[0], datasets):
        for k, method in enumerate(methods):
            found = [(i, cells[dataset, s, method]) for i, s in enumerate(settings) if (dataset, s, method) in cells]
            xs = [i - 0.4 + width * (k + 0.5) for i, _ in found]
            ax.bar(xs, [SCALE * c["test"]["mean"] for _, c in found], width, color=f"C{k}", label=method,
                   yerr=[SCALE * c["test"]["std"] for _, c in found], capsize=2)
            for x, (_, c) in zip(xs, found):
                ax.text(x, BOTTOM + 1, str(len(c["seeds"])), ha="center", va="bottom", fontsize=6, color="white")
        marks = [(i, paper[dataset, s]) for i, s in enumerate(settings) if (dataset, s) in paper]
        offset = -0.4 + width * (methods.index("MetaLink") + 0.5) if "MetaLink" in methods else 0.0  # on its bar
        ax.errorbar([i + offset for i, _ in marks], [r["mean"] for _, r in marks],
                    yerr=[r.get("std") or 0 for _, r in marks], fmt="kD", markersize=4, capsize=3,
                    label="MetaLink (paper)")
        ax.set_xticks(range(len(settings)), settings, rotation=15, fontsize=7)
        ax.set(title=dataset, ylim=(BOTTOM, 100))
        ax.axhline(50, color="grey", linewidth=0.5, linestyle=":")
    axes[0][0].set_ylabel("test ROC-AUC x100 (chance 50)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7, frameon=False)
    fig.suptitle(results["title"], fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def plot_endpoints(results: dict) -> Figure:
    """Continuous endpoints: test R2 per endpoint, a bar per cell (± std over seeds); and, for each
    auxiliary-ratio sweep, test R2 against the ratio, a line per cell."""
    cells = [c for c in results["cells"] if c.get("regression")]
    curves = [s for s in results["grid"]["evaluate"] if s != "leave_one_out"]
    fig, axes = plt.subplots(1, 1 + len(curves), figsize=(6 + 4 * len(curves), 3.8), squeeze=False)
    names = list(cells[0]["regression"]["test"]["per_task"]) if cells else []
    width = 0.8 / max(len(cells), 1)
    ax = axes[0][0]
    for k, c in enumerate(cells):
        per_task = c["regression"]["test"]["per_task"]
        found = [(i, per_task[n]["r2"]) for i, n in enumerate(names) if per_task.get(n, {}).get("r2", {}).get("mean")
                 is not None]
        ax.bar([i - 0.4 + width * (k + 0.5) for i, _ in found], [s["mean"] for _, s in found], width,
               yerr=[s["std"] for _, s in found], capsize=2, color=f"C{k}", label=f"{c['method']} ({c['setting']})")
    ax.set_xticks(range(len(names)), [n.replace("LOG ", "")[:30] for n in names], rotation=30, ha="right", fontsize=6)
    ax.set(ylabel="test R2", title="per endpoint")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.legend(fontsize=6)
    for ax, sweep in zip(axes[0][1:], curves):
        values = results["grid"]["evaluate"][sweep]
        for k, c in enumerate(cells):
            points = [c["regression"]["sweep"][sweep][f"{v:g}"]["mean"]["r2"] for v in values]
            kept = [(v, p) for v, p in zip(values, points) if p["mean"] is not None]
            ax.errorbar([v for v, _ in kept], [p["mean"] for _, p in kept], yerr=[p["std"] for _, p in kept],
                        marker="o", capsize=3, color=f"C{k}", label=f"{c['method']} ({c['setting']})")
        ax.set(xlabel=f"test {sweep.replace('_', ' ')}", ylabel="test R2 (mean over endpoints)", title=sweep)
        ax.legend(fontsize=6)
    fig.suptitle(results["title"], fontsize=9)
    fig.tight_layout()
    return fig


def plot_ablation(results: dict) -> Figure:
    """Two heat maps, validation and test: ROC-AUC x100 of each method minus the reference's
    (the config's first method) in each (dataset, setting) cell, the number written in the square;
    blank where a method has no run in that cell."""
    methods = list(results["grid"]["methods"])
    columns = [(d, s) for d in results["grid"]["datasets"] for s in results["grid"]["settings"]]
    cells = {(c["dataset"], c["setting"], c["method"]): c for c in results["cells"]}
    fig, axes = plt.subplots(1, 2, figsize=(2.0 + 1.6 * len(columns), 1.2 + 0.35 * len(methods)), sharey=True)
    for ax, split in zip(axes, ("val", "test")):
        diff = np.full((len(methods), len(columns)), np.nan)
        for j, (d, s) in enumerate(columns):
            ref = cells.get((d, s, methods[0]))
            for i, m in enumerate(methods):
                c = cells.get((d, s, m))
                if c and ref and c[split]["mean"] is not None and ref[split]["mean"] is not None:
                    diff[i, j] = SCALE * (c[split]["mean"] - ref[split]["mean"])
        bound = max(1.0, float(np.nanmax(np.abs(diff)))) if np.isfinite(diff).any() else 1.0
        ax.imshow(diff, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
        for i, j in zip(*np.nonzero(np.isfinite(diff))):
            ax.text(j, i, f"{diff[i, j]:+.1f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(diff[i, j]) > bound / 2 else "black")
        ax.set_xticks(range(len(columns)), [f"{d}\n{s}" for d, s in columns], fontsize=7)
        ax.set_yticks(range(len(methods)), methods, fontsize=7)
        ax.set_title(f"{'validation' if split == 'val' else 'test'} ROC-AUC x100 minus {methods[0]}", fontsize=8)
    fig.suptitle(results["title"], fontsize=9)
    fig.tight_layout()
    return fig
