"""The fixed, seeded evaluation draw: every method is scored on the same (example, task) pairs.

For a seed it fixes the held-out tasks (meta settings), the support examples labelled on
them (``--shots`` training molecules) and, for each validation and test example, the
auxiliary tasks it may reveal. The draw depends on the setting only through its ``meta``
switch, so standard and relational runs of a seed are scored on identical pairs, and so
are meta and relational-meta runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from .errors import MetaLinkError
from .io import atomic_write_json
from .settings import Setting, draw_aux, split_tasks


@dataclass
class EvalDraw:
    """
    Attributes
    ----------
    heldout : BoolTensor, (T,)
        Tasks never seen in training (all False outside the meta settings).
    support : LongTensor, (S,)
        Dataset rows of the support examples (empty outside the meta settings).
    aux : dict[str, BoolTensor]
        ``"val"``/``"test"`` -> (R, T) auxiliary pairs of the split's rows, in split order.
    """

    heldout: torch.Tensor
    support: torch.Tensor
    aux: dict[str, torch.Tensor]

    @classmethod
    def create(cls, Y: torch.Tensor, split, setting: Setting, *, seed: int, aux_ratio: float,
               heldout_ratio: float, shots: int, heldout_pick: str = "random", source: str = "dataset") -> EvalDraw:
        """Draw for ``split`` (``.train/.val/.test`` row arrays) of the labels ``Y`` (N, T).

        ``heldout_pick`` chooses the held-out tasks (:func:`metalink_dgl.settings.split_tasks`).
        """
        T = Y.shape[1]
        generator = torch.Generator().manual_seed(10_007 * seed + 1)
        heldout = (split_tasks(T, heldout_ratio, seed, heldout_pick) if setting.meta
                   else torch.zeros(T, dtype=torch.bool))
        seen = ~heldout
        aux = {name: draw_aux(seen, len(rows), aux_ratio, generator) for name, rows in
               (("val", split.val), ("test", split.test))}
        support = torch.zeros(0, dtype=torch.long)
        if setting.meta:
            train = torch.as_tensor(np.asarray(split.train), dtype=torch.long)
            support = draw_support(Y, train, heldout, shots, generator, source=source)
        return cls(heldout=heldout, support=support, aux=aux)

    def state(self) -> dict:
        """Tensors only, for a checkpoint."""
        return {"heldout": self.heldout, "support": self.support,
                "aux_val": self.aux["val"], "aux_test": self.aux["test"]}

    @classmethod
    def from_state(cls, state: dict) -> EvalDraw:
        return cls(heldout=state["heldout"], support=state["support"],
                   aux={"val": state["aux_val"], "test": state["aux_test"]})

    def to_json(self, path: str | os.PathLike, task_names: list[str], split) -> None:
        """Write the draw with task names and dataset rows, for other tools to score the same pairs."""
        def block(name: str, rows) -> dict:
            aux = self.aux[name]
            return {"rows": [int(r) for r in rows],
                    "aux_tasks": [[task_names[j] for j in row.nonzero().flatten().tolist()] for row in aux]}

        atomic_write_json(path, {
            "heldout_tasks": [task_names[j] for j in self.heldout.nonzero().flatten().tolist()],
            "support_rows": self.support.tolist(),
            "val": block("val", split.val),
            "test": block("test", split.test),
        })


def draw_support(Y: torch.Tensor, rows: torch.Tensor, targets: torch.Tensor, shots: int, generator: torch.Generator,
                 *, source: str, rows_name: str = "training molecules", targets_name: str = "held-out") -> torch.Tensor:
    """A seeded choice of ``shots`` support rows among ``rows`` labelled on at least one target task.

    Parameters
    ----------
    Y : Tensor, (N, T)
    rows : LongTensor, (R,)
        Candidate rows of ``Y``.
    targets : BoolTensor, (T,)
    shots : int
    generator : torch.Generator
    source, rows_name, targets_name : str
        File, kind of rows and kind of tasks, for the message.

    Returns
    -------
    LongTensor, (shots,), sorted rows of ``Y``.

    Raises
    ------
    MetaLinkError
        If fewer than ``shots`` candidate rows are labelled on the target tasks.
    """
    labelled = rows[(~torch.isnan(Y[rows][:, targets])).any(dim=1)]
    if len(labelled) < shots:
        raise MetaLinkError(
            f"{source}: only {len(labelled)} {rows_name} are labelled on the {int(targets.sum())} {targets_name} "
            f"tasks; --shots {shots} needs {shots} (lower --shots)"
        )
    return labelled[torch.randperm(len(labelled), generator=generator)[:shots]].sort().values
