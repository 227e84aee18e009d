"""Run an experiment's grid: skip finished runs, train the rest (``jobs`` at a time), then score sweeps.

A run is finished iff its ``metrics.json`` exists; finished runs are skipped without loading
any data, so a grid stopped at any point continues where it was on the next call. With
``jobs > 1`` every job is a child process (``python -m metalink_dgl.experiments.jobs``) with
``OMP_NUM_THREADS = max(1, cpu_count // jobs)`` (or the caller's ``OMP_NUM_THREADS``); with
``nproc_per_node`` N every training job is N torchrun processes (cores // (jobs * N) threads each); a failed
job keeps its log, the others go on, and the outcome lists the failures. A SIGTERM to the grid
stops its running children too (they resume from their ``last.pt`` on the next call).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..engine.build import prepare_data
from ..engine.config import TrainConfig
from ..errors import MetaLinkError
from .grid import Experiment, Run
from .jobs import evaluate_spec, run_job, train_spec
from .naming import NOT_IDENTITY
from .selection import choose, eval_path, group_runs

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    label: str
    spec: dict
    log: Path


@dataclass
class Outcome:
    """What a call did: runs skipped as finished, jobs done, jobs failed ``(label, message, log)``."""

    skipped: int = 0
    done: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def run_experiment(experiment: Experiment, runs_dir: str | Path, *, jobs: int = 1, command: str = "",
                   echo: Callable[[str], None] | None = None, progress: bool = True,
                   kept: Collection[tuple] = (), nproc_per_node: int = 1) -> Outcome:
    """Train every unfinished run of ``experiment`` under ``runs_dir``, then its ``evaluate`` sweeps.

    ``nproc_per_node`` > 1 trains each run data-parallel on that many processes of this machine
    (``python -m torch.distributed.run --standalone --nproc-per-node N``, :mod:`metalink_dgl.engine.distributed`).

    ``kept``: ``(dataset, setting, method, seed)`` keys whose results are kept from an earlier
    results file (:func:`~metalink_dgl.experiments.kept.kept_results`); their runs are not trained.
    """
    echo = echo or tqdm.write
    runs = experiment.runs(runs_dir)
    check_existing(runs)
    n_kept = sum(not r.finished and (*r.cell, r.seed) in kept for r in runs)
    todo = [r for r in runs if not r.finished and (*r.cell, r.seed) not in kept]
    outcome = Outcome(skipped=len(runs) - len(todo) - n_kept)
    echo(f"{experiment.name}: {len(runs)} runs, {outcome.skipped} finished (skipped), "
         + (f"{n_kept} of seeds kept from the results file (not trained), " if n_kept else "")
         + f"{len(todo)} to train")
    if jobs > 1 or nproc_per_node > 1:
        _warm_cache([r.config for r in todo])
    train_jobs = [Job(r.label, train_spec(r.config, r.seed, command), Path(r.config.out) / f"seed_{r.seed}.log")
                  for r in todo]
    execute(train_jobs, outcome, parallel=jobs, echo=echo, progress=progress, desc=f"{experiment.name} train",
            nproc_per_node=nproc_per_node)
    sweep_jobs = evaluation_jobs(experiment, runs)
    if sweep_jobs:
        echo(f"{experiment.name}: test-time sweeps of {len(sweep_jobs)} chosen runs to score")
        execute(sweep_jobs, outcome, parallel=jobs, echo=echo, progress=progress, desc=f"{experiment.name} sweep")
    return outcome


def evaluation_jobs(experiment: Experiment, runs: list[Run]) -> list[Job]:
    """Scoring jobs for the chosen run of every finished (cell, seed) whose result is not cached yet."""
    jobs = []
    for candidates in group_runs(runs).values():
        chosen = choose(candidates)
        if chosen is None:
            continue
        run = chosen[0]
        for sweep, values in experiment.evaluate.items():
            todo = {v: eval_path(run, sweep, v) for v in values if not eval_path(run, sweep, v).is_file()}
            if todo:
                spec = evaluate_spec(run.dir / "best.pt", sweep, todo, run.config.device)
                label = f"{run.label} {sweep} x{len(todo)}"
                jobs.append(Job(label, spec, run.dir / f"eval_{sweep}.log"))
    return jobs


def check_existing(runs: list[Run]) -> None:
    """Refuse to resume or skip a directory whose run was made with other options (say, older defaults)."""
    for run in runs:
        path = run.dir / "config.json"
        if not path.is_file():
            continue
        stored = json.loads(path.read_text())
        defaults = TrainConfig().to_dict()
        wanted = {k: v for k, v in run.config.to_dict().items() if k not in NOT_IDENTITY}
        differ = sorted(k for k, v in wanted.items() if stored.get(k, defaults[k]) != v)
        if differ:
            shown = ", ".join(f"{k}={stored.get(k)!r} (wanted {wanted[k]!r})" for k in differ)
            raise MetaLinkError(f"{run.dir} holds a run made with other options: {shown}; "
                                "move it away or choose another --runs")


def execute(jobs: list[Job], outcome: Outcome, *, parallel: int = 1, echo: Callable[[str], None],
            progress: bool = True, desc: str = "jobs", nproc_per_node: int = 1) -> None:
    """Run ``jobs`` (``parallel`` at a time, each on ``nproc_per_node`` torchrun processes) with a line per
    start and end and an overall bar."""
    if not jobs:
        return
    threads = threads_per_job(parallel * nproc_per_node)
    children = _Children()
    run = (_in_process if parallel == nproc_per_node == 1
           else partial(_child, children=children, nproc_per_node=nproc_per_node))
    lock = threading.Lock()
    bar = tqdm(total=len(jobs), desc=desc, unit="job", disable=not progress, file=sys.stderr)

    def one(index: int, job: Job) -> None:
        tag = f"[{index + 1}/{len(jobs)}] {job.label}"
        with lock:
            echo(f"start {tag}")
        start = time.perf_counter()
        ok, message = run(job, threads)
        seconds = time.perf_counter() - start
        with lock:
            if ok:
                outcome.done += 1
                echo(f"done  {tag} in {seconds:.1f} s ({message})")
            else:
                outcome.failed.append((job.label, message, str(job.log)))
                echo(f"FAIL  {tag} after {seconds:.1f} s: {message} (log: {job.log})")
            bar.update(1)

    try:
        if parallel == 1:
            for index, job in enumerate(jobs):
                one(index, job)
        else:
            pool = ThreadPoolExecutor(parallel)
            try:
                with _stop_children_on_sigterm(children):
                    for future in [pool.submit(one, i, job) for i, job in enumerate(jobs)]:
                        future.result()
            finally:  # on Ctrl-C or SIGTERM, start no further job (the running children are stopped too)
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()


class _Children:
    """The child processes of the running jobs, so that a SIGTERM to the grid can stop them."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def run(self, args: list[str], **popen) -> int:
        """Run ``args`` to completion (like :func:`subprocess.run`); returns the exit code."""
        with subprocess.Popen(args, **popen) as process:
            with self._lock:
                self._running.add(process)
                if self._stopped:  # started while the others were being stopped
                    process.terminate()
            try:
                return process.wait()
            finally:
                with self._lock:
                    self._running.discard(process)

    def terminate(self) -> None:
        """Stop every running child, and any child started from now on."""
        with self._lock:
            self._stopped = True
            for process in self._running:
                process.terminate()


@contextlib.contextmanager
def _stop_children_on_sigterm(children: _Children) -> Iterator[None]:
    """While in the block, a SIGTERM terminates ``children`` and then this process (exit code 143).

    Without it a killed grid leaves its children training. Only the main thread can set a
    signal handler; elsewhere (a grid run from a worker thread) the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame) -> None:
        children.terminate()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def threads_per_job(parallel: int) -> int:
    """Torch/OpenMP threads of each job: the caller's ``OMP_NUM_THREADS`` if set, else cores // jobs."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    return max(1, (os.cpu_count() or 1) // parallel)


def _result_line(result: dict) -> str:
    return ", ".join(f"{k} {100 * v:.1f}" for k, v in result.items())  # ROC-AUC x100 by name


def _in_process(job: Job, threads: int) -> tuple[bool, str]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return True, _result_line(run_job(job.spec))
    except Exception as err:  # reported, logged, and the grid goes on
        job.log.parent.mkdir(parents=True, exist_ok=True)
        job.log.write_text(traceback.format_exc())
        return False, str(err).splitlines()[0] if str(err) else type(err).__name__
    finally:
        torch.set_num_threads(previous)


def _child(job: Job, threads: int, children: _Children, nproc_per_node: int = 1) -> tuple[bool, str]:
    job.log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    with open(job.log, "w") as log:
        code = children.run([sys.executable, *launcher(nproc_per_node), "-m", "metalink_dgl.experiments.jobs",
                             json.dumps(job.spec)], stdout=log, stderr=subprocess.STDOUT, env=env)
    lines = [line for line in job.log.read_text().splitlines() if line.strip()]
    if code == 0:
        job.log.unlink()
        return True, _result_line(json.loads(lines[-1]))
    if code < 0:
        return False, f"stopped by signal {-code} (it resumes from its last.pt on the next call)"
    return False, lines[-1] if lines else f"exit code {code}"


def launcher(nproc_per_node: int) -> list[str]:
    """Arguments after ``python`` that start a module on ``nproc_per_node`` torchrun processes (none for one)."""
    if nproc_per_node == 1:
        return []
    return ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc_per_node)]


def _warm_cache(configs: list[TrainConfig]) -> None:
    """Featurize each dataset once here, so that parallel jobs read the cache instead of racing to build it."""
    seen = set()
    for config in configs:
        key = (config.dataset, config.encoder, config.max_molecules, config.smiles_column,
               str(config.task_columns), config.skip_invalid, config.cache_dir)
        if key not in seen:
            seen.add(key)
            prepare_data(config, progress=False)
