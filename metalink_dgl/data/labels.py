"""Task cells -> label values: the one label parser of training data and ``predict`` inputs."""

from __future__ import annotations

import numpy as np

from ..errors import MetaLinkError
from .reader import Frame

#: Cell values accepted in a task column (after stripping spaces); empty = unknown label.
_LABELS = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "": np.nan}
#: What a bad task value's message suggests by default.
TASK_COLUMNS_HINT = "if this is not a task column, list the task columns with task_columns / --task-columns"


def parse_labels(frame: Frame, positions: list[int], names: list[str], source: str,
                 hint: str = TASK_COLUMNS_HINT) -> np.ndarray:
    """Parse the task cells of ``frame`` into a float32 (N, T) array; the first bad cell (in file order) raises.

    Parameters
    ----------
    frame : Frame
        N rows of raw cells with their file lines.
    positions : list of int
        Column of each of the T tasks in ``frame.cells``.
    names : list of str
        The T task names (for messages).
    source : str
        File name for messages.
    hint : str
        The end of the message for a bad value: how to fix it.
    """
    cells = frame.cells[:, positions]
    ok = np.isin(cells, list(_LABELS))
    if not ok.all():  # tolerate surrounding spaces: strip only the cells that need it
        cells = cells.copy()
        cells[~ok] = [c.strip() for c in cells[~ok]]
        ok = np.isin(cells, list(_LABELS))
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        raise MetaLinkError(
            f"{source}, line {frame.lines[i]}, column {names[j]!r}: task value {cells[i, j]!r} is not 0, 1 or empty "
            f"(empty = unknown label); {hint}")
    Y = np.full(cells.shape, np.nan, dtype=np.float32)
    Y[(cells == "0") | (cells == "0.0")] = 0.0
    Y[(cells == "1") | (cells == "1.0")] = 1.0
    return Y
