"""``metalink-dgl evaluate``: re-score a checkpoint on its test split and saved draw."""

from __future__ import annotations

import json

import click

from metalink_dgl.device import DEVICES
from metalink_dgl.metrics import METRIC_NAMES, REGRESSION_METRICS


@click.command("evaluate")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="best.pt or last.pt of a run.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Featurized-graph cache.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--aux-ratio", type=float, default=None,
              help="Score the test molecules with each revealing this fraction of auxiliary tasks (a fresh seeded "
              "draw) instead of the saved draw.")
@click.option("--leave-one-out", is_flag=True,
              help="Score each task of each test molecule from all its other labels (leave one endpoint out).")
@click.option("--json", "as_json", is_flag=True, help="Print the full metrics as JSON.")
def command(checkpoint, cache_dir, device, aux_ratio, leave_one_out, as_json):
    """Test metrics of a checkpoint (ROC-AUC; RMSE, MAE, R2 and Pearson r of continuous tasks in original
    units; mAP for coco) on the split and revealed/queried draw it was trained with; for fewshot, accuracy on
    its test episodes."""
    from metalink_dgl.engine import evaluate_checkpoint

    metrics = evaluate_checkpoint(checkpoint, aux_ratio=aux_ratio, leave_one_out=leave_one_out, cache_dir=cache_dir,
                                  device=device)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
    elif metrics["metric"] == "accuracy":
        click.echo(f"test accuracy {100 * metrics['accuracy']:.2f} ± {100 * metrics['ci95']:.2f} (95% CI) over "
                   f"{metrics['n_episodes']} episodes")
    elif metrics["metric"] in ("roc_auc", "map"):
        click.echo(f"test {METRIC_NAMES[metrics['metric']]} {100 * metrics[metrics['metric']]:.2f} over "
                   f"{metrics['n_tasks_scored']} tasks ({metrics['n_tasks_skipped']} skipped: one class only), "
                   f"{metrics['n_pairs']} pairs")
    else:
        means = ", ".join(f"{METRIC_NAMES[k]} {metrics[k]:.3f}"
                          for k in ("roc_auc", *REGRESSION_METRICS) if k in metrics)
        click.echo(f"test {METRIC_NAMES[metrics['metric']]} {metrics[metrics['metric']]:.3f} over "
                   f"{metrics['n_tasks_scored']} tasks ({metrics['n_tasks_skipped']} skipped), {metrics['n_pairs']} "
                   f"pairs; means over tasks: {means} (continuous tasks in original units)")
        for name, r in metrics["regression"].items():
            click.echo(f"  {name}: R2 {r['r2']:.3f}, RMSE {r['rmse']:.3f}, MAE {r['mae']:.3f}, "
                       f"Pearson r {r['pearson']:.3f}, {r['n']} pairs")
