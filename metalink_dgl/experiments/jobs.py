"""One job of an experiment: train a run, or score a trained run at another test setting.

A job is a JSON-able spec, run in this process (:func:`run_job`) or in a child process::

    python -m metalink_dgl.experiments.jobs '<spec as JSON>'

so that ``--jobs J`` can run J of them side by side. Training goes through
:func:`metalink_dgl.engine.train` with ``resume=True`` (an interrupted run continues
from its ``last.pt``); scoring through :func:`metalink_dgl.engine.evaluate_checkpoint`.
A training job holds a lock on its run while it trains, so two grids sharing ``--runs`` (or
a grid restarted while the children of a killed one still train) never train one run twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import torch

from ..engine.config import TrainConfig
from ..engine.distributed import launch_rank
from ..engine.run import evaluate_checkpoint, train
from ..errors import MetaLinkError
from ..io import atomic_write_json
from ..provenance import provenance
from .selection import scores

#: Written by a finished training job next to ``metrics.json``: wall time, commit, machine, command.
RUN_RECORD = "run.json"


def train_spec(config: TrainConfig, seed: int, command: str = "") -> dict:
    """Spec of a training job: one seed of ``config`` into ``config.out/seed_<seed>``."""
    return {"kind": "train", "config": {**config.to_dict(), "seeds": [seed]}, "command": command}


def evaluate_spec(checkpoint: Path, sweep: str, values: dict[float, Path], device: str = "auto") -> dict:
    """Spec of a scoring job: ``checkpoint`` on its test split with ``sweep=value`` for each value,
    each result written to its path in ``values``."""
    return {"kind": "evaluate", "checkpoint": str(checkpoint), "sweep": sweep,
            "values": [[v, str(out)] for v, out in values.items()], "device": device}


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir`` (a file beside it, ``.<name>.lock``) for the block.

    The operating system drops the lock when the process ends, however it ends, so a killed
    run never leaves a stale one; a block that ends removes the file. Raises
    :class:`MetaLinkError` if another process holds it. Where advisory file locks do not exist
    (Windows), nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    path = run_dir.parent / f".{run_dir.name}.lock"
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise MetaLinkError(f"{run_dir} is being trained by another process (pid {holder}); "
                                "run the grid again once it has finished") from None
        if _same_file(handle, path):
            break
        handle.close()  # its holder removed the file between our open and our lock: lock the new one
    try:
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)  # while still locked, so nobody can lock the removed file and go on
        handle.close()


def _same_file(handle: IO[str], path: Path) -> bool:
    """Whether the open ``handle`` is still the file at ``path``."""
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def run_job(spec: dict) -> dict:
    """Run one job in this process; returns a short result for the progress line."""
    start = time.perf_counter()
    if spec["kind"] == "train":
        config = TrainConfig.from_dict(spec["config"])
        run_dir = Path(config.out) / f"seed_{config.seeds[0]}"
        with run_lock(run_dir) if launch_rank() == 0 else contextlib.nullcontext():  # torchrun: rank 0 locks
            finished_elsewhere = (run_dir / "metrics.json").is_file()  # by a grid that held the lock before
            train(config, resume=True, progress=False)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        if not finished_elsewhere and launch_rank() == 0:
            atomic_write_json(run_dir / RUN_RECORD, {
                "command": spec.get("command", ""), "wall_seconds": time.perf_counter() - start,
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "torch_threads": torch.get_num_threads(), **provenance()})
        val, test = scores(metrics)
        return {"test": test, "val": val}
    if spec["kind"] == "evaluate":
        values = {}
        for value, out in spec["values"]:
            result = evaluate_checkpoint(spec["checkpoint"], device=spec["device"], **{spec["sweep"]: value})
            atomic_write_json(Path(out), {**result, spec["sweep"]: value, "checkpoint": Path(spec["checkpoint"]).name,
                                          "wall_seconds": time.perf_counter() - start, **provenance()})
            values[f"{value:g}"] = result[result["metric"]]
            start = time.perf_counter()
        return values
    raise MetaLinkError(f"unknown job kind {spec['kind']!r}")


def main(argv: list[str] | None = None) -> int:
    """Child-process entry: run the spec in ``argv[0]``; exit 1 with one ``Error:`` line on bad input."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s", stream=sys.stdout)
    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(max(1, int(os.environ["OMP_NUM_THREADS"])))
    try:
        result = run_job(json.loads(argv[0]))
        if launch_rank() == 0:  # one result line for the runner, also under torchrun
            print(json.dumps(result))
    except MetaLinkError as err:
        print(f"Error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
