"""The seed skeleton: one seeded run of any stage into ``<out>/seed_<k>/``.

:func:`run_seed` owns what every run does, in this order: skip a finished run (``--resume``)
or refuse to overwrite one, seed torch, let the stage draw what the seed fixes (split, draw,
episodes; bad input fails here, before anything is written), write ``config.json`` and the
stage's inputs, build the model, let the stage prepare it (few-shot pre-training), run
:func:`~metalink_dgl.engine.loop.fit`, reload ``best.pt``, test, and write ``metrics.json``
and ``history.png``. A stage (:class:`SeedJob`) says only what differs: multi-task minibatches
(:mod:`.multitask`) or few-shot episodes (:mod:`.fewshot`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import __version__
from ..checkpoint import load_checkpoint
from ..io import atomic_write_json
from ..plots import plot_history
from .build import build_model
from .config import TrainConfig
from .distributed import World
from .loop import check_run_dir, fit, make_optimizer, seconds_per_epoch


class SeedJob:
    """What one stage does for one seed; :func:`run_seed` calls these in order.

    Attributes
    ----------
    metric : str
        The validation and test metric (a key of :data:`metalink_dgl.metrics.METRICS` or
        ``"accuracy"``).
    n_tasks : int
        Task heads of the model.
    continuous : bool
        Some task is continuous (the model's edge label feature is wider).
    loss_name : str
        The loss, for the history plot.
    """

    metric: str = "roc_auc"
    n_tasks: int = 0
    continuous: bool = False
    loss_name: str = "BCE (queried pairs)"

    def write_inputs(self, run_dir: Path) -> None:
        """Write what the seed fixed (split, draw) into ``run_dir``."""

    def checkpoint_extras(self) -> dict:
        """Saved in both checkpoints besides the config and the seed."""
        return {}

    def before_fit(self, model: torch.nn.Module, generator: torch.Generator, run_dir: Path, common: dict, *,
                   resume: bool, device: torch.device, progress: bool) -> None:
        """Prepare the model before the epochs (nothing by default)."""

    def run_epoch(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                  device: torch.device, progress: bool) -> float:
        """One training epoch; returns its mean loss."""
        raise NotImplementedError

    def validate(self, model: torch.nn.Module, device: torch.device) -> float:
        """The validation score (higher is better)."""
        raise NotImplementedError

    def test(self, model: torch.nn.Module, device: torch.device) -> dict:
        """The test result: a dict holding at least ``self.metric``."""
        raise NotImplementedError

    def summary(self, best: dict, test: dict) -> dict:
        """The body of ``metrics.json`` (between ``seed`` and ``seconds_per_epoch``)."""
        raise NotImplementedError

    def title(self, test: dict) -> str:
        """Title of ``history.png``."""
        raise NotImplementedError


def run_seed(config: TrainConfig, seed: int, run_dir: Path, start, device: torch.device, *, resume: bool = False,
             progress: bool = True) -> dict:
    """Train and test one seed into ``run_dir``; returns the contents of its ``metrics.json``.

    Parameters
    ----------
    start : callable
        ``seed -> SeedJob``: draws everything the seed fixes; may raise on bad input, before
        anything is written.
    device : torch.device
        Where the model trains (this rank's device in a data-parallel run, where every rank
        calls this and rank 0 alone writes files).
    """
    world = World.current()
    metrics_path = run_dir / "metrics.json"
    finished = check_run_dir(run_dir, resume)
    world.barrier()  # every rank has looked before rank 0 writes
    if finished:
        return json.loads(metrics_path.read_text())
    torch.manual_seed(seed)
    job: SeedJob = start(seed)
    if world.main:
        run_dir.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves nothing behind
        atomic_write_json(run_dir / "config.json", {**config.to_dict(), "seed": seed, "version": __version__})
        job.write_inputs(run_dir)

    model = build_model(config, job.n_tasks, pretrained=True, continuous=job.continuous).to(device)
    generator = torch.Generator().manual_seed(seed)
    common = dict(config=config.to_dict(), seed=seed, **job.checkpoint_extras())
    job.before_fit(model, generator, run_dir, common, resume=resume, device=device, progress=progress)
    optimizer = make_optimizer(model.parameters(), config, config.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    history, best = fit(
        model, optimizer, scheduler, generator, run_dir, epochs=config.epochs, metric=job.metric, common=common,
        run_epoch=lambda: job.run_epoch(model, optimizer, generator, device, progress),
        validate=lambda: job.validate(model, device), resume=resume, progress=progress, desc=f"seed {seed}")

    world.barrier()  # rank 0 has written best.pt
    model.load_state_dict(load_checkpoint(run_dir / "best.pt")["state_dict"])
    test = job.test(model, device)
    metrics = {"seed": seed, **job.summary(best, test), "seconds_per_epoch": seconds_per_epoch(history)}
    if world.main:
        atomic_write_json(metrics_path, metrics)
        plot_history(history, run_dir / "history.png", job.title(test), job.metric, loss=job.loss_name)
    world.barrier()  # the run's files are written when any rank returns
    return metrics
