"""Molecule graphs: dgllife featurizers, a flat "graph bank" of a whole dataset, and its disk cache.

:func:`featurize` turns every SMILES of a :class:`~metalink_dgl.data.MoleculeDataset` into a
dgllife bigraph once, and stores all of them flattened into a :class:`MoleculeGraphs`: node and
edge feature rows of all molecules stacked, edge end points local to their molecule, and
CSR-style offsets. :meth:`MoleculeGraphs.batch` then builds the batched graph of any
minibatch with a few tensor ops, with no per-molecule Python loop.

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
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Callable

import dgl
import dgllife
import numpy as np
import rdkit
import torch
from dgllife.utils import (
    AttentiveFPAtomFeaturizer,
    AttentiveFPBondFeaturizer,
    CanonicalAtomFeaturizer,
    CanonicalBondFeaturizer,
    PretrainAtomFeaturizer,
    PretrainBondFeaturizer,
    smiles_to_bigraph,
)
from rdkit import Chem
from tqdm.auto import tqdm

from ..errors import MetaLinkError
from ..io import atomic_torch_save, atomic_write_text
from .datasets import MoleculeDataset, quiet_rdkit

logger = logging.getLogger(__name__)

#: Bump when the layout of the cached bank changes; old cache files then stop matching.
FORMAT_VERSION = 1

_PROBE_SMILES = "CCO"  # a small molecule with bonds, used to read feature keys/shapes/dtypes


@dataclass(frozen=True)
class FeaturizerSpec:
    """A named pair of dgllife atom/bond featurizers and how the graph is built.

    Attributes
    ----------
    name : str
        Registry name (a key of :data:`FEATURIZERS`).
    make_atom, make_bond : callable
        Zero-argument factories of the dgllife atom and bond featurizers.
    add_self_loop : bool
        Whether :func:`dgllife.utils.smiles_to_bigraph` adds a self loop to every atom.
    categorical : bool
        True when features are integer category indices (one 1-D tensor per key, for
        embedding tables, e.g. dgllife's GIN) rather than dense float vectors.
    key : dict
        Every setting that changes the graphs; part of the cache key.
    """

    name: str
    make_atom: Callable[[], Any] = field(repr=False)
    make_bond: Callable[[], Any] = field(repr=False)
    add_self_loop: bool
    categorical: bool = False
    key: dict = field(default_factory=dict)

    @cached_property
    def _probe(self) -> tuple[dict, dict]:
        with quiet_rdkit():  # dgllife calls RDKit APIs that log deprecation warnings
            mol = Chem.MolFromSmiles(_PROBE_SMILES)
            return self.make_atom()(mol), self.make_bond()(mol)

    @cached_property
    def node_feat_size(self) -> int:
        """Width of the dense node features (``featurizer.feat_size()``); for a categorical
        featurizer, the number of categorical node features (keys)."""
        if self.categorical:
            return len(self._probe[0])
        with quiet_rdkit():
            return int(self.make_atom().feat_size())

    @cached_property
    def edge_feat_size(self) -> int:
        """Width of the dense edge features (``featurizer.feat_size()``); for a categorical
        featurizer, the number of categorical edge features (keys)."""
        if self.categorical:
            return len(self._probe[1])
        with quiet_rdkit():
            return int(self.make_bond().feat_size())

    @property
    def node_keys(self) -> list[str]:
        """``g.ndata`` keys the featurizer writes, e.g. ``['h']``."""
        return list(self._probe[0])

    @property
    def edge_keys(self) -> list[str]:
        """``g.edata`` keys the featurizer writes, e.g. ``['e']``."""
        return list(self._probe[1])

    @property
    def node_vocab(self) -> dict[str, int]:
        """Categorical featurizers: number of categories per node key (empty when dense)."""
        return _vocab(self.make_atom(), {"atomic_number": "_atomic_number_types",
                                         "chirality_type": "_chiral_types"}) if self.categorical else {}

    @property
    def edge_vocab(self) -> dict[str, int]:
        """Categorical featurizers: number of categories per edge key, the self-loop type
        included (empty when dense)."""
        if not self.categorical:
            return {}
        bond = self.make_bond()
        vocab = _vocab(bond, {"bond_type": "_bond_types", "bond_direction_type": "_bond_direction_types"})
        if self.add_self_loop and "bond_type" in vocab:
            vocab["bond_type"] += 1  # self loops get the extra index len(bond_types)
        return vocab

    def empty_like(self, kind: str) -> dict[str, torch.Tensor]:
        """Zero-row tensors with each key's trailing shape and dtype (``kind`` = 'node' or 'edge')."""
        probe = self._probe[0] if kind == "node" else self._probe[1]
        return {k: v.new_zeros((0, *v.shape[1:])) for k, v in probe.items()}

    def graph_maker(self) -> Callable[[str], dgl.DGLGraph | None]:
        """A function SMILES -> featurized dgllife bigraph (None if RDKit cannot parse it)."""
        atom, bond = self.make_atom(), self.make_bond()
        return partial(smiles_to_bigraph, add_self_loop=self.add_self_loop, node_featurizer=atom,
                       edge_featurizer=bond)


def _vocab(featurizer: Any, attrs: dict[str, str]) -> dict[str, int]:
    return {key: len(getattr(featurizer, attr)) for key, attr in attrs.items() if hasattr(featurizer, attr)}


#: Featurizers by name; an encoder names the one it reads.
FEATURIZERS: dict[str, FeaturizerSpec] = {
    "canonical": FeaturizerSpec(
        "canonical", lambda: CanonicalAtomFeaturizer(atom_data_field="h"),
        lambda: CanonicalBondFeaturizer(bond_data_field="e", self_loop=True), add_self_loop=True,
        key={"atom": "CanonicalAtomFeaturizer", "bond": "CanonicalBondFeaturizer", "self_loop": True},
    ),
    "attentivefp": FeaturizerSpec(
        "attentivefp", lambda: AttentiveFPAtomFeaturizer(atom_data_field="h"),
        lambda: AttentiveFPBondFeaturizer(bond_data_field="e", self_loop=False), add_self_loop=False,
        key={"atom": "AttentiveFPAtomFeaturizer", "bond": "AttentiveFPBondFeaturizer", "self_loop": False},
    ),
    "pretrain": FeaturizerSpec(
        "pretrain", PretrainAtomFeaturizer, lambda: PretrainBondFeaturizer(self_loop=True), add_self_loop=True,
        categorical=True,
        key={"atom": "PretrainAtomFeaturizer", "bond": "PretrainBondFeaturizer", "self_loop": True},
    ),
}


class MoleculeGraphs:
    """All molecules of a dataset as one flat bank of tensors, batched on demand.

    Molecule ``i`` owns node rows ``node_offsets[i]:node_offsets[i+1]`` and edge rows
    ``edge_offsets[i]:edge_offsets[i+1]``; its edges run ``src -> dst``, atom indices local
    to the molecule. Shapes use N molecules, V atoms and E edges in all.

    Parameters
    ----------
    node_feats : dict of str to Tensor
        Each (V, ...) (e.g. ``'h'``: (V, 74) float32).
    edge_feats : dict of str to Tensor
        Each (E, ...) (e.g. ``'e'``: (E, 13) float32).
    src, dst : Tensor
        (E,) int64, local atom indices.
    node_offsets, edge_offsets : Tensor
        (N + 1,) int64, cumulative counts starting at 0.
    featurizer : str
        Name of the featurizer that made the bank.
    """

    def __init__(self, node_feats: dict[str, torch.Tensor], edge_feats: dict[str, torch.Tensor], src: torch.Tensor,
                 dst: torch.Tensor, node_offsets: torch.Tensor, edge_offsets: torch.Tensor, featurizer: str = ""):
        self.node_feats, self.edge_feats = dict(node_feats), dict(edge_feats)
        self.src, self.dst = src, dst
        self.node_offsets, self.edge_offsets = node_offsets, edge_offsets
        self.featurizer = featurizer
        problem = _inconsistency(self)
        if problem:
            raise ValueError(f"inconsistent MoleculeGraphs: {problem}")

    def __len__(self) -> int:
        return len(self.node_offsets) - 1

    def __repr__(self) -> str:
        return (f"MoleculeGraphs({len(self)} molecules, {int(self.node_offsets[-1])} atoms, "
                f"{int(self.edge_offsets[-1])} edges, featurizer={self.featurizer!r})")

    def num_nodes(self) -> torch.Tensor:
        """(N,) int64 atoms per molecule."""
        return self.node_offsets[1:] - self.node_offsets[:-1]

    def num_edges(self) -> torch.Tensor:
        """(N,) int64 edges per molecule."""
        return self.edge_offsets[1:] - self.edge_offsets[:-1]

    def batch(self, idx: Sequence[int] | np.ndarray | torch.Tensor, train: bool = False) -> dgl.DGLGraph:
        """One batched graph of the molecules ``idx``, in that order (repeats allowed).

        Built with vectorised gathers (no per-molecule loop, no :func:`dgl.batch`); batch
        sizes are set, so :func:`dgl.readout_nodes` and dgllife readouts work per molecule.

        Parameters
        ----------
        idx : 1-D int array, list or Tensor
            B molecule indices.
        train : bool
            Unused: molecule graphs have no augmentation (the input-bank protocol it shares
            with :class:`~metalink_dgl.data.images.ImageBank`).

        Returns
        -------
        dgl.DGLGraph
            B molecules, with the bank's ``ndata``/``edata`` features, on the CPU.
        """
        idx = torch.as_tensor(np.asarray(idx) if not isinstance(idx, torch.Tensor) else idx, dtype=torch.int64)
        idx = idx.reshape(-1).cpu()
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise IndexError(f"molecule index out of range for {len(self)} molecules")
        n_nodes = self.num_nodes()[idx]
        n_edges = self.num_edges()[idx]
        node_rows, node_starts = _gather_rows(self.node_offsets[idx], n_nodes)
        edge_rows, _ = _gather_rows(self.edge_offsets[idx], n_edges)
        shift = torch.repeat_interleave(node_starts, n_edges)
        g = dgl.graph((self.src[edge_rows] + shift, self.dst[edge_rows] + shift), num_nodes=int(n_nodes.sum()))
        for key, value in self.node_feats.items():
            g.ndata[key] = value[node_rows]
        for key, value in self.edge_feats.items():
            g.edata[key] = value[edge_rows]
        g.set_batch_num_nodes(n_nodes)
        g.set_batch_num_edges(n_edges)
        return g

    def to_graphs(self, idx: Sequence[int] | np.ndarray | torch.Tensor) -> list[dgl.DGLGraph]:
        """The molecules ``idx`` as separate graphs (a slow per-molecule loop; for tests and debugging)."""
        graphs = []
        for i in np.asarray(idx, dtype=np.int64).reshape(-1).tolist():
            n0, n1 = int(self.node_offsets[i]), int(self.node_offsets[i + 1])
            e0, e1 = int(self.edge_offsets[i]), int(self.edge_offsets[i + 1])
            g = dgl.graph((self.src[e0:e1], self.dst[e0:e1]), num_nodes=n1 - n0)
            g.ndata.update({k: v[n0:n1] for k, v in self.node_feats.items()})
            g.edata.update({k: v[e0:e1] for k, v in self.edge_feats.items()})
            graphs.append(g)
        return graphs

    def state(self) -> dict:
        """Plain tensors/ints/strings (loadable with ``torch.load(weights_only=True)``)."""
        return {"node_feats": self.node_feats, "edge_feats": self.edge_feats, "src": self.src, "dst": self.dst,
                "node_offsets": self.node_offsets, "edge_offsets": self.edge_offsets, "featurizer": self.featurizer}

    @classmethod
    def from_state(cls, state: dict) -> MoleculeGraphs:
        """Inverse of :meth:`state`; raises ValueError/KeyError/TypeError if it is malformed."""
        return cls(state["node_feats"], state["edge_feats"], state["src"], state["dst"], state["node_offsets"],
                   state["edge_offsets"], str(state["featurizer"]))


def _gather_rows(starts: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bank rows of the selected molecules, concatenated: ``starts[k] + 0..counts[k]-1`` for each k.

    Returns the (sum(counts),) row index and the (B,) start of each molecule in the result.
    """
    new_starts = torch.cumsum(counts, 0) - counts
    total = int(counts.sum())
    rows = torch.arange(total, dtype=torch.int64) + torch.repeat_interleave(starts - new_starts, counts,
                                                                             output_size=total)
    return rows, new_starts


def _inconsistency(g: MoleculeGraphs) -> str:
    """'' when every array fits the offsets, else what is wrong (cheap, vectorised checks)."""
    tensors = {"src": g.src, "dst": g.dst, "node_offsets": g.node_offsets, "edge_offsets": g.edge_offsets,
               **{f"node feature {k}": v for k, v in g.node_feats.items()},
               **{f"edge feature {k}": v for k, v in g.edge_feats.items()}}
    for name, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            return f"{name} is not a tensor"
    for name in ("src", "dst", "node_offsets", "edge_offsets"):
        if tensors[name].dtype != torch.int64 or tensors[name].dim() != 1:
            return f"{name} is not a 1-D int64 tensor"
    no, eo = g.node_offsets, g.edge_offsets
    if len(no) < 1 or len(eo) != len(no) or int(no[0]) != 0 or int(eo[0]) != 0:
        return "offsets must have N + 1 entries starting at 0"
    if bool((no[1:] < no[:-1]).any()) or bool((eo[1:] < eo[:-1]).any()):
        return "offsets decrease"
    n_atoms, n_edges = int(no[-1]), int(eo[-1])
    for key, value in g.node_feats.items():
        if value.dim() < 1 or len(value) != n_atoms:
            return f"node feature {key!r} has {len(value) if value.dim() else 0} rows, offsets say {n_atoms}"
    for key, value in g.edge_feats.items():
        if value.dim() < 1 or len(value) != n_edges:
            return f"edge feature {key!r} has {len(value) if value.dim() else 0} rows, offsets say {n_edges}"
    if len(g.src) != n_edges or len(g.dst) != n_edges:
        return f"src/dst have {len(g.src)}/{len(g.dst)} entries, offsets say {n_edges} edges"
    if n_edges:
        limit = torch.repeat_interleave(no[1:] - no[:-1], eo[1:] - eo[:-1])
        if bool(((g.src < 0) | (g.dst < 0) | (g.src >= limit) | (g.dst >= limit)).any()):
            return "an edge points outside its molecule"
    return ""


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
    spec = _spec(featurizer)
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
    spec = _spec(featurizer)
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


def _spec(featurizer: str) -> FeaturizerSpec:
    if featurizer not in FEATURIZERS:
        raise MetaLinkError(f"unknown featurizer {featurizer!r}; choose one of {', '.join(FEATURIZERS)}")
    return FEATURIZERS[featurizer]


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
