import pytest
import torch

from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import SETTINGS, draw_aux, draw_episode, get_setting, make_masks, split_tasks, training_masks
from metalink_dgl.kg.masks import Masks, keep_informed, support_first

N, T = 200, 20


def _labels(seed=0):
    g = torch.Generator().manual_seed(seed)
    Y = (torch.rand(N, T, generator=g) < 0.3).float()
    Y[torch.rand(N, T, generator=g) < 0.3] = float("nan")
    return Y


def _train_masks(setting, seed=0, seen=None, episode_heads=False):
    Y = _labels()
    seen = torch.ones(T, dtype=torch.bool) if seen is None else seen
    return Y, training_masks(Y, SETTINGS[setting], seen, aux_ratio=0.2, heldout_ratio=0.2, support_ratio=0.5,
                             generator=torch.Generator().manual_seed(seed), episode_heads=episode_heads)


@pytest.mark.parametrize(("setting", "episode_heads"),
                         [(s, False) for s in SETTINGS] + [("meta", True), ("relational-meta", True)])
def test_revealed_and_queried_are_disjoint_observed_and_seeded(setting, episode_heads):
    held = split_tasks(T, 0.2, seed=0) if SETTINGS[setting].meta else torch.zeros(T, dtype=torch.bool)
    Y, m = _train_masks(setting, seen=~held, episode_heads=episode_heads)
    observed = ~torch.isnan(Y)
    assert not (m.revealed & m.queried).any()
    assert not (m.revealed & ~observed).any() and not (m.queried & ~observed).any()
    assert m.queried.any()
    # held-out tasks never appear in a training graph, neither revealed nor queried
    assert not m.revealed[:, held].any() and not m.queried[:, held].any()
    _, again = _train_masks(setting, seen=~held, episode_heads=episode_heads)
    _, other = _train_masks(setting, seed=1, seen=~held, episode_heads=episode_heads)
    assert torch.equal(m.revealed, again.revealed) and torch.equal(m.queried, again.queried)
    if setting != "standard":
        assert not torch.equal(m.revealed, other.revealed)


def test_standard_queries_every_observed_label_and_reveals_none():
    Y, m = _train_masks("standard")
    assert not m.revealed.any() and torch.equal(m.queried, ~torch.isnan(Y)) and not m.new_tasks.any()


def test_relational_reveals_the_aux_ratio_of_tasks():
    Y, m = _train_masks("relational")
    observed = ~torch.isnan(Y)
    assert torch.equal(m.revealed | m.queried, observed)
    frac = m.revealed.sum() / observed.sum()
    assert 0.15 < float(frac) < 0.25


def test_meta_support_reveals_and_query_predicts_new_tasks():
    held = split_tasks(T, 0.2, seed=0)
    Y, m = _train_masks("meta", seen=~held)
    support = m.revealed.any(1)
    assert not (m.queried[support]).any()  # support rows are never scored
    assert torch.equal(m.new_tasks, ~held)  # Alg. 3: every seen task is treated as new
    _, rm = _train_masks("relational-meta", seen=~held)
    assert 1 <= int(rm.new_tasks.sum()) < int((~held).sum())
    # query rows reveal only auxiliary (non-target) tasks
    query = ~(rm.revealed[:, rm.new_tasks].any(1))
    assert not rm.revealed[query][:, rm.new_tasks].any()


def test_keep_informed_drops_only_new_tasks_whose_support_shows_one_value():
    nan = float("nan")
    # columns: 0 pos+neg, 1 only negatives, 2 nothing shown, 3 two regression values, 4 one repeated value,
    # 5 a seen task (not new) with one value; row 0-1 support, rows 2-3 query
    Y = torch.tensor([[1.0, 0.0, nan, 0.3, 0.7, 1.0],
                      [0.0, 0.0, nan, 1.2, 0.7, 1.0],
                      [1.0, 1.0, 0.0, 0.5, 0.1, 0.0],
                      [0.0, 1.0, 1.0, 0.9, 0.2, 1.0]])
    support = torch.tensor([True, True, False, False])
    new = torch.tensor([True, True, True, True, True, False])
    revealed = support[:, None] & ~Y.isnan() & new[None, :]
    queried = ~support[:, None] & ~Y.isnan()
    m = keep_informed(Y, Masks(revealed, queried, new))
    assert m.queried.any(0).tolist() == [True, False, False, True, False, True]
    assert torch.equal(m.queried, queried & m.queried.any(0)[None, :])  # whole columns go, nothing else
    assert m.revealed is revealed and m.new_tasks is new


@pytest.mark.parametrize("setting", ["meta", "relational-meta"])
def test_keep_informed_on_a_training_episode_of_sparse_labels(setting):
    held = split_tasks(T, 0.2, seed=0)
    g = torch.Generator().manual_seed(3)
    Y = (torch.rand(N, T, generator=g) < 0.03).float()  # rare positives, as in ToxCast
    Y[torch.rand(N, T, generator=g) < 0.5] = float("nan")
    m = training_masks(Y[:40], SETTINGS[setting], ~held, aux_ratio=0.2, heldout_ratio=0.2, support_ratio=0.5,
                       generator=torch.Generator().manual_seed(0))
    kept = keep_informed(Y[:40], m)
    positives = ((Y[:40] == 1) & m.revealed).any(0)
    negatives = ((Y[:40] == 0) & m.revealed).any(0)
    informed = positives & negatives
    assert torch.equal(kept.queried[:, m.new_tasks], m.queried[:, m.new_tasks] & informed[m.new_tasks])
    assert torch.equal(kept.queried[:, ~m.new_tasks], m.queried[:, ~m.new_tasks])
    assert kept.queried.any() and (m.queried & ~kept.queried).any()  # some tasks kept, some dropped


@pytest.mark.parametrize("setting", ["meta", "relational-meta"])
def test_episode_heads_query_the_other_seen_tasks_through_their_heads(setting):
    held = split_tasks(T, 0.2, seed=0)
    Y, m = _train_masks(setting, seen=~held, episode_heads=True)
    observed = ~torch.isnan(Y)
    new = m.new_tasks
    assert 1 <= int(new.sum()) < int((~held).sum()) and not new[held].any()
    heads = ~held & ~new
    # every observed label of a head task is queried unless revealed (an auxiliary label)
    assert torch.equal(m.queried[:, heads], observed[:, heads] & ~m.revealed[:, heads])
    assert m.queried[:, heads].any() and (not SETTINGS[setting].relational or m.revealed[:, heads].any())
    # new tasks: revealed on support rows, queried on the others, exactly as without heads
    support = m.revealed[:, new].any(1)
    assert not m.queried[support][:, new].any()


def test_draw_aux_draws_exactly_k_candidates_per_row():
    cand = torch.zeros(T, dtype=torch.bool)
    cand[:10] = True
    aux = draw_aux(cand, 50, 0.3, torch.Generator().manual_seed(0))
    assert (aux.sum(1) == 3).all() and not aux[:, 10:].any()
    assert not draw_aux(cand, 5, 0.0, torch.Generator()).any()


def test_standard_and_relational_test_draws_score_the_same_pairs():
    Y = _labels()
    aux = draw_aux(torch.ones(T, dtype=torch.bool), N, 0.2, torch.Generator().manual_seed(3))
    everything = torch.ones(T, dtype=torch.bool)
    std = make_masks(Y, SETTINGS["standard"], targets=everything, aux=aux)
    rel = make_masks(Y, SETTINGS["relational"], targets=everything, aux=aux)
    assert torch.equal(std.queried, rel.queried) and not std.revealed.any() and rel.revealed.any()


def test_split_tasks_and_bad_names():
    held = split_tasks(12, 0.2, seed=0)
    assert int(held.sum()) == 2 and torch.equal(held, split_tasks(12, 0.2, seed=0))
    with pytest.raises(MetaLinkError, match="heldout"):
        split_tasks(12, 1.0, seed=0)
    with pytest.raises(MetaLinkError, match="standard, relational, meta, relational-meta"):
        get_setting("semi")


def test_heldout_last_is_the_last_columns_for_every_seed():
    for seed in (0, 1, 2):
        held = split_tasks(27, 0.2, seed, "last")
        assert held.nonzero().flatten().tolist() == list(range(22, 27))
    assert not torch.equal(split_tasks(27, 0.2, 0), split_tasks(27, 0.2, 1))  # random differs by seed
    with pytest.raises(MetaLinkError, match="--heldout-tasks 'first'"):
        split_tasks(27, 0.2, 0, "first")


@pytest.mark.parametrize("setting", ["meta", "relational-meta"])
def test_support_from_outside_the_minibatch_comes_first_and_every_minibatch_row_is_a_query(setting):
    held = split_tasks(T, 0.2, seed=0)
    s = SETTINGS[setting]
    Y = _labels()
    episode = draw_episode(N, s, ~held, aux_ratio=0.2, heldout_ratio=0.2, support_ratio=None,
                           generator=torch.Generator().manual_seed(0))
    assert episode.support is None
    support_Y = _labels(seed=1)[:30]
    support_Y[:, ~episode.targets] = float("nan")  # a support row shows only its target labels
    m = episode.masks(torch.cat([support_Y, Y]), s, n_support=30)
    assert m.revealed.shape == (30 + N, T)
    # the support rows reveal every label they show and are never scored
    assert torch.equal(m.revealed[:30], ~torch.isnan(support_Y)) and not m.queried[:30].any()
    # every minibatch row is a query row: its target labels are queried, never revealed
    targets = episode.targets
    assert not m.revealed[30:][:, targets].any()
    assert torch.equal(m.queried[30:][:, targets], ~torch.isnan(Y[:, targets]) & ~episode.aux[:, targets])
    assert not m.revealed[:, held].any() and not m.queried[:, held].any()
    assert torch.equal(m.new_tasks, targets) and s.relational == bool(m.revealed[30:].any())
    in_batch = draw_episode(N, s, ~held, aux_ratio=0.2, heldout_ratio=0.2, support_ratio=0.5,
                            generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="support_ratio=None"):
        in_batch.masks(torch.cat([support_Y, Y]), s, n_support=30)


def test_support_first_places_support_rows_before_the_pairs_of_the_others():
    pairs = torch.rand(4, 3) < 0.5
    support, padded = support_first(2, pairs)
    assert support.tolist() == [True, True, False, False, False, False]
    assert padded.dtype == torch.bool and padded.shape == (6, 3)
    assert not padded[:2].any() and torch.equal(padded[2:], pairs)
    support, padded = support_first(0, pairs)
    assert not support.any() and torch.equal(padded, pairs)
