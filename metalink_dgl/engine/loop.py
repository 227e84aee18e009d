"""The epoch loop shared by multi-task training (``multitask.py``) and few-shot training (``fewshot.py``).

:func:`fit` runs epochs of a caller's ``run_epoch`` and ``validate`` and owns what every run
writes per epoch: ``history.json``, ``best.pt`` (best validation score) and ``last.pt``
(model, optimizer, scheduler and RNG states, so that ``--resume`` continues exactly).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import MetaLinkError
from ..io import atomic_write_json
from .config import TrainConfig
from .distributed import World

log = logging.getLogger(__name__)


def make_optimizer(params, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """``--optimizer``: Adam, or SGD with momentum 0.9 (the few-shot recipe), with ``--weight-decay``.

    Both use torch's multi-tensor (``foreach``) update, which torch picks by itself only on CUDA:
    on CPU it gives the same parameters bit for bit in 0.6 to 0.8 of the time of the per-tensor loop
    (``benchmarks/bench_epoch.py`` times the step).
    """
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=config.weight_decay, foreach=True)
    return torch.optim.Adam(params, lr=lr, weight_decay=config.weight_decay, foreach=True)


def check_run_dir(run_dir: Path, resume: bool) -> bool:
    """True if ``run_dir`` holds a finished run to skip (``--resume``); error if it holds one not to resume."""
    if resume and (run_dir / "metrics.json").exists():
        log.info("finished run found in %s; skipping", run_dir)
        return True
    if not resume and any(run_dir.glob("*")):
        raise MetaLinkError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    return False


def fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler, generator: torch.Generator,
        run_dir: Path, *, epochs: int, run_epoch: Callable[[], float], validate: Callable[[], float], metric: str,
        common: dict, resume: bool, progress: bool, desc: str) -> tuple[list[dict], dict]:
    """Train for ``epochs`` epochs (continuing ``last.pt`` with ``resume``), keeping the best validation model.

    Under several ranks (:mod:`.distributed`) every rank runs the same epochs and takes the same
    best-epoch decisions (``validate`` returns the same value everywhere); rank 0 alone writes, and
    every rank resumes from the same ``last.pt`` (which also holds each rank's torch RNG state,
    ``rank_torch_rng``). ``model`` is the plain module, never its DDP
    wrapper, so the checkpoints are those of a single-process run.

    Parameters
    ----------
    run_epoch : callable
        One training epoch; returns its mean loss.
    validate : callable
        The validation score (higher is better; NaN never counts as best).
    metric : str
        Name of the score: history rows hold ``val_<metric>``.
    common : dict
        Saved in both checkpoints (config, task names, split, ...).

    Returns
    -------
    history : list of dict
        One row per epoch: ``epoch``, ``loss``, ``val_<metric>``, ``lr``, ``seconds``.
    best : dict
        ``epoch`` and ``val_<metric>`` of the best epoch (its weights are ``best.pt``).
    """
    world = World.current()
    key = f"val_{metric}"
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    history: list[dict] = []
    best = {"epoch": -1, key: -math.inf}
    if resume and last_path.exists():
        state = load_checkpoint(last_path)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(_rank_rng_state(state, world, last_path))
        history, best = json.loads(state["history"]), json.loads(state["best"])
        log.info("%s: resuming after epoch %d", desc, len(history))
    bar = tqdm(range(len(history), epochs), desc=desc, disable=not progress or not world.main, initial=len(history),
               total=epochs)
    for epoch in bar:
        start = time.perf_counter()
        loss = run_epoch()
        scheduler.step()
        value = validate()
        history.append({"epoch": epoch, "loss": loss, key: value, "lr": scheduler.get_last_lr()[0],
                        "seconds": time.perf_counter() - start})
        improved = (value if not math.isnan(value) else -math.inf) > best[key]
        if improved:
            best = {"epoch": epoch, key: value}
        rng = world.gather({world.rank: torch.get_rng_state()})
        ranks = {"rank_torch_rng": [rng[r] for r in range(world.size)]} if world.size > 1 else {}
        if world.main:
            if improved:
                save_checkpoint(best_path, state_dict=model.state_dict(), epoch=epoch, **common)
            save_checkpoint(last_path, state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
                            scheduler=scheduler.state_dict(), generator=generator.get_state(),
                            torch_rng=torch.get_rng_state(), history=json.dumps(history), best=json.dumps(best),
                            **ranks, **common)
            atomic_write_json(run_dir / "history.json", history)
        bar.set_postfix(loss=f"{loss:.4f}", val=f"{value:.4f}", best=best["epoch"])
    return history, best


def _rank_rng_state(state: dict, world: World, path: Path) -> torch.Tensor:
    """This rank's torch RNG state in a ``last.pt``; it must have been written by as many ranks."""
    states = state.get("rank_torch_rng", [state["torch_rng"]])
    if len(states) != world.size:
        raise MetaLinkError(f"{path} was written by a run of {len(states)} process(es); resume it with as many, "
                            f"not {world.size}")
    return states[world.rank]


def summarize(per_seed: list[dict], metric: str) -> dict:
    """Mean and (sample) std of the validation and test ``metric`` over seeds."""
    def stats(key: str) -> dict:
        values = [m[key] for m in per_seed]
        return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "values": values}

    return {"seeds": [m["seed"] for m in per_seed], "metric": metric, f"test_{metric}": stats(f"test_{metric}"),
            f"val_{metric}": stats(f"val_{metric}"), "best_epochs": [m["best_epoch"] for m in per_seed]}


def seconds_per_epoch(history: list[dict]) -> float:
    """Mean wall time of the epochs in ``history``."""
    return float(np.mean([h["seconds"] for h in history]))
