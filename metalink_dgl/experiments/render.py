"""A results dict -> Markdown (and plots), rendered from the JSON alone: edit a number in the JSON and
the Markdown follows.

Report kinds (``report: {kind: ...}`` in the config):

* ``table`` (Tables 1 and 5): per dataset, a row per (setting, method): ours | paper | Δ; with
  ``report.candidates``, the default decision
  (:func:`~metalink_dgl.experiments.analysis.default_decision`);
* ``task-correlation`` (Table 3): tasks ranked by their average Pearson correlation with
  the others; per-task ROC-AUC of a baseline cell vs a MetaLink cell, and a heat map;
* ``aux-ratio`` (Figure 4): the chosen checkpoints re-scored at several test auxiliary
  ratios, against a published reference value drawn as a dashed line;
* ``endpoints`` (continuous tasks, e.g. ADME): per cell R2 and RMSE in original units, on the
  test draw and per sweep (leave one endpoint out, auxiliary ratios), and per endpoint;
* ``ablation`` (variants of the KG layer): per dataset, a row per (setting, method): validation,
  test and the validation difference to the reference (the config's first method); then the
  screening verdict (:func:`~metalink_dgl.experiments.analysis.screening`).
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from ..errors import MetaLinkError
from ..io import atomic_write_json, atomic_write_text
from .analysis import default_decision, picks_text, screening
from .figures import figure_files, plot_figures
from .stats import MISSING, SCALE, machine_line

#: The README block that :func:`update_readme` fills.
README_BEGIN, README_END = "<!-- experiments:begin -->", "<!-- experiments:end -->"


def render(results: dict, image_prefix: str = "") -> str:
    """The Markdown of a results dict (see :func:`collect`); nothing but the dict goes in."""
    kind = results["report"]["kind"]
    body = {"table": _render_table, "task-correlation": _render_correlation, "aux-ratio": _render_aux_ratio,
            "endpoints": _render_endpoints, "ablation": _render_ablation}[kind]
    return "\n".join([*_header(results), *body(results, image_prefix)]).rstrip() + "\n"


def _made_by(commands: list[str], source: str, shown: int = 3) -> str:
    """The clause naming the commands that trained the runs: the first ``shown`` of them, and how
    many more ``source`` lists (a grid finished over many sessions has dozens)."""
    if not commands:
        return ""
    named = ", ".join(f"`{c}`" for c in commands[:shown])
    more = len(commands) - shown
    return f"; the runs were made by {named}" + (f" and {more} more (`run_commands` in {source})" if more > 0 else "")


def _header(r: dict) -> list[str]:
    runs = r["runs"]
    machines = "; ".join(map(machine_line, r["machines"])) or "none yet"
    grid = r["grid"]
    made_by = _made_by(r["run_commands"], f"{r['experiment']}.json")
    lines = [
        f"# {r['title']}", "",
        f"Rendered by `metalink-dgl report` from `{r['experiment']}.json` (do not edit), which "
        f"`{r['command'] or 'metalink-dgl experiment ' + r['config']}` wrote on {r['date']}{made_by}.", "",
        f"{_metric_sentence(r)} Seeds {grid['seeds']}; {_epochs(r)}; sample std over seeds (± 0.0 with one seed).",
        f"Commit(s) of the runs: {', '.join(c[:12] for c in r['commits']) or 'none yet'}. Machine(s): {machines}.",
    ]
    if r.get("paper"):
        lines.append(f"Paper: {r['paper']['source']} (`{r['paper']['file']}`, entry "
                     f"`{r['paper']['key']}`); Δ = ours − paper.")
    if grid["protocol_changed"]:
        lines.append(f"**Quick look, not the paper's protocol**: command-line changes {_changes(grid)}.")
    elif grid["subset"]:
        lines.append(f"Part of the config's grid: {_changes(grid)}.")
    if runs.get("kept_seeds"):
        lines.append(f"{runs['kept_seeds']} (cell, seed) results are kept from `{runs['kept_from']}` "
                     "(`--keep-results`: their runs were made on another machine or in an earlier session; "
                     "each kept seed says so).")
    if runs["missing"] or runs["evaluations_missing"]:
        lines.append(f"**Partial: {runs['missing']} of {runs['total']} runs"
                     + (f" and {runs['evaluations_missing']} sweep evaluations" if runs["evaluations_missing"] else "")
                     + f" missing; cells without a finished seed show {MISSING}.**")
    if r["notes"]:
        lines += ["", r["notes"]]
    return lines + [""]


def _metric_sentence(r: dict) -> str:
    layers = r["grid"]["command_line"]["layers"]
    searched = [layers] if layers is not None else r["grid"]["select_layers"]
    endpoints = r["report"]["kind"] == "endpoints"
    text = ("Test R2 and RMSE (original units) of the continuous endpoints at the best validation epoch (by "
            "validation R2)" if endpoints else "Test ROC-AUC x100 at the best validation epoch") + \
        ", mean ± std over seeds"
    if searched and len(searched) > 1:
        text += (f"; KG layers chosen per seed by validation {'R2' if endpoints else 'ROC-AUC'} among "
                 f"L ∈ {{{', '.join(map(str, searched))}}} (methods with a fixed L are not searched)")
    return text + "."


def _epochs(r: dict) -> str:
    epochs = sorted({c["epochs"] for c in r["cells"]})
    split = sorted({c["options"].get("split", "scaffold") for c in r["cells"]})
    return f"epochs: {'/'.join(map(str, epochs))}; {'/'.join(split)} split"


def _changes(grid: dict) -> str:
    cl = grid["command_line"]
    parts = [f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in cl.items()
             if k != "options" and v is not None]
    parts += [f"{k}={v}" for k, v in cl["options"].items()]
    return ", ".join(parts)


def _pct(x: float | None, digits: int = 1) -> str:
    return MISSING if x is None else f"{SCALE * x:.{digits}f}"


def _ours(s: dict) -> str:
    return MISSING if s["mean"] is None else f"{_pct(s['mean'])} ± {_pct(s['std'])}"


def _paper(row: dict | None) -> str:
    if row is None:
        return MISSING
    text = f"{row['mean']:.1f} ± {row['std']:.1f}"
    return text + (f" (L={row['layers']})" if "layers" in row else "")


def _delta(ours: float | None, paper: float | None) -> str:
    return MISSING if ours is None or paper is None else f"{SCALE * ours - paper:+.1f}"


def _wall(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 \
        else f"{seconds:.0f} s"


def _epoch_time(cell: dict) -> str:
    """Median seconds per training epoch over the cell's seeds that recorded one (— if none did)."""
    times = [s["seconds_per_epoch"] for s in cell.get("per_seed", []) if s.get("seconds_per_epoch")]
    return MISSING if not times else f"{statistics.median(times):.1f} s"


def _paper_row(results: dict, **match) -> dict | None:
    rows = (results.get("paper") or {}).get("rows") or []
    return next((row for row in rows if all(row.get(k) == v for k, v in match.items())), None)


def _render_table(r: dict, image_prefix: str) -> list[str]:
    lines = []
    n_seeds = len(r["grid"]["seeds"])
    paper_name = {name: m.get("paper", name) for name, m in r["grid"]["methods"].items()}
    ours_methods = set(paper_name.values())
    for dataset in r["grid"]["datasets"]:
        lines += [f"## {dataset}", "",
                  "| setting | method | ours | seeds | L chosen | paper | Δ | s / epoch | wall time |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for setting in r["grid"]["settings"]:
            for c in (c for c in r["cells"] if (c["dataset"], c["setting"]) == (dataset, setting)):
                paper = _paper_row(r, dataset=dataset, setting=setting,
                                   method=paper_name.get(c["method"], c["method"]))
                lines.append(f"| {setting} | {c['method']} | {_ours(c['test'])} | {len(c['seeds'])}/{n_seeds} | "
                             f"{', '.join(map(str, c['layers_chosen'])) or MISSING} | {_paper(paper)} | "
                             f"{_delta(c['test']['mean'], paper and paper['mean'])} | {_epoch_time(c)} | "
                             f"{_wall(c['wall_seconds'])} |")
            for row in (r.get("paper") or {}).get("rows") or []:
                if (row.get("dataset"), row.get("setting")) == (dataset, setting) and row["method"] not in ours_methods:
                    lines.append(f"| {setting} | {row['method']} | not run here | | | {_paper(row)} | | | |")
        lines.append("")
    lines += _render_decision(r)
    return lines + [f"![{r['title']}]({image_prefix}{name})" for name in figure_files(r)] + [""]


def _render_decision(r: dict) -> list[str]:
    decisions = default_decision(r)
    if not decisions:
        return []
    default, datasets = r["report"]["default"], r["grid"]["datasets"]

    def delta(c: dict) -> str:
        return f"{c['setting']} " + ("…" if c["delta_val"] is None else f"{SCALE * c['delta_val']:+.2f}")

    def verdict(d: dict) -> str:
        if d["verdict"] == "no":
            return "no: loses " + ", ".join(f"{ds} {setting}" for ds, setting in d["lost"])
        return "yes" if d["verdict"] == "yes" else f"pending ({d['pending']} cell{'s' * (d['pending'] != 1)})"

    lines = ["## Default decision", "",
             f"A candidate replaces {default} as the default only if its validation mean is above {default}'s in "
             "every (dataset, setting) cell it runs in, each with every seed finished for both: one lost cell "
             "decides against it. Δ val x100 per cell (… : a seed still missing); test numbers play no part.", "",
             f"| candidate | {' | '.join(datasets)} | won / lost / pending | mean Δ val | replaces {default} |",
             "|" + " --- |" * (len(datasets) + 4)]
    for d in decisions:
        cells = " | ".join("; ".join(delta(c) for c in d["cells"] if c["dataset"] == ds) or MISSING for ds in datasets)
        mean = MISSING if d["mean_delta_val"] is None else f"{SCALE * d['mean_delta_val']:+.1f}"
        lines.append(f"| {d['method']} | {cells} | {len(d['won'])} / {len(d['lost'])} / {d['pending']} | {mean} | "
                     f"{verdict(d)} |")
    return lines + [""]


def _render_ablation(r: dict, image_prefix: str) -> list[str]:
    reference = next(iter(r["grid"]["methods"]))
    lines = [f"Validation decides (Δ val = validation minus {reference}, same setting); test is shown, "
             "never used to choose.", ""]
    for dataset in r["grid"]["datasets"]:
        lines += [f"## {dataset}", "", "| setting | method | options | validation | test | Δ val | L | wall time |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for setting in r["grid"]["settings"]:
            cells = [c for c in r["cells"] if (c["dataset"], c["setting"]) == (dataset, setting)]
            ref = next((c["val"]["mean"] for c in cells if c["method"] == reference), None)
            for c in cells:
                options = ", ".join(f"{k}={v}" for k, v in c["options"].items()) or "(eq. 3)"
                lines.append(f"| {setting} | {c['method']} | {options} | {_ours(c['val'])} | {_ours(c['test'])} | "
                             f"{_delta(c['val']['mean'], None if ref is None else SCALE * ref)} | "
                             f"{', '.join(map(str, c['layers_chosen'])) or MISSING} | {_wall(c['wall_seconds'])} |")
        lines.append("")
    datasets = r["grid"]["datasets"]
    lines += ["## Screening verdict", "",
              f"Δ val x100 per dataset, averaged over its settings; a variant that beats {reference} on validation "
              "on more than one dataset is a finalist (full protocol next: 3 seeds, L searched 2..5).", "",
              f"| variant | {' | '.join(datasets)} | datasets won | finalist |", "|" + " --- |" * (len(datasets) + 3)]
    for v in screening(r):
        deltas = " | ".join(MISSING if v["delta_val"][d] is None else f"{SCALE * v['delta_val'][d]:+.1f}"
                            for d in datasets)
        lines.append(f"| {v['method']} | {deltas} | {', '.join(v['won']) or 'none'} | "
                     f"{'yes' if v['finalist'] else 'no'} |")
    return lines + ["", *[f"![{r['title']}]({image_prefix}{name})" for name in figure_files(r)], ""]


def _render_aux_ratio(r: dict, image_prefix: str) -> list[str]:
    reference = r["report"].get("reference")
    datasets = r["grid"]["datasets"]
    refs = {d: _paper_row(r, dataset=d, method=reference) for d in datasets}
    cells = {d: next((c for c in r["cells"] if c["dataset"] == d), None) for d in datasets}
    sweep = next(iter(r["grid"]["evaluate"]), "aux_ratio")
    head = " | ".join(f"{d} | Δ {reference}" for d in datasets)
    lines = [f"MetaLink ({', '.join(sorted({c['setting'] for c in r['cells']}))} setting, trained with the default "
             f"auxiliary ratio) re-scored on the same test molecules with each revealing a fraction `{sweep}` of "
             f"the other tasks (a fresh seeded draw per ratio). Dashed line in the plot and Δ: {reference} as "
             f"published in the paper's Table 1 (it cannot use auxiliary labels).", "",
             f"| {sweep} | {head} |", "| --- |" + " --- | --- |" * len(datasets)]
    values = r["grid"]["evaluate"].get(sweep, [])
    for i, v in enumerate(values):
        row = []
        for d in datasets:
            point = cells[d]["sweep"][sweep][i] if cells[d] else {"mean": None, "std": None, "seeds": []}
            ref = refs[d]
            row.append(f"{_ours(point)} (n={len(point['seeds'])}) | {_delta(point['mean'], ref and ref['mean'])}")
        lines.append(f"| {v:g} | " + " | ".join(row) + " |")
    lines.append(f"| {reference} (paper) | " + " | ".join(f"{_paper(refs[d])} | " for d in datasets) + "|")
    chosen = "; ".join(f"{d}: {', '.join(map(str, cells[d]['layers_chosen'])) or MISSING}"
                       for d in datasets if cells[d])
    lines += ["", f"KG layers chosen per seed: {chosen}.", ""]
    lines += [f"![{r['title']}]({image_prefix}{name})" for name in figure_files(r)]
    return lines + [""]


def _render_correlation(r: dict, image_prefix: str) -> list[str]:
    a = r["analysis"]
    base, ours = (f"{c['method']}, {c['setting']}" for c in a["compare"])
    paper = r.get("paper") or {}
    lines = [f"Tasks of {a['dataset']} ranked by their average {a['correlation']} Pearson correlation with the "
             f"other {len(a['task_names']) - 1} tasks (label matrix, pairwise over the molecules where both labels "
             f"are observed; all {a['n_molecules']} molecules). Per seed, the mean test ROC-AUC of the group's tasks; "
             "then mean ± std over seeds. Improvement = relative gain of the second over the first.", "",
             "| tasks | cell | ours | paper | Δ |", "| --- | --- | --- | --- | --- |"]
    for name, g in a["groups"].items():
        label = f"{len(g['tasks'])} {name}est-correlation tasks"
        rows = [(f"{base}", g["baseline"], _paper_row(r, group=name, setting=a["compare"][0]["setting"])),
                (f"{ours}", g["ours"], _paper_row(r, group=name, setting=a["compare"][1]["setting"]))]
        for cell, s, p in rows:
            lines.append(f"| {label} | {cell} | {_ours(s)} (n={len(s['values'])}) | {_paper(p)} | "
                         f"{_delta(s['mean'], p and p['mean'])} |")
        gain, paper_gain = g["improvement_percent"], (paper.get("improvement_percent") or {}).get(name)
        lines.append(f"| {label} | improvement | {MISSING if gain is None else f'{gain:+.1f}%'} | "
                     f"{MISSING if paper_gain is None else f'{paper_gain:+.1f}%'} | "
                     f"{MISSING if None in (gain, paper_gain) else f'{gain - paper_gain:+.1f}'} |")
    ours_picks = {name: sorted(g["indices"]) for name, g in a["groups"].items()}
    lines += ["", f"Our picks (0-based column indices): {picks_text(ours_picks)}."]
    if paper.get("tasks"):
        same = all(sorted(paper["tasks"].get(k, [])) == v for k, v in ours_picks.items())
        lines[-1] += (f" The paper's: {picks_text(paper['tasks'])} ({paper.get('task_note', 'indexing not stated')}): "
                      + ("the same tasks, counting from 0." if same else "not the same as ours."))
    lines += ["", f"| task | index | group | average corr. | {base} | {ours} |", "|" + " --- |" * 6]
    for t in a["per_task"]:
        lines.append(f"| {t['task']} | {t['index']} | {t['group']} | {t['average']:+.3f} | "
                     f"{_ours(t['baseline'])} | {_ours(t['ours'])} |")
    lines += ["", *[f"![Pearson correlation of the {a['dataset']} tasks]({image_prefix}{n})" for n in figure_files(r)]]
    return lines + [""]


def _render_endpoints(r: dict, image_prefix: str) -> list[str]:
    sweeps = r["grid"]["evaluate"]
    loo = "leave_one_out" in sweeps
    lines = []
    for dataset in r["grid"]["datasets"]:
        cells = [c for c in r["cells"] if c["dataset"] == dataset]
        done = [c for c in cells if c.get("regression")]
        lines += [f"## {dataset}", "",
                  "| setting | method | test R2 | test RMSE | seeds | L chosen |"
                  + (" leave-one-out R2 | leave-one-out RMSE |" if loo else "") + " wall time |",
                  "| --- " * (9 if loo else 7) + "|"]
        for c in cells:
            reg = c.get("regression")
            chosen = ", ".join(map(str, c["layers_chosen"])) or MISSING
            row = (f"| {c['setting']} | {c['method']} | {_value(reg, 'test', 'r2')} | {_value(reg, 'test', 'rmse')} | "
                   f"{len(c['seeds'])}/{len(r['grid']['seeds'])} | {chosen} |")
            if loo:
                row += f" {_value(reg, 'loo', 'r2')} | {_value(reg, 'loo', 'rmse')} |"
            lines.append(row + f" {_wall(c['wall_seconds'])} |")
        if not done:
            lines.append("")
            continue
        names = list(done[0]["regression"]["test"]["per_task"])
        lines += ["", "Per endpoint, test R2 / RMSE (mean over seeds):", "",
                  "| endpoint | " + " | ".join(f"{c['method']} ({c['setting']})" for c in done) + " |",
                  "| --- " * (len(done) + 1) + "|"]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(_endpoint(c, name) for c in done) + " |")
        if loo:
            lines += ["", "Leave one endpoint out (each endpoint of each test molecule predicted from all its other "
                      "measured endpoints; relational blocks also hold training molecules with all their values), "
                      "R2 / RMSE:", "",
                      "| endpoint | " + " | ".join(f"{c['method']} ({c['setting']})" for c in done) + " |",
                      "| --- " * (len(done) + 1) + "|"]
            for name in names:
                lines.append(f"| {name} | " + " | ".join(_endpoint(c, name, "loo") for c in done) + " |")
        for sweep in (s for s in sweeps if s != "leave_one_out"):
            lines += ["", f"Test R2 with each test molecule revealing a fraction `{sweep}` of its other endpoints "
                      "(a fresh seeded draw per value; a standard model ignores them, its numbers move only "
                      "because revealed values are not scored):", "",
                      f"| {sweep} | " + " | ".join(f"{c['method']} ({c['setting']})" for c in done) + " |",
                      "| --- " * (len(done) + 1) + "|"]
            for v in sweeps[sweep]:
                lines.append(f"| {v:g} | " + " | ".join(_plain(c["regression"]["sweep"][sweep][f"{v:g}"]["mean"]["r2"])
                                                        for c in done) + " |")
        lines.append("")
    return lines + [f"![{r['title']}]({image_prefix}{name})" for name in figure_files(r)] + [""]


def _stats_of(reg: dict | None, where: str) -> dict | None:
    """A cell's regression summary on the test draw (``test``) or leaving one endpoint out (``loo``)."""
    if not reg:
        return None
    return reg["test"] if where == "test" else reg["sweep"].get("leave_one_out", {}).get("1")


def _value(reg: dict | None, where: str, key: str) -> str:
    found = _stats_of(reg, where)
    return MISSING if found is None else _plain(found["mean"][key])


def _endpoint(cell: dict, name: str, where: str = "test") -> str:
    found = (_stats_of(cell["regression"], where) or {}).get("per_task", {}).get(name)
    if not found or found["r2"]["mean"] is None:
        return MISSING
    return f"{found['r2']['mean']:.3f} / {found['rmse']['mean']:.3f}"


def _plain(s: dict) -> str:
    """``0.512 ± 0.020``: a metric that is not a percentage (R2, RMSE)."""
    return MISSING if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}"


def write_results(results: dict, results_dir: str | Path) -> list[Path]:
    """Write ``<name>.json``, ``<name>.md`` (rendered from the JSON) and the plots; returns the paths."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = atomic_write_json(results_dir / f"{results['experiment']}.json", results)
    return [json_path, *render_files(json.loads(json_path.read_text()), results_dir)]  # from the file alone


def render_files(results: dict, results_dir: Path) -> list[Path]:
    """The Markdown and plots of a results dict, next to its JSON."""
    md = atomic_write_text(results_dir / f"{results['experiment']}.md", render(results))
    return [md, *plot_figures(results, results_dir)]


def update_readme(readme: str | Path, results: list[dict], results_prefix: str = "results/") -> None:
    """Fill the block between :data:`README_BEGIN` and :data:`README_END` with the rendered results."""
    readme = Path(readme)
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise MetaLinkError(f"{readme}: no {README_BEGIN} ... {README_END} block to fill")
    blocks = [re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", render(r, results_prefix),
                     flags=re.MULTILINE) for r in results]
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    body = "\n".join(blocks) if blocks else "No results yet: run `experiments/all.sh`.\n"
    atomic_write_text(readme, f"{head}{README_BEGIN}\n{body}{README_END}{tail}")
