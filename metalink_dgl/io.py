"""Atomic file writes: a reader never sees a half-written file, a crash leaves the old one.

Write to a temporary file in the same directory, flush and fsync it, then ``os.replace``
it over the target (atomic on POSIX and Windows).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from .errors import MetaLinkError


def check_parent_dir(path: str | os.PathLike) -> Path:
    """``Path(path)``; raises :class:`MetaLinkError` if its directory does not exist."""
    path = Path(path)
    if not path.parent.is_dir():
        raise MetaLinkError(f"{path}: directory {path.parent} does not exist; create it first")
    return path


def atomic_write_stream(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w") -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path`` and move it over ``path`` only if it returns.

    For output produced piece by piece: if ``write`` raises, ``path`` is left as it was (absent,
    or the previous file), the temporary file is removed and the exception propagates.
    """
    return _atomic(path, write, mode)


def _atomic(path: str | os.PathLike, write: Callable[[Any], None], mode: str) -> Path:
    path = check_parent_dir(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the mode a plain open() would
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return _atomic(path, lambda fh: fh.write(text), "w")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` to ``path`` atomically. ``obj`` should hold only tensors and plain
    Python containers/scalars/strings, so that it loads with ``weights_only=True``."""
    return _atomic(path, lambda fh: torch.save(obj, fh), "wb")
