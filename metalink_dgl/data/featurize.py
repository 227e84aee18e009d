"""Featurization and its disk cache: a dataset's SMILES -> a :class:`~metalink_dgl.data.bank.MoleculeGraphs` bank.

:func:`featurize` turns every SMILES of a :class:`~metalink_dgl.data.MoleculeDataset` into a
dgllife bigraph once (the featurizers of :mod:`.featurizers`), stored compactly (:mod:`.compact`),
in chunks and worker processes (:mod:`.shards`).

The bank is cached on disk as a folder of ``.npy`` arrays (:mod:`.store`), keyed by the SMILES, the
featurizer and the library versions, and read back memory-mapped; a cache that fails its checksums
or its shape checks is rebuilt, never trusted. Processes that featurize the same molecules at once
(the ranks of a distributed run) take turns through a lock file beside the bank: one builds it,
the others load it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import dgllife
import rdkit

try:
    import fcntl
except ImportError:  # Windows: no lock, concurrent featurizations of one dataset are not coordinated
    fcntl = None

from ..errors import MetaLinkError, one_line
from .bank import MoleculeGraphs
from .datasets import MoleculeDataset
from .featurizers import FeaturizerSpec, get_featurizer
from .shards import build_bank
from .store import FORMAT_VERSION, read_bank

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Where featurized graphs are cached: ``$METALINK_DGL_CACHE``, else
    ``$XDG_CACHE_HOME/metalink-dgl``, else ``~/.cache/metalink-dgl``."""
    if os.environ.get("METALINK_DGL_CACHE"):
        return Path(os.environ["METALINK_DGL_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "metalink-dgl"
    return Path.home() / ".cache" / "metalink-dgl"


def cache_key(smiles: Sequence[str], spec: FeaturizerSpec) -> str:
    """sha256 hex digest over the SMILES (in order), the featurizer settings, the dgllife and
    RDKit versions and the bank :data:`~metalink_dgl.data.store.FORMAT_VERSION`."""
    h = hashlib.sha256()
    meta = {"format": FORMAT_VERSION, "featurizer": spec.name, "settings": spec.key,
            "dgllife": dgllife.__version__, "rdkit": rdkit.__version__}
    h.update(json.dumps(meta, sort_keys=True).encode())
    for s in smiles:
        h.update(b"\n" + s.encode())
    return h.hexdigest()


def cache_path(dataset: MoleculeDataset, featurizer: str, cache_dir: str | Path | None = None) -> Path:
    """The bank folder ``<cache_dir>/<dataset>-<featurizer>-<key[:16]>`` of this dataset's SMILES."""
    spec = get_featurizer(featurizer)
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", dataset.name) or "dataset"
    return directory / f"{stem}-{spec.name}-{cache_key(dataset.smiles, spec)[:16]}"


def featurize(dataset: MoleculeDataset, featurizer: str = "canonical", cache_dir: str | Path | None = None,
              progress: bool = True, cache: bool = True, workers: int = 1,
              chunk_size: int | None = None) -> MoleculeGraphs:
    """Featurized graphs of every molecule of ``dataset``, from the disk cache when valid.

    Parameters
    ----------
    dataset : MoleculeDataset
        N molecules.
    featurizer : str
        A key of :data:`FEATURIZERS`.
    cache_dir : str or Path, optional
        Cache folder (default :func:`default_cache_dir`). A corrupt or stale cache is rebuilt with
        a warning; an unwritable folder only costs a warning.
    progress : bool
        Show a tqdm bar (molecules) while featurizing (only on a terminal).
    cache : bool
        Read and write the disk cache; False featurizes afresh into memory and writes nothing (user
        inputs seen once, e.g. the molecules given to ``predict``).
    workers : int
        Processes that featurize chunks in parallel (1: in this process). The bank is the same for
        any number.
    chunk_size : int, optional
        Molecules per chunk (default :func:`~metalink_dgl.data.shards.default_chunk_size`); with the
        cache, each finished chunk is kept on disk, so an interrupted run resumes.

    Returns
    -------
    MoleculeGraphs
        N molecules in dataset order; memory-mapped when it comes from the cache.
    """
    spec = get_featurizer(featurizer)
    if workers < 1:
        raise MetaLinkError(f"workers {workers}: give at least 1")
    build = dict(workers=workers, chunk_size=chunk_size, progress=progress)
    if not cache:
        return build_bank(dataset, spec.name, **build)
    path = cache_path(dataset, featurizer, cache_dir)
    key = cache_key(dataset.smiles, spec)
    existed = path.exists()
    graphs = _load_cache(path, len(dataset), spec.name, key)  # no lock: a bank folder appears whole or not at all
    if graphs is not None:
        return graphs
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "a")
    except OSError as err:
        logger.warning("cannot write the graph cache %s (%s); continuing without a cache", path, one_line(err))
        return build_bank(dataset, spec.name, **build)
    with lock:
        if fcntl is not None:  # processes featurizing the same molecules (e.g. DDP ranks) take turns
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not existed and path.exists():  # built by another process while this one waited
            graphs = _load_cache(path, len(dataset), spec.name, key)
            if graphs is not None:
                return graphs
        for stale in path.parent.glob(f".{path.name}.*"):  # temporary folders of a killed run
            shutil.rmtree(stale, ignore_errors=True)
        return build_bank(dataset, spec.name, directory=path, key=key, **build)


def _load_cache(path: Path, n: int, featurizer: str, key: str) -> MoleculeGraphs | None:
    """The cached bank at ``path`` if it exists and passes every check, else None (with a
    warning when a cache was there but could not be trusted)."""
    if not path.exists():
        return None
    try:
        graphs, meta = read_bank(path)
        if len(graphs) != n or graphs.featurizer != featurizer or meta.get("key") != key:
            raise ValueError(f"holds {len(graphs)} {graphs.featurizer} graphs of key {meta.get('key')}, expected "
                             f"{n} {featurizer} of {key}")
        logger.info("loaded %d %s molecule graphs from cache %s", n, featurizer, path)
        return graphs
    except Exception as err:  # noqa: BLE001 - any failure means: do not trust the cache
        logger.warning("cache %s is corrupt or stale; rebuilding (%s)", path, one_line(err))
        return None
