"""A run's data and model, rebuilt from its config: shared by training, evaluation and prediction."""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from .checkpoint import load_checkpoint
from .config import TrainConfig
from .data import MoleculeDataset, MoleculeGraphs, featurize, load_dataset
from .device import resolve_device
from .draw import EvalDraw
from .errors import MetaLinkError
from .evaluation import evaluate
from .nn import MODELS, BaselinePlusPlus, LabelsAsFeatures, MetaLink, build_encoder
from .nn.encoders import ENCODERS
from .settings import check_aux_ratio, get_setting


@dataclass
class Prepared:
    """A dataset with its featurized graphs and label tensor ``Y`` (N, T), NaN = unknown."""

    dataset: MoleculeDataset
    graphs: MoleculeGraphs
    Y: torch.Tensor


def prepare_data(config: TrainConfig, progress: bool = True, cache_dir: str | None = None) -> Prepared:
    """Load, optionally slice, and featurize the dataset of ``config`` (featurizer chosen by the encoder)."""
    dataset = load_dataset(config.dataset, smiles_column=config.smiles_column,
                           task_columns=config.task_columns, skip_invalid=config.skip_invalid)
    if config.max_molecules is not None and config.max_molecules < len(dataset):
        keep = np.sort(np.random.default_rng(0).permutation(len(dataset))[: config.max_molecules])
        dataset = dataset.subset(keep)
    graphs = featurize(dataset, ENCODERS[config.encoder].featurizer, cache_dir=cache_dir or config.cache_dir,
                       progress=progress)
    return Prepared(dataset, graphs, torch.from_numpy(np.asarray(dataset.Y, dtype=np.float32)))


def build_model(config: TrainConfig, n_tasks: int) -> MetaLink | LabelsAsFeatures | BaselinePlusPlus:
    """The model that ``config`` describes (MetaLink or a baseline), for ``n_tasks`` task heads."""
    encoder = build_encoder(config.encoder, config.hidden, config.dropout)
    if config.model == "metalink":
        return MetaLink(encoder, n_tasks, config.hidden, layers=config.layers,
                        edge_pred=config.edge_pred, shared_weights=config.shared_weights)
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
    """Test ROC-AUC of a checkpoint on the split and draw saved in it.

    ``aux_ratio`` scores the same test molecules with each revealing that fraction of the
    auxiliary tasks instead (a fresh draw with the run's seed; Figure 4 of the paper).
    """
    dev = resolve_device(device)
    model, config, ckpt = load_model(path, dev)
    data = prepare_data(config, progress=progress, cache_dir=cache_dir)
    if data.dataset.task_names != list(ckpt["task_names"]) or len(data.dataset) != _n_rows(ckpt["split"]):
        raise MetaLinkError(f"{path}: the dataset {config.dataset!r} no longer matches the checkpoint "
                            "(different tasks or molecules)")
    setting = get_setting(config.setting)
    draw = EvalDraw.from_state(ckpt["draw"])
    if aux_ratio is not None:
        split = SimpleNamespace(**{name: rows.numpy() for name, rows in ckpt["split"].items()})
        draw = EvalDraw.create(data.Y, split, setting, seed=int(ckpt["seed"]), aux_ratio=check_aux_ratio(aux_ratio),
                               heldout_ratio=config.heldout_ratio, shots=config.shots,
                               heldout_pick=config.heldout_tasks, source=str(path))
    return evaluate(model, data.graphs, data.Y, ckpt["split"]["test"], draw.aux["test"], setting,
                    draw.heldout, draw.support, data.dataset.task_names, batch_size=config.batch_size, device=dev)


def _n_rows(split: dict) -> int:
    return sum(len(v) for v in split.values())
