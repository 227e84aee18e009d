"""The graph bank: every molecule of a dataset as one flat set of compact arrays, batched on demand.

Node and edge feature rows of all molecules are stacked (as :class:`~metalink_dgl.data.compact.Column`
codes, expanded per batch), edge end points are local to their molecule, and CSR-style offsets say
which rows belong to which molecule, so :meth:`MoleculeGraphs.batch` builds the batched graph of
any minibatch with a few gathers. The arrays may be read-only memory maps of a cache
(:mod:`~metalink_dgl.data.store`): a batch reads only its own rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dgl
import numpy as np
import torch

from .compact import Column, Layout, merge_layouts

#: ``alloc(name, shape, dtype)`` -> a writable array; :func:`concat` fills the bank's arrays through it.
Allocator = Callable[[str, tuple[int, ...], str], np.ndarray]
_CHECK_MOLECULES = 1 << 14  # molecules per step of the edge check (bounded memory on a memory-mapped bank)


class MoleculeGraphs:
    """All molecules of a dataset as one flat bank of compact arrays, batched on demand.

    Molecule ``i`` owns node rows ``node_offsets[i]:node_offsets[i+1]`` and edge rows
    ``edge_offsets[i]:edge_offsets[i+1]``; its edges run ``src -> dst``, atom indices local
    to the molecule. Shapes use N molecules, V atoms and E edges in all.

    Parameters
    ----------
    node_feats : dict of str to Column
        Each V rows (e.g. ``'h'``: expands to (V, 74) float32).
    edge_feats : dict of str to Column
        Each E rows (e.g. ``'e'``: expands to (E, 13) float32).
    src, dst : Column
        E rows, 1-D: local atom indices (expand to int64).
    node_offsets, edge_offsets : np.ndarray
        (N + 1,) int64, cumulative counts starting at 0.
    featurizer : str
        Name of the featurizer that made the bank.
    """

    def __init__(self, node_feats: dict[str, Column], edge_feats: dict[str, Column], src: Column, dst: Column,
                 node_offsets: np.ndarray, edge_offsets: np.ndarray, featurizer: str = ""):
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
        return torch.from_numpy(np.diff(self.node_offsets))

    def num_edges(self) -> torch.Tensor:
        """(N,) int64 edges per molecule."""
        return torch.from_numpy(np.diff(self.edge_offsets))

    @property
    def nbytes(self) -> int:
        """Bytes of all arrays (what the cache holds, headers aside)."""
        return sum(int(a.nbytes) for a in self.arrays().values())

    def batch(self, idx: Sequence[int] | np.ndarray | torch.Tensor, train: bool = False) -> dgl.DGLGraph:
        """One batched graph of the molecules ``idx``, in that order (repeats allowed).

        Built with vectorised gathers (no per-molecule loop, no :func:`dgl.batch`); only the rows of
        ``idx`` are read and expanded. Batch sizes are set, so :func:`dgl.readout_nodes` and dgllife
        readouts work per molecule.

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
            B molecules, with the featurizer's ``ndata``/``edata`` tensors (dtypes as the featurizer
            gives them), on the CPU.
        """
        idx = (idx.cpu().numpy() if isinstance(idx, torch.Tensor) else np.asarray(idx)).astype(np.int64).reshape(-1)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise IndexError(f"molecule index out of range for {len(self)} molecules")
        node_start, edge_start = self.node_offsets[idx], self.edge_offsets[idx]
        n_nodes, n_edges = self.node_offsets[idx + 1] - node_start, self.edge_offsets[idx + 1] - edge_start
        node_rows, node_starts = _gather_rows(node_start, n_nodes)
        edge_rows, _ = _gather_rows(edge_start, n_edges)
        shift = torch.from_numpy(np.repeat(node_starts, n_edges))
        g = dgl.graph((self.src.take(edge_rows) + shift, self.dst.take(edge_rows) + shift),
                      num_nodes=int(n_nodes.sum()))
        for key, column in self.node_feats.items():
            g.ndata[key] = column.take(node_rows)
        for key, column in self.edge_feats.items():
            g.edata[key] = column.take(edge_rows)
        g.set_batch_num_nodes(torch.from_numpy(n_nodes))
        g.set_batch_num_edges(torch.from_numpy(n_edges))
        return g

    def to_graphs(self, idx: Sequence[int] | np.ndarray | torch.Tensor) -> list[dgl.DGLGraph]:
        """The molecules ``idx`` as separate graphs (a slow per-molecule loop; for tests and debugging)."""
        graphs = []
        for i in np.asarray(idx, dtype=np.int64).reshape(-1).tolist():
            n0, n1 = int(self.node_offsets[i]), int(self.node_offsets[i + 1])
            nodes, edges = np.arange(n0, n1), np.arange(int(self.edge_offsets[i]), int(self.edge_offsets[i + 1]))
            g = dgl.graph((self.src.take(edges), self.dst.take(edges)), num_nodes=n1 - n0)
            g.ndata.update({k: v.take(nodes) for k, v in self.node_feats.items()})
            g.edata.update({k: v.take(edges) for k, v in self.edge_feats.items()})
            graphs.append(g)
        return graphs

    def columns(self) -> dict[str, Column]:
        """Every column by its array-name prefix: ``src``, ``dst``, ``node.<key>``, ``edge.<key>``."""
        return {"src": self.src, "dst": self.dst, **{f"node.{k}": v for k, v in self.node_feats.items()},
                **{f"edge.{k}": v for k, v in self.edge_feats.items()}}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name: the offsets, then ``<column>.codes`` and ``<column>.values``."""
        out = {"node_offsets": self.node_offsets, "edge_offsets": self.edge_offsets}
        for name, column in self.columns().items():
            out[f"{name}.codes"], out[f"{name}.values"] = column.codes, column.values
        return out

    def layouts(self) -> dict[str, dict]:
        """The :class:`~metalink_dgl.data.compact.Layout` of every column, as JSON."""
        return {name: column.layout.to_json() for name, column in self.columns().items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], layouts: dict[str, dict], featurizer: str) -> MoleculeGraphs:
        """Inverse of :meth:`arrays` and :meth:`layouts`; raises ValueError/KeyError/TypeError if malformed."""
        columns = {name: Column(Layout.from_json(layout), arrays[f"{name}.codes"], arrays[f"{name}.values"])
                   for name, layout in layouts.items()}
        return cls.from_columns(columns, arrays["node_offsets"], arrays["edge_offsets"], featurizer)

    @classmethod
    def from_columns(cls, columns: dict[str, Column], node_offsets: np.ndarray, edge_offsets: np.ndarray,
                     featurizer: str) -> MoleculeGraphs:
        """A bank from the columns named as :meth:`columns` names them."""
        feats = {kind: {name.split(".", 1)[1]: c for name, c in columns.items() if name.startswith(kind + ".")}
                 for kind in ("node", "edge")}
        return cls(feats["node"], feats["edge"], columns["src"], columns["dst"], node_offsets, edge_offsets,
                   featurizer)


def concat(parts: Sequence[MoleculeGraphs], alloc: Allocator | None = None) -> MoleculeGraphs:
    """The molecules of ``parts`` (same featurizer and keys), in order, as one bank.

    Each column takes the layout that holds every part's (:func:`~metalink_dgl.data.compact.merge_layouts`),
    so the result does not depend on how the molecules were split. ``alloc(name, shape, dtype)`` makes
    each output array (default: in memory; :mod:`~metalink_dgl.data.store` passes memory maps of new
    files); parts are read one at a time.
    """
    alloc = alloc or (lambda name, shape, dtype: np.empty(shape, dtype=dtype))
    names = list(parts[0].columns())
    if any(list(p.columns()) != names or p.featurizer != parts[0].featurizer for p in parts):
        raise ValueError("cannot concatenate banks of different featurizers")
    columns = {}
    for name in names:
        layout = merge_layouts([p.columns()[name].layout for p in parts])
        rows = sum(len(p.columns()[name]) for p in parts)
        codes = alloc(f"{name}.codes", (rows, len(layout.onehot)), "uint8")
        values = alloc(f"{name}.values", (rows, len(layout.value_columns)) if layout.width else (rows,),
                       layout.values_dtype)
        row = 0
        for part in parts:
            column = part.columns()[name].to_layout(layout)
            codes[row:row + len(column)], values[row:row + len(column)] = column.codes, column.values
            row += len(column)
        columns[name] = Column(layout, codes, values)
    offsets = {}
    for name in ("node_offsets", "edge_offsets"):
        out = alloc(name, (sum(len(p) for p in parts) + 1,), "int64")
        out[0], row, base = 0, 0, 0
        for part in parts:
            part_offsets = getattr(part, name)
            out[row + 1:row + len(part) + 1] = part_offsets[1:] + base
            row, base = row + len(part), base + int(part_offsets[-1])
        offsets[name] = out
    return MoleculeGraphs.from_columns(columns, offsets["node_offsets"], offsets["edge_offsets"], parts[0].featurizer)


def _gather_rows(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bank rows of the selected molecules, concatenated: ``starts[k] + 0..counts[k]-1`` for each k.

    Returns the (sum(counts),) int64 row index and the (B,) start of each molecule in the result.
    """
    new_starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(starts - new_starts, counts), new_starts


def _inconsistency(g: MoleculeGraphs) -> str:
    """'' when every array fits the offsets, else what is wrong (vectorised; the edge check runs over
    molecule ranges, so its memory does not grow with the bank)."""
    no, eo = g.node_offsets, g.edge_offsets
    for name, offsets in (("node_offsets", no), ("edge_offsets", eo)):
        if not isinstance(offsets, np.ndarray) or offsets.dtype != np.int64 or offsets.ndim != 1:
            return f"{name} is not a 1-D int64 array"
    if len(no) < 1 or len(eo) != len(no) or int(no[0]) != 0 or int(eo[0]) != 0:
        return "offsets must have N + 1 entries starting at 0"
    if bool((no[1:] < no[:-1]).any()) or bool((eo[1:] < eo[:-1]).any()):
        return "offsets decrease"
    rows = {"node": int(no[-1]), "edge": int(eo[-1])}
    for name, column in g.columns().items():
        expected = rows["node" if name.startswith("node.") else "edge"]
        if len(column.codes) != len(column) or len(column) != expected:
            return f"{name} has {len(column.codes)}/{len(column)} rows, offsets say {expected}"
        if column.codes.shape[1:] != (len(column.layout.onehot),) or column.codes.dtype != np.uint8:
            return f"{name} codes do not fit its layout"
        if column.values.shape[1:] != ((len(column.layout.value_columns),) if column.layout.width else ()):
            return f"{name} values do not fit its layout"
    if g.src.layout.width or g.dst.layout.width:
        return "src/dst are not 1-D"
    for lo in range(0, len(no) - 1, _CHECK_MOLECULES):
        hi = min(lo + _CHECK_MOLECULES, len(no) - 1)
        limit = np.repeat(np.diff(no[lo:hi + 1]), np.diff(eo[lo:hi + 1]))
        ends = [np.asarray(c.values[eo[lo]:eo[hi]]) for c in (g.src, g.dst)]
        if any(bool(((e < 0) | (e >= limit)).any()) for e in ends):
            return "an edge points outside its molecule"
    return ""
