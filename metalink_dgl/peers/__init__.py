"""Peers: methods of other libraries, trained by our loop and scored on our pairs (an optional extra each).

``chemprop``: chemprop's D-MPNN (:mod:`.chemprop`; ``pip install -e '.[peers]'``).
"""

from .chemprop import PEERS, ChempropDMPNN, ChempropInputs, import_chemprop

__all__ = ["PEERS", "ChempropDMPNN", "ChempropInputs", "import_chemprop"]
