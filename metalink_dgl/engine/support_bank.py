"""Test-sized support sets for meta training episodes (``--episode-shots K``).

In the paper's episodes a new task shows the support half of one minibatch: on a sparse assay
matrix (ToxCast) that is about one positive per task, against tens in the test's K-shot support
set, and a model that never sees a readable support set learns to ignore it
(``experiments/meta_diagnostics.py``). With ``--episode-shots K`` every training episode's target
tasks instead show up to K labelled rows drawn from the whole training fold, as the test's
support set is drawn (:func:`~metalink_dgl.kg.draw_support`), and every minibatch row is a
query row.

The support rows are embedded without gradient, either once per epoch for the whole fold
(``--episode-embed epoch``: eval mode, as the test embeds its support set; one extra forward
pass over the fold per epoch, but the embeddings lag the model by up to an epoch) or at every
step by the current model in training mode, like the minibatch beside them (``step``: S extra
forward passes per step). The support rows of a step never include its own minibatch rows, so a
query row's label never reaches its own graph.
"""

from __future__ import annotations

import torch

from ..kg.eval_draw import draw_support
from .block import Support, embed_support


class SupportBank:
    """Draws each training episode's support set from the training fold and embeds it.

    Parameters
    ----------
    model : MetaLink
        Anything with ``embed``.
    inputs : MoleculeGraphs or ImageBank
        Encoder inputs of the dataset's rows (``inputs.batch(idx)``).
    Y : Tensor (N, T) or SparseLabels
        Labels of the whole dataset in model units (only ``rows`` are read).
    rows : LongTensor, (R,)
        The training rows the support sets are drawn from.
    shots : int
        K, labelled support rows per target task and episode.
    embed : str
        ``"epoch"``: embed ``rows`` now, in eval mode, and use those embeddings for every draw;
        ``"step"``: embed each drawn support set when drawn, in the model's current mode.
    batch_size : int
        Rows embedded at a time.
    device : torch.device
    source : str
        Name of the data, for messages.
    """

    def __init__(self, model: torch.nn.Module, inputs, Y, rows: torch.Tensor, *, shots: int, embed: str,
                 batch_size: int, device: torch.device, source: str):
        self.model, self.inputs, self.Y, self.rows, self.shots = model, inputs, Y, rows, shots
        self.batch_size, self.device, self.source = batch_size, device, source
        self.z = self.position = None
        if embed == "epoch":
            training = model.training
            model.eval()
            self.z = self._embed(rows)
            model.train(training)
            self.position = torch.full((int(rows.max()) + 1,), -1, dtype=torch.long)  # dataset row -> row of z
            self.position[rows] = torch.arange(len(rows))

    def _embed(self, rows: torch.Tensor) -> torch.Tensor:
        return embed_support(self.model, self.inputs, self.Y, rows, None, batch_size=self.batch_size,
                             device=self.device).z

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
        z = self._embed(rows) if self.z is None else self.z[self.position[rows].to(self.z.device)]
        return Support(z, self.Y[rows].masked_fill(~shown, float("nan")))
