"""Chunked, parallel, resumable featurization: SMILES -> compact banks, one shard per finished chunk.

The molecules are cut into chunks (:func:`default_chunk_size`), each featurized with dgllife and
encoded compactly (:func:`featurize_chunk`) by ``workers`` processes: this one and a pool of
``workers - 1`` that joins in once it is up. With a cache folder, every finished chunk is written
at once as a shard (a bank folder of :mod:`~metalink_dgl.data.store`, named by chunk size and
index, its manifest holding the cache key and the chunk's range) under ``<bank>.partial/``; a run
that is killed resumes from the shards that check out, and the shards are concatenated into the
final bank (memory maps, RAM does not grow) and then removed.

Pool processes are started with ``forkserver`` (``spawn`` where there is none): one server process
imports torch, DGL, dgllife and RDKit once per Python process (a few seconds, the first time a pool
starts, while this process already featurizes) and forks each worker from that clean state.
``fork`` of a process that may run torch and OpenMP threads is unsafe (Python 3.14 drops it as the
default for that reason), and ``spawn`` re-imports everything in every worker of every pool;
``benchmarks/bench_featurize.py`` times all three.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import shutil
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import MetaLinkError, one_line
from .bank import MoleculeGraphs, concat
from .compact import encode
from .datasets import MoleculeDataset
from .featurizers import get_featurizer
from .molecules import quiet_rdkit
from .store import read_bank, write_bank

logger = logging.getLogger(__name__)

START_METHOD = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


@dataclass(frozen=True)
class Chunk:
    """Molecules ``start:stop`` of a dataset, the ``index``-th chunk of ``size``."""

    index: int
    start: int
    stop: int
    size: int


def default_chunk_size(n: int) -> int:
    """Molecules per chunk for ``n`` molecules: n/16, at least 100 and at most 10,000 (enough chunks to
    spread over workers and to make a resume worth it; few enough to keep the shard count low). It does
    not depend on the number of workers, so a run resumes with any number."""
    return min(10_000, max(100, -(-n // 16)))


def plan_chunks(n: int, size: int) -> list[Chunk]:
    """The chunks of ``n`` molecules, ``size`` each (the last one shorter); one empty chunk if n = 0."""
    if size < 1:
        raise MetaLinkError(f"chunk size {size}: give at least 1 molecule per chunk")
    return [Chunk(i, start, min(start + size, n), size) for i, start in enumerate(range(0, max(n, 1), size))]


def featurize_chunk(featurizer: str, smiles: Sequence[str], source: str, lines: Sequence[int]) -> MoleculeGraphs:
    """The compact bank of ``smiles`` (one molecule each; ``lines``: their file lines in ``source``, for
    errors), featurized with dgllife's ``featurizer``; a one-line :class:`MetaLinkError` naming file
    and line for a SMILES it cannot featurize."""
    spec = get_featurizer(featurizer)
    parts: dict[str, list[np.ndarray]] = {
        **{f"node.{k}": [v.numpy()] for k, v in spec.empty_like("node").items()},
        **{f"edge.{k}": [v.numpy()] for k, v in spec.empty_like("edge").items()},
        "src": [np.zeros(0, np.int64)], "dst": [np.zeros(0, np.int64)]}
    n_nodes, n_edges = [0], [0]
    make = spec.graph_maker()
    with quiet_rdkit():
        for s, line in zip(smiles, lines):
            try:
                g = make(s)
            except Exception as err:  # dgllife raises bare ValueError/AssertionError on odd atoms
                raise MetaLinkError(f"{source}, line {line}: cannot featurize SMILES {s!r} with {spec.name!r} "
                                    f"({type(err).__name__}: {err})") from None
            if g is None:
                raise MetaLinkError(f"{source}, line {line}: RDKit cannot parse SMILES {s!r}")
            src, dst = g.edges()
            parts["src"].append(src.numpy())
            parts["dst"].append(dst.numpy())
            n_nodes.append(g.num_nodes())
            n_edges.append(g.num_edges())
            for kind, data in (("node", g.ndata), ("edge", g.edata)):
                for key in data.keys():  # a molecule without edges has no edge feature at all
                    parts[f"{kind}.{key}"].append(data[key].numpy())
    blocks = {**{f"node.{k}": v for k, v in spec.blocks("node").items()},
              **{f"edge.{k}": v for k, v in spec.blocks("edge").items()}}
    columns = {name: encode(np.concatenate(arrays), blocks.get(name, ())) for name, arrays in parts.items()}
    return MoleculeGraphs.from_columns(columns, np.cumsum(n_nodes, dtype=np.int64),
                                       np.cumsum(n_edges, dtype=np.int64), spec.name)


def build_bank(dataset: MoleculeDataset, featurizer: str, *, workers: int = 1, chunk_size: int | None = None,
               progress: bool = True, directory: Path | None = None, key: str = "") -> MoleculeGraphs:
    """The compact bank of every molecule of ``dataset``, in order.

    Without ``directory``, built in memory. With it, each chunk is written as a shard as it finishes
    (shards of an earlier, interrupted run with the same ``key`` and chunk size are reused), then the
    shards are concatenated into the bank folder ``directory`` and removed; the bank comes back
    memory-mapped. An invalid SMILES raises a one-line :class:`MetaLinkError` and leaves no shards.
    """
    chunks = plan_chunks(len(dataset), chunk_size or default_chunk_size(len(dataset)))
    if directory is None:
        parts: dict[int, MoleculeGraphs] = {}
        _run(dataset, featurizer, chunks, workers, progress, lambda c, bank: parts.__setitem__(c.index, bank))
        return concat([parts[c.index] for c in chunks])
    partial = directory.with_name(directory.name + ".partial")
    done = {c.index: bank for c in chunks if (bank := _load_shard(partial, c, key)) is not None}
    if done:
        logger.info("resuming: %d of %d chunks already featurized in %s", len(done), len(chunks), partial)

    def keep(chunk: Chunk, bank: MoleculeGraphs) -> None:
        path = write_bank(_shard_path(partial, chunk), [bank], _shard_meta(chunk, key))
        done[chunk.index] = read_bank(path, verify=False)[0]

    try:
        _run(dataset, featurizer, [c for c in chunks if c.index not in done], workers, progress, keep)
    except WorkerDied:
        raise  # the machine, not the input: the shards written so far are worth resuming from
    except MetaLinkError:
        shutil.rmtree(partial, ignore_errors=True)  # the input is wrong: nothing of it is worth resuming
        raise
    write_bank(directory, [done[c.index] for c in chunks], {"key": key, "dataset": dataset.name})
    done.clear()
    shutil.rmtree(partial, ignore_errors=True)
    return read_bank(directory, verify=False)[0]


def _run(dataset: MoleculeDataset, featurizer: str, chunks: list[Chunk], workers: int, progress: bool,
         on_done: Callable[[Chunk, MoleculeGraphs], None]) -> None:
    """Featurize ``chunks`` in ``workers`` processes (this one and :class:`_Helpers`) and hand each to
    ``on_done``, in this process, as it finishes, in any order; a tqdm bar counts molecules."""
    tasks = [(featurizer, dataset.smiles[c.start:c.stop], dataset.source, dataset.lines[c.start:c.stop].tolist(), c)
             for c in chunks]
    bar = tqdm(total=sum(c.stop - c.start for c in chunks), desc=f"featurizing {dataset.name} ({featurizer})",
               unit="mol", disable=None if progress else True, leave=False)

    def finish(result: tuple[Chunk, MoleculeGraphs] | BaseException) -> None:
        if isinstance(result, BaseException):
            raise result
        on_done(*result)
        bar.update(len(result[1]))

    with bar:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                finish(_task(task))
            return
        helpers = _Helpers(min(workers, len(tasks)) - 1, tasks)
        try:
            for _ in tasks:
                result = helpers.result(wait=False)
                if result is None:
                    task = helpers.take()
                    result = _task(task) if task is not None else helpers.result(wait=True)
                finish(result)
        finally:
            helpers.close()


class WorkerDied(MetaLinkError):
    """A pool process died (killed by a signal or the out-of-memory killer): the input is not at fault,
    so the shards already written are kept for a rerun to resume from."""


class _Helpers:
    """``n`` pool processes that featurize chunks of ``tasks``, a queue this process takes chunks from too.

    The pool starts in a thread (its start waits for the fork server's imports, the first time in a
    process) and takes chunks once it is up, one at a time per process, so this process never waits
    for it while chunks are left. Results, or the exception of a chunk, come out of :meth:`result`;
    a pool process that dies makes the run fail with :class:`WorkerDied` instead of waiting for it.
    """

    def __init__(self, n: int, tasks: list[tuple]):
        self._pending, self._finished = deque(tasks), queue.SimpleQueue()
        self._lock, self._stopped, self._pool, self._error = threading.Lock(), False, None, None
        self._thread = threading.Thread(target=self._start, args=(n,), daemon=True)
        self._thread.start()

    def take(self) -> tuple | None:
        """The next chunk's task for this process, or None when every chunk is taken."""
        with self._lock:
            return self._pending.popleft() if self._pending and not self._stopped else None

    def result(self, wait: bool) -> tuple[Chunk, MoleculeGraphs] | BaseException | None:
        """A finished chunk of the pool (None if there is none and not ``wait``)."""
        try:
            return self._finished.get(block=wait)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Hand out no more chunks, stop the pool (its running chunks too); raise if it could not start."""
        with self._lock:
            self._stopped = True
        self._thread.join()
        if self._pool is not None:
            processes = list(getattr(self._pool, "_processes", {}).values())  # no public terminate before 3.14
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
        if self._error is not None:
            raise self._error

    def _start(self, n: int) -> None:
        try:
            context = mp.get_context(START_METHOD)
            if START_METHOD == "forkserver":
                context.set_forkserver_preload([__name__])
            pool = ProcessPoolExecutor(n, mp_context=context, initializer=_init_worker)
        except BaseException as err:  # noqa: BLE001 - raised again by close(), in the calling thread
            self._error = err
            return
        self._pool = pool
        for _ in range(n):
            self._submit()

    def _submit(self) -> None:
        with self._lock:
            if not self._pending or self._stopped:
                return
            task = self._pending.popleft()
        try:  # outside the lock: the first submits start the processes, which this process must not wait for
            future = self._pool.submit(_task, task)
        except (BrokenProcessPool, RuntimeError) as err:  # broken, or shut down by close()
            self._finished.put(_died(err))
            return
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self._finished.put(_died(error) if isinstance(error, BrokenProcessPool) else error)
            return
        self._finished.put(future.result())
        self._submit()


def _died(err: BaseException) -> WorkerDied:
    return WorkerDied(f"a featurization worker process died ({one_line(err)}; killed, or out of memory?); the "
                      "chunks already featurized are kept: run again to resume, or use fewer --workers")


def _task(task: tuple[str, list[str], str, list[int], Chunk]) -> tuple[Chunk, MoleculeGraphs]:
    featurizer, smiles, source, lines, chunk = task
    return chunk, featurize_chunk(featurizer, smiles, source, lines)


def _init_worker() -> None:
    torch.set_num_threads(1)  # one process per core already


def _shard_path(partial: Path, chunk: Chunk) -> Path:
    return partial / f"size{chunk.size}-chunk{chunk.index:05d}"


def _shard_meta(chunk: Chunk, key: str) -> dict:
    return {"key": key, "start": chunk.start, "stop": chunk.stop, "size": chunk.size}


def _load_shard(partial: Path, chunk: Chunk, key: str) -> MoleculeGraphs | None:
    """The shard of ``chunk`` if one was written and checks out, else None (a warning if it did not)."""
    path = _shard_path(partial, chunk)
    if not path.exists():
        return None
    try:
        bank, meta = read_bank(path)
        if meta != _shard_meta(chunk, key) or len(bank) != chunk.stop - chunk.start:
            raise ValueError(f"holds {meta}, expected {_shard_meta(chunk, key)}")
        return bank
    except Exception as err:  # noqa: BLE001 - any failure means: featurize this chunk again
        logger.warning("shard %s is corrupt or stale; featurizing its molecules again (%s)", path, one_line(err))
        return None
