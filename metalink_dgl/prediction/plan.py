"""Which task nodes every ``predict`` block has, which of them are predicted, and the support set
of a meta-trained model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..data import MoleculeDataset, MoleculeGraphs
from ..data.scaling import LabelScaler
from ..engine.block import Support, embed_support
from ..errors import MetaLinkError, preview
from ..kg.eval_draw import draw_support
from ..kg.settings import Setting
from ..label_matrix import dense_tensor
from ..nn import MetaLink


@dataclass(frozen=True)
class TaskPlan:
    """The task nodes of every minibatch and which of them are predicted.

    Columns ``0 .. n_model - 1`` of a block are the checkpoint's tasks (its heads, in its
    order); the columns after them are the new tasks of the support file.

    Attributes
    ----------
    names : list of str, (T_b,)
        Task of each block column.
    n_model : int
        Number of checkpoint tasks.
    columns : dict of str to int
        Task name -> block column, for the tasks whose known labels the model may see.
    targets : BoolTensor, (T_b,)
        Tasks the model can predict: its heads (standard, relational) or the new tasks
        (meta settings); support rows reveal their labels on them.
    predicted : list of int
        Block columns that get an output column, in output order.
    scaler : LabelScaler
        Type and standardisation of each block column: the checkpoint's for its tasks, the
        support file's own labels for the new ones.
    """

    names: list[str]
    n_model: int
    columns: dict[str, int]
    targets: torch.Tensor
    predicted: list[int]
    scaler: LabelScaler

    @property
    def new_tasks(self) -> list[str]:
        """Names of the new (support file) tasks."""
        return self.names[self.n_model:]

    @property
    def task_types(self) -> list[str]:
        """``"binary"`` or ``"regression"`` for each block column."""
        return ["regression" if c else "binary" for c in self.scaler.continuous.tolist()]

    def predicted_mask(self) -> torch.Tensor:
        """BoolTensor, (T_b,): True for a predicted column."""
        mask = torch.zeros(len(self.names), dtype=torch.bool)
        mask[self.predicted] = True
        return mask


def plan_tasks(model_tasks: Sequence[str], heldout: torch.Tensor, setting: Setting, new_tasks: Sequence[str],
               tasks: Sequence[str] | None, *, source: str, scaler: LabelScaler | None = None) -> TaskPlan:
    """Decide the task nodes of every block.

    A standard or relational model predicts its own tasks from its learned heads. A
    meta-trained model predicts only new tasks, from labelled support molecules; its own
    tasks (not the held-out ones, which it never learned) are context whose known labels a
    relational-meta model sees. A support task named like a model task is then a new task.

    Parameters
    ----------
    model_tasks : sequence of str, (T,)
        The checkpoint's tasks.
    heldout : BoolTensor, (T,)
        Tasks held out of training (meta settings).
    setting : Setting
        The checkpoint's setting.
    new_tasks : sequence of str
        Task columns of the support file (empty without one).
    tasks : sequence of str, optional
        Tasks to predict (default: every task the model can predict).
    source : str
        The checkpoint, for messages.
    scaler : LabelScaler, optional
        Of the block columns (model tasks, then new tasks); default all binary.
    """
    if new_tasks and not setting.meta:
        raise MetaLinkError(f"{source}: --support needs a meta-trained checkpoint (--setting meta or relational-meta); "
                            f"this one was trained with --setting {setting.name}, so it predicts only its own tasks")
    if setting.meta and not new_tasks:
        raise MetaLinkError(f"{source}: this checkpoint was meta-trained (--setting {setting.name}): it predicts "
                            "new tasks from labelled examples; give them with --support FILE")
    n_model = len(model_tasks)
    names = [*model_tasks, *new_tasks]
    scaler = LabelScaler.identity(len(names)) if scaler is None else scaler
    columns = {name: j for j, name in enumerate(model_tasks) if not heldout[j] and name not in new_tasks}
    columns.update({name: n_model + k for k, name in enumerate(new_tasks)})
    targets = torch.zeros(len(names), dtype=torch.bool)
    targets[n_model:] = setting.meta
    targets[:n_model] = not setting.meta
    can_predict = {names[j]: j for j in targets.nonzero().flatten().tolist()}
    if tasks is None:
        return TaskPlan(names, n_model, columns, targets, list(can_predict.values()), scaler)
    for name in tasks:
        if list(tasks).count(name) > 1:
            raise MetaLinkError(f"--tasks lists {name!r} twice")
        if name not in can_predict:
            if setting.meta and name in model_tasks:
                raise MetaLinkError(f"{source}: --tasks {name!r}: a meta-trained checkpoint predicts only the tasks of "
                                    f"--support; add labelled examples of {name!r} to the support file")
            raise MetaLinkError(f"{source}: unknown task {name!r} in --tasks; the tasks it can predict are "
                                f"{preview(list(can_predict))}")
    return TaskPlan(names, n_model, columns, targets, [can_predict[name] for name in tasks], scaler)


def block_scaler(ckpt: dict, support: MoleculeDataset | None, *, source: str) -> LabelScaler:
    """Types and standardisation of the block columns: the checkpoint's tasks (as trained), then the
    support file's new tasks, standardised with the support file's own labels (their only labels)."""
    scaler = LabelScaler.from_state(ckpt.get("scaler"), len(ckpt["task_names"]))
    if support is None:
        return scaler
    new = LabelScaler.fit(dense_tensor(support.Y), torch.arange(len(support)),
                          torch.from_numpy(np.asarray(support.continuous, dtype=bool)))
    if new.any_continuous and not scaler.any_continuous:
        raise MetaLinkError(f"{source}: this checkpoint was trained on binary tasks only and cannot read the "
                            f"continuous support labels of {support.source}; train on data with continuous tasks")
    return LabelScaler.concat(scaler, new)


@torch.no_grad()
def load_support(dataset: MoleculeDataset, plan: TaskPlan, model: MetaLink,
                 inputs_of: Callable[[MoleculeDataset], MoleculeGraphs], *, shots: int | None, seed: int,
                 batch_size: int, device: torch.device) -> Support:
    """The support molecules of ``dataset`` (its tasks are ``plan.new_tasks``), embedded once,
    ``batch_size`` at a time.

    With ``shots`` K, each new task shows K of its labelled molecules, drawn with ``seed``
    (:func:`metalink_dgl.kg.draw_support`); by default every label of the file is shown.
    ``inputs_of`` featurizes them for the model (:func:`~metalink_dgl.engine.build.molecule_inputs`).
    """
    Y = torch.full((len(dataset), len(plan.names)), float("nan"))
    Y[:, plan.n_model:] = dense_tensor(dataset.Y)
    Y = plan.scaler.transform(Y)
    chosen, shown = draw_support(Y, torch.arange(len(dataset)), plan.targets, shots,
                                 torch.Generator().manual_seed(seed), source=dataset.source, rows_name="molecules",
                                 targets_name="support")
    graphs = inputs_of(dataset.subset(chosen.numpy()))
    model.eval()
    return embed_support(model, graphs, Y[chosen], torch.arange(len(chosen)), shown, batch_size=batch_size,
                         device=device)
