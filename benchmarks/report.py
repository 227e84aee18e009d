"""Merge benchmark records into ``results/benchmarks.json`` and render ``results/benchmarks.md`` from it.

Run from the repository root::

    python benchmarks/report.py results/bench_kg_scale.json results/bench_epoch.json
    python benchmarks/report.py                      # re-render the Markdown from the JSON

Each input file holds one record (``--json`` of ``bench_kg_scale.py`` / ``bench_epoch.py``)
or a list of them (``bench_featurize.py --json``). A record replaces an earlier one of the
same benchmark and command; the others are kept. The Markdown is generated from the merged
JSON only: every number in it comes from a record, with the record's command, commit,
machine and date.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from metalink_dgl.io import atomic_write_json, atomic_write_text

ORDER = ("kg_scale", "epoch", "aggregate", "ridge", "peer", "featurize", "memory", "large_run", "vision", "mpnn",
         "ddp")


def _key(record: dict) -> tuple[str, str]:
    return record.get("benchmark", "?"), record.get("command", "?")


def merge(existing: list[dict], new: list[dict]) -> list[dict]:
    """Records of ``existing`` and ``new``; a new record replaces one with the same benchmark and command."""
    merged = {_key(r): r for r in existing}
    for r in new:
        merged[_key(r)] = r
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(merged.values(), key=lambda r: (rank.get(r.get("benchmark"), len(ORDER)), r.get("date", "")))


def load_records(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    records = data if isinstance(data, list) else [data]
    for r in records:
        if not isinstance(r, dict) or "benchmark" not in r:
            sys.exit(f"{path}: not a benchmark record (no 'benchmark' field)")
    return records


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _provenance(r: dict) -> list[str]:
    m = r.get("machine", {})
    threads = r.get("params", {}).get("threads", m.get("torch_threads"))
    lines = [
        f"- command: `{r.get('command', '?')}`",
        f"- commit: `{r.get('commit', '?')}`; date: {r.get('date', '?')}",
        f"- machine: {m.get('platform', '?')}, {m.get('processor', '?')}, {m.get('cpu_count', '?')} CPUs, "
        f"{threads} torch thread(s), GPU {m.get('cuda') or 'none'}; python {m.get('python', '?')}, "
        f"torch {m.get('torch', '?')}, dgl {m.get('dgl', '?')}, dgllife {m.get('dgllife', '?')}",
    ]
    if "loadavg" in r:
        lines.append(f"- load average (1, 5, 15 min) before/after: {r['loadavg']['before']} / {r['loadavg']['after']}")
    return lines


def _verdict(ok) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def render_kg_scale(r: dict) -> list[str]:
    p = r["params"]
    lines = [f"## Knowledge-graph scale: one MetaLink step, B={p['B']}, D={p['D']}, {p['layers']} KG layers", "",
             *_provenance(r),
             f"- setting {p['setting']} (aux_ratio {p['aux_ratio']}), {100 * p['density']:.0f}% of labels observed, "
             f"{p['edge_pred']} edge predictor; median of {p['repeats']} steps after {p['warmup']} warm-up",
             f"- memory: {r['memory_method']}", ""]
    rows = [[f"{x['T']:,}", f"{x['edges']:,}", f"{x['queried']:,}", f"{x['masks_ms']:.1f}", f"{x['kg_build_ms']:.1f}",
             f"{x['fwd_bwd_ms']:.1f}", f"{x['step_ms']:.1f}", f"{x['peak_rss_delta_mb']:.0f}"] for x in r["rows"]]
    lines += _table(["tasks T", "KG edges", "queried pairs", "masks ms", "KG build ms", "forward+backward ms",
                     "step ms (build + fwd+bwd)", "peak RSS + MiB"], rows)
    ratios = r.get("ratio_10000_over_1000") or {}
    if ratios:
        lines += ["", f"Ratio time(T=10,000) / time(T=1,000): **step {ratios['step_ms']}** "
                      f"(target <= {r['target']['step_ms']:g}: {_verdict(r.get('target_met'))}); "
                      f"KG build {ratios['kg_build_ms']}, forward+backward {ratios['fwd_bwd_ms']}, "
                      f"masks {ratios['masks_ms']}; edges x{ratios['edges']}."]
    return lines


def _round_range(d: dict) -> str:
    """The lowest and highest of the ratios measured round by round (— in records before they were kept)."""
    ratios = d.get("ratio_rounds")
    return f"{min(ratios):.3f} .. {max(ratios):.3f}" if ratios else "—"


def render_epoch(r: dict) -> list[str]:
    p = r["params"]
    size = "full data" if p["max_molecules"] is None else f"at most {p['max_molecules']} molecules"
    lines = [f"## Training epoch: MetaLink vs ERM ({size})", "", *_provenance(r),
             f"- GCN encoder, hidden {p['hidden']}, batch {p['batch_size']}, device {p['device']}; "
             f"ERM `{p['ERM']}`, MetaLink `{p['MetaLink']}`; median of {p['rounds']} alternating (ABBA) rounds", ""]
    rows = [[d["dataset"], d["molecules"], d["tasks"], d["train_rows"], d["batches"],
             f"{d['per_batch']['MetaLink']['kg_edges']:.0f}", f"{d['epoch_s']['ERM']:.2f}",
             f"{d['epoch_s']['MetaLink']:.2f}", f"**{d['ratio']:.3f}**",
             _round_range(d), f"<= {d.get('target', r.get('target')):.2f}", _verdict(d["target_met"])]
            for d in r["datasets"]]
    lines += _table(["dataset", "molecules", "tasks", "train rows", "batches", "KG edges / batch", "ERM s/epoch",
                     "MetaLink s/epoch", "MetaLink/ERM", "per round", "target", "met"], rows)
    for d in r["datasets"]:
        tot = d["profiled_epoch_s"]
        params = (f" Parameters: ERM {d['parameters']['ERM']:,}, MetaLink {d['parameters']['MetaLink']:,}."
                  if "parameters" in d else "")
        lines += ["", f"Where an epoch's time goes, {d['dataset']} (instrumented copy of the loop, seconds per epoch)."
                  f"{params}", ""]
        rows = []
        for stage, label in r["stages"].items():
            e, m = d["profile_s"]["ERM"][stage], d["profile_s"]["MetaLink"][stage]
            rows.append([label, f"{e:.3f}", f"{100 * e / tot['ERM']:.1f}", f"{m:.3f}",
                         f"{100 * m / tot['MetaLink']:.1f}", f"{m - e:+.3f}"])
        rows.append(["**epoch**", f"{tot['ERM']:.3f}", "100", f"{tot['MetaLink']:.3f}", "100",
                     f"{tot['MetaLink'] - tot['ERM']:+.3f}"])
        lines += _table(["stage", "ERM s", "ERM %", "MetaLink s", "MetaLink %", "MetaLink − ERM s"], rows)
    return lines


def render_featurize(r: dict) -> list[str]:
    format1 = "workers_s" not in r  # a record of the dense cache (format 1), before workers and compact storage
    lines = [f"## Featurization{' (dense cache, format 1)' if format1 else ''}: {r['dataset']}, featurizer "
             f"{r['featurizer']}", "", *_provenance(r), ""]
    lines += _table(["molecules", "first run s", "second run s", "second/first", "target <= 0.05", "cache MB",
                     "batch 128: bank ms", "batch 128: dgl.batch ms"],
                    [[r["molecules"], r["first_run_s"], r["second_run_s"], r["ratio_second_first"],
                      _verdict(r["ratio_second_first"] <= 0.05), r["cache_mb"], r["batch128_bank_ms"],
                      r["batch128_dgl_batch_ms"]]])
    if format1:
        return lines
    target = r["target"]
    lines += ["", f"Featurize + cache write, seconds, by workers (2 workers: start method; the library's is "
                  f"{r['start_method']}, cold = its fork server starts in this run):", ""]
    lines += _table(list(r["workers_s"]), [list(r["workers_s"].values())])
    met = {k: _verdict(r[k] <= target["ratio_2_over_1"]) for k in ("ratio_2_over_1", "ratio_2_over_1_warm")}
    lines += ["", f"Ratio 2/1 workers: **{r['ratio_2_over_1']}** cold, {r['ratio_2_over_1_warm']} warm "
                  f"(target <= {target['ratio_2_over_1']}: cold {met['ratio_2_over_1']}, warm "
                  f"{met['ratio_2_over_1_warm']}).", "",
              "Cache bytes per molecule (dense format 1: the expanded float32/int64 tensors it stored):", ""]
    lines += _table(["featurizer", "compact (format 2)", "dense (format 1)", "ratio"],
                    [[name, b["compact"], b["dense_format1"], round(b["compact"] / b["dense_format1"], 3)]
                     for name, b in r["bytes_per_molecule"].items()])
    canonical = r["bytes_per_molecule"]["canonical"]["compact"]
    return [*lines, "", f"Canonical: {canonical} bytes per molecule (target <= "
                        f"{target['canonical_bytes_per_molecule']}: "
                        f"{_verdict(canonical <= target['canonical_bytes_per_molecule'])})."]


def render_vision(r: dict) -> list[str]:
    p = r["params"]
    encoder = p["encoder"] + (f" (width {p['width']})" if p["encoder"] == "resnet12" else "")
    lines = ["## Vision throughput: ERM vs MetaLink on generated COCO-style images", "", *_provenance(r),
             f"- {r['train_images']} training images at {p['image_size']} px, {r['tasks']} tasks; {encoder}, "
             f"hidden {p['hidden']}, batch {p['batch_size']}; ERM `{p['ERM']}`, MetaLink `{p['MetaLink']}`; "
             f"median of {p['rounds']} alternating (ABBA) rounds", ""]
    lines += _table(["model", "images/s", "s/epoch"],
                    [[key, r["images_per_s"][key], r["epoch_s"][key]] for key in ("ERM", "MetaLink")])
    return [*lines, "", f"Ratio MetaLink/ERM images/s: **{r['ratio']:.3f}**."]


def render_mpnn(r: dict) -> list[str]:
    p = r["params"]
    lines = ["## MPNN encoder: dgllife's MPNNGNN vs EdgeTypeMPNNGNN (forward + backward)", "", *_provenance(r),
             f"- {p['dataset']}: {p['batches']} batches of {p['batch_size']} molecules ({r['atoms']} atoms, "
             f"{r['edges']} edges, at most {r['max_edge_types_per_batch']} distinct bond feature rows per batch); "
             f"node size {p['node_out_feats']}, {p['num_step_message_passing']} steps; median of {p['rounds']} "
             "alternating (ABBA) rounds", ""]
    lines += _table(["module", "ms per batch"], [[k, v] for k, v in r["ms_per_batch"].items()])
    return [*lines, "", f"Ratio dgllife / EdgeTypeMPNNGNN: **{r['ratio']}** (target >= {r['target']:g}: "
                        f"{_verdict(r['target_met'])}); largest output difference {r['max_output_diff']:.1e}, "
                        f"largest relative gradient difference {r['max_relative_grad_diff']:.1e}."]


def render_ddp(r: dict) -> list[str]:
    p = r["params"]
    lines = ["## Data-parallel training: 1 process vs 2 torchrun processes (gloo, CPU)", "", *_provenance(r),
             f"- {p['dataset']} ({r['molecules']} molecules), {p['setting']} MetaLink L={p['layers']}, hidden "
             f"{p['hidden']}, batch {p['batch_size']} per process, {p['epochs']} epochs, {p['threads']} torch "
             "thread(s) per process; epoch = training + validation, median over the epochs", ""]
    lines += _table(["processes", "s/epoch", "epochs (s)", "wall s", "test ROC-AUC"],
                    [[name, run["epoch_s"], ", ".join(map(str, run["epoch_s_all"])), run["wall_s"],
                      run["test_roc_auc"]] for name, run in r["runs"].items()])
    return [*lines, "", f"Ratio epoch time 1 process / 2 processes: **{r['ratio']:.3f}**."]


def render_memory(r: dict) -> list[str]:
    lines = ["## Memory of one training epoch: memory-mapped bank, sparse labels", "", *_provenance(r),
             f"- MetaLink L=2, relational, GCN encoder, batch {r['batch_size']}, {r['featurizer']} features of the "
             f"bundled ToxCast molecules tiled to the row count, {r['label_storage']} labels (seeded, binary)", ""]
    lines += _table(["rows x tasks", "density", "labels MB (dense MB)", "bank MB on disk", "bank B/molecule",
                     "epoch s", "peak RSS GB", "growth over imports GB"],
                    [[f"{c['rows']} x {c['tasks']}", c["density"],
                      f"{c['label_bytes'] / 2**20:.1f} ({c['dense_label_bytes'] / 2**20:.0f})",
                      f"{c['bank_bytes'] / 2**20:.0f}", f"{c['bank_bytes_per_molecule']:.0f}",
                      f"{c['epoch_seconds']:.0f}", f"{c['peak_rss_gb']:.2f}", f"{c['peak_growth_gb']:.2f}"]
                     for c in r["cases"]])
    first = next((c for c in r["cases"] if 80_000 <= c["rows"] <= 100_000), None)
    if first is not None:
        lines += ["", f"Peak RSS of the {first['rows']}-row epoch: **{first['peak_rss_gb']:.2f} GB** (target <= "
                  f"{r['target_90k_gb']} GB: {_verdict(first['peak_rss_gb'] <= r['target_90k_gb'])})."]
    lines += [f"The {c['rows']}-row epoch completed with a peak RSS of **{c['peak_rss_gb']:.2f} GB** (target: within "
              "the machine's memory: met)." for c in r["cases"] if c["rows"] >= 1_000_000]
    return lines


def render_large_run(r: dict) -> list[str]:
    lib = r["library"]
    lines = ["## A large library end to end: featurize, train one epoch, evaluate", "", *_provenance(r),
             f"- long-format CSV of {lib['molecules']} molecules x {lib['tasks']} tasks, {lib['labels']} labels "
             f"(density {lib['density']:.4f}), {lib['csv_bytes'] / 2**20:.0f} MB gzipped; featurize with "
             f"{r['workers']} workers; test ROC-AUC after one epoch {r['test_roc_auc']:.3f} (random labels: ~0.5)", ""]
    lines += _table(["step", "wall s", "peak RSS GB"],
                    [[s["step"], f"{s['seconds']:.0f}", f"{s['peak_rss_gb']:.2f}"] for s in r["steps"]])
    return [*lines, "", "Files (MB): " + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in r["file_bytes"].items()) + "."]


def render_aggregate(r: dict) -> list[str]:
    p = r["params"]
    lines = ["## KG layer aggregation kernel: dense product vs DGL's u_mul_e_sum (forward + backward)", "",
             *_provenance(r), f"- one relation of a binary-label KG per row (B data rows x T tasks, a fraction of "
             f"the pairs revealed), hidden {p['hidden']}, median of {p['repeats']} calls; the library multiplies a "
             f"dense adjacency up to {p['dense_per_edge']} entries per edge", ""]
    lines += _table(["B x T", "fill", "relation", "entries per edge", "dense ms", "sparse ms", "dense/sparse",
                     "library's choice"],
                    [[f"{c['B']} x {c['T']}", c["density"], c["relation"], f"{c['entries_per_edge']:.0f}",
                      "—" if c["dense_s"] is None else f"{1e3 * c['dense_s']:.3f}", f"{1e3 * c['sparse_s']:.3f}",
                      "—" if c["ratio"] is None else f"{c['ratio']:.2f}",
                      c["chosen"] + ("" if c["chosen_is_faster"] else " (slower)")] for c in r["rows"]])
    return [*lines, "", f"The library's choice was the faster kernel in **{r['chosen_is_faster']}** cases."]


def render_ridge(r: dict) -> list[str]:
    p = r["params"]
    lines = ["## Ridge heads of new tasks: feature space (D x D) vs sample space (B x B), forward + backward", "",
             *_provenance(r), f"- one block per row (B embeddings, T new tasks, a fraction of the pairs revealed), "
             f"hidden {p['hidden']}, median of {p['repeats']} calls; the library solves in sample space when B < D; "
             "difference = the largest difference of the two forms' heads relative to the largest head entry", ""]
    lines += _table(["block", "B", "T", "fill", "feature ms", "sample ms", "feature/sample", "library's choice",
                     "difference"],
                    [[c["block"], c["B"], c["T"], c["fill"], f"{1e3 * c['feature_s']:.1f}",
                      f"{1e3 * c['sample_s']:.1f}", f"{c['ratio']:.2f}",
                      c["chosen"] + ("" if c["chosen_is_faster"] else " (slower)"),
                      f"{c['max_head_difference']:.1e}"] for c in r["rows"]])
    return [*lines, "", f"The library's choice was the faster form in **{r['chosen_is_faster']}** cases."]


def render_peer(r: dict) -> list[str]:
    p = r["params"]
    lines = ["## Training epoch of the chemprop peer beside ERM and MetaLink", "", *_provenance(r),
             f"- batch {p['batch_size']}, device {p['device']}, the library's training loop; median of "
             f"{p['rounds']} alternating rounds; "
             + "; ".join(f"{k} `{v}`" for k, v in p["models"].items()), ""]
    lines += _table(["dataset", "molecules", "tasks", "model", "parameters", "s/epoch", "epochs (s)", "x ERM"],
                    [[d["dataset"], d["molecules"], d["tasks"], k, f"{d['parameters'][k]:,}", f"{s:.2f}",
                      ", ".join(map(str, d["epoch_s_all"][k])), f"**{d['ratio_to_erm'][k]:.2f}**"]
                     for d in r["datasets"] for k, s in d["epoch_s"].items()])
    return lines


def render_other(r: dict) -> list[str]:
    scalars = [[k, v] for k, v in r.items()
               if isinstance(v, (int, float, str, bool)) and k not in ("command", "commit", "date")]
    return [f"## {r['benchmark']}", "", *_provenance(r), "", *_table(["field", "value"], scalars)]


RENDERERS = {"kg_scale": render_kg_scale, "epoch": render_epoch, "featurize": render_featurize,
             "vision": render_vision, "mpnn": render_mpnn, "ddp": render_ddp, "memory": render_memory,
             "large_run": render_large_run, "aggregate": render_aggregate, "peer": render_peer,
             "ridge": render_ridge}


def render(results: dict) -> str:
    lines = ["# Benchmarks", "",
             f"Generated by `benchmarks/report.py` from `{results['source']}` on {results['generated']}; "
             "do not edit by hand. How to run and what the ratios mean: "
             "[benchmarks/README.md](../benchmarks/README.md).", ""]
    for r in results["records"]:
        lines += [*RENDERERS.get(r["benchmark"], render_other)(r), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path, help="JSON files written by the benchmarks' --json")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"),
                        help="output path without extension: OUT.json and OUT.md [results/benchmarks]")
    args = parser.parse_args(argv)

    json_path, md_path = args.out.with_suffix(".json"), args.out.with_suffix(".md")
    existing = json.loads(json_path.read_text())["records"] if json_path.exists() else []
    new = [r for path in args.records for r in load_records(path)]
    if not existing and not new:
        sys.exit(f"no records: give JSON files written by the benchmarks' --json (and {json_path} does not exist)")
    results = {"generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "source": str(json_path),
               "records": merge(existing, new)}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(json_path, results)
    atomic_write_text(md_path, render(results))
    print(f"{len(results['records'])} record(s) -> {json_path}, {md_path}")


if __name__ == "__main__":
    main()
