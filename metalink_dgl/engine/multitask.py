"""The multi-task stage: molecules or COCO images in one of the four settings.

For a seed it fixes the split, the evaluation draw (:class:`~metalink_dgl.kg.EvalDraw`) and the
standardisation of continuous labels (train fold only, :class:`~metalink_dgl.data.scaling.LabelScaler`),
writes the first two as ``split.json`` and ``draw.json``, trains on random minibatches whose masks the
setting draws afresh (:func:`~metalink_dgl.kg.draw_episode`), and scores validation and test
rows under the fixed draw. :func:`~metalink_dgl.engine.seed.run_seed` does the rest.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data.scaling import LabelScaler
from ..errors import MetaLinkError
from ..kg.eval_draw import EvalDraw
from ..kg.masks import Masks, draw_episode, keep_informed
from ..kg.settings import Setting, get_setting
from .block import Block, as_rows, forward_block
from .build import Prepared
from .config import TrainConfig
from .distributed import World, wrap
from .evaluate import evaluate
from .loader import batch_inputs, epoch_key
from .loss import label_loss, shard_loss
from .seed import SeedJob
from .support_bank import SupportBank


class BlockStep(torch.nn.Module):
    """One training step's forward as a module: encoder inputs -> ``model.embed`` -> :func:`forward_block`.

    It holds ``model`` and no parameters of its own; a data-parallel run wraps it in DDP
    (:func:`~metalink_dgl.engine.distributed.wrap`), whose gradient hooks need the forward to go
    through a module call.
    """

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, Y: torch.Tensor, masks: Masks, continuous: torch.Tensor | None = None,
                support_z: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x``: encoder input of the B rows (on the model's device); ``support_z`` (S, D): embeddings
        of S support rows placed before them (``--episode-shots``), if any; ``Y`` (S + B, T) and
        ``masks`` as :class:`Block`. Returns :func:`forward_block`'s logits (Q,), rows and tasks (Q,)."""
        z = self.model.embed(x)
        if support_z is not None:
            z = torch.cat([support_z, z])
        return forward_block(self.model, Block(z, Y, masks, continuous))


def train_epoch(model: torch.nn.Module, inputs, Y: torch.Tensor, rows: torch.Tensor, setting: Setting,
                seen: torch.Tensor, config: TrainConfig, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                device: torch.device, progress: bool, continuous: torch.Tensor | None = None,
                step: torch.nn.Module | None = None) -> float:
    """One pass over ``rows`` in random (augmented, for images) minibatches; returns the mean loss
    (:func:`~metalink_dgl.engine.loss.label_loss`) over queried pairs.

    ``inputs`` is the input bank and ``Y`` (N, T) the labels in model units (continuous ones
    standardised, :class:`~metalink_dgl.data.scaling.LabelScaler`); ``continuous`` (T,) marks
    the continuous tasks (None: all binary). The minibatch masks are those of
    ``model.training_setting(setting)`` (the setting itself for MetaLink; Baseline++ trains a
    plain classifier on the seen tasks). ``step`` is ``BlockStep(model)``, DDP-wrapped in a
    data-parallel run. With ``config.episode_shots`` (meta settings) each episode's support set
    is drawn from all of ``rows`` (:class:`~metalink_dgl.engine.support_bank.SupportBank`,
    embedded as ``config.episode_embed`` says) and every minibatch row is a query.

    With W ranks (:mod:`.distributed`) a minibatch is ``W * batch_size`` rows: every rank draws
    the same order and the same masks from ``generator`` (so every rank skips the same
    minibatches and the generators stay equal), the order is padded with its own first rows to
    whole minibatches (every rank takes the same number of steps; the padded rows are trained
    twice that epoch), and rank ``r`` embeds the ``r``-th ``batch_size`` rows, builds their
    knowledge graph (after the episode's support rows, if drawn from ``rows``) and backpropagates
    its share of the minibatch loss (:func:`~metalink_dgl.engine.loss.shard_loss`).
    """
    world = World.current()
    step = BlockStep(model) if step is None else step
    model.train()
    setting = model.training_setting(setting)
    bank = (SupportBank(model, inputs, Y, rows, shots=config.episode_shots, embed=config.episode_embed,
                        batch_size=config.batch_size, device=device, source="--episode-shots")
            if config.episode_shots is not None and setting.meta else None)
    order = rows[torch.randperm(len(rows), generator=generator)]
    size = config.batch_size * world.size
    if world.size > 1:
        order = order[torch.arange(-(-len(order) // size) * size) % len(order)]
    batches = [order[i:i + size] for i in range(0, len(order), size)]
    part = slice(world.rank * config.batch_size, (world.rank + 1) * config.batch_size)
    part = part if world.size > 1 else slice(None)
    loaders = batch_inputs(inputs, [b[part] for b in batches], workers=config.loader_workers,
                           key=epoch_key(generator, world.rank), pin_memory=device.type == "cuda")
    total, count = 0.0, 0
    for batch, load in tqdm(zip(batches, loaders), total=len(batches), desc="train", leave=False,
                            disable=not progress or not world.main):
        if len(batch) < 2:  # batch norm needs two examples
            continue
        Yb = Y[batch]
        episode = draw_episode(len(batch), setting, seen, aux_ratio=config.aux_ratio,
                               heldout_ratio=config.heldout_ratio, generator=generator,
                               support_ratio=None if bank is not None else config.support_ratio,
                               episode_heads=config.episode_heads)
        support = None if bank is None else bank.draw(episode.targets, batch, generator)
        S = 0 if support is None else len(support)
        if support is not None:
            Yb = torch.cat([support.Y, Yb])
        masks = episode.masks(Yb, setting, S)
        if config.episode_query == "informed":
            masks = keep_informed(Yb, masks)
        if not masks.queried.any():
            continue
        keep = torch.cat([torch.arange(S), S + torch.arange(len(batch))[part]])  # the support, then my rows
        mine = Masks(masks.revealed[keep], masks.queried[keep], masks.new_tasks)
        logits, r, t = step(load().to(device), Yb[keep], mine, continuous, None if support is None else support.z)
        target, kinds = Yb[keep][r, t].to(device), None if continuous is None else continuous[t].to(device)
        if world.size == 1:
            loss, pairs = label_loss(logits, target, kinds), len(r)
            reported = float(loss)
        else:
            n_continuous = 0 if continuous is None else int(masks.queried[:, continuous].sum())
            pairs = int(masks.queried.sum())
            loss = shard_loss(logits, target, kinds, n_binary=pairs - n_continuous, n_continuous=n_continuous,
                              world_size=world.size)
            reported = float(loss) / world.size  # summed over the ranks below: the minibatch's label_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += reported * pairs
        count += pairs
    world.sync_buffers(model)
    return world.sum(total) / max(count, 1)


class MultitaskJob(SeedJob):
    """One seed of multi-task training on ``data``; its split and draw are fixed on creation."""

    def __init__(self, config: TrainConfig, data: Prepared, seed: int):
        self.config, self.data, self.seed = config, data, seed
        self.setting = get_setting(config.setting)
        self.metric = data.metric
        self.task_names = data.dataset.task_names
        self.n_tasks = len(self.task_names)
        self.split = data.dataset.make_split(config.split, seed)
        self.draw = EvalDraw.create(data.Y, self.split, self.setting, seed=seed, aux_ratio=config.aux_ratio,
                                    heldout_ratio=config.heldout_ratio, shots=config.shots,
                                    heldout_pick=config.heldout_tasks, source=data.dataset.source,
                                    aux_tasks=config.aux_tasks)
        self.seen = ~self.draw.heldout
        self.train_rows = as_rows(self.split.train)
        world = World.current()
        if world.size > len(self.train_rows):
            raise MetaLinkError(f"{world.size} processes but only {len(self.train_rows)} training rows: start at most "
                                f"{len(self.train_rows)} (torchrun --nproc-per-node x --nnodes)")
        self.step: torch.nn.Module | None = None
        self.scaler = LabelScaler.fit(data.Y, self.train_rows, data.continuous)
        self.Y = self.scaler.transform(data.Y)
        self.continuous = self.scaler.any_continuous

    def write_inputs(self, run_dir: Path) -> None:
        self.split.to_json(run_dir / "split.json")
        self.draw.to_json(run_dir / "draw.json", self.task_names, self.split, self.data.Y)

    def checkpoint_extras(self) -> dict:
        return dict(task_names=self.task_names, draw=self.draw.state(), scaler=self.scaler.state(),
                    split={name: as_rows(getattr(self.split, name)) for name in ("train", "val", "test")})

    def before_fit(self, model, generator, run_dir, common, *, resume, device, progress) -> None:
        # Measured: a step leaves the knowledge-graph layers without gradient when its rows reveal no
        # label (standard setting, or a rank's slice without one); every other parameter always has one.
        self.step = wrap(BlockStep(model), find_unused_parameters=self.config.layers > 0)

    def run_epoch(self, model, optimizer, generator, device, progress) -> float:
        return train_epoch(model, self.data.inputs, self.Y, self.train_rows, self.setting, self.seen, self.config,
                           optimizer, generator, device, progress, self.scaler.edge_continuous, step=self.step)

    def _score(self, model, name: str, device: torch.device) -> dict:
        return evaluate(model, self.data.inputs, self.Y, getattr(self.split, name), self.draw.aux[name],
                        self.setting, self.draw, self.task_names, batch_size=self.config.batch_size, device=device,
                        metric=self.metric, scaler=self.scaler)

    def validate(self, model, device) -> float:
        return self._score(model, "val", device)[self.metric]

    def test(self, model, device) -> dict:
        return self._score(model, "test", device)

    def summary(self, best: dict, test: dict) -> dict:
        metric = self.metric
        return {"setting": self.config.setting, "dataset": self.data.dataset.name, "split": self.split.kind,
                "metric": metric, "best_epoch": best["epoch"], f"val_{metric}": best[f"val_{metric}"],
                f"test_{metric}": test[metric], "test": test}

    def title(self, test: dict) -> str:
        return (f"{self.data.dataset.name} | {self.config.setting} | L={self.config.layers} | seed {self.seed} | "
                f"test {test[self.metric]:.3f}")
