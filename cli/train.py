"""``metalink-dgl train``: parse options into a TrainConfig and call :func:`metalink_dgl.training.train`."""

from __future__ import annotations

from pathlib import Path

import click

from metalink_dgl.engine import TrainConfig
from metalink_dgl.metrics import METRIC_NAMES

from .config_options import config_options
from .options import dataset_options, parse_seeds, parse_task_types, split_task_columns

D = TrainConfig()


def _fmt(stats: dict, metric: str) -> str:
    """Mean ± std: x100 for a percentage (ROC-AUC, mAP, accuracy), three decimals for R2 and the mixed score."""
    if metric in ("roc_auc", "map", "accuracy"):
        return f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f}"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


@click.command("train")
@dataset_options(images=True)
@config_options
@click.option("--seeds", multiple=True, help="Seeds to run: --seeds 0 1 2 or --seeds 0,1,2  [default: 0]")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: runs/<dataset>-<setting>-L<layers>].")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out; finished seeds are skipped.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.argument("extra_seeds", nargs=-1, type=int, required=False, metavar="")  # the rest of "--seeds 0 1 2"
def command(task_columns, task_types, seeds, extra_seeds, out, resume, no_progress, **options):
    """Train MetaLink on a dataset in one of the four settings (few-shot: N-way K-shot episodes) and report
    the test metric: ROC-AUC (molecules), mAP (coco) or accuracy with its 95% interval (fewshot)."""
    from metalink_dgl.engine import train

    config = TrainConfig(task_columns=split_task_columns(task_columns), task_types=parse_task_types(task_types),
                         seeds=list(parse_seeds(seeds, extra_seeds) or D.seeds), **options)
    if out is None:
        variant = f"L{config.layers}" if config.model == "metalink" else config.model
        out = str(Path("runs") / f"{Path(config.dataset).name.split('.')[0]}-{config.setting}-{variant}")
    config.out = out
    summary = train(config, resume=resume, progress=not no_progress)
    metric = summary["metric"]
    label = METRIC_NAMES[metric]
    ci = ("   95% CI ± " + ", ".join(f"{100 * c:.1f}" for c in summary["test_ci95"])) if "test_ci95" in summary else ""
    click.echo(
        f"{summary['dataset']} | {config.setting} | {config.model} {config.encoder} L={config.layers} | "
        f"seeds {summary['seeds']}\n"
        f"  validation {label} {_fmt(summary[f'val_{metric}'], metric)}\n"
        f"  test {label}       {_fmt(summary[f'test_{metric}'], metric)}{ci}   (best epochs {summary['best_epochs']})\n"
        f"  results in {out}/summary.json"
    )
