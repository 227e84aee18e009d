"""metalink-dgl: MetaLink (Cao, You & Leskovec, ICLR 2022) relational multi-task learning on DGL.

The data flow, one module each::

    data.load_dataset -> (SMILES, Y with NaN)        data/datasets.py
    data.load_coco    -> (image paths, 0/1 Y)        data/coco.py   (images: data.ImageBank)
    data.featurize    -> MoleculeGraphs (cached)     data/featurize.py
    data.make_split   -> seeded train/val/test       data/splits.py
    settings          -> revealed / queried masks    settings.py
    graph             -> knowledge graph             graph.py
    nn.MetaLink       -> logits of queried pairs     nn/ (dgllife GNNs, ResNet-50 / ResNet-12, baselines)
    train / evaluate  -> loss, ROC-AUC / mAP, checkpoints   training.py, evaluation.py, loop.py
    predict           -> a CSV with its gaps filled  prediction.py

Few-shot classification (data.load_fewshot, N-way K-shot episodes as meta-setting blocks) is
fewshot.py on the same graph, model and epoch loop.
"""

import os

os.environ.setdefault("DGLBACKEND", "pytorch")  # silence DGL's first-import backend notice

__version__ = "0.1.0"

from .config import TrainConfig  # noqa: E402
from .data import featurize, load_coco, load_dataset, load_fewshot, make_split  # noqa: E402
from .errors import MetaLinkError  # noqa: E402
from .evaluation import evaluate  # noqa: E402
from .graph import build_knowledge_graph  # noqa: E402
from .pipeline import evaluate_checkpoint, load_model  # noqa: E402
from .prediction import predict  # noqa: E402
from .settings import SETTINGS, Masks, make_masks, training_masks  # noqa: E402
from .training import train  # noqa: E402

__all__ = [
    "__version__",
    "MetaLinkError",
    "TrainConfig",
    "load_dataset",
    "load_coco",
    "load_fewshot",
    "featurize",
    "make_split",
    "SETTINGS",
    "Masks",
    "make_masks",
    "training_masks",
    "build_knowledge_graph",
    "train",
    "evaluate",
    "evaluate_checkpoint",
    "load_model",
    "predict",
]
