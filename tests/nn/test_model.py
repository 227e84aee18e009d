import pytest
import torch
import torch.nn.functional as F
from torch import nn

from metalink_dgl.engine import Block, forward_block
from metalink_dgl.kg import SETTINGS, build_knowledge_graph, draw_aux, make_masks, revealed_matrix
from metalink_dgl.nn import MESSAGES, LabelsAsFeatures, MetaLink, ridge_heads, support_prototypes

B, T, D, F_IN = 12, 6, 16, 10
NAN = float("nan")


def _model(layers=2, edge_pred="dot", seed=0, **options):
    torch.manual_seed(seed)
    return MetaLink(nn.Linear(F_IN, D), n_tasks=T, hidden=D, layers=layers, edge_pred=edge_pred, **options).eval()


def _meta_masks(Y):
    """Meta masks of a block: tasks 0 and 1 are new, rows 0..5 their support, the others query rows."""
    targets = torch.tensor([True, True] + [False] * (T - 2))
    return make_masks(Y, SETTINGS["meta"], targets=targets, aux=torch.zeros(B, T, dtype=torch.bool),
                      support=torch.arange(B) < 6)


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, F_IN, generator=g)
    Y = (torch.rand(B, T, generator=g) < 0.4).float()
    Y[torch.rand(B, T, generator=g) < 0.2] = float("nan")
    return x, Y


def test_zero_layers_is_the_linear_multi_head_classifier():
    model = _model(layers=0)
    x, Y = _data()
    with torch.no_grad():
        model.task_bias.copy_(torch.randn(T))
        masks = make_masks(Y, SETTINGS["standard"], targets=torch.ones(T, dtype=torch.bool),
                           aux=torch.zeros(B, T, dtype=torch.bool))
        logits, r, t = forward_block(model, Block(model.embed(x), Y, masks))
        z = model.embed(x)
        dense = z @ model.task_weight.T + model.task_bias
    torch.testing.assert_close(logits, dense[r, t])
    assert len(r) == int((~torch.isnan(Y)).sum())


@pytest.mark.parametrize("edge_pred", ["dot", "mlp"])
@pytest.mark.parametrize(("setting", "new_task_init", "data_init"),
                         [("relational", "ones", "encoder"), ("relational-meta", "ones", "encoder"),
                          ("relational-meta", "prototype", "encoder"), ("meta", "prototype", "encoder"),
                          ("relational-meta", "ridge", "encoder"), ("meta", "ridge", "encoder"),
                          ("relational", "ones", "labels"), ("relational-meta", "ones", "labels")])
def test_queried_labels_never_reach_the_model(setting, new_task_init, data_init, edge_pred):
    model = _model(edge_pred=edge_pred, new_task_init=new_task_init, data_init=data_init)
    x, Y = _data()
    s = SETTINGS[setting]
    gen = torch.Generator().manual_seed(1)
    targets = torch.zeros(T, dtype=torch.bool)
    targets[:2] = True
    if not s.meta:
        targets[:] = True
    support = torch.arange(B) < (4 if s.meta else 0)
    aux = draw_aux(~targets if s.meta else targets, B, 0.4, gen) if s.relational else torch.zeros(B, T, dtype=bool)
    masks = make_masks(Y, s, targets=targets, aux=aux, support=support)
    assert masks.queried.any() and masks.revealed.any()
    with torch.no_grad():
        base, r, t = forward_block(model, Block(model.embed(x), Y, masks))
        for change in ("flip", "nan"):
            Y2 = Y.clone()
            q = masks.queried
            Y2[q] = 1 - Y[q] if change == "flip" else float("nan")
            # everything not queried is unchanged; the masks are kept (they were drawn from the true Y)
            again, r2, t2 = forward_block(model, Block(model.embed(x), Y2, masks))
            assert torch.equal(base, again) and torch.equal(r, r2) and torch.equal(t, t2)


@pytest.mark.parametrize(("setting", "options"),
                         [("relational", {"message": m}) for m in MESSAGES] + [("meta", {"freeze_seen_tasks": True})],
                         ids=[*MESSAGES, "meta-frozen-seen-tasks"])
def test_revealed_labels_matter(setting, options):
    """Flipping the revealed labels moves the logits: every message function, and in the meta
    setting new task nodes still read their support when seen task nodes are frozen."""
    model = _model(**options)
    assert all(conv.mods["labels"].message == options.get("message", "add") for conv in model.convs)
    x, Y = _data()
    if setting == "meta":
        masks = _meta_masks(Y)
    else:
        aux = draw_aux(torch.ones(T, dtype=torch.bool), B, 0.5, torch.Generator().manual_seed(0))
        masks = make_masks(Y, SETTINGS["relational"], targets=torch.ones(T, dtype=torch.bool), aux=aux)
    with torch.no_grad():
        base, _, _ = forward_block(model, Block(model.embed(x), Y, masks))
        Y2 = Y.clone()
        Y2[masks.revealed] = 1 - Y[masks.revealed]
        flipped, _, _ = forward_block(model, Block(model.embed(x), Y2, masks))
    assert (base - flipped).abs().max() > 1e-4


def test_new_tasks_start_from_ones_and_ignore_their_head():
    model = _model()
    ids = torch.tensor([0, -1, 2])
    feats = model.task_features(ids)
    assert torch.equal(feats[1], torch.ones(D))
    assert torch.equal(feats[0], model.task_weight[0].detach())


def test_support_prototypes_are_the_rescaled_difference_of_label_means():
    x, Y = _data()
    revealed = ~torch.isnan(Y)
    revealed[:, 5] = False  # a task with no revealed label
    z = torch.randn(B, D)
    protos = support_prototypes(build_knowledge_graph(revealed, Y), z)
    for j in range(5):
        pos, neg = revealed[:, j] & (Y[:, j] == 1), revealed[:, j] & (Y[:, j] == 0)
        diff = (z[pos].mean(0) if pos.any() else 0) - (z[neg].mean(0) if neg.any() else 0)
        torch.testing.assert_close(protos[j], diff / diff.norm() * D**0.5)
    assert torch.equal(protos[5], torch.zeros(D))


@pytest.mark.parametrize("dim", [D, B // 2])  # B < D: solved through the B x B kernel; B > D: D x D
def test_ridge_heads_are_the_regularised_least_squares_fit_of_each_support(dim):
    """``summary="ridge"``: per task, (Z_S^T Z_S + lam I)^-1 Z_S^T y_S over its revealed rows S only,
    lam = tr(Z_S^T Z_S) / D, rescaled to norm sqrt(D); values and gradients in z; ``tasks`` selects
    columns; a very strong penalty gives the direction of the label-weighted sum Z_S^T y_S."""
    x, Y = _data()
    revealed = ~torch.isnan(Y)
    revealed[:, 5] = False  # a task with no revealed label
    kg = build_knowledge_graph(revealed, Y)
    z = torch.randn(B, dim, dtype=torch.double, requires_grad=True)
    heads = support_prototypes(kg, z, summary="ridge")
    refs = []
    for j in range(5):
        zs, ys = z[revealed[:, j]], Y[revealed[:, j], j].double() * 2 - 1
        gram = zs.T @ zs
        w = torch.linalg.solve(gram + gram.trace() / dim * torch.eye(dim, dtype=torch.double), zs.T @ ys)
        refs.append(w / w.norm() * dim**0.5)
    torch.testing.assert_close(heads[:5], torch.stack(refs))
    assert torch.equal(heads[5], torch.zeros(dim, dtype=torch.double))
    probe = torch.randn(5, dim, dtype=torch.double)
    grad, = torch.autograd.grad((heads[:5] * probe).sum(), z)
    want, = torch.autograd.grad((torch.stack(refs) * probe).sum(), z)
    torch.testing.assert_close(grad, want)
    with torch.no_grad():
        tasks = torch.tensor([3, 0])
        torch.testing.assert_close(support_prototypes(kg, z, tasks, "ridge"), heads[tasks])
        labels, mask = revealed_matrix(kg)
        strong = ridge_heads(z, labels.double(), mask.double(), strength=1e9)
        weighted = (mask * labels).double().T @ z
        torch.testing.assert_close(F.normalize(strong[:5], dim=-1), F.normalize(weighted[:5], dim=-1))


@pytest.mark.parametrize("new_task_init", ["prototype", "ridge"])
def test_support_init_reads_the_support_labels_of_new_tasks_only(new_task_init):
    """With no KG layer, a new task scores z_i . p_j: flipping a support label changes it, and a
    seen task keeps its head."""
    model = _model(layers=0, new_task_init=new_task_init)
    x, Y = _data()
    Y[:6, :2] = torch.tensor([1.0, 0.0]).repeat(3, 2).reshape(6, 2)  # both classes on both new tasks
    masks = _meta_masks(Y)
    with torch.no_grad():
        base, _, t = forward_block(model, Block(model.embed(x), Y, masks))
        Y2 = Y.clone()
        Y2[0, 0] = 1 - Y[0, 0]
        flipped, _, t2 = forward_block(model, Block(model.embed(x), Y2, masks))
    assert torch.equal(t, t2)
    assert not torch.allclose(base[t == 0], flipped[t == 0]) and torch.equal(base[t == 1], flipped[t == 1])


def test_layers_add_their_predictions():
    x, Y = _data()
    masks = make_masks(Y, SETTINGS["relational"], targets=torch.ones(T, dtype=torch.bool),
                       aux=draw_aux(torch.ones(T, dtype=torch.bool), B, 0.5, torch.Generator().manual_seed(0)))
    with torch.no_grad():
        deep = _model(layers=2)
        logits2, _, _ = forward_block(deep, Block(deep.embed(x), Y, masks))
        deep.convs = deep.convs[:0]
        deep.predictors = deep.predictors[:1]
        logits0, _, _ = forward_block(deep, Block(deep.embed(x), Y, masks))
    assert not torch.allclose(logits2, logits0)


def test_model_overfits_a_tiny_relational_problem():
    """Task 1 is a copy of task 0, invisible from x: only the revealed label can predict it."""
    torch.manual_seed(0)
    n = 64
    x = torch.randn(n, F_IN)
    y0 = (torch.rand(n) < 0.5).float()
    Y = torch.stack([y0, y0], 1)
    model = MetaLink(nn.Linear(F_IN, D), n_tasks=2, hidden=D, layers=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    # task 0 revealed, task 1 queried
    masks = make_masks(Y, SETTINGS["relational"], targets=torch.ones(2, dtype=torch.bool),
                       aux=torch.tensor([[True, False]]).repeat(n, 1))
    for _ in range(200):
        logits, r, t = forward_block(model, Block(model.embed(x), Y, masks))
        loss = nn.functional.binary_cross_entropy_with_logits(logits, Y[r, t])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits, r, t = forward_block(model, Block(model.embed(x), Y, masks))
    assert ((logits > 0).float() == Y[r, t]).float().mean() == 1.0


def test_data_init_labels_matches_the_dense_reference_with_gradients():
    """``data_init="labels"``: ReLU(V_z z_i + sum over i's revealed seen tasks t of (y_it a_t + c_t) + b),
    written as a loop over label edges, in values and gradients; task nodes in another order than the
    heads, a new task (its support labels add nothing) and a continuous task (its standardised value)."""
    torch.manual_seed(0)
    model = MetaLink(nn.Linear(F_IN, D), n_tasks=4, hidden=D, layers=1, data_init="labels").double()
    task_ids = torch.tensor([2, -1, 0, 3, 1])  # T_b = 5 task nodes: heads 2, new, 0, 3, 1
    Y = torch.tensor([[1.0, 0.0, NAN, -0.7, 0.0], [NAN, 1.0, 1.0, 1.3, NAN], [0.0, NAN, NAN, NAN, NAN],
                      [NAN, NAN, NAN, NAN, NAN]], dtype=torch.float64)
    continuous = torch.tensor([False, False, False, True, False])
    kg = build_knowledge_graph(~torch.isnan(Y), Y, continuous)
    z = torch.randn(4, D, dtype=torch.float64, requires_grad=True)
    out = model.data_features(z, kg, task_ids)
    V = model.label_mix.weight  # (D, D + 2 * 4): [V_z | a_0..a_3 | c_0..c_3]
    ref = []
    for i in range(4):
        pre = V[:, :D] @ z[i] + model.label_mix.bias
        for j, head in enumerate(task_ids.tolist()):
            if head < 0 or torch.isnan(Y[i, j]):
                continue
            y = Y[i, j] if continuous[j] else 2 * Y[i, j] - 1  # a binary label enters as +1 / -1
            pre = pre + y * V[:, D + head] + V[:, D + 4 + head]
        ref.append(torch.relu(pre))
    ref = torch.stack(ref)
    torch.testing.assert_close(out, ref)
    params = [z, *model.label_mix.parameters()]
    grads = torch.autograd.grad(out.square().sum(), params)
    for got, want in zip(grads, torch.autograd.grad(ref.square().sum(), params)):
        torch.testing.assert_close(got, want)
    # a new task's label is not an input of the data node; a seen task's is
    moved = Y.clone()
    moved[0, 1] = 1.0
    torch.testing.assert_close(model.data_features(z, build_knowledge_graph(~torch.isnan(moved), moved, continuous),
                                                   task_ids), out)
    moved[0, 0] = 0.0
    assert not torch.allclose(model.data_features(z, build_knowledge_graph(~torch.isnan(moved), moved, continuous),
                                                  task_ids), out)


def test_kg_dropout_matches_the_dense_reference_with_gradients():
    """``kg_dropout=p``: in training each KG layer reads its input features times a Bernoulli(1 - p)
    mask over 1 - p (data and task nodes; each layer's score reads the features before the dropout),
    in values and gradients; in evaluation the model is the one without dropout, weight for weight."""
    p = 0.3
    x, Y = _data()
    Y = Y.double()
    model = _model(kg_dropout=p).double().train()
    plain = _model().double()
    plain.load_state_dict(model.state_dict())
    revealed = ~torch.isnan(Y) & (torch.rand(B, T, generator=torch.Generator().manual_seed(2)) < 0.5)
    kg = build_knowledge_graph(revealed, Y)
    task_ids = torch.arange(T)
    src, dst = (~torch.isnan(Y) & ~revealed).nonzero(as_tuple=True)
    z = model.embed(x.double()).detach().requires_grad_()
    torch.manual_seed(5)
    out = model.score_pairs(z, kg, task_ids, src, dst)
    torch.manual_seed(5)  # the same draws, in the same order (per layer: data, then task features)
    keep = [{ntype: torch.nn.functional.dropout(torch.ones(n, D, dtype=torch.float64), p)
             for ntype, n in (("data", B), ("task", T))} for _ in plain.convs]
    h = {"data": z, "task": plain.task_weight}
    ref = plain.predictors[0](h["data"], h["task"], src, dst)
    for conv, predictor, mask in zip(plain.convs, plain.predictors[1:], keep):
        h = conv(kg, {ntype: feats * mask[ntype] for ntype, feats in h.items()})
        ref = ref + predictor(h["data"], h["task"], src, dst)
    ref = ref + plain.task_bias[dst]
    assert all(((m == 0) | (m == 1 / (1 - p))).all() and (m == 0).any() for k in keep for m in k.values())
    torch.testing.assert_close(out, ref)
    params = [z, *model.convs.parameters()]
    for got, want in zip(torch.autograd.grad(out.square().sum(), params),
                         torch.autograd.grad(ref.square().sum(), [z, *plain.convs.parameters()])):
        torch.testing.assert_close(got, want)
    with torch.no_grad():
        without = plain.score_pairs(z, kg, task_ids, src, dst)
        assert torch.equal(model.eval().score_pairs(z, kg, task_ids, src, dst), without)
        assert not torch.allclose(out, without)


@pytest.mark.parametrize("new_tasks", [0, 2])
def test_deep_supervision_scores_each_pair_by_a_random_partial_sum_with_gradients(new_tasks):
    """``deep_supervision``: in training, pair q gets the sum of the first ``k_q + 1`` layers' scores
    (k_q uniform in 0..L, one draw per pair; 1..L for a new task's pair), i.e. the logit of the same
    model cut after layer k_q, in values and gradients; in evaluation the model is the one without
    the option."""
    x, Y = _data()
    L = 3
    model = _model(layers=L, deep_supervision=True).double().train()
    revealed = ~torch.isnan(Y) & (torch.rand(B, T, generator=torch.Generator().manual_seed(2)) < 0.5)
    kg = build_knowledge_graph(revealed, Y.double())
    task_ids = torch.arange(T).masked_fill(torch.arange(T) < new_tasks, -1)
    src, dst = (~torch.isnan(Y) & ~revealed).nonzero(as_tuple=True)
    z = model.embed(x.double()).detach().requires_grad_()
    torch.manual_seed(5)
    out = model.score_pairs(z, kg, task_ids, src, dst)
    torch.manual_seed(5)
    depth = torch.randint(0, L + 1, src.shape)
    new = task_ids[dst] < 0
    if new_tasks:
        depth = torch.where(new, torch.randint(1, L + 1, src.shape), depth)
        assert set(depth[new].tolist()) == set(range(1, L + 1))  # a new task's pair: every cut but 0
    assert set(depth[~new].tolist()) == set(range(L + 1))  # a seen task's pair: every cut
    w = torch.where((task_ids >= 0)[:, None], model.task_weight[task_ids.clamp(min=0)], 1.0)
    h = {"data": z, "task": w}
    scores = [model.predictors[0](h["data"], h["task"], src, dst)]
    for conv, predictor in zip(model.convs, model.predictors[1:]):
        h = conv(kg, h)
        scores.append(predictor(h["data"], h["task"], src, dst))
    bias = torch.where(task_ids >= 0, model.task_bias[task_ids.clamp(min=0)], 0.0)
    partial = torch.stack(scores).cumsum(0) + bias[dst]  # (L + 1, Q)
    ref = partial.gather(0, depth[None]).squeeze(0)
    torch.testing.assert_close(out, ref)
    params = [z, *model.convs.parameters(), *model.predictors.parameters(), model.task_weight, model.task_bias]
    for got, want in zip(torch.autograd.grad(out.square().sum(), params, allow_unused=True),
                         torch.autograd.grad(ref.square().sum(), params, allow_unused=True)):
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.score_pairs(z, kg, task_ids, src, dst), partial[L])
        convs, predictors = model.convs, model.predictors
        for k in range(L):  # partial sum k is the model cut after its k-th KG layer
            model.convs, model.predictors = convs[:k], predictors[:k + 1]
            torch.testing.assert_close(model.score_pairs(z, kg, task_ids, src, dst), partial[k])


def test_data_init_labels_without_kg_layers_is_labels_as_features():
    """With no KG layer the model scores h_i . w_j + b_j from h_i = ReLU(V [z_i | y_i | m_i]): the
    labels-as-features baseline with the same weights, pair for pair."""
    model = _model(layers=0, data_init="labels")
    laf = LabelsAsFeatures(model.encoder, T, D).eval()
    with torch.no_grad():
        model.task_bias.copy_(torch.randn(T))
        laf.mix.load_state_dict(model.label_mix.state_dict())
        laf.task_weight.copy_(model.task_weight)
        laf.task_bias.copy_(model.task_bias)
        x, Y = _data()
        masks = make_masks(Y, SETTINGS["relational"], targets=torch.ones(T, dtype=torch.bool),
                           aux=draw_aux(torch.ones(T, dtype=torch.bool), B, 0.5, torch.Generator().manual_seed(0)))
        z = model.embed(x)
        ours, r, t = forward_block(model, Block(z, Y, masks))
        theirs, r2, t2 = forward_block(laf, Block(z, Y, masks))
    assert torch.equal(r, r2) and torch.equal(t, t2)
    torch.testing.assert_close(ours, theirs)


def test_frozen_seen_tasks_make_a_prediction_independent_of_its_block():
    """With ``freeze_seen_tasks`` a data node hears only the fixed heads of seen tasks, so in the
    relational setting a molecule's logits are the same in a block of 12 rows and in one of its
    first 6; without it, task nodes average over the block's rows and the logits move. The
    data -> task relation then gets no gradient from seen tasks."""
    x, Y = _data()
    aux = draw_aux(torch.ones(T, dtype=torch.bool), B, 0.5, torch.Generator().manual_seed(0))
    everything = torch.ones(T, dtype=torch.bool)

    def logits(model, rows):
        masks = make_masks(Y[rows], SETTINGS["relational"], targets=everything, aux=aux[rows])
        out, r, t = forward_block(model, Block(model.embed(x[rows]), Y[rows], masks))
        return out, r, t

    half = slice(0, B // 2)
    for freeze, same in ((True, True), (False, False)):
        model = _model(freeze_seen_tasks=freeze)
        whole, r, _ = logits(model, slice(None))
        part, r_half, _ = logits(model, half)
        assert torch.allclose(whole[r < B // 2], part, atol=1e-6) == same
        assert torch.equal(r[r < B // 2], r_half)
    grads = torch.autograd.grad(whole.sum(), [*model.convs[0].mods["labels"].parameters()], allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)  # unfrozen: the task update is trained
    frozen = _model(freeze_seen_tasks=True)
    grads = torch.autograd.grad(logits(frozen, slice(None))[0].sum(), [*frozen.convs[0].mods["labels"].parameters()],
                                allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in grads)

