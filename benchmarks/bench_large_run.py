"""A large assay library end to end through the command line: featurize, train one epoch, evaluate.

Run from the repository root::

    python benchmarks/bench_large_run.py --molecules 100000 --tasks 1000 --density 0.01 \\
        --json results/bench_large_run.json

It writes a seeded long-format CSV (``smiles,task,value``, one measurement per line) of
``--molecules`` distinct SMILES strings: random SMILES spellings of the bundled molecules
(RDKit ``MolToRandomSmilesVect``), each a separate row to the library, so the featurization
and every later step do the work of that many molecules; each molecule holds about
``--density`` x ``--tasks`` binary labels. Then, each in its own process, timed, with its peak
resident set size (``ru_maxrss`` of the child):

1. ``metalink-dgl featurize --workers N`` (the parallel, sharded, memory-mapped cache);
2. ``metalink-dgl train --epochs 1`` (MetaLink relational, scaffold split, sparse labels);
3. ``metalink-dgl evaluate`` of its best checkpoint.

It also reports the sizes of the run's files (``draw.json``, checkpoints) and of the cache.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchrecord import add_common_arguments, finish, provenance_fields, start  # noqa: E402

#: Runs a command in-process (as ``python -m metalink_dgl``) and prints its peak RSS in KiB last.
_LAUNCH = ("import resource, runpy, sys\n"
           "sys.argv = ['metalink-dgl', *sys.argv[1:]]\n"
           "try:\n"
           "    runpy.run_module('metalink_dgl', run_name='__main__')\n"
           "except SystemExit as stop:\n"
           "    if stop.code: raise\n"
           "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")


def write_library(path: Path, molecules: int, tasks: int, density: float, seed: int) -> dict:
    """The seeded long-format CSV; returns its counts."""
    import numpy as np
    from rdkit import Chem, RDLogger

    from metalink_dgl.data import load_dataset

    RDLogger.DisableLog("rdApp.*")
    parents = sorted({s for name in ("toxcast", "tox21", "adme", "sider") for s in load_dataset(name).smiles})
    spellings, seen, round_ = [], set(), 0
    per_parent = -(-molecules // len(parents)) + 1
    while len(spellings) < molecules:
        for k, smiles in enumerate(parents):
            mol = Chem.MolFromSmiles(smiles)
            for variant in Chem.MolToRandomSmilesVect(mol, per_parent, randomSeed=seed + 7919 * round_ + k):
                if variant not in seen:
                    seen.add(variant)
                    spellings.append(variant)
        round_ += 1
    rng = np.random.default_rng(seed)
    spellings = [spellings[i] for i in rng.permutation(len(spellings))[:molecules]]
    counts = np.maximum(rng.binomial(tasks, density, size=molecules), 1)
    n_labels = 0
    with gzip.open(path, "wt", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["smiles", "task", "value"])
        for smiles, k in zip(spellings, counts):
            chosen = rng.choice(tasks, size=int(k), replace=False)
            values = (rng.random(int(k)) < 0.3).astype(int)
            writer.writerows((smiles, f"assay_{j}", v) for j, v in zip(chosen, values))
            n_labels += int(k)
    return {"molecules": molecules, "tasks": tasks, "labels": n_labels, "density": n_labels / (molecules * tasks),
            "csv_bytes": path.stat().st_size}


def run_step(name: str, args: list[str], env: dict) -> dict:
    """One CLI command in a child process: wall time and peak RSS."""
    start_time = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCH, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start_time
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    peak = [line for line in done.stdout.splitlines() if line.startswith("PEAK_RSS_KIB")][-1]
    row = {"step": name, "seconds": seconds, "peak_rss_gb": int(peak.split()[1]) / 2**20}
    print(f"  {name}: {seconds:.0f} s, peak RSS {row['peak_rss_gb']:.2f} GB", flush=True)
    return row


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--molecules", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2, help="featurization worker processes")
    parser.add_argument("--work-dir", default=None, help="where the CSV, cache and run go (default: a temp dir)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    _, load_before = start(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        data, cache, out = work / "library.csv.gz", work / "cache", work / "run"
        print(f"writing {args.molecules} molecules x {args.tasks} tasks at {args.density} to {data}", flush=True)
        library = write_library(data, args.molecules, args.tasks, args.density, args.seed)
        env = {**os.environ, "METALINK_DGL_CACHE": str(cache)}
        threads = ["--threads", str(args.threads)] if args.threads else []
        steps = [
            run_step("featurize", ["featurize", "--dataset", str(data), "--workers", str(args.workers)], env),
            run_step("train", ["train", "--dataset", str(data), "--epochs", "1", "--seeds", str(args.seed),
                               "--label-storage", "sparse", "--out", str(out), "--no-progress", *threads], env),
            run_step("evaluate", ["evaluate", "--checkpoint", str(out / f"seed_{args.seed}" / "best.pt")], env),
        ]
        metrics = json.loads((out / f"seed_{args.seed}" / "metrics.json").read_text())
        files = {name: _size(out / f"seed_{args.seed}" / name) for name in ("draw.json", "best.pt", "last.pt")}
        files["cache"] = _size(cache)
    record = {"benchmark": "large_run", "library": library, "workers": args.workers, "steps": steps,
              "params": {"threads": args.threads},
              "test_roc_auc": metrics["test_roc_auc"], "file_bytes": files,
              **provenance_fields("bench_large_run.py", argv, load_before)}
    print(f"  files: {json.dumps(files)}")
    finish(record, args.json_path)


if __name__ == "__main__":
    main()
