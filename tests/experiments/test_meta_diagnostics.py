"""``experiments/meta_diagnostics.py`` on an untrained relational-meta SIDER checkpoint."""

from __future__ import annotations

import json
import re
import sys

import pytest
import torch

from metalink_dgl.checkpoint import load_checkpoint
from metalink_dgl.engine import TrainConfig
from metalink_dgl.kg import EvalDraw


@pytest.fixture
def script(experiment_script):
    """``experiments/meta_diagnostics.py`` as a module."""
    return experiment_script("meta_diagnostics")


def test_flips_exactly_the_shown_support_labels(sider, untrained_checkpoint, script):
    draw = EvalDraw.from_state(load_checkpoint(untrained_checkpoint("relational-meta"))["draw"])
    Y = torch.from_numpy(sider.Y)
    changed = script.flipped_support(Y, draw) != Y
    expected = torch.zeros_like(changed)
    expected[draw.support] = draw.support_shown
    assert torch.equal(changed, expected) and int(changed.sum()) > 0


def test_hides_exactly_the_auxiliary_labels_of_the_test_rows(sider, untrained_checkpoint, script):
    ckpt = load_checkpoint(untrained_checkpoint("relational-meta"))
    draw, rows = EvalDraw.from_state(ckpt["draw"]), torch.as_tensor(ckpt["split"]["test"])
    Y = torch.from_numpy(sider.Y)
    hidden = script.hidden_aux(Y, draw, rows)
    expected = torch.zeros_like(Y, dtype=torch.bool)
    expected[rows] = draw.aux["test"]
    assert torch.equal(torch.isnan(hidden), expected | torch.isnan(Y)) and int(expected.sum()) > 0
    assert torch.equal(hidden[~expected], Y[~expected])
    some = torch.arange(Y.shape[1]) < 5
    partly = script.hidden_aux(Y, draw, rows, some)
    assert torch.equal(torch.isnan(partly), (expected & some) | torch.isnan(Y))


def test_prints_both_scores_and_the_task_correlation(untrained_checkpoint, monkeypatch, capsys, script):
    path = untrained_checkpoint("relational-meta")
    monkeypatch.setattr(sys, "argv", ["meta_diagnostics.py", str(path)])
    script.main()
    line = capsys.readouterr().out
    found = re.search(r"test ROC-AUC (\S+) with the support labels, (\S+) with all (\d+) flipped; mean correlation "
                      r"of the held-out tasks' logits over 8 test molecules (\S+)", line)
    assert found, line
    auc, flipped, _, corr = map(float, found.groups())
    assert 0 <= auc <= 1 and 0 <= flipped <= 1 and -1 <= corr <= 1


def test_out_writes_every_checkpoint_to_json_and_markdown(untrained_checkpoint, monkeypatch, capsys, tmp_path, script):
    paths = [str(untrained_checkpoint("relational-meta")),
             str(untrained_checkpoint("meta", new_task_init="ridge", deep_supervision=True, kg_dropout=0.1))]
    monkeypatch.setattr(sys, "argv", ["meta_diagnostics.py", *paths, "--out", str(tmp_path / "diag")])
    script.main()
    printed = capsys.readouterr().out.splitlines()
    record = json.loads((tmp_path / "diag.json").read_text())
    assert [r["checkpoint"] for r in record["records"]] == paths and record["commit"] and record["machine"]
    assert [r["setting"] for r in record["records"]] == ["relational-meta", "meta"]
    for line, r in zip(printed, record["records"]):  # the printed numbers are the recorded ones
        assert f"{r['test_roc_auc']:.4f} with the support labels, {r['flipped_roc_auc']:.4f}" in line
    rows = [line for line in (tmp_path / "diag.md").read_text().splitlines() if line.startswith("| sider")]
    assert len(rows) == 2
    # the options that differ from the defaults, as the run folders name them (the fixture's hidden=16 too)
    assert [row.split(" | ")[3] for row in rows] == ["hidden=16", "deep_supervision=true, hidden=16, kg_dropout=0.1, "
                                                                  "new_task_init=ridge"]
    r = record["records"][0]
    assert rows[0].split(" | ")[6:10] == [f"{100 * r['test_roc_auc']:.1f}", f"{100 * r['flipped_roc_auc']:.1f}",
                                          f"{100 * (r['test_roc_auc'] - r['flipped_roc_auc']):+.1f}",
                                          f"{100 * r['no_aux_roc_auc']:.1f}"]
    assert record["records"][1]["no_aux_roc_auc"] is None and rows[1].split(" | ")[9] == "—"  # meta: none to hide
    assert r["no_heldout_aux_roc_auc"] is None and rows[0].split(" | ")[10] == "—"  # aux on seen tasks only


def test_support_sizes_at_test_and_in_a_training_episode(script):
    nan = float("nan")
    Y = torch.tensor([[1.0, 0.0, 1.0], [0.0, nan, 1.0], [1.0, 1.0, 0.0], [nan, 0.0, 0.0], [0.0, 0.0, nan]])
    heldout = torch.tensor([False, False, True])
    # test support: rows 0, 1, 3 of the held-out task 2, row 3's label not shown -> 2 labelled, 2 positive
    draw = EvalDraw(heldout=heldout, support=torch.tensor([0, 1, 3]),
                    support_shown=torch.tensor([[False, False, True], [False, False, True], [False, False, False]]),
                    aux={})
    sizes = script.support_sizes(Y, draw, [0, 1, 2, 4], batch_size=2, support_ratio=0.5)
    assert sizes["test_support"] == 2 and sizes["test_support_positive"] == 2
    # seen tasks 0 and 1 on the 4 training rows: labelled 4 and 3 (median 3 by torch's lower median),
    # positive 2 and 1; an episode shows 0.5 * 2 / 4 of the training rows
    assert sizes["episode_support"] == 0.25 * 3 and sizes["episode_support_positive"] == 0.25 * 1
    # --episode-shots 2: min(2, labelled) = 2 and 2 rows, positives 2 * 2/4 and 1 * 2/3 (lower median of each)
    shots = script.support_sizes(Y, draw, [0, 1, 2, 4], batch_size=2, support_ratio=0.5, episode_shots=2)
    assert shots["test_support"] == 2 and shots["episode_support"] == 2
    assert shots["episode_support_positive"] == pytest.approx(2 / 3)


def test_informed_share_counts_the_pairs_of_new_tasks_whose_support_shows_both_labels(script):
    n = 40
    Y = torch.stack([torch.arange(n) % 2, torch.zeros(n), torch.arange(n) % 3 == 0], 1).float()
    draw = EvalDraw(heldout=torch.tensor([False, False, True]), support=torch.tensor([0]),
                    support_shown=torch.tensor([[False, False, True]]), aux={})
    config = TrainConfig(dataset="sider", setting="meta", batch_size=n)
    # one episode: seen tasks 0 (both labels on any half of the rows) and 1 (only negatives) are new and
    # queried on the same query rows; only task 0's pairs are kept
    assert script.informed_share(Y, draw, list(range(n)), config) == 0.5
    assert script.informed_share(Y[:, [0, 0, 2]], draw, list(range(n)), config) == 1.0
