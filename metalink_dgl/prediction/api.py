"""Predict / impute: fill in the unknown labels of a CSV of molecules with a trained checkpoint.

:func:`predict` streams the input CSV in chunks of whole minibatches, so its memory does not
grow with the file. Each minibatch becomes a knowledge graph exactly as in evaluation
(:meth:`metalink_dgl.engine.Block.assemble`, :func:`metalink_dgl.engine.forward_block`):

* a known label (a ``0``/``1`` cell in a column named like a task of the model) is
  revealed as a ``labels`` edge, if the checkpoint's setting lets query molecules reveal
  labels (``relational``, ``relational-meta``; ``standard`` and ``meta`` models never saw
  such edges, so there known labels are only passed through);
* every other cell of a predicted task is queried;
* with ``support`` (meta-trained models), the labelled support molecules join every
  minibatch and reveal their labels on the support file's tasks, which are new tasks
  (ones-initialised task nodes) predicted for the input molecules.

The output holds every input column, unchanged and in order, then one ``<task>_prob``
column per predicted task: the known label as written where the input has one, else the
model's probability (with ``aux_ratio``, only a random fraction of each row's known labels
is shown to the model and passed through; its other known cells are predicted too, to
check the model against them). With ``skip_invalid`` a last column :data:`VALID_COLUMN` is ``1`` for
a predicted row and ``0`` for a row whose SMILES RDKit cannot parse (its probabilities
empty). A minibatch's molecules share task nodes, so a prediction depends a little on the
other molecules of its minibatch (as in training); the minibatches are the input rows in
order, ``batch_size`` at a time (default: the checkpoint's).

The output is written to a temporary file beside it and moved into place only at the end:
any bad input (reported as one :class:`~metalink_dgl.errors.MetaLinkError` line naming the
file, line and column) leaves no output file.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data import MoleculeDataset, MoleculeGraphs, load_dataset
from ..data.reader import Frame, count_lines, read_chunks, read_header
from ..device import resolve_device
from ..engine.block import Block, Support, forward_block
from ..engine.build import load_model, molecule_inputs
from ..errors import MetaLinkError
from ..io import atomic_write_stream, check_parent_dir
from ..kg.masks import draw_known
from ..kg.settings import Setting, check_aux_ratio, get_setting
from ..nn import MetaLink
from ..peers import ChempropInputs
from .columns import (
    SUPPORT_HINT,
    VALID_COLUMN,
    InputColumns,
    added_columns,
    chunk_labels,
    input_columns,
    output_cells,
    valid_smiles,
)
from .plan import TaskPlan, block_scaler, load_support, plan_tasks

logger = logging.getLogger(__name__)


@torch.no_grad()
def score_molecules(model: MetaLink, graphs: MoleculeGraphs, Y: torch.Tensor, shown: torch.Tensor, plan: TaskPlan,
                    setting: Setting, support: Support | None, *, batch_size: int,
                    device: torch.device) -> torch.Tensor:
    """Predictions of every predicted, not shown cell of R molecules, ``batch_size`` at a time: a probability
    for a binary task, a value in original units for a continuous one.

    Each block is the support molecules followed by up to ``batch_size`` molecules; the
    setting decides (:func:`~metalink_dgl.kg.make_masks`) which shown labels become edges.

    Parameters
    ----------
    graphs : MoleculeGraphs
        The R molecules.
    Y : Tensor, (R, T_b)
        Known labels in model units (``plan.scaler``), NaN = unknown.
    shown : BoolTensor, (R, T_b)
        Known labels given to the model (within ``~isnan(Y)``); the others are predicted.

    Returns
    -------
    Tensor, (R, T_b)
        Prediction of each predicted column where not shown, NaN elsewhere.
    """
    model.eval()
    S, asked = (0 if support is None else len(support)), plan.predicted_mask()
    probs = torch.full((len(Y), len(plan.names)), float("nan"))
    for start in range(0, len(Y), batch_size):
        stop = min(start + batch_size, len(Y))
        block = Block.assemble(setting, plan.targets, model.embed(graphs.batch(torch.arange(start, stop)).to(device)),
                               Y[start:stop], shown[start:stop], support=support,
                               queried=asked[None, :] & ~shown[start:stop], continuous=plan.scaler.edge_continuous)
        logits, rows, tasks = forward_block(model, block)
        probs[start + rows - S, tasks] = plan.scaler.output(logits, tasks)
    return probs


@dataclass
class Predictor:
    """Everything fixed for one run of :func:`predict`; called on each chunk of input rows.

    Attributes
    ----------
    model : MetaLink
    setting : Setting
        The checkpoint's setting.
    plan : TaskPlan
    columns : InputColumns
    support : Support or None
    inputs_of : callable
        A chunk's molecules (``MoleculeDataset``) -> the model's input bank
        (:func:`~metalink_dgl.engine.build.molecule_inputs` for the checkpoint's config).
    batch_size : int
    device : torch.device
    aux_ratio : float or None
        Show only this random fraction of each molecule's known labels (None: all).
    generator : torch.Generator
        Draws ``aux_ratio``, chunk after chunk.
    skip_invalid : bool
    source : str
        The input file, for messages.
    """

    model: MetaLink
    setting: Setting
    plan: TaskPlan
    columns: InputColumns
    support: Support | None
    inputs_of: Callable[[MoleculeDataset], MoleculeGraphs | ChempropInputs]
    batch_size: int
    device: torch.device
    aux_ratio: float | None
    generator: torch.Generator
    skip_invalid: bool
    source: str

    def header(self) -> list[str]:
        """The output header: the input's, then ``<task>_prob`` per predicted task (and the valid flag)."""
        return self.columns.header + added_columns(self.plan, self.skip_invalid)

    def __call__(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, int]:
        """Predict one chunk of R rows.

        Returns
        -------
        cells : ndarray of str, (R, output columns)
        valid : ndarray of bool, (R,)
            RDKit parses the row's SMILES.
        n_predicted : int
            Cells filled with a prediction.
        """
        Y = chunk_labels(frame, self.columns, self.plan, source=self.source)
        smiles, valid = valid_smiles(frame, self.columns, source=self.source, skip_invalid=self.skip_invalid)
        observed = ~torch.isnan(Y)
        shown = observed if self.aux_ratio is None else draw_known(observed, self.aux_ratio, self.generator)
        probs = torch.full_like(Y, float("nan"))
        keep = torch.from_numpy(valid)
        if keep.any():
            molecules = MoleculeDataset(Path(self.source).name, self.source, [s for s, ok in zip(smiles, valid) if ok],
                                        Y[keep].numpy(), self.plan.names, frame.lines[valid],
                                        task_types=self.plan.task_types)
            probs[keep] = score_molecules(
                self.model, self.inputs_of(molecules),
                self.plan.scaler.transform(Y[keep]), shown[keep], self.plan, self.setting, self.support,
                batch_size=self.batch_size, device=self.device)
        cells = output_cells(frame, self.columns, self.plan, valid, shown, probs, self.skip_invalid)
        return cells, valid, int((~torch.isnan(probs)).sum())


@dataclass(frozen=True)
class PredictResult:
    """What :func:`predict` wrote.

    Attributes
    ----------
    output : Path
    n_rows : int
        Molecules (records) read and written.
    n_invalid : int
        Rows whose SMILES RDKit cannot parse (``skip_invalid``), written with empty probabilities.
    tasks : list of str
        Predicted tasks, in the order of their ``<task>_prob`` columns.
    new_tasks : list of str
        Tasks of the support file.
    n_support : int
        Support molecules in every minibatch.
    n_predicted : int
        Cells filled with a probability.
    """

    output: Path
    n_rows: int
    n_invalid: int
    tasks: list[str]
    new_tasks: list[str]
    n_support: int
    n_predicted: int


def predict(checkpoint: str | os.PathLike, input_csv: str | os.PathLike, output_csv: str | os.PathLike, *,
            tasks: Sequence[str] | None = None, support: str | os.PathLike | None = None, shots: int | None = None,
            aux_ratio: float | None = None, smiles_column: str | None = None, skip_invalid: bool = False,
            batch_size: int | None = None, batches_per_chunk: int = 16, seed: int = 0, device: str = "auto",
            progress: bool = True, workers: int = 1) -> PredictResult:
    """Fill in the unknown labels of ``input_csv`` with the model of ``checkpoint``.

    Parameters
    ----------
    checkpoint : path
        ``best.pt`` / ``last.pt`` of a training run.
    input_csv : path
        CSV (``.csv`` or ``.csv.gz``) with a SMILES column and any subset of the model's
        task columns (``0``/``1`` = known, empty = to predict); other columns are passed
        through (one warning).
    output_csv : path
        Written atomically (``.gz`` compressed); its directory must exist.
    tasks : sequence of str, optional
        Tasks to predict (default: all the model can predict).
    support : path, optional
        Meta-trained models: CSV of SMILES + task columns (0/1/empty) with labelled examples
        of the new tasks to predict; every non-SMILES column is a task.
    shots : int, optional
        Each new task shows this many of its labelled support molecules (seeded draw; default all).
    aux_ratio : float in [0, 1), optional
        Show the model only a random ``aux_ratio`` of each molecule's known labels (seeded);
        the other known cells are predicted like unknown ones, so the output can be checked
        against them. Default: show every known label.
    smiles_column : str, optional
        SMILES column of both files (default ``smiles``, any case).
    skip_invalid : bool
        Keep going past SMILES RDKit cannot parse; mark them in :data:`VALID_COLUMN`.
    batch_size : int, optional
        Molecules per minibatch (default: the checkpoint's training batch size).
    batches_per_chunk : int
        Minibatches read and featurized at a time (memory vs. overhead).
    seed : int
        Seed of the ``shots`` and ``aux_ratio`` draws.
    device : {"auto", "cpu", "cuda"}
    progress : bool
        Progress bar (only on a terminal).
    workers : int
        Processes that featurize the molecules (1: this one).

    Returns
    -------
    PredictResult

    Raises
    ------
    MetaLinkError
        One line naming the file (and line and column) for bad input; no output is written.
    """
    if aux_ratio is not None:
        check_aux_ratio(aux_ratio)
    if shots is not None and shots < 1:
        raise MetaLinkError(f"--shots {shots} must be at least 1")
    if shots is not None and support is None:
        raise MetaLinkError("--shots needs --support: it is the number of labelled support molecules per new task")
    if batch_size is not None and batch_size < 1:
        raise MetaLinkError(f"--batch-size {batch_size} must be at least 1")
    if workers < 1:
        raise MetaLinkError(f"--workers {workers} must be at least 1")
    source, output = str(input_csv), check_parent_dir(output_csv)
    if not Path(input_csv).is_file():
        raise MetaLinkError(f"{source}: no such file")
    if output.resolve() == Path(input_csv).resolve():
        raise MetaLinkError(f"{output}: the output would overwrite the input; choose another --output")
    dev = resolve_device(device)
    model, config, ckpt = load_model(checkpoint, dev)
    setting = get_setting(config.setting)
    heldout = ckpt["draw"]["heldout"] if "draw" in ckpt else torch.zeros(len(ckpt["task_names"]), dtype=torch.bool)
    support_data = (load_dataset(str(support), smiles_column=smiles_column, skip_invalid=skip_invalid,
                                 label_hint=SUPPORT_HINT) if support is not None else None)
    plan = plan_tasks(ckpt["task_names"], heldout, setting, support_data.task_names if support_data else [], tasks,
                      source=str(checkpoint), scaler=block_scaler(ckpt, support_data, source=str(checkpoint)))
    columns = input_columns(read_header(Path(input_csv), source), plan, smiles_column, source=source,
                            skip_invalid=skip_invalid)
    if columns.positions and not setting.relational:
        logger.warning("%s: a model trained with --setting %s does not use the known labels of the molecules it "
                       "predicts; they are only passed through", source, setting.name)
    inputs_of = partial(molecule_inputs, config=config, progress=False, cache=False, workers=workers)
    batch_size = batch_size or config.batch_size
    support_set = (load_support(support_data, plan, model, inputs_of, shots=shots, seed=seed, batch_size=batch_size,
                                device=dev)
                   if support_data is not None else None)
    predictor = Predictor(model, setting, plan, columns, support_set, inputs_of, batch_size, dev,
                          aux_ratio, torch.Generator().manual_seed(seed), skip_invalid, source)
    counts = {"rows": 0, "invalid": 0, "predicted": 0}

    def write(fh: IO[bytes]) -> None:
        with _text_writer(fh, gz=output.name.lower().endswith(".gz")) as text:
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(predictor.header())
            with tqdm(total=count_lines(Path(input_csv)), desc="predict", unit="mol",
                      disable=None if progress else True) as bar:
                for frame in read_chunks(Path(input_csv), source, columns.n_columns,
                                         predictor.batch_size * batches_per_chunk):
                    cells, valid, n_predicted = predictor(frame)
                    writer.writerows(cells.tolist())
                    counts["rows"] += len(valid)
                    counts["invalid"] += int((~valid).sum())
                    counts["predicted"] += n_predicted
                    bar.update(len(valid))
        if counts["rows"] == 0:
            raise MetaLinkError(f"{source}: the file has a header but no rows")

    atomic_write_stream(output, write, "wb")
    if counts["invalid"]:
        logger.warning("%s: %d row(s) have SMILES RDKit cannot parse; they are marked %s = 0 with empty "
                       "probabilities", source, counts["invalid"], VALID_COLUMN)
    return PredictResult(output, counts["rows"], counts["invalid"], [plan.names[j] for j in plan.predicted],
                         plan.new_tasks, 0 if support_set is None else len(support_set), counts["predicted"])


@contextlib.contextmanager
def _text_writer(fh: IO[bytes], gz: bool) -> Iterator[IO[str]]:
    """UTF-8 text over the binary ``fh`` (gzip-compressed if ``gz``), flushed at the end; ``fh`` stays open."""
    if gz:
        with gzip.open(fh, "wt", encoding="utf-8", newline="") as text:
            yield text
        return
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()
