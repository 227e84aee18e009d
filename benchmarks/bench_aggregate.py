"""The KG layer's aggregation kernel: dense product vs DGL's sparse kernel, by knowledge-graph size.

Run from the repository root::

    python benchmarks/bench_aggregate.py --threads 1 --json results/bench_aggregate.json

:func:`metalink_dgl.nn.conv.weighted_sum` (every ``LabelSAGEConv`` aggregate goes through it)
multiplies a dense (destinations x message rows) adjacency when it has at most
:data:`~metalink_dgl.nn.conv.DENSE_PER_EDGE` entries per edge, and calls DGL's ``u_mul_e_sum``
otherwise. For minibatch shapes (B data rows x T tasks) and fractions of revealed pairs, both
relations of a binary-label graph (data -> task reads 2B sign-messages, task -> data 2T), this
times forward + backward of both kernels (median of ``--repeats`` after warm-up) and prints
time(dense) / time(sparse): below 1 the dense product is faster. The last line counts the
cases where the library's choice was the faster kernel, so the threshold can be checked
against the crossover on any machine.
"""

from __future__ import annotations

import torch
from benchrecord import finish_kernel_timing, median_seconds, start_kernel_timing

from metalink_dgl.nn import conv

#: (B, T, revealed fraction): Tox21 and ToxCast minibatches as trained, then a sweep of fill.
CASES = ((128, 12, 0.15), (128, 617, 0.06),
         *((B, T, d) for B, T in ((128, 617), (128, 2000)) for d in (0.005, 0.01, 0.03, 0.06, 0.12, 0.25)))


def relation_case(n_dst: int, n_src: int, density: float, hidden: int, generator: torch.Generator, device) -> dict:
    """One relation of a binary-label KG: ``density`` of the (dst, src) pairs are edges, each with a sign."""
    pairs = torch.rand(n_dst, n_src, generator=generator) < density
    dst, src = pairs.nonzero(as_tuple=True)
    rows = 2 * src + torch.randint(0, 2, src.shape, generator=generator)
    degree = torch.bincount(dst, minlength=n_dst).clamp(min=1).float()
    messages = torch.randn(2 * n_src, hidden, generator=generator).to(device).requires_grad_()
    return dict(rows=rows.to(device), dst=dst.to(device), weights=degree.reciprocal()[dst].to(device),
                messages=messages, n_dst=n_dst, edges=len(dst))


def time_kernels(case: dict, repeats: int) -> dict:
    """Forward + backward seconds of the dense and the sparse kernel on one relation."""

    def step(per_edge: int):
        def run():
            conv.DENSE_PER_EDGE = per_edge
            out = conv.weighted_sum(case["rows"], case["dst"], case["weights"], case["messages"], case["n_dst"])
            out.sum().backward()
        return run

    default = conv.DENSE_PER_EDGE
    entries = case["n_dst"] * case["messages"].shape[0]
    try:
        dense = median_seconds(step(entries), repeats) if entries <= conv.DENSE_CAP else None
        sparse = median_seconds(step(0), repeats)
    finally:
        conv.DENSE_PER_EDGE = default
    chosen = "dense" if entries <= min(default * case["edges"], conv.DENSE_CAP) else "sparse"
    return {"entries": entries, "edges": case["edges"], "entries_per_edge": entries / max(case["edges"], 1),
            "dense_s": dense, "sparse_s": sparse, "ratio": None if dense is None else dense / sparse,
            "chosen": chosen, "chosen_is_faster": dense is None or (chosen == "dense") == (dense <= sparse)}


def main(argv: list[str] | None = None) -> dict:
    args, device, load_before, generator = start_kernel_timing(__doc__, argv, repeats=20)
    rows = []
    print(f"weighted_sum forward+backward, hidden {args.hidden}; dense up to DENSE_PER_EDGE={conv.DENSE_PER_EDGE} "
          "entries per edge")
    print(f"  {'B x T':>10} {'fill':>6} {'relation':>11} {'entries':>8} {'edges':>6} {'per edge':>8} {'dense ms':>9} "
          f"{'sparse ms':>9} {'dense/sparse':>12} chosen")
    for B, T, density in CASES:
        for relation, (n_dst, n_src) in (("data->task", (T, B)), ("task->data", (B, T))):
            t = time_kernels(relation_case(n_dst, n_src, density, args.hidden, generator, device), args.repeats)
            rows.append({"B": B, "T": T, "density": density, "relation": relation, **t})
            print(f"  {f'{B} x {T}':>10} {density:>6} {relation:>11} {t['entries']:>8} {t['edges']:>6} "
                  f"{t['entries_per_edge']:>8.0f} {1e3 * t['dense_s']:>9.3f} {1e3 * t['sparse_s']:>9.3f} "
                  f"{t['ratio']:>12.2f} {t['chosen']}{'' if t['chosen_is_faster'] else ' (the slower one)'}")
    return finish_kernel_timing("aggregate", "kernel", args, rows, argv, load_before,
                                dense_per_edge=conv.DENSE_PER_EDGE)


if __name__ == "__main__":
    main()
