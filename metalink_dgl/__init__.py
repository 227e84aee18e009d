"""metalink-dgl: MetaLink (Cao, You & Leskovec, ICLR 2022) relational multi-task learning on DGL."""

import os

os.environ.setdefault("DGLBACKEND", "pytorch")  # silence DGL's first-import backend notice

__version__ = "0.1.0"

__all__ = ["__version__"]
