"""Public neural-network API: the MetaLink layer, its relation module, the model and the edge predictor."""

from .conv import LabelSAGEConv, MetaLinkConv
from .encoders import ENCODERS, MoleculeEncoder, build_encoder
from .model import EDGE_PREDICTORS, EdgePredictor, MetaLink

__all__ = [
    "LabelSAGEConv",
    "MetaLinkConv",
    "MetaLink",
    "EdgePredictor",
    "EDGE_PREDICTORS",
    "MoleculeEncoder",
    "ENCODERS",
    "build_encoder",
]
