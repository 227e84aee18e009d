"""``metalink-dgl evaluate``: re-score a checkpoint on its test split and saved draw."""

from __future__ import annotations

import json

import click

from metalink_dgl.device import DEVICES
from metalink_dgl.metrics import METRIC_NAMES


@click.command("evaluate")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="best.pt or last.pt of a run.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Featurized-graph cache.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--aux-ratio", type=float, default=None,
              help="Score the test molecules with each revealing this fraction of auxiliary tasks (a fresh seeded "
              "draw) instead of the saved draw.")
@click.option("--json", "as_json", is_flag=True, help="Print the full metrics as JSON.")
def command(checkpoint, cache_dir, device, aux_ratio, as_json):
    """Test metric of a checkpoint (ROC-AUC, mAP for coco) on the split and revealed/queried draw it was
    trained with; for fewshot, accuracy on its test episodes."""
    from metalink_dgl.engine import evaluate_checkpoint

    metrics = evaluate_checkpoint(checkpoint, aux_ratio=aux_ratio, cache_dir=cache_dir, device=device)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
    elif metrics["metric"] == "accuracy":
        click.echo(f"test accuracy {100 * metrics['accuracy']:.2f} ± {100 * metrics['ci95']:.2f} (95% CI) over "
                   f"{metrics['n_episodes']} episodes")
    else:
        click.echo(f"test {METRIC_NAMES[metrics['metric']]} {100 * metrics[metrics['metric']]:.2f} over "
                   f"{metrics['n_tasks_scored']} tasks ({metrics['n_tasks_skipped']} skipped: one class only), "
                   f"{metrics['n_pairs']} pairs")
