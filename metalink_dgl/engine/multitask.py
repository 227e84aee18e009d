"""The multi-task stage: molecules or COCO images in one of the four settings.

For a seed it fixes the split, the evaluation draw (:class:`~metalink_dgl.kg.EvalDraw`) and the
standardisation of continuous labels (train fold only, :class:`~metalink_dgl.data.scaling.LabelScaler`),
writes the first two as ``split.json`` and ``draw.json``, trains on random minibatches whose masks the
setting draws afresh (:func:`~metalink_dgl.kg.training_masks`), and scores validation and test
rows under the fixed draw. :func:`~metalink_dgl.engine.seed.run_seed` does the rest.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data.scaling import LabelScaler
from ..kg.eval_draw import EvalDraw
from ..kg.masks import training_masks
from ..kg.settings import Setting, get_setting
from .block import Block, as_rows, forward_block
from .build import Prepared
from .config import TrainConfig
from .evaluate import evaluate
from .loss import label_loss
from .seed import SeedJob


def train_epoch(model: torch.nn.Module, inputs, Y: torch.Tensor, rows: torch.Tensor, setting: Setting,
                seen: torch.Tensor, config: TrainConfig, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                device: torch.device, progress: bool, continuous: torch.Tensor | None = None) -> float:
    """One pass over ``rows`` in random (augmented, for images) minibatches; returns the mean loss
    (:func:`~metalink_dgl.engine.loss.label_loss`) over queried pairs.

    ``inputs`` is the input bank and ``Y`` (N, T) the labels in model units (continuous ones
    standardised, :class:`~metalink_dgl.data.scaling.LabelScaler`); ``continuous`` (T,) marks
    the continuous tasks (None: all binary). The minibatch masks are those of
    ``model.training_setting(setting)`` (the setting itself for MetaLink; Baseline++ trains a
    plain classifier on the seen tasks).
    """
    model.train()
    setting = model.training_setting(setting)
    order = rows[torch.randperm(len(rows), generator=generator)]
    total, count = 0.0, 0
    batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
    for batch in tqdm(batches, desc="train", leave=False, disable=not progress):
        if len(batch) < 2:  # batch norm needs two examples
            continue
        Yb = Y[batch]
        masks = training_masks(Yb, setting, seen, aux_ratio=config.aux_ratio, heldout_ratio=config.heldout_ratio,
                               support_ratio=config.support_ratio, generator=generator,
                               episode_heads=config.episode_heads)
        if not masks.queried.any():
            continue
        block = Block(model.embed(inputs.batch(batch, train=True).to(device)), Yb, masks, continuous)
        logits, r, t = forward_block(model, block)
        loss = label_loss(logits, Yb[r, t].to(device), None if continuous is None else continuous[t].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss) * len(r)
        count += len(r)
    return total / max(count, 1)


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
                                    heldout_pick=config.heldout_tasks, source=data.dataset.source)
        self.seen = ~self.draw.heldout
        self.train_rows = as_rows(self.split.train)
        self.scaler = LabelScaler.fit(data.Y, self.train_rows, data.continuous)
        self.Y = self.scaler.transform(data.Y)
        self.continuous = self.scaler.any_continuous

    def write_inputs(self, run_dir: Path) -> None:
        self.split.to_json(run_dir / "split.json")
        self.draw.to_json(run_dir / "draw.json", self.task_names, self.split, self.data.Y)

    def checkpoint_extras(self) -> dict:
        return dict(task_names=self.task_names, draw=self.draw.state(), scaler=self.scaler.state(),
                    split={name: as_rows(getattr(self.split, name)) for name in ("train", "val", "test")})

    def run_epoch(self, model, optimizer, generator, device, progress) -> float:
        return train_epoch(model, self.data.inputs, self.Y, self.train_rows, self.setting, self.seen, self.config,
                           optimizer, generator, device, progress, self.scaler.edge_continuous)

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
