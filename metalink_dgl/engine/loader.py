"""Encoder inputs of an epoch's minibatches, built in this process or in DataLoader worker processes.

``--loader-workers 0`` (the default) builds each minibatch's input here, when the loop asks
for it: exactly what training did before workers existed. With ``K > 0``, K worker processes
of a :class:`torch.utils.data.DataLoader` build them ahead of the loop, in the epoch's order
(molecule graphs from the bank, images decoded and augmented), pinned in memory on CUDA. The
order itself, and the masks of every minibatch, still come from the main process's seeded
generator, so the result does not depend on K.

Augmentation randomness (:class:`~metalink_dgl.data.images.ImageBank` draws crops from torch's
global RNG) is seeded per minibatch in the worker, from the epoch's generator state, the rank
and the minibatch's position: the same crops for any K >= 1, again after ``--resume``, and no
random number drawn from the main process's streams. (With K = 0 the crops come from the main
process's global RNG as before, so K = 0 and K >= 1 draw different crops of the same images.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset


class _Minibatches(Dataset):
    """Item ``i``: the training input of minibatch ``i``, built with torch's RNG seeded to ``seeds[i]``."""

    def __init__(self, inputs, batches: Sequence[torch.Tensor], seeds: Sequence[int]):
        self.inputs, self.batches, self.seeds = inputs, batches, seeds

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        torch.manual_seed(self.seeds[i])
        return self.inputs.batch(self.batches[i], train=True)


def _as_is(item):
    return item


def epoch_key(generator: torch.Generator, rank: int) -> int:
    """A 63-bit seed fixed by the state of ``generator`` (the run's seeded generator) and ``rank``."""
    digest = hashlib.sha256(generator.get_state().numpy().tobytes() + rank.to_bytes(4, "little")).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def batch_inputs(inputs, batches: Sequence[torch.Tensor], *, workers: int, key: int,
                 pin_memory: bool) -> Iterator[Callable[[], object]]:
    """One loader per minibatch of ``batches``, in order: call it for that minibatch's encoder input.

    Parameters
    ----------
    inputs : MoleculeGraphs or ImageBank
        The input bank (``inputs.batch(idx, train=True)``).
    batches : sequence of LongTensor
        Dataset rows of each minibatch.
    workers : int
        0: build each input here, when its loader is called (a minibatch the loop skips costs
        nothing); K > 0: K worker processes build every input ahead.
    key : int
        Seed of the minibatches' augmentation with workers (:func:`epoch_key`).
    pin_memory : bool
        Pin worker outputs in page-locked memory (CUDA runs).
    """
    if workers == 0:
        for batch in batches:
            yield lambda batch=batch: inputs.batch(batch, train=True)
        return
    seeds = [(key + i) % 2 ** 63 for i in range(len(batches))]
    loader = DataLoader(_Minibatches(inputs, batches, seeds), batch_size=None, num_workers=workers,
                        collate_fn=_as_is, pin_memory=pin_memory, generator=torch.Generator().manual_seed(key))
    for x in loader:
        yield lambda x=x: x
