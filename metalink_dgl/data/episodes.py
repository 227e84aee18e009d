"""Few-shot image classification data (mini-/tiered-ImageNet layout) and N-way K-shot episodes.

The data root holds one folder per split and one sub-folder of images per class::

    <root>/train/<class>/<image>    base classes: pre-training and training episodes
    <root>/val/<class>/<image>      validation episodes (model selection)
    <root>/test/<class>/<image>     novel classes: test episodes

An episode of N classes of a split has K labelled support images and Q query images per
class. As a multi-task block it is N tasks (one per class) over N(K + Q) rows, with the
one-hot labels ``Y`` fully known; the support rows are the ones that reveal them.
Every problem is a one-line :class:`~metalink_dgl.errors.MetaLinkError` naming the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import MetaLinkError
from .images import IMAGE_SUFFIXES

FEWSHOT_SPLITS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class FewShotSplit:
    """The classes of one split.

    Attributes
    ----------
    folder : Path
        ``<root>/<split>``.
    class_names : list of str
        The C class folders, sorted.
    rows : list of ndarray
        Per class, the int64 rows (into :attr:`FewShotData.paths`) of its images.
    """

    folder: Path
    class_names: list[str]
    rows: list[np.ndarray] = field(repr=False)

    def labelled_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """All rows of the split and their class index, (M,) and (M,) int64."""
        labels = np.concatenate([np.full(len(r), c, dtype=np.int64) for c, r in enumerate(self.rows)])
        return np.concatenate(self.rows), labels

    def check_episodes(self, ways: int, per_class: int) -> None:
        """Raise unless ``ways`` classes with ``per_class`` images each can be drawn."""
        if len(self.class_names) < ways:
            raise MetaLinkError(f"{self.folder}: {len(self.class_names)} classes, fewer than --ways {ways}")
        small = [(name, len(r)) for name, r in zip(self.class_names, self.rows) if len(r) < per_class]
        if small:
            name, n = small[0]
            raise MetaLinkError(f"{self.folder / name}: {n} images, fewer than the {per_class} an episode needs "
                                "(--shots + --query)")


@dataclass(frozen=True, eq=False)
class FewShotData:
    """A few-shot dataset: every image file, and the classes of each split.

    Attributes
    ----------
    source : str
        The data root.
    paths : list of str
        Every image of every split (row ``i`` is ``paths[i]``).
    splits : dict
        ``"train"``, ``"val"``, ``"test"`` -> :class:`FewShotSplit`.
    """

    source: str
    paths: list[str]
    splits: dict[str, FewShotSplit]


def load_fewshot(root: str | os.PathLike) -> FewShotData:
    """Read the folder tree of ``root`` (see the module docstring); images are opened only when used."""
    root = Path(root)
    if not root.is_dir():
        raise MetaLinkError(f"--data-root {root}: folder not found")
    paths: list[str] = []
    splits = {}
    for name in FEWSHOT_SPLITS:
        folder = root / name
        if not folder.is_dir():
            raise MetaLinkError(f"{folder}: split folder not found (a few-shot root holds "
                                f"{', '.join(FEWSHOT_SPLITS)}/<class>/<images>)")
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if not classes:
            raise MetaLinkError(f"{folder}: no class folders")
        rows = []
        for cls in classes:
            files = sorted(str(p) for p in (folder / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise MetaLinkError(f"{folder / cls}: no images ({', '.join(IMAGE_SUFFIXES)})")
            rows.append(np.arange(len(paths), len(paths) + len(files), dtype=np.int64))
            paths.extend(files)
        splits[name] = FewShotSplit(folder, classes, rows)
    return FewShotData(str(root), paths, splits)


@dataclass
class Episode:
    """One N-way K-shot episode as a multi-task block of B = N(K + Q) rows and N tasks.

    Attributes
    ----------
    rows : LongTensor, (B,)
        Image rows: the N K support images, then the N Q query images (each part shuffled).
    Y : Tensor, (B, N)
        One-hot labels over the episode's classes.
    support : BoolTensor, (B,)
        True for the support rows.
    classes : LongTensor, (N,)
        The split's class index of each episode class.
    """

    rows: torch.Tensor
    Y: torch.Tensor
    support: torch.Tensor
    classes: torch.Tensor

    @property
    def target(self) -> torch.Tensor:
        """Class (0..N-1) of each query row, (N Q,)."""
        return self.Y[~self.support].argmax(dim=1)


def sample_episode(split: FewShotSplit, ways: int, shots: int, query: int, generator: torch.Generator) -> Episode:
    """Draw ``ways`` classes of ``split`` and ``shots`` + ``query`` distinct images of each.

    Parameters
    ----------
    split : FewShotSplit
        Checked with :meth:`FewShotSplit.check_episodes` beforehand.
    ways, shots, query : int
        N, K and Q.
    generator : torch.Generator
        All randomness comes from it: same state, same episode.
    """
    classes = torch.randperm(len(split.class_names), generator=generator)[:ways]
    support, queries = [], []
    for c in classes.tolist():
        pool = torch.from_numpy(split.rows[c])
        picked = pool[torch.randperm(len(pool), generator=generator)[:shots + query]]
        support.append(picked[:shots])
        queries.append(picked[shots:])
    parts = []
    for block in (support, queries):
        rows = torch.cat(block)
        label = torch.arange(ways).repeat_interleave(len(block[0]))
        order = torch.randperm(len(rows), generator=generator)
        parts.append((rows[order], label[order]))
    rows = torch.cat([parts[0][0], parts[1][0]])
    Y = torch.nn.functional.one_hot(torch.cat([parts[0][1], parts[1][1]]), ways).float()
    is_support = torch.arange(len(rows)) < ways * shots
    return Episode(rows, Y, is_support, classes)
