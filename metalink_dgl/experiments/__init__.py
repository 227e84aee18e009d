"""The resumable experiment runner behind ``experiments/*.sh`` (the paper's tables and figures).

    grid      config YAML -> runs (one TrainConfig each), run directories from the config alone
    runner    skip finished runs, train the rest (in parallel child processes), score sweeps
    jobs      one job, in this process or as ``python -m metalink_dgl.experiments.jobs``
    selection the KG layers of a seed, chosen on validation ROC-AUC
    report    runs -> results JSON -> Markdown (rendered from the JSON alone)
    figures   Figure 4 and the Table 3 correlation heat map, from the JSON

>>> from metalink_dgl.experiments import load_experiment, run_experiment, collect, write_results
>>> exp = load_experiment("experiments/configs/table5.yaml")           # doctest: +SKIP
>>> run_experiment(exp, "runs/paper", jobs=2)                          # doctest: +SKIP
>>> write_results(collect(exp, "runs/paper"), "results")               # doctest: +SKIP
"""

from .grid import Experiment, Method, Overrides, Run, load_experiment, run_dir
from .report import Kept, collect, kept_results, render, update_readme, write_results
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
