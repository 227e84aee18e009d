"""Multi-task molecule datasets: SMILES plus a label matrix ``Y`` (N, T) with NaN for unknown.

Three MoleculeNet sets (binary tasks) and the Biogen ADME set (continuous endpoints) ship inside
the package (:data:`BUNDLED`); any CSV of SMILES and task columns loads the same way, each task
binary (0/1) or continuous (:mod:`.labels`). Every problem with a file is a one-line
:class:`~metalink_dgl.errors.MetaLinkError` naming the file, and the line and column
where there is one. Line numbers are 1-based file lines, the header being line 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import MetaLinkError, preview
from ..label_matrix import SparseLabels
from .labels import TASK_COLUMNS_HINT, TASK_TYPES, parse_labels
from .long import long_columns, read_long
from .molecules import parseable
from .reader import Frame, check_header, find_smiles_column, read_header, read_table
from .splits import Split, make_split

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledDataset:
    """A CSV packaged in ``metalink_dgl/data/<folder>`` (MoleculeNet sets in ``moleculenet``, ADME in ``adme``).

    Attributes
    ----------
    filename : str
        File name inside the package folder ``folder``.
    smiles_column : str
        Name of the SMILES column.
    exclude : tuple of str
        Non-task columns besides the SMILES one (e.g. Tox21's ``mol_id``); every other
        column is a task, its type inferred from its values.
    folder : str
        Package folder of the file (``metalink_dgl/data/<folder>``), beside its README and licence.
    """

    filename: str
    smiles_column: str = "smiles"
    exclude: tuple[str, ...] = ()
    folder: str = "moleculenet"

    @contextlib.contextmanager
    def path(self) -> Iterator[Path]:
        """Context manager giving a real file path of the packaged CSV."""
        ref = resources.files("metalink_dgl.data").joinpath(self.folder, self.filename)
        with resources.as_file(ref) as path:
            yield Path(path)


#: Datasets that ship with the package, by the name ``--dataset`` accepts.
BUNDLED: dict[str, BundledDataset] = {
    "tox21": BundledDataset("tox21.csv.gz", exclude=("mol_id",)),
    "sider": BundledDataset("sider.csv.gz"),
    "toxcast": BundledDataset("toxcast_data.csv.gz"),
    "adme": BundledDataset("ADME_public_set_3521.csv.gz", smiles_column="SMILES",
                           exclude=("Internal ID", "Vendor ID", "CollectionName"), folder="adme"),
}


@dataclass(frozen=True, eq=False)
class MoleculeDataset:
    """Molecules (as SMILES) with a multi-task label matrix of binary and continuous tasks.

    Attributes
    ----------
    name : str
        A key of :data:`BUNDLED` or the stem of a user file.
    source : str
        Path of the CSV that was read (used in messages).
    smiles : list of str
        The N molecules RDKit could parse, as written in the file (surrounding spaces removed).
    Y : np.ndarray or SparseLabels
        (N, T) float32; 0/1 labels (binary tasks) or values (continuous tasks), NaN = unknown; sparse
        (only the observed labels) when read from a long-format file (:mod:`.long`).
    task_names : list of str
        The T task columns, in file order (or in the order asked for).
    lines : np.ndarray
        (N,) int64; the 1-based file line of each molecule (the header is line 1).
    n_invalid : int
        Rows dropped because RDKit could not parse their SMILES.
    task_types : list of str, optional
        The T task types, ``"binary"`` or ``"regression"`` (:data:`~metalink_dgl.data.labels.TASK_TYPES`);
        default: all binary. A binary task holds only 0, 1 and NaN.
    """

    name: str
    source: str
    smiles: list[str]
    Y: np.ndarray | SparseLabels = field(repr=False)
    task_names: list[str]
    lines: np.ndarray = field(repr=False)
    n_invalid: int = 0
    task_types: list[str] | None = None

    def __post_init__(self):
        n, t = len(self.smiles), len(self.task_names)
        if self.Y.shape != (n, t) or self.lines.shape != (n,):
            raise ValueError(f"MoleculeDataset {self.name}: Y {self.Y.shape} and lines {self.lines.shape} "
                             f"do not fit {n} molecules x {t} tasks")
        if self.task_types is None:
            object.__setattr__(self, "task_types", ["binary"] * t)
        if len(self.task_types) != t:
            raise ValueError(f"MoleculeDataset {self.name}: {len(self.task_types)} task_types for {t} tasks")
        unknown = [kind for kind in self.task_types if kind not in TASK_TYPES]
        if unknown:
            raise ValueError(f"MoleculeDataset {self.name}: task type {unknown[0]!r} is not one of {TASK_TYPES}")
        if isinstance(self.Y, SparseLabels):
            values, tasks = self.Y.values.numpy(), self.Y.indices.numpy()
            bad_tasks = tasks[(values != 0) & (values != 1) & ~self.continuous[tasks]]
        else:
            bad_tasks = np.argwhere(~np.isnan(self.Y) & (self.Y != 0) & (self.Y != 1) & ~self.continuous)[:, 1]
        if bad_tasks.size:
            j = int(bad_tasks[0])
            raise ValueError(f"MoleculeDataset {self.name}: binary task {self.task_names[j]!r} holds a value other "
                             "than 0 or 1")

    @property
    def continuous(self) -> np.ndarray:
        """(T,) bool: which tasks are continuous (``"regression"``)."""
        return np.array([kind == "regression" for kind in self.task_types], dtype=bool)

    def __len__(self) -> int:
        return len(self.smiles)

    @property
    def n_tasks(self) -> int:
        """Number of tasks T."""
        return len(self.task_names)

    def subset(self, idx: Sequence[int] | np.ndarray) -> MoleculeDataset:
        """The rows ``idx`` (1-D integer indices, in that order) as a new dataset.

        ``n_invalid`` is carried over unchanged: it describes the file, not the rows.
        """
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} molecules")
        Y = self.Y.select_rows(idx) if isinstance(self.Y, SparseLabels) else self.Y[idx]
        return MoleculeDataset(self.name, self.source, [self.smiles[i] for i in idx], Y,
                               list(self.task_names), self.lines[idx], self.n_invalid, list(self.task_types))

    def select_tasks(self, names: Sequence[str]) -> MoleculeDataset:
        """Only the tasks ``names`` (in that order) as a new dataset with the same rows."""
        position = {t: j for j, t in enumerate(self.task_names)}
        missing = [t for t in names if t not in position]
        if missing:
            raise MetaLinkError(f"{self.source}: unknown task {missing[0]!r}; the tasks are "
                                f"{preview(self.task_names)}")
        cols = [position[t] for t in names]
        Y = self.Y.select_tasks(cols) if isinstance(self.Y, SparseLabels) else self.Y[:, cols]
        return MoleculeDataset(self.name, self.source, list(self.smiles), Y, list(names),
                               self.lines.copy(), self.n_invalid, [self.task_types[j] for j in cols])

    def make_split(self, kind: str, seed: int) -> Split:
        """The seeded ``kind`` split (see :func:`metalink_dgl.data.splits.make_split`) of these molecules."""
        return make_split(self.smiles, kind, seed, dataset=self.name)


def load_dataset(name_or_path: str, smiles_column: str | None = None, task_columns: Sequence[str] | None = None,
                 skip_invalid: bool = False, label_hint: str = TASK_COLUMNS_HINT,
                 task_types: Mapping[str, str] | None = None) -> MoleculeDataset:
    """Load a bundled set or a user CSV of SMILES + task columns (0/1 labels or continuous values).

    Parameters
    ----------
    name_or_path : str
        A key of :data:`BUNDLED` or the path of an existing ``.csv`` / ``.csv.gz`` file.
    smiles_column : str, optional
        SMILES column; default: the bundled set's, else the column named ``smiles`` (any case).
    task_columns : sequence of str, optional
        Task columns, in the order wanted; default: every named column but the SMILES one
        (and, for a bundled set, its ``exclude`` columns, e.g. Tox21's ``mol_id``).
    skip_invalid : bool
        For a user CSV, drop rows RDKit cannot parse (with one warning) instead of raising.
        Bundled data always drop them with one warning.
    label_hint : str
        How to fix a bad task value, the end of its message.
    task_types : mapping of str to str, optional
        Forced type (``"binary"`` / ``"regression"``) of some tasks; the others are inferred from
        their values (:func:`~metalink_dgl.data.labels.parse_labels`).

    Returns
    -------
    MoleculeDataset
        N valid molecules, ``Y`` of shape (N, T), ``task_types`` of length T.

    Raises
    ------
    MetaLinkError
        One line naming the file (and line/column) for: an unknown name, an empty file,
        a missing SMILES or task column, duplicate columns, no task columns, a task value that
        is not a finite number (or not 0/1 in a task forced binary), a ``task_types`` entry naming
        a column that is not a task or an unknown type, or (without ``skip_invalid``) a SMILES RDKit cannot parse.
    """
    key = str(name_or_path)
    if key.lower() in BUNDLED:
        bundled = BUNDLED[key.lower()]
        with bundled.path() as path:
            frame = read_table(path, str(path))
        header = frame.header
        smiles_col = smiles_column or bundled.smiles_column
        if task_columns is None:
            task_columns = [c for c in header if c != smiles_col and c not in bundled.exclude]
        return _build(key.lower(), str(path), frame, smiles_col, task_columns, drop_invalid=True,
                      label_hint=label_hint, task_types=task_types)

    path = Path(os.path.expanduser(key))
    if not path.is_file():
        raise MetaLinkError(f"unknown dataset {key!r}: not a bundled dataset ({', '.join(BUNDLED)}) "
                            f"and no such file")
    if not path.name.lower().endswith((".csv", ".csv.gz")):
        raise MetaLinkError(f"{path}: expected a .csv or .csv.gz file of SMILES + task columns")
    header = [cell.strip() for cell in read_header(path, str(path))]
    check_header(header, str(path))
    smiles_col = find_smiles_column(header, smiles_column, str(path))
    name = re.sub(r"\.csv(\.gz)?$", "", path.name, flags=re.IGNORECASE)
    if long_columns(header, smiles_col) is not None:
        return _build_long(name, path, header, smiles_col, task_columns, drop_invalid=skip_invalid,
                           task_types=task_types)
    frame = read_table(path, str(path))
    if task_columns is None:  # unnamed columns (e.g. a saved pandas index) are not tasks
        task_columns = [c for c in frame.header if c != smiles_col and c]
    return _build(name, str(path), frame, smiles_col, task_columns, drop_invalid=skip_invalid, label_hint=label_hint,
                  task_types=task_types)


def _build(name: str, source: str, frame: Frame, smiles_col: str, task_columns: Sequence[str],
           drop_invalid: bool, label_hint: str, task_types: Mapping[str, str] | None) -> MoleculeDataset:
    header = frame.header
    if smiles_col not in header:
        raise MetaLinkError(f"{source}: no SMILES column {smiles_col!r}; the columns are {preview(header)}")
    task_columns = list(task_columns)
    if not task_columns:
        raise MetaLinkError(f"{source}: no task columns; the file needs a SMILES column and at least one task "
                            "column")
    for col in task_columns:
        if col not in header:
            raise MetaLinkError(f"{source}: unknown task column {col!r}; the columns are {preview(header)}")
        if col == smiles_col:
            raise MetaLinkError(f"{source}: column {col!r} is the SMILES column and cannot be a task")
    if len(set(task_columns)) != len(task_columns):
        dup = next(c for c in task_columns if task_columns.count(c) > 1)
        raise MetaLinkError(f"{source}: task column {dup!r} is listed twice")

    Y, types = parse_labels(frame, [header.index(c) for c in task_columns], task_columns, source, hint=label_hint,
                            task_types=task_types)
    smiles = [s.strip() for s in frame.cells[:, header.index(smiles_col)]]
    valid = _valid_molecules(smiles, frame.lines, source, smiles_col, drop_invalid)
    n_invalid, lines = int((~valid).sum()), frame.lines
    if n_invalid:
        smiles = [s for s, ok in zip(smiles, valid) if ok]
        Y, lines = Y[valid], lines[valid]

    empty = np.flatnonzero(np.isnan(Y).all(axis=0))
    if empty.size:
        logger.warning("%s: %d task column(s) have no labels at all (e.g. %r); they cannot be trained or scored",
                       source, empty.size, task_columns[empty[0]])
    return MoleculeDataset(name, source, smiles, Y, task_columns, lines.astype(np.int64), n_invalid, types)


def _build_long(name: str, path: Path, header: list[str], smiles_col: str, task_columns: Sequence[str] | None,
                drop_invalid: bool, task_types: Mapping[str, str] | None) -> MoleculeDataset:
    """A long-format file (:mod:`.long`) as a dataset with sparse labels; ``task_columns`` picks tasks by name."""
    source = str(path)
    long = read_long(path, source, header, smiles_col, task_types)
    valid = _valid_molecules(long.smiles, long.lines, source, smiles_col, drop_invalid)
    keep = np.flatnonzero(valid)
    dataset = MoleculeDataset(name, source, [long.smiles[i] for i in keep], long.Y.select_rows(keep), long.task_names,
                              long.lines[keep], int((~valid).sum()), long.task_types)
    return dataset.select_tasks(task_columns) if task_columns is not None else dataset


def _valid_molecules(smiles: list[str], lines: np.ndarray, source: str, smiles_col: str,
                     drop_invalid: bool) -> np.ndarray:
    """(N,) bool: the molecules RDKit parses. An invalid one raises (naming its line), or with
    ``drop_invalid`` is dropped with one warning; none left raises."""
    valid = parseable(smiles)
    n_invalid = int((~valid).sum())
    if n_invalid:
        first = int(np.flatnonzero(~valid)[0])
        if not drop_invalid:
            raise MetaLinkError(
                f"{source}, line {lines[first]}, column {smiles_col!r}: RDKit cannot parse SMILES "
                f"{smiles[first]!r} ({n_invalid} invalid in the file); fix it or pass skip_invalid / --skip-invalid")
        logger.warning("%s: dropped %d molecule(s) RDKit cannot parse (first: line %d, %r)",
                       source, n_invalid, lines[first], smiles[first])
    if not valid.any():
        raise MetaLinkError(f"{source}: no molecule left after dropping {n_invalid} invalid SMILES")
    return valid
