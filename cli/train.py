"""``metalink-dgl train``: parse options into a TrainConfig and call :func:`metalink_dgl.training.train`."""

from __future__ import annotations

from pathlib import Path

import click

from metalink_dgl.device import DEVICES
from metalink_dgl.engine import OPTIMIZERS, SPLIT_KINDS, TrainConfig
from metalink_dgl.kg import HELDOUT_PICKS, SETTINGS
from metalink_dgl.metrics import METRIC_NAMES
from metalink_dgl.nn import EDGE_PREDICTORS, ENCODERS, IMAGE_ENCODERS, MESSAGES, MODELS, NEW_TASK_INITS

from .options import dataset_options, parse_task_types, split_task_columns

D = TrainConfig()


def _fmt(stats: dict) -> str:
    return f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f}"


@click.command("train")
@dataset_options(images=True)
@click.option("--data-root", type=click.Path(), default=None,
              help="Folder of --dataset coco (annotations/instances_*.json + image folders) or fewshot "
              "(train|val|test/<class>/<images>).")
@click.option("--setting", type=click.Choice(list(SETTINGS)), default=None,
              help="[default: relational; fewshot episodes are meta]")
@click.option("--aux-ratio", type=float, default=D.aux_ratio, show_default=True,
              help="Fraction of auxiliary tasks each query example reveals (relational settings);"
              " also fixes which pairs are scored.")
@click.option("--heldout-ratio", type=float, default=D.heldout_ratio, show_default=True,
              help="Fraction of tasks held out of training (meta settings).")
@click.option("--heldout-tasks", type=click.Choice(list(HELDOUT_PICKS)), default=D.heldout_tasks, show_default=True,
              help="Which tasks are held out (meta settings): a seeded random sample, or the last columns "
              "(the same tasks for every seed, as in the authors' code).")
@click.option("--shots", type=int, default=None,
              help="K-shot support at test time (meta settings): each held-out task shows K of its labelled training "
              "examples, or all if it has fewer [default: 256];"
              " fewshot: support images per class, K [default: 5].")
@click.option("--support-ratio", type=float, default=D.support_ratio, show_default=True,
              help="Fraction of a training minibatch used as support in meta episodes.")
@click.option("--episode-heads", is_flag=True,
              help="Meta settings: each training episode makes only a random --heldout-ratio of the seen tasks new; "
              "the others keep their learned heads and are queried too (adds a standard multi-task loss).")
@click.option("--model", type=click.Choice(list(MODELS)), default=D.model, show_default=True,
              help="MetaLink, or a baseline on the same pairs: labels-as-features (revealed labels appended to the "
              "embedding; standard/relational) or baseline++ (cosine heads, new-task heads fitted on the support set; "
              "meta settings). Baselines need --layers 0.")
@click.option("--layers", type=int, default=D.layers, show_default=True,
              help="Knowledge-graph layers (0 = plain multi-head model; fewshot: Meta-Baseline).")
@click.option("--encoder", type=click.Choice([*ENCODERS, *IMAGE_ENCODERS]), default=None,
              help="[default: gcn; resnet50 for coco, resnet12 for fewshot]")
@click.option("--hidden", type=int, default=D.hidden, show_default=True)
@click.option("--dropout", type=float, default=D.dropout, show_default=True)
@click.option("--edge-pred", type=click.Choice(list(EDGE_PREDICTORS)), default=None,
              help="[default: dot; cos for fewshot]")
@click.option("--shared-weights", is_flag=True, help="Share KG message weights between both directions.")
@click.option("--message", type=click.Choice(list(MESSAGES)), default=D.message, show_default=True,
              help="KG message: add = ReLU(W h + O y), the paper's eq. 3; gated = (W h + O y) * sigmoid(G h + P y), "
              "the gate of the authors' code.")
@click.option("--new-task-init", type=click.Choice(list(NEW_TASK_INITS)), default=D.new_task_init, show_default=True,
              help="Meta settings: new task nodes start from a ones vector (the paper) or from their support "
              "prototype (mean positive minus mean negative support embedding, rescaled to the ones vector's norm).")
@click.option("--image-size", type=int, default=None, help="Side of the image crops [default: 224; 84 for fewshot].")
@click.option("--width", type=int, default=D.width, show_default=True,
              help="ResNet-12 channels of its first stage (64-160-320-640 at 64).")
@click.option("--pretrained", type=click.Path(dir_okay=False), default=None,
              help="Local state_dict of the image backbone (e.g. torchvision's resnet50 file); nothing is "
              "downloaded [default: random initialisation].")
@click.option("--ways", type=int, default=D.ways, show_default=True, help="fewshot: classes per episode (N).")
@click.option("--query", type=int, default=D.query, show_default=True, help="fewshot: query images per class.")
@click.option("--episodes", type=int, default=D.episodes, show_default=True,
              help="fewshot: training episodes per epoch.")
@click.option("--test-episodes", type=int, default=D.test_episodes, show_default=True,
              help="fewshot: validation and test episodes.")
@click.option("--pretrain-epochs", type=int, default=D.pretrain_epochs, show_default=True,
              help="fewshot: supervised pre-training epochs on the base classes.")
@click.option("--pretrain-lr", type=float, default=D.pretrain_lr, show_default=True,
              help="fewshot: learning rate of pre-training.")
@click.option("--split", "split_kind", type=click.Choice(SPLIT_KINDS), default=None,
              help="[default: scaffold; coco: official (train file -> train/val, val file -> test), random "
              "80/10/10 if there is only a train file]")
@click.option("--seeds", type=int, multiple=True, help="Seeds to run, e.g. --seeds 0 1 2  [default: 0]")
@click.option("--epochs", type=int, default=D.epochs, show_default=True)
@click.option("--batch-size", type=int, default=None, help="[default: 128; fewshot: 4 episodes]")
@click.option("--lr", type=float, default=D.lr, show_default=True)
@click.option("--weight-decay", type=float, default=D.weight_decay, show_default=True)
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=D.optimizer, show_default=True,
              help="adam, or sgd with momentum 0.9 (the few-shot recipe).")
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
def command(task_columns, task_types, split_kind, seeds, extra_seeds, out, resume, no_progress, **options):
    """Train MetaLink on a dataset in one of the four settings (few-shot: N-way K-shot episodes) and report
    the test metric: ROC-AUC (molecules), mAP (coco) or accuracy with its 95% interval (fewshot)."""
    from metalink_dgl.engine import train

    if extra_seeds and not seeds:
        raise click.UsageError(f"unexpected arguments {list(extra_seeds)}; seeds go after --seeds")
    seeds = list(seeds) + list(extra_seeds) or list(D.seeds)
    config = TrainConfig(task_columns=split_task_columns(task_columns), task_types=parse_task_types(task_types),
                         split=split_kind, seeds=seeds, **options)
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
        f"  validation {label} {_fmt(summary[f'val_{metric}'])}\n"
        f"  test {label}       {_fmt(summary[f'test_{metric}'])}{ci}   (best epochs {summary['best_epochs']})\n"
        f"  results in {out}/summary.json"
    )
