"""Config YAML -> runs: overrides, method scopes, layer candidates, run directories, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.experiments import Overrides, load_experiment

GRID = """
name: grid
datasets: [sider, tox21]
settings: [standard, relational, meta]
seeds: [0, 1]
base: {epochs: 7, lr: 1e-3}
select: {layers: [2, 3]}
methods:
  MetaLink: {}
  ERM: {layers: 0, settings: [standard]}
  shared: {shared_weights: true, settings: [relational], datasets: [sider]}
"""


def test_grid_cells_runs_and_layer_candidates(write_config):
    exp = load_experiment(write_config(GRID))
    assert exp.cells() == [
        ("sider", "standard", "MetaLink"), ("sider", "standard", "ERM"),
        ("sider", "relational", "MetaLink"), ("sider", "relational", "shared"), ("sider", "meta", "MetaLink"),
        ("tox21", "standard", "MetaLink"), ("tox21", "standard", "ERM"),
        ("tox21", "relational", "MetaLink"), ("tox21", "meta", "MetaLink"),
    ]
    assert exp.layer_candidates("MetaLink") == [2, 3] and exp.layer_candidates("ERM") == [0]
    runs = exp.runs("runs")
    assert len(runs) == 2 * (6 * 2 + 2 + 2)  # per seed: MetaLink 6 cells x 2 L, ERM 2 x 1, shared 1 x 2
    assert [r.seed for r in runs[:16]] == [0] * 16  # seed-major: every cell's seed 0 first
    erm = next(r for r in runs if r.method == "ERM")
    assert (erm.config.layers, erm.config.epochs, erm.config.lr, erm.config.seeds) == (0, 7, 0.001, [0])
    shared = next(r for r in runs if r.method == "shared" and r.layers == 3 and r.seed == 1)
    assert shared.dir == Path("runs/sider/relational/epochs=7,shared_weights=true/L3/seed_1")


def test_identical_configs_share_a_directory_and_quick_looks_do_not(write_config):
    one = load_experiment(write_config(GRID, "one"))
    other = load_experiment(write_config(GRID.replace("MetaLink: {}", "Hetero: {}"), "other"))
    dirs = {r.config.out for r in one.runs("runs") if r.method == "MetaLink"}
    assert dirs == {r.config.out for r in other.runs("runs") if r.method == "Hetero"}
    quick = load_experiment(write_config(GRID), Overrides(options={"max_molecules": 300}, seeds=(5,), layers=4))
    assert quick.overrides.quick_look and quick.seeds == [5] and quick.layer_candidates("MetaLink") == [4]
    assert quick.layer_candidates("ERM") == [0]  # a method's own L is kept
    assert not dirs & {r.config.out for r in quick.runs("runs")}
    device_only = load_experiment(write_config(GRID), Overrides(options={"device": "cpu"}))
    assert not device_only.overrides.quick_look
    assert {r.config.out for r in device_only.runs("runs")} >= dirs


def test_filters(write_config):
    exp = load_experiment(write_config(GRID), Overrides(methods=("ERM",), datasets=("tox21",)))
    assert exp.cells() == [("tox21", "standard", "ERM")]
    with pytest.raises(MetaLinkError, match="--methods nope not in the config"):
        load_experiment(write_config(GRID), Overrides(methods=("nope",)))


@pytest.mark.parametrize("text,match", [
    (GRID.replace("shared_weights: true", "shared_weight: true"), "methods.shared: unknown option 'shared_weight'"),
    (GRID.replace("select:", "selct:"), "unknown key 'selct'"),
    (GRID.replace("epochs: 7", "epochs: seven"), "base.epochs: expected int, got 'seven'"),
    (GRID.replace("epochs: 7", "seeds: [1]"), "base: 'seeds' is set by the grid"),
    (GRID.replace("settings: [standard]}", "settings: [standart]}"), "methods.ERM.settings: 'standart' is not one of"),
    (GRID.replace("ERM: {layers: 0, settings: [standard]}", "ERM: {layers: 0}"), "sider/meta/ERM: --setting meta"),
    (GRID.replace("datasets: [sider, tox21]", "datasets: [sidr]"), "'sidr' is neither a bundled dataset"),
    (GRID.replace("seeds: [0, 1]", "seeds: []"), "'seeds' is missing or empty"),
    ("datasets: [sider\n", "not valid YAML"),
    (GRID + "report: {kind: aux-ratio}", "kind aux-ratio needs evaluate"),
    (GRID + "report: {kind: task-correlation, compare: [{setting: standard}]}", "report.compare: kind task-corr"),
    (GRID + "report: {knd: table}", "report: unknown key 'knd'"),
    (GRID + "report: {default: MetaLink, candidates: [shard]}", "report: default/candidates name methods not in the "
     "config: shard"),
    (GRID + "report: {candidates: [shared]}", "report: default and candidates go together, in kind table"),
    (GRID + "report: {default: shared, candidates: [ERM, shared]}", "report.candidates: shared is the default"),
    (GRID + "report: {kind: ablation, default: MetaLink, candidates: [shared]}", "in kind table \\(not ablation"),
    (GRID.replace("ERM: {", "'ERM, no KG': {"), "the name 'ERM, no KG' has a comma"),
])
def test_bad_config_is_one_line_error_naming_the_file(write_config, text, match):
    path = write_config(text)
    with pytest.raises(MetaLinkError, match=match) as err:
        load_experiment(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_bad_key_through_the_command_line(write_config):
    path = write_config(GRID.replace("lr: 1e-3", "learning_rate: 1e-3"))
    result = CliRunner().invoke(cli, ["experiment", str(path), "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: {path}: base: unknown option 'learning_rate' (not a TrainConfig "
                                          "field; see metalink-dgl train --help)"]


def test_bad_command_line_override(write_config):
    with pytest.raises(MetaLinkError, match="command line: unknown option 'epoch'"):
        load_experiment(write_config(GRID), Overrides(options={"epoch": 1}))
    with pytest.raises(MetaLinkError, match="use --layers"):
        load_experiment(write_config(GRID), Overrides(options={"layers": 1}))


def test_shipped_configs_load(monkeypatch):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)  # configs name their paper file relative to themselves, data by name
    for name in ("table3", "fig4", "table5"):
        exp = load_experiment(root / "experiments" / "configs" / f"{name}.yaml")
        assert exp.seeds == [0, 1, 2] and exp.select_layers == [2, 3, 4, 5]
    table1 = load_experiment(root / "experiments" / "configs" / "table1.yaml",
                             Overrides(methods=("MetaLink", "ERM", "MPNN", "AttentiveFP")))
    assert len(table1.runs("runs")) == 3 * 3 * (4 * 4 + 3)  # seeds x datasets x (4 settings x 4 L + 3 baselines)
    # Table 5's separate-weights runs and Figure 4's runs are Table 1's relational MetaLink runs
    t1 = {r.dir for r in table1.runs("runs") if r.cell[1:] == ("relational", "MetaLink")}
    for name in ("fig4", "table5"):
        exp = load_experiment(root / "experiments" / "configs" / f"{name}.yaml")
        assert {r.dir for r in exp.runs("runs") if r.method == "MetaLink"} == t1


def test_finished_runs_keep_their_folders(monkeypatch):
    """A run folder is named by the options that differ from TrainConfig's defaults, so changing a default
    would rename every finished run (and the runner would train them all again). The names of the paper's
    MetaLink and of the Table 1 variants are pinned here: a change of a default fails this test, and must
    then keep the folder names (name runs against the old defaults) before it lands."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    table1 = load_experiment(root / "experiments" / "configs" / "table1.yaml",
                             Overrides(datasets=("toxcast",), settings=("meta",), seeds=(0,), layers=2))
    keys = {r.method: r.dir.parent.parent.name for r in table1.runs("runs")}
    assert keys["MetaLink"] == "default" and keys["Baseline++"] == "model=baseline++"
    assert keys["MetaLink (labels init+deep supervision+ridge)"] == \
        "data_init=labels,deep_supervision=true,new_task_init=ridge"
    assert keys["MetaLink (authors' held-out tasks)"] == "heldout_tasks=last"
