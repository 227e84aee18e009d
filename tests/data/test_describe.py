"""describe / format_description: binary tasks as before, value statistics for continuous tasks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metalink_dgl.data import describe, format_description, load_dataset


def test_binary_set_keeps_its_statistics(sider):
    d = describe(sider)
    assert (d["molecules"], d["tasks"], d["labels_observed"], d["missing_fraction"]) == (1427, 27, 1427 * 27, 0.0)
    positives = (sider.Y == 1).sum(axis=0)
    assert d["positives_per_task"] == {"min": int(positives.min()), "median": float(np.median(positives)),
                                       "max": int(positives.max())}
    assert d["positive_rate"] == round(21868 / (1427 * 27), 4)
    first = d["per_task"][0]
    assert first == {"task": sider.task_names[0], "type": "binary", "labelled": 1427, "positives": int(positives[0]),
                     "negatives": 1427 - int(positives[0]), "positive_rate": round(positives[0] / 1427, 4)}
    text = format_description(d)
    assert "positive rate" in text and "regression task" not in text
    assert text.splitlines()[8].split() == ["binary", "task", "labelled", "pos", "neg", "pos", "%"]


def test_adme_shows_value_statistics(adme):
    d = describe(adme)
    json.dumps(d)  # plain Python types
    assert d["positives_per_task"] is None and d["positive_rate"] is None
    assert d["labels_observed"] == 11318
    for j, task in enumerate(d["per_task"]):
        values = adme.Y[~np.isnan(adme.Y[:, j]), j].astype(np.float64)
        assert task["task"] == adme.task_names[j] and task["type"] == "regression"
        assert task["labelled"] == len(values) and "positives" not in task
        for key, fn in (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
            assert task[key] == pytest.approx(fn(values), abs=1e-4)
    text = format_description(d)
    assert "positive rate" not in text and "binary task" not in text
    header = next(line for line in text.splitlines() if line.startswith("regression task"))
    assert header.split()[2:] == ["labelled", "mean", "std", "min", "max"]
    hlm = next(line for line in text.splitlines() if line.startswith("LOG HLM_CLint"))
    assert hlm.split()[-5:] == ["3087", "1.32", "0.6239", "0.6757", "3.373"]


def test_mixed_set_shows_both_tables(tmp_path, sider):
    path = tmp_path / "mixed.csv"
    path.write_text("smiles,a,v\n" + "".join(f"{s},{a},{v}\n" for s, a, v in
                                           zip(sider.smiles[:4], ["0", "1", "1", ""], ["2.5", "", "3.5", "1"])))
    d = describe(load_dataset(str(path)))
    assert [t["type"] for t in d["per_task"]] == ["binary", "regression"]
    assert d["positive_rate"] == round(2 / 3, 4) and d["positives_per_task"]["max"] == 2
    assert d["per_task"][1] == {"task": "v", "type": "regression", "labelled": 3,
                                "mean": pytest.approx(7 / 3, abs=1e-4),
                                "std": pytest.approx(np.std([2.5, 3.5, 1.0]), abs=1e-4), "min": 1.0, "max": 3.5}
    lines = format_description(d).splitlines()
    binary = next(i for i, line in enumerate(lines) if line.startswith("binary task"))
    regression = next(i for i, line in enumerate(lines) if line.startswith("regression task"))
    assert lines[binary + 1].split() == ["a", "3", "2", "1", "66.7"]
    assert lines[regression + 1].split() == ["v", "3", "2.333", "1.027", "1", "3.5"]
    assert len({len(lines[regression]), len(lines[regression + 1])}) == 1  # columns aligned under a short name


def test_task_without_values_shows_dashes(tmp_path, sider):
    path = tmp_path / "gap.csv"
    path.write_text(f"smiles,v,w\n{sider.smiles[0]},0.5,\n{sider.smiles[1]},1.5,\n")
    d = describe(load_dataset(str(path), task_types={"w": "regression"}))
    assert d["per_task"][1] == {"task": "w", "type": "regression", "labelled": 0, "mean": None, "std": None,
                                "min": None, "max": None}
    assert format_description(d).splitlines()[-1].split() == ["w", "0", "-", "-", "-", "-"]
