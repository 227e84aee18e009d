"""``metalink-dgl train``: parse options into a TrainConfig and call :func:`metalink_dgl.engine.train`."""

from __future__ import annotations

from pathlib import Path

import click

from metalink_dgl.engine import TrainConfig
from metalink_dgl.metrics import METRIC_NAMES
from metalink_dgl.peers import PEERS

from .options import config_options, field_option


def _fmt(stats: dict, metric: str) -> str:
    """Mean ± std: x100 for a percentage (ROC-AUC, mAP, accuracy), three decimals for R2 and the mixed score."""
    if metric in ("roc_auc", "map", "accuracy"):
        return f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f}"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def _default_out(config: TrainConfig) -> str:
    """``runs/<dataset>-<setting>-L<layers>`` (a baseline: ``-<model>``)."""
    variant = f"L{config.layers}" if config.model == "metalink" else config.model
    return str(Path("runs") / f"{Path(config.dataset).name.split('.')[0]}-{config.setting}-{variant}")


@click.command("train")
@config_options(skip=("out",))
@field_option("out", default=None, default_text="runs/<dataset>-<setting>-L<layers>, or -<model> for a baseline")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out; finished seeds are skipped.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def command(out, resume, no_progress, **options):
    """Train MetaLink on a dataset in one of the four settings (few-shot: N-way K-shot episodes) and report
    the test metric: ROC-AUC (molecules), mAP (coco) or accuracy with its 95% interval (fewshot)."""
    from metalink_dgl.engine import train
    from metalink_dgl.engine.distributed import launch_rank

    config = TrainConfig(**{k: v for k, v in options.items() if v is not None})  # not given: the config's default
    config.out = out or _default_out(config)
    summary = train(config, resume=resume, progress=not no_progress)
    if launch_rank() != 0:  # under torchrun every process trains; rank 0 reports
        return
    metric = summary["metric"]
    label = METRIC_NAMES[metric]
    ci = ("   95% CI ± " + ", ".join(f"{100 * c:.1f}" for c in summary["test_ci95"])) if "test_ci95" in summary else ""
    model = config.model if config.model in PEERS else f"{config.model} {config.encoder}"  # a peer has its own
    click.echo(
        f"{summary['dataset']} | {config.setting} | {model} L={config.layers} | "
        f"seeds {summary['seeds']}\n"
        f"  validation {label} {_fmt(summary[f'val_{metric}'], metric)}\n"
        f"  test {label}       {_fmt(summary[f'test_{metric}'], metric)}{ci}   (best epochs {summary['best_epochs']})\n"
        f"  results in {config.out}/summary.json"
    )
