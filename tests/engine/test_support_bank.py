"""``--episode-shots``: training episodes whose support set is drawn from the whole training fold."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import metalink_dgl.engine.multitask as train_module
import metalink_dgl.engine.support_bank as bank_module
from metalink_dgl.data import load_dataset
from metalink_dgl.engine import TrainConfig, build_model, prepare_data, train
from metalink_dgl.engine.support_bank import SupportBank
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import split_tasks

SHOTS = 16


class _RowIds(torch.nn.Module):
    """A model whose embedding of a row is its dataset row number (D = 4), with its mode at each call."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        return x


class _Inputs:
    def batch(self, idx, train: bool = False) -> torch.Tensor:
        return torch.as_tensor(idx)[:, None].float().repeat(1, 4)


def _bank(embed: str) -> tuple[SupportBank, _RowIds, torch.Tensor, torch.Tensor]:
    """A bank over the even rows of the bundled SIDER labels."""
    Y = torch.as_tensor(np.asarray(load_dataset("sider").Y), dtype=torch.float32)
    rows = torch.arange(0, Y.shape[0], 2)
    model = _RowIds().train()
    bank = SupportBank(model, _Inputs(), Y, rows, shots=SHOTS, embed=embed, batch_size=100,
                       device=torch.device("cpu"), source="sider")
    return bank, model, Y, rows


@pytest.mark.parametrize("embed", ["epoch", "step"])
def test_a_drawn_support_set_is_k_labelled_training_rows_per_target_outside_the_minibatch(embed):
    bank, model, Y, rows = _bank(embed)
    # epoch: the whole fold at once, in eval mode, and the model is left training; step: nothing yet
    assert model.modes == ([False] * -(-len(rows) // 100) if embed == "epoch" else []) and model.training
    targets = ~split_tasks(Y.shape[1], 0.2, seed=0)
    batch = rows[:128]
    support = bank.draw(targets, batch, torch.Generator().manual_seed(0))
    assert embed == "epoch" or model.modes == [True]  # step: the drawn rows, in the model's training mode
    drawn = support.z[:, 0].long()  # z holds the dataset row
    assert set(drawn.tolist()) <= set(rows.tolist()) and not set(drawn.tolist()) & set(batch.tolist())
    shown = ~torch.isnan(support.Y)
    assert not shown[:, ~targets].any()  # only the episode's target tasks are shown
    outside = rows[128:]
    available = (~torch.isnan(Y[outside][:, targets])).sum(0)
    assert torch.equal(shown[:, targets].sum(0), available.clamp(max=SHOTS))  # K each, or all it has
    assert torch.equal(support.Y[shown], Y[drawn][shown])  # the labels themselves
    again = bank.draw(targets, batch, torch.Generator().manual_seed(0))
    other = bank.draw(targets, batch, torch.Generator().manual_seed(1))
    assert torch.equal(again.z, support.z) and not torch.equal(other.z, support.z)


def test_the_epoch_bank_is_the_models_eval_mode_embedding():
    config = TrainConfig(dataset="sider", setting="meta", max_molecules=60, hidden=16, seeds=[0], device="cpu")
    data = prepare_data(config, progress=False)
    model = build_model(config, data.Y.shape[1])
    model.train()
    rows = torch.arange(0, 60, 3)
    bank = SupportBank(model, data.inputs, data.Y, rows, shots=4, embed="epoch", batch_size=7,
                       device=torch.device("cpu"), source="sider")
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = model.embed(data.inputs.batch(rows))
    torch.testing.assert_close(bank.z, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(("setting", "embed"), [("meta", "epoch"), ("relational-meta", "step")])
def test_episode_support_is_training_rows_and_never_shows_heldout_labels(tmp_path, monkeypatch, setting, embed):
    drawn, masks = [], []
    original_draw, original_forward = bank_module.draw_support, train_module.forward_block

    def spy_draw(Y, rows, targets, *args, **kwargs):
        out = original_draw(Y, rows, targets, *args, **kwargs)
        drawn.append((rows.clone(), out[0].clone()))
        return out

    def spy_forward(model, block, **kwargs):
        if model.training:
            masks.append((block.masks.revealed.clone(), block.masks.queried.clone()))
        return original_forward(model, block, **kwargs)

    monkeypatch.setattr(bank_module, "draw_support", spy_draw)
    monkeypatch.setattr(train_module, "forward_block", spy_forward)
    config = TrainConfig(dataset="sider", setting=setting, epochs=1, hidden=32, batch_size=64, shots=32,
                         episode_shots=8, episode_embed=embed, seeds=[0], device="cpu", out=str(tmp_path / "run"))
    train(config, progress=False)
    run = tmp_path / "run" / "seed_0"
    split = json.loads((run / "split.json").read_text())
    train_rows = set(split["train"])
    names = load_dataset("sider").task_names
    held = torch.tensor([n in json.loads((run / "draw.json").read_text())["heldout_tasks"] for n in names])
    assert drawn and len(drawn) == len(masks) and held.any()
    for candidates, support in drawn:  # from the training fold, minus the step's minibatch
        assert set(candidates.tolist()) < train_rows and set(support.tolist()) <= set(candidates.tolist())
        assert len(train_rows) - len(candidates) in (64, len(train_rows) % 64)
    for (candidates, support), (revealed, queried) in zip(drawn, masks):
        S = len(support)
        assert revealed.shape[0] == S + len(train_rows) - len(candidates)
        assert not revealed[:, held].any() and not queried[:, held].any()
        assert not queried[:S].any() and revealed[:S].any(1).all()


def test_episode_shots_is_a_meta_option_of_metalink():
    for kw, message in [(dict(setting="relational"), "--episode-shots changes MetaLink's training episodes"),
                        (dict(setting="meta", model="baseline++", layers=0), "--episode-shots changes"),
                        (dict(setting="meta", episode_shots=0), "--episode-shots 0 must be at least 1"),
                        (dict(setting="meta", episode_embed="never"), "--episode-embed 'never' is not one of")]:
        with pytest.raises(MetaLinkError, match=message):
            TrainConfig(dataset="sider", **{"episode_shots": 8, **kw}).validate()
