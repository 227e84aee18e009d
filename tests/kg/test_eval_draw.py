"""The K-shot support draw on a real sparse label matrix (ToxCast) and a dense one (SIDER)."""

import json

import numpy as np
import pytest
import torch

from metalink_dgl.data import load_dataset, make_split
from metalink_dgl.engine import load_model, score_rows
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import SETTINGS, EvalDraw, draw_support, make_masks, split_tasks


@pytest.fixture(scope="module")
def toxcast():
    """ToxCast labels (about 71% of the cells unknown) and its random-split training rows."""
    data = load_dataset("toxcast")
    return torch.from_numpy(data.Y), torch.as_tensor(make_split(data.smiles, "random", 0).train)


def _draw(Y, rows, targets, shots, seed=0):
    return draw_support(Y, rows, targets, shots, torch.Generator().manual_seed(seed), source="toxcast.csv")


@pytest.mark.parametrize("shots", [1, 64, 256])
def test_each_heldout_task_shows_k_of_its_labelled_rows_or_all(toxcast, shots):
    Y, train = toxcast
    targets = split_tasks(Y.shape[1], 0.2, seed=0)
    support, shown = _draw(Y, train, targets, shots)
    labelled = (~torch.isnan(Y[train]) & targets).sum(dim=0)
    assert bool((labelled[targets] < 256).any())  # sparse assays: some have fewer labels than K=256
    assert torch.equal(shown.sum(dim=0), torch.minimum(labelled, torch.tensor(shots)))
    assert not shown[:, ~targets].any() and shown.any(dim=1).all()  # held-out tasks only; no idle row
    assert not torch.isnan(Y[support][shown]).any()  # only labelled cells are shown
    assert torch.equal(support, support.unique()) and bool(np.isin(support, train).all())
    assert len(support) < int(shown.sum())  # tasks share support rows


def test_support_draw_is_seeded(toxcast):
    Y, train = toxcast
    targets = split_tasks(Y.shape[1], 0.2, seed=0)
    first, again, other = (_draw(Y, train, targets, 64, seed) for seed in (0, 0, 1))
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])


def test_a_dense_matrix_needs_only_k_rows(sider):
    Y = torch.from_numpy(sider.Y)
    targets = split_tasks(Y.shape[1], 0.2, seed=0)
    support, shown = draw_support(Y, torch.arange(len(Y)), targets, 50, torch.Generator().manual_seed(0),
                                  source="sider.csv")
    assert len(support) == 50 and torch.equal(shown, targets.expand(50, -1))


def test_no_labelled_support_is_a_one_line_error(toxcast):
    Y, train = toxcast
    Y = Y.clone()
    targets = split_tasks(Y.shape[1], 0.2, seed=0)
    Y[:, targets] = float("nan")
    with pytest.raises(MetaLinkError, match=r"^toxcast\.csv: none of the \d+ training molecules is labelled on the "
                                            r"123 held-out tasks; the support set would be empty$"):
        _draw(Y, train, targets, 256)


def test_hidden_support_labels_never_change_a_prediction(sider, untrained_checkpoint):
    """Support labels outside ``support_shown`` are not used; shown ones are."""
    from metalink_dgl.data import featurize

    model, config, ckpt = load_model(untrained_checkpoint("relational-meta"))
    draw = EvalDraw.from_state(ckpt["draw"])
    hidden = torch.zeros_like(draw.support_shown)
    hidden[::2] = draw.support_shown[::2]
    shown = draw.support_shown & ~hidden
    inputs, Y, rows = featurize(sider, progress=False), torch.from_numpy(sider.Y), ckpt["split"]["test"][:24]

    def run(labels, mask=shown):
        return score_rows(model, inputs, labels, rows, draw.aux["test"][:24], SETTINGS["relational-meta"],
                          draw.heldout, draw.support, support_shown=mask, batch_size=8,
                          device=torch.device("cpu"))["pred"]

    def flip(cells):
        flipped = Y.clone()
        block = flipped[draw.support]
        block[cells] = 1 - block[cells]
        flipped[draw.support] = block
        return flipped

    base = run(Y)
    assert np.array_equal(base, run(flip(hidden)))
    assert not np.allclose(base, run(flip(shown)))


def test_a_checkpoint_draw_without_shown_labels_shows_every_heldout_label_of_its_support(sider):
    heldout = split_tasks(27, 0.2, seed=0)
    state = {"heldout": heldout, "support": torch.tensor([3, 5]), "aux_val": torch.zeros(1, 27, dtype=torch.bool),
             "aux_test": torch.zeros(1, 27, dtype=torch.bool)}
    assert torch.equal(EvalDraw.from_state(state).support_shown, heldout.expand(2, -1))


def test_no_shots_shows_every_labelled_cell_quietly(toxcast, caplog):
    Y, train = toxcast
    targets = split_tasks(Y.shape[1], 0.2, seed=0)
    with caplog.at_level("INFO"):
        support, shown = _draw(Y, train, targets, None)
    labelled = ~torch.isnan(Y[train]) & targets
    assert torch.equal(support, train[labelled.any(dim=1)].sort().values)
    assert int(shown.sum()) == int(labelled.sum()) and not caplog.records


def test_draw_json_lists_the_labelled_auxiliary_tasks_of_each_row(toxcast, tmp_path):
    Y, train = toxcast
    rows = torch.arange(len(Y))
    split = type("Split", (), {"train": train.numpy(), "val": rows[:300].numpy(), "test": rows[300:700].numpy()})
    draw = EvalDraw.create(Y, split, SETTINGS["relational"], seed=1, aux_ratio=0.5, heldout_ratio=0.2, shots=8)
    draw.to_json(tmp_path / "draw.json", [f"t{j}" for j in range(Y.shape[1])], split, Y)
    written = json.loads((tmp_path / "draw.json").read_text())["test"]
    assert written["rows"] == split.test.tolist()
    listed = torch.zeros(400, Y.shape[1], dtype=torch.bool)
    for k, names in enumerate(written["aux_tasks"]):
        listed[k, [int(name[1:]) for name in names]] = True
    labelled = ~torch.isnan(Y[split.test])
    assert torch.equal(listed, draw.aux["test"] & labelled)  # drawn and labelled, nothing else
    assert bool((draw.aux["test"] & ~labelled).any())  # ToxCast is sparse: some drawn tasks had no label


@pytest.mark.parametrize("aux_tasks", ["seen", "all"])
def test_aux_tasks_chooses_where_the_relational_meta_query_rows_reveal_labels(sider, aux_tasks):
    """``aux_tasks="seen"`` (default) draws a query row's auxiliary pairs among the seen tasks only; ``"all"``
    also among the held-out ones: those pairs are then revealed as label edges into the new task nodes
    and taken out of the scored pairs, in relational-meta and meta alike (the two score the same pairs)."""
    Y = torch.from_numpy(sider.Y)
    split = make_split(sider.smiles, "scaffold", 0)
    draw = EvalDraw.create(Y, split, SETTINGS["relational-meta"], seed=0, aux_ratio=0.2, heldout_ratio=0.2, shots=64,
                           aux_tasks=aux_tasks)
    aux = draw.aux["test"]
    assert torch.equal(aux.sum(dim=1), torch.full((len(split.test),), round(0.2 * (27 if aux_tasks == "all" else 22))))
    assert bool(aux[:, draw.heldout].any()) == (aux_tasks == "all")
    Yt = Y[split.test]
    for setting in ("meta", "relational-meta"):
        masks = make_masks(Yt, SETTINGS[setting], targets=draw.heldout, aux=aux)
        assert not (masks.queried & aux).any() and torch.equal(masks.queried, ~torch.isnan(Yt) & draw.heldout & ~aux)
        revealed_new = masks.revealed[:, draw.heldout]
        assert bool(revealed_new.any()) == (aux_tasks == "all" and setting == "relational-meta")
    with pytest.raises(MetaLinkError, match="--aux-tasks 'some' is not one of seen, all"):
        EvalDraw.create(Y, split, SETTINGS["meta"], seed=0, aux_ratio=0.2, heldout_ratio=0.2, shots=8, aux_tasks="some")
