"""``metalink-dgl train``: parse options into a TrainConfig and call :func:`metalink_dgl.training.train`."""

from __future__ import annotations

from pathlib import Path

import click

from metalink_dgl.config import TrainConfig
from metalink_dgl.data import SPLITTERS
from metalink_dgl.device import DEVICES
from metalink_dgl.nn import EDGE_PREDICTORS, ENCODERS, MODELS
from metalink_dgl.settings import HELDOUT_PICKS, SETTINGS

from .options import dataset_options, split_task_columns

D = TrainConfig()


def _fmt(stats: dict) -> str:
    return f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f}"


@click.command("train")
@dataset_options
@click.option("--setting", type=click.Choice(list(SETTINGS)), default=D.setting, show_default=True)
@click.option("--aux-ratio", type=float, default=D.aux_ratio, show_default=True,
              help="Fraction of auxiliary tasks each query example reveals (relational settings);"
              " also fixes which pairs are scored.")
@click.option("--heldout-ratio", type=float, default=D.heldout_ratio, show_default=True,
              help="Fraction of tasks held out of training (meta settings).")
@click.option("--heldout-tasks", type=click.Choice(list(HELDOUT_PICKS)), default=D.heldout_tasks, show_default=True,
              help="Which tasks are held out (meta settings): a seeded random sample, or the last columns "
              "(the same tasks for every seed, as in the authors' code).")
@click.option("--shots", type=int, default=D.shots, show_default=True,
              help="Support examples labelled on the held-out tasks at test time (meta settings).")
@click.option("--support-ratio", type=float, default=D.support_ratio, show_default=True,
              help="Fraction of a training minibatch used as support in meta episodes.")
@click.option("--model", type=click.Choice(list(MODELS)), default=D.model, show_default=True,
              help="MetaLink, or a baseline on the same pairs: labels-as-features (revealed labels appended to the "
              "embedding; standard/relational) or baseline++ (cosine heads, new-task heads fitted on the support set; "
              "meta settings). Baselines need --layers 0.")
@click.option("--layers", type=int, default=D.layers, show_default=True,
              help="Knowledge-graph layers (0 = plain multi-head model).")
@click.option("--encoder", type=click.Choice(list(ENCODERS)), default=D.encoder, show_default=True)
@click.option("--hidden", type=int, default=D.hidden, show_default=True)
@click.option("--dropout", type=float, default=D.dropout, show_default=True)
@click.option("--edge-pred", type=click.Choice(list(EDGE_PREDICTORS)), default=D.edge_pred, show_default=True)
@click.option("--shared-weights", is_flag=True, help="Share KG message weights between both directions.")
@click.option("--split", "split_kind", type=click.Choice(list(SPLITTERS)), default=D.split, show_default=True)
@click.option("--seeds", type=int, multiple=True, help="Seeds to run, e.g. --seeds 0 1 2  [default: 0]")
@click.option("--epochs", type=int, default=D.epochs, show_default=True)
@click.option("--batch-size", type=int, default=D.batch_size, show_default=True)
@click.option("--lr", type=float, default=D.lr, show_default=True)
@click.option("--weight-decay", type=float, default=D.weight_decay, show_default=True)
@click.option("--max-molecules", type=int, default=None, help="Train on a seeded random slice of this many molecules.")
@click.option("--device", type=click.Choice(DEVICES), default=D.device, show_default=True)
@click.option("--threads", type=int, default=D.threads, show_default=True,
              help="Torch CPU threads (0: torch's default). On a shared machine, 1 per concurrent job avoids "
              "oversubscription.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: runs/<dataset>-<setting>-L<layers>].")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out; finished seeds are skipped.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.argument("extra_seeds", nargs=-1, type=int, required=False, metavar="")  # the rest of "--seeds 0 1 2"
def command(task_columns, split_kind, seeds, extra_seeds, out, resume, no_progress, **options):
    """Train MetaLink on a dataset in one of the four settings and report test ROC-AUC."""
    from metalink_dgl.training import train

    if extra_seeds and not seeds:
        raise click.UsageError(f"unexpected arguments {list(extra_seeds)}; seeds go after --seeds")
    seeds = list(seeds) + list(extra_seeds) or list(D.seeds)
    if out is None:
        variant = f"L{options['layers']}" if options["model"] == "metalink" else options["model"]
        out = str(Path("runs") / f"{Path(options['dataset']).name.split('.')[0]}-{options['setting']}-{variant}")
    config = TrainConfig(task_columns=split_task_columns(task_columns), split=split_kind, seeds=seeds, out=out,
                         **options)
    summary = train(config, resume=resume, progress=not no_progress)
    click.echo(
        f"{summary['dataset']} | {config.setting} | {config.model} {config.encoder} L={config.layers} | "
        f"seeds {summary['seeds']}\n"
        f"  validation ROC-AUC {_fmt(summary['val_roc_auc'])}\n"
        f"  test ROC-AUC       {_fmt(summary['test_roc_auc'])}   (best epochs {summary['best_epochs']})\n"
        f"  results in {out}/summary.json"
    )
