"""Long-format label files (``smiles,task,value``, one measurement per line) read into sparse labels."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from metalink_dgl.data import describe, load_dataset
from metalink_dgl.engine import TrainConfig, train
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.label_matrix import SparseLabels


def write_long(path, dataset, *, header=("smiles", "task", "value"), shuffle_seed: int | None = None) -> None:
    """``dataset`` as a long-format CSV (row-major, or in a seeded random line order)."""
    Y = dataset.Y if isinstance(dataset.Y, np.ndarray) else dataset.Y.to_dense().numpy()
    records = [(dataset.smiles[i], dataset.task_names[j], repr(float(Y[i, j])))
               for i, j in zip(*np.nonzero(~np.isnan(Y)))]
    if shuffle_seed is not None:
        records = [records[k] for k in np.random.default_rng(shuffle_seed).permutation(len(records))]
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(records)


def _dense(dataset) -> np.ndarray:
    return dataset.Y.to_dense().numpy() if isinstance(dataset.Y, SparseLabels) else dataset.Y


def test_toxcast_in_long_format_loads_the_same_matrix(tmp_path, toxcast):
    toxcast = toxcast.subset(np.arange(0, len(toxcast), 5))
    path = tmp_path / "toxcast_long.csv.gz"
    write_long(path, toxcast, header=("SMILES", "Task", "Value"), shuffle_seed=0)
    long = load_dataset(str(path))
    assert isinstance(long.Y, SparseLabels) and long.Y.nnz == int((~np.isnan(toxcast.Y)).sum())
    assert sorted(long.task_names) == sorted(toxcast.task_names) and len(long) == len(set(toxcast.smiles))
    # the same label for every (molecule, task), whatever the line order
    rows = {s: i for i, s in enumerate(toxcast.smiles)}
    order = [rows[s] for s in long.smiles]
    cols = [toxcast.task_names.index(t) for t in long.task_names]
    np.testing.assert_array_equal(_dense(long), toxcast.Y[np.ix_(order, cols)])
    assert long.task_types == ["binary"] * long.n_tasks
    stats = describe(long)
    assert stats["labels_observed"] == long.Y.nnz and stats["molecules"] == len(long)


def test_continuous_long_file_trains_exactly_like_its_wide_twin(tmp_path, adme):
    wide = adme.subset(np.arange(500))
    path = tmp_path / "long" / "adme.csv"
    path.parent.mkdir()
    write_long(path, wide)
    long = load_dataset(str(path), task_columns=wide.task_names)  # the wide file's task order
    assert long.smiles == wide.smiles and long.task_types == ["regression"] * 6
    np.testing.assert_array_equal(_dense(long), wide.Y)
    wide_path = tmp_path / "adme.csv"
    with open(wide_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["smiles", *wide.task_names])
        writer.writerows([s, *["" if np.isnan(v) else repr(float(v)) for v in row]]
                         for s, row in zip(wide.smiles, wide.Y))
    runs = []
    for name, dataset in (("wide", str(wide_path)), ("long", str(path))):
        config = TrainConfig(dataset=dataset, max_molecules=300, epochs=2, seeds=[0], hidden=32, batch_size=64,
                             device="cpu", threads=1, out=str(tmp_path / name), task_columns=wide.task_names)
        train(config, progress=False)
        metrics = json.loads((tmp_path / name / "seed_0" / "metrics.json").read_text())
        metrics.pop("seconds_per_epoch")
        runs.append(metrics)
    assert runs[0] == runs[1] and runs[0]["metric"] == "r2"


@pytest.mark.parametrize("lines,match", [
    (["CCO,a,1", "CCN,a,active"], r"line 3, column 'value': value 'active' is not a finite number"),
    (["CCO,a,1", "CCN,a,inf"], r"line 3, column 'value': value 'inf' is not a finite number"),
    (["CCO,a,1", "CCN,,1"], r"line 3, column 'task': empty cell"),
    (["CCO,a,1", "CCN,b,0", "CCO,a,0"], r"line 4: task 'a' of this molecule is already measured on line 2"),
    (["CCO,a,1", "C1CC,a,0"], r"line 3, column 'smiles': RDKit cannot parse SMILES 'C1CC'"),
])
def test_bad_long_files_fail_with_one_line_naming_the_line(tmp_path, lines, match):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(["smiles,task,value", *lines]) + "\n")
    with pytest.raises(MetaLinkError, match=match) as err:
        load_dataset(str(path))
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_long_task_types_are_inferred_forced_and_checked(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("smiles,task,value\nCCO,active,1\nCCN,active,0\nCCO,pIC50,6.5\nCCN,pIC50,1\nC1CC,pIC50,2\n")
    data = load_dataset(str(path), skip_invalid=True)
    assert data.task_names == ["active", "pIC50"] and data.task_types == ["binary", "regression"]
    assert len(data) == 2 and data.n_invalid == 1
    assert load_dataset(str(path), skip_invalid=True, task_types={"active": "regression"}).task_types == [
        "regression", "regression"]
    with pytest.raises(MetaLinkError, match=r"line 4, column 'value': value 6.5 of task 'pIC50' is not 0 or 1"):
        load_dataset(str(path), skip_invalid=True, task_types={"pIC50": "binary"})
    with pytest.raises(MetaLinkError, match="unknown task 'logD'"):
        load_dataset(str(path), skip_invalid=True, task_columns=["logD"])


def test_describe_reads_a_long_file(tmp_path, sider):
    path = tmp_path / "sider_long.csv"
    write_long(path, sider.subset(np.arange(100)))
    result = CliRunner().invoke(cli, ["describe", "--dataset", str(path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["molecules"] == 100 and stats["tasks"] == 27
