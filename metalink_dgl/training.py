"""Training: seeded runs that write everything needed to check, repeat and resume them.

``train(config)`` runs one seed after another into ``<out>/seed_<k>/``:

* ``config.json`` (resolved), ``split.json``, ``draw.json`` (held-out tasks, support rows,
  auxiliary pairs of every validation/test example);
* ``history.json`` (per-epoch loss, validation metric, time), ``last.pt`` (model,
  optimizer, scheduler and RNG states, rewritten atomically every epoch: ``--resume``
  continues from it), ``best.pt`` (the best-validation model);
* ``metrics.json``: the test metric at the best validation epoch (ROC-AUC for molecules,
  ``test_roc_auc``; mAP for COCO, ``test_map``).

and writes ``<out>/summary.json`` with mean and std over seeds. ``--dataset fewshot`` runs
the episodic pipeline of :mod:`metalink_dgl.fewshot` into the same layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import __version__
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .data import Split
from .device import resolve_device
from .draw import EvalDraw
from .evaluation import as_rows, evaluate, forward_masks
from .fewshot import prepare_fewshot, train_fewshot_seed
from .io import atomic_write_json
from .loop import check_run_dir, fit, make_optimizer, seconds_per_epoch, summarize
from .pipeline import Prepared, build_model, prepare_data
from .plots import plot_history
from .provenance import provenance
from .settings import Setting, get_setting, training_masks


def train_epoch(model: torch.nn.Module, data: Prepared, rows: torch.Tensor, setting: Setting, seen: torch.Tensor,
                config: TrainConfig, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                device: torch.device, progress: bool) -> float:
    """One pass over ``rows`` in random (augmented, for images) minibatches; returns the mean BCE over queried
    pairs.

    The minibatch masks are those of ``model.training_setting(setting)`` (the setting itself
    for MetaLink; Baseline++ trains a plain classifier on the seen tasks).
    """
    model.train()
    setting = model.training_setting(setting)
    order = rows[torch.randperm(len(rows), generator=generator)]
    total, count = 0.0, 0
    batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
    for batch in tqdm(batches, desc="train", leave=False, disable=not progress):
        if len(batch) < 2:  # batch norm needs two examples
            continue
        Yb = data.Y[batch]
        masks = training_masks(Yb, setting, seen, aux_ratio=config.aux_ratio, heldout_ratio=config.heldout_ratio,
                               support_ratio=config.support_ratio, generator=generator,
                               episode_heads=config.episode_heads)
        if not masks.queried.any():
            continue
        z = model.embed(data.inputs.batch(batch, train=True).to(device))
        logits, r, t = forward_masks(model, z, Yb, masks)
        loss = F.binary_cross_entropy_with_logits(logits, Yb[r, t].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss) * len(r)
        count += len(r)
    return total / max(count, 1)


def train_seed(config: TrainConfig, seed: int, run_dir: Path, data: Prepared, *, resume: bool = False,
               progress: bool = True) -> dict:
    """Train and test one seed into ``run_dir``; returns the contents of its ``metrics.json``."""
    metrics_path = run_dir / "metrics.json"
    if check_run_dir(run_dir, resume):
        return json.loads(metrics_path.read_text())
    device = resolve_device(config.device)
    setting = get_setting(config.setting)
    task_names = data.dataset.task_names

    torch.manual_seed(seed)
    split: Split = data.dataset.make_split(config.split, seed)
    draw = EvalDraw.create(data.Y, split, setting, seed=seed, aux_ratio=config.aux_ratio,
                           heldout_ratio=config.heldout_ratio, shots=config.shots,
                           heldout_pick=config.heldout_tasks, source=data.dataset.source)
    seen = ~draw.heldout
    run_dir.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves nothing behind
    atomic_write_json(run_dir / "config.json", {**config.to_dict(), "seed": seed, "version": __version__})
    split.to_json(run_dir / "split.json")
    draw.to_json(run_dir / "draw.json", task_names, split)

    model = build_model(config, len(task_names), pretrained=True).to(device)
    optimizer = make_optimizer(model.parameters(), config, config.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    generator = torch.Generator().manual_seed(seed)
    common = dict(config=config.to_dict(), seed=seed, task_names=task_names, draw=draw.state(),
                  split={name: as_rows(getattr(split, name)) for name in ("train", "val", "test")})
    train_rows = as_rows(split.train)

    def score(rows, aux) -> dict:
        return evaluate(model, data.inputs, data.Y, rows, aux, setting, draw, task_names,
                        batch_size=config.batch_size, device=device, metric=data.metric)

    history, best = fit(
        model, optimizer, scheduler, generator, run_dir, epochs=config.epochs, metric=data.metric, common=common,
        run_epoch=lambda: train_epoch(model, data, train_rows, setting, seen, config, optimizer, generator, device,
                                      progress),
        validate=lambda: score(split.val, draw.aux["val"])[data.metric],
        resume=resume, progress=progress, desc=f"seed {seed}")

    model.load_state_dict(load_checkpoint(run_dir / "best.pt")["state_dict"])
    test = score(split.test, draw.aux["test"])
    metric = data.metric
    metrics = {"seed": seed, "setting": config.setting, "dataset": data.dataset.name, "split": split.kind,
               "metric": metric, "best_epoch": best["epoch"], f"val_{metric}": best[f"val_{metric}"],
               f"test_{metric}": test[metric], "test": test, "seconds_per_epoch": seconds_per_epoch(history)}
    atomic_write_json(metrics_path, metrics)
    title = f"{data.dataset.name} | {config.setting} | L={config.layers} | seed {seed} | test {test[metric]:.3f}"
    plot_history(history, run_dir / "history.png", title, metric)
    return metrics


def train(config: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Train every seed of ``config`` into ``config.out``; returns the summary over seeds."""
    config.validate()
    resolve_device(config.device)  # fail before featurizing
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    if config.kind == "fewshot":
        prepared = prepare_fewshot(config)
        per_seed = [train_fewshot_seed(config, seed, out / f"seed_{seed}", prepared, resume=resume,
                                       progress=progress) for seed in config.seeds]
        sizes = {"n_images": len(prepared.data.paths),
                 "n_classes": {k: len(v.class_names) for k, v in prepared.data.splits.items()}}
        summary = {"config": config.to_dict(), **provenance(), "dataset": config.dataset, **sizes,
                   **summarize(per_seed, "accuracy"), "test_ci95": [m["test_ci95"] for m in per_seed]}
    else:
        data = prepare_data(config, progress=progress)
        per_seed = [train_seed(config, seed, out / f"seed_{seed}", data, resume=resume, progress=progress)
                    for seed in config.seeds]
        count = "n_molecules" if config.kind == "molecules" else "n_images"
        summary = {"config": config.to_dict(), **provenance(), "dataset": data.dataset.name,
                   count: len(data.dataset), "n_tasks": data.dataset.n_tasks, **summarize(per_seed, data.metric)}
    atomic_write_json(out / "summary.json", summary)
    return summary
