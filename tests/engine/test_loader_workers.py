"""``--loader-workers``: minibatch inputs built in DataLoader workers give the same run as in-process ones."""

from __future__ import annotations

import json

import torch

from metalink_dgl.engine import TrainConfig, train
from metalink_dgl.engine.loader import batch_inputs, epoch_key


def _run(tmp_path, workers: int) -> tuple[list[dict], dict]:
    out = tmp_path / f"k{workers}"
    train(TrainConfig(dataset="sider", max_molecules=200, epochs=2, hidden=32, batch_size=32, device="cpu",
                      seeds=[0], loader_workers=workers, out=str(out)), progress=False)
    history = [{k: v for k, v in row.items() if k != "seconds"}
               for row in json.loads((out / "seed_0" / "history.json").read_text())]
    metrics = json.loads((out / "seed_0" / "metrics.json").read_text())
    return history, metrics["test"]


def test_two_workers_train_exactly_as_no_worker(tmp_path):
    assert _run(tmp_path, 2) == _run(tmp_path, 0)


class _NoisyBank:
    """An input bank whose training batches draw from torch's global RNG, as image augmentation does."""

    def batch(self, idx, train=False):
        return torch.as_tensor(idx, dtype=torch.float64) + torch.rand(len(idx), dtype=torch.float64)


def test_worker_augmentation_is_seeded_per_minibatch_not_per_worker():
    batches = [torch.arange(i, i + 3) for i in range(0, 15, 3)]
    generator = torch.Generator().manual_seed(0)
    key = epoch_key(generator, rank=0)

    def load(workers: int) -> list[torch.Tensor]:
        return [get() for get in batch_inputs(_NoisyBank(), batches, workers=workers, key=key, pin_memory=False)]

    state = torch.get_rng_state()
    one, two = load(1), load(2)
    assert torch.equal(torch.get_rng_state(), state)  # the main process's RNG is left alone
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    assert all(torch.equal(x.floor(), b.double()) for x, b in zip(one, batches))
    assert len({float(x[0] - x[0].floor()) for x in one}) == len(batches)  # each minibatch its own draw
    assert epoch_key(generator, rank=1) != key
    torch.rand(1, generator=generator)
    assert epoch_key(generator, rank=0) != key  # the next epoch draws other crops
