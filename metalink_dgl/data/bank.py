"""The graph bank: every molecule of a dataset as one flat set of tensors, batched on demand.

Node and edge feature rows of all molecules are stacked, edge end points are local to their
molecule, and CSR-style offsets say which rows belong to which molecule, so
:meth:`MoleculeGraphs.batch` builds the batched graph of any minibatch with a few tensor ops.
"""

from __future__ import annotations

from collections.abc import Sequence

import dgl
import numpy as np
import torch


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
