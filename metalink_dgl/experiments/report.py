"""An experiment's runs -> one results JSON -> Markdown (and plots) rendered from that JSON alone.

:func:`collect` reads what the runs wrote (``metrics.json``, ``run.json``, cached sweep
scores) and returns a JSON-able dict: every table cell (dataset, setting, method) with its
per-seed values, chosen KG layers, mean, sample std, wall time and commits, plus the
paper's numbers copied from ``experiments/paper_numbers.yaml`` into a block of their own.
:func:`render` turns that dict into Markdown and nothing else goes in: edit a number in the
JSON and the Markdown follows. Cells still missing (a grid run over several sessions) show
``—`` and are counted in the header.

Runs live on one machine; the results JSON is what is committed. :func:`kept_results` reads
the per-seed entries of an earlier results file back, so that a grid continued on another
machine (``metalink-dgl experiment --keep-results``) trains only the seeds that file lacks and
merges the rest, each kept entry marked with the file and commit it came from.

Report kinds (``report: {kind: ...}`` in the config):

* ``table`` (Tables 1 and 5): per dataset, a row per (setting, method): ours | paper | Δ;
* ``task-correlation`` (Table 3): tasks ranked by their average Pearson correlation with
  the others; per-task ROC-AUC of a baseline cell vs a MetaLink cell, and a heat map;
* ``aux-ratio`` (Figure 4): the chosen checkpoints re-scored at several test auxiliary
  ratios, against a published reference value drawn as a dashed line.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..data import load_dataset
from ..errors import MetaLinkError
from ..io import atomic_write_json, atomic_write_text
from ..provenance import git_commit
from .grid import Experiment, changed_options
from .jobs import RUN_RECORD
from .selection import choose, eval_path, group_runs, read_json

#: Paper numbers are printed as ROC-AUC x 100; ours are stored as fractions.
SCALE = 100.0
MISSING = "—"
README_BEGIN, README_END = "<!-- experiments:begin -->", "<!-- experiments:end -->"


def stats(values: list[float]) -> dict:
    """Mean and sample std (0 for one value; None for none) of ``values``."""
    if not values:
        return {"mean": None, "std": None, "values": []}
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "values": [float(v) for v in values]}


# ----------------------------------------------------------------------------------------------- collect


def portable_command(command: str) -> str:
    """``command`` with every absolute path replaced by ``<path>``: results name no machine's folders."""
    try:
        words = shlex.split(command)
    except ValueError:  # not a shell line: leave it as it is
        return command
    return shlex.join("<path>" if os.path.isabs(w) else w for w in words)


@dataclass
class Kept:
    """Per-seed entries of an earlier results file, keyed ``(dataset, setting, method, seed)``."""

    source: str  # "<file> (report commit <sha>)"
    entries: dict[tuple, dict] = field(default_factory=dict)
    machines: list[dict] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def kept_results(experiment: Experiment, path: str | Path) -> Kept:
    """The seeds of ``path`` (an earlier ``<name>.json`` of ``experiment``) that still fit its grid.

    A cell's seeds are kept only if the cell was made with the options, epochs and KG layer
    candidates the grid asks for now, and scored on every sweep value it asks for; a seed the
    grid no longer lists is dropped.
    """
    path = Path(path)
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise MetaLinkError(f"{path}: cannot read the results to keep ({err})") from None
    if not isinstance(previous, dict) or previous.get("experiment") != experiment.name:
        raise MetaLinkError(f"{path}: not a results file of experiment {experiment.name!r}")
    shown = path.name if path.is_absolute() else path.as_posix()  # results name no machine's folders
    kept = Kept(source=f"{shown} (report commit {str(previous.get('report_commit'))[:12]})",
                machines=previous.get("machines", []), commands=previous.get("run_commands", []))
    groups = group_runs(experiment.runs("."))
    wanted = {sweep: {f"{v:g}" for v in values} for sweep, values in experiment.evaluate.items()}
    for cell in previous.get("cells", []):
        key = (cell["dataset"], cell["setting"], cell["method"])
        if (*key, experiment.seeds[0]) not in groups:
            continue
        made_as = _protocol(experiment, groups[(*key, experiment.seeds[0])][0].config, key[2])
        if {k: cell.get(k) for k in made_as} != made_as:
            continue
        for entry in cell["per_seed"]:
            scored = {sweep: {k for k, v in entry.get("sweep", {}).get(sweep, {}).items() if v is not None}
                      for sweep in wanted}
            if entry["seed"] in experiment.seeds and all(wanted[s] <= scored[s] for s in wanted):
                kept.entries[(*key, entry["seed"])] = entry
    return kept


def collect(experiment: Experiment, runs_dir: str | Path, *, command: str = "", kept: Kept | None = None) -> dict:
    """Aggregate the runs of ``experiment`` found under ``runs_dir`` into the results dict.

    A (cell, seed) whose runs are not all finished here takes its entry from ``kept``, if there.
    """
    runs_dir = Path(runs_dir)
    runs = experiment.runs(runs_dir)
    groups = group_runs(runs)
    kind = experiment.report.get("kind", "table")
    kept_entries = kept.entries if kept else {}
    cells, machines, commands, missing_evals, used = [], {}, set(), 0, set()
    for dataset, setting, method in experiment.cells():
        per_seed, missing = [], []
        for seed in experiment.seeds:
            key = (dataset, setting, method, seed)
            chosen = choose(groups[key])
            if chosen is None and key in kept_entries:
                per_seed.append({"kept_from": kept.source, **kept_entries[key]})  # kept twice: the first source
                used.add(key)
                continue
            if chosen is None:
                missing.append(seed)
                continue
            entry, records = _seed_entry(experiment, groups[key], chosen, runs_dir, kind == "task-correlation")
            missing_evals += sum(v is None for sweep in entry.get("sweep", {}).values() for v in sweep.values())
            machines.update({str(r["machine"]): r["machine"] for r in records if "machine" in r})
            commands.update(portable_command(r["command"]) for r in records if r.get("command"))
            per_seed.append(entry)
        cells.append(_cell(experiment, (dataset, setting, method), per_seed, missing, groups))
    if used:
        kept_machines = {m for key in used for m in kept_entries[key]["machines"]}
        machines.update({str(m): m for m in kept.machines if _machine(m) in kept_machines})
        commands.update(kept.commands)
    n_missing = sum(not r.finished and (*r.cell, r.seed) not in used for r in runs)
    results = {
        "experiment": experiment.name, "title": experiment.title, "notes": experiment.notes,
        "config": str(experiment.path), "command": portable_command(command), "run_commands": sorted(commands),
        "date": date.today().isoformat(),
        "report": {"kind": kind, **experiment.report},
        "grid": _grid(experiment),
        "metric": "test ROC-AUC (fraction) at the best validation epoch; the Markdown shows x100",
        "runs": {"total": len(runs), "finished": len(runs) - n_missing, "missing": n_missing,
                 "evaluations_missing": missing_evals, "kept_seeds": len(used),
                 "kept_from": kept.source if used else None},
        "commits": sorted({c for cell in cells for c in cell["commits"]}),
        "report_commit": git_commit(),
        "machines": list(machines.values()),
        "cells": cells,
        "paper": load_paper(experiment),
    }
    if kind == "task-correlation":
        results["analysis"] = task_correlation(experiment.report, cells, experiment.datasets[0])
    return results


def _seed_entry(experiment: Experiment, candidates, chosen, runs_dir: Path, with_tasks: bool) -> tuple[dict, list]:
    run, metrics, by_layers = chosen
    # the runner's record; for a run made by ``metalink-dgl train`` itself, its summary's commit and machine
    records = [read_json(r.dir / RUN_RECORD) or read_json(r.dir.parent / "summary.json") or {} for r in candidates]
    walls = [r.get("wall_seconds") for r in records]
    entry = {
        "seed": run.seed, "layers": run.layers, "val": metrics["val_roc_auc"], "test": metrics["test_roc_auc"],
        "best_epoch": metrics["best_epoch"], "n_tasks_scored": metrics["test"]["n_tasks_scored"],
        "n_tasks_skipped": metrics["test"]["n_tasks_skipped"],
        "wall_seconds": sum(walls) if None not in walls else None,
        "commits": sorted({r["commit"] for r in records if "commit" in r}),
        "machines": sorted({_machine(r["machine"]) for r in records if "machine" in r}),
        "run": run.dir.relative_to(runs_dir).as_posix(),
    }
    if len(by_layers) > 1:
        entry["by_layers"] = {str(k): {"val": m["val_roc_auc"], "test": m["test_roc_auc"]}
                              for k, m in by_layers.items()}
    if with_tasks:
        entry["per_task"] = metrics["test"]["per_task"]
    if experiment.evaluate:
        entry["sweep"] = {sweep: {f"{v:g}": (read_json(eval_path(run, sweep, v)) or {}).get("roc_auc")
                                  for v in values} for sweep, values in experiment.evaluate.items()}
    return entry, records


def _cell(experiment: Experiment, cell: tuple, per_seed: list[dict], missing: list[int], groups) -> dict:
    dataset, setting, method = cell
    config = groups[(*cell, experiment.seeds[0])][0].config
    walls = [e["wall_seconds"] for e in per_seed]
    out = {
        "dataset": dataset, "setting": setting, "method": method,
        **_protocol(experiment, config, method),
        "seeds": [e["seed"] for e in per_seed], "missing_seeds": missing,
        "test": stats([e["test"] for e in per_seed]), "val": stats([e["val"] for e in per_seed]),
        "layers_chosen": [e["layers"] for e in per_seed],
        "wall_seconds": sum(walls) if per_seed and None not in walls else None,
        "commits": sorted({c for e in per_seed for c in e["commits"]}),
        "machines": sorted({m for e in per_seed for m in e["machines"]}),
        "per_seed": per_seed,
    }
    if experiment.evaluate:
        out["sweep"] = {}
        for sweep, values in experiment.evaluate.items():
            points = []
            for v in values:
                found = [(e["seed"], e["sweep"][sweep][f"{v:g}"]) for e in per_seed
                         if e["sweep"][sweep][f"{v:g}"] is not None]
                points.append({"value": v, "seeds": [s for s, _ in found], **stats([x for _, x in found])})
            out["sweep"][sweep] = points
    return out


def _protocol(experiment: Experiment, config, method: str) -> dict:
    """How a cell's runs are made (what :func:`kept_results` requires of a kept cell)."""
    return {"options": changed_options(config), "epochs": config.epochs,
            "layers_tried": experiment.layer_candidates(method)}


def _grid(experiment: Experiment) -> dict:
    o = experiment.overrides
    return {
        "datasets": experiment.datasets, "settings": experiment.settings, "seeds": experiment.seeds,
        "methods": {m.name: {"overrides": m.overrides, "settings": m.settings, "datasets": m.datasets}
                    for m in experiment.methods.values()},
        "base": experiment.base, "select_layers": experiment.select_layers, "evaluate": experiment.evaluate,
        "command_line": {"seeds": o.seeds, "layers": o.layers, "options": o.options, "methods": o.methods,
                         "datasets": o.datasets, "settings": o.settings},
        "quick_look": o.quick_look, "protocol_changed": o.protocol_changed, "subset": o.subset,
    }


def load_paper(experiment: Experiment) -> dict | None:
    """The config's ``paper: {file, key}`` entry of the paper-numbers file, with where it came from."""
    if not experiment.paper:
        return None
    file, key = experiment.paper.get("file"), experiment.paper.get("key")
    path = experiment.path.parent / str(file)
    try:
        numbers = yaml.safe_load(path.read_text())
    except OSError:
        raise MetaLinkError(f"{experiment.path}: paper.file {file!r} not found next to the config") from None
    if not isinstance(numbers, dict) or key not in numbers:
        raise MetaLinkError(f"{path}: has no entry {key!r} (named by {experiment.path})")
    return {"file": os.path.normpath(path).replace(os.sep, "/"), "key": key, **numbers[key]}


def task_correlation(options: dict, cells: list[dict], default_dataset: str) -> dict:
    """Table 3: rank tasks by average Pearson correlation with the others; compare two cells per task.

    ``options``: ``dataset``, ``n_tasks`` (3), ``correlation`` (``signed``, the paper's "average
    Pearson correlation", or ``absolute``), ``compare``: ``[{setting, method}, {setting, method}]``
    (baseline first). Correlations are pairwise over molecules with both labels observed.
    """
    dataset = options.get("dataset", default_dataset)
    n, mode = int(options.get("n_tasks", 3)), options.get("correlation", "signed")
    if mode not in ("signed", "absolute"):
        raise MetaLinkError(f"report.correlation {mode!r} must be 'signed' or 'absolute'")
    ds = load_dataset(dataset)
    matrix = pd.DataFrame(ds.Y, columns=ds.task_names).corr(method="pearson", min_periods=3).to_numpy()
    off = matrix.copy()
    np.fill_diagonal(off, np.nan)
    average = np.nanmean(np.abs(off) if mode == "absolute" else off, axis=1)
    order = [int(j) for j in np.argsort(average, kind="stable")]
    picked = {"low": order[:n], "high": order[::-1][:n]}
    compare = options["compare"]
    pair = [_find(cells, dataset, c["setting"], c["method"]) for c in compare]

    def per_task(cell: dict | None, name: str) -> dict:
        return stats([e["per_task"][name] for e in (cell or {}).get("per_seed", []) if name in e["per_task"]])

    def group(cell: dict | None, tasks: list[int]) -> dict:
        names = [ds.task_names[j] for j in tasks]
        return stats([float(np.mean(vals)) for e in (cell or {}).get("per_seed", [])
                      if (vals := [e["per_task"][t] for t in names if t in e["per_task"]])])

    groups = {}
    for name, tasks in picked.items():
        base, ours = group(pair[0], tasks), group(pair[1], tasks)
        gain = (100 * (ours["mean"] - base["mean"]) / base["mean"]
                if ours["mean"] is not None and base["mean"] else None)
        groups[name] = {"tasks": [ds.task_names[j] for j in tasks], "indices": tasks,
                        "baseline": base, "ours": ours, "improvement_percent": gain}
    return {
        "dataset": dataset, "correlation": mode, "n_molecules": len(ds), "task_names": ds.task_names,
        "matrix": [[None if math.isnan(x) else round(float(x), 4) for x in row] for row in matrix],
        "average": [round(float(x), 4) for x in average],
        "compare": compare, "groups": groups,
        "per_task": [{"task": ds.task_names[j], "index": j, "average": round(float(average[j]), 4), "group": g,
                      "baseline": per_task(pair[0], ds.task_names[j]), "ours": per_task(pair[1], ds.task_names[j])}
                     for g, tasks in picked.items() for j in tasks],
    }


def _picks(picks: dict) -> str:
    return "; ".join(f"{name} {list(tasks)}" for name, tasks in picks.items())


def _find(cells: list[dict], dataset: str, setting: str, method: str) -> dict | None:
    return next((c for c in cells if (c["dataset"], c["setting"], c["method"]) == (dataset, setting, method)), None)


# ------------------------------------------------------------------------------------------------ render


def render(results: dict, image_prefix: str = "") -> str:
    """The Markdown of a results dict (see :func:`collect`); nothing but the dict goes in."""
    kind = results["report"]["kind"]
    body = {"table": _render_table, "task-correlation": _render_correlation, "aux-ratio": _render_aux_ratio}[kind]
    return "\n".join([*_header(results), *body(results, image_prefix)]).rstrip() + "\n"


def figure_files(results: dict) -> list[str]:
    """File names of the plots that go with a results dict (next to its JSON)."""
    kind = results["report"]["kind"]
    return {"table": [f"{results['experiment']}.png"], "task-correlation": [f"{results['experiment']}_correlation.png"],
            "aux-ratio": [f"{results['experiment']}.png"]}[kind]


def _header(r: dict) -> list[str]:
    runs = r["runs"]
    machines = "; ".join(map(_machine, r["machines"])) or "none yet"
    grid = r["grid"]
    made_by = f"; the runs were made by {', '.join(f'`{c}`' for c in r['run_commands'])}" if r["run_commands"] else ""
    lines = [
        f"# {r['title']}", "",
        f"Rendered by `metalink-dgl report` from `{r['experiment']}.json` (do not edit), which "
        f"`{r['command'] or 'metalink-dgl experiment ' + r['config']}` wrote on {r['date']}{made_by}.", "",
        f"{_metric_sentence(r)} Seeds {grid['seeds']}; {_epochs(r)}; sample std over seeds (± 0.0 with one seed).",
        f"Commit(s) of the runs: {', '.join(c[:12] for c in r['commits']) or 'none yet'}. Machine(s): {machines}.",
    ]
    if r.get("paper"):
        lines.append(f"Paper: {r['paper']['source']} (`{r['paper']['file']}`, entry "
                     f"`{r['paper']['key']}`); Δ = ours − paper.")
    if grid["protocol_changed"]:
        lines.append(f"**Quick look, not the paper's protocol**: command-line changes {_changes(grid)}.")
    elif grid["subset"]:
        lines.append(f"Part of the config's grid: {_changes(grid)}.")
    if runs.get("kept_seeds"):
        lines.append(f"{runs['kept_seeds']} (cell, seed) results are kept from `{runs['kept_from']}` "
                     "(`--keep-results`: their runs were made on another machine or in an earlier session; "
                     "each kept seed says so).")
    if runs["missing"] or runs["evaluations_missing"]:
        lines.append(f"**Partial: {runs['missing']} of {runs['total']} runs"
                     + (f" and {runs['evaluations_missing']} sweep evaluations" if runs["evaluations_missing"] else "")
                     + f" missing; cells without a finished seed show {MISSING}.**")
    if r["notes"]:
        lines += ["", r["notes"]]
    return lines + [""]


def _machine(m: dict) -> str:
    return f"{m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']}, dgl {m['dgl']}"


def _metric_sentence(r: dict) -> str:
    layers = r["grid"]["command_line"]["layers"]
    searched = [layers] if layers is not None else r["grid"]["select_layers"]
    text = "Test ROC-AUC x100 at the best validation epoch, mean ± std over seeds"
    if searched and len(searched) > 1:
        text += (f"; KG layers chosen per seed by validation ROC-AUC among L ∈ {{{', '.join(map(str, searched))}}} "
                 "(methods with a fixed L are not searched)")
    return text + "."


def _epochs(r: dict) -> str:
    epochs = sorted({c["epochs"] for c in r["cells"]})
    split = sorted({c["options"].get("split", "scaffold") for c in r["cells"]})
    return f"epochs: {'/'.join(map(str, epochs))}; {'/'.join(split)} split"


def _changes(grid: dict) -> str:
    cl = grid["command_line"]
    parts = [f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in cl.items()
             if k != "options" and v is not None]
    parts += [f"{k}={v}" for k, v in cl["options"].items()]
    return ", ".join(parts)


def _pct(x: float | None, digits: int = 1) -> str:
    return MISSING if x is None else f"{SCALE * x:.{digits}f}"


def _ours(s: dict) -> str:
    return MISSING if s["mean"] is None else f"{_pct(s['mean'])} ± {_pct(s['std'])}"


def _paper(row: dict | None) -> str:
    if row is None:
        return MISSING
    text = f"{row['mean']:.1f} ± {row['std']:.1f}"
    return text + (f" (L={row['layers']})" if "layers" in row else "")


def _delta(ours: float | None, paper: float | None) -> str:
    return MISSING if ours is None or paper is None else f"{SCALE * ours - paper:+.1f}"


def _wall(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 \
        else f"{seconds:.0f} s"


def _paper_row(results: dict, **match) -> dict | None:
    rows = (results.get("paper") or {}).get("rows") or []
    return next((row for row in rows if all(row.get(k) == v for k, v in match.items())), None)


def _render_table(r: dict, image_prefix: str) -> list[str]:
    lines = []
    n_seeds = len(r["grid"]["seeds"])
    ours_methods = set(r["grid"]["methods"])
    for dataset in r["grid"]["datasets"]:
        lines += [f"## {dataset}", "",
                  "| setting | method | ours | seeds | L chosen | paper | Δ | wall time |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for setting in r["grid"]["settings"]:
            for c in (c for c in r["cells"] if (c["dataset"], c["setting"]) == (dataset, setting)):
                paper = _paper_row(r, dataset=dataset, setting=setting, method=c["method"])
                lines.append(f"| {setting} | {c['method']} | {_ours(c['test'])} | {len(c['seeds'])}/{n_seeds} | "
                             f"{', '.join(map(str, c['layers_chosen'])) or MISSING} | {_paper(paper)} | "
                             f"{_delta(c['test']['mean'], paper and paper['mean'])} | {_wall(c['wall_seconds'])} |")
            for row in (r.get("paper") or {}).get("rows") or []:
                if (row.get("dataset"), row.get("setting")) == (dataset, setting) and row["method"] not in ours_methods:
                    lines.append(f"| {setting} | {row['method']} | not run here | | | {_paper(row)} | | |")
        lines.append("")
    return lines + [f"![{r['title']}]({image_prefix}{name})" for name in figure_files(r)] + [""]


def _render_aux_ratio(r: dict, image_prefix: str) -> list[str]:
    reference = r["report"].get("reference")
    datasets = r["grid"]["datasets"]
    refs = {d: _paper_row(r, dataset=d, method=reference) for d in datasets}
    cells = {d: next((c for c in r["cells"] if c["dataset"] == d), None) for d in datasets}
    sweep = next(iter(r["grid"]["evaluate"]), "aux_ratio")
    head = " | ".join(f"{d} | Δ {reference}" for d in datasets)
    lines = [f"MetaLink ({', '.join(sorted({c['setting'] for c in r['cells']}))} setting, trained with the default "
             f"auxiliary ratio) re-scored on the same test molecules with each revealing a fraction `{sweep}` of "
             f"the other tasks (a fresh seeded draw per ratio). Dashed line in the plot and Δ: {reference} as "
             f"published in the paper's Table 1 (it cannot use auxiliary labels).", "",
             f"| {sweep} | {head} |", "| --- |" + " --- | --- |" * len(datasets)]
    values = r["grid"]["evaluate"].get(sweep, [])
    for i, v in enumerate(values):
        row = []
        for d in datasets:
            point = cells[d]["sweep"][sweep][i] if cells[d] else {"mean": None, "std": None, "seeds": []}
            ref = refs[d]
            row.append(f"{_ours(point)} (n={len(point['seeds'])}) | {_delta(point['mean'], ref and ref['mean'])}")
        lines.append(f"| {v:g} | " + " | ".join(row) + " |")
    lines.append(f"| {reference} (paper) | " + " | ".join(f"{_paper(refs[d])} | " for d in datasets) + "|")
    chosen = "; ".join(f"{d}: {', '.join(map(str, cells[d]['layers_chosen'])) or MISSING}"
                       for d in datasets if cells[d])
    lines += ["", f"KG layers chosen per seed: {chosen}.", ""]
    lines += [f"![{r['title']}]({image_prefix}{name})" for name in figure_files(r)]
    return lines + [""]


def _render_correlation(r: dict, image_prefix: str) -> list[str]:
    a = r["analysis"]
    base, ours = (f"{c['method']}, {c['setting']}" for c in a["compare"])
    paper = r.get("paper") or {}
    lines = [f"Tasks of {a['dataset']} ranked by their average {a['correlation']} Pearson correlation with the "
             f"other {len(a['task_names']) - 1} tasks (label matrix, pairwise over the molecules where both labels "
             f"are observed; all {a['n_molecules']} molecules). Per seed, the mean test ROC-AUC of the group's tasks; "
             "then mean ± std over seeds. Improvement = relative gain of the second over the first.", "",
             "| tasks | cell | ours | paper | Δ |", "| --- | --- | --- | --- | --- |"]
    for name, g in a["groups"].items():
        label = f"{len(g['tasks'])} {name}est-correlation tasks"
        rows = [(f"{base}", g["baseline"], _paper_row(r, group=name, setting=a["compare"][0]["setting"])),
                (f"{ours}", g["ours"], _paper_row(r, group=name, setting=a["compare"][1]["setting"]))]
        for cell, s, p in rows:
            lines.append(f"| {label} | {cell} | {_ours(s)} (n={len(s['values'])}) | {_paper(p)} | "
                         f"{_delta(s['mean'], p and p['mean'])} |")
        gain, paper_gain = g["improvement_percent"], (paper.get("improvement_percent") or {}).get(name)
        lines.append(f"| {label} | improvement | {MISSING if gain is None else f'{gain:+.1f}%'} | "
                     f"{MISSING if paper_gain is None else f'{paper_gain:+.1f}%'} | "
                     f"{MISSING if None in (gain, paper_gain) else f'{gain - paper_gain:+.1f}'} |")
    ours_picks = {name: sorted(g["indices"]) for name, g in a["groups"].items()}
    lines += ["", f"Our picks (0-based column indices): {_picks(ours_picks)}."]
    if paper.get("tasks"):
        same = all(sorted(paper["tasks"].get(k, [])) == v for k, v in ours_picks.items())
        lines[-1] += (f" The paper's: {_picks(paper['tasks'])} ({paper.get('task_note', 'indexing not stated')}): "
                      + ("the same tasks, counting from 0." if same else "not the same as ours."))
    lines += ["", f"| task | index | group | average corr. | {base} | {ours} |", "|" + " --- |" * 6]
    for t in a["per_task"]:
        lines.append(f"| {t['task']} | {t['index']} | {t['group']} | {t['average']:+.3f} | "
                     f"{_ours(t['baseline'])} | {_ours(t['ours'])} |")
    lines += ["", *[f"![Pearson correlation of the {a['dataset']} tasks]({image_prefix}{n})" for n in figure_files(r)]]
    return lines + [""]


# ------------------------------------------------------------------------------------------------- files


def write_results(results: dict, results_dir: str | Path) -> list[Path]:
    """Write ``<name>.json``, ``<name>.md`` (rendered from the JSON) and the plots; returns the paths."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = atomic_write_json(results_dir / f"{results['experiment']}.json", results)
    return [json_path, *render_files(json.loads(json_path.read_text()), results_dir)]  # from the file alone


def render_files(results: dict, results_dir: Path) -> list[Path]:
    """The Markdown and plots of a results dict, next to its JSON."""
    from .figures import plot_figures

    md = atomic_write_text(results_dir / f"{results['experiment']}.md", render(results))
    return [md, *plot_figures(results, results_dir)]


def update_readme(readme: str | Path, results: list[dict], results_prefix: str = "results/") -> None:
    """Fill the block between :data:`README_BEGIN` and :data:`README_END` with the rendered results."""
    readme = Path(readme)
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise MetaLinkError(f"{readme}: no {README_BEGIN} ... {README_END} block to fill")
    blocks = [re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", render(r, results_prefix),
                     flags=re.MULTILINE) for r in results]
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    body = "\n".join(blocks) if blocks else "No results yet: run `experiments/all.sh`.\n"
    atomic_write_text(readme, f"{head}{README_BEGIN}\n{body}{README_END}{tail}")
