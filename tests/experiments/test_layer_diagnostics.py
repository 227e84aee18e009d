"""``experiments/layer_diagnostics.py`` on an untrained relational SIDER checkpoint."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from metalink_dgl.engine import load_model
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import build_knowledge_graph


@pytest.fixture
def script(experiment_script):
    """``experiments/layer_diagnostics.py`` as a module."""
    return experiment_script("layer_diagnostics")


def test_a_cut_model_sums_the_first_layers_and_leaves_the_model_whole(untrained_checkpoint, sider, script):
    model, _, _ = load_model(untrained_checkpoint("relational"))
    model.eval()
    Y = torch.from_numpy(sider.Y[:10]).float()
    revealed = torch.rand(Y.shape, generator=torch.Generator().manual_seed(0)) < 0.3
    kg = build_knowledge_graph(revealed, Y)
    z, task_ids = torch.randn(10, 16), torch.arange(Y.shape[1])
    src, dst = (~revealed).nonzero(as_tuple=True)
    with torch.no_grad():
        h = {"data": z, "task": model.task_weight}
        partial = [model.predictors[0](h["data"], h["task"], src, dst) + model.task_bias[dst]]
        for conv, predictor in zip(model.convs, model.predictors[1:]):
            h = conv(kg, h)
            partial.append(partial[-1] + predictor(h["data"], h["task"], src, dst))
        for k, want in enumerate(partial):
            torch.testing.assert_close(script.cut(model, k).score_pairs(z, kg, task_ids, src, dst), want)
    assert len(model.convs) == 2 and len(model.predictors) == 3  # the model itself is not cut


def test_out_writes_every_partial_sum(untrained_checkpoint, monkeypatch, capsys, tmp_path, script):
    path = str(untrained_checkpoint("relational"))
    monkeypatch.setattr(sys, "argv", ["layer_diagnostics.py", path, "--out", str(tmp_path / "layers")])
    script.main()
    record = json.loads((tmp_path / "layers.json").read_text())
    (r,) = record["records"]
    assert r["checkpoint"] == path and record["commit"] and len(r["partial"]) == 3
    assert all(0 <= p[split] <= 1 for p in r["partial"] for split in ("val", "test"))
    assert len({p["val"] for p in r["partial"]}) > 1  # the KG layers move the scores
    printed = capsys.readouterr().out
    assert f"up to layer 2: validation {r['partial'][2]['val']:.4f}" in printed
    (row,) = [line for line in (tmp_path / "layers.md").read_text().splitlines() if line.startswith("| sider")]
    last = r["partial"][2]
    assert row.split(" | ")[2] == "batch_size=8, hidden=16"  # the options that differ from the defaults
    assert row.split(" | ")[-1].rstrip(" |") == f"{100 * last['val']:.1f} / {100 * last['test']:.1f}"


def test_a_checkpoint_without_kg_layers_is_a_one_line_error(untrained_checkpoint, script):
    with pytest.raises(MetaLinkError, match="has no KG layer to take apart"):
        script.diagnose(str(untrained_checkpoint("relational", layers=0)))
