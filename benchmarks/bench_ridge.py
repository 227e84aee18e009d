"""The ridge head of new tasks: T systems in feature space (D x D) vs in sample space (B x B).

Run from the repository root::

    python benchmarks/bench_ridge.py --threads 1 --json results/bench_ridge.json

:func:`metalink_dgl.nn.ridge_heads` (``--new-task-init ridge``) fits one ridge head per new task
of a block from B embeddings of width D. Both forms give the same heads; it solves in sample
space when B < D. For block shapes as trained and evaluated (a training episode of ToxCast makes
every seen task of the minibatch new; an evaluation block holds the 256-row support set and the
query rows), this times forward + backward of both forms (median of ``--repeats`` after warm-up),
prints time(feature) / time(sample) (above 1 the sample-space form is faster) and checks that
both give the same heads. The last line counts the cases where the library's choice was the
faster form.
"""

from __future__ import annotations

import torch
from benchrecord import finish_kernel_timing, median_seconds, start_kernel_timing

from metalink_dgl.nn import prototypes

#: (what, B rows, T new tasks, revealed fraction).
CASES = (("Tox21 training episode", 128, 12, 0.4), ("ToxCast training episode", 128, 494, 0.1),
         ("ToxCast evaluation block", 384, 123, 0.3), ("Tox21 evaluation block", 384, 3, 0.6),
         ("wide training episode", 64, 2000, 0.05), ("large evaluation block", 1024, 123, 0.25))


def time_forms(n: int, tasks: int, fill: float, hidden: int, repeats: int, generator: torch.Generator,
               device: torch.device) -> dict:
    """Forward + backward seconds of both forms on one block, and the largest difference of their heads."""
    z = torch.randn(n, hidden, generator=generator).to(device).requires_grad_()
    mask = (torch.rand(n, tasks, generator=generator) < fill).float().to(device)
    labels = torch.where(torch.rand(n, tasks, generator=generator) < 0.2, 1.0, -1.0).to(device) * mask
    penalty = prototypes.ridge_penalty(z.detach(), mask)

    def run(solve):
        def step():
            solve(z, labels, mask, penalty).sum().backward()
        return step

    with torch.no_grad():
        heads = [solve(z, labels, mask, penalty) for solve in (prototypes.ridge_in_feature_space,
                                                                prototypes.ridge_in_sample_space)]
    feature = median_seconds(run(prototypes.ridge_in_feature_space), repeats)
    sample = median_seconds(run(prototypes.ridge_in_sample_space), repeats)
    chosen = "sample" if prototypes.ridge_solver(n, hidden) is prototypes.ridge_in_sample_space else "feature"
    return {"feature_s": feature, "sample_s": sample, "ratio": feature / sample, "chosen": chosen,
            "chosen_is_faster": (chosen == "sample") == (sample <= feature),
            "max_head_difference": float((heads[0] - heads[1]).abs().max() / heads[0].abs().max().clamp(min=1e-12))}


def main(argv: list[str] | None = None) -> dict:
    args, device, load_before, generator = start_kernel_timing(__doc__, argv, repeats=5)
    rows = []
    print(f"ridge_heads forward+backward, hidden {args.hidden}; the library solves in sample space when B < D")
    print(f"  {'block':>26} {'B':>5} {'T':>5} {'fill':>5} {'feature ms':>10} {'sample ms':>10} {'feature/sample':>14} "
          "chosen  rel. difference")
    for what, n, tasks, fill in CASES:
        t = time_forms(n, tasks, fill, args.hidden, args.repeats, generator, device)
        rows.append({"block": what, "B": n, "T": tasks, "fill": fill, **t})
        print(f"  {what:>26} {n:>5} {tasks:>5} {fill:>5} {1e3 * t['feature_s']:>10.1f} {1e3 * t['sample_s']:>10.1f} "
              f"{t['ratio']:>14.2f} {t['chosen']}{'' if t['chosen_is_faster'] else ' (the slower one)'}  "
              f"{t['max_head_difference']:.1e}")
    return finish_kernel_timing("ridge", "form", args, rows, argv, load_before)


if __name__ == "__main__":
    main()
