"""Data-parallel meta training with test-sized episode support sets (``--episode-shots``).

Every rank draws the same support rows from the same generator and embeds the whole training
fold once per epoch; a rank that drew different rows would build a different graph for the
same minibatch, and DDP would average gradients of two different episodes.
"""

from __future__ import annotations

import json

import torch

from metalink_dgl.engine import evaluate_checkpoint


def test_torchrun_meta_run_with_episode_support_sets(tmp_path, torchrun_train):
    meta = ("--setting", "meta", "--shots", "16")
    out, paper = tmp_path / "episode-shots", tmp_path / "paper"
    for folder, extra in ((out, ("--episode-shots", "8")), (paper, ())):
        done = torchrun_train(folder, *meta, *extra)
        assert done.returncode == 0, done.stderr[-3000:]
    config = json.loads((out / "seed_0" / "config.json").read_text())
    assert config["episode_shots"] == 8 and config["setting"] == "meta"
    metrics = json.loads((out / "seed_0" / "metrics.json").read_text())
    assert len(json.loads((out / "seed_0" / "history.json").read_text())) == 2
    # one process scores the checkpoint exactly as the two ranks did together
    assert evaluate_checkpoint(out / "seed_0" / "best.pt", device="cpu")["roc_auc"] == metrics["test_roc_auc"]
    # the option reached the data-parallel step: the same seed without it trains another model
    states = [torch.load(run / "seed_0" / "last.pt", weights_only=True)["state_dict"] for run in (out, paper)]
    assert not all(torch.equal(states[0][k], states[1][k]) for k in states[0])
