"""The fixed, seeded evaluation draw: every method is scored on the same (example, task) pairs.

For a seed it fixes the held-out tasks (meta settings), the support labels on them
(``--shots`` K: up to K labelled training molecules per held-out task) and, for each
validation and test example, the auxiliary tasks it may reveal. The draw depends on the
setting only through its ``meta`` switch, so standard and relational runs of a seed are
scored on identical pairs, and so are meta and relational-meta runs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import MetaLinkError
from ..io import atomic_write_json
from ..label_matrix import BLOCK_ROWS, LabelMatrix, row_blocks, take
from .masks import draw_aux
from .settings import AUX_TASKS, Setting, split_tasks

log = logging.getLogger(__name__)


@dataclass
class EvalDraw:
    """
    Attributes
    ----------
    heldout : BoolTensor, (T,)
        Tasks never seen in training (all False outside the meta settings).
    support : LongTensor, (S,)
        Dataset rows of the support examples (empty outside the meta settings).
    support_shown : BoolTensor, (S, T)
        Which labels of the support rows are shown (the K shots of each held-out task).
    aux : dict[str, BoolTensor]
        ``"val"``/``"test"`` -> (R, T) auxiliary pairs of the split's rows, in split order.
    """

    heldout: torch.Tensor
    support: torch.Tensor
    support_shown: torch.Tensor
    aux: dict[str, torch.Tensor]

    @classmethod
    def create(cls, Y: LabelMatrix, split, setting: Setting, *, seed: int, aux_ratio: float,
               heldout_ratio: float, shots: int, heldout_pick: str = "random", source: str = "dataset",
               aux_tasks: str = "seen") -> EvalDraw:
        """Draw for ``split`` (``.train/.val/.test`` row arrays) of the labels ``Y`` (N, T).

        ``heldout_pick`` chooses the held-out tasks (:func:`metalink_dgl.kg.settings.split_tasks`),
        ``aux_tasks`` the tasks the auxiliary pairs are drawn from (:data:`~metalink_dgl.kg.settings.AUX_TASKS`).
        """
        if aux_tasks not in AUX_TASKS:
            raise MetaLinkError(f"--aux-tasks {aux_tasks!r} is not one of {', '.join(AUX_TASKS)}")
        T = Y.shape[1]
        generator = torch.Generator().manual_seed(10_007 * seed + 1)
        heldout = (split_tasks(T, heldout_ratio, seed, heldout_pick) if setting.meta
                   else torch.zeros(T, dtype=torch.bool))
        seen = ~heldout
        candidates = seen if aux_tasks == "seen" else torch.ones(T, dtype=torch.bool)
        aux = {name: draw_aux(candidates, len(rows), aux_ratio, generator) for name, rows in
               (("val", split.val), ("test", split.test))}
        support, shown = torch.zeros(0, dtype=torch.long), torch.zeros(0, T, dtype=torch.bool)
        if setting.meta:
            train = torch.as_tensor(np.asarray(split.train), dtype=torch.long)
            support, shown = draw_support(Y, train, heldout, shots, generator, source=source)
        return cls(heldout=heldout, support=support, support_shown=shown, aux=aux)

    def state(self) -> dict:
        """Tensors only, for a checkpoint."""
        return {"heldout": self.heldout, "support": self.support, "support_shown": self.support_shown,
                "aux_val": self.aux["val"], "aux_test": self.aux["test"]}

    @classmethod
    def from_state(cls, state: dict) -> EvalDraw:
        """The draw of a checkpoint; one written before ``support_shown`` shows every held-out label
        of its support rows, as it did then."""
        shown = state.get("support_shown")
        if shown is None:
            shown = state["heldout"][None, :].expand(len(state["support"]), -1).clone()
        return cls(heldout=state["heldout"], support=state["support"], support_shown=shown,
                   aux={"val": state["aux_val"], "test": state["aux_test"]})

    def to_json(self, path: str | os.PathLike, task_names: list[str], split, Y: LabelMatrix) -> None:
        """Write the draw with task names and dataset rows, for other tools to score the same pairs.

        A row's ``aux_tasks`` are its auxiliary tasks that hold a label in ``Y`` (N, T): the labels
        it reveals in the relational settings, never scored. A drawn auxiliary task without a label
        changes nothing and is left out, so the file grows with the labels, not with rows x tasks.
        """
        def block(name: str, rows) -> dict:
            rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
            aux = self.aux[name].clone()
            for start, labels in zip(range(0, len(rows), BLOCK_ROWS), row_blocks(Y, rows, BLOCK_ROWS)):
                aux[start:start + len(labels)] &= ~torch.isnan(labels)
            return {"rows": rows.tolist(),
                    "aux_tasks": [[task_names[j] for j in row.nonzero().flatten().tolist()] for row in aux]}

        atomic_write_json(path, {
            "heldout_tasks": [task_names[j] for j in self.heldout.nonzero().flatten().tolist()],
            "support_rows": self.support.tolist(),
            "support_tasks": [[task_names[j] for j in row.nonzero().flatten().tolist()] for row in self.support_shown],
            "val": block("val", split.val),
            "test": block("test", split.test),
        })


def draw_support(Y: LabelMatrix, rows: torch.Tensor, targets: torch.Tensor, shots: int | None,
                 generator: torch.Generator,
                 *, source: str, rows_name: str = "training molecules",
                 targets_name: str = "held-out", announce: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded K-shot support set: for each target task, ``shots`` random rows among ``rows``
    labelled on it, or all of them if it has fewer (sparse assays; one log line says how many).

    The rows are taken in one seeded random order and each target task shows its first
    ``shots`` labelled rows in it: each task gets a uniform random subset of its labelled
    rows, and tasks share support rows where they can (a dense label matrix needs only
    ``shots`` rows). A support row shows only the labels of the tasks it was drawn for.

    Parameters
    ----------
    Y : Tensor (N, T) or SparseLabels
        The label matrix (:mod:`metalink_dgl.label_matrix`).
    rows : LongTensor, (R,)
        Candidate rows of ``Y``.
    targets : BoolTensor, (T,)
    shots : int or None
        K, labelled support examples per target task; None: every labelled one.
    generator : torch.Generator
    source, rows_name, targets_name : str
        File, kind of rows and kind of tasks, for the messages.
    announce : bool
        Log how many target tasks have fewer than ``shots`` labelled rows (off for the draws of
        every training step).

    Returns
    -------
    support : LongTensor, (S,)
        Sorted rows of ``Y`` drawn for at least one target task.
    shown : BoolTensor, (S, T)
        The drawn (row, task) labels: at most ``shots`` per target column, none elsewhere.

    Raises
    ------
    MetaLinkError
        If no candidate row is labelled on any target task.
    """
    tasks = targets.nonzero().flatten()
    labelled = ~torch.isnan(take(Y, rows, tasks))  # (R, C): the target tasks only, read in row blocks
    counts = torch.zeros(len(targets), dtype=torch.long)
    counts[tasks] = labelled.sum(dim=0)
    if not bool(labelled.any()):
        raise MetaLinkError(f"{source}: none of the {len(rows)} {rows_name} is labelled on the "
                            f"{int(targets.sum())} {targets_name} tasks; the support set would be empty")
    picked = labelled
    if shots is not None:
        short, empty = targets & (counts < shots), targets & (counts == 0)
        if announce and bool(short.any()):
            log.info("%s: %d of the %d %s tasks have fewer than --shots %d labelled %s and use all of theirs%s",
                     source, int(short.sum()), int(targets.sum()), targets_name, shots, rows_name,
                     f" ({int(empty.sum())} have none)" if bool(empty.any()) else "")
        ranking = torch.rand(len(rows), generator=generator).argsort(stable=True)  # one row order for every task
        ranked = labelled[ranking]
        picked = torch.empty_like(labelled)
        picked[ranking] = ranked & (ranked.cumsum(dim=0) <= shots)  # each column's first `shots` labelled rows
    keep = picked.any(dim=1)
    order = rows[keep].argsort()
    shown = torch.zeros(int(keep.sum()), len(targets), dtype=torch.bool)
    shown[:, tasks] = picked[keep][order]
    return rows[keep][order], shown
