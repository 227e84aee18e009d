"""Featurization and its disk cache: a dataset's SMILES -> a :class:`~metalink_dgl.data.bank.MoleculeGraphs` bank.

:func:`featurize` turns every SMILES of a :class:`~metalink_dgl.data.MoleculeDataset` into a
dgllife bigraph once (the featurizers of :mod:`.featurizers`) and flattens them into a bank.

The bank is cached on disk, keyed by the SMILES, the featurizer and the library versions;
a cache file that fails its checksum or its shape checks is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import dgllife
import rdkit
import torch
from tqdm.auto import tqdm

from ..errors import MetaLinkError
from ..io import atomic_torch_save, atomic_write_text
from .bank import MoleculeGraphs
from .datasets import MoleculeDataset
from .featurizers import FeaturizerSpec, get_featurizer
from .molecules import quiet_rdkit

logger = logging.getLogger(__name__)

#: Bump when the layout of the cached bank changes; old cache files then stop matching.
FORMAT_VERSION = 1

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
    RDKit versions and :data:`FORMAT_VERSION`."""
    h = hashlib.sha256()
    meta = {"format": FORMAT_VERSION, "featurizer": spec.name, "settings": spec.key,
            "dgllife": dgllife.__version__, "rdkit": rdkit.__version__}
    h.update(json.dumps(meta, sort_keys=True).encode())
    for s in smiles:
        h.update(b"\n" + s.encode())
    return h.hexdigest()


def cache_path(dataset: MoleculeDataset, featurizer: str, cache_dir: str | Path | None = None) -> Path:
    """``<cache_dir>/<dataset>-<featurizer>-<key[:16]>.pt`` for this dataset's SMILES."""
    spec = get_featurizer(featurizer)
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", dataset.name) or "dataset"
    return directory / f"{stem}-{spec.name}-{cache_key(dataset.smiles, spec)[:16]}.pt"


def featurize(dataset: MoleculeDataset, featurizer: str = "canonical", cache_dir: str | Path | None = None,
              progress: bool = True, cache: bool = True) -> MoleculeGraphs:
    """Featurized graphs of every molecule of ``dataset``, from the disk cache when valid.

    Parameters
    ----------
    dataset : MoleculeDataset
        N molecules.
    featurizer : str
        A key of :data:`FEATURIZERS`.
    cache_dir : str or Path, optional
        Cache folder (default :func:`default_cache_dir`). A corrupt or stale cache file is
        rebuilt with a warning; an unwritable folder only costs a warning.
    progress : bool
        Show a tqdm bar while featurizing (only on a terminal).
    cache : bool
        Read and write the disk cache; False featurizes afresh and writes nothing (user inputs
        seen once, e.g. the molecules given to ``predict``).

    Returns
    -------
    MoleculeGraphs
        N molecules in dataset order.
    """
    spec = get_featurizer(featurizer)
    if not cache:
        return _build_graphs(dataset, spec, progress)
    path = cache_path(dataset, featurizer, cache_dir)
    graphs = _load_cache(path, len(dataset), spec.name)
    if graphs is not None:
        logger.info("loaded %d %s molecule graphs from cache %s", len(graphs), spec.name, path)
        return graphs
    graphs = _build_graphs(dataset, spec, progress)
    _save_cache(path, graphs)
    return graphs


def _build_graphs(dataset: MoleculeDataset, spec: FeaturizerSpec, progress: bool) -> MoleculeGraphs:
    """Featurize each SMILES with dgllife and flatten the graphs into one bank."""
    node_parts: dict[str, list[torch.Tensor]] = {k: [v] for k, v in spec.empty_like("node").items()}
    edge_parts: dict[str, list[torch.Tensor]] = {k: [v] for k, v in spec.empty_like("edge").items()}
    src, dst, n_nodes, n_edges = [], [], [], []
    bar = tqdm(dataset.smiles, desc=f"featurizing {dataset.name} ({spec.name})", unit="mol",
               disable=None if progress else True, leave=False)
    make = spec.graph_maker()
    with quiet_rdkit():
        for i, smiles in enumerate(bar):
            try:
                g = make(smiles)
            except Exception as err:  # dgllife raises bare ValueError/AssertionError on odd atoms
                raise MetaLinkError(f"{dataset.source}, line {dataset.lines[i]}: cannot featurize SMILES {smiles!r} "
                                    f"with {spec.name!r} ({type(err).__name__}: {err})") from None
            if g is None:
                raise MetaLinkError(f"{dataset.source}, line {dataset.lines[i]}: RDKit cannot parse SMILES "
                                    f"{smiles!r}")
            u, v = g.edges()
            src.append(u)
            dst.append(v)
            n_nodes.append(g.num_nodes())
            n_edges.append(g.num_edges())
            for key, parts in node_parts.items():
                parts.append(g.ndata[key])
            for key, parts in edge_parts.items():
                if key in g.edata:  # a molecule without edges has no edge feature at all
                    parts.append(g.edata[key])
    return MoleculeGraphs(
        {k: torch.cat(v) for k, v in node_parts.items()},
        {k: torch.cat(v) for k, v in edge_parts.items()},
        torch.cat([torch.zeros(0, dtype=torch.int64), *src]).long(),
        torch.cat([torch.zeros(0, dtype=torch.int64), *dst]).long(),
        _offsets(n_nodes), _offsets(n_edges), spec.name,
    )


def _offsets(counts: list[int]) -> torch.Tensor:
    return torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(torch.tensor(counts, dtype=torch.int64), 0)])


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_cache(path: Path, n: int, featurizer: str) -> MoleculeGraphs | None:
    """The cached bank at ``path`` if it exists and passes every check, else None (with a
    warning when a file was there but could not be trusted)."""
    if not path.exists():
        return None
    try:
        expected = _sidecar(path).read_text().strip()
        if _file_sha256(path) != expected:
            raise ValueError("checksum mismatch")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
            raise ValueError("unknown format")
        graphs = MoleculeGraphs.from_state(state)
        if len(graphs) != n or graphs.featurizer != featurizer:
            raise ValueError(f"holds {len(graphs)} {graphs.featurizer} graphs, expected {n} {featurizer}")
        return graphs
    except Exception as err:  # noqa: BLE001 - any failure means: do not trust the file
        logger.warning("cache %s is corrupt or stale; rebuilding (%s)", path, _one_line(err))
        return None


def _save_cache(path: Path, graphs: MoleculeGraphs) -> None:
    """Write the bank then its checksum sidecar, both atomically; failure is only a warning."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sidecar(path).unlink(missing_ok=True)
        atomic_torch_save(path, {"format": FORMAT_VERSION, **graphs.state()})
        atomic_write_text(_sidecar(path), _file_sha256(path) + "\n")
    except (OSError, MetaLinkError) as err:
        logger.warning("cannot write the graph cache %s (%s); continuing without a cache", path, _one_line(err))


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}"[:200] if text else type(err).__name__
