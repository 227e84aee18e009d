"""Baselines the paper compares MetaLink with, behind the same ``embed`` / ``score_pairs`` interface.

Both read the same knowledge graph as :class:`~metalink_dgl.nn.MetaLink`, so they train and
are scored by the same loop on the same revealed/queried pairs; only what they do with the
revealed labels differs:

* :class:`LabelsAsFeatures`: the naive relational model the paper argues against. The
  revealed labels of an example and their mask are appended to its embedding.
* :class:`BaselinePlusPlus`: Baseline++ (Chen et al., ICLR 2019) for the meta settings. A
  cosine multi-head classifier trained on the seen tasks; the head of a new task is fitted
  on the support examples' labels at test time, with the encoder frozen.
"""

from __future__ import annotations

import dgl
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MetaLinkError
from ..kg.build import revealed_matrix
from ..kg.settings import SETTINGS, Setting
from .heads import TaskHeadModel, mix_revealed_labels
from .prototypes import label_mean_difference


class LabelsAsFeatures(TaskHeadModel):
    r"""Revealed labels as input features: :math:`w_j^\top \mathrm{ReLU}(V [z_i \| y_i \| m_i]) + b_j`.

    ``y_i`` (T,) holds example i's revealed labels (+1/-1 for a binary task, the standardised value
    for a continuous one, 0 if not revealed) and ``m_i``
    (T,) their mask. A new task has no column in the input and no head, so this model only
    runs in the standard and relational settings.

    Parameters
    ----------
    encoder : nn.Module
        Batched input -> (B, D).
    n_tasks : int
        ``T``, also the number of label input columns.
    hidden : int
        ``D``.
    """

    def __init__(self, encoder: nn.Module, n_tasks: int, hidden: int):
        super().__init__(encoder, n_tasks, hidden)
        self.mix = nn.Linear(hidden + 2 * n_tasks, hidden)  # V
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier weights, zero biases (not the encoder)."""
        nn.init.xavier_uniform_(self.mix.weight, gain=nn.init.calculate_gain("relu"))
        nn.init.zeros_(self.mix.bias)
        self.reset_heads()

    def score_pairs(self, z: torch.Tensor, kg: dgl.DGLGraph, task_ids: torch.Tensor, src: torch.Tensor,
                    dst: torch.Tensor) -> torch.Tensor:
        """Logits (Q,) of the queried pairs; ``task_ids`` must list every task, in order."""
        if (task_ids < 0).any():
            raise MetaLinkError("model labels-as-features has no head for new tasks: "
                                "use it in the standard or relational setting")
        h = mix_revealed_labels(self.mix, z, kg, task_ids, self.n_tasks)
        scores = h @ self.task_weight[task_ids].T + self.task_bias[task_ids]
        return scores[src, dst]

    def training_setting(self, setting: Setting) -> Setting:
        """Trained on the masks of the setting it is scored in."""
        return setting


class BaselinePlusPlus(TaskHeadModel):
    r"""Baseline++ (Chen et al., 2019): :math:`\mathrm{logit}_{ij} = s \cos(w_j, z_i) + b_j`.

    Trained as a multi-task classifier on the seen tasks (no episodes). For a new task
    (``task_ids == -1``), ``w_j`` and ``b_j`` are fitted on that task's revealed labels in
    the knowledge graph (the support examples in the meta settings) by ``fit_steps`` full-batch
    Adam steps on the BCE, from the difference of the positive and negative support means;
    the encoder, the scale and the seen heads are frozen meanwhile. Revealed labels of seen
    tasks are ignored. The fit depends only on the support rows (those with a revealed label on
    a new task), so in evaluation the last fit is reused while their embeddings, labels and the
    scale are unchanged (every query block of an evaluation shares one support set).

    Parameters
    ----------
    encoder : nn.Module
        Batched input -> (B, D).
    n_tasks : int
        Number of seen-task heads ``T``.
    hidden : int
        ``D``.
    scale : float
        Initial value of the learned cosine scale ``s``.
    fit_steps : int
        Adam steps for the heads of new tasks.
    fit_lr : float
        Their learning rate.
    """

    def __init__(self, encoder: nn.Module, n_tasks: int, hidden: int, scale: float = 10.0, fit_steps: int = 100,
                 fit_lr: float = 0.01):
        super().__init__(encoder, n_tasks, hidden)
        self.fit_steps, self.fit_lr, self.initial_scale = fit_steps, fit_lr, scale
        self.scale = nn.Parameter(torch.empty(()))
        self._last_fit: tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, torch.Tensor]] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier heads, zero biases, the initial scale (not the encoder)."""
        self.reset_heads()
        nn.init.constant_(self.scale, self.initial_scale)

    def score_pairs(self, z: torch.Tensor, kg: dgl.DGLGraph, task_ids: torch.Tensor, src: torch.Tensor,
                    dst: torch.Tensor) -> torch.Tensor:
        """Logits (Q,) of the queried pairs; heads of new tasks are fitted on their revealed labels first."""
        new = task_ids < 0
        weight = self.task_weight[task_ids.clamp(min=0)]
        bias = self.task_bias[task_ids.clamp(min=0)]
        if new.any():
            labels, mask = revealed_matrix(kg)
            w_new, b_new = self._new_heads(z.detach(), labels[:, new], mask[:, new])
            weight = weight.masked_scatter(new[:, None], w_new)
            bias = bias.masked_scatter(new, b_new)
        scores = self.scale * z @ F.normalize(weight, dim=-1).T + bias
        return scores[src, dst]

    def _new_heads(self, z: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor,
                                                                                            torch.Tensor]:
        """:meth:`fit_new_heads` on the support rows, or the last fit if its inputs are unchanged (evaluation)."""
        support = mask.any(dim=1)
        key = (z[support], labels[support], mask[support], self.scale.detach().clone())
        last = self._last_fit
        if not self.training and last is not None and all(
                a.shape == b.shape and torch.equal(a, b) for a, b in zip(key, last[0])):
            return last[1]
        heads = self.fit_new_heads(*key[:3])
        self._last_fit = (key, heads) if not self.training else None
        return heads

    def fit_new_heads(self, z: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor,
                                                                                               torch.Tensor]:
        """Fit a cosine head per new task on its revealed labels.

        Parameters
        ----------
        z : Tensor, (B, D)
            Frozen, L2-normalised embeddings.
        labels, mask : Tensor, (B, T_new)
            Revealed labels (+1/-1) and where they are revealed.

        Returns
        -------
        weight : Tensor, (T_new, D)
        bias : Tensor, (T_new,)
        """
        weight = label_mean_difference(z, labels, mask).requires_grad_(True)
        bias = z.new_zeros(labels.shape[1]).requires_grad_(True)
        scale = self.scale.detach()
        target = (labels > 0).to(z.dtype)
        optimizer = torch.optim.Adam([weight, bias], lr=self.fit_lr)
        with torch.enable_grad():
            for _ in range(self.fit_steps):
                logits = scale * z @ F.normalize(weight, dim=-1).T + bias
                loss = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * mask).sum()
                optimizer.zero_grad()
                (loss / mask.sum().clamp(min=1)).backward()
                optimizer.step()
        return weight.detach(), bias.detach()

    def training_setting(self, setting: Setting) -> Setting:
        """Baseline++ trains a plain multi-task classifier on the seen tasks, whatever the setting."""
        return SETTINGS["standard"]

    def extra_repr(self) -> str:
        return f"fit_steps={self.fit_steps}, fit_lr={self.fit_lr}"
