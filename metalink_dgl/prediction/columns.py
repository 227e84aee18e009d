"""The columns of a ``predict`` input and output: which input column is a task, the known labels and
SMILES of a chunk, and the output records."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..data.labels import parse_labels
from ..data.molecules import parseable
from ..data.reader import Frame, check_header, find_smiles_column
from ..errors import MetaLinkError, preview
from .plan import TaskPlan

logger = logging.getLogger(__name__)

PROB_SUFFIX = "_prob"  #: output column of binary task ``t``: ``t + PROB_SUFFIX`` (a probability)
VALUE_SUFFIX = "_value"  #: output column of continuous task ``t``: ``t + VALUE_SUFFIX`` (original units)
VALID_COLUMN = "metalink_valid"  #: with ``skip_invalid``: 1 = predicted, 0 = SMILES RDKit cannot parse
LABELS_HINT = "a column named like a task of the model is read as its labels; rename it if it holds something else"
SUPPORT_HINT = "every column of a support file but the SMILES one is a task; remove the others"


def added_columns(plan: TaskPlan, skip_invalid: bool) -> list[str]:
    """The columns predict appends: ``<task>_prob`` (binary) or ``<task>_value`` (continuous) per predicted
    task, then (``skip_invalid``) the valid flag."""
    continuous = plan.scaler.continuous
    return ([plan.names[j] + (VALUE_SUFFIX if continuous[j] else PROB_SUFFIX) for j in plan.predicted]
            + ([VALID_COLUMN] if skip_invalid else []))


@dataclass(frozen=True)
class InputColumns:
    """What each column of the input CSV is.

    Attributes
    ----------
    header : list of str
        The header cells as written (passed through to the output).
    smiles : int
        Position of the SMILES column.
    positions, block_columns : list of int
        Input position and block column of each task column.
    """

    header: list[str]
    smiles: int
    positions: list[int]
    block_columns: list[int]

    @property
    def n_columns(self) -> int:
        return len(self.header)


def input_columns(header: list[str], plan: TaskPlan, smiles_column: str | None, *, source: str,
                  skip_invalid: bool) -> InputColumns:
    """Match the header of the input to the tasks of ``plan``; warn once about the other columns."""
    names = [cell.strip() for cell in header]
    check_header(names, source)
    smiles = names.index(find_smiles_column(names, smiles_column, source))
    clash = next((name for name in added_columns(plan, skip_invalid) if name in names), None)
    if clash is not None:
        raise MetaLinkError(f"{source}: the input already has a column {clash!r}, which predict writes; rename it")
    positions = [i for i, name in enumerate(names) if name in plan.columns and i != smiles]
    ignored = [name or f"(unnamed column {i + 1})" for i, name in enumerate(names)
               if i != smiles and i not in positions]
    if ignored:
        logger.warning("%s: %d column(s) are not tasks of the model and are passed through unchanged: %s",
                       source, len(ignored), preview(ignored))
    return InputColumns(header, smiles, positions, [plan.columns[names[i]] for i in positions])


def chunk_labels(frame: Frame, columns: InputColumns, plan: TaskPlan, *, source: str) -> torch.Tensor:
    """Known labels of a chunk in block columns, in original units: (R, T_b) float32, NaN = unknown.

    Each column is read as the type of its task in ``plan`` (a value other than 0/1 in a binary
    task's column, or text anywhere, raises)."""
    Y = torch.full((len(frame.lines), len(plan.names)), float("nan"))
    if columns.positions:
        names = [columns.header[i].strip() for i in columns.positions]
        types = {name: plan.task_types[j] for name, j in zip(names, columns.block_columns)}
        Y[:, columns.block_columns] = torch.from_numpy(
            parse_labels(frame, columns.positions, names, source, hint=LABELS_HINT, task_types=types)[0])
    return Y


def valid_smiles(frame: Frame, columns: InputColumns, *, source: str,
                 skip_invalid: bool) -> tuple[list[str], np.ndarray]:
    """The chunk's SMILES (stripped) and (R,) bool: RDKit parses them; without ``skip_invalid`` a bad one raises."""
    smiles = [s.strip() for s in frame.cells[:, columns.smiles]]
    valid = parseable(smiles)
    if not skip_invalid and not valid.all():
        i = int(np.flatnonzero(~valid)[0])
        raise MetaLinkError(f"{source}, line {frame.lines[i]}, column {columns.header[columns.smiles].strip()!r}: "
                            f"RDKit cannot parse SMILES {smiles[i]!r}; fix it or pass --skip-invalid")
    return smiles, valid


def output_cells(frame: Frame, columns: InputColumns, plan: TaskPlan, valid: np.ndarray, shown: torch.Tensor,
                 probs: torch.Tensor, skip_invalid: bool) -> np.ndarray:
    """The output records of a chunk: input cells, then one column per predicted task (and the valid flag).

    A shown cell keeps its known label as written (stripped); an invalid row has empty
    predictions. ``shown`` and ``probs`` (probabilities, or values in original units for
    continuous tasks) are (R, T_b) over all rows of the chunk.
    """
    known = np.full((len(valid), len(plan.names)), "", dtype=object)
    known[:, columns.block_columns] = np.char.strip(frame.cells[:, columns.positions].astype(str))
    predicted = plan.predicted
    out = np.where(shown[:, predicted].numpy(), known[:, predicted],
                   np.char.mod("%.6f", probs[:, predicted].numpy()).astype(object))
    out[~valid] = ""
    parts = [frame.cells, out] + ([np.where(valid, "1", "0").astype(object)[:, None]] if skip_invalid else [])
    return np.concatenate(parts, axis=1)
