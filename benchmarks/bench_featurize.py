"""Featurization cost: first run (dgllife featurizers + cache write) vs second run (cache load).

Run from the repository root::

    python benchmarks/bench_featurize.py                     # ToxCast, canonical featurizer
    python benchmarks/bench_featurize.py --dataset tox21 --json results/bench_featurize.json

Each run uses a fresh temporary cache folder. It prints both times, their ratio (target:
second/first <= 0.05), the time to batch 128 molecules from the bank vs ``dgl.batch`` of
separate graphs, the machine, library versions and the git commit. ``--json`` appends the
record to a JSON list file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import dgl
import numpy as np
import torch

from metalink_dgl.data import FEATURIZERS, featurize, load_dataset
from metalink_dgl.io import atomic_write_json
from metalink_dgl.provenance import git_commit, machine


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _best_of(fn, repeats: int = 5) -> float:
    return min(_timed(fn)[1] for _ in range(repeats))


def bench(dataset: str, featurizer: str) -> dict:
    data, load_s = _timed(lambda: load_dataset(dataset))
    with tempfile.TemporaryDirectory(prefix="bench-featurize-") as cache:
        first, first_s = _timed(lambda: featurize(data, featurizer, cache_dir=cache, progress=False))
        second, second_s = _timed(lambda: featurize(data, featurizer, cache_dir=cache, progress=False))
        cache_bytes = sum(p.stat().st_size for p in Path(cache).iterdir())
    assert torch.equal(first.node_offsets, second.node_offsets)
    idx = np.random.default_rng(0).choice(len(second), size=min(128, len(second)), replace=False)
    bank_s = _best_of(lambda: second.batch(idx))
    graphs = second.to_graphs(idx)
    dgl_s = _best_of(lambda: dgl.batch(graphs))
    return {
        "benchmark": "featurize", "dataset": dataset, "featurizer": featurizer, "molecules": len(data),
        "atoms": int(second.node_offsets[-1]), "edges": int(second.edge_offsets[-1]),
        "load_dataset_s": round(load_s, 3), "first_run_s": round(first_s, 3), "second_run_s": round(second_s, 3),
        "ratio_second_first": round(second_s / first_s, 4), "cache_mb": round(cache_bytes / 2**20, 1),
        "batch128_bank_ms": round(1000 * bank_s, 2), "batch128_dgl_batch_ms": round(1000 * dgl_s, 2),
        "commit": git_commit(), "machine": machine(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="toxcast", help="bundled name or CSV path [default: toxcast]")
    parser.add_argument("--featurizer", default="canonical", choices=list(FEATURIZERS))
    parser.add_argument("--json", dest="json_path", default=None, help="append the result to this JSON list file")
    args = parser.parse_args(argv)

    r = bench(args.dataset, args.featurizer)
    m = r["machine"]
    print(f"{r['dataset']} ({r['molecules']} molecules, {r['atoms']} atoms, {r['edges']} edges), "
          f"featurizer {r['featurizer']}")
    print(f"  first run  (featurize + cache write): {r['first_run_s']:.2f} s")
    print(f"  second run (cache load + checks):     {r['second_run_s']:.3f} s")
    verdict = "ok" if r["ratio_second_first"] <= 0.05 else "ABOVE TARGET"
    print(f"  ratio second/first: {r['ratio_second_first']:.4f} (target <= 0.05: {verdict}); cache {r['cache_mb']} MB")
    print(f"  batch of 128: bank.batch {r['batch128_bank_ms']:.2f} ms, dgl.batch {r['batch128_dgl_batch_ms']:.2f} ms")
    print(f"  machine: {m['platform']}, {m['processor']}, {m['cpu_count']} CPUs; python {m['python']}, "
          f"torch {m['torch']}, dgl {m['dgl']}, dgllife {m['dgllife']}, rdkit {m['rdkit']}")
    print(f"  commit: {r['commit']}")
    if args.json_path:
        path = Path(args.json_path)
        records = json.loads(path.read_text()) if path.exists() else []
        atomic_write_json(path, [*records, r])
        print(f"  appended to {path}")


if __name__ == "__main__":
    main()
