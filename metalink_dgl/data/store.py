"""A graph bank on disk: a folder of plain ``.npy`` arrays and a checksummed ``manifest.json``.

Layout of a bank folder::

    <name>/manifest.json              format, featurizer, molecules, column layouts, caller's meta,
                                      and per array file: shape, dtype, bytes, sha256; plus the
                                      sha256 of the manifest itself
    <name>/node_offsets.npy ...       one np.save'd array per name of MoleculeGraphs.arrays()

:func:`write_bank` fills the arrays in a temporary folder beside ``<name>`` (memory maps, so the
parts are copied without holding the bank in RAM), writes the manifest last and renames the folder
into place: a reader sees a whole bank or none. :func:`read_bank` trusts nothing: manifest
checksum, file sizes, every file's sha256 (``verify``), shapes and dtypes, and the bank's offset
checks; arrays are loaded with ``np.load(mmap_mode='r', allow_pickle=False)`` (never unpickled,
RAM does not grow with the bank). Hashing reads every byte once: about 1.5 GB/s on one core, i.e.
well under a second for a compact bank of 10^6 molecules, so it is done on every load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .bank import MoleculeGraphs, concat

#: Bump when the layout of a stored bank changes; caches keyed on it then stop matching.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_bank(directory: Path, parts: list[MoleculeGraphs], meta: dict) -> Path:
    """Concatenate ``parts`` (:func:`~metalink_dgl.data.bank.concat`) into the bank folder ``directory``,
    atomically, replacing what was there; ``meta`` (JSON) is stored in the manifest."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".tmp"))
    try:
        maps: list[np.memmap] = []

        def alloc(name: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
            maps.append(np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=dtype, shape=shape))
            return maps[-1]

        bank = concat(parts, alloc)
        for array in maps:
            array.flush()
        files = {}
        for name, array in bank.arrays().items():
            path = tmp / f"{name}.npy"
            files[name] = {"shape": list(array.shape), "dtype": array.dtype.name, "bytes": path.stat().st_size,
                           "sha256": file_sha256(path)}
        body = {"format": FORMAT_VERSION, "featurizer": bank.featurizer, "molecules": len(bank),
                "layouts": bank.layouts(), "meta": meta, "files": files}
        text = json.dumps({**body, "checksum": _json_sha256(body)}, indent=1)
        (tmp / MANIFEST).write_text(text)
        _fsync_folder(tmp)
        old = tmp.with_suffix(".old")
        if directory.exists():  # a folder cannot be renamed over a full one: move it aside, then drop it
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)  # open memory maps of its files stay valid
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def read_bank(directory: Path, verify: bool = True) -> tuple[MoleculeGraphs, dict]:
    """The bank in ``directory`` (read-only memory maps) and its manifest's meta.

    Raises OSError, ValueError, KeyError or TypeError on anything that does not check out: a missing or
    altered manifest, a file of the wrong size, sha256 (when ``verify``), shape or dtype, offsets that
    do not fit the rows. The caller decides what a failure means (rebuild, featurize again).
    """
    manifest = json.loads((directory / MANIFEST).read_text())
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    if manifest.get("checksum") != _json_sha256(body):
        raise ValueError("manifest checksum mismatch")
    if body["format"] != FORMAT_VERSION:
        raise ValueError(f"format {body['format']}, expected {FORMAT_VERSION}")
    arrays = {}
    for name, info in body["files"].items():
        path = directory / f"{name}.npy"
        if path.stat().st_size != info["bytes"]:
            raise ValueError(f"{path.name} has {path.stat().st_size} bytes, the manifest says {info['bytes']}")
        if verify and file_sha256(path) != info["sha256"]:
            raise ValueError(f"{path.name}: checksum mismatch")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        if list(array.shape) != info["shape"] or array.dtype.name != info["dtype"]:
            raise ValueError(f"{path.name} is {array.dtype.name} {list(array.shape)}, the manifest says "
                             f"{info['dtype']} {info['shape']}")
        arrays[name] = array
    bank = MoleculeGraphs.from_arrays(arrays, body["layouts"], str(body["featurizer"]))
    if len(bank) != body["molecules"]:
        raise ValueError(f"holds {len(bank)} molecules, the manifest says {body['molecules']}")
    return bank, body["meta"]


def folder_bytes(directory: Path) -> int:
    """Bytes of the files in a bank folder."""
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def _json_sha256(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _fsync_folder(folder: Path) -> None:
    """Flush every file of ``folder`` and the folder itself to disk (so the rename publishes whole files)."""
    for path in folder.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
