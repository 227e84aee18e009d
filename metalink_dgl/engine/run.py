"""The engine's two entry points: :func:`train` (every seed of a config, then ``summary.json``)
and :func:`evaluate_checkpoint` (the test metric of a saved model).

``train(config)`` runs one seed after another into ``<out>/seed_<k>/`` through
:func:`~metalink_dgl.engine.seed.run_seed`, with the multi-task stage (molecules, COCO) or the
few-shot stage, and writes ``<out>/summary.json`` with mean and std over seeds:

* ``config.json`` (resolved), ``split.json``, ``draw.json`` (held-out tasks, support rows,
  auxiliary pairs of every validation/test example);
* ``history.json`` (per-epoch loss, validation metric, time), ``last.pt`` (model,
  optimizer, scheduler and RNG states, rewritten atomically every epoch: ``--resume``
  continues from it), ``best.pt`` (the best-validation model);
* ``metrics.json``: the test metric at the best validation epoch (ROC-AUC for molecules,
  ``test_roc_auc``; mAP for COCO, ``test_map``; few-shot accuracy).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import torch

from ..data.scaling import LabelScaler
from ..device import resolve_device
from ..errors import MetaLinkError
from ..io import atomic_write_json
from ..kg.eval_draw import EvalDraw
from ..kg.settings import check_aux_ratio, get_setting
from ..provenance import provenance
from .build import load_model, prepare_data
from .config import TrainConfig
from .distributed import World, launched
from .distributed import start as start_world
from .distributed import stop as stop_world
from .evaluate import evaluate, evaluate_leave_one_out
from .fewshot import FewShotJob, evaluate_fewshot_checkpoint, prepare_fewshot
from .loop import summarize
from .multitask import MultitaskJob
from .seed import run_seed


def train(config: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Train every seed of ``config`` into ``config.out``; returns the summary over seeds.

    Under torchrun (``WORLD_SIZE`` > 1) every process calls this: they join one process group
    (:func:`~metalink_dgl.engine.distributed.start`), train data-parallel, rank 0 writes the
    files, and the group is left on return.
    """
    config.validate()
    if config.kind == "fewshot" and launched():
        raise MetaLinkError("--dataset fewshot trains in one process; data-parallel runs (torchrun) are for "
                            "multi-task datasets")
    world, device = start_world(config.device)  # fail before featurizing
    try:
        return _train(config, world, device, resume=resume, progress=progress)
    finally:
        stop_world()


def _train(config: TrainConfig, world: World, device: torch.device, *, resume: bool, progress: bool) -> dict:
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    if config.kind == "fewshot":
        prepared = prepare_fewshot(config)
        start = partial(FewShotJob, config, prepared)
        sizes = {"n_images": len(prepared.data.paths),
                 "n_classes": {k: len(v.class_names) for k, v in prepared.data.splits.items()}}
    else:
        with world.main_first():  # rank 0 fills the featurization cache, the others read it
            data = prepare_data(config, progress=progress and world.main)
        start = partial(MultitaskJob, config, data)
        count = "n_molecules" if config.kind == "molecules" else "n_images"
        sizes = {count: len(data.dataset), "n_tasks": data.dataset.n_tasks}
    per_seed = [run_seed(config, seed, out / f"seed_{seed}", start, device, resume=resume,
                         progress=progress and world.main) for seed in config.seeds]
    metric = per_seed[0]["metric"]
    summary = {"config": config.to_dict(), **provenance(),
               "dataset": config.dataset if config.kind == "fewshot" else data.dataset.name, **sizes,
               **summarize(per_seed, metric)}
    if config.kind == "fewshot":
        summary["test_ci95"] = [m["test_ci95"] for m in per_seed]
    if world.main:
        atomic_write_json(out / "summary.json", summary)
    world.barrier()
    return summary


def evaluate_checkpoint(path: str | os.PathLike, *, aux_ratio: float | None = None, leave_one_out: bool = False,
                        cache_dir: str | None = None, device: str = "auto", progress: bool = False) -> dict:
    """Test metrics of a checkpoint on the split and draw saved in it (ROC-AUC, and RMSE/MAE/R2/Pearson r
    for continuous tasks; mAP for COCO), or few-shot accuracy on the seed's test episodes.

    ``aux_ratio`` scores the same test examples with each revealing that fraction of the
    auxiliary tasks instead (a fresh draw with the run's seed; Figure 4 of the paper).
    ``leave_one_out`` scores each task of each test example from all its other labels
    (:func:`~metalink_dgl.engine.evaluate.evaluate_leave_one_out`).
    """
    if aux_ratio is not None and leave_one_out:
        raise MetaLinkError("--aux-ratio and --leave-one-out are two different evaluations; give one")
    if aux_ratio is not None:
        check_aux_ratio(aux_ratio)  # before loading and featurizing anything
    dev = resolve_device(device)
    model, config, ckpt = load_model(path, dev)
    if config.kind == "fewshot":
        if aux_ratio is not None or leave_one_out:
            raise MetaLinkError(f"{path}: a few-shot checkpoint is scored on its test episodes; --aux-ratio and "
                                "--leave-one-out are for multi-task checkpoints")
        return evaluate_fewshot_checkpoint(model, config, int(ckpt["seed"]), dev)
    data = prepare_data(config, progress=progress, cache_dir=cache_dir)
    scaler = LabelScaler.from_state(ckpt.get("scaler"), len(ckpt["task_names"]))
    if (data.dataset.task_names != list(ckpt["task_names"]) or len(data.dataset) != _n_rows(ckpt["split"])
            or not torch.equal(data.continuous, scaler.continuous)):
        raise MetaLinkError(f"{path}: the dataset {config.dataset!r} no longer matches the checkpoint "
                            "(different tasks, task types or examples)")
    setting = get_setting(config.setting)
    draw = EvalDraw.from_state(ckpt["draw"])
    if aux_ratio is not None:
        split = SimpleNamespace(**{name: rows.numpy() for name, rows in ckpt["split"].items()})
        draw = EvalDraw.create(data.Y, split, setting, seed=int(ckpt["seed"]), aux_ratio=aux_ratio,
                               heldout_ratio=config.heldout_ratio, shots=config.shots,
                               heldout_pick=config.heldout_tasks, source=str(path),
                               aux_tasks=config.aux_tasks)
    Y = scaler.transform(data.Y)
    if leave_one_out:
        train_rows = ckpt["split"]["train"]
        order = torch.randperm(len(train_rows), generator=torch.Generator().manual_seed(int(ckpt["seed"])))
        context = train_rows[order]
        return evaluate_leave_one_out(model, data.inputs, Y, ckpt["split"]["test"], setting, data.dataset.task_names,
                                      context=context[:config.batch_size], batch_size=config.batch_size, device=dev,
                                      scaler=scaler)
    return evaluate(model, data.inputs, Y, ckpt["split"]["test"], draw.aux["test"], setting, draw,
                    data.dataset.task_names, batch_size=config.batch_size, device=dev, metric=data.metric,
                    scaler=scaler)


def _n_rows(split: dict) -> int:
    return sum(len(v) for v in split.values())
