"""Per-task standardisation of continuous labels, fitted on the training fold only.

A continuous label travels on its knowledge-graph edge and is regressed as
``z = (y - mean_j) / std_j``, with ``mean_j`` and ``std_j`` the mean and standard deviation of
task ``j``'s labels among the *training* rows, so no validation or test value shapes what the
model sees. Binary tasks pass through unchanged (mean 0, std 1), and a matrix with no
continuous task is returned as it is. Model outputs go back through :meth:`LabelScaler.output`:
a probability for a binary task, a value in original units for a continuous one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..label_matrix import LabelMatrix, SparseLabels, row_blocks


@dataclass
class LabelScaler:
    """Mean and std of each task's training labels (0 and 1 for binary tasks).

    Attributes
    ----------
    continuous : BoolTensor, (T,)
    mean, std : Tensor, (T,) float32
    """

    continuous: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, Y: LabelMatrix, rows: torch.Tensor, continuous: torch.Tensor) -> LabelScaler:
        """Statistics of ``Y[rows]`` (N, T) for the ``continuous`` (T,) tasks.

        A task with fewer than two training labels, or all of them equal, keeps std 1 (and
        mean 0 with none), so it is never divided by zero.
        """
        T = Y.shape[1]
        mean, std = torch.zeros(T), torch.ones(T)
        tasks = continuous.nonzero().flatten()
        observed: list[list[torch.Tensor]] = [[torch.zeros(0)] for _ in tasks]  # per task, in row order
        for block in row_blocks(Y, torch.as_tensor(rows, dtype=torch.long)):  # never all training rows densely
            for k, column in enumerate(block[:, tasks].T):
                observed[k].append(column[~torch.isnan(column)])
        for k, j in enumerate(tasks.tolist()):
            values = torch.cat(observed[k]).double()
            if len(values):
                mean[j] = float(values.mean())
            if len(values) > 1 and float(values.std()) > 0:
                std[j] = float(values.std())
        return cls(continuous.clone(), mean, std)

    @classmethod
    def identity(cls, n_tasks: int) -> LabelScaler:
        """The scaler of ``n_tasks`` binary tasks."""
        return cls(torch.zeros(n_tasks, dtype=torch.bool), torch.zeros(n_tasks), torch.ones(n_tasks))

    @classmethod
    def concat(cls, first: LabelScaler, second: LabelScaler) -> LabelScaler:
        """The scaler of ``first``'s tasks followed by ``second``'s."""
        return cls(torch.cat([first.continuous, second.continuous]), torch.cat([first.mean, second.mean]),
                   torch.cat([first.std, second.std]))

    @property
    def any_continuous(self) -> bool:
        """True if some task is continuous."""
        return bool(self.continuous.any())

    @property
    def edge_continuous(self) -> torch.Tensor | None:
        """``continuous`` for the knowledge graph, or None when every task is binary (the one-column
        edge feature of :func:`metalink_dgl.kg.encode_labels`)."""
        return self.continuous if self.any_continuous else None

    def transform(self, Y: LabelMatrix) -> LabelMatrix:
        """Labels (N, T) in original units -> model units (``Y`` itself when every task is binary), in
        ``Y``'s storage (:mod:`metalink_dgl.label_matrix`)."""
        if not self.any_continuous:
            return Y
        if isinstance(Y, SparseLabels):
            return Y.map_values(lambda v, t: torch.where(self.continuous[t], (v - self.mean[t]) / self.std[t], v))
        return torch.where(self.continuous, (Y - self.mean) / self.std, Y)

    def inverse(self, values: torch.Tensor, tasks: torch.Tensor) -> torch.Tensor:
        """Model-unit values (Q,) of pairs on ``tasks`` (Q,) -> original units (binary ones unchanged)."""
        cont = self.continuous[tasks]
        return torch.where(cont, values * self.std[tasks] + self.mean[tasks], values)

    def output(self, logits: torch.Tensor, tasks: torch.Tensor) -> torch.Tensor:
        """Model outputs (Q,) of pairs on ``tasks`` (Q,) -> a probability (binary task) or a value in
        original units (continuous task)."""
        logits = logits.detach().cpu()
        if not self.any_continuous:
            return torch.sigmoid(logits)
        return torch.where(self.continuous[tasks], self.inverse(logits, tasks), torch.sigmoid(logits))

    def state(self) -> dict:
        """Tensors only, for a checkpoint."""
        return {"continuous": self.continuous, "mean": self.mean, "std": self.std}

    @classmethod
    def from_state(cls, state: dict | None, n_tasks: int) -> LabelScaler:
        """The scaler of a checkpoint; one written before continuous labels existed is all binary."""
        if state is None:
            return cls.identity(n_tasks)
        return cls(state["continuous"], state["mean"], state["std"])
