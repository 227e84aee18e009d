"""The MetaLink layer (paper eq. 3) as a DGL ``HeteroGraphConv`` over label edges."""

from __future__ import annotations

import dgl
import torch
import torch.nn.functional as F
from dgl.nn.pytorch import HeteroGraphConv
from torch import nn

from ..kg.schema import LABEL, LABEL_FEATS, LABELS, REV_LABELS, decode_labels

#: Message functions of :class:`LabelSAGEConv`: the paper's eq. 3, the authors' code's gate, or eq. 3
#: without its ReLU (``linear``: with a sum and the source label term, a data node aggregates
#: labels-as-features' sum of per-task label vectors, in which a positive and a negative cancel).
MESSAGES = ("add", "gated", "linear")
#: How :class:`LabelSAGEConv` combines a node's in-messages: eq. 3's mean; their sum (one revealed
#: label and ten differ); the sum over ``sqrt(in-degree)``; the means over positive and over
#: negative labels side by side (``signed``: a few positives are not drowned by many negatives);
#: or a softmax attention over the in-edges.
AGGREGATES = ("mean", "sum", "sqrt", "signed", "attention")
#: The label term of a message: eq. 3's ``O y``, the same for every source node (``shared``), or
#: ``O y + y * (V h_u)``, which depends on the source (``source``: a per-task label vector on
#: task -> data messages, as labels-as-features has one per task and label).
LABEL_TERMS = ("shared", "source")
#: :func:`weighted_sum` multiplies a dense (destination rows x message rows) adjacency when it has
#: at most this many entries per edge (and at most :data:`DENSE_CAP` entries), else calls DGL's
#: sparse kernel: ``benchmarks/bench_aggregate.py`` puts the crossover near 65 entries per edge
#: on CPU (a minibatch of Tox21 has about 14, of ToxCast about 34).
DENSE_PER_EDGE = 64
#: Most entries of a dense adjacency (128 MiB of float32).
DENSE_CAP = 1 << 25


def weighted_sum(rows: torch.Tensor, dst: torch.Tensor, weights: torch.Tensor, messages: torch.Tensor,
                 n_dst: int) -> torch.Tensor:
    """``out[v] = sum over edges e into v of weights[e] * messages[rows[e]]``.

    Parameters
    ----------
    rows, dst : LongTensor, (E,)
        Message row and destination node of each edge (repeated edges count as often as they occur).
    weights : Tensor, (E,)
    messages : Tensor, (M, D)
    n_dst : int

    Returns
    -------
    Tensor, (n_dst, D); zeros for a node with no in-edge.
    """
    entries = n_dst * messages.shape[0]
    if entries <= min(DENSE_PER_EDGE * len(dst), DENSE_CAP):
        adjacency = messages.new_zeros(n_dst, messages.shape[0])
        adjacency.index_put_((dst, rows), weights, accumulate=True)
        return adjacency @ messages
    block = dgl.create_block((rows, dst), num_src_nodes=messages.shape[0], num_dst_nodes=n_dst)
    return dgl.ops.u_mul_e_sum(block, messages, weights[:, None])


def edge_softmax(scores: torch.Tensor, dst: torch.Tensor, n_dst: int) -> torch.Tensor:
    """Softmax of edge ``scores`` (E,) over the in-edges of each destination ``dst`` (E,)."""
    top = scores.new_full((n_dst,), float("-inf")).scatter_reduce(0, dst, scores, "amax").detach()
    exp = (scores - top[dst]).exp()
    return exp / exp.new_zeros(n_dst).index_add(0, dst, exp)[dst]


class LabelSAGEConv(nn.Module):
    r"""One relation of the MetaLink layer: GraphSAGE-mean with the label added into the message.

    .. math::
        h_v' = U \,\big[\operatorname{mean}_{u \in N(v)} m(h_u, y_{uv}) \;\|\; h_v\big]

    with the message :math:`m = \operatorname{ReLU}(W h_u + O\, y_{uv})` (``message="add"``, the
    paper's eq. 3), :math:`m = (W h_u + O\, y_{uv}) \odot \sigma(G h_u + P\, y_{uv})`
    (``message="gated"``, the gate of the authors' code, so that what a neighbour sends can
    depend on its label feature by feature) or :math:`m = W h_u + O\, y_{uv}` (``"linear"``).
    ``label_term="source"`` adds :math:`\sum_k y_{uv,k} V_k h_u` to the pre-activation (the label
    term then depends on the source node); ``aggregate`` replaces the mean (:data:`AGGREGATES`; ``signed`` gives
    :math:`U [\operatorname{mean}_{y > 0} m \,\|\, \operatorname{mean}_{y \le 0} m \,\|\, h_v]`,
    ``attention`` the weights :math:`\operatorname{softmax}_u \operatorname{LeakyReLU}(a^\top m + b^\top h_v)`).

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
    message : {"add", "gated", "linear"}
    edge_key : str
        Edge-data key of the label (default :data:`metalink_dgl.kg.LABEL`, ``"label"``).
    aggregate : {"mean", "sum", "sqrt", "signed", "attention"}
        How in-messages are combined (default eq. 3's mean).
    label_term : {"shared", "source"}
        Eq. 3's ``O y`` or the source-dependent ``O y + y V h_u``.

    Examples
    --------
    >>> import dgl, torch
    >>> g = dgl.graph(([0, 1, 2], [0, 0, 1]), num_nodes=3)
    >>> g.edata["label"] = torch.tensor([[1.0], [-1.0], [1.0]])
    >>> LabelSAGEConv(4, 8)(g, torch.randn(3, 4)).shape
    torch.Size([3, 8])
    >>> LabelSAGEConv(4, 8, aggregate="signed", label_term="source")(g, torch.randn(3, 4)).shape
    torch.Size([3, 8])
    """

    def __init__(self, in_feats: int | tuple[int, int], out_feats: int, edge_feats: int = LABEL_FEATS,
                 message: str = "add", edge_key: str = LABEL, aggregate: str = "mean", label_term: str = "shared"):
        super().__init__()
        for value, choices, what in ((message, MESSAGES, "message"), (aggregate, AGGREGATES, "aggregate"),
                                     (label_term, LABEL_TERMS, "label term")):
            if value not in choices:
                raise ValueError(f"{what} {value!r} is not one of {choices}")
        src_feats, dst_feats = (in_feats, in_feats) if isinstance(in_feats, int) else in_feats
        self.in_feats, self.out_feats, self.edge_feats = (src_feats, dst_feats), out_feats, edge_feats
        self.message, self.edge_key, self.aggregate, self.label_term = message, edge_key, aggregate, label_term
        self.fc_neigh = nn.Linear(src_feats, out_feats)  # W
        self.fc_label = nn.Linear(edge_feats, out_feats, bias=False)  # O
        neigh_feats = 2 * out_feats if aggregate == "signed" else out_feats
        self.fc_update = nn.Linear(neigh_feats + dst_feats, out_feats)  # U
        if message == "gated":
            self.fc_gate = nn.Linear(src_feats, out_feats)  # G
            self.fc_gate_label = nn.Linear(edge_feats, out_feats, bias=False)  # P
        if label_term == "source":
            self.fc_source = nn.Linear(src_feats, edge_feats * out_feats, bias=False)  # V_1 .. V_F
        if aggregate == "attention":
            self.attn_message = nn.Linear(out_feats, 1, bias=False)  # a
            self.attn_dst = nn.Linear(dst_feats, 1, bias=False)  # b
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
        if self.label_term == "source":
            nn.init.xavier_uniform_(self.fc_source.weight, gain=gain)
        if self.aggregate == "attention":
            nn.init.xavier_uniform_(self.attn_message.weight)
            nn.init.xavier_uniform_(self.attn_dst.weight)

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
        n_dst = graph.num_dst_nodes()
        if graph.num_edges() == 0:
            neigh = h_dst.new_zeros(n_dst, self.fc_update.in_features - h_dst.shape[1])
        else:
            y = graph.edata[self.edge_key].to(h_src.dtype)
            src, dst = graph.edges()
            if self.edge_feats == 1 and bool((y.abs() == 1).all()):
                messages, rows = self._signed_messages(h_src), 2 * src + (y[:, 0] > 0).long()
            else:
                messages, rows = self._edge_messages(h_src, src, y), torch.arange(len(src), device=src.device)
            neigh = self._aggregate(rows, dst, messages, decode_labels(y) > 0, h_dst)
        return self.fc_update(torch.cat([neigh, h_dst], dim=-1))

    def _activate(self, pre: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        """The message from its pre-activation ``W h_u + O y (+ y V h_u)`` and, if gated, ``G h_u + P y``."""
        if gate is not None:
            return pre * torch.sigmoid(gate)
        return pre if self.message == "linear" else torch.relu(pre)

    def _source_term(self, h_src: torch.Tensor) -> torch.Tensor | None:
        """``V_k h_u`` for each label column k, (N_src, F_e, D_out); None for eq. 3's shared label term."""
        if self.label_term == "shared":
            return None
        return self.fc_source(h_src).view(len(h_src), self.edge_feats, self.out_feats)

    def _signed_messages(self, h_src: torch.Tensor) -> torch.Tensor:
        """For labels in {-1, +1}: the two messages ``m(h_u, -1)``, ``m(h_u, +1)`` of every source node,
        (2 N_src, D_out), row ``2u`` negative and ``2u + 1`` positive (no (E, D_out) tensor)."""

        def both_signs(proj: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
            return torch.stack([proj - label, proj + label], dim=1)  # (N_src, 2, D_out)

        source = self._source_term(h_src)
        label = self.fc_label.weight[:, 0] if source is None else self.fc_label.weight[:, 0] + source[:, 0]
        gate = (None if self.message != "gated"
                else both_signs(self.fc_gate(h_src), self.fc_gate_label.weight[:, 0]))
        return self._activate(both_signs(self.fc_neigh(h_src), label), gate).reshape(-1, self.out_feats)

    def _edge_messages(self, h_src: torch.Tensor, src: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The message of every edge from its source ``src`` (E,) and label feature ``y`` (E, F_e), (E, D_out)."""
        pre = self.fc_neigh(h_src)[src] + self.fc_label(y)
        source = self._source_term(h_src)
        if source is not None:
            pre = pre + torch.einsum("ef,efd->ed", y, source[src])
        gate = None if self.message != "gated" else self.fc_gate(h_src)[src] + self.fc_gate_label(y)
        return self._activate(pre, gate)

    def _aggregate(self, rows: torch.Tensor, dst: torch.Tensor, messages: torch.Tensor, positive: torch.Tensor,
                   h_dst: torch.Tensor) -> torch.Tensor:
        """Combine the messages ``messages[rows[e]]`` of the edges into each ``dst[e]`` (E,); ``positive`` (E,)
        marks the edges with a label above 0. Returns (N_dst, D_out), or (N_dst, 2 D_out) when ``signed``
        (negative mean, then positive mean)."""
        n_dst = h_dst.shape[0]
        if self.aggregate == "attention":
            scores = self.attn_message(messages)[rows, 0] + self.attn_dst(h_dst)[dst, 0]
            return weighted_sum(rows, dst, edge_softmax(F.leaky_relu(scores, 0.2), dst, n_dst), messages, n_dst)
        groups, n_groups = (2 * dst + positive.long(), 2 * n_dst) if self.aggregate == "signed" else (dst, n_dst)
        degree = torch.bincount(groups, minlength=n_groups).clamp(min=1).to(messages.dtype)
        scale = degree.rsqrt() if self.aggregate == "sqrt" else degree.reciprocal()
        weights = torch.ones_like(rows, dtype=messages.dtype) if self.aggregate == "sum" else scale[groups]
        return weighted_sum(rows, groups, weights, messages, n_groups).reshape(n_dst, -1)

    def extra_repr(self) -> str:
        return (f"in_feats={self.in_feats}, out_feats={self.out_feats}, edge_feats={self.edge_feats}, "
                f"message={self.message}, edge_key={self.edge_key!r}, aggregate={self.aggregate}, "
                f"label_term={self.label_term}")


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
    message : {"add", "gated", "linear"}
        The message function of :class:`LabelSAGEConv` (default: eq. 3).
    relations : (str, str)
        Edge types of the ``data -> task`` and ``task -> data`` relations (default
        ``("labels", "rev_labels")``, :mod:`metalink_dgl.kg.schema`).
    edge_key : str
        Edge-data key of the label on both relations (default ``"label"``).
    edge_feats : int
        Width of that edge feature (default 1).
    aggregate : {"mean", "sum", "sqrt", "signed", "attention"}
        How each relation combines a node's in-messages (:data:`AGGREGATES`; default eq. 3's mean).
    label_term : {"shared", "source"}
        Eq. 3's shared ``O y`` or a source-dependent label term (:data:`LABEL_TERMS`).

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
                 edge_feats: int = LABEL_FEATS, aggregate: str = "mean", label_term: str = "shared"):
        def relation() -> LabelSAGEConv:
            return LabelSAGEConv(in_feats, out_feats, edge_feats, message=message, edge_key=edge_key,
                                 aggregate=aggregate, label_term=label_term)

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
