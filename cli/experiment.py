"""``metalink-dgl experiment CONFIG``: run (or continue) a paper table's grid, then write its results."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml

from metalink_dgl.device import DEVICES

from .options import parse_seeds, split_task_columns

RUNS = "runs/paper"


def _tuple(values: list | None) -> tuple | None:
    """A parsed list as the tuple :class:`Overrides` holds; None stays None."""
    return None if values is None else tuple(values)


def _options(epochs, max_molecules, device, settings: tuple[str, ...]) -> dict:
    options = {k: v for k, v in (("epochs", epochs), ("max_molecules", max_molecules), ("device", device))
               if v is not None}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        options[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return options


def _command_line(ctx: click.Context) -> str:
    """The command as typed, in a canonical order (recorded in the results)."""
    words = ["metalink-dgl", "experiment", ctx.params["config"]]
    for param in ctx.command.params:
        value = ctx.params[param.name]
        if isinstance(param, click.Argument) or value in (None, (), False) or value == param.default:
            continue
        if param.name == "seeds":
            words += ["--seeds", *map(str, parse_seeds(value))]
        elif value is True:
            words.append(param.opts[0])
        else:
            words += [w for v in (value if isinstance(value, tuple) else (value,)) for w in (param.opts[0], str(v))]
    return shlex.join(words)


@click.command("experiment")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--seeds", multiple=True, metavar="SEED...",
              help="Seeds instead of the config's: --seeds 0 1 2 or --seeds 0,1,2.")
@click.option("--epochs", type=int, default=None, help="Epochs instead of the config's (a quick look).")
@click.option("--layers", type=int, default=None,
              help="One number of KG layers instead of the validation search (methods with a fixed L keep it).")
@click.option("--max-molecules", type=int, default=None, help="Train on a seeded slice of each dataset.")
@click.option("--set", "set_options", multiple=True, metavar="KEY=VALUE",
              help="Any other TrainConfig option for every run, e.g. --set hidden=64 (repeatable).")
@click.option("--methods", default=None, help="Only these methods of the config (comma-separated).")
@click.option("--datasets", default=None, help="Only these datasets of the config (comma-separated).")
@click.option("--settings", default=None, help="Only these settings of the config (comma-separated).")
@click.option("--device", type=click.Choice(DEVICES), default=None)
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs trained at once, each a child process with cores/jobs threads ($OMP_NUM_THREADS if set).")
@click.option("--nproc-per-node", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train each run data-parallel on N processes of this machine (torchrun; one per GPU).")
@click.option("--runs", type=click.Path(file_okay=False), default=RUNS, show_default=True,
              help="Where runs live; shared by all configs, so identical runs are trained once.")
@click.option("--results", type=click.Path(file_okay=False), default=None,
              help="Where <name>.json/.md and plots go [default: results, or <runs>/quick-look when the grid is "
              "changed by --seeds/--epochs/--layers/--max-molecules/--set/--methods/--datasets/--settings].")
@click.option("--report-only", is_flag=True, help="Train nothing; aggregate the finished runs and write the results.")
@click.option("--partial", is_flag=True, help="Write the results even while runs are missing (shown as —).")
@click.option("--keep-results", is_flag=True,
              help="Keep the seeds already in <results>/<name>.json (made on another machine or in an earlier session) "
              "where they fit the grid: do not train them again, and merge them into the new results. A quick look "
              "(--methods etc. without --results) keeps those of results/<name>.json.")
@click.option("--dry-run", is_flag=True, help="List the runs and whether each is finished; train nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar (the per-run lines stay).")
@click.pass_context
def command(ctx, config, seeds, epochs, layers, max_molecules, set_options, methods, datasets, settings,
            device, jobs, nproc_per_node, runs, results, report_only, partial, keep_results, dry_run, no_progress):
    """Run the grid of an experiment config (a paper table or figure), skipping finished runs.

    Every run is stored under --runs as soon as it finishes, so a stopped grid continues where
    it was when the same command is given again. The results (one JSON with every cell, a
    Markdown table rendered from it with the paper's numbers beside ours, plots) are written
    once no run is missing, or at any time with --partial.
    """
    from metalink_dgl.experiments import collect, kept_results, load_experiment, run_experiment, write_results
    from metalink_dgl.experiments.grid import Overrides

    overrides = Overrides(seeds=_tuple(parse_seeds(seeds)), layers=layers,
                          options=_options(epochs, max_molecules, device, set_options),
                          methods=_tuple(split_task_columns(methods)), datasets=_tuple(split_task_columns(datasets)),
                          settings=_tuple(split_task_columns(settings)))
    experiment = load_experiment(config, overrides)
    kept_from = Path(results or "results") / f"{experiment.name}.json"  # a quick look keeps from the full results
    if results is None:
        results = str(Path(runs) / "quick-look") if overrides.quick_look else "results"
    kept = kept_results(experiment, kept_from) if keep_results else None
    kept_keys = set(kept.entries) if kept else set()
    if dry_run:
        grid = experiment.runs(runs)
        for run in grid:
            state = "finished" if run.finished else "kept    " if (*run.cell, run.seed) in kept_keys else "to run  "
            click.echo(f"{state}  {run.label}  {run.config.out}")
        click.echo(f"{experiment.name}: {len(grid)} runs, {sum(r.finished for r in grid)} finished")
        return
    failed = []
    if not report_only:
        outcome = run_experiment(experiment, runs, jobs=jobs, command=_command_line(ctx), progress=not no_progress,
                                 kept=kept_keys, nproc_per_node=nproc_per_node)
        failed = outcome.failed
        click.echo(f"{experiment.name}: {outcome.done} jobs done, {outcome.skipped} runs already finished, "
                   f"{len(failed)} failed")
    aggregated = collect(experiment, runs, command=_command_line(ctx), kept=kept)
    missing = aggregated["runs"]["missing"] + aggregated["runs"]["evaluations_missing"]
    if missing and not partial:
        click.echo(f"{experiment.name}: {aggregated['runs']['missing']} runs and "
                   f"{aggregated['runs']['evaluations_missing']} sweep evaluations missing; results not written "
                   "(run the same command again to continue, or add --partial)")
    else:
        for path in write_results(aggregated, results):
            click.echo(f"wrote {path}")
    for label, message, log in failed:
        click.echo(f"failed: {label}: {message} (log: {log})", err=True)
    if failed:
        ctx.exit(1)
