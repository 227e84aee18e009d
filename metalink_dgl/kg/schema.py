"""The knowledge graph's schema: node types, relations and the edge-feature key.

Every module that reads or writes a knowledge graph takes its names from here, so a user's
own heterograph can use other names by passing them to :class:`~metalink_dgl.nn.MetaLinkConv`.

One ``('data', 'labels', 'task')`` edge and its reverse ``('task', 'rev_labels', 'data')``
per revealed label ``y_j(i)``; the label, encoded as ``2y - 1`` (so a 0 is a message, not
a missing one), is the edge feature :data:`LABEL` on both edge types.
"""

from __future__ import annotations

import torch

DATA = "data"  #: node type of the examples
TASK = "task"  #: node type of the tasks
LABELS = (DATA, "labels", TASK)  #: canonical relation data -> task
REV_LABELS = (TASK, "rev_labels", DATA)  #: canonical relation task -> data
LABEL = "label"  #: edge-data key of the encoded label, shape (E, LABEL_FEATS)
LABEL_FEATS = 1  #: width of the edge label feature


def encode_labels(y: torch.Tensor) -> torch.Tensor:
    """Binary labels {0, 1} -> {-1, +1}, shape (E,) -> (E, LABEL_FEATS)."""
    return (2.0 * y - 1.0).unsqueeze(-1)
