"""Data-parallel runs under torchrun: the process group, the DDP wrapper and the collectives the engine uses.

``torchrun --nproc-per-node N -m metalink_dgl train ...`` starts N processes (ranks) with
``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` in their environment. :func:`start` joins them into one
process group (gloo on CPU, NCCL on CUDA with rank ``r`` on ``cuda:LOCAL_RANK``);
:meth:`World.current` then tells the engine which rank it is. Without torchrun (or with one
process) nothing here does anything: the world is one rank, :func:`wrap` returns the module
itself and every collective is the identity, so a single-process run computes exactly what it
computed before this module existed.

What the engine does with it: every rank draws the same epoch order and the same masks and
trains on its own slice of each minibatch (:mod:`.multitask`), DDP averages the gradients,
each rank scores a share of the evaluation blocks and :meth:`World.gather` puts them back in
order (:mod:`.evaluate`), and only rank 0 writes files (:mod:`.loop`, :mod:`.seed`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..device import resolve_device
from ..errors import MetaLinkError

T = TypeVar("T")


def launched() -> bool:
    """Whether this process is one of several started by torchrun (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch_rank() -> int:
    """The rank torchrun gave this process (0 without torchrun); known before :func:`start`."""
    return int(os.environ.get("RANK", "0"))


@dataclass(frozen=True)
class World:
    """The processes of a run: ``size`` ranks, this one being ``rank``."""

    rank: int = 0
    size: int = 1

    @classmethod
    def current(cls) -> World:
        """The initialised process group's world, else one rank."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes files and shows progress."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (nothing with one)."""
        if self.size > 1:
            dist.barrier()

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (say, filling a disk cache), the other ranks after it."""
        if not self.main:
            self.barrier()
        yield
        if self.main:
            self.barrier()

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's items: ``items[rank::size]``."""
        return list(items[self.rank::self.size])

    def gather(self, parts: dict) -> dict:
        """Every rank's ``parts`` merged into one dict, the same on every rank (keys must not collide)."""
        if self.size == 1:
            return parts
        gathered: list[dict] = [{} for _ in range(self.size)]
        dist.all_gather_object(gathered, parts)
        return {k: v for part in gathered for k, v in part.items()}

    def sum(self, value: float) -> float:
        """``value`` summed over the ranks (float64)."""
        if self.size == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(total)
        return float(total)

    def sync_buffers(self, module: torch.nn.Module) -> None:
        """Give every rank rank 0's buffers (batch-norm running statistics, which each rank updates on its own rows)."""
        for buffer in module.buffers() if self.size > 1 else ():
            dist.broadcast(buffer, 0)


def start(device: str) -> tuple[World, torch.device]:
    """Join torchrun's process group if this process is one of several; returns the world and this rank's device.

    ``device`` is ``--device``: ``auto``/``cuda`` put rank ``r`` on ``cuda:LOCAL_RANK`` (NCCL)
    when torch and DGL have CUDA, ``cpu`` uses gloo. A second call (another ``train`` in the same
    process) reuses the group.
    """
    resolved = resolve_device(device)
    if not launched():
        return World.current(), resolved
    if resolved.type == "cuda":
        resolved = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if resolved.index >= torch.cuda.device_count():
            raise MetaLinkError(f"LOCAL_RANK {resolved.index} has no GPU: this node has {torch.cuda.device_count()}; "
                                "start at most that many processes per node (--nproc-per-node)")
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    return World.current(), resolved


def stop() -> None:
    """Leave the process group joined by :func:`start` (nothing without torchrun)."""
    if launched() and dist.is_initialized():
        dist.barrier()  # no rank leaves while another still talks to the group
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, *, find_unused_parameters: bool) -> torch.nn.Module:
    """``module`` in :class:`~torch.nn.parallel.DistributedDataParallel` when there are several ranks, else itself.

    ``find_unused_parameters`` must be True when a step may leave a parameter without a
    gradient on some rank (the knowledge-graph layers on a slice that reveals no label).
    Inputs are not moved (``device_ids=None``): the caller puts them on the module's device.
    """
    if World.current().size == 1:
        return module
    return DistributedDataParallel(module, device_ids=None, find_unused_parameters=find_unused_parameters)
