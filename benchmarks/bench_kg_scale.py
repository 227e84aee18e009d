"""Knowledge-graph scale: one MetaLink step on synthetic blocks of B examples x T tasks.

Run from the repository root::

    python benchmarks/bench_kg_scale.py                                   # T = 100, 1000, 10000
    python benchmarks/bench_kg_scale.py --json results/bench_kg_scale.json

For every T, a seeded label matrix (B=256 rows, 20% of the labels observed, half of them
positive), relational training masks (``draw_aux`` with aux_ratio 0.2 over all tasks, then
``make_masks``) and D=256 random, L2-normalised data embeddings standing in for the encoder.
One step is: ``build_knowledge_graph`` -> ``MetaLink.predict`` (2 ``MetaLinkConv`` layers,
dot scores of the queried pairs at every layer, task bias) -> BCE -> backward. The model has
an identity encoder, so only the knowledge-graph part is measured.

Timed separately (median of ``--repeats`` after ``--warmup`` untimed steps): mask building,
KG build, forward+backward. Each T runs in its own subprocess so that its peak memory is the
growth of the process's peak resident set size (``resource.getrusage(...).ru_maxrss``) over
the baseline after the imports: it covers the synthetic inputs, the model, one step's
activations and the gradients. The headline is the ratio of the step time (KG build +
forward+backward) at T=10,000 over T=1,000; the number of edges grows 10x, so linear
scaling gives ~10 (target: <= 12).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

MEMORY_METHOD = "peak RSS growth over the post-import baseline (resource.getrusage ru_maxrss), one subprocess per T"
TARGET_RATIO = 12.0


def _maxrss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    from benchrecord import peak_rss_bytes  # torch comes with it: only in the measuring subprocess

    return peak_rss_bytes() / 2**20


def synthetic_block(B: int, T: int, density: float, seed: int):
    """Seeded labels (B, T) with NaN where unobserved; ``density`` of the entries observed, half positive."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    observed = torch.rand(B, T, generator=gen) < density
    positive = torch.rand(B, T, generator=gen) < 0.5
    Y = torch.where(observed, positive.float(), torch.tensor(float("nan")))
    return Y, gen


def run_size(T: int, *, B: int, D: int, density: float, aux_ratio: float, layers: int, repeats: int, warmup: int,
             seed: int) -> dict:
    """Time one T in this process; returns its row of the table (memory included)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from metalink_dgl.engine import Block, forward_block
    from metalink_dgl.kg import LABELS, draw_aux, get_setting, make_masks
    from metalink_dgl.nn import MetaLink

    baseline_mb = _maxrss_mb()
    torch.manual_seed(seed)
    setting = get_setting("relational")
    Y, gen = synthetic_block(B, T, density, seed)
    all_tasks = torch.ones(T, dtype=torch.bool)

    def masks_step():
        aux = draw_aux(all_tasks, B, aux_ratio, gen)
        return make_masks(Y, setting, targets=all_tasks, aux=aux)

    model = MetaLink(nn.Identity(), T, D, layers=layers)
    model.train()
    z_raw = torch.randn(B, D, requires_grad=True)  # the encoder output
    masks = masks_step()
    rows, tasks = masks.queried.nonzero(as_tuple=True)
    target = Y[rows, tasks]

    def build():
        return Block(z_raw.detach(), Y, masks).graph()

    def fwd_bwd(graph):
        model.zero_grad(set_to_none=True)
        z_raw.grad = None
        logits, _, _ = forward_block(model, Block(F.normalize(z_raw, dim=-1), Y, masks), graph=graph)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        loss.backward()
        return float(loss)

    def timed(fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        return out, time.perf_counter() - start

    for _ in range(warmup):
        masks_step()
        fwd_bwd(build())
    mask_s, build_s, step_s = [], [], []
    for _ in range(repeats):
        mask_s.append(timed(masks_step)[1])
        graph, t_build = timed(build)
        loss, t_step = timed(fwd_bwd, graph)
        build_s.append(t_build)
        step_s.append(t_step)
    assert graph.kg.num_edges(LABELS[1]) == int(masks.revealed.sum())
    assert model.task_weight.grad is not None and bool(torch.isfinite(torch.tensor(loss)))
    peak_mb = _maxrss_mb()
    med = statistics.median
    return {
        "T": T, "B": B, "D": D, "edges": int(masks.revealed.sum()), "queried": len(rows),
        "masks_ms": 1000 * med(mask_s), "kg_build_ms": 1000 * med(build_s), "fwd_bwd_ms": 1000 * med(step_s),
        "step_ms": 1000 * (med(build_s) + med(step_s)),
        "fwd_bwd_ms_all": [round(1000 * s, 2) for s in step_s],
        "peak_rss_delta_mb": round(peak_mb - baseline_mb, 1), "baseline_rss_mb": round(baseline_mb, 1),
        "torch_threads": torch.get_num_threads(),
    }


def _worker(args) -> None:
    # Import the stack first, so the baseline RSS excludes the libraries.
    import dgl  # noqa: F401
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    row = run_size(args.worker, B=args.batch, D=args.dim, density=args.density, aux_ratio=args.aux_ratio,
                   layers=args.layers, repeats=args.repeats, warmup=args.warmup, seed=args.seed)
    print(json.dumps(row))


def _spawn(T: int, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(T), "--batch", str(args.batch),
           "--dim", str(args.dim), "--density", str(args.density), "--aux-ratio", str(args.aux_ratio),
           "--layers", str(args.layers), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
           "--seed", str(args.seed), "--threads", str(args.threads or 0)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"T={T}: worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[100, 1000, 10000], help="task counts T")
    parser.add_argument("--batch", type=int, default=256, help="examples per block B [256]")
    parser.add_argument("--dim", type=int, default=256, help="embedding size D [256]")
    parser.add_argument("--density", type=float, default=0.2, help="fraction of observed labels [0.2]")
    parser.add_argument("--aux-ratio", type=float, default=0.2, help="relational aux ratio [0.2]")
    parser.add_argument("--layers", type=int, default=2, help="KG layers [2]")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per T [7]")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per T first [2]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", dest="json_path", default=None, help="write the record to this JSON file")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args)
        return

    from metalink_dgl.io import atomic_write_json
    from metalink_dgl.provenance import git_commit, machine

    load_before = os.getloadavg()
    rows = []
    for T in args.tasks:
        rows.append(_spawn(T, args))
        r = rows[-1]
        print(f"  T={T}: step {r['step_ms']:.1f} ms", file=sys.stderr, flush=True)
    sys.stderr.flush()
    by_T = {r["T"]: r for r in rows}
    ratios = {}
    if 1000 in by_T and 10000 in by_T:
        for key in ("step_ms", "kg_build_ms", "fwd_bwd_ms", "masks_ms", "edges"):
            ratios[key] = round(by_T[10000][key] / by_T[1000][key], 2)
    record = {
        "benchmark": "kg_scale",
        "params": {"B": args.batch, "D": args.dim, "density": args.density, "aux_ratio": args.aux_ratio,
                   "layers": args.layers, "setting": "relational", "edge_pred": "dot", "repeats": args.repeats,
                   "warmup": args.warmup, "seed": args.seed, "threads": rows[0]["torch_threads"] if rows else None},
        "memory_method": MEMORY_METHOD,
        "rows": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        "ratio_10000_over_1000": ratios, "target": {"step_ms": TARGET_RATIO},
        "target_met": ratios.get("step_ms", float("inf")) <= TARGET_RATIO if ratios else None,
        "loadavg": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "commit": git_commit(), "machine": machine(),
        "command": " ".join(["python", "benchmarks/bench_kg_scale.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

    p = record["params"]
    print(f"MetaLink step on synthetic blocks: B={p['B']}, D={p['D']}, {p['layers']} KG layers, "
          f"{100 * p['density']:.0f}% observed, relational aux_ratio {p['aux_ratio']}; "
          f"median of {p['repeats']} after {p['warmup']} warm-up; {p['threads']} torch thread(s)")
    header = ("T", "edges", "queried", "masks ms", "KG build ms", "fwd+bwd ms", "step ms", "peak RSS +MB")
    print("  " + " | ".join(f"{h:>12}" for h in header))
    for r in record["rows"]:
        cells = (r["T"], r["edges"], r["queried"], r["masks_ms"], r["kg_build_ms"], r["fwd_bwd_ms"], r["step_ms"],
                 r["peak_rss_delta_mb"])
        print("  " + " | ".join(f"{c:>12}" for c in cells))
    print(f"  memory: {MEMORY_METHOD}")
    if ratios:
        verdict = "ok" if record["target_met"] else "ABOVE TARGET"
        print(f"  ratio time(10000)/time(1000): step {ratios['step_ms']} (target <= {TARGET_RATIO:g}: {verdict}); "
              f"KG build {ratios['kg_build_ms']}, fwd+bwd {ratios['fwd_bwd_ms']}, masks {ratios['masks_ms']}; "
              f"edges x{ratios['edges']}")
    m = record["machine"]
    print(f"  machine: {m['platform']}, {m['processor']}, {m['cpu_count']} CPUs; "
          f"python {m['python']}, torch {m['torch']}, dgl {m['dgl']}; load average {record['loadavg']}")
    print(f"  commit: {record['commit']}")
    if args.json_path:
        atomic_write_json(args.json_path, record)
        print(f"  wrote {args.json_path}")


if __name__ == "__main__":
    main()
