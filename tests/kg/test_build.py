import pytest
import torch

from metalink_dgl.kg import DATA, LABEL, LABELS, REV_LABELS, TASK, build_knowledge_graph

NAN = float("nan")


def test_edges_are_the_revealed_labels_in_both_directions():
    Y = torch.tensor([[1.0, 0.0, NAN], [NAN, 1.0, 0.0]])
    revealed = torch.tensor([[True, True, False], [False, False, True]])
    g = build_knowledge_graph(revealed, Y)
    src, dst = g.edges(etype=LABELS)
    assert sorted(zip(src.tolist(), dst.tolist())) == [(0, 0), (0, 1), (1, 2)]
    rsrc, rdst = g.edges(etype=REV_LABELS)
    assert sorted(zip(rdst.tolist(), rsrc.tolist())) == [(0, 0), (0, 1), (1, 2)]
    # labels encoded 2y-1 on both edge types, in edge order
    expected = (2 * Y[src, dst] - 1).unsqueeze(-1)
    assert torch.equal(g.edges[LABELS[1]].data[LABEL], expected)
    assert torch.equal(g.edges[REV_LABELS[1]].data[LABEL], expected)
    assert set(g.edges[LABELS[1]].data[LABEL].flatten().tolist()) == {-1.0, 1.0}


def test_zero_revealed_labels_is_still_a_graph():
    Y = torch.full((4, 3), NAN)
    g = build_knowledge_graph(torch.zeros(4, 3, dtype=torch.bool), Y)
    assert g.num_nodes(DATA) == 4 and g.num_nodes(TASK) == 3
    assert g.num_edges(LABELS) == 0 and g.num_edges(REV_LABELS) == 0
    assert g.edges[LABELS[1]].data[LABEL].shape == (0, 1)


def test_revealing_an_unknown_label_is_refused():
    Y = torch.tensor([[NAN, 1.0]])
    with pytest.raises(ValueError, match="NaN"):
        build_knowledge_graph(torch.tensor([[True, True]]), Y)
