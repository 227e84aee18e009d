"""An experiment's runs -> one results JSON.

:func:`collect` reads what the runs wrote (``metrics.json``, ``run.json``, cached sweep
scores) and returns a JSON-able dict: every table cell (dataset, setting, method) with its
per-seed values, chosen KG layers, mean, sample std, wall time and commits, plus the
paper's numbers copied from ``experiments/paper_numbers.yaml`` into a block of their own.
Cells still missing (a grid run over several sessions) are listed as missing; a (cell, seed)
found in an earlier results file (:mod:`.kept`) is taken from there.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import yaml

from ..errors import MetaLinkError
from ..metrics import REGRESSION_METRICS
from ..provenance import git_commit
from .analysis import task_correlation
from .grid import Experiment
from .jobs import RUN_RECORD
from .kept import Kept, cell_protocol
from .selection import choose, eval_path, group_runs, read_json, scores
from .stats import machine_line, portable_command, stats


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
        machines.update({str(m): m for m in kept.machines if machine_line(m) in kept_machines})
        commands.update(kept.commands)
    n_missing = sum(not r.finished and (*r.cell, r.seed) not in used for r in runs)
    results = {
        "experiment": experiment.name, "title": experiment.title, "notes": experiment.notes,
        "config": str(experiment.path), "command": portable_command(command), "run_commands": sorted(commands),
        "date": date.today().isoformat(),
        "report": {"kind": kind, **experiment.report},
        "grid": _grid(experiment),
        "metric": _metric_description(cells),
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


def _metric_description(cells: list[dict]) -> str:
    """What the cells' ``test`` and ``val`` numbers are."""
    if any(c.get("metric", "roc_auc") != "roc_auc" for c in cells):
        return ("per cell its `metric`: R2 (continuous tasks) or the mean over tasks of ROC-AUC (binary) and R2 "
                "(continuous), at the best validation epoch; `regression` holds RMSE, MAE, R2 and Pearson r per "
                "endpoint in original units")
    return "test ROC-AUC (fraction) at the best validation epoch; the Markdown shows x100"


def _seed_entry(experiment: Experiment, candidates, chosen, runs_dir: Path, with_tasks: bool) -> tuple[dict, list]:
    run, metrics, by_layers = chosen
    # the runner's record; for a run made by ``metalink-dgl train`` itself, its summary's commit and machine
    records = [read_json(r.dir / RUN_RECORD) or read_json(r.dir.parent / "summary.json") or {} for r in candidates]
    walls = [r.get("wall_seconds") for r in records]
    val, test = scores(metrics)
    entry = {
        "seed": run.seed, "layers": run.layers, "val": val, "test": test,
        "best_epoch": metrics["best_epoch"], "seconds_per_epoch": metrics.get("seconds_per_epoch"),
        "n_tasks_scored": metrics["test"]["n_tasks_scored"],
        "n_tasks_skipped": metrics["test"]["n_tasks_skipped"],
        "wall_seconds": sum(walls) if None not in walls else None,
        "commits": sorted({r["commit"] for r in records if "commit" in r}),
        "machines": sorted({machine_line(r["machine"]) for r in records if "machine" in r}),
        "run": run.dir.relative_to(runs_dir).as_posix(),
    }
    if len(by_layers) > 1:
        entry["by_layers"] = {str(k): dict(zip(("val", "test"), scores(m))) for k, m in by_layers.items()}
    if with_tasks:
        entry["per_task"] = metrics["test"]["per_task"]
    if experiment.evaluate:
        swept = {sweep: {f"{v:g}": read_json(eval_path(run, sweep, v)) or {} for v in values}
                 for sweep, values in experiment.evaluate.items()}
        entry["sweep"] = {sweep: {k: r.get(r.get("metric", "roc_auc")) for k, r in by_value.items()}
                          for sweep, by_value in swept.items()}
    if "regression" in metrics["test"]:  # continuous tasks: every metric of every endpoint, test and sweeps
        entry["metric"] = metrics["metric"]
        entry["regression"] = _endpoints(metrics["test"])
        if experiment.evaluate:
            entry["sweep_regression"] = {sweep: {k: _endpoints(r) if r else None for k, r in by_value.items()}
                                         for sweep, by_value in swept.items()}
    return entry, records


def _endpoints(result: dict) -> dict:
    """The continuous-task part of a test result: the means over tasks and each task's RMSE, MAE, R2, r."""
    return {"mean": {k: result[k] for k in REGRESSION_METRICS}, "per_task": result["regression"]}


def _endpoint_stats(per_seed: list[dict], evaluate: dict) -> dict:
    """Mean ± std over seeds of every metric of every continuous task: on the test draw (``test``) and at
    each sweep value (``sweep``: sweep -> value -> the same)."""
    def summarize(results: list[dict]) -> dict:
        names = list(dict.fromkeys(name for r in results for name in r["per_task"]))
        return {"mean": {k: stats([r["mean"][k] for r in results]) for k in REGRESSION_METRICS},
                "per_task": {name: {k: stats([r["per_task"][name][k] for r in results if name in r["per_task"]])
                                    for k in (*REGRESSION_METRICS, "n")} for name in names}}

    def swept(sweep: str, value: str) -> list[dict]:
        return [r for e in per_seed if (r := e.get("sweep_regression", {}).get(sweep, {}).get(value))]

    return {"test": summarize([e["regression"] for e in per_seed if "regression" in e]),
            "sweep": {sweep: {f"{v:g}": summarize(swept(sweep, f"{v:g}")) for v in values}
                      for sweep, values in evaluate.items()}}


def _cell(experiment: Experiment, cell: tuple, per_seed: list[dict], missing: list[int], groups) -> dict:
    dataset, setting, method = cell
    config = groups[(*cell, experiment.seeds[0])][0].config
    walls = [e["wall_seconds"] for e in per_seed]
    out = {
        "dataset": dataset, "setting": setting, "method": method,
        **cell_protocol(experiment, config, method),
        "seeds": [e["seed"] for e in per_seed], "missing_seeds": missing,
        "test": stats([e["test"] for e in per_seed]), "val": stats([e["val"] for e in per_seed]),
        "layers_chosen": [e["layers"] for e in per_seed],
        "wall_seconds": sum(walls) if per_seed and None not in walls else None,
        "commits": sorted({c for e in per_seed for c in e["commits"]}),
        "machines": sorted({m for e in per_seed for m in e["machines"]}),
        "per_seed": per_seed,
    }
    if any("regression" in e for e in per_seed):
        out["metric"] = per_seed[0]["metric"]
        out["regression"] = _endpoint_stats(per_seed, experiment.evaluate)
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


def _grid(experiment: Experiment) -> dict:
    o = experiment.overrides
    return {
        "datasets": experiment.datasets, "settings": experiment.settings, "seeds": experiment.seeds,
        "methods": {m.name: {"overrides": m.overrides, "settings": m.settings, "datasets": m.datasets,
                             **({"paper": m.paper} if m.paper else {})} for m in experiment.methods.values()},
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
