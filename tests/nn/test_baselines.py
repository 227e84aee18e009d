import pytest
import torch
from torch import nn

from metalink_dgl.engine import Block, TrainConfig, forward_block
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import SETTINGS, build_knowledge_graph, draw_aux, make_masks, revealed_matrix
from metalink_dgl.nn import BaselinePlusPlus, LabelsAsFeatures

B, T, D, F_IN = 16, 6, 8, 10
NAN = float("nan")


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, F_IN, generator=g)
    Y = (torch.rand(B, T, generator=g) < 0.4).float()
    Y[torch.rand(B, T, generator=g) < 0.2] = NAN
    return x, Y


def test_revealed_matrix_is_the_encoded_labels_where_revealed():
    Y = torch.tensor([[1.0, 0.0, NAN], [NAN, 1.0, 0.0]])
    revealed = torch.tensor([[True, True, False], [False, False, True]])
    labels, mask = revealed_matrix(build_knowledge_graph(revealed, Y))
    assert labels.tolist() == [[1.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
    assert mask.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_labels_as_features_reads_revealed_labels_only():
    torch.manual_seed(0)
    model = LabelsAsFeatures(nn.Linear(F_IN, D), T, D).eval()
    x, Y = _data()
    gen = torch.Generator().manual_seed(1)
    masks = make_masks(Y, SETTINGS["relational"], targets=torch.ones(T, dtype=torch.bool),
                       aux=draw_aux(torch.ones(T, dtype=torch.bool), B, 0.4, gen))
    with torch.no_grad():
        z = model.embed(x)
        base, r, t = forward_block(model, Block(z, Y, masks))
        flipped_queried = Y.clone()
        flipped_queried[masks.queried] = 1 - Y[masks.queried]
        torch.testing.assert_close(forward_block(model, Block(z, flipped_queried, masks))[0], base, rtol=0, atol=0)
        flipped_revealed = Y.clone()
        flipped_revealed[masks.revealed] = 1 - Y[masks.revealed]
        assert not torch.allclose(forward_block(model, Block(z, flipped_revealed, masks))[0], base)
        with pytest.raises(MetaLinkError, match="no head for new tasks"):
            model.score_pairs(z, build_knowledge_graph(masks.revealed, Y), torch.full((T,), -1), r, t)


def test_baseline_plus_plus_fits_new_heads_on_the_support_labels():
    """A new task whose label is the sign of one embedding coordinate is learned from its support rows."""
    torch.manual_seed(0)
    model = BaselinePlusPlus(nn.Identity(), n_tasks=T, hidden=D).eval()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(40, D, generator=g)
    x[:, 3] = torch.where(x[:, 3] > 0, 2.0, -2.0) + 0.5 * x[:, 3]  # separable with a margin along axis 3
    Y = torch.full((40, T), NAN)
    Y[:, 0] = (x[:, 3] > 0).float()  # the new task
    Y[:, 1] = (torch.rand(40, generator=g) < 0.5).float()  # a seen task with noise labels
    support = torch.arange(40) < 30
    targets = torch.zeros(T, dtype=torch.bool)
    targets[0] = True
    masks = make_masks(Y, SETTINGS["meta"], targets=targets, aux=torch.zeros(40, T, dtype=torch.bool),
                       support=support)
    with torch.no_grad():
        logits, r, t = forward_block(model, Block(model.embed(x), Y, masks))
    assert (t == 0).all() and (r >= 30).all()
    truth = Y[r, t]
    assert logits[truth == 1].min() > logits[truth == 0].max()  # the 10 query rows are ranked perfectly
    assert model.training_setting(SETTINGS["relational-meta"]) is SETTINGS["standard"]

    # Evaluation blocks share the support: the fit is reused for other query rows, redone when a
    # support label changes, and equal to a fit from scratch.
    fits = []
    fit = model.fit_new_heads
    model.fit_new_heads = lambda *a: fits.append(1) or fit(*a)
    keep = torch.cat([torch.arange(30), torch.arange(30, 40, 2)])  # the support and half of the query rows
    with torch.no_grad():
        part, r2, _ = forward_block(model, Block(model.embed(x[keep]), Y[keep], _subset(masks, keep)))
        assert fits == [] and torch.equal(part, logits[torch.isin(r, keep)])
        Y[0, 0] = 1 - Y[0, 0]
        forward_block(model, Block(model.embed(x), Y, masks))
        assert fits == [1]
        model._last_fit = None
        Y[0, 0] = 1 - Y[0, 0]
        again, _, _ = forward_block(model, Block(model.embed(x), Y, masks))
    assert torch.equal(again, logits)


def _subset(masks, rows):
    return type(masks)(masks.revealed[rows], masks.queried[rows], masks.new_tasks)


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(model="labels-as-features", layers=2), "no knowledge-graph layers: pass --layers 0"),
        (dict(model="labels-as-features", layers=0, setting="meta"), "cannot run --setting meta"),
        (dict(model="metalink", layers=0, setting="relational-meta"), "needs --layers >= 1"),
        (dict(model="gbdt", layers=0), "--model 'gbdt' is not one of"),
        (dict(new_task_init="zeros", setting="meta"), "--new-task-init 'zeros' is not one of"),
        (dict(message="mul"), "--message 'mul' is not one of"),
        (dict(episode_heads=True, setting="relational"), "--episode-heads changes MetaLink's training episodes"),
        (dict(episode_query="informed", setting="relational"), "--episode-query changes MetaLink's training"),
        (dict(episode_query="some", setting="meta"), "--episode-query 'some' is not one of"),
        (dict(model="labels-as-features", layers=0, data_init="labels"), "--data-init labels is an option of MetaLink"),
        (dict(data_init="smiles"), "--data-init 'smiles' is not one of"),
        (dict(freeze_seen_tasks=True, layers=0), "--freeze-seen-tasks changes MetaLink's KG layers"),
        (dict(kg_dropout=0.2, layers=0), "--kg-dropout regularises MetaLink's KG layers"),
        (dict(kg_dropout=1.0), "--kg-dropout 1.0 must be in"),
        (dict(deep_supervision=True, layers=0), "--deep-supervision trains MetaLink's partial sums"),
        (dict(aux_tasks="all", setting="relational"), "--aux-tasks all draws auxiliary pairs among held-out tasks"),
    ],
)
def test_config_rejects_baselines_where_they_do_not_apply(kw, message):
    with pytest.raises(MetaLinkError, match=message):
        TrainConfig(**kw).validate()
    TrainConfig(model="baseline++", layers=0, setting="meta").validate()
    TrainConfig(layers=0, setting="meta", new_task_init="prototype").validate()  # a prototype is a head
