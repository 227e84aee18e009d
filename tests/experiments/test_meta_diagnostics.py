"""``experiments/meta_diagnostics.py`` on an untrained relational-meta SIDER checkpoint."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import torch

from metalink_dgl.checkpoint import load_checkpoint
from metalink_dgl.kg import EvalDraw

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "meta_diagnostics.py"


def _script():
    spec = importlib.util.spec_from_file_location("meta_diagnostics", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flips_exactly_the_shown_support_labels(sider, untrained_checkpoint):
    draw = EvalDraw.from_state(load_checkpoint(untrained_checkpoint("relational-meta"))["draw"])
    Y = torch.from_numpy(sider.Y)
    changed = _script().flipped_support(Y, draw) != Y
    expected = torch.zeros_like(changed)
    expected[draw.support] = draw.support_shown
    assert torch.equal(changed, expected) and int(changed.sum()) > 0


def test_prints_both_scores_and_the_task_correlation(untrained_checkpoint, monkeypatch, capsys):
    path = untrained_checkpoint("relational-meta")
    monkeypatch.setattr(sys, "argv", ["meta_diagnostics.py", str(path)])
    _script().main()
    line = capsys.readouterr().out
    found = re.search(r"test ROC-AUC (\S+) with the support labels, (\S+) with all (\d+) flipped; mean correlation "
                      r"of the held-out tasks' logits over 8 test molecules (\S+)", line)
    assert found, line
    auc, flipped, _, corr = map(float, found.groups())
    assert 0 <= auc <= 1 and 0 <= flipped <= 1 and -1 <= corr <= 1
