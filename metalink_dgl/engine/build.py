"""A run's data and model, rebuilt from its config: shared by training, evaluation and prediction."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import load_checkpoint
from ..data import (
    FEATURIZERS,
    ImageBank,
    ImageDataset,
    MoleculeDataset,
    MoleculeGraphs,
    featurize,
    load_coco,
    load_dataset,
)
from ..data.scaling import LabelScaler
from ..errors import MetaLinkError
from ..kg.schema import label_feats
from ..label_matrix import LabelMatrix, as_label_matrix
from ..metrics import selection_metric
from ..nn import (
    ENCODERS,
    MODELS,
    BaselinePlusPlus,
    LabelsAsFeatures,
    MetaLink,
    build_encoder,
    build_image_encoder,
    load_backbone,
)
from ..peers.chemprop import ChempropDMPNN, ChempropInputs
from .config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    r"""A multi-task dataset with its encoder inputs and label matrix ``Y`` (N, T), NaN = unknown.

    ``inputs`` is the input bank of the rows: featurized molecule graphs (chemprop's ``MolGraph``\s for
    ``--model chemprop``) or an image bank, all giving the encoder input of a minibatch as
    ``inputs.batch(idx, train)``. ``metric``
    is the dataset's model-selection metric (``roc_auc``, ``r2`` or ``score``:
    :func:`metalink_dgl.metrics.selection_metric`; ``map`` for COCO). ``continuous`` (T,)
    marks the continuous tasks, whose ``Y`` is in original units. ``Y`` is dense or
    :class:`~metalink_dgl.label_matrix.SparseLabels` (``--label-storage``); both are read as ``Y[rows]``.
    """

    dataset: MoleculeDataset | ImageDataset
    inputs: MoleculeGraphs | ImageBank
    Y: LabelMatrix
    metric: str = "roc_auc"
    continuous: torch.Tensor | None = None

    def __post_init__(self):
        if self.continuous is None:
            self.continuous = torch.zeros(self.Y.shape[1], dtype=torch.bool)


def load_molecules(config: TrainConfig) -> MoleculeDataset:
    """The molecule dataset of ``config``: read as its options say, sliced to a seeded random
    ``max_molecules`` (in file order) when given."""
    dataset = load_dataset(config.dataset, smiles_column=config.smiles_column,
                           task_columns=config.task_columns, skip_invalid=config.skip_invalid,
                           task_types=config.task_types)
    if config.max_molecules is not None and config.max_molecules < len(dataset):
        keep = np.sort(np.random.default_rng(0).permutation(len(dataset))[: config.max_molecules])
        dataset = dataset.subset(keep)
    return dataset


def prepare_data(config: TrainConfig, progress: bool = True, cache_dir: str | None = None) -> Prepared:
    """Load the dataset of ``config``: molecules (optionally sliced, featurized for the encoder) or COCO images."""
    if config.kind == "coco":
        coco = load_coco(config.data_root)
        return Prepared(coco, ImageBank(coco.paths, config.image_size), as_label_matrix(coco.Y, config.label_storage),
                        "map")
    if config.kind != "molecules":
        raise MetaLinkError(f"--dataset {config.dataset} is not a multi-task dataset; train it with train()")
    dataset = load_molecules(config)
    graphs = molecule_inputs(dataset, config, cache_dir=cache_dir, progress=progress)
    continuous = np.asarray(dataset.continuous, dtype=bool)
    return Prepared(dataset, graphs, as_label_matrix(dataset.Y, config.label_storage), selection_metric(continuous),
                    torch.from_numpy(continuous))


def molecule_inputs(dataset: MoleculeDataset, config: TrainConfig, *, cache_dir: str | None = None,
                    progress: bool = True, cache: bool = True,
                    workers: int | None = None) -> MoleculeGraphs | ChempropInputs:
    """The encoder input bank of ``dataset``'s molecules for the model ``config`` describes: chemprop's
    own featurization for ``--model chemprop`` (in memory, never cached), else the featurizer of
    ``config.encoder`` (:func:`~metalink_dgl.data.featurize`: disk cache unless ``cache=False``,
    ``workers`` processes, default ``config.workers``)."""
    if config.model == "chemprop":
        return ChempropInputs(dataset.smiles)
    return featurize(dataset, ENCODERS[config.encoder].featurizer, cache_dir=cache_dir or config.cache_dir,
                     progress=progress, cache=cache, workers=config.workers if workers is None else workers)


def build_model(config: TrainConfig, n_tasks: int, pretrained: bool = False,
                continuous: bool = False) -> MetaLink | LabelsAsFeatures | BaselinePlusPlus | ChempropDMPNN:
    """The model that ``config`` describes (MetaLink, a baseline or a peer), for ``n_tasks`` task heads;
    ``continuous``: some task is continuous (the wider edge label feature of :func:`~metalink_dgl.kg.label_feats`).

    With ``pretrained``, an image backbone starts from ``config.pretrained`` (a local file;
    without one it is randomly initialised, and the log says so).
    """
    if config.model == "chemprop":
        return ChempropDMPNN(n_tasks, regression=continuous)
    if config.kind == "molecules":
        encoder = build_encoder(config.encoder, FEATURIZERS[ENCODERS[config.encoder].featurizer], config.hidden,
                                config.dropout)
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
                        new_task_init=config.new_task_init, message=config.message,
                        edge_feats=label_feats(continuous), aggregate=config.aggregate,
                        label_term=config.label_term, data_init=config.data_init,
                        freeze_seen_tasks=config.freeze_seen_tasks, kg_dropout=config.kg_dropout,
                        deep_supervision=config.deep_supervision)
    if continuous and config.model == "baseline++":
        raise MetaLinkError("--model baseline++ fits new-task heads on binary support labels; this dataset has "
                            "continuous tasks (use MetaLink)")
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
    scaler = LabelScaler.from_state(ckpt.get("scaler"), len(ckpt["task_names"]))
    model = build_model(config, len(ckpt["task_names"]), continuous=scaler.any_continuous)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise MetaLinkError(f"{path}: weights do not match the model its config describes "
                            f"({str(err).splitlines()[0][:160]})") from None
    return model.to(device), config, ckpt
