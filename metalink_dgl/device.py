"""``--device auto|cpu|cuda`` resolution with a clear error when CUDA is not usable."""

from __future__ import annotations

import dgl
import torch

from .errors import MetaLinkError

DEVICES = ("auto", "cpu", "cuda")


def _dgl_has_cuda() -> bool:
    try:
        dgl.graph(([0], [0])).to("cuda")
    except Exception:
        return False
    return True


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto``/``cpu``/``cuda`` (or ``cuda:N``) to a ``torch.device``.

    ``auto`` picks CUDA only when both torch and DGL can use it. Asking for ``cuda``
    where either cannot raises :class:`MetaLinkError` with the fix.
    """
    if name == "cpu":
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() and _dgl_has_cuda() else "cpu")
    if not name.startswith("cuda"):
        raise MetaLinkError(f"--device {name!r} is not one of auto, cpu, cuda")
    if not torch.cuda.is_available():
        raise MetaLinkError(
            f"--device {name}: torch {torch.__version__} sees no CUDA device; use --device cpu, "
            "or install the GPU environment (environment.yml, see README)"
        )
    if not _dgl_has_cuda():
        raise MetaLinkError(
            f"--device {name}: the installed DGL {dgl.__version__} has no CUDA support (the PyPI "
            "wheel is CPU-only); install the conda-forge CUDA build (environment.yml, see README)"
        )
    return torch.device(name)
