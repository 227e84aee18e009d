"""Results made elsewhere: the per-seed entries of an earlier results file that still fit a grid.

Runs live on one machine; the results JSON is what is committed. :func:`kept_results` reads
the per-seed entries of an earlier results file back, so that a grid continued on another
machine (``metalink-dgl experiment --keep-results``) trains only the seeds that file lacks and
merges the rest, each kept entry marked with the file and commit it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MetaLinkError
from .grid import Experiment
from .naming import changed_options
from .selection import group_runs


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
        made_as = cell_protocol(experiment, groups[(*key, experiment.seeds[0])][0].config, key[2])
        if {k: cell.get(k) for k in made_as} != made_as:
            continue
        for entry in cell["per_seed"]:
            scored = {sweep: {k for k, v in entry.get("sweep", {}).get(sweep, {}).items() if v is not None}
                      for sweep in wanted}
            if entry["seed"] in experiment.seeds and all(wanted[s] <= scored[s] for s in wanted):
                kept.entries[(*key, entry["seed"])] = entry
    return kept


def cell_protocol(experiment: Experiment, config, method: str) -> dict:
    """How a cell's runs are made (what :func:`kept_results` requires of a kept cell)."""
    return {"options": changed_options(config), "epochs": config.epochs,
            "layers_tried": experiment.layer_candidates(method)}
