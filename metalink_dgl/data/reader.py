"""The one CSV reader: streamed records with their file lines, and the header checks.

Training data (:func:`read_table`, the whole file) and ``predict`` inputs (:func:`read_chunks`,
a chunk of rows at a time, so memory does not grow with the file) are read by the same code and
fail with the same one-line :class:`~metalink_dgl.errors.MetaLinkError` messages, naming the
file and the 1-based file line (the header is line 1). ``.gz`` files are read as gzip.
"""

from __future__ import annotations

import csv
import gzip
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MetaLinkError, first_line, preview

#: Rows per chunk when :func:`read_table` reads a whole file.
_TABLE_CHUNK = 1 << 16


@dataclass(frozen=True)
class Frame:
    """Raw CSV cells; ``cells[i]`` (object array of str, one per column) came from file line ``lines[i]``.

    Attributes
    ----------
    header : list of str
        The header cells.
    cells : ndarray of object, (R, C)
    lines : ndarray of int64, (R,)
    """

    header: list[str]
    cells: np.ndarray
    lines: np.ndarray


def records(path: Path, source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of each non-blank CSV record of ``path``, header first."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line = 0
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            for cells in reader:
                line = reader.line_num
                if any(cells):
                    yield line, cells
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as err:
        raise MetaLinkError(f"{source}: cannot read as CSV after line {line} ({first_line(err)})") from None


def read_header(path: Path, source: str) -> list[str]:
    """The first record of the CSV, as written; raises if the file is empty."""
    for _, cells in records(path, source):
        return cells
    raise MetaLinkError(f"{source}: the file is empty; expected a header line and one row per molecule")


def read_chunks(path: Path, source: str, n_columns: int, chunk_rows: int) -> Iterator[Frame]:
    """The records after the header, ``chunk_rows`` at a time, short ones padded with empty cells.

    Yields
    ------
    Frame
        ``cells`` (R, n_columns) object array of str, ``lines`` (R,) 1-based file lines; a record
        with more fields than ``n_columns`` raises.
    """
    rows = records(path, source)
    header = next(rows)[1]
    while chunk := list(itertools.islice(rows, chunk_rows)):
        for line, cells in chunk:
            if len(cells) > n_columns:
                raise MetaLinkError(f"{source}, line {line}: {len(cells)} fields, but the header has {n_columns} "
                                    "columns")
        cells = np.empty((len(chunk), n_columns), dtype=object)
        cells[:] = [c + [""] * (n_columns - len(c)) for _, c in chunk]
        yield Frame(header, cells, np.array([line for line, _ in chunk], dtype=np.int64))


def read_table(path: Path, source: str) -> Frame:
    """The whole CSV: the header (stripped, checked by :func:`check_header`) and every non-blank row."""
    header = [cell.strip() for cell in read_header(path, source)]
    check_header(header, source)
    frames = list(read_chunks(path, source, len(header), _TABLE_CHUNK))
    if not frames:
        raise MetaLinkError(f"{source}: the file has a header but no rows")
    return Frame(header, np.concatenate([f.cells for f in frames]), np.concatenate([f.lines for f in frames]))


def count_lines(path: Path) -> int | None:
    """Lines after the header, a cheap upper bound of the records (a progress bar's total); None if the file
    cannot be read to the end."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return max(sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    except (OSError, EOFError):
        return None


def check_header(header: Sequence[str], source: str) -> None:
    """Raise :class:`MetaLinkError` if a non-empty column name occurs twice in ``header`` (line 1)."""
    seen: set[str] = set()
    for col in header:
        if col and col in seen:
            raise MetaLinkError(f"{source}: duplicate column {col!r} in the header (line 1); column names must be "
                                "unique")
        seen.add(col)


def find_smiles_column(header: list[str], requested: str | None, source: str) -> str:
    """The SMILES column of ``header``: ``requested`` if given, else ``smiles`` (any case); raises if none/several."""
    if requested is not None:
        if requested in header:
            return requested
        raise MetaLinkError(f"{source}: no SMILES column {requested!r}; the columns are {preview(header)}")
    if "smiles" in header:
        return "smiles"
    matches = [c for c in header if c.lower() == "smiles"]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise MetaLinkError(f"{source}: several columns are named 'smiles' ({', '.join(matches)}); "
                            "choose one with smiles_column / --smiles-column")
    raise MetaLinkError(f"{source}: no SMILES column (looked for 'smiles', any case); the columns are "
                        f"{preview(header)}; name it with smiles_column / --smiles-column")
