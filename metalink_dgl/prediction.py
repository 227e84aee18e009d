"""Predict / impute: fill in the unknown labels of a CSV of molecules with a trained checkpoint.

:func:`predict` streams the input CSV in chunks of whole minibatches, so its memory does not
grow with the file. Each minibatch becomes a knowledge graph exactly as in evaluation
(:func:`metalink_dgl.settings.make_masks`, :func:`metalink_dgl.evaluation.forward_masks`):

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
import itertools
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import MoleculeDataset, MoleculeGraphs, featurize, load_dataset
from .data.datasets import Frame, check_header, find_smiles_column, first_line, parse_labels, parseable, preview
from .device import resolve_device
from .draw import draw_support
from .errors import MetaLinkError
from .evaluation import embed_support, forward_masks
from .io import atomic_write_stream, check_parent_dir
from .nn import MetaLink
from .nn.encoders import ENCODERS
from .pipeline import load_model
from .settings import Masks, Setting, check_aux_ratio, draw_known, get_setting, make_masks

logger = logging.getLogger(__name__)

PROB_SUFFIX = "_prob"  #: output column of task ``t``: ``t + PROB_SUFFIX``
VALID_COLUMN = "metalink_valid"  #: with ``skip_invalid``: 1 = predicted, 0 = SMILES RDKit cannot parse
LABELS_HINT = "a column named like a task of the model is read as its labels; rename it if it holds something else"
SUPPORT_HINT = "every column of a support file but the SMILES one is a task; remove the others"


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
        Block columns that get a ``<task>_prob`` column, in output order.
    """

    names: list[str]
    n_model: int
    columns: dict[str, int]
    targets: torch.Tensor
    predicted: list[int]

    @property
    def new_tasks(self) -> list[str]:
        """Names of the new (support file) tasks."""
        return self.names[self.n_model:]

    def predicted_mask(self) -> torch.Tensor:
        """BoolTensor, (T_b,): True for a predicted column."""
        mask = torch.zeros(len(self.names), dtype=torch.bool)
        mask[self.predicted] = True
        return mask


def plan_tasks(model_tasks: Sequence[str], heldout: torch.Tensor, setting: Setting, new_tasks: Sequence[str],
               tasks: Sequence[str] | None, *, source: str) -> TaskPlan:
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
    """
    if new_tasks and not setting.meta:
        raise MetaLinkError(f"{source}: --support needs a meta-trained checkpoint (--setting meta or relational-meta); "
                            f"this one was trained with --setting {setting.name}, so it predicts only its own tasks")
    if setting.meta and not new_tasks:
        raise MetaLinkError(f"{source}: this checkpoint was meta-trained (--setting {setting.name}): it predicts "
                            "new tasks from labelled examples; give them with --support FILE")
    n_model = len(model_tasks)
    names = [*model_tasks, *new_tasks]
    columns = {name: j for j, name in enumerate(model_tasks) if not heldout[j] and name not in new_tasks}
    columns.update({name: n_model + k for k, name in enumerate(new_tasks)})
    targets = torch.zeros(len(names), dtype=torch.bool)
    targets[n_model:] = setting.meta
    targets[:n_model] = not setting.meta
    can_predict = {names[j]: j for j in targets.nonzero().flatten().tolist()}
    if tasks is None:
        return TaskPlan(names, n_model, columns, targets, list(can_predict.values()))
    for name in tasks:
        if list(tasks).count(name) > 1:
            raise MetaLinkError(f"--tasks lists {name!r} twice")
        if name not in can_predict:
            if setting.meta and name in model_tasks:
                raise MetaLinkError(f"{source}: --tasks {name!r}: a meta-trained checkpoint predicts only the tasks of "
                                    f"--support; add labelled examples of {name!r} to the support file")
            raise MetaLinkError(f"{source}: unknown task {name!r} in --tasks; the tasks it can predict are "
                                f"{preview(list(can_predict))}")
    return TaskPlan(names, n_model, columns, targets, [can_predict[name] for name in tasks])


@dataclass
class SupportSet:
    """Labelled molecules that open every block (meta settings).

    Attributes
    ----------
    z : Tensor, (S, D)
        Their embeddings (``model.embed``), on the model's device.
    Y : Tensor, (S, T_b)
        Their labels in block columns, NaN where unknown (CPU).
    """

    z: torch.Tensor
    Y: torch.Tensor

    @classmethod
    def empty(cls, hidden: int, n_tasks: int, device: torch.device) -> SupportSet:
        """No support molecules (standard and relational models)."""
        return cls(torch.zeros(0, hidden, device=device), torch.zeros(0, n_tasks))

    def __len__(self) -> int:
        return self.Y.shape[0]


@torch.no_grad()
def load_support(dataset: MoleculeDataset, plan: TaskPlan, model: MetaLink, featurizer: str, *, shots: int | None,
                 seed: int, batch_size: int, device: torch.device) -> SupportSet:
    """The support molecules of ``dataset`` (its tasks are ``plan.new_tasks``), embedded once,
    ``batch_size`` at a time.

    With ``shots`` K, each new task shows K of its labelled molecules, drawn with ``seed``
    (:func:`metalink_dgl.draw.draw_support`); by default every label of the file is shown.
    """
    Y = torch.full((len(dataset), len(plan.names)), float("nan"))
    Y[:, plan.n_model:] = torch.from_numpy(dataset.Y)
    chosen, shown = draw_support(Y, torch.arange(len(dataset)), plan.targets, shots,
                                 torch.Generator().manual_seed(seed), source=dataset.source, rows_name="molecules",
                                 targets_name="support")
    graphs = featurize(dataset.subset(chosen.numpy()), featurizer, progress=False, cache=False)
    model.eval()
    return SupportSet(*embed_support(model, graphs, Y[chosen], torch.arange(len(chosen)), shown,
                                     batch_size=batch_size, device=device))


def added_columns(plan: TaskPlan, skip_invalid: bool) -> list[str]:
    """The columns predict appends: ``<task>_prob`` per predicted task, then (``skip_invalid``) the valid flag."""
    return [plan.names[j] + PROB_SUFFIX for j in plan.predicted] + ([VALID_COLUMN] if skip_invalid else [])


@dataclass(frozen=True)
class InputColumns:
    """What each column of the input CSV is.

    Attributes
    ----------
    header : list of str
        The header cells as written (passed through to the output).
    smiles : int
        Position of the SMILES column.
    positions, block_columns : list of int
        Input position and block column of each task column.
    """

    header: list[str]
    smiles: int
    positions: list[int]
    block_columns: list[int]

    @property
    def n_columns(self) -> int:
        return len(self.header)


def input_columns(header: list[str], plan: TaskPlan, smiles_column: str | None, *, source: str,
                  skip_invalid: bool) -> InputColumns:
    """Match the header of the input to the tasks of ``plan``; warn once about the other columns."""
    names = [cell.strip() for cell in header]
    check_header(names, source)
    smiles = names.index(find_smiles_column(names, smiles_column, source))
    clash = next((name for name in added_columns(plan, skip_invalid) if name in names), None)
    if clash is not None:
        raise MetaLinkError(f"{source}: the input already has a column {clash!r}, which predict writes; rename it")
    positions = [i for i, name in enumerate(names) if name in plan.columns and i != smiles]
    ignored = [name or f"(unnamed column {i + 1})" for i, name in enumerate(names)
               if i != smiles and i not in positions]
    if ignored:
        logger.warning("%s: %d column(s) are not tasks of the model and are passed through unchanged: %s",
                       source, len(ignored), preview(ignored))
    return InputColumns(header, smiles, positions, [plan.columns[names[i]] for i in positions])


def _csv_rows(path: Path, source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of each non-blank CSV record of ``path`` (``.gz`` read as gzip), header first."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line = 0
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            for cells in reader:
                line = reader.line_num
                if any(cells):
                    yield line, cells
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as err:
        raise MetaLinkError(f"{source}: cannot read as CSV after line {line} ({first_line(err)})") from None


def read_header(path: Path, source: str) -> list[str]:
    """The first record of the CSV; raises if the file is empty."""
    for _, cells in _csv_rows(path, source):
        return cells
    raise MetaLinkError(f"{source}: the file is empty; expected a header line and one row per molecule")


def read_chunks(path: Path, source: str, n_columns: int, chunk_rows: int) -> Iterator[Frame]:
    """The records after the header, ``chunk_rows`` at a time, short ones padded with empty cells.

    Yields
    ------
    Frame
        ``cells`` (R, n_columns) object array of str, ``lines`` (R,) 1-based file lines.
    """
    records = _csv_rows(path, source)
    header = next(records)[1]
    while chunk := list(itertools.islice(records, chunk_rows)):
        for line, cells in chunk:
            if len(cells) > n_columns:
                raise MetaLinkError(f"{source}, line {line}: {len(cells)} fields, but the header has {n_columns} "
                                    "columns")
        cells = np.empty((len(chunk), n_columns), dtype=object)
        cells[:] = [c + [""] * (n_columns - len(c)) for _, c in chunk]
        yield Frame(header, cells, np.array([line for line, _ in chunk], dtype=np.int64))


def chunk_labels(frame: Frame, columns: InputColumns, n_tasks: int, *, source: str) -> torch.Tensor:
    """Known labels of a chunk in block columns: (R, T_b) float32, NaN = unknown; a bad cell raises."""
    Y = torch.full((len(frame.lines), n_tasks), float("nan"))
    if columns.positions:
        names = [columns.header[i].strip() for i in columns.positions]
        Y[:, columns.block_columns] = torch.from_numpy(
            parse_labels(frame, columns.positions, names, source, hint=LABELS_HINT))
    return Y


def valid_smiles(frame: Frame, columns: InputColumns, *, source: str,
                 skip_invalid: bool) -> tuple[list[str], np.ndarray]:
    """The chunk's SMILES (stripped) and (R,) bool: RDKit parses them; without ``skip_invalid`` a bad one raises."""
    smiles = [s.strip() for s in frame.cells[:, columns.smiles]]
    valid = parseable(smiles)
    if not skip_invalid and not valid.all():
        i = int(np.flatnonzero(~valid)[0])
        raise MetaLinkError(f"{source}, line {frame.lines[i]}, column {columns.header[columns.smiles].strip()!r}: "
                            f"RDKit cannot parse SMILES {smiles[i]!r}; fix it or pass --skip-invalid")
    return smiles, valid


@torch.no_grad()
def score_molecules(model: MetaLink, graphs: MoleculeGraphs, Y: torch.Tensor, shown: torch.Tensor, plan: TaskPlan,
                    setting: Setting, support: SupportSet, *, batch_size: int, device: torch.device) -> torch.Tensor:
    """Probabilities of every predicted, not shown cell of R molecules, ``batch_size`` at a time.

    Each block is the support molecules followed by up to ``batch_size`` molecules; the
    setting decides (:func:`make_masks`) which shown labels become edges.

    Parameters
    ----------
    graphs : MoleculeGraphs
        The R molecules.
    Y : Tensor, (R, T_b)
        Known labels, NaN = unknown.
    shown : BoolTensor, (R, T_b)
        Known labels given to the model (within ``~isnan(Y)``); the others are predicted.

    Returns
    -------
    Tensor, (R, T_b)
        Probability of each predicted column where not shown, NaN elsewhere.
    """
    model.eval()
    S, T = len(support), len(plan.names)
    asked = plan.predicted_mask()
    probs = torch.full((len(Y), T), float("nan"))
    for start in range(0, len(Y), batch_size):
        stop = min(start + batch_size, len(Y))
        z = torch.cat([support.z, model.embed(graphs.batch(torch.arange(start, stop)).to(device))])
        Yb = torch.cat([support.Y, Y[start:stop]])
        is_support = torch.arange(S + stop - start) < S
        masks = make_masks(Yb, setting, targets=plan.targets,
                           aux=torch.cat([torch.zeros(S, T, dtype=torch.bool), shown[start:stop]]), support=is_support)
        queried = torch.cat([torch.zeros(S, T, dtype=torch.bool), asked[None, :] & ~shown[start:stop]])
        logits, rows, tasks = forward_masks(model, z, Yb, Masks(masks.revealed, queried, masks.new_tasks))
        probs[start + rows - S, tasks] = torch.sigmoid(logits).cpu()
    return probs


def output_cells(frame: Frame, columns: InputColumns, plan: TaskPlan, valid: np.ndarray, shown: torch.Tensor,
                 probs: torch.Tensor, skip_invalid: bool) -> np.ndarray:
    """The output records of a chunk: input cells, then ``<task>_prob`` (and the valid flag).

    A shown cell keeps its known label as written (stripped); an invalid row has empty
    probabilities. ``shown`` and ``probs`` are (R, T_b) over all rows of the chunk.
    """
    known = np.full((len(valid), len(plan.names)), "", dtype=object)
    known[:, columns.block_columns] = np.char.strip(frame.cells[:, columns.positions].astype(str))
    predicted = plan.predicted
    out = np.where(shown[:, predicted].numpy(), known[:, predicted],
                   np.char.mod("%.6f", probs[:, predicted].numpy()).astype(object))
    out[~valid] = ""
    parts = [frame.cells, out] + ([np.where(valid, "1", "0").astype(object)[:, None]] if skip_invalid else [])
    return np.concatenate(parts, axis=1)


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
    support : SupportSet
    featurizer : str
        The featurizer of the checkpoint's encoder.
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
    support: SupportSet
    featurizer: str
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
            Cells filled with a probability.
        """
        Y = chunk_labels(frame, self.columns, len(self.plan.names), source=self.source)
        smiles, valid = valid_smiles(frame, self.columns, source=self.source, skip_invalid=self.skip_invalid)
        observed = ~torch.isnan(Y)
        shown = observed if self.aux_ratio is None else draw_known(observed, self.aux_ratio, self.generator)
        probs = torch.full_like(Y, float("nan"))
        keep = torch.from_numpy(valid)
        if keep.any():
            molecules = MoleculeDataset(Path(self.source).name, self.source, [s for s, ok in zip(smiles, valid) if ok],
                                        Y[keep].numpy(), self.plan.names, frame.lines[valid])
            probs[keep] = score_molecules(
                self.model, featurize(molecules, self.featurizer, progress=False, cache=False), Y[keep], shown[keep],
                self.plan, self.setting, self.support, batch_size=self.batch_size, device=self.device)
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
            progress: bool = True) -> PredictResult:
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
                      source=str(checkpoint))
    columns = input_columns(read_header(Path(input_csv), source), plan, smiles_column, source=source,
                            skip_invalid=skip_invalid)
    if columns.positions and not setting.relational:
        logger.warning("%s: a model trained with --setting %s does not use the known labels of the molecules it "
                       "predicts; they are only passed through", source, setting.name)
    featurizer = ENCODERS[config.encoder].featurizer
    batch_size = batch_size or config.batch_size
    support_set = (load_support(support_data, plan, model, featurizer, shots=shots, seed=seed, batch_size=batch_size,
                                device=dev)
                   if support_data is not None else SupportSet.empty(model.hidden, len(plan.names), dev))
    predictor = Predictor(model, setting, plan, columns, support_set, featurizer, batch_size, dev,
                          aux_ratio, torch.Generator().manual_seed(seed), skip_invalid, source)
    counts = {"rows": 0, "invalid": 0, "predicted": 0}

    def write(fh: IO[bytes]) -> None:
        with _text_writer(fh, gz=output.name.lower().endswith(".gz")) as text:
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(predictor.header())
            with tqdm(total=_count_records(Path(input_csv)), desc="predict", unit="mol",
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
                         plan.new_tasks, len(support_set), counts["predicted"])


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


def _count_records(path: Path) -> int | None:
    """Lines after the header (the progress bar's total); None if the file cannot be read to the end."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return max(sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    except (OSError, EOFError):
        return None
