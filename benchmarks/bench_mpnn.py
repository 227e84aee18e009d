"""MPNN encoder step: dgllife's ``MPNNGNN`` vs metalink-dgl's ``EdgeTypeMPNNGNN`` (same parameters).

Run from the repository root::

    python benchmarks/bench_mpnn.py --threads 1 --json results/bench_mpnn.json

Both modules get the same weights (``load_state_dict``) and the same batches: ``--batches``
consecutive blocks of ``--batch-size`` molecules of a bundled dataset (canonical atom and
bond features, as ``--encoder mpnn`` uses), with the sizes of ``--encoder mpnn`` (node size
64, edge network 128, 3 message-passing steps). One step is the forward pass, a scalar loss
and the backward pass. The two modules alternate in ABBA order for ``--rounds`` rounds after
one untimed warm-up pass; the time of a module is the median over rounds of a pass over all
batches. Before timing, the outputs and gradients of the two are compared on the first batch.

**Ratio ``time(dgllife) / time(EdgeTypeMPNNGNN)``; target >= 5.** (A ratio measured in one
run, on one machine: other jobs on a shared machine slow both sides alike.)
"""

from __future__ import annotations

import argparse
import statistics
import time

import dgl
import torch
from benchrecord import add_common_arguments, finish, provenance_fields, start
from dgllife.model.gnn import MPNNGNN

from metalink_dgl.data import FEATURIZERS, load_dataset
from metalink_dgl.data.molecules import quiet_rdkit
from metalink_dgl.nn.mpnn import EdgeTypeMPNNGNN

TARGET_RATIO = 5.0
SIZES = dict(node_out_feats=64, edge_hidden_feats=128, num_step_message_passing=3)


def _batches(dataset: str, batch_size: int, n: int) -> list[dgl.DGLGraph]:
    smiles = load_dataset(dataset).smiles[: batch_size * n]
    make = FEATURIZERS["canonical"].graph_maker()
    with quiet_rdkit():
        graphs = [g for g in map(make, smiles) if g is not None]
    return [dgl.batch(graphs[i:i + batch_size]) for i in range(0, len(graphs), batch_size)]


def _step(model: torch.nn.Module, g: dgl.DGLGraph) -> torch.Tensor:
    out = model(g, g.ndata["h"], g.edata["e"])
    out.pow(2).mean().backward()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="tox21")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    device, load_before = start(args)

    batches = [g.to(device) for g in _batches(args.dataset, args.batch_size, args.batches)]
    spec = FEATURIZERS["canonical"]
    torch.manual_seed(args.seed)
    models = {"dgllife": MPNNGNN(spec.node_feat_size, spec.edge_feat_size, **SIZES).to(device)}
    models["EdgeTypeMPNNGNN"] = EdgeTypeMPNNGNN(spec.node_feat_size, spec.edge_feat_size, **SIZES).to(device)
    models["EdgeTypeMPNNGNN"].load_state_dict(models["dgllife"].state_dict())

    outs = {name: _step(model, batches[0]) for name, model in models.items()}
    grads = {name: torch.cat([p.grad.flatten() for p in model.parameters()]) for name, model in models.items()}
    max_out_diff = float((outs["dgllife"] - outs["EdgeTypeMPNNGNN"]).abs().max())
    max_grad_rel = float((grads["dgllife"] - grads["EdgeTypeMPNNGNN"]).abs().max() / grads["dgllife"].abs().max())

    def one_pass(model: torch.nn.Module) -> float:
        began = time.perf_counter()
        for g in batches:
            model.zero_grad(set_to_none=True)
            _step(model, g)
        return time.perf_counter() - began

    seconds = {name: [] for name in models}
    for r in range(args.rounds):
        order = list(models) if r % 2 == 0 else list(models)[::-1]
        for name in order:
            seconds[name].append(one_pass(models[name]))
    median = {name: statistics.median(s) for name, s in seconds.items()}
    ratio = median["dgllife"] / median["EdgeTypeMPNNGNN"]
    atoms = sum(g.num_nodes() for g in batches)
    edges = sum(g.num_edges() for g in batches)
    types = max(len(torch.unique(g.edata["e"], dim=0)) for g in batches)

    print(f"{args.dataset}: {len(batches)} batches of {args.batch_size} molecules ({atoms} atoms, {edges} edges; "
          f"at most {types} distinct bond feature rows per batch), forward + backward")
    for name in models:
        print(f"  {name:<16} {1000 * median[name] / len(batches):8.1f} ms per batch")
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"  ratio dgllife / EdgeTypeMPNNGNN: {ratio:.1f} (target >= {TARGET_RATIO:g}: {verdict}); "
          f"max |output diff| {max_out_diff:.2e}, max relative gradient diff {max_grad_rel:.2e}")
    record = {
        "benchmark": "mpnn",
        "params": {"dataset": args.dataset, "batch_size": args.batch_size, "batches": len(batches),
                   "rounds": args.rounds, "device": str(device), "threads": torch.get_num_threads(), **SIZES},
        "atoms": atoms, "edges": edges, "max_edge_types_per_batch": types,
        "ms_per_batch": {name: round(1000 * median[name] / len(batches), 2) for name in models},
        "ratio": round(ratio, 2), "target": TARGET_RATIO, "target_met": ratio >= TARGET_RATIO,
        "max_output_diff": max_out_diff, "max_relative_grad_diff": max_grad_rel,
        **provenance_fields("bench_mpnn.py", argv, load_before),
    }
    finish(record, args.json_path)


if __name__ == "__main__":
    main()
