"""``metalink-dgl predict`` through click's CliRunner: a run, and every kind of bad input (one line, no output)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from metalink_dgl.checkpoint import load_checkpoint


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _write(path: Path, rows) -> Path:
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _input(path: Path, sider, n: int = 6, tasks: int = 2, **cells) -> Path:
    """SMILES + the first ``tasks`` SIDER tasks of molecules 0..n-1 (labels as in SIDER); ``cells`` overrides
    ``"<row>_<col>"`` (0-based body row and column) with a value."""
    rows = [["smiles", *sider.task_names[:tasks]]]
    for i in range(n):
        rows.append([sider.smiles[i], *(str(int(v)) for v in sider.Y[i, :tasks])])
    for key, value in cells.items():
        i, j = map(int, key.split("_"))
        rows[1 + i][j] = value
    return _write(path, rows)


def _variant(src: Path, dst: Path, **changes) -> Path:
    """A copy of checkpoint ``src`` with top-level keys replaced (None deletes one)."""
    ckpt = load_checkpoint(src)
    ckpt.update(changes)
    torch.save({k: v for k, v in ckpt.items() if v is not None}, dst)
    return dst


def _invoke(*args):
    return CliRunner().invoke(cli, ["predict", *map(str, args), "--device", "cpu", "--no-progress"],
                              catch_exceptions=False)


def test_predict_command_writes_the_filled_csv(tmp_path, sider, untrained_checkpoint):
    src = _input(tmp_path / "in.csv", sider, n=5, **{"1_1": ""})
    result = _invoke("--checkpoint", untrained_checkpoint(), "--input", src, "--output", tmp_path / "filled.csv",
                     "--tasks", f"{sider.task_names[0]}, {sider.task_names[4]}")
    assert result.exit_code == 0, result.output
    assert f"5 molecules (0 invalid), 2 tasks: 6 probabilities written to {tmp_path / 'filled.csv'}" in result.stdout
    with open(tmp_path / "filled.csv", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0][-2:] == [f"{sider.task_names[0]}_prob", f"{sider.task_names[4]}_prob"]
    with open(src, newline="") as fh:
        assert [row[:3] for row in table] == [row[:3] for row in csv.reader(fh)]  # input passed through
    assert table[1][3] == table[1][1] and 0 <= float(table[2][3]) <= 1 and "." in table[2][3]  # known; predicted
    assert result.stderr == ""  # no column to ignore, nothing to warn about


def _case_files(tmp_path: Path, sider, untrained_checkpoint) -> dict:
    """``({case: (how it differs from the good run, text its error must contain)}, good checkpoint)``.

    A case may set ``checkpoint``, ``input``, ``output`` and ``extra`` (more arguments).
    """
    _input(tmp_path / "in.csv", sider)  # the good input; each case changes one thing
    ckpt = untrained_checkpoint()
    meta = untrained_checkpoint("relational-meta")
    heldout = [t for t, h in zip(sider.task_names, load_checkpoint(meta)["draw"]["heldout"]) if h]
    support = _write(tmp_path / "support.csv", [["smiles", heldout[0]], *([sider.smiles[i], "1"] for i in range(7)),
                                                [sider.smiles[7], ""]])
    trunc = tmp_path / "cut.pt"
    trunc.write_bytes(Path(ckpt).read_bytes()[:5000])
    torch.save({"format": "metalink-dgl/checkpoint/1", "config": {}, "payload": Evil()}, tmp_path / "evil.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    other_config = {**load_checkpoint(ckpt)["config"], "hidden": 32}
    task = sider.task_names[1]
    return {
        "invalid SMILES": (dict(input=_input(tmp_path / "bad.csv", sider, **{"1_0": "C1CC"})),
                           "bad.csv, line 3, column 'smiles': RDKit cannot parse SMILES 'C1CC'"),
        "empty input": (dict(input=_write(tmp_path / "empty.csv", [])), "empty.csv: the file is empty"),
        "header only": (dict(input=_write(tmp_path / "head.csv", [["smiles", task]])),
                        "head.csv: the file has a header but no rows"),
        "no SMILES column": (dict(input=_write(tmp_path / "nosmi.csv", [["mol", task], ["CCO", "1"]])),
                             "nosmi.csv: no SMILES column"),
        "task value not 0/1/empty": (dict(input=_input(tmp_path / "val.csv", sider, **{"2_2": "yes"})),
                                     f"val.csv, line 4, column '{task}': task value 'yes' is not 0, 1 or empty"),
        "bad value after the first chunks": (
            dict(input=_input(tmp_path / "late.csv", sider, n=70, **{"60_2": "2"}), extra=["--batch-size", "2"]),
            f"late.csv, line 62, column '{task}': task value '2'"),
        "too many fields": (dict(input=_write(tmp_path / "wide.csv", [["smiles", task], ["CCO", "1", "0"]])),
                            "wide.csv, line 2: 3 fields, but the header has 2 columns"),
        "input is missing": (dict(input=tmp_path / "nothere.csv"), "nothere.csv: no such file"),
        "a column predict would write": (
            dict(input=_write(tmp_path / "clash.csv", [["smiles", f"{task}_prob"], ["CCO", "x"]])),
            f"clash.csv: the input already has a column '{task}_prob'"),
        "checkpoint of a different model": (
            dict(checkpoint=_variant(ckpt, tmp_path / "other_model.pt", config=other_config)),
            "other_model.pt: weights do not match the model its config describes"),
        "checkpoint of another format version": (
            dict(checkpoint=_variant(ckpt, tmp_path / "v2.pt", format="metalink-dgl/checkpoint/2", version="9.0")),
            "v2.pt: checkpoint format 'metalink-dgl/checkpoint/2' (metalink-dgl 9.0) cannot be read"),
        "checkpoint config from another version": (
            dict(checkpoint=_variant(ckpt, tmp_path / "newer.pt", config={**other_config, "hidden": 16, "warp": 1})),
            "newer.pt: config has unknown options ['warp']; it was written by another version"),
        "checkpoint without weights": (dict(checkpoint=_variant(ckpt, tmp_path / "bare.pt", state_dict=None)),
                                       "bare.pt: incomplete metalink-dgl checkpoint (no state_dict)"),
        "truncated checkpoint": (dict(checkpoint=trunc), "cut.pt: not a readable checkpoint (truncated or corrupt"),
        "checkpoint with a pickled object": (dict(checkpoint=tmp_path / "evil.pt"), "evil.pt: refused to load"),
        "foreign checkpoint": (dict(checkpoint=tmp_path / "foreign.pt"), "foreign.pt: not a metalink-dgl checkpoint"),
        "unknown task in --tasks": (dict(extra=["--tasks", f"{task},Nope"]),
                                    "relational.pt: unknown task 'Nope' in --tasks"),
        "support file with no label": (
            dict(checkpoint=meta, extra=["--support", _write(tmp_path / "s_none.csv", [["smiles", "assay"],
                                                                                       ["CCO", ""], ["CCN", ""]])]),
            "s_none.csv: none of the 2 molecules is labelled on the 1 support tasks; the support set would be empty"),
        "bad value in the support file": (
            dict(checkpoint=meta, extra=["--support", _write(tmp_path / "s_val.csv", [["smiles", "assay", "name"],
                                                                                      ["CCO", "1", "ethanol"]])]),
            "s_val.csv, line 2, column 'name': task value 'ethanol' is not a number (empty = unknown label; a task "
            "holds 0/1 labels or finite values); every column of a support file but the SMILES one is a task"),
        "invalid SMILES in the support file": (
            dict(checkpoint=meta, extra=["--support", _write(tmp_path / "s_smi.csv", [["smiles", "assay"],
                                                                                      ["CCO", "1"], ["C1CC", "0"]])]),
            "s_smi.csv, line 3, column 'smiles': RDKit cannot parse SMILES 'C1CC'"),
        "--support with a model that is not meta-trained": (
            dict(extra=["--support", support]), "--support needs a meta-trained checkpoint"),
        "meta-trained model without --support": (dict(checkpoint=meta), "give them with --support FILE"),
        "--aux-ratio 1": (dict(extra=["--aux-ratio", "1"]), "--aux-ratio 1.0 must be in [0, 1)"),
        "--aux-ratio below 0": (dict(extra=["--aux-ratio", "-0.2"]), "--aux-ratio -0.2 must be in [0, 1)"),
        "output in a missing directory": (dict(output=tmp_path / "no" / "such" / "out.csv"),
                                          f"out.csv: directory {tmp_path / 'no' / 'such'} does not exist"),
    }, ckpt


CASES = ["invalid SMILES", "empty input", "header only", "no SMILES column", "task value not 0/1/empty",
         "bad value after the first chunks", "too many fields", "input is missing", "a column predict would write",
         "checkpoint of a different model", "checkpoint of another format version",
         "checkpoint config from another version", "checkpoint without weights", "truncated checkpoint",
         "checkpoint with a pickled object", "foreign checkpoint", "unknown task in --tasks",
         "support file with no label", "bad value in the support file", "invalid SMILES in the support file",
         "--support with a model that is not meta-trained",
         "meta-trained model without --support", "--aux-ratio 1", "--aux-ratio below 0",
         "output in a missing directory"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_naming_the_file_and_writes_nothing(tmp_path, sider, untrained_checkpoint, case):
    cases, ckpt = _case_files(tmp_path, sider, untrained_checkpoint)
    spec, expected = cases[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = spec.get("output", out_dir / "filled.csv")
    result = _invoke("--checkpoint", spec.get("checkpoint", ckpt), "--input", spec.get("input", tmp_path / "in.csv"),
                     "--output", output, *spec.get("extra", []))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and expected in errors[0], (errors, expected)
    assert not Path(output).exists() and list(out_dir.iterdir()) == []  # no output, no temporary file
    assert "this must never run" not in result.output
