"""The knowledge graph of a minibatch: its schema, the four settings as masks, the graph itself,
and the fixed evaluation draw.

    settings.SETTINGS -> masks.make_masks / draw_episode / training_masks -> build.build_knowledge_graph
    eval_draw.EvalDraw: the seeded held-out tasks, support rows and auxiliary pairs of a split
"""

from .build import build_knowledge_graph, revealed_matrix
from .eval_draw import EvalDraw, draw_support
from .masks import Episode, Masks, draw_aux, draw_episode, draw_known, keep_informed, make_masks, training_masks
from .schema import (
    DATA,
    LABEL,
    LABEL_FEATS,
    LABELS,
    MIXED_LABEL_FEATS,
    REV_LABELS,
    TASK,
    decode_labels,
    encode_labels,
    label_feats,
)
from .settings import AUX_TASKS, HELDOUT_PICKS, SETTINGS, Setting, check_aux_ratio, get_setting, split_tasks

__all__ = [
    "DATA", "TASK", "LABELS", "REV_LABELS", "LABEL", "LABEL_FEATS", "MIXED_LABEL_FEATS", "label_feats",
    "encode_labels", "decode_labels",
    "build_knowledge_graph", "revealed_matrix",
    "Setting", "SETTINGS", "HELDOUT_PICKS", "AUX_TASKS", "get_setting", "check_aux_ratio", "split_tasks",
    "Masks", "make_masks", "Episode", "draw_episode", "training_masks", "keep_informed", "draw_aux", "draw_known",
    "EvalDraw", "draw_support",
]
