"""Public neural-network API: the MetaLink layer, its relation module, the model and its base, the edge predictor,
the baselines and the encoders (dgllife molecule GNNs, ResNet-50 / ResNet-12 for images)."""

from .baselines import BaselinePlusPlus, LabelsAsFeatures
from .conv import AGGREGATES, LABEL_TERMS, MESSAGES, LabelSAGEConv, MetaLinkConv
from .encoders import ENCODERS, MoleculeEncoder, build_encoder
from .heads import TaskHeadModel
from .model import DATA_INITS, EDGE_PREDICTORS, NEW_TASK_INITS, EdgePredictor, MetaLink
from .prototypes import label_mean_difference, ridge_heads, support_prototypes
from .vision import IMAGE_ENCODERS, ImageEncoder, ResNet12, build_image_encoder, load_backbone

#: ``--model`` choices: MetaLink and the baselines that share its interface.
MODELS = {"metalink": MetaLink, "labels-as-features": LabelsAsFeatures, "baseline++": BaselinePlusPlus}

__all__ = [
    "LabelSAGEConv",
    "MetaLinkConv",
    "MESSAGES",
    "AGGREGATES",
    "LABEL_TERMS",
    "MetaLink",
    "TaskHeadModel",
    "EdgePredictor",
    "DATA_INITS",
    "EDGE_PREDICTORS",
    "NEW_TASK_INITS",
    "support_prototypes",
    "label_mean_difference",
    "ridge_heads",
    "LabelsAsFeatures",
    "BaselinePlusPlus",
    "MODELS",
    "MoleculeEncoder",
    "ENCODERS",
    "build_encoder",
    "IMAGE_ENCODERS",
    "ImageEncoder",
    "ResNet12",
    "build_image_encoder",
    "load_backbone",
]
