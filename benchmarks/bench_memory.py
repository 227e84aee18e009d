"""Memory of one training epoch on large matrices: peak RSS with a memory-mapped bank and sparse labels.

Run from the repository root::

    python benchmarks/bench_memory.py --threads 1 --json results/bench_memory.json

Each case ``ROWSxTASKS@DENSITY`` (default a 90,000 x 17 matrix at 50 % and a 10^6 x 10^3 one at 1 %)
runs in its own subprocess:

1. the bundled ToxCast molecules are featurized (``--featurizer``, from the cache when there) and
   their bank is tiled to ROWS molecules, written to a temporary cache folder in the library's
   compact format and opened memory-mapped, as ``metalink-dgl featurize`` leaves it (repeated
   bundled SMILES stand in for a large library: the bytes per molecule are those of real ones);
2. labels: ROWS x TASKS binary labels at DENSITY, seeded, as
   :class:`~metalink_dgl.label_matrix.SparseLabels` (``--label-storage dense`` for the comparison);
3. one epoch of the library's ``train_epoch`` over every row: MetaLink, 2 layers, relational
   setting, GCN encoder, batch 128.

Reported: peak resident set size of the process (``ru_maxrss``, absolute, imports included, and
its growth over the post-import baseline), the bytes of the labels and of the bank on disk, and
the epoch time. Targets (issue 18): the 90k-row epoch under 1.6 GB, the 10^6-row one completing
within the machine's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchrecord import add_common_arguments, finish, peak_rss_bytes, provenance_fields, start  # noqa: E402

TARGET_90K_GB = 1.6


def _maxrss_gb() -> float:
    """Peak resident set size of this process so far, in GiB."""
    return peak_rss_bytes() / 2**30


def parse_case(text: str) -> tuple[int, int, float]:
    """``'90000x17@0.5'`` -> (90000, 17, 0.5)."""
    try:
        shape, density = text.split("@")
        rows, tasks = shape.lower().split("x")
        return int(float(rows)), int(tasks), float(density)
    except ValueError:
        raise SystemExit(f"bad case {text!r}; write ROWSxTASKS@DENSITY, e.g. 90000x17@0.5") from None


def synthetic_labels(n: int, t: int, density: float, seed: int):
    """Seeded binary labels of n x t cells, about ``density`` observed (sampled with replacement, repeats
    dropped), 30 % of them positive, as SparseLabels."""
    import torch

    from metalink_dgl.label_matrix import SparseLabels

    gen = torch.Generator().manual_seed(seed)
    cells = torch.unique(torch.randint(0, n * t, (int(round(n * t * density)),), generator=gen))
    values = (torch.rand(len(cells), generator=gen) < 0.3).float()
    return SparseLabels.from_coo(cells // t, cells % t, values, (n, t))


def tile_bank(source, rows: int, folder: Path):
    """``source`` repeated to at least ``rows`` molecules, written as a cache bank folder and opened
    memory-mapped; returns the bank and its bytes on disk."""
    from metalink_dgl.data.store import folder_bytes, read_bank, write_bank

    directory = write_bank(folder / "bank", [source] * -(-rows // len(source)), meta={"benchmark": "memory"})
    bank, _ = read_bank(directory)
    return bank, folder_bytes(directory)


def run_case(rows: int, tasks: int, density: float, *, storage: str, featurizer: str, batch_size: int,
             seed: int) -> dict:
    """One epoch in this process; returns its record."""
    import torch

    from metalink_dgl.data import load_dataset
    from metalink_dgl.data.featurize import featurize
    from metalink_dgl.engine import TrainConfig, build_model
    from metalink_dgl.engine.loop import make_optimizer
    from metalink_dgl.engine.multitask import train_epoch
    from metalink_dgl.kg import get_setting

    baseline = _maxrss_gb()
    torch.manual_seed(seed)
    source = featurize(load_dataset("toxcast"), featurizer, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        start_bank = time.perf_counter()
        bank, bank_bytes = tile_bank(source, rows, Path(tmp))
        bank_seconds = time.perf_counter() - start_bank
        Y = synthetic_labels(rows, tasks, density, seed)
        label_bytes = Y.nbytes()
        if storage == "dense":
            Y = Y.to_dense()
            label_bytes = Y.element_size() * Y.numel()
        config = TrainConfig(dataset="toxcast", setting="relational", layers=2, batch_size=batch_size, device="cpu")
        model = build_model(config, tasks)
        optimizer = make_optimizer(model.parameters(), config, config.lr)
        before_epoch = _maxrss_gb()
        start_epoch = time.perf_counter()
        loss = train_epoch(model, bank, Y, torch.arange(rows), get_setting("relational"),
                           torch.ones(tasks, dtype=torch.bool), config, optimizer, torch.Generator().manual_seed(seed),
                           torch.device("cpu"), progress=False)
        epoch_seconds = time.perf_counter() - start_epoch
    return {"rows": rows, "tasks": tasks, "density": density, "labels": int(Y.nnz) if storage == "sparse" else None,
            "label_storage": storage, "label_bytes": int(label_bytes), "dense_label_bytes": rows * tasks * 4,
            "bank_molecules": len(bank), "bank_bytes": int(bank_bytes),
            "bank_bytes_per_molecule": bank_bytes / len(bank), "bank_seconds": bank_seconds,
            "epoch_seconds": epoch_seconds, "loss": loss, "baseline_rss_gb": baseline,
            "rss_before_epoch_gb": before_epoch, "peak_rss_gb": _maxrss_gb(), "peak_growth_gb": _maxrss_gb() - baseline}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["90000x17@0.5", "1000000x1000@0.01"],
                        help="ROWSxTASKS@DENSITY, each in its own process")
    parser.add_argument("--label-storage", choices=("sparse", "dense"), default="sparse")
    parser.add_argument("--featurizer", default="canonical")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one case, print JSON
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    _, load_before = start(args)
    if args.one:
        rows, tasks, density = parse_case(args.one)
        print(json.dumps(run_case(rows, tasks, density, storage=args.label_storage, featurizer=args.featurizer,
                                  batch_size=args.batch_size, seed=args.seed)))
        return
    results = []
    for case in args.cases:
        parse_case(case)
        cmd = [sys.executable, __file__, "--one", case, "--label-storage", args.label_storage, "--featurizer",
               args.featurizer, "--batch-size", str(args.batch_size), "--seed", str(args.seed), "--threads",
               str(args.threads)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        if done.returncode != 0:
            raise SystemExit(f"case {case} failed:\n{done.stderr[-2000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(row)
        print(f"{case}: peak RSS {row['peak_rss_gb']:.2f} GB (+{row['peak_growth_gb']:.2f} over the imports), "
              f"labels {row['label_bytes'] / 2**20:.0f} MB (dense {row['dense_label_bytes'] / 2**20:.0f} MB), "
              f"bank {row['bank_bytes'] / 2**20:.0f} MB on disk, epoch {row['epoch_seconds']:.0f} s", flush=True)
    record = {"benchmark": "memory", "featurizer": args.featurizer, "label_storage": args.label_storage,
              "batch_size": args.batch_size, "params": {"threads": args.threads}, "cases": results,
              "target_90k_gb": TARGET_90K_GB,
              **provenance_fields("bench_memory.py", argv, load_before)}
    finish(record, args.json_path)


if __name__ == "__main__":
    main()
