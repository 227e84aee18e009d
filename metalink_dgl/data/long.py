"""Long-format label files: one measurement per line, ``smiles,task,value``, read straight into sparse labels.

Large assay matrices (ChEMBL-style exports: 10^5-10^6 compounds x 10^3 assays, a few per cent
measured) come as one row per measurement, not as a wide table that is mostly empty. A CSV whose
header is a SMILES column plus the columns ``task`` and ``value`` (any case, any order) is read
this way: in chunks (the file is never held as text), molecules in order of first appearance,
tasks likewise, into a :class:`~metalink_dgl.label_matrix.SparseLabels`. A task whose values are
all 0/1 is binary, any other numbers make it continuous (``task_types`` overrides), as for wide files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import MetaLinkError
from ..label_matrix import SparseLabels
from .labels import check_task_types
from .reader import count_lines, read_chunks

#: The two non-SMILES columns that make a file long-format.
LONG_COLUMNS = ("task", "value")
_CHUNK = 1 << 16


def long_columns(header: list[str], smiles_column: str) -> tuple[int, int] | None:
    """Positions of the ``task`` and ``value`` columns when ``header`` is exactly those two (any case) plus
    ``smiles_column``; None for a wide file."""
    others = [(c.lower(), j) for j, c in enumerate(header) if c != smiles_column]
    names = dict(others)
    if len(others) != 2 or set(names) != set(LONG_COLUMNS):
        return None
    return names["task"], names["value"]


@dataclass(frozen=True)
class LongLabels:
    """A long-format file read into molecules x tasks.

    Attributes
    ----------
    smiles : list of str
        The N molecules, in order of first appearance (stripped).
    lines : ndarray, (N,) int64
        The first file line of each molecule.
    Y : SparseLabels
        (N, T) labels.
    task_names : list of str
        The T tasks, in order of first appearance.
    task_types : list of str
        ``"binary"`` or ``"regression"`` per task.
    """

    smiles: list[str]
    lines: np.ndarray
    Y: SparseLabels
    task_names: list[str]
    task_types: list[str]


def read_long(path: Path, source: str, header: list[str], smiles_column: str,
              task_types: Mapping[str, str] | None = None) -> LongLabels:
    """Read the long-format CSV ``path`` (``header`` already checked); one-line errors name file, line, column.

    Raises
    ------
    MetaLinkError
        For an empty SMILES, task or value cell, a value that is not a finite number, a (molecule, task)
        measured twice, a file without rows, or a ``task_types`` entry that is not a task or is binary
        while its task holds a value other than 0/1.
    """
    s_col = header.index(smiles_column)
    t_col, v_col = long_columns(header, smiles_column)
    molecules: dict[str, int] = {}
    tasks: dict[str, int] = {}
    first_lines: list[int] = []
    rows, cols, values, lines = [], [], [], []
    bar = tqdm(total=count_lines(path), desc=f"reading {path.name}", unit="line", unit_scale=True, leave=False,
               disable=None)
    for frame in read_chunks(path, source, len(header), _CHUNK):
        bar.update(len(frame.lines))
        columns = [[cell.strip() for cell in frame.cells[:, k]] for k in (s_col, t_col, v_col)]
        for cells, name in zip(columns, (smiles_column, header[t_col], header[v_col])):
            if not all(cells):
                line = frame.lines[cells.index("")]
                raise MetaLinkError(f"{source}, line {line}, column {name!r}: empty cell; a long-format file has "
                                    "one measurement per line (leave unknown labels out)")
        values.append(_numbers(columns[2], frame.lines, source, header[v_col]))
        for smiles, line in zip(columns[0], frame.lines.tolist()):
            if smiles not in molecules:
                molecules[smiles] = len(molecules)
                first_lines.append(line)
        rows.append(np.fromiter(map(molecules.__getitem__, columns[0]), np.int64, len(columns[0])))
        cols.append(np.fromiter((tasks.setdefault(t, len(tasks)) for t in columns[1]), np.int64, len(columns[1])))
        lines.append(frame.lines)
    bar.close()
    if not molecules:
        raise MetaLinkError(f"{source}: the file has a header but no rows")
    row, col, value, line = (np.concatenate(a) for a in (rows, cols, values, lines))
    names = list(tasks)
    _check_unique(row, col, line, len(names), source, names)
    types = _task_types(col, value, line, names, task_types, source, header[v_col])
    Y = SparseLabels.from_coo(row, col, value.astype(np.float32), (len(molecules), len(names)))
    return LongLabels(list(molecules), np.asarray(first_lines, dtype=np.int64), Y, names, types)


def _numbers(cells: list[str], lines: np.ndarray, source: str, column: str) -> np.ndarray:
    """(R,) float64 values of the value cells; the first one that is not a finite number raises."""
    try:
        values = np.fromiter(map(float, cells), np.float64, len(cells))
        bad = np.flatnonzero(~np.isfinite(values))
    except ValueError:
        bad = np.flatnonzero([not _is_number(c) for c in cells])
    if bad.size:
        raise MetaLinkError(f"{source}, line {lines[bad[0]]}, column {column!r}: value {cells[bad[0]]!r} is not "
                            "a finite number")
    return values


def _is_number(cell: str) -> bool:
    try:
        return bool(np.isfinite(float(cell)))
    except ValueError:
        return False


def _check_unique(row: np.ndarray, col: np.ndarray, line: np.ndarray, n_tasks: int, source: str,
                  names: list[str]) -> None:
    """Raise, naming both lines, if a (molecule, task) pair is measured twice."""
    key = row * n_tasks + col
    order = np.argsort(key, kind="stable")
    repeat = np.flatnonzero(key[order][1:] == key[order][:-1])
    if repeat.size:
        first, second = sorted((int(line[order[repeat[0]]]), int(line[order[repeat[0] + 1]])))
        raise MetaLinkError(f"{source}, line {second}: task {names[col[order[repeat[0]]]]!r} of this molecule is "
                            f"already measured on line {first}; keep one value per (molecule, task), e.g. their mean")


def _task_types(col: np.ndarray, value: np.ndarray, line: np.ndarray, names: list[str],
                task_types: Mapping[str, str] | None, source: str, column: str) -> list[str]:
    """Binary when every value of the task is 0 or 1, else regression; a forced binary task with another
    value raises, naming its first such line."""
    forced = check_task_types(task_types, names, source)
    other = (value != 0) & (value != 1)
    numeric = np.zeros(len(names), dtype=bool)
    numeric[col[other]] = True
    types = [forced.get(name, "regression" if numeric[j] else "binary") for j, name in enumerate(names)]
    binary = np.array([kind == "binary" for kind in types], dtype=bool)[col]
    bad = np.flatnonzero(other & binary)
    if bad.size:
        i = bad[np.argmin(line[bad])]
        raise MetaLinkError(f"{source}, line {line[i]}, column {column!r}: value {value[i]:g} of task "
                            f"{names[col[i]]!r} is not 0 or 1, and the task is forced binary (--task-types)")
    return types
