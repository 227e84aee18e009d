"""The knowledge graph's schema: node types, relations and the edge-feature key.

Every module that reads or writes a knowledge graph takes its names from here, so a user's
own heterograph can use other names by passing them to :class:`~metalink_dgl.nn.MetaLinkConv`.

One ``('data', 'labels', 'task')`` edge and its reverse ``('task', 'rev_labels', 'data')``
per revealed label ``y_j(i)``; the encoded label is the edge feature :data:`LABEL` on both
edge types. Its layout depends on whether any task of the graph is continuous:

* binary tasks only: width :data:`LABEL_FEATS` (1), ``2y - 1`` (so a 0 is a message, not a
  missing one);
* with continuous tasks: width :data:`MIXED_LABEL_FEATS` (3), ``[2y - 1 or 0, z or 0,
  is_continuous]``: a binary label in the first column, a continuous label (standardised,
  ``z``) in the second, and a flag, so one linear projection of the edge feature is a
  per-type projection.
"""

from __future__ import annotations

import torch

DATA = "data"  #: node type of the examples
TASK = "task"  #: node type of the tasks
LABELS = (DATA, "labels", TASK)  #: canonical relation data -> task
REV_LABELS = (TASK, "rev_labels", DATA)  #: canonical relation task -> data
LABEL = "label"  #: edge-data key of the encoded label, shape (E, label_feats(...))
LABEL_FEATS = 1  #: width of the edge label feature when every task is binary
MIXED_LABEL_FEATS = 3  #: width of the edge label feature when some task is continuous


def label_feats(continuous: bool) -> int:
    """Width of the edge label feature of a model whose tasks include continuous ones (or not)."""
    return MIXED_LABEL_FEATS if continuous else LABEL_FEATS


def encode_labels(y: torch.Tensor, continuous: torch.Tensor | None = None) -> torch.Tensor:
    """Labels of E edges -> their edge feature, (E,) -> (E, F).

    Parameters
    ----------
    y : Tensor, (E,)
        A binary label in {0, 1} or a standardised continuous value.
    continuous : BoolTensor, (E,), optional
        Which edges carry a continuous label. None: every label is binary, F = 1 (``2y - 1``);
        else F = 3 (see the module docstring).
    """
    signed = 2.0 * y - 1.0
    if continuous is None:
        return signed.unsqueeze(-1)
    flag = continuous.to(y.dtype)
    return torch.stack([torch.where(continuous, 0.0, signed), torch.where(continuous, y, 0.0), flag], dim=-1)


def decode_labels(feat: torch.Tensor) -> torch.Tensor:
    """The value each edge feature carries, (E, F) -> (E,): +1 / -1 for a binary label, the
    standardised value for a continuous one."""
    return feat[:, 0] if feat.shape[1] == LABEL_FEATS else feat[:, 0] + feat[:, 1]
