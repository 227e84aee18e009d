"""The resumable experiment runner behind ``experiments/*.sh`` (the paper's tables and figures).

    grid      config YAML -> runs (one TrainConfig each), run directories from the config alone
    runner    skip finished runs, train the rest (in parallel child processes), score sweeps
    jobs      one job, in this process or as ``python -m metalink_dgl.experiments.jobs``
    selection the KG layers of a seed, chosen on validation ROC-AUC
    collect   runs -> results JSON (kept: seeds of an earlier results file; analysis: Table 3's correlations)
    render    results JSON -> Markdown and README block (rendered from the JSON alone; stats: shared bits)
    figures   Figure 4, Table 1/5 bars and the Table 3 correlation heat map, from the JSON

>>> from metalink_dgl.experiments import load_experiment, run_experiment, collect, write_results
>>> exp = load_experiment("experiments/configs/table5.yaml")           # doctest: +SKIP
>>> run_experiment(exp, "runs/paper", jobs=2)                          # doctest: +SKIP
>>> write_results(collect(exp, "runs/paper"), "results")               # doctest: +SKIP
"""

from .collect import collect
from .grid import Experiment, Method, Overrides, Run, load_experiment
from .kept import Kept, kept_results
from .naming import run_dir
from .render import render, update_readme, write_results
from .runner import Outcome, run_experiment
from .selection import choose

__all__ = [
    "Experiment",
    "Kept",
    "Method",
    "Outcome",
    "Overrides",
    "Run",
    "choose",
    "collect",
    "kept_results",
    "load_experiment",
    "render",
    "run_dir",
    "run_experiment",
    "update_readme",
    "write_results",
]
