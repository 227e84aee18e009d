"""Test-sized support sets for meta training episodes (``--episode-shots K``).

In the paper's episodes a new task shows the support half of one minibatch: on a sparse assay
matrix (ToxCast) that is about one positive per task, against tens in the test's K-shot support
set, and a model that never sees a readable support set learns to ignore it
(``experiments/meta_diagnostics.py``). With ``--episode-shots K`` every training episode's target
tasks instead show up to K labelled rows drawn from the whole training fold, as the test's
support set is drawn (:func:`~metalink_dgl.kg.draw_support`), and every minibatch row is a
query row.

The support rows' embeddings are those of the epoch's start (eval mode, no gradient), as the
test embeds its support set: one extra forward pass over the training fold per epoch instead of
one over thousands of support rows per step. The support rows of a step never include its own
minibatch rows, so a query row's label never reaches its own graph.
"""

from __future__ import annotations

import torch

from ..kg.eval_draw import draw_support
from .block import Support, embed_support


class SupportBank:
    """The training fold's embeddings, from which each episode draws its support set.

    Parameters
    ----------
    z : Tensor, (R, D)
        Embeddings of the training rows, on the model's device.
    rows : LongTensor, (R,)
        Their dataset rows.
    Y : Tensor (N, T) or SparseLabels
        Labels of the whole dataset in model units (only ``rows`` are read).
    shots : int
        K, labelled support rows per target task and episode.
    source : str
        Name of the data, for messages.
    """

    def __init__(self, z: torch.Tensor, rows: torch.Tensor, Y, shots: int, source: str):
        self.z, self.rows, self.Y, self.shots, self.source = z, rows, Y, shots, source
        self.position = torch.full((int(rows.max()) + 1,), -1, dtype=torch.long)
        self.position[rows] = torch.arange(len(rows))

    @classmethod
    def embed(cls, model: torch.nn.Module, inputs, Y, rows: torch.Tensor, *, shots: int, batch_size: int,
              device: torch.device, source: str) -> SupportBank:
        """Embed ``rows`` with ``model`` in eval mode (the mode it is left in is restored)."""
        training = model.training
        model.eval()
        z = embed_support(model, inputs, Y, rows, None, batch_size=batch_size, device=device).z
        model.train(training)
        return cls(z, rows, Y, shots, source)

    def draw(self, targets: torch.Tensor, batch: torch.Tensor, generator: torch.Generator) -> Support:
        """The support set of one episode: up to K labelled training rows per target task, none of
        them in ``batch``; each shows only the labels of the tasks it was drawn for.

        Parameters
        ----------
        targets : BoolTensor, (T,)
            The episode's target tasks (seen tasks only).
        batch : LongTensor, (B,)
            Dataset rows of the minibatch.

        Returns
        -------
        Support
            ``z`` (S, D) and ``Y`` (S, T), NaN wherever a label is not shown.
        """
        candidates = self.rows[~torch.isin(self.rows, batch)]
        rows, shown = draw_support(self.Y, candidates, targets.cpu(), self.shots, generator, source=self.source,
                                   rows_name="training rows outside the minibatch", targets_name="episode target",
                                   announce=False)
        labels = self.Y[rows].masked_fill(~shown, float("nan"))
        return Support(self.z[self.position[rows].to(self.z.device)], labels)
