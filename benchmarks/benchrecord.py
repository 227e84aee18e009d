"""What the training benchmarks share besides their numbers: the common options, provenance, print, save."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

from metalink_dgl.device import resolve_device
from metalink_dgl.io import atomic_write_json
from metalink_dgl.provenance import git_commit, machine


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--seed``, ``--device``, ``--threads`` and ``--json``."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto [cpu]")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", dest="json_path", default=None, help="write the record to this JSON file")


def median_seconds(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls, after two untimed ones."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def start_kernel_timing(doc: str, argv: list[str] | None, repeats: int):
    """Parse the options of a kernel timing (``--hidden`` [256], ``--repeats`` [``repeats``] and the
    common ones) and :func:`start`: returns the args, the device, the load average before the run
    and a generator seeded with ``--seed``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=repeats)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    device, load_before = start(args)
    return args, device, load_before, torch.Generator().manual_seed(args.seed)


def finish_kernel_timing(benchmark: str, what: str, args: argparse.Namespace, rows: list[dict], argv: list[str] | None,
                         load_before: tuple[float, float, float], **params) -> dict:
    """Print how often the library's choice (``rows[i]["chosen_is_faster"]``) was the faster ``what``,
    then :func:`finish` the record of a :func:`start_kernel_timing` run (``params`` beside its options)."""
    right = sum(r["chosen_is_faster"] for r in rows)
    print(f"the library's choice was the faster {what} in {right} of {len(rows)} cases")
    record = {"benchmark": benchmark, "params": {"hidden": args.hidden, "repeats": args.repeats, "seed": args.seed,
                                                 "threads": args.threads, **params},
              "rows": rows, "chosen_is_faster": f"{right}/{len(rows)}",
              **provenance_fields(f"bench_{benchmark}.py", argv, load_before)}
    finish(record, args.json_path)
    return record


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def start(args: argparse.Namespace) -> tuple[torch.device, tuple[float, float, float]]:
    """Apply ``--threads``; return the ``--device`` and the load average before the run."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return resolve_device(args.device), os.getloadavg()


def provenance_fields(script: str, argv: list[str] | None, load_before: tuple[float, float, float]) -> dict:
    """Load average before/after, commit, machine, the exact command and the date, for a record."""
    return {
        "loadavg": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "commit": git_commit(), "machine": machine(),
        "command": " ".join(["python", f"benchmarks/{script}", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def finish(record: dict, json_path: str | None) -> None:
    """Print the machine and commit lines of ``record`` and write it to ``json_path`` if given."""
    m = record["machine"]
    print(f"  machine: {m['platform']}, {m['processor']}, {m['cpu_count']} CPUs; python {m['python']}, "
          f"torch {m['torch']}, dgl {m['dgl']}, dgllife {m['dgllife']}; load average {record['loadavg']}")
    print(f"  commit: {record['commit']}")
    if json_path:
        atomic_write_json(Path(json_path), record)
        print(f"  wrote {json_path}")
