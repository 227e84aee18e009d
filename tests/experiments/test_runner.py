"""The runner end to end through ``metalink-dgl experiment`` on a tiny grid (real training, 1 epoch)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli as cli_package
import metalink_dgl.experiments.jobs as jobs_module
from cli.main import cli
from metalink_dgl.engine import TrainConfig
from metalink_dgl.experiments import render
from metalink_dgl.experiments.jobs import train_spec
from metalink_dgl.experiments.runner import threads_per_job

pytestmark = pytest.mark.slow

#: A 300-molecule slice of SIDER, one seed, 1 epoch, a small model.
SLICE = """
datasets: [sider]
seeds: [0]
base: {epochs: 1, hidden: 32, batch_size: 64, max_molecules: 300, device: cpu}
"""
RUN_DIR = "batch_size=64,epochs=1,hidden=32,max_molecules=300"

#: The tiny grid: 2 cells (ERM standard, MetaLink relational), Table 3's report.
TINY = SLICE + """
name: tiny
title: Tiny grid
settings: [standard, relational]
methods:
  ERM: {layers: 0, settings: [standard]}
  MetaLink: {layers: 1, settings: [relational]}
paper: {file: paper.yaml, key: corr}
evaluate: {aux_ratio: [0.5]}
report:
  kind: task-correlation
  n_tasks: 2
  compare: [{setting: standard, method: ERM}, {setting: relational, method: MetaLink}]
"""

#: One run that trains, one that fails when it starts (CUDA, which PyPI's DGL lacks).
PARALLEL = SLICE + """
name: par
settings: [relational, meta]
methods:
  MetaLink: {layers: 1, settings: [relational]}
  broken: {layers: 1, device: cuda, settings: [meta]}
"""


def _failed_log(tmp_path):
    return tmp_path / "runs" / "sider" / "meta" / RUN_DIR / "L1" / "seed_0.log"  # the device names no run


def _experiment(config, tmp_path, *args):
    return CliRunner().invoke(cli, ["experiment", str(config), "--runs", str(tmp_path / "runs"),
                                    "--results", str(tmp_path / "results"), "--no-progress", *args],
                              catch_exceptions=False)


def test_tiny_grid_runs_resumes_and_renders_from_json(write_config, tmp_path, monkeypatch):
    config = write_config(TINY, "tiny")
    result = _experiment(config, tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 runs, 0 finished (skipped), 2 to train" in result.output
    assert "done  [1/2] sider standard ERM L0 seed 0" in result.output
    assert "done  [2/2] sider relational MetaLink L1 seed 0" in result.output
    assert "test-time sweeps of 2 chosen runs to score" in result.output

    data = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert [(c["setting"], c["method"], c["seeds"]) for c in data["cells"]] == [
        ("standard", "ERM", [0]), ("relational", "MetaLink", [0])]
    metalink = data["cells"][1]
    assert metalink["per_seed"][0]["run"] == f"sider/relational/{RUN_DIR}/L1/seed_0"
    assert 0 <= metalink["test"]["mean"] <= 1 and metalink["wall_seconds"] > 0 and data["commits"]
    assert data["machines"] and data["runs"]["missing"] == 0 and not data["grid"]["quick_look"]
    assert (tmp_path / "results" / "tiny.md").read_text() == render(data)
    assert (tmp_path / "results" / "tiny_correlation.png").stat().st_size > 0
    sweep = json.loads((tmp_path / "runs" / metalink["per_seed"][0]["run"] / "eval_aux_ratio_0.5.json").read_text())
    assert sweep["aux_ratio"] == 0.5 and metalink["sweep"]["aux_ratio"][0]["values"] == [sweep["roc_auc"]]
    assert len(data["analysis"]["matrix"]) == 27 and len(data["analysis"]["groups"]["low"]["tasks"]) == 2

    runs = sorted((tmp_path / "runs").rglob("metrics.json"))
    stamps = [p.stat().st_mtime_ns for p in runs]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(jobs_module, "train", no_training)
    result = _experiment(config, tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 runs, 2 finished (skipped), 0 to train" in result.output and "sweeps" not in result.output
    assert [p.stat().st_mtime_ns for p in runs] == stamps

    # an interrupted run (last.pt but no metrics.json) is the only one trained again, resuming
    monkeypatch.undo()
    calls = []
    original = jobs_module.train
    monkeypatch.setattr(jobs_module, "train", lambda config, **kw: calls.append(kw) or original(config, **kw))
    runs[0].unlink()
    result = _experiment(config, tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 finished (skipped), 1 to train" in result.output and calls == [{"resume": True, "progress": False}]
    assert json.loads((runs[0].parent / "history.json").read_text())[0]["epoch"] == 0  # not retrained from scratch


def test_parallel_jobs_report_failures_and_go_on(write_config, tmp_path):
    config = write_config(PARALLEL, "par")
    result = _experiment(config, tmp_path, "--jobs", "2", "--partial")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "sider meta broken L1 seed 0" in result.output
    failed_log = _failed_log(tmp_path)
    assert "--device cuda" in failed_log.read_text()
    ok_dir = tmp_path / "runs" / "sider" / "relational" / RUN_DIR / "L1"
    assert not (ok_dir / "seed_0.log").exists()  # logs of successful jobs are not kept
    assert json.loads((ok_dir / "seed_0" / "run.json").read_text())["torch_threads"] == threads_per_job(2)
    data = json.loads((tmp_path / "results" / "par.json").read_text())
    assert data["runs"]["missing"] == 1 and data["cells"][0]["seeds"] == [0] and data["cells"][1]["seeds"] == []
    assert "**Partial: 1 of 2 runs missing" in (tmp_path / "results" / "par.md").read_text()


def test_in_process_failure_is_logged_and_the_exit_code_says_so(write_config, tmp_path):
    config = write_config(PARALLEL, "par")
    result = _experiment(config, tmp_path, "--methods", "broken", "--partial")
    assert result.exit_code == 1 and "FAIL  [1/1] sider meta broken L1 seed 0" in result.output
    log = _failed_log(tmp_path)
    assert "Traceback" in log.read_text() and "MetaLinkError" in log.read_text()


def test_a_run_being_trained_elsewhere_is_not_trained_twice(write_config, tmp_path):
    """A second grid on the same --runs (or one restarted while a killed grid's child still trains) fails
    that run with a one-line reason instead of training it alongside; once the lock is free, it trains."""
    config = write_config(PARALLEL, "par")
    run_dir = tmp_path / "runs" / "sider" / "relational" / RUN_DIR / "L1" / "seed_0"
    with jobs_module.run_lock(run_dir):
        result = _experiment(config, tmp_path, "--methods", "MetaLink", "--partial")
        assert result.exit_code == 1, result.output
        assert f"{run_dir} is being trained by another process (pid {os.getpid()})" in result.output
        assert not run_dir.exists()
    result = _experiment(config, tmp_path, "--methods", "MetaLink")
    assert result.exit_code == 0, result.output
    assert (run_dir / "metrics.json").exists()
    assert not (run_dir.parent / ".seed_0.lock").exists()  # a finished run leaves no lock file

    # A job that waited for the lock while another process finished the run neither retrains
    # it nor overwrites that process's run record.
    record = (run_dir / "run.json").read_text()
    stored = json.loads((run_dir / "config.json").read_text())
    config = TrainConfig.from_dict({k: v for k, v in stored.items() if k not in ("seed", "version")})
    assert jobs_module.run_job(train_spec(config, 0))["test"] == json.loads(
        (run_dir / "metrics.json").read_text())["test_roc_auc"]
    assert (run_dir / "run.json").read_text() == record


def test_the_lock_follows_a_lock_file_replaced_before_it_was_locked(tmp_path, monkeypatch):
    """If the holder finishes (removing the file) between our open and our flock, we lock the new file."""
    import fcntl

    run_dir = tmp_path / "seed_0"
    path = tmp_path / ".seed_0.lock"
    real_flock, calls = fcntl.flock, []

    def flock_after_the_holder_finished(handle, flags):
        if not calls:  # the holder removes its file; a newcomer creates a new one
            path.unlink()
            path.write_text("")
        calls.append(flags)
        return real_flock(handle, flags)

    monkeypatch.setattr(fcntl, "flock", flock_after_the_holder_finished)
    with jobs_module.run_lock(run_dir):
        assert len(calls) == 2 and path.read_text() == str(os.getpid())
    assert not path.exists()


#: Two runs long enough to be stopped while they train.
LONG = SLICE.replace("epochs: 1", "epochs: 1000") + """
name: long
settings: [relational]
seeds: [0, 1]
methods:
  MetaLink: {layers: 1}
"""


def _training_pids(locks: list[Path], timeout: float = 180.0) -> list[int]:
    """The pids the training children wrote into their run locks, once both have started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [lock.read_text().strip() if lock.exists() else "" for lock in locks]
        if all(pids):
            return [int(pid) for pid in pids]
        time.sleep(0.5)
    raise AssertionError(f"the children did not start within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_the_grid_stops_its_children(write_config, tmp_path):
    """``kill <grid pid>`` must not leave the grid's children training in the background."""
    config = write_config(LONG, "long")
    root = Path(cli_package.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    grid = subprocess.Popen([sys.executable, "-m", "cli.main", "experiment", str(config), "--jobs", "2",
                             "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results"),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run_dirs = tmp_path / "runs" / "sider" / "relational" / RUN_DIR.replace("epochs=1,", "epochs=1000,") / "L1"
    pids: list[int] = []
    try:
        pids = _training_pids([run_dirs / ".seed_0.lock", run_dirs / ".seed_1.lock"])
        assert all(_alive(pid) for pid in pids) and grid.pid not in pids
        grid.send_signal(signal.SIGTERM)
        output, _ = grid.communicate(timeout=120)
        survivors = [pid for pid in pids if _alive(pid)]
    finally:  # whatever the outcome, leave nothing training
        grid.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert grid.returncode == 128 + signal.SIGTERM, output
    assert not survivors
    assert output.count("stopped by signal 15") == 2, output
    assert not list(run_dirs.glob("seed_*/metrics.json"))


def test_keep_results_continues_a_grid_on_a_machine_without_its_runs(write_config, tmp_path, monkeypatch):
    """A grid finished elsewhere (only its results JSON here) is not retrained and its seeds are merged."""
    config = write_config(TINY, "tiny")
    assert _experiment(config, tmp_path).exit_code == 0
    before = json.loads((tmp_path / "results" / "tiny.json").read_text())
    (tmp_path / "runs").rename(tmp_path / "elsewhere")  # this machine has only the results file

    def no_training(*args, **kwargs):
        raise AssertionError("a kept seed was trained again")

    monkeypatch.setattr(jobs_module, "train", no_training)
    result = _experiment(config, tmp_path, "--keep-results")
    assert result.exit_code == 0, result.output
    assert "2 runs, 0 finished (skipped), 2 of seeds kept from the results file (not trained), 0 to train" \
        in result.output
    after = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert after["runs"]["missing"] == 0 and after["runs"]["kept_seeds"] == 2
    for old, new in zip(before["cells"], after["cells"]):
        assert new["test"] == old["test"] and new["sweep"] == old["sweep"]
        source = f"tiny.json (report commit {str(before['report_commit'])[:12]})"  # the results are in tmp_path
        assert [e.pop("kept_from") for e in new["per_seed"]] == [source]
        assert new["per_seed"] == old["per_seed"]
    assert after["analysis"] == before["analysis"] and after["machines"] == before["machines"]
    assert "2 (cell, seed) results are kept from `tiny.json" in (tmp_path / "results" / "tiny.md").read_text()

    # where the runs are here after all, they win over the kept entries
    (tmp_path / "elsewhere").rename(tmp_path / "runs")
    assert _experiment(config, tmp_path, "--keep-results", "--report-only").exit_code == 0
    here = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert here["runs"]["kept_seeds"] == 0 and not any("kept_from" in e for c in here["cells"] for e in c["per_seed"])
    assert [c["test"] for c in here["cells"]] == [c["test"] for c in before["cells"]]

    # a cell made with other options is not kept; a results file of another experiment is refused
    changed = write_config(TINY.replace("hidden: 32", "hidden: 16"), "tiny_changed")  # its name is still tiny
    result = _experiment(changed, tmp_path, "--keep-results", "--dry-run")
    assert result.exit_code == 0 and result.output.count("to run") == 2 and "kept" not in result.output
    (tmp_path / "results" / "tiny.json").write_text(json.dumps({**after, "experiment": "other"}))
    result = _experiment(config, tmp_path, "--keep-results", "--dry-run")
    assert result.exit_code == 1 and "tiny.json: not a results file of experiment 'tiny'" in result.output


def test_a_quick_look_keeps_the_seeds_of_the_full_results(write_config, tmp_path, monkeypatch):
    """A filtered grid (--methods) on a machine without the runs trains nothing that results/<name>.json holds."""
    config = write_config(TINY, "tiny")
    assert _experiment(config, tmp_path).exit_code == 0
    (tmp_path / "runs").rename(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path)  # the default results folder is ./results

    def no_training(*args, **kwargs):
        raise AssertionError("a kept seed was trained again")

    monkeypatch.setattr(jobs_module, "train", no_training)
    result = CliRunner().invoke(cli, ["experiment", str(config), "--runs", "runs", "--methods", "MetaLink",
                                      "--keep-results", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 runs, 0 finished (skipped), 1 of seeds kept from the results file (not trained), 0 to train" \
        in result.output
    quick = json.loads((tmp_path / "runs" / "quick-look" / "tiny.json").read_text())
    assert [c["method"] for c in quick["cells"]] == ["MetaLink"] and quick["runs"]["kept_seeds"] == 1


def test_keep_results_without_a_results_file_is_a_one_line_error(write_config, tmp_path):
    result = _experiment(write_config(TINY, "tiny"), tmp_path, "--keep-results", "--dry-run")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert "tiny.json: cannot read the results to keep" in result.output


def test_a_run_trains_data_parallel_on_torchrun_processes(write_config, tmp_path):
    config = write_config(SLICE + """
name: ddp
settings: [relational]
methods:
  MetaLink: {layers: 1, settings: [relational]}
""", "ddp")
    result = _experiment(config, tmp_path, "--nproc-per-node", "2")
    assert result.exit_code == 0, result.output
    assert "done  [1/1] sider relational MetaLink L1 seed 0" in result.output
    run = tmp_path / "runs" / "sider" / "relational" / RUN_DIR / "L1"
    assert not (run / "seed_0.log").exists()
    record = json.loads((run / "seed_0" / "run.json").read_text())
    assert record["torch_threads"] == threads_per_job(2)  # each of the 2 processes gets its share of the cores
    assert json.loads((tmp_path / "results" / "ddp.json").read_text())["cells"][0]["seeds"] == [0]
