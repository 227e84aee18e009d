"""The four settings of the paper (section 2) as one mechanism: which labels are revealed.

A setting never changes the model or the loss. It only decides, for a block of examples
(rows, ``B``) and tasks (columns, ``T``), three masks:

* ``revealed`` (B, T): labels given to the model as ``labels`` edges of the knowledge graph;
* ``queried``  (B, T): labels the model predicts and is scored on;
* ``new_tasks`` (T,): task nodes that start from a constant ones vector instead of a
  learned head ``w_j`` (tasks the model is to treat as never seen).

They are built from three ingredients, all boolean:

* ``targets`` (T,): the tasks of interest (all seen tasks; in meta settings the held-out
  tasks at test time and a sample of seen tasks in a training episode);
* ``support`` (B,): rows that show their labels on the target tasks (meta settings only);
* ``aux`` (B, T): per query row, a random ``aux_ratio`` of the auxiliary tasks. These
  pairs are never queried; in relational settings they are revealed.

so that::

    revealed = observed & (support x targets  |  relational & query x aux)
    queried  = observed & (query x targets) & ~aux
    new      = meta & targets

In training, :func:`draw_episode` draws these ingredients for a minibatch; its support rows may
instead come from outside the minibatch (``--episode-shots``), placed before its rows, which are
then all query rows (:meth:`Episode.masks`).

A fourth, optional ingredient is for meta training only: ``heads`` (T,), seen tasks that keep
their learned head and are queried on every row that does not reveal them
(``queried |= observed & heads & ~revealed``; ``--episode-heads``). Also for meta training only,
:func:`keep_informed` stops querying the new tasks whose support shows a single label value
(``--episode-query informed``).

Standard and relational share the same ``aux`` draw at test time, so they are scored on the
same pairs (as in the paper); so do meta and relational-meta.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .settings import Setting


@dataclass
class Masks:
    """The masks of one block of rows; see the module docstring.

    Attributes
    ----------
    revealed : BoolTensor, (B, T)
    queried : BoolTensor, (B, T)
    new_tasks : BoolTensor, (T,)
    """

    revealed: torch.Tensor
    queried: torch.Tensor
    new_tasks: torch.Tensor


def make_masks(
    Y: torch.Tensor,
    setting: Setting,
    *,
    targets: torch.Tensor,
    aux: torch.Tensor,
    support: torch.Tensor | None = None,
    heads: torch.Tensor | None = None,
    queried: torch.Tensor | None = None,
) -> Masks:
    """Combine targets, support rows and the auxiliary draw into the masks of one block.

    Parameters
    ----------
    Y : Tensor, (B, T)
        Labels of the block, NaN where unknown.
    setting : Setting
    targets : BoolTensor, (T,)
    aux : BoolTensor, (B, T)
    support : BoolTensor, (B,), optional
        Support rows (meta settings); default none.
    heads : BoolTensor, (T,), optional
        Tasks queried through their learned head wherever not revealed (meta training with
        ``--episode-heads``); must not overlap ``targets``. Default none.
    queried : BoolTensor, (B, T), optional
        The pairs to predict instead of the setting's queried pairs, labelled or not (predict
        fills in unknown cells; diagnostics score every held-out pair). The revealed pairs are
        unchanged; a pair both revealed and queried is an error, since its label would reach
        its own prediction.
    """
    observed = ~torch.isnan(Y)
    if support is None:
        support = torch.zeros(Y.shape[0], dtype=torch.bool, device=Y.device)
    query = ~support[:, None]
    shown = support[:, None] & targets[None, :]
    if setting.relational:
        shown = shown | (query & aux)
    asked = query & targets[None, :] & ~aux
    if heads is not None:
        asked = asked | (heads[None, :] & ~shown)
    revealed = observed & shown
    if queried is None:
        queried = observed & asked
    elif bool((queried & revealed).any()):
        raise ValueError("a queried pair is also revealed: its label would be an edge of the graph that predicts it")
    return Masks(revealed=revealed, queried=queried, new_tasks=targets & setting.meta)


@dataclass
class Episode:
    """The random choices of one training minibatch of B rows (a simulated episode in the meta settings).

    Attributes
    ----------
    targets : BoolTensor, (T,)
        Tasks of interest: all seen tasks, or in relational-meta (and with ``episode_heads``) a
        random ``heldout_ratio`` of them; new (ones-initialised) tasks in the meta settings.
    support : BoolTensor, (B,) or None
        Rows of the minibatch that show their target labels (meta settings, unless the
        support rows come from outside the minibatch: :meth:`masks`).
    heads : BoolTensor, (T,) or None
        Seen tasks that keep their learned heads (``episode_heads``).
    aux : BoolTensor, (B, T)
        Auxiliary pairs of the rows (relational settings; revealed on query rows).
    """

    targets: torch.Tensor
    support: torch.Tensor | None
    heads: torch.Tensor | None
    aux: torch.Tensor

    def masks(self, Y: torch.Tensor, setting: Setting, n_support: int = 0) -> Masks:
        """The masks of the minibatch's labels ``Y`` (B, T).

        With ``n_support`` S, ``Y`` (S + B, T) is S support rows from outside the minibatch (NaN
        where a label is not shown) followed by the B minibatch rows, every one a query row.
        """
        device = Y.device
        support, aux = self.support, self.aux
        if n_support:
            if support is not None:
                raise ValueError("support rows from outside the minibatch need an episode with support_ratio=None")
            support, aux = support_first(n_support, aux)
        return make_masks(Y, setting, targets=self.targets.to(device), aux=aux.to(device),
                          support=None if support is None else support.to(device),
                          heads=None if self.heads is None else self.heads.to(device))


def keep_informed(Y: torch.Tensor, masks: Masks) -> Masks:
    """Stop querying the new tasks whose revealed labels show fewer than two distinct values.

    A new task's revealed labels are its support. A support of only negatives (or a single
    regression value) cannot tell the task from any other, so a training episode that queries it
    rewards ignoring the support; :func:`draw_episode` leaves such tasks queried (the paper's
    episodes), this drops them (``--episode-query informed``). Only ``queried`` changes.

    Parameters
    ----------
    Y : FloatTensor, (B, T)
        The labels the masks were made from, NaN where not observed.
    masks : Masks

    Returns
    -------
    Masks
        ``queried`` without the columns of new tasks whose support shows one value or none.
    """
    shown = torch.where(masks.revealed, Y, torch.nan)
    told = shown.nan_to_num(torch.inf).amin(0) < shown.nan_to_num(-torch.inf).amax(0)
    uninformed = masks.new_tasks & ~told
    return Masks(masks.revealed, masks.queried & ~uninformed[None, :], masks.new_tasks)


def support_first(n_support: int, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Place S support rows before the B rows of ``pairs`` (B, T), a pair mask of the B rows.

    Returns the support mask (S + B,), True on the first S rows, and ``pairs`` (S + B, T) with
    S all-False rows first (a support row takes part only through the labels it shows).
    """
    support = torch.arange(n_support + len(pairs)) < n_support
    return support, torch.cat([pairs.new_zeros(n_support, pairs.shape[1]), pairs])


def draw_episode(
    n_rows: int,
    setting: Setting,
    seen: torch.Tensor,
    *,
    aux_ratio: float,
    heldout_ratio: float,
    support_ratio: float | None,
    generator: torch.Generator,
    episode_heads: bool = False,
) -> Episode:
    """Draw the targets, support rows and auxiliary pairs of one training minibatch of ``n_rows`` rows.

    Only seen tasks ever take part, so held-out labels cannot reach a training graph.

    * standard: every seen task is a target, nothing is revealed;
    * relational: each row reveals a fresh random ``aux_ratio`` of the tasks (paper Alg. 2);
    * meta: a random ``support_ratio`` of the rows is support; every seen task is a new
      (ones-initialised) target, revealed on support rows and queried on the others (Alg. 3);
    * relational-meta: as meta, but only a random ``heldout_ratio`` of the seen tasks are
      targets; query rows reveal a random ``aux_ratio`` of the remaining seen tasks (Alg. 1).

    With ``support_ratio=None`` (meta settings) no row of the minibatch is support: the support
    rows come from elsewhere (:meth:`Episode.masks`, ``--episode-shots``).

    With ``episode_heads`` (meta settings), meta also makes only a random ``heldout_ratio`` of
    the seen tasks targets, and in both meta settings the other seen tasks keep their learned
    heads and are queried on every row that does not reveal them: the episode loss plus a
    standard multi-task loss, which trains the encoder and the heads as in the standard setting.

    Parameters
    ----------
    seen : BoolTensor, (T,)
    """
    targets = seen.clone()
    support = heads = None
    if setting.meta:
        if support_ratio is not None:
            support = torch.rand(n_rows, generator=generator) < support_ratio
        if setting.relational or episode_heads:
            targets = seen & (_random_subset(seen, heldout_ratio, generator))
        if episode_heads:
            heads = seen & ~targets
    aux = (draw_aux(seen & ~(targets & setting.meta), n_rows, aux_ratio, generator) if setting.relational
           else torch.zeros(n_rows, len(seen), dtype=torch.bool))
    return Episode(targets, support, heads, aux)


def training_masks(Y: torch.Tensor, setting: Setting, seen: torch.Tensor, **episode) -> Masks:
    """Masks of one training minibatch ``Y`` (B, T): :func:`draw_episode`'s choices
    (keyword arguments as there) applied to its labels."""
    return draw_episode(Y.shape[0], setting, seen, **episode).masks(Y, setting)


def _random_subset(pool: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """A random ``max(1, round(ratio * |pool|))`` subset of the True entries of ``pool``, (T,) bool."""
    idx = pool.nonzero().flatten()
    k = max(1, int(round(ratio * len(idx))))
    chosen = idx[torch.randperm(len(idx), generator=generator)[:k]]
    out = torch.zeros_like(pool)
    out[chosen] = True
    return out


def draw_aux(candidates: torch.Tensor, n_rows: int, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Per row, an independent random ``round(ratio * #candidates)`` subset of the candidate tasks.

    Parameters
    ----------
    candidates : BoolTensor, (T,)
        Tasks that may be drawn.
    n_rows : int
    ratio : float in [0, 1)
    generator : torch.Generator (CPU), for reproducibility

    Returns
    -------
    BoolTensor, (n_rows, T)
    """
    T = candidates.shape[0]
    k = int(round(ratio * int(candidates.sum())))
    out = torch.zeros(n_rows, T, dtype=torch.bool)
    if k == 0 or n_rows == 0:
        return out
    scores = torch.rand(n_rows, T, generator=generator)
    scores[:, ~candidates.cpu()] = 2.0  # never among the k smallest
    chosen = scores.topk(k, dim=1, largest=False).indices
    out.scatter_(1, chosen, True)
    return out


def draw_known(observed: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Per row, an independent random ``round(ratio * #observed in the row)`` subset of its observed entries.

    Parameters
    ----------
    observed : BoolTensor, (B, T)
    ratio : float in [0, 1)
    generator : torch.Generator (CPU), for reproducibility

    Returns
    -------
    BoolTensor, (B, T), within ``observed``
    """
    k = torch.round(ratio * observed.sum(dim=1))
    scores = torch.rand(observed.shape, generator=generator)
    scores[~observed.cpu()] = 2.0  # after every observed entry
    rank = scores.argsort(dim=1).argsort(dim=1)
    return (rank < k[:, None].cpu()).to(observed.device) & observed
