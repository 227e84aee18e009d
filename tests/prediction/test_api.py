"""``predict``: what it writes, which labels it uses, support sets for new tasks; on bundled SIDER molecules."""

from __future__ import annotations

import csv
import gzip
import logging
import re

import numpy as np
import pytest
import torch

from metalink_dgl import TrainConfig, predict, train
from metalink_dgl.checkpoint import load_checkpoint
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.io import _umask
from metalink_dgl.kg import draw_known
from metalink_dgl.metrics import roc_auc_by_task
from metalink_dgl.prediction import PROB_SUFFIX, VALID_COLUMN

PROB = re.compile(r"^(0|1)\.\d{6}$")  # a probability as predict writes it; a passed-through label has no dot


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def read_csv(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        return list(csv.reader(fh))


def label_cells(Y: np.ndarray, show: np.ndarray) -> np.ndarray:
    """'0'/'1' where ``show``, else ''."""
    return np.where(show, np.nan_to_num(Y).astype(int).astype(str), "")


def sider_input(path, sider, rows, tasks, show=None, extra=True):
    """A predict input: id, smiles, notes (with a comma and quotes), then ``tasks`` with the labels of ``show``."""
    cols = [sider.task_names.index(t) for t in tasks]
    Y = sider.Y[np.ix_(rows, cols)]
    cells = label_cells(Y, ~np.isnan(Y) if show is None else show)
    header = (["id", "smiles", "notes"] if extra else ["smiles"]) + list(tasks)
    body = [([f"mol{i}", sider.smiles[r], f'batch "{i % 3}", plate'] if extra else [sider.smiles[r]]) + list(c)
            for i, (r, c) in enumerate(zip(rows, cells))]
    return write_csv(path, header, body)


def probs(table, tasks) -> np.ndarray:
    """(rows, tasks) float array of the ``<task>_prob`` columns of a read output."""
    header = table[0]
    idx = [header.index(t + PROB_SUFFIX) for t in tasks]
    return np.array([[float(row[i]) for i in idx] for row in table[1:]])


def test_output_keeps_every_input_column_row_and_known_value(tmp_path, sider, untrained_checkpoint, caplog):
    tasks = sider.task_names[:4]
    rows = np.arange(20, 45)
    show = np.random.default_rng(0).random((len(rows), 4)) < 0.5
    src = sider_input(tmp_path / "in.csv", sider, rows, tasks, show)
    with caplog.at_level(logging.WARNING):
        result = predict(untrained_checkpoint(), src, tmp_path / "out.csv", device="cpu", progress=False)
    table_in, table_out = read_csv(src), read_csv(tmp_path / "out.csv")
    assert table_out[0] == table_in[0] + [t + PROB_SUFFIX for t in sider.task_names]
    assert [row[:len(table_in[0])] for row in table_out[1:]] == table_in[1:]  # same rows, order, cells
    for row_in, row_out in zip(table_in[1:], table_out[1:]):
        for j, t in enumerate(tasks):
            known, out = row_in[3 + j], row_out[table_out[0].index(t + PROB_SUFFIX)]
            assert out == known if known else PROB.match(out), (t, known, out)
        assert all(PROB.match(v) for v in row_out[len(row_in) + len(tasks):])  # tasks not in the input
    assert result.n_rows == len(rows) and result.tasks == sider.task_names and result.n_invalid == 0
    assert result.n_predicted == len(rows) * sider.n_tasks - int(show[~np.isnan(sider.Y[rows][:, :4])].sum())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "not tasks of the model" in warnings[0] and "'id', 'notes'" in warnings[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no temporary file left


def test_tasks_option_chooses_and_orders_the_predicted_columns(tmp_path, sider, untrained_checkpoint):
    src = sider_input(tmp_path / "in.csv", sider, np.arange(10), sider.task_names[:2], extra=False)
    chosen = [sider.task_names[5], sider.task_names[0]]
    result = predict(untrained_checkpoint(), src, tmp_path / "out.csv", tasks=chosen, device="cpu", progress=False)
    assert read_csv(tmp_path / "out.csv")[0][-2:] == [t + PROB_SUFFIX for t in chosen] and result.tasks == chosen
    full = predict(untrained_checkpoint(), src, tmp_path / "all.csv", device="cpu", progress=False)
    assert np.array_equal(probs(read_csv(tmp_path / "out.csv"), chosen[:1]),
                          probs(read_csv(tmp_path / "all.csv"), chosen[:1]))  # choosing does not change a value
    assert full.n_predicted > result.n_predicted


def test_known_labels_reach_a_relational_model_but_not_a_standard_one(tmp_path, sider, untrained_checkpoint, caplog):
    tasks = sider.task_names[:6]
    rows = np.arange(16)
    rest = sider.task_names[6:]
    blank = sider_input(tmp_path / "blank.csv", sider, rows, tasks, show=np.zeros((16, 6), dtype=bool), extra=False)
    known = sider_input(tmp_path / "known.csv", sider, rows, tasks, extra=False)
    out = {}
    for setting in ("relational", "standard"):
        for name, src in (("blank", blank), ("known", known)):
            predict(untrained_checkpoint(setting), src, tmp_path / f"{setting}-{name}.csv", device="cpu",
                    progress=False)
            out[setting, name] = probs(read_csv(tmp_path / f"{setting}-{name}.csv"), rest)
    assert not np.allclose(out["relational", "blank"], out["relational", "known"])
    assert np.array_equal(out["standard", "blank"], out["standard", "known"])
    assert any("does not use the known labels" in r.getMessage() for r in caplog.records)


def test_aux_ratio_reveals_a_seeded_fraction_of_each_rows_known_labels(tmp_path, sider, untrained_checkpoint):
    tasks = sider.task_names
    rows = np.arange(100, 124)
    full = sider_input(tmp_path / "full.csv", sider, rows, tasks, extra=False)
    blank = sider_input(tmp_path / "blank.csv", sider, rows, tasks, show=np.zeros((24, 27), dtype=bool), extra=False)
    ckpt = untrained_checkpoint()
    predict(ckpt, full, tmp_path / "zero.csv", aux_ratio=0.0, device="cpu", progress=False)
    predict(ckpt, blank, tmp_path / "blank_out.csv", device="cpu", progress=False)
    assert np.array_equal(probs(read_csv(tmp_path / "zero.csv"), tasks),
                          probs(read_csv(tmp_path / "blank_out.csv"), tasks))

    for name in ("half_a", "half_b"):
        predict(ckpt, full, tmp_path / f"{name}.csv", aux_ratio=0.5, seed=3, device="cpu", progress=False)
    half = read_csv(tmp_path / "half_a.csv")
    assert half == read_csv(tmp_path / "half_b.csv")  # seeded
    n_known = (~np.isnan(sider.Y[rows])).sum(axis=1)
    passed = np.array([sum(not PROB.match(v) for v in row[28:]) for row in half[1:]])
    assert np.array_equal(passed, np.round(0.5 * n_known))  # a passed-through label has no decimals


def test_draw_known_takes_round_ratio_of_each_rows_observed_entries():
    observed = torch.rand(50, 12, generator=torch.Generator().manual_seed(0)) < 0.6
    shown = draw_known(observed, 0.3, torch.Generator().manual_seed(1))
    assert not (shown & ~observed).any()
    assert torch.equal(shown.sum(1), torch.round(0.3 * observed.sum(1)).long())


def test_chunking_and_gzip_do_not_change_the_output(tmp_path, sider, untrained_checkpoint):
    rows = np.arange(200, 237)
    src = sider_input(tmp_path / "in.csv", sider, rows, sider.task_names[:3])
    with open(src, "rb") as fh, gzip.open(tmp_path / "in.csv.gz", "wb") as gz:
        gz.write(fh.read())
    ckpt = untrained_checkpoint()
    predict(ckpt, src, tmp_path / "one.csv", batch_size=4, batches_per_chunk=1, aux_ratio=0.5, device="cpu",
            progress=False)
    predict(ckpt, tmp_path / "in.csv.gz", tmp_path / "many.csv.gz", batch_size=4, batches_per_chunk=3, aux_ratio=0.5,
            device="cpu", progress=False)
    assert read_csv(tmp_path / "one.csv") == read_csv(tmp_path / "many.csv.gz")


def test_skip_invalid_marks_rows_and_keeps_their_place(tmp_path, sider, untrained_checkpoint):
    header = ["smiles", sider.task_names[0]]
    body = [[sider.smiles[0], "1"], ["not-a-smiles", "0"], [sider.smiles[1], ""], ["", "1"]]
    src = write_csv(tmp_path / "in.csv", header, body)
    with pytest.raises(MetaLinkError, match=r"in\.csv, line 3, column 'smiles': RDKit cannot parse"):
        predict(untrained_checkpoint(), src, tmp_path / "out.csv", device="cpu", progress=False)
    assert not (tmp_path / "out.csv").exists()
    result = predict(untrained_checkpoint(), src, tmp_path / "out.csv", skip_invalid=True, device="cpu",
                     progress=False)
    table = read_csv(tmp_path / "out.csv")
    assert table[0][-1] == VALID_COLUMN and [row[-1] for row in table[1:]] == ["1", "0", "1", "0"]
    assert [row[:2] for row in table[1:]] == body
    assert all(v == "" for row in (table[2], table[4]) for v in row[2:-1])
    assert table[1][2] == "1" and PROB.match(table[3][2]) and result.n_invalid == 2


def _support(tmp_path, sider, rows, tasks, flip=False, shown=None):
    """A support CSV of SIDER ``rows`` labelled on ``tasks`` (only the ``shown`` (rows, tasks) cells if given)."""
    cols = [sider.task_names.index(t) for t in tasks]
    Y = sider.Y[np.ix_(rows, cols)]
    Y = Y if shown is None else np.where(np.asarray(shown), Y, np.nan)
    Y = np.where(np.isnan(Y), Y, 1 - Y) if flip else Y
    body = [[sider.smiles[r], *c] for r, c in zip(rows, label_cells(Y, ~np.isnan(Y)))]
    return write_csv(tmp_path / ("flipped.csv" if flip else "support.csv"), ["smiles", *tasks], body)


def test_support_set_predicts_new_tasks_for_a_meta_model(tmp_path, sider, untrained_checkpoint):
    ckpt = untrained_checkpoint("relational-meta")
    heldout = [t for t, h in zip(sider.task_names, load_checkpoint(ckpt)["draw"]["heldout"]) if h]
    new = heldout[:2]
    src = sider_input(tmp_path / "in.csv", sider, np.arange(300, 320), sider.task_names[:3])
    support = _support(tmp_path, sider, np.arange(500, 600), new)
    result = predict(ckpt, src, tmp_path / "out.csv", support=support, shots=40, device="cpu", progress=False)
    assert result.tasks == new and result.new_tasks == new and result.n_support == 40
    table = read_csv(tmp_path / "out.csv")
    assert table[0][-2:] == [t + PROB_SUFFIX for t in new] and all(PROB.match(v) for r in table[1:] for v in r[-2:])
    predict(ckpt, src, tmp_path / "again.csv", support=support, shots=40, device="cpu", progress=False)
    assert read_csv(tmp_path / "again.csv") == table  # the shots draw is seeded
    predict(ckpt, src, tmp_path / "flipped_out.csv", support=_support(tmp_path, sider, np.arange(500, 600), new,
                                                                      flip=True),
            shots=40, device="cpu", progress=False)
    assert not np.allclose(probs(table, new), probs(read_csv(tmp_path / "flipped_out.csv"), new))  # support is used

    predict(ckpt, src, tmp_path / "all.csv", support=support, device="cpu", progress=False)
    predict(ckpt, src, tmp_path / "many.csv", support=support, shots=1000, device="cpu", progress=False)
    assert read_csv(tmp_path / "many.csv") == read_csv(tmp_path / "all.csv")  # fewer labels than K: all are shown
    seen = next(t for t in sider.task_names if t not in heldout)
    with pytest.raises(MetaLinkError, match=f"--tasks '{seen}': a meta-trained checkpoint predicts only"):
        predict(ckpt, src, tmp_path / "x.csv", support=support, tasks=[seen], device="cpu", progress=False)
    with pytest.raises(MetaLinkError, match="give them with --support"):
        predict(ckpt, src, tmp_path / "x.csv", device="cpu", progress=False)
    with pytest.raises(MetaLinkError, match="--support needs a meta-trained checkpoint"):
        predict(untrained_checkpoint(), src, tmp_path / "x.csv", support=support, device="cpu", progress=False)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_revealing_half_of_each_compounds_labels_beats_revealing_none(tmp_path, sider):
    """Acceptance (issue 7): on SIDER test-split compounds, the same model and molecules score a higher mean
    ROC-AUC on the hidden half of the labels when the other half is in the input than when none is."""
    config = TrainConfig(dataset="sider", setting="relational", epochs=8, hidden=64, batch_size=64, device="cpu",
                         out=str(tmp_path / "run"))
    train(config, progress=False)
    ckpt = tmp_path / "run" / "seed_0" / "best.pt"
    test = load_checkpoint(ckpt)["split"]["test"].numpy()
    Y = sider.Y[test]
    rng = np.random.default_rng(0)
    half = np.zeros(Y.shape, dtype=bool)
    for i, row in enumerate(Y):
        known = np.flatnonzero(~np.isnan(row))
        half[i, rng.permutation(known)[: len(known) // 2]] = True
    hidden_rows, hidden_tasks = np.nonzero(~half & ~np.isnan(Y))
    auc = {}
    for name, show in (("half", half), ("none", np.zeros_like(half))):
        src = sider_input(tmp_path / f"{name}.csv", sider, test, sider.task_names, show, extra=False)
        predict(ckpt, src, tmp_path / f"{name}_out.csv", device="cpu", progress=False)
        P = probs(read_csv(tmp_path / f"{name}_out.csv"), sider.task_names)
        auc[name] = roc_auc_by_task(Y[hidden_rows, hidden_tasks], P[hidden_rows, hidden_tasks], hidden_tasks,
                                    sider.task_names)["roc_auc"]
    assert auc["half"] > auc["none"], auc


def test_the_input_is_streamed_in_chunks_of_whole_minibatches(tmp_path, sider, untrained_checkpoint, monkeypatch):
    import metalink_dgl.prediction.api as prediction

    sizes = []

    def molecule_inputs(dataset, *args, **kwargs):
        sizes.append(len(dataset))
        return real(dataset, *args, **kwargs)

    real = prediction.molecule_inputs
    monkeypatch.setattr(prediction, "molecule_inputs", molecule_inputs)
    src = sider_input(tmp_path / "in.csv", sider, np.arange(50), sider.task_names[:2])
    predict(untrained_checkpoint(), src, tmp_path / "out.csv", batch_size=4, batches_per_chunk=3, device="cpu",
            progress=False)
    assert sizes == [12, 12, 12, 12, 2]  # never more than 3 minibatches of molecules in memory
    assert oct((tmp_path / "out.csv").stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # as open() would make it


@pytest.mark.parametrize("setting", ["relational", "relational-meta"])
def test_predict_agrees_with_evaluation_on_the_saved_test_draw(tmp_path, sider, untrained_checkpoint, setting):
    """The same molecules, revealed labels and support give the probabilities evaluation scores."""
    from metalink_dgl.data import featurize
    from metalink_dgl.engine import load_model, score_rows
    from metalink_dgl.kg import EvalDraw, get_setting

    ckpt_path = untrained_checkpoint(setting)
    model, config, ckpt = load_model(ckpt_path)
    draw = EvalDraw.from_state(ckpt["draw"])
    test = ckpt["split"]["test"][:40]
    aux = draw.aux["test"][:40].numpy()
    targets = draw.heldout if get_setting(setting).meta else torch.ones_like(draw.heldout)
    expected = score_rows(model, featurize(sider, progress=False), torch.from_numpy(sider.Y), test,
                          torch.from_numpy(aux), get_setting(setting), targets, draw.support,
                          support_shown=draw.support_shown, batch_size=config.batch_size, device=torch.device("cpu"))
    src = sider_input(tmp_path / "in.csv", sider, test.numpy(), sider.task_names, show=aux & ~draw.heldout.numpy(),
                      extra=False)
    support = None
    if len(draw.support):
        new = [t for t, h in zip(sider.task_names, draw.heldout) if h]
        support = _support(tmp_path, sider, draw.support.numpy(), new, shown=draw.support_shown[:, draw.heldout])
    predict(ckpt_path, src, tmp_path / "out.csv", support=support, device="cpu", progress=False)
    P = probs(read_csv(tmp_path / "out.csv"), [sider.task_names[j] for j in targets.nonzero().flatten()])
    position = {int(r): i for i, r in enumerate(test)}
    column = {int(j): k for k, j in enumerate(targets.nonzero().flatten())}
    got = [P[position[int(r)], column[int(t)]] for r, t in zip(expected["row"], expected["task"])]
    assert len(got) > 100
    np.testing.assert_allclose(got, expected["pred"], atol=2e-6)
