"""``metalink-dgl evaluate``: re-score a checkpoint on its test split and saved draw."""

from __future__ import annotations

import json

import click

from metalink_dgl.device import DEVICES


@click.command("evaluate")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="best.pt or last.pt of a run.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Featurized-graph cache.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--aux-ratio", type=float, default=None,
              help="Score the test molecules with each revealing this fraction of auxiliary tasks (a fresh seeded "
              "draw) instead of the saved draw.")
@click.option("--json", "as_json", is_flag=True, help="Print the full metrics as JSON.")
def command(checkpoint, cache_dir, device, aux_ratio, as_json):
    """Test ROC-AUC of a checkpoint on the split and revealed/queried draw it was trained with."""
    from metalink_dgl.pipeline import evaluate_checkpoint

    metrics = evaluate_checkpoint(checkpoint, aux_ratio=aux_ratio, cache_dir=cache_dir, device=device)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
    else:
        click.echo(f"test ROC-AUC {100 * metrics['roc_auc']:.2f} over {metrics['n_tasks_scored']} tasks "
                   f"({metrics['n_tasks_skipped']} skipped: one class only), {metrics['n_pairs']} pairs")
