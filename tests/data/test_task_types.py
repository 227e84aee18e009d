"""Task types (binary / regression) on real data: the bundled Biogen ADME set, the MoleculeNet sets
unchanged, mixed user CSVs built from real SIDER SMILES, overrides and the one-line errors."""

from __future__ import annotations

import configparser
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import metalink_dgl.data
from metalink_dgl.data import BUNDLED, TASK_TYPES, MoleculeDataset, load_dataset
from metalink_dgl.errors import MetaLinkError

DATA_DIR = Path(metalink_dgl.data.__file__).parent
ADME_DIR = DATA_DIR / "adme"

# Y of the MoleculeNet sets as the 0/1-only parser (before task types) read it: shape, NaN cells,
# sum of the labels and sha256 of the float32 bytes with NaN written as -1.
BINARY_SETS = [
    ("tox21", (7823, 12), 16012, 5858, "a05b20e01c81715b"),
    ("sider", (1427, 27), 0, 21868, "3c85fc0d83cb0e35"),
    ("toxcast", (8576, 617), 3757732, 126651, "a6a01a4438671239"),
]


def _readme_counts() -> dict[str, int]:
    """Task column -> measured molecules, from the table of the bundled ADME README."""
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([\d,]+) \|$", (ADME_DIR / "README.md").read_text(), re.MULTILINE)
    return {name: int(count.replace(",", "")) for name, count in rows}


# ----------------------------------------------------------------------------- bundled data


def test_adme_is_six_regression_tasks_with_the_readme_counts(adme):
    counts = _readme_counts()
    assert sorted(counts.values()) == [168, 194, 2173, 2642, 3054, 3087]
    assert (len(adme), adme.n_tasks, adme.n_invalid) == (3521, 6, 0)
    assert adme.task_types == ["regression"] * 6 and adme.continuous.tolist() == [True] * 6
    assert dict(zip(adme.task_names, (~np.isnan(adme.Y)).sum(axis=0).tolist())) == counts
    observed = adme.Y[~np.isnan(adme.Y)]
    assert np.isfinite(observed).all() and not np.isin(observed, (0.0, 1.0)).all()
    assert not {"Internal ID", "Vendor ID", "CollectionName", "SMILES"} & set(adme.task_names)


def test_adme_files_are_packaged_unchanged():
    sha = re.search(r"sha256 of the \.gz: `([0-9a-f]{64})`", (ADME_DIR / "README.md").read_text()).group(1)
    assert hashlib.sha256((ADME_DIR / BUNDLED["adme"].filename).read_bytes()).hexdigest() == sha
    assert (ADME_DIR / "LICENSE").read_text().startswith("MIT License")
    assert 'load_dataset("adme")' in (ADME_DIR / "README.md").read_text()


def test_setup_cfg_ships_every_bundled_file():
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parents[2] / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["metalink_dgl.data"].split(",")]
    shipped = {path for pattern in patterns for path in DATA_DIR.glob(pattern)}
    for bundled in BUNDLED.values():
        folder = DATA_DIR / bundled.folder
        assert {folder / bundled.filename, folder / "README.md"} <= shipped
    assert ADME_DIR / "LICENSE" in shipped


@pytest.mark.parametrize("name, shape, n_nan, total, digest", BINARY_SETS)
def test_moleculenet_sets_still_load_all_binary_with_the_same_labels(name, shape, n_nan, total, digest, request):
    ds: MoleculeDataset = request.getfixturevalue(name)
    assert ds.task_types == ["binary"] * shape[1] and not ds.continuous.any()
    assert ds.Y.shape == shape and int(np.isnan(ds.Y).sum()) == n_nan
    assert float(np.nansum(ds.Y, dtype=np.float64)) == total
    assert hashlib.sha256(np.nan_to_num(ds.Y, nan=-1).astype("<f4").tobytes()).hexdigest()[:16] == digest


def test_subset_and_select_tasks_keep_types(adme, sider):
    names = [adme.task_names[4], sider.task_names[0]]
    both = MoleculeDataset("mixed", "test", sider.smiles[:5], np.stack([adme.Y[:5, 0], sider.Y[:5, 0]], axis=1),
                           names, np.arange(2, 7), task_types=["regression", "binary"])
    assert both.subset([3, 1]).task_types == ["regression", "binary"]
    assert both.select_tasks(names[::-1]).task_types == ["binary", "regression"]
    assert both.select_tasks(names[::-1]).continuous.tolist() == [False, True]


def test_dataset_checks_its_task_types(sider):
    Y = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float32)
    args = ("d", "test", sider.smiles[:2], Y, ["a", "b"], np.array([2, 3]))
    assert MoleculeDataset(*args, task_types=["binary", "regression"]).task_types == ["binary", "regression"]
    with pytest.raises(ValueError, match="binary task 'b' holds a value other than 0 or 1"):
        MoleculeDataset(*args)  # default: all binary
    with pytest.raises(ValueError, match="1 task_types for 2 tasks"):
        MoleculeDataset(*args, task_types=["regression"])
    with pytest.raises(ValueError, match="'continuous' is not one of"):
        MoleculeDataset(*args, task_types=["binary", "continuous"])
    assert TASK_TYPES == ("binary", "regression")


# ----------------------------------------------------------------------------- mixed user CSVs


def _mixed_csv(tmp_path, smiles: list[str], rows: list[tuple[str, ...]], header: str = "smiles,active,pic50") -> Path:
    """A CSV of the real SMILES ``smiles`` and one row of task cells each; the data start at line 2."""
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([header, *(",".join([s, *cells]) for s, cells in zip(smiles, rows))]) + "\n")
    return path


def _error(path, **kwargs) -> str:
    with pytest.raises(MetaLinkError) as info:
        load_dataset(str(path), **kwargs)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_mixed_csv_infers_binary_and_regression(tmp_path, sider):
    rows = [("0", "5.2", "", "2"), (" 1 ", "", "", "3"), ("1.0", " 6.75 ", "", ""), ("", "1", "", "0"),
            ("0.0", "-0.43", "", "1")]
    path = _mixed_csv(tmp_path, sider.smiles[:5], rows, header="smiles,active,pic50,empty,count")
    ds = load_dataset(str(path))
    assert ds.task_names == ["active", "pic50", "empty", "count"]
    assert ds.task_types == ["binary", "regression", "binary", "regression"]
    assert ds.continuous.tolist() == [False, True, False, True]
    nan = np.nan
    expected = [[0, 5.2, nan, 2], [1, nan, nan, 3], [1, 6.75, nan, nan], [nan, 1, nan, 0], [0, -0.43, nan, 1]]
    np.testing.assert_array_equal(ds.Y, np.array(expected, dtype=np.float32))
    assert ds.Y.dtype == np.float32 and ds.smiles == sider.smiles[:5]


def test_binary_column_forced_to_regression(tmp_path, sider):
    path = _mixed_csv(tmp_path, sider.smiles[:3], [("0", "5.2"), ("1", "6.1"), ("", "7")])
    ds = load_dataset(str(path), task_types={"active": "regression"})
    assert ds.task_types == ["regression", "regression"]
    np.testing.assert_array_equal(ds.Y[:, 0], np.array([0.0, 1.0, np.nan], dtype=np.float32))
    assert load_dataset(str(path), task_columns=["active"]).task_types == ["binary"]


@pytest.mark.parametrize("value", ["abc", "nan", "NaN", "inf", "-inf", " Infinity "])
def test_non_finite_or_text_value_is_one_line_error(tmp_path, sider, value):
    path = _mixed_csv(tmp_path, sider.smiles[:4], [("0", "5.2"), ("1", "6.1"), ("1", value), ("0", "4")])
    message = _error(path)
    assert f"{path}, line 4, column 'pic50': task value {value.strip()!r} is not a number" in message
    assert message.endswith("list the task columns with task_columns / --task-columns")


@pytest.mark.parametrize("value", ["nan", "abc"])
def test_bad_value_in_a_binary_looking_column(tmp_path, sider, value):
    path = _mixed_csv(tmp_path, sider.smiles[:3], [("0", "5.2"), (value, "6.1"), ("1", "4")])
    assert f"line 3, column 'active': task value {value!r} is not a number" in _error(path)


def test_value_in_a_column_forced_binary(tmp_path, sider):
    path = _mixed_csv(tmp_path, sider.smiles[:3], [("0", "5.2"), ("1", "6.1"), ("0.5", "4")])
    message = _error(path, task_types={"active": "binary"})
    assert "line 4, column 'active': task value '0.5' is not 0, 1 or empty" in message
    assert "--task-types active=binary" in message
    text = _error(path, task_types={"active": "binary", "pic50": "binary"})
    assert "line 2, column 'pic50': task value '5.2' is not 0, 1 or empty" in text


def test_first_bad_cell_in_file_order_whatever_its_kind(tmp_path, sider):
    path = _mixed_csv(tmp_path, sider.smiles[:3], [("0", "5.2"), ("1", "high"), ("0.5", "4")])
    assert "line 3, column 'pic50'" in _error(path, task_types={"active": "binary"})


def test_override_of_an_unknown_task_or_type(tmp_path, sider):
    path = _mixed_csv(tmp_path, sider.smiles[:2], [("0", "5.2"), ("1", "6.1")])
    message = _error(path, task_types={"pIC50": "regression"})
    assert "'pIC50'" in message and "not a task column" in message and "'active', 'pic50'" in message
    message = _error(path, task_columns=["pic50"], task_types={"active": "binary"})
    assert "'active'" in message and "not a task column" in message
    with pytest.raises(MetaLinkError, match="must be one of binary, regression"):
        load_dataset(str(path), task_types={"pic50": "continuous"})


def test_adme_override_forces_binary_error(adme):
    name = adme.task_names[0]
    with pytest.raises(MetaLinkError) as info:
        load_dataset("adme", task_types={name: "binary"})
    message = str(info.value)
    col = adme.Y[:, 0]
    line = int(adme.lines[np.flatnonzero(~np.isnan(col) & (col != 0) & (col != 1))[0]])
    assert "\n" not in message and adme.source in message
    assert f"line {line}, column {name!r}: task value " in message and "is not 0, 1 or empty" in message
