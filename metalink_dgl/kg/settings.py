"""The paper's four settings (section 2): two switches, ``relational`` and ``meta``.

What each setting reveals and queries is :mod:`.masks`; this module only names the settings
and the options that go with them (held-out tasks, the auxiliary ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import MetaLinkError


@dataclass(frozen=True)
class Setting:
    """One of the paper's four settings: two independent switches."""

    name: str
    relational: bool  # query rows reveal labels on a random ``aux_ratio`` of auxiliary tasks
    meta: bool  # target tasks are new: ones-initialised, labelled only through support rows


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("standard", relational=False, meta=False),
        Setting("relational", relational=True, meta=False),
        Setting("meta", relational=False, meta=True),
        Setting("relational-meta", relational=True, meta=True),
    )
}


def get_setting(name: str) -> Setting:
    """Look up a setting by its CLI name."""
    try:
        return SETTINGS[name]
    except KeyError:
        raise MetaLinkError(f"unknown setting {name!r}; choose one of {', '.join(SETTINGS)}") from None


def check_aux_ratio(ratio: float) -> float:
    """``ratio`` if it is a valid ``--aux-ratio`` (in [0, 1)), else a one-line :class:`MetaLinkError`."""
    if not 0.0 <= ratio < 1.0:
        raise MetaLinkError(f"--aux-ratio {ratio} must be in [0, 1)")
    return ratio


#: How the held-out tasks are chosen: a seeded random sample, or the last task columns
#: (the authors' code holds out the last 20% of the columns, the same tasks for every seed).
HELDOUT_PICKS = ("random", "last")
#: Which tasks a validation or test query example may reveal as auxiliary labels (and is then not
#: scored on) in the meta settings: the seen tasks (the paper's text), or every task, the held-out
#: ones included (a query row of relational-meta then shows some of its labels on the new tasks it is
#: not scored on). Training episodes are not changed.
AUX_TASKS = ("seen", "all")


def split_tasks(n_tasks: int, heldout_ratio: float, seed: int, pick: str = "random") -> torch.Tensor:
    """Choice of the tasks held out of training in the meta settings (``pick`` in :data:`HELDOUT_PICKS`).

    Returns
    -------
    BoolTensor, (T,)
        True for a held-out (unseen) task; at least one task on each side.
    """
    if not 0.0 < heldout_ratio < 1.0:
        raise MetaLinkError(f"--heldout-ratio {heldout_ratio} must be in (0, 1)")
    n_held = min(max(1, int(round(heldout_ratio * n_tasks))), n_tasks - 1)
    if n_held < 1:
        raise MetaLinkError(f"the meta settings need at least 2 tasks; the dataset has {n_tasks}")
    if pick not in HELDOUT_PICKS:
        raise MetaLinkError(f"--heldout-tasks {pick!r} is not one of {', '.join(HELDOUT_PICKS)}")
    order = np.random.default_rng(seed).permutation(n_tasks) if pick == "random" else np.arange(n_tasks)[::-1].copy()
    held = torch.zeros(n_tasks, dtype=torch.bool)
    held[torch.from_numpy(order[:n_held])] = True
    return held
