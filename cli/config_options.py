"""The options of ``metalink-dgl train``, derived once from :class:`~metalink_dgl.engine.TrainConfig`.

Every field of the config is an option ``--<field-with-dashes>``: its type and default come from
the dataclass, its choices from the registries the config validates against, and only its help
text is written here (:data:`HELP`). A field left ``None`` takes the default of the dataset's
kind, which its help names. A new config field without help here fails the CLI tests.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Callable

import click

from metalink_dgl.device import DEVICES
from metalink_dgl.engine.config import OPTIMIZERS, SPLIT_KINDS, TrainConfig
from metalink_dgl.kg import HELDOUT_PICKS, SETTINGS
from metalink_dgl.nn import EDGE_PREDICTORS, ENCODERS, IMAGE_ENCODERS, MESSAGES, MODELS, NEW_TASK_INITS

#: Fields that are not plain options: given by ``dataset_options``, parsed specially, or named otherwise.
SPECIAL = ("dataset", "smiles_column", "task_columns", "task_types", "skip_invalid", "cache_dir", "seeds", "out")

#: The allowed values of a field, from the registries ``TrainConfig.validate`` checks.
CHOICES: dict[str, list[str]] = {
    "setting": list(SETTINGS), "heldout_tasks": list(HELDOUT_PICKS), "model": list(MODELS),
    "encoder": [*ENCODERS, *IMAGE_ENCODERS], "edge_pred": list(EDGE_PREDICTORS), "new_task_init": list(NEW_TASK_INITS),
    "message": list(MESSAGES), "split": list(SPLIT_KINDS), "optimizer": list(OPTIMIZERS), "device": list(DEVICES),
}
#: Click types other than the field's own.
TYPES: dict[str, click.ParamType] = {"data_root": click.Path(), "pretrained": click.Path(dir_okay=False)}

HELP: dict[str, str] = {
    "data_root": "Folder of --dataset coco (annotations/instances_*.json + image folders) or fewshot "
                 "(train|val|test/<class>/<images>).",
    "max_molecules": "Train on a seeded random slice of this many molecules.",
    "setting": "[default: relational; fewshot episodes are meta]",
    "aux_ratio": "Fraction of auxiliary tasks each query example reveals (relational settings); also fixes which "
                 "pairs are scored.",
    "heldout_ratio": "Fraction of tasks held out of training (meta settings).",
    "heldout_tasks": "Which tasks are held out (meta settings): a seeded random sample, or the last columns (the same "
                     "tasks for every seed, as in the authors' code).",
    "shots": "K-shot support at test time (meta settings): each held-out task shows K of its labelled training "
             "examples, or all if it has fewer [default: 256]; fewshot: support images per class, K [default: 5].",
    "support_ratio": "Fraction of a training minibatch used as support in meta episodes.",
    "episode_heads": "Meta settings: each training episode makes only a random --heldout-ratio of the seen tasks new; "
                     "the others keep their learned heads and are queried too (adds a standard multi-task loss).",
    "model": "MetaLink, or a baseline on the same pairs: labels-as-features (revealed labels appended to the "
             "embedding; standard/relational) or baseline++ (cosine heads, new-task heads fitted on the support set; "
             "meta settings). Baselines need --layers 0.",
    "layers": "Knowledge-graph layers (0 = plain multi-head model; fewshot: Meta-Baseline).",
    "encoder": "[default: gcn; resnet50 for coco, resnet12 for fewshot]",
    "hidden": "Embedding size of data and task nodes.",
    "dropout": "Dropout of the encoder.",
    "edge_pred": "[default: dot; cos for fewshot]",
    "shared_weights": "Share KG message weights between both directions.",
    "new_task_init": "Meta settings: new task nodes start from a ones vector (the paper) or from their support "
                     "prototype (mean positive minus mean negative support embedding, rescaled to the ones vector's "
                     "norm).",
    "message": "KG message: add = ReLU(W h + O y), the paper's eq. 3; gated = (W h + O y) * sigmoid(G h + P y), the "
               "gate of the authors' code.",
    "image_size": "Side of the image crops [default: 224; 84 for fewshot].",
    "width": "ResNet-12 channels of its first stage (64-160-320-640 at 64).",
    "pretrained": "Local state_dict of the image backbone (e.g. torchvision's resnet50 file); nothing is downloaded "
                  "[default: random initialisation].",
    "ways": "fewshot: classes per episode (N).",
    "query": "fewshot: query images per class.",
    "episodes": "fewshot: training episodes per epoch.",
    "test_episodes": "fewshot: validation and test episodes.",
    "pretrain_epochs": "fewshot: supervised pre-training epochs on the base classes.",
    "pretrain_lr": "fewshot: learning rate of pre-training.",
    "split": "[default: scaffold; coco: official (train file -> train/val, val file -> test), random 80/10/10 if "
             "there is only a train file]",
    "epochs": "Training epochs.",
    "batch_size": "[default: 128; fewshot: 4 episodes]",
    "lr": "Learning rate.",
    "weight_decay": "Weight decay of the optimizer.",
    "optimizer": "adam, or sgd with momentum 0.9 (the few-shot recipe).",
    "device": "auto: CUDA when torch and DGL have it, else CPU.",
    "threads": "Torch CPU threads (0: torch's default). On a shared machine, 1 per concurrent job avoids "
               "oversubscription.",
}


def option_fields() -> list[dataclasses.Field]:
    """The TrainConfig fields that are plain ``train`` options, in the config's order."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in SPECIAL]


def config_options(func: Callable) -> Callable:
    """Decorate a click command with one option per :func:`option_fields` field."""
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    for f in reversed(option_fields()):
        if f.name not in HELP:
            raise KeyError(f"TrainConfig.{f.name} has no CLI help in cli/config_options.py HELP")
        flag = "--" + f.name.replace("_", "-")
        if hints[f.name] is bool:
            func = click.option(flag, f.name, is_flag=True, help=HELP[f.name])(func)
            continue
        base = next(t for t in (int, float, str) if t in (hints[f.name], *typing.get_args(hints[f.name])))
        kind = click.Choice(CHOICES[f.name]) if f.name in CHOICES else TYPES.get(f.name, base)
        declared = f.default  # None: the dataset kind's default, which the help names
        func = click.option(flag, f.name, type=kind, default=declared, help=HELP[f.name],
                            show_default=declared is not None and getattr(defaults, f.name) == declared)(func)
    return func
