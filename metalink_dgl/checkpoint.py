"""Checkpoints: tensors and JSON-able values only, written atomically, loaded with ``weights_only=True``.

A checkpoint holds the format tag, the package version, the resolved :class:`TrainConfig`
(as a dict), the task names, the model ``state_dict`` and run state (split, held-out
tasks, evaluation draw; optimizer/scheduler/RNG states in ``last.pt``). Nothing in it is an
arbitrary pickled object, so loading never executes code from the file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from typing import Any

import torch

from . import __version__
from .errors import MetaLinkError
from .io import atomic_torch_save

FORMAT = "metalink-dgl/checkpoint/1"


def save_checkpoint(path: str | os.PathLike, **payload: Any) -> None:
    """Write ``payload`` plus the format tag and package version to ``path`` atomically."""
    atomic_torch_save(path, {"format": FORMAT, "version": __version__, **payload})


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint safely.

    Raises
    ------
    MetaLinkError
        If the file is missing, truncated or corrupt, holds a pickled object that is not a
        plain tensor/container (refused, never executed), or is not a metalink-dgl checkpoint.
    """
    if not os.path.isfile(path):
        raise MetaLinkError(f"{path}: checkpoint not found")
    if not zipfile.is_zipfile(path):  # torch.save always writes a zip archive; a cut-off one has no directory
        raise MetaLinkError(f"{path}: not a readable checkpoint (truncated or corrupt)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise MetaLinkError(
            f"{path}: refused to load: it holds pickled objects other than tensors and plain containers"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise MetaLinkError(f"{path}: not a readable checkpoint (truncated or corrupt: {type(err).__name__})") from None
    found = ckpt.get("format") if isinstance(ckpt, dict) else None
    if isinstance(found, str) and found != FORMAT and found.startswith(FORMAT.rsplit("/", 1)[0] + "/"):
        raise MetaLinkError(f"{path}: checkpoint format {found!r} (metalink-dgl {ckpt.get('version', '?')}) cannot be "
                            f"read by metalink-dgl {__version__}, which reads {FORMAT!r}; use the version that wrote "
                            "it or retrain")
    if found != FORMAT:
        raise MetaLinkError(f"{path}: not a metalink-dgl checkpoint (expected format {FORMAT!r})")
    return ckpt
