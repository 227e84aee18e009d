"""The MetaLink model: encoder -> knowledge graph layers -> per-layer edge predictions, summed."""

from __future__ import annotations

import dgl
import torch
import torch.nn.functional as F
from torch import nn

from ..kg.schema import DATA, LABEL_FEATS, TASK
from ..kg.settings import Setting
from .conv import MetaLinkConv
from .heads import TaskHeadModel, mix_revealed_labels
from .prototypes import support_prototypes

EDGE_PREDICTORS = ("dot", "mlp", "cos")
#: How a new task node starts: the paper's ones vector, its support prototype, or its support's ridge head.
NEW_TASK_INITS = ("ones", "prototype", "ridge")
#: How a data node starts: the paper's encoder output, or that mixed with its revealed labels of
#: seen tasks (labels-as-features' input layer as the knowledge graph's first task -> data step).
DATA_INITS = ("encoder", "labels")


class EdgePredictor(nn.Module):
    r"""Scores (data, task) pairs from their node embeddings.

    ``dot``: :math:`\langle h_i, h_j \rangle` (with no KG layer, exactly a multi-head
    linear classifier ``w_j . z_i``); ``mlp``: the paper's
    :math:`\mathrm{MLP}([h_i \| h_j])` with one hidden layer of ``in_feats`` units;
    ``cos``: :math:`\tau \cos(h_i, h_j)` with a learned temperature :math:`\tau`
    (initially 10), Meta-Baseline's prototype classifier.

    Parameters
    ----------
    mode : {"dot", "mlp", "cos"}
    in_feats : int
        Embedding size ``D`` of both node types.
    """

    def __init__(self, mode: str, in_feats: int):
        super().__init__()
        if mode not in EDGE_PREDICTORS:
            raise ValueError(f"edge predictor {mode!r} is not one of {EDGE_PREDICTORS}")
        self.mode = mode
        self.mlp = (
            nn.Sequential(nn.Linear(2 * in_feats, in_feats), nn.ReLU(), nn.Linear(in_feats, 1))
            if mode == "mlp"
            else None
        )
        self.temperature = nn.Parameter(torch.tensor(10.0)) if mode == "cos" else None

    def forward(self, h_data: torch.Tensor, h_task: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        """
        Parameters
        ----------
        h_data : Tensor, (B, D)
        h_task : Tensor, (T, D)
        src, dst : LongTensor, (Q,)
            Data and task index of each scored pair.

        Returns
        -------
        Tensor, (Q,) logits
        """
        if self.mlp is not None:
            return self.mlp(torch.cat([h_data[src], h_task[dst]], dim=-1)).squeeze(-1)
        if self.temperature is not None:
            return self.temperature * (F.normalize(h_data, dim=-1) @ F.normalize(h_task, dim=-1).T)[src, dst]
        # The dense (B, T) product, then a gather: a pair's score does not depend on which
        # other pairs are queried (a per-pair reduction can differ in the last bit).
        return (h_data @ h_task.T)[src, dst]


class MetaLink(TaskHeadModel):
    r"""MetaLink (Cao, You & Leskovec, ICLR 2022): multi-task prediction as link-label prediction.

    Data nodes start from the L2-normalised encoder output :math:`z_i = f_\theta(x_i)/\|\cdot\|`
    (or, ``data_init="labels"``, from :math:`\mathrm{ReLU}(V [z_i \| y_i \| m_i])`: :meth:`data_features`);
    task nodes from a learned head :math:`w_j` (a seen task) or, for a new task
    (``task_ids == -1``), a ones vector (the paper), its support prototype or the ridge
    regression head fitted to its support (:func:`support_prototypes`, ``new_task_init="prototype"``
    or ``"ridge"``). ``layers``
    :class:`MetaLinkConv` layers pass messages over the revealed labels; every layer, the
    input layer included, scores the queried pairs and the ``layers + 1`` scores are summed,
    plus a per-task bias for seen tasks. With
    ``layers=0`` and the dot predictor this is the plain multi-head classifier
    :math:`z_i W^\top + b`.

    Parameters
    ----------
    encoder : nn.Module
        Batched molecule (or image) input -> (B, D); must expose ``out_feats == hidden``.
    n_tasks : int
        Number of tasks with a learned head ``T`` (0: every task is new, e.g. few-shot classes).
    hidden : int
        Embedding size ``D`` of data and task nodes.
    layers : int
        Number of KG layers ``L`` (0 allowed).
    edge_pred : {"dot", "mlp", "cos"}
    shared_weights : bool
        Share message weights between the two directions (Table 5 ablation).
    new_task_init : {"ones", "prototype", "ridge"}
        Initial features of new task nodes (see above).
    message : {"add", "gated", "linear"}
        Message function of the KG layers (:class:`~metalink_dgl.nn.LabelSAGEConv`; default eq. 3).
    aggregate : {"mean", "sum", "sqrt", "signed", "attention"}
        How the KG layers combine in-messages (default eq. 3's mean).
    label_term : {"shared", "source"}
        The label term of their messages (default eq. 3's shared ``O y``).
    edge_feats : int
        Width of the edge label feature: 1 when every task is binary, 3 with continuous tasks
        (:func:`metalink_dgl.kg.label_feats`).
    data_init : {"encoder", "labels"}
        Initial features of data nodes (see :meth:`data_features`).
    freeze_seen_tasks : bool
        Seen task nodes keep their head ``w_j`` through every KG layer (only data nodes and new
        task nodes are updated), so that a seen task's representation does not depend on which
        molecules share its block.
    kg_dropout : float
        Dropout probability on the node features entering each KG layer (training only; the
        scores of every layer read the features before it).
    deep_supervision : bool
        In training, each queried pair is scored by the sum of the first ``k + 1`` layers'
        predictions for its own ``k`` drawn uniformly from ``0..layers`` (``1..layers`` for a new
        task's pair, whose task node knows nothing before the first KG layer; evaluation: all of them).
        In expectation the loss is the mean loss of every partial sum, so the input layer must
        predict on its own (with ``data_init="labels"``: labels-as-features) and each KG layer
        refines the layers before it.
    """

    def __init__(self, encoder: nn.Module, n_tasks: int, hidden: int, layers: int = 2,
                 edge_pred: str = "dot", shared_weights: bool = False, new_task_init: str = "ones",
                 message: str = "add", edge_feats: int = LABEL_FEATS, aggregate: str = "mean",
                 label_term: str = "shared", data_init: str = "encoder", freeze_seen_tasks: bool = False,
                 kg_dropout: float = 0.0, deep_supervision: bool = False):
        if new_task_init not in NEW_TASK_INITS:
            raise ValueError(f"new task init {new_task_init!r} is not one of {NEW_TASK_INITS}")
        if data_init not in DATA_INITS:
            raise ValueError(f"data init {data_init!r} is not one of {DATA_INITS}")
        super().__init__(encoder, n_tasks, hidden)
        self.new_task_init, self.data_init, self.freeze_seen_tasks = new_task_init, data_init, freeze_seen_tasks
        self.deep_supervision = deep_supervision
        self.kg_dropout = nn.Dropout(kg_dropout)
        self.label_mix = nn.Linear(hidden + 2 * n_tasks, hidden) if data_init == "labels" else None  # V
        self.convs = nn.ModuleList(MetaLinkConv(hidden, hidden, shared_weights, message, edge_feats=edge_feats,
                                                aggregate=aggregate, label_term=label_term)
                                   for _ in range(layers))
        self.predictors = nn.ModuleList(EdgePredictor(edge_pred, hidden) for _ in range(layers + 1))
        self.reset_parameters()

    @property
    def layers(self) -> int:
        """Number of KG layers (the model scores with ``layers + 1`` predictors)."""
        return len(self.convs)

    def reset_parameters(self) -> None:
        """Xavier task heads, zero task biases, and reset every KG layer (not the encoder)."""
        self.reset_heads()
        if self.label_mix is not None:
            nn.init.xavier_uniform_(self.label_mix.weight, gain=nn.init.calculate_gain("relu"))
            nn.init.zeros_(self.label_mix.bias)
        for conv in self.convs:
            conv.reset_parameters()

    def training_setting(self, setting: Setting) -> Setting:
        """MetaLink trains on the masks of the setting it is scored in (episodes in the meta settings)."""
        return setting

    def task_features(self, task_ids: torch.Tensor) -> torch.Tensor:
        """Initial task node features, (T_b, D): ``w_j`` for ``task_ids >= 0``, ones for -1."""
        known = task_ids >= 0
        w = self._heads(self.task_weight, task_ids)
        return torch.where(known[:, None], w, torch.ones_like(w))

    def data_features(self, z: torch.Tensor, kg: dgl.DGLGraph, task_ids: torch.Tensor) -> torch.Tensor:
        r"""Initial data node features, (B, D): ``z`` itself, or with ``data_init="labels"``
        :math:`\mathrm{ReLU}(V [z_i \| y_i \| m_i])` of it and i's revealed labels of seen tasks
        (:func:`~metalink_dgl.nn.heads.mix_revealed_labels`, labels-as-features' input layer). A new
        task (``task_ids == -1``) has no column: its labels (a support row's) reach data nodes
        through the KG layers only.

        Parameters
        ----------
        z : Tensor, (B, D)
            Data node embeddings.
        kg : DGLGraph
            The block's knowledge graph (B data, T_b task nodes).
        task_ids : LongTensor, (T_b,)
            Head of each task node; -1 for a new task.
        """
        if self.label_mix is None:
            return z
        return mix_revealed_labels(self.label_mix, z, kg, task_ids, self.n_tasks)

    def _heads(self, param: torch.Tensor, task_ids: torch.Tensor) -> torch.Tensor:
        """Rows ``task_ids`` of a per-task parameter, zeros for -1 (a model with no heads has only new tasks)."""
        if self.n_tasks == 0:
            return param.new_zeros(len(task_ids), *param.shape[1:])
        return param[task_ids.clamp(min=0)]

    def _supervised_depth(self, pair_tasks: torch.Tensor) -> torch.Tensor:
        """Deep supervision's cut of each queried pair, (Q,) in ``0..layers``: the last layer whose
        score enters its logit. Uniform over ``0..layers`` for a seen task's pair, over
        ``1..layers`` for a new task's (``pair_tasks == -1``): a new task node reads its support
        only through the KG layers, so its input-layer score carries no information.
        """
        depth = torch.randint(0, self.layers + 1, pair_tasks.shape, device=pair_tasks.device)
        new = pair_tasks < 0
        if new.any():  # no extra draw without new tasks
            depth = torch.where(new, torch.randint(1, self.layers + 1, new.shape, device=new.device), depth)
        return depth

    def forward(self, inputs, kg: dgl.DGLGraph, task_ids: torch.Tensor, src: torch.Tensor,
                dst: torch.Tensor) -> torch.Tensor:
        """Logits of the queried pairs.

        Parameters
        ----------
        inputs
            Encoder input for the B examples (a batched ``DGLGraph`` for molecules).
        kg : DGLGraph
            Knowledge graph with B ``data`` and T_b ``task`` nodes
            (:func:`metalink_dgl.kg.build_knowledge_graph`).
        task_ids : LongTensor, (T_b,)
            Head of each task node; -1 for a new task.
        src, dst : LongTensor, (Q,)
            Data and task node of each queried pair.

        Returns
        -------
        Tensor, (Q,) logits
        """
        return self.score_pairs(self.embed(inputs), kg, task_ids, src, dst)

    def score_pairs(self, z: torch.Tensor, kg: dgl.DGLGraph, task_ids: torch.Tensor, src: torch.Tensor,
                    dst: torch.Tensor, task_feats: torch.Tensor | None = None) -> torch.Tensor:
        """As :meth:`forward`, from precomputed data embeddings ``z`` (B, D).

        ``task_feats`` (T_b, D), if given, replaces :meth:`task_features` as the initial task
        node features (few-shot episodes start class nodes from their support prototypes).
        """
        if task_feats is None:
            task_feats = self.task_features(task_ids)
            if self.new_task_init != "ones":
                new = (task_ids < 0).nonzero(as_tuple=True)[0]
                task_feats = task_feats.index_copy(0, new, support_prototypes(kg, z, new, self.new_task_init))
        h = {DATA: self.data_features(z, kg, task_ids), TASK: task_feats}
        logits = self.predictors[0](h[DATA], h[TASK], src, dst)
        frozen = (task_ids >= 0)[:, None] if self.freeze_seen_tasks else None
        depth = self._supervised_depth(task_ids[dst]) if self.training and self.deep_supervision else None
        for layer, (conv, predictor) in enumerate(zip(self.convs, self.predictors[1:]), start=1):
            updated = conv(kg, {ntype: self.kg_dropout(feats) for ntype, feats in h.items()})
            if frozen is not None:
                updated[TASK] = torch.where(frozen, h[TASK], updated[TASK])
            h = updated
            scores = predictor(h[DATA], h[TASK], src, dst)
            logits = logits + (scores if depth is None else torch.where(depth >= layer, scores, 0.0))
        bias = torch.where(task_ids >= 0, self._heads(self.task_bias, task_ids), 0.0)
        return logits + bias[dst]
