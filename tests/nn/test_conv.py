import copy
import pickle

import dgl
import pytest
import torch

from metalink_dgl.kg import DATA, LABEL, LABELS, MIXED_LABEL_FEATS, TASK, build_knowledge_graph
from metalink_dgl.nn import AGGREGATES, MESSAGES, LabelSAGEConv, MetaLinkConv
from metalink_dgl.nn import conv as conv_module

NAN = float("nan")


def _case(n_data=3, n_tasks=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    Y = torch.tensor([[1.0, 0.0], [NAN, 1.0], [NAN, NAN]])  # data node 2 and nothing else isolated
    feats = {DATA: torch.randn(n_data, 8, generator=g), TASK: torch.randn(n_tasks, 8, generator=g)}
    return Y, feats


def _dense_message(mod: LabelSAGEConv, h, y):
    pre = mod.fc_neigh(h) + mod.fc_label(y)
    if mod.label_term == "source":  # + sum_k y_k V_k h
        V = mod.fc_source.weight.view(mod.edge_feats, mod.out_feats, -1)
        pre = pre + sum(y[k] * (V[k] @ h) for k in range(mod.edge_feats))
    if mod.message == "gated":
        return pre * torch.sigmoid(mod.fc_gate(h) + mod.fc_gate_label(y))
    return pre if mod.message == "linear" else torch.relu(pre)


def _combine(mod: LabelSAGEConv, msgs: list, labels: list, h_v):
    """One node's aggregate of its in-messages, written out for each ``aggregate``."""
    zero = h_v.new_zeros(mod.out_feats)
    if mod.aggregate == "signed":
        neg = [m for m, y in zip(msgs, labels) if y <= 0]
        pos = [m for m, y in zip(msgs, labels) if y > 0]
        return torch.cat([torch.stack(neg).mean(0) if neg else zero, torch.stack(pos).mean(0) if pos else zero])
    if not msgs:
        return zero
    stacked = torch.stack(msgs)
    if mod.aggregate == "attention":
        a, b = mod.attn_message.weight[0], mod.attn_dst.weight[0]
        scores = torch.stack([torch.nn.functional.leaky_relu(a @ m + b @ h_v, 0.2) for m in msgs])
        return (torch.softmax(scores, 0)[:, None] * stacked).sum(0)
    scale = {"mean": len(msgs), "sum": 1, "sqrt": len(msgs) ** 0.5}[mod.aggregate]
    return stacked.sum(0) / scale


def _dense_relation(mod: LabelSAGEConv, h_src, h_dst, src, dst, y):
    """Eq. 3 for one relation written with plain loops: U [mean m(h_u, y) ; h_v], m = ReLU(W h_u + O y)
    (or the gated message, the source label term, another aggregate)."""
    out = []
    for v in range(h_dst.shape[0]):
        into = [(e, u) for e, u in enumerate(src.tolist()) if dst[e] == v]
        msgs = [_dense_message(mod, h_src[u], y[e]) for e, u in into]
        labels = [float(y[e, 0] if y.shape[1] == 1 else y[e, 0] + y[e, 1]) for e, _ in into]
        out.append(mod.fc_update(torch.cat([_combine(mod, msgs, labels, h_dst[v]), h_dst[v]])))
    return torch.stack(out)


@pytest.mark.parametrize("message", MESSAGES)
def test_output_shapes_and_dense_reference(message):
    Y, feats = _case()
    kg = build_knowledge_graph(~torch.isnan(Y), Y)
    conv = MetaLinkConv(8, 5, message=message)
    out = conv(kg, feats)
    assert out[DATA].shape == (3, 5) and out[TASK].shape == (2, 5)
    src, dst = kg.edges(etype=LABELS)
    y = kg.edges[LABELS[1]].data[LABEL]
    ref_task = _dense_relation(conv.mods["labels"], feats[DATA], feats[TASK], src, dst, y)
    ref_data = _dense_relation(conv.mods["rev_labels"], feats[TASK], feats[DATA], dst, src, y)
    torch.testing.assert_close(out[TASK], ref_task)
    torch.testing.assert_close(out[DATA], ref_data)


def test_label_zero_and_one_give_different_messages():
    Y, feats = _case()
    conv = MetaLinkConv(8, 5)
    Y1 = Y.clone()
    Y1[0, 1] = 1.0  # was 0
    out0 = conv(build_knowledge_graph(~torch.isnan(Y), Y), feats)
    out1 = conv(build_knowledge_graph(~torch.isnan(Y1), Y1), feats)
    assert not torch.allclose(out0[TASK][1], out1[TASK][1])
    assert not torch.allclose(out0[DATA][0], out1[DATA][0])
    # nodes not touching the flipped edge are unchanged
    torch.testing.assert_close(out0[TASK][0], out1[TASK][0])
    torch.testing.assert_close(out0[DATA][1], out1[DATA][1])


@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_relation_with_zero_edges_and_isolated_nodes(aggregate):
    Y, feats = _case()
    conv = MetaLinkConv(8, 5, aggregate=aggregate)
    empty = build_knowledge_graph(torch.zeros(3, 2, dtype=torch.bool), Y)
    out = conv(empty, feats)
    width = 10 if aggregate == "signed" else 5  # negative and positive means side by side
    for ntype, mod in ((TASK, conv.mods["labels"]), (DATA, conv.mods["rev_labels"])):
        expected = mod.fc_update(torch.cat([torch.zeros(feats[ntype].shape[0], width), feats[ntype]], -1))
        torch.testing.assert_close(out[ntype], expected)
    # isolated data node 2 in a non-empty graph: the same "mean of nothing = 0" update
    full = conv(build_knowledge_graph(~torch.isnan(Y), Y), feats)
    torch.testing.assert_close(full[DATA][2], out[DATA][2])


def test_shared_weights_really_share():
    shared, separate = MetaLinkConv(8, 5, shared_weights=True), MetaLinkConv(8, 5)
    assert shared.mods["labels"] is shared.mods["rev_labels"]
    n_shared = sum(p.numel() for p in shared.parameters())
    n_separate = sum(p.numel() for p in separate.parameters())
    assert 2 * n_shared == n_separate
    Y, feats = _case()
    out = shared(build_knowledge_graph(~torch.isnan(Y), Y), feats)
    out[DATA].sum().backward()  # gradient of data outputs reaches the one shared module
    assert shared.mods["labels"].fc_neigh.weight.grad is not None


def test_reset_parameters_and_pickle():
    conv = MetaLinkConv(8, 5)
    before = copy.deepcopy(conv.state_dict())
    conv.reset_parameters()
    after = conv.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("weight"))
    clone = pickle.loads(pickle.dumps(conv))
    Y, feats = _case()
    kg = build_knowledge_graph(~torch.isnan(Y), Y)
    torch.testing.assert_close(clone(kg, feats)[TASK], conv(kg, feats)[TASK])
    assert "shared_weights=False" in repr(conv)


def test_label_sage_on_a_homogeneous_graph():
    g = dgl.graph(([0, 1, 2], [0, 0, 1]), num_nodes=3)
    g.edata[LABEL] = torch.tensor([[1.0], [-1.0], [1.0]])
    out = LabelSAGEConv(4, 6)(g, torch.randn(3, 4))
    assert out.shape == (3, 6)
    with pytest.raises(KeyError):
        LabelSAGEConv(4, 6)(dgl.graph(([0], [1]), num_nodes=2), torch.randn(2, 4))  # no labels on the edges


@pytest.mark.parametrize("label_term", ["shared", "source"])
@pytest.mark.parametrize("aggregate", ["mean", "sum", "sqrt", "signed", "attention"])
@pytest.mark.parametrize("per_edge", [conv_module.DENSE_PER_EDGE, 0], ids=["dense-product", "dgl-sparse"])
@pytest.mark.parametrize("message", ["add", "gated"])
@pytest.mark.parametrize("labels", [[1.0, -1.0, 1.0, -1.0, 1.0], [0.5, -2.0, 0.0, 3.0, 1.0]],
                         ids=["binary", "real-valued"])
def test_label_sage_matches_the_dense_reference_with_gradients(labels, message, per_edge, aggregate, label_term,
                                                               monkeypatch):
    """Binary labels take the two-messages-per-node path (a dense product on small graphs, DGL's
    sparse kernel on large ones), other values the per-edge path: every message, aggregate and label
    term equals its loop reference in values and gradients, also with an edge repeated with the
    other label (a multigraph) and a destination node with no in-edge."""
    torch.manual_seed(0)
    calls = []
    fast = LabelSAGEConv._signed_messages
    monkeypatch.setattr(LabelSAGEConv, "_signed_messages", lambda self, *a: calls.append(1) or fast(self, *a))
    monkeypatch.setattr(conv_module, "DENSE_PER_EDGE", per_edge)
    g = dgl.heterograph({("data", "labels", "task"): ([0, 1, 2, 2, 0], [0, 0, 1, 0, 0])},
                        num_nodes_dict={"data": 3, "task": 3})
    y = torch.tensor(labels, dtype=torch.float64)[:, None]  # in float64, so that the comparison is tight
    g.edata[LABEL] = y
    mod = LabelSAGEConv((8, 6), 5, message=message, aggregate=aggregate, label_term=label_term).double()
    h_src = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    h_dst = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    out = mod(g, (h_src, h_dst))
    src, dst = g.edges()
    ref = _dense_relation(mod, h_src, h_dst, src, dst, y)
    torch.testing.assert_close(out, ref)
    params = [h_src, h_dst, *mod.parameters()]
    grads = torch.autograd.grad(out.square().sum(), params)
    ref_grads = torch.autograd.grad(ref.square().sum(), params)
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want)
    assert len(calls) == (1 if set(labels) <= {-1.0, 1.0} else 0)


@pytest.mark.parametrize("aggregate,label_term", [("mean", "shared"), ("signed", "source"), ("attention", "source"),
                                                  ("sqrt", "shared")])
@pytest.mark.parametrize("message", MESSAGES)
def test_mixed_labels_dense_reference_values_and_gradients(message, aggregate, label_term):
    """Task 0 binary, task 1 continuous (standardised values): the three-column edge feature through
    the per-edge path equals eq. 3 written densely, in values and in gradients."""
    Y = torch.tensor([[1.0, -0.7], [NAN, 1.3], [0.0, 0.0], [NAN, NAN]])
    continuous = torch.tensor([False, True])
    g = torch.Generator().manual_seed(1)
    feats = {DATA: torch.randn(4, 8, generator=g, requires_grad=True),
             TASK: torch.randn(2, 8, generator=g, requires_grad=True)}
    kg = build_knowledge_graph(~torch.isnan(Y), Y, continuous)
    y = kg.edges[LABELS[1]].data[LABEL]
    assert y.shape == (5, MIXED_LABEL_FEATS)
    torch.testing.assert_close(y[:, 2], continuous[kg.edges(etype=LABELS)[1]].float())
    conv = MetaLinkConv(8, 5, message=message, edge_feats=MIXED_LABEL_FEATS, aggregate=aggregate,
                        label_term=label_term)
    out = conv(kg, feats)
    src, dst = kg.edges(etype=LABELS)
    ref_task = _dense_relation(conv.mods["labels"], feats[DATA], feats[TASK], src, dst, y)
    ref_data = _dense_relation(conv.mods["rev_labels"], feats[TASK], feats[DATA], dst, src, y)
    torch.testing.assert_close(out[TASK], ref_task)
    torch.testing.assert_close(out[DATA], ref_data)
    weights = torch.linspace(-1, 1, 5)
    grads = torch.autograd.grad(((out[TASK] * weights).sum() + (out[DATA] * weights).sum()),
                                [feats[DATA], feats[TASK], *conv.parameters()])
    ref = torch.autograd.grad(((ref_task * weights).sum() + (ref_data * weights).sum()),
                              [feats[DATA], feats[TASK], *conv.parameters()])
    for a, b in zip(grads, ref):
        torch.testing.assert_close(a, b)


def test_a_continuous_value_changes_the_message_and_zero_is_not_missing():
    """A continuous label of 0.0 (the training mean) is a message, and 0.5 gives another one."""
    continuous = torch.tensor([False, True])
    g = torch.Generator().manual_seed(2)
    feats = {DATA: torch.randn(2, 8, generator=g), TASK: torch.randn(2, 8, generator=g)}
    conv = MetaLinkConv(8, 5, edge_feats=MIXED_LABEL_FEATS)
    outs = []
    for value in (0.0, 0.5, NAN):
        Y = torch.tensor([[1.0, value], [NAN, NAN]])
        outs.append(conv(build_knowledge_graph(~torch.isnan(Y), Y, continuous), feats)[TASK][1])
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])
