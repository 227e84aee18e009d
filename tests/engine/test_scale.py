"""Scale (not timed): a 10,000-task knowledge graph builds and a MetaLink step trains on it.

B=256 examples, 20% of the labels observed, relational training masks (aux_ratio 0.2), as in
``benchmarks/bench_kg_scale.py`` at its largest size, with a small model (hidden 32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from metalink_dgl.engine import Block, forward_block
from metalink_dgl.kg import DATA, LABEL, LABELS, REV_LABELS, TASK, build_knowledge_graph, get_setting, training_masks
from metalink_dgl.nn import MetaLink

B, T, HIDDEN, IN_FEATS = 256, 10_000, 32, 16
DENSITY, AUX_RATIO = 0.2, 0.2


def _block(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    observed = torch.rand(B, T, generator=gen) < DENSITY
    Y = torch.where(observed, (torch.rand(B, T, generator=gen) < 0.5).float(), torch.tensor(float("nan")))
    masks = training_masks(Y, get_setting("relational"), torch.ones(T, dtype=torch.bool), aux_ratio=AUX_RATIO,
                           heldout_ratio=0.2, support_ratio=0.5, generator=gen)
    return Y, masks


def test_10000_task_graph_has_one_edge_per_revealed_label():
    Y, masks = _block()
    kg = build_knowledge_graph(masks.revealed, Y)
    revealed = int(masks.revealed.sum())
    expected = DENSITY * AUX_RATIO * B * T  # ~102,400
    assert 0.95 * expected < revealed < 1.05 * expected
    assert kg.num_nodes(DATA) == B and kg.num_nodes(TASK) == T
    assert kg.num_edges(LABELS[1]) == kg.num_edges(REV_LABELS[1]) == revealed
    src, dst = kg.edges(etype=LABELS[1])
    assert masks.revealed[src, dst].all()
    assert torch.equal(kg.edges[LABELS[1]].data[LABEL].squeeze(-1), 2 * Y[src, dst] - 1)
    assert not (masks.revealed & masks.queried).any()


def test_10000_task_metalink_step_trains():
    Y, masks = _block()
    torch.manual_seed(0)
    model = MetaLink(nn.Linear(IN_FEATS, HIDDEN), T, HIDDEN, layers=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(B, IN_FEATS)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    model.train()
    logits, rows, tasks = forward_block(model, Block(model.embed(x), Y, masks))
    assert logits.shape == (int(masks.queried.sum()),)
    loss = F.binary_cross_entropy_with_logits(logits, Y[rows, tasks])
    assert torch.isfinite(loss)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()

    grad = model.task_weight.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert (grad.abs().sum(dim=1) > 0).all()  # every task is queried, so every head gets a gradient
    assert model.task_bias.grad is not None and (model.task_bias.grad != 0).all()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"no gradient reaches {name}"

    optimizer.step()
    assert not torch.equal(model.task_weight.detach(), before["task_weight"])
    assert not torch.equal(model.encoder.weight.detach(), before["encoder.weight"])
