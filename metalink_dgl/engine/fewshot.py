"""Few-shot image classification with MetaLink (paper section 4.3, Table 4).

Two stages, as Meta-Baseline (Chen et al., 2020):

1. pre-training: the encoder plus a linear classifier over the base classes (the train
   split), standard cross-entropy, ``--pretrain-epochs`` epochs;
2. episodic training: N-way K-shot episodes with Q queries per class. An episode is a
   multi-task block in the meta setting: its N classes are new tasks, the support rows
   reveal their one-hot labels as ``labels`` edges of the knowledge graph, the query rows
   reveal nothing and every (query, class) pair is queried. Class task nodes start from
   their prototype, the mean of the normalised support embeddings. The N logits of a query
   row compete in a cross-entropy (one class per image); the prediction is their argmax.

With ``--layers 0`` and the ``cos`` edge predictor this is exactly Meta-Baseline: a scaled
cosine similarity to the class prototypes. Test accuracy is the mean over a fixed, seeded
set of test episodes, with its 95% confidence interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..checkpoint import load_checkpoint, save_checkpoint
from ..data import ImageBank
from ..data.episodes import FEWSHOT_SPLITS, Episode, FewShotData, load_fewshot, sample_episode
from ..kg.masks import make_masks
from ..kg.settings import SETTINGS
from ..metrics import accuracy_interval
from ..nn import MetaLink
from .block import Block, forward_block
from .config import TrainConfig
from .loop import make_optimizer
from .seed import SeedJob

#: An episode is the meta setting: new (class) tasks, labelled through the support rows only.
EPISODE_SETTING = SETTINGS["meta"]
#: Minibatch size of the pre-training stage (Meta-Baseline's classifier stage uses 128).
PRETRAIN_BATCH = 128


@dataclass
class FewShotPrepared:
    """A few-shot dataset (checked to supply the configured episodes) and its image bank."""

    data: FewShotData
    inputs: ImageBank


def prepare_fewshot(config: TrainConfig) -> FewShotPrepared:
    """Load ``config.data_root`` and check that every split can supply ``--ways`` x (``--shots`` + ``--query``)."""
    data = load_fewshot(config.data_root)
    for name in FEWSHOT_SPLITS:
        data.splits[name].check_episodes(config.ways, config.shots + config.query)
    return FewShotPrepared(data, ImageBank(data.paths, config.image_size))


def episode_logits(model: MetaLink, z: torch.Tensor, episode: Episode) -> torch.Tensor:
    """Class logits of the query rows of one episode.

    Parameters
    ----------
    z : Tensor, (B, D)
        ``model.embed`` of the episode's rows (L2-normalised).
    episode : Episode

    Returns
    -------
    Tensor, (N Q, N)
        Row ``q`` scores the ``q``-th query row of the episode against its N classes.
    """
    N = episode.Y.shape[1]
    masks = make_masks(episode.Y, EPISODE_SETTING, targets=torch.ones(N, dtype=torch.bool),
                       aux=torch.zeros_like(episode.Y, dtype=torch.bool), support=episode.support)
    support_y = episode.Y[episode.support].to(z.device)
    prototypes = support_y.T @ z[episode.support.to(z.device)] / support_y.sum(dim=0)[:, None]  # (N, D)
    logits, _, _ = forward_block(model, Block(z, episode.Y, masks), task_feats=prototypes)
    return logits.view(-1, N)


def pretrain(model: MetaLink, prepared: FewShotPrepared, config: TrainConfig, generator: torch.Generator,
             device: torch.device, progress: bool) -> list[float]:
    """Stage 1: encoder + linear classifier over the base classes; returns the mean loss of each epoch."""
    rows, labels = (torch.from_numpy(a) for a in prepared.data.splits["train"].labelled_rows())
    head = torch.nn.Linear(config.hidden, int(labels.max()) + 1).to(device)
    params = list(model.encoder.parameters()) + list(head.parameters())
    optimizer = make_optimizer(params, config, config.pretrain_lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.pretrain_epochs)
    model.train()
    losses = []
    for _ in tqdm(range(config.pretrain_epochs), desc="pre-train", disable=not progress):
        order = torch.randperm(len(rows), generator=generator)
        total = 0.0
        for start in range(0, len(order), PRETRAIN_BATCH):
            batch = order[start:start + PRETRAIN_BATCH]
            if len(batch) < 2:  # batch norm needs two examples
                continue
            x = prepared.inputs.batch(rows[batch], train=True).to(device)
            loss = F.cross_entropy(head(model.encoder(x)), labels[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss) * len(batch)
        scheduler.step()
        losses.append(total / len(rows))
    return losses


def episodic_epoch(model: MetaLink, prepared: FewShotPrepared, config: TrainConfig,
                   optimizer: torch.optim.Optimizer, generator: torch.Generator, device: torch.device,
                   progress: bool) -> float:
    """Stage 2, one epoch: ``--episodes`` training episodes, ``--batch-size`` per optimizer step.

    The images of a step's episodes go through the encoder together; each episode has its
    own knowledge graph and cross-entropy, averaged over the step. Returns the mean loss.
    """
    model.train()
    split = prepared.data.splits["train"]
    sizes = [min(config.batch_size, config.episodes - s) for s in range(0, config.episodes, config.batch_size)]
    total = 0.0
    for n in tqdm(sizes, desc="episodes", leave=False, disable=not progress):
        episodes = [sample_episode(split, config.ways, config.shots, config.query, generator) for _ in range(n)]
        images = prepared.inputs.batch(torch.cat([e.rows for e in episodes]), train=True).to(device)
        z = model.embed(images).split([len(e.rows) for e in episodes])
        loss = torch.stack([F.cross_entropy(episode_logits(model, zi, e), e.target.to(device))
                            for zi, e in zip(z, episodes)]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss) * n
    return total / config.episodes


def fixed_episodes(prepared: FewShotPrepared, split: str, config: TrainConfig, seed: int) -> list[Episode]:
    """The seeded evaluation episodes of ``split``: every model of a seed is scored on the same ones."""
    generator = torch.Generator().manual_seed(10_007 * seed + (2 if split == "val" else 3))
    return [sample_episode(prepared.data.splits[split], config.ways, config.shots, config.query, generator)
            for _ in range(config.test_episodes)]


@torch.no_grad()
def evaluate_episodes(model: MetaLink, inputs: ImageBank, episodes: list[Episode], device: torch.device) -> dict:
    """Accuracy over ``episodes`` (eval mode, no augmentation) with its 95% interval
    (:func:`metalink_dgl.metrics.accuracy_interval`)."""
    model.eval()
    accuracies = []
    for episode in episodes:
        z = model.embed(inputs.batch(episode.rows).to(device))
        pred = episode_logits(model, z, episode).argmax(dim=1).cpu()
        accuracies.append(float((pred == episode.target).float().mean()))
    return accuracy_interval(accuracies)


def evaluate_fewshot_checkpoint(model: MetaLink, config: TrainConfig, seed: int, device: torch.device) -> dict:
    """Test accuracy of a trained model on the test episodes of ``seed`` (those of its run)."""
    prepared = prepare_fewshot(config)
    return evaluate_episodes(model, prepared.inputs, fixed_episodes(prepared, "test", config, seed), device)


class FewShotJob(SeedJob):
    """One seed of few-shot training: pre-training (kept in ``pretrain.pt``, so ``--resume`` skips a
    finished stage 1), then episodes; validation and test on the seed's fixed episodes."""

    metric = "accuracy"
    loss_name = "cross-entropy (query rows)"

    def __init__(self, config: TrainConfig, prepared: FewShotPrepared, seed: int):
        self.config, self.prepared, self.seed = config, prepared, seed
        self.pretrain_losses: list[float] = []
        self.val_episodes, self.test_episodes = (fixed_episodes(prepared, s, config, seed) for s in ("val", "test"))

    def checkpoint_extras(self) -> dict:
        return dict(task_names=[])

    def before_fit(self, model, generator, run_dir, common, *, resume, device, progress) -> None:
        path = run_dir / "pretrain.pt"
        if resume and path.exists():
            state = load_checkpoint(path)
            model.load_state_dict(state["state_dict"])
            generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            self.pretrain_losses = json.loads(state["history"])
            return
        self.pretrain_losses = pretrain(model, self.prepared, self.config, generator, device, progress)
        save_checkpoint(path, state_dict=model.state_dict(), generator=generator.get_state(),
                        torch_rng=torch.get_rng_state(), history=json.dumps(self.pretrain_losses), **common)

    def run_epoch(self, model, optimizer, generator, device, progress) -> float:
        return episodic_epoch(model, self.prepared, self.config, optimizer, generator, device, progress)

    def validate(self, model, device) -> float:
        return evaluate_episodes(model, self.prepared.inputs, self.val_episodes, device)["accuracy"]

    def test(self, model, device) -> dict:
        return evaluate_episodes(model, self.prepared.inputs, self.test_episodes, device)

    def summary(self, best: dict, test: dict) -> dict:
        config = self.config
        return {"setting": "episodes", "dataset": config.dataset, "metric": "accuracy", "ways": config.ways,
                "shots": config.shots, "query": config.query, "layers": config.layers, "best_epoch": best["epoch"],
                "val_accuracy": best["val_accuracy"], "test_accuracy": test["accuracy"], "test_ci95": test["ci95"],
                "test": test, "pretrain_loss": self.pretrain_losses[-1] if self.pretrain_losses else None}

    def title(self, test: dict) -> str:
        config = self.config
        return (f"{config.ways}-way {config.shots}-shot | L={config.layers} | seed {self.seed} | "
                f"test {100 * test['accuracy']:.1f} ± {100 * test['ci95']:.1f}")
