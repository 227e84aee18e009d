"""Data-parallel epoch time: ``metalink-dgl train`` in one process vs two torchrun processes (gloo, CPU).

Run from the repository root::

    python benchmarks/bench_ddp.py --threads 1 --json results/bench_ddp.json

Both runs are the library's own command line on the same data and options (``--dataset``,
default tox21, ``--epochs`` 3, relational MetaLink with 2 KG layers), each process with
``--threads`` torch threads; the data-parallel one is
``python -m torch.distributed.run --standalone --nproc-per-node 2 -m metalink_dgl train ...``,
whose minibatch is 2 x ``--batch-size`` rows, so it takes half the optimizer steps. The
featurization cache is filled before either run is timed. The epoch time is the median of
the ``seconds`` of the run's ``history.json`` (a training epoch plus validation), the wall
time that of the whole command (start-up, featurized data loading, test included).

**Ratio epoch time (1 process) / epoch time (2 processes)**: the speed-up of data
parallelism, at most 2; on a machine whose two cores also run other work it can be below 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchrecord import add_common_arguments, finish, provenance_fields, start

from metalink_dgl.engine import TrainConfig, prepare_data

REPO = Path(__file__).resolve().parents[1]


def _train_args(args: argparse.Namespace, out: Path) -> list[str]:
    return ["-m", "metalink_dgl", "train", "--dataset", args.dataset, "--epochs", str(args.epochs),
            "--batch-size", str(args.batch_size), "--hidden", str(args.hidden), "--device", "cpu",
            "--threads", str(args.threads), "--seeds", str(args.seed), "--no-progress", "--out", str(out)]


def timed_run(args: argparse.Namespace, processes: int, out: Path) -> dict:
    """One ``train`` command on ``processes`` processes; its wall time and the epoch times of its history."""
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone",
                                          "--nproc-per-node", str(processes)]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(args.threads, 1)),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    begin = time.perf_counter()
    done = subprocess.run([sys.executable, *launcher, *_train_args(args, out)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - begin
    if done.returncode:
        sys.exit(f"{processes}-process run failed:\n{done.stderr[-2000:]}")
    history = json.loads((out / f"seed_{args.seed}" / "history.json").read_text())
    metrics = json.loads((out / f"seed_{args.seed}" / "metrics.json").read_text())
    seconds = [row["seconds"] for row in history]
    return {"epoch_s": round(statistics.median(seconds), 3), "epoch_s_all": [round(s, 3) for s in seconds],
            "wall_s": round(wall, 2), "test_roc_auc": round(metrics["test_roc_auc"], 4)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="tox21")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    args.threads = args.threads or 1
    _, load_before = start(args)
    data = prepare_data(TrainConfig(dataset=args.dataset), progress=False)  # fill the cache, untimed
    with tempfile.TemporaryDirectory(prefix="bench-ddp-") as folder:
        runs = {f"{n} process{'es' if n > 1 else ''}": timed_run(args, n, Path(folder) / f"p{n}") for n in (1, 2)}
    one, two = runs.values()
    record = {"benchmark": "ddp", "params": {"dataset": args.dataset, "epochs": args.epochs,
                                             "batch_size": args.batch_size, "hidden": args.hidden,
                                             "threads": args.threads, "setting": "relational", "layers": 2},
              "molecules": len(data.dataset), "runs": runs, "ratio": round(one["epoch_s"] / two["epoch_s"], 3),
              **provenance_fields("bench_ddp.py", argv, load_before)}
    print(f"{args.dataset}, {args.epochs} epochs, {args.threads} thread(s) per process:")
    for name, run in runs.items():
        print(f"  {name}: epoch {run['epoch_s']:.2f} s (all {run['epoch_s_all']}), wall {run['wall_s']:.1f} s, "
              f"test ROC-AUC {run['test_roc_auc']:.3f}")
    print(f"  ratio epoch time 1 process / 2 processes: {record['ratio']:.3f}")
    finish(record, args.json_path)
    return record


if __name__ == "__main__":
    main()
