"""Training: seeded runs that write everything needed to check, repeat and resume them.

``train(config)`` runs one seed after another into ``<out>/seed_<k>/``:

* ``config.json`` (resolved), ``split.json``, ``draw.json`` (held-out tasks, support rows,
  auxiliary pairs of every validation/test example);
* ``history.json`` (per-epoch loss, validation ROC-AUC, time), ``last.pt`` (model,
  optimizer, scheduler and RNG states, rewritten atomically every epoch: ``--resume``
  continues from it), ``best.pt`` (the best-validation model);
* ``metrics.json``: test ROC-AUC at the best validation epoch.

and writes ``<out>/summary.json`` with mean and std over seeds.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import __version__
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import Split, make_split
from .device import resolve_device
from .draw import EvalDraw
from .errors import MetaLinkError
from .evaluation import evaluate, forward_masks
from .io import atomic_write_json
from .pipeline import Prepared, build_model, prepare_data
from .plots import plot_history
from .provenance import provenance
from .settings import Setting, get_setting, training_masks

log = logging.getLogger(__name__)


def train_epoch(model: torch.nn.Module, data: Prepared, rows: torch.Tensor, setting: Setting, seen: torch.Tensor,
                config: TrainConfig, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                device: torch.device, progress: bool) -> float:
    """One pass over ``rows`` in random minibatches; returns the mean BCE over queried pairs.

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
                               support_ratio=config.support_ratio, generator=generator)
        if not masks.queried.any():
            continue
        z = model.embed(data.graphs.batch(batch).to(device))
        logits, r, t = forward_masks(model, z, Yb, masks)
        loss = F.binary_cross_entropy_with_logits(logits, Yb[r, t].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss) * len(r)
        count += len(r)
    return total / max(count, 1)


def _rows(idx) -> torch.Tensor:
    return torch.as_tensor(np.asarray(idx), dtype=torch.long)


def train_seed(config: TrainConfig, seed: int, run_dir: Path, data: Prepared, *, resume: bool = False,
               progress: bool = True) -> dict:
    """Train and test one seed into ``run_dir``; returns the contents of its ``metrics.json``."""
    metrics_path, last_path, best_path = run_dir / "metrics.json", run_dir / "last.pt", run_dir / "best.pt"
    if resume and metrics_path.exists():
        log.info("seed %d: finished run found in %s; skipping", seed, run_dir)
        return json.loads(metrics_path.read_text())
    if not resume and any(run_dir.glob("*")):
        raise MetaLinkError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    device = resolve_device(config.device)
    setting = get_setting(config.setting)
    task_names = data.dataset.task_names

    torch.manual_seed(seed)
    split: Split = make_split(data.dataset.smiles, config.split, seed, dataset=data.dataset.name)
    draw = EvalDraw.create(data.Y, split, setting, seed=seed, aux_ratio=config.aux_ratio,
                           heldout_ratio=config.heldout_ratio, shots=config.shots,
                           heldout_pick=config.heldout_tasks, source=data.dataset.source)
    seen = ~draw.heldout
    run_dir.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves nothing behind
    atomic_write_json(run_dir / "config.json", {**config.to_dict(), "seed": seed, "version": __version__})
    split.to_json(run_dir / "split.json")
    draw.to_json(run_dir / "draw.json", task_names, split)

    model = build_model(config, len(task_names)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    generator = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    best = {"epoch": -1, "val_roc_auc": -math.inf}
    if resume and last_path.exists():
        state = load_checkpoint(last_path)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history, best = json.loads(state["history"]), json.loads(state["best"])
        log.info("seed %d: resuming after epoch %d", seed, len(history))

    common = dict(config=config.to_dict(), seed=seed, task_names=task_names, draw=draw.state(),
                  split={name: _rows(getattr(split, name)) for name in ("train", "val", "test")})
    train_rows = _rows(split.train)
    epochs = tqdm(range(len(history), config.epochs), desc=f"seed {seed}", disable=not progress,
                  initial=len(history), total=config.epochs)
    for epoch in epochs:
        start = time.perf_counter()
        loss = train_epoch(model, data, train_rows, setting, seen, config, optimizer, generator, device, progress)
        scheduler.step()
        val = evaluate(model, data.graphs, data.Y, split.val, draw.aux["val"], setting, draw.heldout, draw.support,
                       task_names, batch_size=config.batch_size, device=device)
        val_auc = val["roc_auc"] if not math.isnan(val["roc_auc"]) else -math.inf
        history.append({"epoch": epoch, "loss": loss, "val_roc_auc": val["roc_auc"],
                        "lr": scheduler.get_last_lr()[0], "seconds": time.perf_counter() - start})
        if val_auc > best["val_roc_auc"]:
            best = {"epoch": epoch, "val_roc_auc": val_auc}
            save_checkpoint(best_path, state_dict=model.state_dict(), epoch=epoch, **common)
        save_checkpoint(last_path, state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
                        scheduler=scheduler.state_dict(), generator=generator.get_state(),
                        torch_rng=torch.get_rng_state(), history=json.dumps(history), best=json.dumps(best), **common)
        atomic_write_json(run_dir / "history.json", history)
        epochs.set_postfix(loss=f"{loss:.4f}", val_auc=f"{val['roc_auc']:.4f}", best=best["epoch"])

    model.load_state_dict(load_checkpoint(best_path)["state_dict"])
    test = evaluate(model, data.graphs, data.Y, split.test, draw.aux["test"], setting, draw.heldout, draw.support,
                    task_names, batch_size=config.batch_size, device=device)
    metrics = {"seed": seed, "setting": config.setting, "dataset": data.dataset.name, "split": config.split,
               "best_epoch": best["epoch"], "val_roc_auc": best["val_roc_auc"],
               "test_roc_auc": test["roc_auc"], "test": test,
               "seconds_per_epoch": float(np.mean([h["seconds"] for h in history]))}
    atomic_write_json(metrics_path, metrics)
    title = f"{data.dataset.name} | {config.setting} | L={config.layers} | seed {seed} | test {test['roc_auc']:.3f}"
    plot_history(history, run_dir / "history.png", title)
    return metrics


def summarize(per_seed: list[dict]) -> dict:
    """Mean and (sample) std of validation and test ROC-AUC over seeds."""
    def stats(key: str) -> dict:
        values = [m[key] for m in per_seed]
        return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "values": values}

    return {"seeds": [m["seed"] for m in per_seed], "test_roc_auc": stats("test_roc_auc"),
            "val_roc_auc": stats("val_roc_auc"), "best_epochs": [m["best_epoch"] for m in per_seed]}


def train(config: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Train every seed of ``config`` into ``config.out``; returns the summary over seeds."""
    config.validate()
    resolve_device(config.device)  # fail before featurizing
    if config.threads:
        torch.set_num_threads(config.threads)
    data = prepare_data(config, progress=progress)
    out = Path(config.out)
    per_seed = [train_seed(config, seed, out / f"seed_{seed}", data, resume=resume, progress=progress)
                for seed in config.seeds]
    summary = {"config": config.to_dict(), **provenance(), "dataset": data.dataset.name,
               "n_molecules": len(data.dataset), "n_tasks": data.dataset.n_tasks, **summarize(per_seed)}
    atomic_write_json(out / "summary.json", summary)
    return summary
