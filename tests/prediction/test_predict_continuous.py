"""``predict`` on continuous and mixed tasks: values in original units, known values passed through as written."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from metalink_dgl import TrainConfig, predict, train
from metalink_dgl.data import featurize, load_dataset
from metalink_dgl.data.scaling import LabelScaler
from metalink_dgl.engine import load_model, score_rows
from metalink_dgl.kg import SETTINGS, EvalDraw
from metalink_dgl.prediction.columns import PROB_SUFFIX, VALUE_SUFFIX

HLM, RLM = "LOG HLM_CLint (mL/min/kg)", "LOG RLM_CLint (mL/min/kg)"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A CSV of 500 ADME molecules: HLM as a value, RLM as a 0/1 call; and a relational model trained on it."""
    folder = tmp_path_factory.mktemp("mixed")
    adme = load_dataset("adme")
    hlm, rlm = (adme.Y[:500, adme.task_names.index(n)] for n in (HLM, RLM))
    with open(folder / "mixed.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["smiles", "hlm", "rlm_high"])
        for s, h, r in zip(adme.smiles, hlm, rlm):
            writer.writerow([s, "" if np.isnan(h) else f"{h:.4f}", "" if np.isnan(r) else int(r > 2.2)])
    train(TrainConfig(dataset=str(folder / "mixed.csv"), setting="relational", epochs=2, hidden=32, batch_size=32,
                      aux_ratio=0.5, device="cpu", out=str(folder / "run")), progress=False)
    return folder


def test_predict_writes_values_in_original_units_equal_to_evaluation(mixed, tmp_path):
    ckpt_path = mixed / "run" / "seed_0" / "best.pt"
    model, config, ckpt = load_model(ckpt_path)
    data = load_dataset(str(mixed / "mixed.csv"))
    scaler = LabelScaler.from_state(ckpt["scaler"], 2)
    assert scaler.continuous.tolist() == [True, False]
    draw = EvalDraw.from_state(ckpt["draw"])
    test = ckpt["split"]["test"][:40]
    aux = draw.aux["test"][:40] & ~torch.isnan(torch.from_numpy(data.Y[test.numpy()]))
    Y = torch.from_numpy(data.Y)
    expected = score_rows(model, featurize(data, progress=False), scaler.transform(Y), test, aux,
                          SETTINGS["relational"], torch.ones(2, dtype=torch.bool), draw.support,
                          batch_size=config.batch_size, device=torch.device("cpu"), scaler=scaler)
    raw = list(csv.reader(open(mixed / "mixed.csv")))
    with open(tmp_path / "in.csv", "w", newline="") as fh:  # the test rows, showing their revealed cells as written
        writer = csv.writer(fh)
        writer.writerow(raw[0])
        for k, r in enumerate(test.tolist()):
            row = raw[r + 1]
            writer.writerow([row[0], *[row[1 + j] if aux[k, j] else "" for j in range(2)]])
    result = predict(ckpt_path, tmp_path / "in.csv", tmp_path / "out.csv", device="cpu", progress=False)
    out = list(csv.reader(open(tmp_path / "out.csv")))
    header = out[0]
    assert header[3:] == ["hlm" + VALUE_SUFFIX, "rlm_high" + PROB_SUFFIX] and result.tasks == ["hlm", "rlm_high"]
    got = {(int(test[i]), j): out[i + 1][3 + j] for i in range(len(test)) for j in range(2)}
    for k, (r, t) in enumerate(zip(expected["row"], expected["task"])):
        assert float(got[(int(r), int(t))]) == pytest.approx(float(expected["pred"][k]), abs=2e-6)
    for k, r in enumerate(test.tolist()):  # known values pass through as written
        for j in range(2):
            if aux[k, j]:
                assert got[(r, j)] == raw[r + 1][1 + j]
    values = np.array([float(got[(int(r), 0)]) for r, t in zip(expected["row"], expected["task"]) if t == 0])
    assert len(values) > 10 and 0.3 < values.mean() < 2.5  # HLM's log10 scale (mean 1.3), not standardised


def test_a_binary_value_in_a_continuous_models_binary_column_is_refused(mixed, tmp_path):
    (tmp_path / "bad.csv").write_text("smiles,hlm,rlm_high\nCCO,1.5,0.7\n")
    from metalink_dgl.errors import MetaLinkError

    with pytest.raises(MetaLinkError, match=r"bad.csv, line 2, column 'rlm_high'.*'0.7'"):
        predict(mixed / "run" / "seed_0" / "best.pt", tmp_path / "bad.csv", tmp_path / "o.csv", device="cpu",
                progress=False)
    assert not (tmp_path / "o.csv").exists()
