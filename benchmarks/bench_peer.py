"""Epoch cost of the chemprop peer: chemprop's D-MPNN vs our ERM and MetaLink, one training epoch each.

Run from the repository root (needs the ``peers`` extra)::

    python benchmarks/bench_peer.py --threads 1 --json results/bench_peer.json

The three models of Table 1's standard and relational rows train on the same training rows
(the scaffold split's train part) with the same batch size, optimizer and loop
(:func:`metalink_dgl.engine.multitask.train_epoch`): ERM (GCN encoder, ``--layers 0
--setting standard``), MetaLink (``--layers 2 --setting relational``) and
``--model chemprop --setting standard`` (chemprop's featurizer and D-MPNN). Only the
epoch is timed, not the featurization (chemprop featurizes in memory when a run starts; our
graphs come from the feature cache). The models alternate, ``--rounds`` times, after a few
untimed warm-up batches; each number is a median over rounds, and the ratios to ERM are
measured in this one run. No target: the table's ``s / epoch`` column comes from runs made at
different times on a shared machine, this puts the three side by side.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace

import numpy as np
import torch
from bench_epoch import EpochRun
from benchrecord import add_common_arguments, finish, provenance_fields, start

from metalink_dgl.data import make_split
from metalink_dgl.engine import TrainConfig, prepare_data

MODELS = {"ERM": dict(setting="standard", layers=0), "MetaLink": dict(setting="relational", layers=2),
          "DMPNN (chemprop)": dict(setting="standard", layers=0, model="chemprop")}


def bench_dataset(name: str, args, device: torch.device) -> dict:
    base = TrainConfig(dataset=name, batch_size=args.batch_size, seeds=[args.seed], device=str(device)).validate()
    configs = {key: replace(base, **options).validate() for key, options in MODELS.items()}
    datas = {key: prepare_data(cfg, progress=False) for key, cfg in configs.items()}
    n_tasks = datas["ERM"].Y.shape[1]
    split = make_split(datas["ERM"].dataset.smiles, base.split, args.seed, dataset=name)
    rows = torch.as_tensor(np.asarray(split.train), dtype=torch.long)
    seen = torch.ones(n_tasks, dtype=torch.bool)
    runs = {key: EpochRun(cfg, n_tasks, args.seed, device) for key, cfg in configs.items()}

    for key in MODELS:  # warm-up
        runs[key].epoch(datas[key], rows[: args.warmup_batches * args.batch_size], seen, device)
    times: dict[str, list[float]] = {key: [] for key in MODELS}
    order = list(MODELS)
    for i in range(args.rounds):
        for key in order if i % 2 == 0 else order[::-1]:
            times[key].append(runs[key].epoch(datas[key], rows, seen, device))
            print(f"  {name} round {i + 1}/{args.rounds} {key}: {times[key][-1]:.2f} s", file=sys.stderr, flush=True)
    med = {key: statistics.median(t) for key, t in times.items()}
    return {"dataset": name, "molecules": len(datas["ERM"].dataset), "tasks": n_tasks, "train_rows": len(rows),
            "epoch_s": {k: round(v, 3) for k, v in med.items()},
            "epoch_s_all": {k: [round(s, 3) for s in t] for k, t in times.items()},
            "ratio_to_erm": {k: round(v / med["ERM"], 3) for k, v in med.items()},
            "parameters": {k: sum(p.numel() for p in run.model.parameters()) for k, run in runs.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["sider", "tox21"], help="[default: sider tox21]")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds [3]")
    parser.add_argument("--warmup-batches", type=int, default=2, help="untimed batches per model first [2]")
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    device, load_before = start(args)
    results = [bench_dataset(name, args, device) for name in args.datasets]
    record = {"benchmark": "peer",
              "params": {"batch_size": args.batch_size, "rounds": args.rounds, "seed": args.seed,
                         "device": str(device), "threads": torch.get_num_threads(),
                         "models": {k: " ".join(f"--{o} {v}" for o, v in opts.items()) for k, opts in MODELS.items()}},
              "datasets": results, **provenance_fields("bench_peer.py", argv, load_before)}
    p = record["params"]
    print(f"One training epoch, batch {p['batch_size']}, device {p['device']}, {p['threads']} torch thread(s); "
          f"median of {p['rounds']} alternating rounds")
    for r in results:
        print(f"{r['dataset']}: {r['molecules']} molecules, {r['tasks']} tasks, {r['train_rows']} training rows")
        for key in MODELS:
            print(f"  {key:<18} {r['epoch_s'][key]:7.2f} s/epoch  x{r['ratio_to_erm'][key]:.2f} ERM  "
                  f"{r['parameters'][key]:>10,} parameters")
    finish(record, args.json_path)


if __name__ == "__main__":
    main()
