"""A run's data and model, rebuilt from its config: shared by training, evaluation and prediction."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from .checkpoint import load_checkpoint
from .config import TrainConfig
from .data import ImageBank, ImageDataset, MoleculeDataset, MoleculeGraphs, featurize, load_coco, load_dataset
from .device import resolve_device
from .draw import EvalDraw
from .errors import MetaLinkError
from .evaluation import evaluate
from .nn import MODELS, BaselinePlusPlus, LabelsAsFeatures, MetaLink, build_encoder, build_image_encoder, load_backbone
from .nn.encoders import ENCODERS
from .settings import check_aux_ratio, get_setting

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A multi-task dataset with its encoder inputs and label tensor ``Y`` (N, T), NaN = unknown.

    ``inputs`` is the input bank of the rows: featurized molecule graphs or an image bank,
    both giving the encoder input of a minibatch as ``inputs.batch(idx, train)``. ``metric``
    is the dataset's metric (a key of :data:`metalink_dgl.metrics.METRICS`).
    """

    dataset: MoleculeDataset | ImageDataset
    inputs: MoleculeGraphs | ImageBank
    Y: torch.Tensor
    metric: str = "roc_auc"


def prepare_data(config: TrainConfig, progress: bool = True, cache_dir: str | None = None) -> Prepared:
    """Load the dataset of ``config``: molecules (optionally sliced, featurized for the encoder) or COCO images."""
    if config.kind == "coco":
        coco = load_coco(config.data_root)
        return Prepared(coco, ImageBank(coco.paths, config.image_size), torch.from_numpy(coco.Y), "map")
    if config.kind != "molecules":
        raise MetaLinkError(f"--dataset {config.dataset} is not a multi-task dataset; train it with train()")
    dataset = load_dataset(config.dataset, smiles_column=config.smiles_column,
                           task_columns=config.task_columns, skip_invalid=config.skip_invalid)
    if config.max_molecules is not None and config.max_molecules < len(dataset):
        keep = np.sort(np.random.default_rng(0).permutation(len(dataset))[: config.max_molecules])
        dataset = dataset.subset(keep)
    graphs = featurize(dataset, ENCODERS[config.encoder].featurizer, cache_dir=cache_dir or config.cache_dir,
                       progress=progress)
    return Prepared(dataset, graphs, torch.from_numpy(np.asarray(dataset.Y, dtype=np.float32)))


def build_model(config: TrainConfig, n_tasks: int,
                pretrained: bool = False) -> MetaLink | LabelsAsFeatures | BaselinePlusPlus:
    """The model that ``config`` describes (MetaLink or a baseline), for ``n_tasks`` task heads.

    With ``pretrained``, an image backbone starts from ``config.pretrained`` (a local file;
    without one it is randomly initialised, and the log says so).
    """
    if config.kind == "molecules":
        encoder = build_encoder(config.encoder, config.hidden, config.dropout)
    else:
        encoder = build_image_encoder(config.encoder, config.hidden, config.dropout, config.width)
        if pretrained and config.pretrained:
            load_backbone(encoder.backbone, config.pretrained)
            log.info("%s backbone initialised from %s", config.encoder, config.pretrained)
        elif pretrained:
            log.info("%s backbone randomly initialised (no --pretrained weights file given)", config.encoder)
    if config.model == "metalink":
        return MetaLink(encoder, n_tasks, config.hidden, layers=config.layers,
                        edge_pred=config.edge_pred, shared_weights=config.shared_weights,
                        new_task_init=config.new_task_init, message=config.message)
    return MODELS[config.model](encoder, n_tasks, config.hidden)


def load_model(path: str | os.PathLike,
               device: torch.device | str = "cpu") -> tuple[torch.nn.Module, TrainConfig, dict]:
    """Rebuild the model of a checkpoint; returns ``(model, config, checkpoint)``.

    Raises :class:`MetaLinkError` (naming ``path``) if the file is not a readable checkpoint, if
    its config is not one this version understands, or if the weights do not fit the model its
    config describes.
    """
    ckpt = load_checkpoint(path)
    missing = [key for key in ("config", "task_names", "state_dict") if key not in ckpt]
    if missing:
        raise MetaLinkError(f"{path}: incomplete metalink-dgl checkpoint (no {', '.join(missing)})")
    try:
        config = TrainConfig.from_dict(ckpt["config"]).validate()
    except (MetaLinkError, TypeError) as err:
        raise MetaLinkError(f"{path}: {err}") from None
    model = build_model(config, len(ckpt["task_names"]))
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise MetaLinkError(f"{path}: weights do not match the model its config describes "
                            f"({str(err).splitlines()[0][:160]})") from None
    return model.to(device), config, ckpt


def evaluate_checkpoint(path: str | os.PathLike, *, aux_ratio: float | None = None, cache_dir: str | None = None,
                        device: str = "auto", progress: bool = False) -> dict:
    """Test metric of a checkpoint: ROC-AUC (mAP for COCO) on the split and draw saved in it, or
    few-shot accuracy on the seed's test episodes.

    ``aux_ratio`` scores the same test examples with each revealing that fraction of the
    auxiliary tasks instead (a fresh draw with the run's seed; Figure 4 of the paper).
    """
    if aux_ratio is not None:
        check_aux_ratio(aux_ratio)  # before loading and featurizing anything
    dev = resolve_device(device)
    model, config, ckpt = load_model(path, dev)
    if config.kind == "fewshot":
        from .fewshot import evaluate_fewshot_checkpoint  # fewshot builds on this module

        return evaluate_fewshot_checkpoint(model, config, int(ckpt["seed"]), dev)
    data = prepare_data(config, progress=progress, cache_dir=cache_dir)
    if data.dataset.task_names != list(ckpt["task_names"]) or len(data.dataset) != _n_rows(ckpt["split"]):
        raise MetaLinkError(f"{path}: the dataset {config.dataset!r} no longer matches the checkpoint "
                            "(different tasks or examples)")
    setting = get_setting(config.setting)
    draw = EvalDraw.from_state(ckpt["draw"])
    if aux_ratio is not None:
        split = SimpleNamespace(**{name: rows.numpy() for name, rows in ckpt["split"].items()})
        draw = EvalDraw.create(data.Y, split, setting, seed=int(ckpt["seed"]), aux_ratio=aux_ratio,
                               heldout_ratio=config.heldout_ratio, shots=config.shots,
                               heldout_pick=config.heldout_tasks, source=str(path))
    return evaluate(model, data.inputs, data.Y, ckpt["split"]["test"], draw.aux["test"], setting, draw,
                    data.dataset.task_names, batch_size=config.batch_size, device=dev, metric=data.metric)


def _n_rows(split: dict) -> int:
    return sum(len(v) for v in split.values())
