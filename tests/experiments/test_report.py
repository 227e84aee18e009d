"""Layer selection, aggregation and Markdown, on fake run outputs (no training)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.experiments import Overrides, collect, load_experiment, render, write_results
from metalink_dgl.experiments.analysis import default_decision, screening
from metalink_dgl.experiments.figures import draw_figure
from metalink_dgl.experiments.render import README_BEGIN, README_END
from metalink_dgl.experiments.runner import check_existing
from metalink_dgl.io import atomic_write_json
from metalink_dgl.plots import plt

TABLE = """
name: tab
title: A table
datasets: [sider]
settings: [standard, relational]
seeds: [0, 1, 2]
select: {layers: [2, 3, 4]}
methods:
  MetaLink: {settings: [relational]}
  ERM: {layers: 0, settings: [standard]}
paper: {file: paper.yaml, key: tab}
"""

#: (seed, layers) -> (validation, test) ROC-AUC of the fake MetaLink runs
FAKE = {(0, 2): (0.70, 0.60), (0, 3): (0.80, 0.75), (0, 4): (0.79, 0.90),  # best validation: L3, not best test
        (1, 2): (0.81, 0.70), (1, 3): (0.81, 0.50), (1, 4): (0.60, 0.99),  # tie on validation: fewer layers
        (2, 2): (0.75, 0.72), (2, 3): (0.76, 0.73)}                        # L4 missing: seed 2 not reported


def _fake_metrics(run, val: float, test: float) -> None:
    run.dir.mkdir(parents=True)
    atomic_write_json(run.dir / "metrics.json", {
        "seed": run.seed, "val_roc_auc": val, "test_roc_auc": test, "best_epoch": 3,
        "seconds_per_epoch": 1 + 2 * run.seed + run.layers / 4,  # tells the seeds and their chosen L apart
        "test": {"roc_auc": test, "n_tasks_scored": 2, "n_tasks_skipped": 0, "per_task": {"a": test, "b": test}}})
    atomic_write_json(run.dir / "run.json", {"wall_seconds": 10.0, "commit": "abc123", "machine": {
        "platform": "TestOS", "cpu_count": 2, "torch": "t", "dgl": "d"}})


def _pixels(fig) -> np.ndarray:
    """The RGBA pixels of ``fig`` saved as the results' PNG is (dpi 120); closes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    buffer.seek(0)
    return plt.imread(buffer)


def _fake_grid(write_config, tmp_path):
    exp = load_experiment(write_config(TABLE, "tab"))
    for run in exp.runs(tmp_path / "runs"):
        if run.method == "MetaLink" and (run.seed, run.layers) in FAKE:
            _fake_metrics(run, *FAKE[(run.seed, run.layers)])
        elif run.method == "ERM" and run.seed == 0:
            _fake_metrics(run, 0.6, 0.55)
    return exp


def test_layers_chosen_on_validation_and_partial_cells(write_config, tmp_path):
    exp = _fake_grid(write_config, tmp_path)
    results = collect(exp, tmp_path / "runs", command="metalink-dgl experiment tab.yaml")
    erm, metalink = results["cells"]
    assert metalink["layers_chosen"] == [3, 2] and metalink["seeds"] == [0, 1] and metalink["missing_seeds"] == [2]
    assert metalink["test"]["values"] == [0.75, 0.70] and abs(metalink["test"]["mean"] - 0.725) < 1e-12
    assert metalink["per_seed"][0]["by_layers"]["4"] == {"val": 0.79, "test": 0.90}
    assert metalink["wall_seconds"] == 2 * 3 * 10.0  # every tried L of the two complete seeds
    assert erm["seeds"] == [0] and erm["test"]["std"] == 0.0
    assert results["runs"] == {"total": 12, "finished": 9, "missing": 3, "evaluations_missing": 0, "kept_seeds": 0,
                              "kept_from": None}
    assert results["commits"] == ["abc123"] and results["paper"]["source"] == "Table T of a test"

    md = render(results)
    assert "**Partial: 3 of 12 runs missing" in md
    # s / epoch: the median over seeds of the chosen run's (seed 0 L 3: 1.75 s, seed 1 L 2: 3.5 s)
    assert "| relational | MetaLink | 72.5 ± 3.5 | 2/3 | 3, 2 | 70.0 ± 2.0 (L=3) | +2.5 | 2.6 s | 1.0 min |" in md
    assert "| standard | ERM | 55.0 ± 0.0 | 1/3 | 0 | — | — | 1.0 s | 10 s |" in md
    assert "| standard | GROVER | not run here | | | 65.0 ± 1.0 | | | |" in md


def test_table_figure_of_a_partial_grid_shows_each_cell_with_its_seed_count(write_config, tmp_path):
    fig = draw_figure(collect(_fake_grid(write_config, tmp_path), tmp_path / "runs"))
    try:
        ax = fig.axes[0]
        bars = [(round(p.get_x() + p.get_width() / 2), round(p.get_height(), 6)) for p in ax.patches]
        assert bars == [(0, 55.0), (1, 72.5)]  # (setting index, mean): ERM standard, MetaLink relational
        assert [t.get_text() for t in ax.texts] == ["1", "2"]  # finished seeds at the foot of each bar
        diamonds = next(line for line in ax.get_lines() if line.get_marker() == "D")
        assert list(diamonds.get_ydata()) == [70.0] and ax.get_title() == "sider"
    finally:
        plt.close(fig)


def test_markdown_is_rendered_from_the_json_alone(write_config, tmp_path):
    exp = _fake_grid(write_config, tmp_path)
    paths = write_results(collect(exp, tmp_path / "runs"), tmp_path / "results")
    assert [p.name for p in paths] == ["tab.json", "tab.md", "tab.png"]
    data = json.loads((tmp_path / "results" / "tab.json").read_text())
    assert (tmp_path / "results" / "tab.md").read_text() == render(data)
    assert "![A table](tab.png)" in render(data)
    assert np.array_equal(plt.imread(tmp_path / "results" / "tab.png"), _pixels(draw_figure(data)))

    data["cells"][1]["test"]["mean"] = 0.123456  # an edited number shows up in the Markdown
    data["paper"]["rows"][0]["mean"] = 99.9
    (tmp_path / "results" / "tab.json").write_text(json.dumps(data))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_BEGIN}\nSTALE BLOCK\n{README_END}\noutro\n")
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "results" / "tab.json"), "--readme", str(readme)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "results" / "tab.md").read_text()
    assert "| relational | MetaLink | 12.3 ± 3.5 | 2/3 | 3, 2 | 99.9 ± 2.0 (L=3) | -87.6 |" in md
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "STALE" not in text
    assert "### A table" in text and "#### sider" in text and "12.3 ± 3.5" in text


def test_the_header_names_the_first_three_grid_commands_and_counts_the_rest(write_config, tmp_path):
    exp = _fake_grid(write_config, tmp_path)
    data = collect(exp, tmp_path / "runs")
    data["run_commands"] = [f"metalink-dgl experiment tab.yaml --datasets d{i}" for i in range(5)]
    header = render(data).split("\n\n")[1]
    assert "`metalink-dgl experiment tab.yaml --datasets d2` and 2 more (`run_commands` in tab.json)" in header
    assert "d3" not in header
    data["run_commands"] = data["run_commands"][:1]
    assert render(data).split("\n\n")[1].endswith("the runs were made by `metalink-dgl experiment tab.yaml "
                                                   "--datasets d0`.")


def test_experiment_report_only_needs_partial_while_runs_are_missing(write_config, tmp_path):
    _fake_grid(write_config, tmp_path)
    args = ["experiment", str(tmp_path / "configs" / "tab.yaml"), "--runs", str(tmp_path / "runs"),
            "--results", str(tmp_path / "results"), "--report-only"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0 and "3 runs and 0 sweep evaluations missing" in result.output
    assert not (tmp_path / "results").exists()
    result = CliRunner().invoke(cli, [*args, "--partial"], catch_exceptions=False)
    assert result.exit_code == 0 and (tmp_path / "results" / "tab.md").is_file()
    assert "metalink-dgl experiment" in json.loads((tmp_path / "results" / "tab.json").read_text())["command"]


def test_a_directory_holding_a_run_with_other_options_is_refused(write_config, tmp_path):
    exp = _fake_grid(write_config, tmp_path)
    run = exp.runs(tmp_path / "runs")[0]
    check_existing([run])  # the fake runs have no config.json: nothing to compare
    atomic_write_json(run.dir / "config.json", {**run.config.to_dict(), "hidden": 999, "device": "cuda"})
    with pytest.raises(MetaLinkError, match=r"holds a run made with other options: hidden=999 \(wanted "):
        check_existing([run])


def test_results_name_no_machine_folder():
    from metalink_dgl.experiments.stats import portable_command

    cmd = "metalink-dgl experiment experiments/configs/table1.yaml --runs /data/me/runs --results 'res dir' -j 2"
    assert portable_command(cmd) == ("metalink-dgl experiment experiments/configs/table1.yaml --runs '<path>' "
                                     "--results 'res dir' -j 2")
    assert portable_command("unbalanced 'quote") == "unbalanced 'quote"


def test_report_refuses_a_json_that_is_not_an_experiment_result(write_config, tmp_path):
    exp = _fake_grid(write_config, tmp_path)
    good = write_results(collect(exp, tmp_path / "runs"), tmp_path / "results")[0]
    bench = tmp_path / "results" / "bench_epoch.json"
    bench.write_text(json.dumps({"benchmark": "epoch", "ratio": 1.2}))
    (tmp_path / "results" / "tab.md").unlink()
    result = CliRunner().invoke(cli, ["report", str(good), str(bench)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {bench}: not a results file of `metalink-dgl experiment` (benchmarks are not rendered by report)")
    assert not (tmp_path / "results" / "tab.md").exists()  # nothing rendered before the check


ABLATION = """
name: abl
title: Layer variants
datasets: [sider, tox21, toxcast]
settings: [relational, meta]
seeds: [0]
base: {layers: 2}
methods:
  eq3: {}
  signed: {aggregate: signed}
  sum: {aggregate: sum}
  LaF: {model: labels-as-features, layers: 0, settings: [relational]}
report: {kind: ablation}
"""

#: (dataset, setting, method) -> (validation, test) of the fake runs; validation alone decides
ABLATION_FAKE = {
    ("sider", "relational", "eq3"): (0.60, 0.60), ("sider", "relational", "signed"): (0.62, 0.50),
    ("sider", "meta", "eq3"): (0.55, 0.55), ("sider", "meta", "signed"): (0.54, 0.70),
    ("tox21", "relational", "eq3"): (0.80, 0.80), ("tox21", "relational", "signed"): (0.81, 0.70),
    ("toxcast", "relational", "eq3"): (0.70, 0.70), ("toxcast", "relational", "signed"): (0.69, 0.90),
    ("sider", "relational", "sum"): (0.59, 0.99), ("tox21", "relational", "sum"): (0.90, 0.10),
    ("sider", "relational", "LaF"): (0.70, 0.70),
}


def test_ablation_report_screens_variants_on_validation_only(write_config, tmp_path):
    exp = load_experiment(write_config(ABLATION, "abl"))
    for run in exp.runs(tmp_path / "runs"):
        if (run.dataset, run.setting, run.method) in ABLATION_FAKE:
            _fake_metrics(run, *ABLATION_FAKE[run.dataset, run.setting, run.method])
    results = collect(exp, tmp_path / "runs")
    verdicts = {v["method"]: v for v in screening(results)}
    assert list(verdicts) == ["signed", "sum"]  # the baseline (a model override) is not a layer variant
    # signed: sider (+0.02 - 0.01) / 2 > 0, tox21 +0.01, toxcast -0.01 -> wins two datasets
    assert verdicts["signed"]["won"] == ["sider", "tox21"] and verdicts["signed"]["finalist"]
    assert verdicts["signed"]["delta_val"]["toxcast"] == pytest.approx(-0.01)
    # sum: the best test numbers, but it beats eq. 3 on validation on tox21 only -> not a finalist
    assert verdicts["sum"]["won"] == ["tox21"] and not verdicts["sum"]["finalist"]
    assert verdicts["sum"]["delta_val"]["toxcast"] is None  # no run there
    md = render(results)
    assert "| relational | signed | aggregate=signed | 62.0 ± 0.0 | 50.0 ± 0.0 | +2.0 | 2 | 10 s |" in md
    assert "| relational | eq3 | (eq. 3) | 60.0 ± 0.0 | 60.0 ± 0.0 | +0.0 | 2 | 10 s |" in md
    assert "| signed | +0.5 | +1.0 | -1.0 | sider, tox21 | yes |" in md
    assert "| sum | -1.0 | +10.0 | — | tox21 | no |" in md
    fig = draw_figure(results)
    try:
        val, test = fig.axes[0], fig.axes[1]
        image = val.get_images()[0].get_array()
        assert image.shape == (4, 6)  # methods x (dataset, setting)
        assert image[1, 0] == pytest.approx(2.0) and image[2, 2] == pytest.approx(10.0)  # signed/sum rows
        assert np.ma.is_masked(image[3, 1]) or np.isnan(image[3, 1])  # LaF has no meta run
        assert "+2.0" in [t.get_text() for t in val.texts] and test.get_images()[0].get_array()[2, 2] == \
            pytest.approx(-70.0)
    finally:
        plt.close(fig)


DECISION = """
name: dec
title: Default decision
datasets: [sider, tox21]
settings: [relational, meta]
seeds: [0, 1]
methods:
  MetaLink: {layers: 2}
  winner: {layers: 2, aggregate: sum}
  loser: {layers: 2, aggregate: signed}
  unfinished: {layers: 2, label_term: source, settings: [meta]}
  LaF: {model: labels-as-features, layers: 0, settings: [relational]}
report: {kind: table, default: MetaLink, candidates: [winner, loser, unfinished]}
"""


def test_default_decision_needs_a_validation_win_in_every_cell(write_config, tmp_path):
    exp = load_experiment(write_config(DECISION, "dec"))
    validation = {"MetaLink": 0.70, "winner": 0.71, "loser": 0.75, "unfinished": 0.72, "LaF": 0.90}
    for run in exp.runs(tmp_path / "runs"):
        if run.method == "unfinished" and (run.dataset, run.seed) == ("tox21", 1):
            continue  # one seed of one cell missing: that cell is pending
        lost = (run.method, run.dataset, run.setting) == ("loser", "tox21", "meta")
        val = 0.69 if lost else validation[run.method]
        _fake_metrics(run, val, 1.0 - val)  # test runs the other way round: it must not matter
    results = collect(exp, tmp_path / "runs")
    decisions = {d["method"]: d for d in default_decision(results)}
    assert list(decisions) == ["winner", "loser", "unfinished"]  # LaF is no candidate
    assert decisions["winner"]["verdict"] == "yes" and len(decisions["winner"]["won"]) == 4
    assert decisions["winner"]["mean_delta_val"] == pytest.approx(0.01)
    assert decisions["loser"]["verdict"] == "no" and decisions["loser"]["lost"] == [("tox21", "meta")]
    assert decisions["unfinished"]["verdict"] == "pending" and decisions["unfinished"]["pending"] == 1
    assert [c["setting"] for c in decisions["unfinished"]["cells"]] == ["meta", "meta"]  # its settings only
    md = render(results)
    assert "| winner | relational +1.00; meta +1.00 | relational +1.00; meta +1.00 | 4 / 0 / 0 | +1.0 | yes |" in md
    assert "| loser | relational +5.00; meta +5.00 | relational +5.00; meta -1.00 | 3 / 1 / 0 | +3.5 | no: loses " \
           "tox21 meta |" in md
    assert "| unfinished | meta +2.00 | meta … | 1 / 0 / 1 | +2.0 | pending (1 cell) |" in md
    # with the default left out by --methods there is nothing to decide against
    subset = collect(load_experiment(write_config(DECISION, "dec"), Overrides(methods=("winner",))), tmp_path / "runs")
    assert default_decision(subset) == [] and "## Default decision" not in render(subset)
