"""metalink-dgl: MetaLink (Cao, You & Leskovec, ICLR 2022) relational multi-task learning on DGL.

The package is layered; each layer imports only the ones before it (``docs/ARCHITECTURE.md``)::

    kg           schema, settings -> masks, knowledge graph, evaluation draw
    nn           MetaLinkConv / LabelSAGEConv, MetaLink, baselines, encoders
    data         CSV reader + label parser, datasets, featurizers, graph bank + cache, splits, images
    engine       TrainConfig, the block step, data/model of a run, fit loop, seed skeleton, stages
    prediction   predict(): a CSV with its gaps filled
    experiments  grids of runs -> results JSON -> Markdown and figures

beside leaf utilities (errors, io, checkpoint, provenance, device, metrics, plots, label_matrix).

The public names below are loaded on first use (PEP 562), so ``import metalink_dgl.nn`` does not
pull in the data, engine or plotting stacks.
"""

from __future__ import annotations

import importlib
import os

os.environ.setdefault("DGLBACKEND", "pytorch")  # silence DGL's first-import backend notice

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "MetaLinkError": "errors",
    "TrainConfig": "engine.config",
    "load_dataset": "data",
    "load_coco": "data",
    "load_fewshot": "data",
    "featurize": "data",
    "make_split": "data",
    "SparseLabels": "label_matrix",
    "SETTINGS": "kg",
    "Masks": "kg",
    "make_masks": "kg",
    "training_masks": "kg",
    "build_knowledge_graph": "kg",
    "Block": "engine",
    "forward_block": "engine",
    "train": "engine",
    "evaluate": "engine",
    "evaluate_checkpoint": "engine",
    "load_model": "engine",
    "predict": "prediction",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
