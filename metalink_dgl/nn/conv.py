"""The MetaLink layer (paper eq. 3) as a DGL ``HeteroGraphConv`` over label edges."""

from __future__ import annotations

import dgl
import dgl.function as fn
import torch
from dgl.nn.pytorch import HeteroGraphConv
from torch import nn

from ..kg.schema import LABEL, LABEL_FEATS, LABELS, REV_LABELS

#: Message functions of :class:`LabelSAGEConv`: the paper's eq. 3, or the authors' code's gate.
MESSAGES = ("add", "gated")
#: Largest signed adjacency (destination nodes x 2 source nodes) that the binary-label path of
#: :class:`LabelSAGEConv` multiplies as a dense matrix (1 MiB of float32); larger graphs take DGL's
#: sparse mean. ``benchmarks/bench_epoch.py`` measures the difference on Tox21 and ToxCast.
DENSE_MAX = 1 << 18


def _dense_mean(src: torch.Tensor, dst: torch.Tensor, messages: torch.Tensor, n_dst: int) -> torch.Tensor:
    """Mean over in-edges of the source rows of ``messages`` (N_src, D), as a dense product.

    ``src``, ``dst`` (E,) are the edges (repeated edges count as often as they occur, as in DGL's
    mean); a node with no in-edge gets zeros. Returns (n_dst, D).
    """
    deg = torch.bincount(dst, minlength=n_dst).clamp(min=1).to(messages.dtype)
    adjacency = messages.new_zeros(n_dst, messages.shape[0])
    adjacency.index_put_((dst, src), deg.reciprocal()[dst], accumulate=True)
    return adjacency @ messages


class LabelSAGEConv(nn.Module):
    r"""One relation of the MetaLink layer: GraphSAGE-mean with the label added into the message.

    .. math::
        h_v' = U \,\big[\operatorname{mean}_{u \in N(v)} m(h_u, y_{uv}) \;\|\; h_v\big]

    with the message :math:`m = \operatorname{ReLU}(W h_u + O\, y_{uv})` (``message="add"``, the
    paper's eq. 3) or :math:`m = (W h_u + O\, y_{uv}) \odot \sigma(G h_u + P\, y_{uv})`
    (``message="gated"``, the gate of the authors' code, so that what a neighbour sends can
    depend on its label feature by feature).

    The label ``y_uv`` (edge data ``edge_key``, shape (E, F_e)) is
    *added* to the message: DGL's ``SAGEConv(edge_weight=...)`` multiplies by it, which
    would erase a label encoded as 0. A node with no in-edge aggregates the zero vector,
    and a graph with no edges at all is valid.

    Parameters
    ----------
    in_feats : int or (int, int)
        Source and destination input sizes ``D_src``, ``D_dst`` (one int: both).
    out_feats : int
        Output size ``D_out``.
    edge_feats : int
        Size of the edge label feature (1 for a binary label).
    message : {"add", "gated"}
    edge_key : str
        Edge-data key of the label (default :data:`metalink_dgl.kg.LABEL`, ``"label"``).

    Examples
    --------
    >>> import dgl, torch
    >>> g = dgl.graph(([0, 1, 2], [0, 0, 1]), num_nodes=3)
    >>> g.edata["label"] = torch.tensor([[1.0], [-1.0], [1.0]])
    >>> LabelSAGEConv(4, 8)(g, torch.randn(3, 4)).shape
    torch.Size([3, 8])
    """

    def __init__(self, in_feats: int | tuple[int, int], out_feats: int, edge_feats: int = LABEL_FEATS,
                 message: str = "add", edge_key: str = LABEL):
        super().__init__()
        if message not in MESSAGES:
            raise ValueError(f"message {message!r} is not one of {MESSAGES}")
        src_feats, dst_feats = (in_feats, in_feats) if isinstance(in_feats, int) else in_feats
        self.in_feats, self.out_feats, self.edge_feats = (src_feats, dst_feats), out_feats, edge_feats
        self.message, self.edge_key = message, edge_key
        self.fc_neigh = nn.Linear(src_feats, out_feats)  # W
        self.fc_label = nn.Linear(edge_feats, out_feats, bias=False)  # O
        self.fc_update = nn.Linear(out_feats + dst_feats, out_feats)  # U
        if message == "gated":
            self.fc_gate = nn.Linear(src_feats, out_feats)  # G
            self.fc_gate_label = nn.Linear(edge_feats, out_feats, bias=False)  # P
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weights (ReLU gain on W), zero biases."""
        gain = nn.init.calculate_gain("relu")
        nn.init.xavier_uniform_(self.fc_neigh.weight, gain=gain)
        nn.init.xavier_uniform_(self.fc_label.weight, gain=gain)
        nn.init.xavier_uniform_(self.fc_update.weight)
        nn.init.zeros_(self.fc_neigh.bias)
        nn.init.zeros_(self.fc_update.bias)
        if self.message == "gated":
            nn.init.xavier_uniform_(self.fc_gate.weight)
            nn.init.xavier_uniform_(self.fc_gate_label.weight)
            nn.init.zeros_(self.fc_gate.bias)

    def forward(self, graph, feat: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """
        Parameters
        ----------
        graph : DGLGraph
            A (relation) graph whose ``edata[edge_key]`` holds the labels, (E, F_e).
        feat : Tensor (N, D) or pair of Tensors ((N_src, D_src), (N_dst, D_dst))

        Returns
        -------
        Tensor, (N_dst, D_out)
        """
        h_src, h_dst = feat if isinstance(feat, tuple) else (feat, feat)
        with graph.local_scope():
            if graph.num_edges() == 0:
                neigh = h_dst.new_zeros(h_dst.shape[0], self.out_feats)
            else:
                y = graph.edata[self.edge_key].to(h_src.dtype)
                wh = self.fc_neigh(h_src)
                gh = self.fc_gate(h_src) if self.message == "gated" else None
                if self.edge_feats == 1 and bool((y.abs() == 1).all()):
                    neigh = self._binary_mean(graph, wh, gh, y)
                else:
                    src, _ = graph.edges()
                    graph.edata["m"] = self._activate(wh[src] + self.fc_label(y),
                                                      None if gh is None else gh[src] + self.fc_gate_label(y))
                    graph.update_all(fn.copy_e("m", "m"), fn.mean("m", "neigh"))
                    neigh = graph.dstdata["neigh"]
            return self.fc_update(torch.cat([neigh, h_dst], dim=-1))

    @staticmethod
    def _activate(pre: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        """The message from its pre-activation ``W h_u + O y`` and, if gated, ``G h_u + P y``."""
        return torch.relu(pre) if gate is None else pre * torch.sigmoid(gate)

    def _binary_mean(self, graph, wh: torch.Tensor, gh: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
        """The mean message for labels in {-1, +1} without an (E, D_out) message tensor.

        A source node sends one of only two messages, ``m(h_u, -1)`` or ``m(h_u, +1)``: both are
        computed per node from ``wh = W h_u`` (and ``gh = G h_u``), (2 N_src, D_out), and each
        edge is re-pointed at its sign's copy, so the mean is one product of the row-normalised
        signed adjacency (N_dst, 2 N_src) with the messages: dense up to :data:`DENSE_MAX`
        entries (a knowledge graph of a minibatch: fewer calls than DGL's sparse kernels on
        small graphs), DGL's sparse mean above.
        """

        def both_signs(proj: torch.Tensor, label: nn.Linear) -> torch.Tensor:
            o = label.weight[:, 0]
            return torch.stack([proj - o, proj + o], dim=1)  # (N_src, 2, D_out)

        gate = None if gh is None else both_signs(gh, self.fc_gate_label)
        messages = self._activate(both_signs(wh, self.fc_label), gate).reshape(-1, self.out_feats)
        src, dst = graph.edges()
        signed_src, n_dst = 2 * src + (y[:, 0] > 0).long(), graph.num_dst_nodes()
        if n_dst * messages.shape[0] <= DENSE_MAX:
            return _dense_mean(signed_src, dst, messages, n_dst)
        signed = dgl.create_block((signed_src, dst), num_src_nodes=messages.shape[0], num_dst_nodes=n_dst)
        return dgl.ops.copy_u_mean(signed, messages)

    def extra_repr(self) -> str:
        return (f"in_feats={self.in_feats}, out_feats={self.out_feats}, edge_feats={self.edge_feats}, "
                f"message={self.message}, edge_key={self.edge_key!r}")


class MetaLinkConv(HeteroGraphConv):
    r"""MetaLink knowledge-graph layer (Cao, You & Leskovec, ICLR 2022, eq. 3).

    A :class:`dgl.nn.HeteroGraphConv` with one :class:`LabelSAGEConv` per message
    direction, ``data -> task`` over ``labels`` and ``task -> data`` over ``rev_labels``:

    .. math::
        h_v^{(l)} = U^{(l)} \Big[\operatorname{mean}_{u \in N(v)} \operatorname{ReLU}\big(
        W^{(l)}_{\mathrm{type}(u \to v)} h_u^{(l-1)} + O^{(l)} y_{uv}\big) \;\|\; h_v^{(l-1)}\Big]

    Parameters
    ----------
    in_feats : int
        Input size ``D_in`` of both node types.
    out_feats : int
        Output size ``D_out``.
    shared_weights : bool
        One relation module (W, O, U) for both directions (the paper's Table 5 ablation)
        instead of one per direction.
    message : {"add", "gated"}
        The message function of :class:`LabelSAGEConv` (default: eq. 3).
    relations : (str, str)
        Edge types of the ``data -> task`` and ``task -> data`` relations (default
        ``("labels", "rev_labels")``, :mod:`metalink_dgl.kg.schema`).
    edge_key : str
        Edge-data key of the label on both relations (default ``"label"``).
    edge_feats : int
        Width of that edge feature (default 1).

    Examples
    --------
    A knowledge graph of 3 data nodes and 2 task nodes with 3 revealed labels:

    >>> import torch
    >>> from metalink_dgl.kg import build_knowledge_graph
    >>> Y = torch.tensor([[1.0, 0.0], [float("nan"), 1.0], [float("nan"), float("nan")]])
    >>> g = build_knowledge_graph(~torch.isnan(Y), Y)
    >>> conv = MetaLinkConv(16, 32)
    >>> out = conv(g, {"data": torch.randn(3, 16), "task": torch.randn(2, 16)})
    >>> out["data"].shape, out["task"].shape
    (torch.Size([3, 32]), torch.Size([2, 32]))

    The same layer on a heterograph of one's own, with other names:

    >>> import dgl
    >>> g = dgl.heterograph({("cell", "measured", "assay"): ([0, 1], [0, 0]),
    ...                      ("assay", "measured_on", "cell"): ([0, 0], [0, 1])})
    >>> g.edata["y"] = {"measured": torch.tensor([[1.0], [-1.0]]), "measured_on": torch.tensor([[1.0], [-1.0]])}
    >>> conv = MetaLinkConv(4, 8, relations=("measured", "measured_on"), edge_key="y")
    >>> conv(g, {"cell": torch.randn(2, 4), "assay": torch.randn(1, 4)})["assay"].shape
    torch.Size([1, 8])
    """

    def __init__(self, in_feats: int, out_feats: int, shared_weights: bool = False, message: str = "add", *,
                 relations: tuple[str, str] = (LABELS[1], REV_LABELS[1]), edge_key: str = LABEL,
                 edge_feats: int = LABEL_FEATS):
        def relation() -> LabelSAGEConv:
            return LabelSAGEConv(in_feats, out_feats, edge_feats, message=message, edge_key=edge_key)

        to_task = relation()
        to_data = to_task if shared_weights else relation()
        super().__init__({relations[0]: to_task, relations[1]: to_data}, aggregate="sum")
        self.in_feats, self.out_feats, self.shared_weights = in_feats, out_feats, shared_weights

    def reset_parameters(self) -> None:
        """Re-initialise every relation module."""
        for mod in self.mods.values():
            mod.reset_parameters()

    def extra_repr(self) -> str:
        return f"in_feats={self.in_feats}, out_feats={self.out_feats}, shared_weights={self.shared_weights}"
