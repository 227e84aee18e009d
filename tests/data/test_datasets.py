"""load_dataset on the bundled files (MoleculeNet, Biogen ADME) and on small, deliberately broken user CSVs."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from metalink_dgl.data import BUNDLED, MoleculeDataset, load_dataset
from metalink_dgl.errors import MetaLinkError

# (name, rows in the file, task columns, rows RDKit cannot parse). The 8 Tox21 rows are
# hypervalent aluminium compounds ("[AlH3]" with 4-6 bonds) that current RDKit rejects
# (rdkit 2026.09 here; older RDKit releases rejected a different handful).
BUNDLED_COUNTS = [("tox21", 7831, 12, 8), ("sider", 1427, 27, 0), ("toxcast", 8576, 617, 0), ("adme", 3521, 6, 0)]


def _bundled_frame(name: str) -> pd.DataFrame:
    with BUNDLED[name].path() as path:
        return pd.read_csv(path, float_precision="round_trip")


@pytest.mark.parametrize("name, rows, tasks, dropped", BUNDLED_COUNTS)
def test_bundled_counts_match_the_files(name, rows, tasks, dropped, request):
    ds: MoleculeDataset = request.getfixturevalue(name)
    assert (len(ds), ds.n_tasks, ds.n_invalid) == (rows - dropped, tasks, dropped)
    assert ds.Y.shape == (len(ds), tasks) and ds.Y.dtype == np.float32
    assert ds.lines.dtype == np.int64 and ds.lines[0] == 2 and np.all(np.diff(ds.lines) > 0)
    assert ds.name == name and ds.source.endswith(BUNDLED[name].filename)


@pytest.mark.parametrize("name", ["tox21", "sider", "toxcast", "adme"])
def test_bundled_labels_equal_pandas(name, request):
    ds = request.getfixturevalue(name)
    df = _bundled_frame(name)
    rows = ds.lines - 2
    np.testing.assert_array_equal(ds.Y, df[ds.task_names].to_numpy(dtype=np.float32)[rows])
    assert ds.smiles == df[BUNDLED[name].smiles_column].iloc[rows].tolist()


def test_tox21_tasks_exclude_mol_id(tox21):
    assert "mol_id" not in tox21.task_names and "smiles" not in tox21.task_names
    assert tox21.task_names[0] == "NR-AR" and tox21.task_names[-1] == "SR-p53"


def test_bundled_invalid_rows_dropped_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="metalink_dgl"):
        ds = load_dataset("tox21")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "dropped 8 molecule" in warnings[0].getMessage()
    assert 1324 not in ds.lines  # first unparseable row (line 1324 of the file)


def test_subset_and_select_tasks(sider):
    sub = sider.subset([5, 0, 5])
    assert sub.smiles == [sider.smiles[5], sider.smiles[0], sider.smiles[5]]
    np.testing.assert_array_equal(sub.Y, sider.Y[[5, 0, 5]])
    assert sub.lines.tolist() == [7, 2, 7]
    picked = sider.select_tasks([sider.task_names[3], sider.task_names[0]])
    assert picked.n_tasks == 2 and len(picked) == len(sider)
    np.testing.assert_array_equal(picked.Y, sider.Y[:, [3, 0]])
    with pytest.raises(MetaLinkError, match="unknown task"):
        sider.select_tasks(["nope"])


def test_bundled_task_subset_by_name():
    ds = load_dataset("tox21", task_columns=["SR-p53", "NR-AR"])
    assert ds.task_names == ["SR-p53", "NR-AR"]


# ----------------------------------------------------------------------------- user CSVs


def _csv(tmp_path, text: str, name: str = "user.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path, **kwargs) -> str:
    with pytest.raises(MetaLinkError) as info:
        load_dataset(str(path), **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_user_csv_loads(tmp_path):
    path = _csv(tmp_path, "SMILES,a,b\nCCO,0,1\nc1ccccc1,1.0,\n  CC , 0.0 ,1\n")
    ds = load_dataset(str(path))
    assert ds.name == "user" and ds.task_names == ["a", "b"] and ds.smiles == ["CCO", "c1ccccc1", "CC"]
    np.testing.assert_array_equal(ds.Y, np.array([[0, 1], [1, np.nan], [0, 1]], dtype=np.float32))
    assert ds.lines.tolist() == [2, 3, 4] and ds.n_invalid == 0


def test_user_csv_gz_and_explicit_columns(tmp_path):
    path = tmp_path / "my.data.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("id,mol,t1,t2\nx,CCO,0,1\ny,CCN,1,0\n")
    ds = load_dataset(str(path), smiles_column="mol", task_columns=["t2"])
    assert ds.name == "my.data" and ds.task_names == ["t2"] and ds.Y[:, 0].tolist() == [1, 0]


def test_blank_lines_keep_line_numbers(tmp_path):
    path = _csv(tmp_path, "smiles,a\nCCO,0\n\nCCN,1\nCCC,x\n")
    assert "line 5" in _error(path)


def test_unknown_dataset_name_lists_bundled():
    message = _error("no_such_dataset")
    assert "no_such_dataset" in message and all(name in message for name in BUNDLED)


def test_not_a_csv(tmp_path):
    assert "csv" in _error(_csv(tmp_path, "smiles,a\nC,1\n", "data.txt"))


def test_empty_file(tmp_path):
    path = _csv(tmp_path, "")
    message = _error(path)
    assert str(path) in message and "empty" in message


def test_header_without_rows(tmp_path):
    path = _csv(tmp_path, "smiles,a\n")
    assert "no rows" in _error(path)


def test_no_smiles_column_names_the_columns(tmp_path):
    path = _csv(tmp_path, "mol,a\nCCO,1\n")
    message = _error(path)
    assert str(path) in message and "SMILES" in message and "'mol'" in message and "'a'" in message


def test_unknown_smiles_and_task_columns(tmp_path):
    path = _csv(tmp_path, "smiles,a\nCCO,1\n")
    assert "'zzz'" in _error(path, smiles_column="zzz")
    assert "unknown task column 'b'" in _error(path, task_columns=["a", "b"])


def test_bad_task_value_names_file_line_column_value(tmp_path):
    path = _csv(tmp_path, "smiles,toxic,other\nCCO,0,1\nCCN,1,n/a\n")
    message = _error(path)
    assert str(path) in message and "line 3" in message and "'other'" in message and "'n/a'" in message


def test_duplicate_columns(tmp_path):
    assert "duplicate column 'a'" in _error(_csv(tmp_path, "smiles,a,a\nCCO,0,1\n"))


def test_zero_task_columns(tmp_path):
    assert "no task columns" in _error(_csv(tmp_path, "smiles\nCCO\n"))


def test_task_without_labels_warns(tmp_path, caplog):
    path = _csv(tmp_path, "smiles,a,b\nCCO,0,\nCCN,1,\n")
    with caplog.at_level(logging.WARNING, logger="metalink_dgl"):
        ds = load_dataset(str(path))
    assert np.isnan(ds.Y[:, 1]).all()
    assert any("no labels" in r.getMessage() and "'b'" in r.getMessage() for r in caplog.records)


def test_invalid_smiles_is_an_error_naming_the_line(tmp_path):
    path = _csv(tmp_path, "smiles,a\nCCO,0\nC1CC,1\nCCN,1\n")
    message = _error(path)
    assert str(path) in message and "line 3" in message and "'smiles'" in message and "'C1CC'" in message


def test_empty_smiles_is_invalid(tmp_path):
    assert "line 2" in _error(_csv(tmp_path, "smiles,a\n,0\nCCO,1\n"))


def test_skip_invalid_drops_with_one_warning(tmp_path, caplog, capfd):
    path = _csv(tmp_path, "smiles,a\nCCO,0\nC1CC,1\nnot_a_smiles,1\nCCN,1\n")
    with caplog.at_level(logging.WARNING, logger="metalink_dgl"):
        ds = load_dataset(str(path), skip_invalid=True)
    assert ds.smiles == ["CCO", "CCN"] and ds.lines.tolist() == [2, 5] and ds.n_invalid == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "dropped 2" in warnings[0].getMessage()
    assert "SMILES Parse Error" not in capfd.readouterr().err  # RDKit's own logging is silenced


def test_excel_bom_and_unnamed_index_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(",SMILES,a\n0,CCO,1\n1,CCN,0\n2,CCC,\n".encode("utf-8-sig"))
    ds = load_dataset(str(path))
    assert ds.task_names == ["a"] and ds.smiles == ["CCO", "CCN", "CCC"]
