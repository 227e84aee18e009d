"""Seeded train/val/test splits of a dataset's rows: balanced scaffold (default) and random.

The scaffold split is the *balanced* scaffold split of chemprop, which MetaLink's paper used:
molecules are grouped by Bemis-Murcko scaffold so that no scaffold is shared between two
folds; scaffold sets too big for half of the val or the test fold are placed first, the
others follow in a seeded random order, and each set goes to train if it still fits, else
to val if it fits, else to test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from ..errors import MetaLinkError
from ..io import atomic_write_text
from .molecules import quiet_rdkit

FOLDS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """Row indices of the three folds.

    Attributes
    ----------
    kind : str
        ``'scaffold'`` or ``'random'`` (a key of :data:`SPLITTERS`).
    seed : int
        Seed of the split.
    train, val, test : np.ndarray
        int64 row indices into the dataset; each sorted, the three disjoint and covering
        rows ``0..n-1``.
    frac : tuple of float
        The requested (train, val, test) fractions.
    dataset : str, optional
        Name of the dataset the rows index (recorded in the JSON file).
    """

    kind: str
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    frac: tuple[float, float, float] = (0.8, 0.1, 0.1)
    dataset: str | None = None

    @property
    def n(self) -> int:
        """Number of rows split."""
        return len(self.train) + len(self.val) + len(self.test)

    def sizes(self) -> dict[str, int]:
        """``{'train': ..., 'val': ..., 'test': ...}`` row counts."""
        return {fold: len(getattr(self, fold)) for fold in FOLDS}

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the split atomically as JSON: kind, seed, dataset, n, sizes, fractions and the
        three index lists (one line each)."""
        n = max(self.n, 1)
        meta = {"kind": self.kind, "seed": int(self.seed), "dataset": self.dataset, "n": self.n,
                "sizes": self.sizes(), "fractions": {f: round(len(getattr(self, f)) / n, 6) for f in FOLDS},
                "requested_fractions": [float(f) for f in self.frac]}
        body = {**meta, **{fold: [int(i) for i in getattr(self, fold)] for fold in FOLDS}}
        lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in body.items()]
        atomic_write_text(path, "{\n" + ",\n".join(lines) + "\n}\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike, n: int | None = None) -> Split:
        """Read a split written by :meth:`to_json`, checking it.

        Parameters
        ----------
        path : str or PathLike
        n : int, optional
            Number of rows of the dataset it will index; must match the file.

        Raises
        ------
        MetaLinkError
            Naming the file, if it is missing, not JSON, lacks a field, or its folds are
            not disjoint, out of range or do not cover its ``n`` rows (or ``n``).
        """
        try:
            with open(path) as fh:
                obj = json.load(fh)
        except FileNotFoundError:
            raise MetaLinkError(f"{path}: split file not found") from None
        except (OSError, ValueError) as err:
            raise MetaLinkError(f"{path}: not a readable JSON split file ({err})") from None
        if not isinstance(obj, dict):
            raise MetaLinkError(f"{path}: not a split file (expected a JSON object)")
        missing = [k for k in ("kind", "seed", "n", *FOLDS) if k not in obj]
        if missing:
            raise MetaLinkError(f"{path}: not a split file (missing {', '.join(missing)})")
        folds = {}
        for fold in FOLDS:
            values = obj[fold]
            if not isinstance(values, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                       for i in values):
                raise MetaLinkError(f"{path}: {fold!r} must be a list of integer row indices")
            folds[fold] = np.sort(np.asarray(values, dtype=np.int64))
        size = obj["n"]
        if not isinstance(size, int) or size < 0:
            raise MetaLinkError(f"{path}: 'n' must be a non-negative integer")
        if n is not None and size != n:
            raise MetaLinkError(f"{path}: the split is for {size} rows but the dataset has {n}; "
                                "make a new split for this dataset")
        every = np.concatenate(list(folds.values()))
        if every.size and (every.min() < 0 or every.max() >= size):
            raise MetaLinkError(f"{path}: a row index is outside 0..{size - 1}")
        if np.unique(every).size != every.size:
            raise MetaLinkError(f"{path}: the folds overlap (a row is listed twice)")
        if every.size != size:
            raise MetaLinkError(f"{path}: the folds hold {every.size} rows, not all {size}")
        try:
            frac = tuple(float(f) for f in obj.get("requested_fractions", (0.8, 0.1, 0.1)))
            seed = int(obj["seed"])
        except (TypeError, ValueError):
            raise MetaLinkError(f"{path}: 'seed' must be an integer and 'requested_fractions' three numbers") from None
        return cls(str(obj["kind"]), seed, folds["train"], folds["val"], folds["test"], frac, obj.get("dataset"))


@lru_cache(maxsize=1 << 16)  # splits for several seeds of one dataset reuse the scaffolds
def bemis_murcko_scaffold(smiles: str) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold of a molecule (chirality ignored).

    Acyclic molecules have the empty scaffold ``''`` (so they form one group). Results are
    memoised per SMILES string.

    Raises
    ------
    MetaLinkError
        If RDKit cannot parse ``smiles``.
    """
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        raise MetaLinkError(f"cannot compute the scaffold of {smiles!r}: RDKit cannot parse it")
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False) or ""


def _fold_sizes(n: int, frac: Sequence[float]) -> tuple[float, float, float]:
    if len(frac) != 3 or any(not np.isfinite(f) or f < 0 for f in frac) or abs(sum(frac) - 1.0) > 1e-6:
        raise MetaLinkError(f"split fractions must be three non-negative numbers summing to 1, got {tuple(frac)}")
    return frac[0] * n, frac[1] * n, frac[2] * n


def scaffold_split(smiles: Sequence[str], seed: int, frac: Sequence[float]) -> tuple[np.ndarray, ...]:
    """Balanced scaffold split (chemprop's ``balanced=True``); returns (train, val, test) rows."""
    train_size, val_size, test_size = _fold_sizes(len(smiles), frac)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(smiles):
        groups.setdefault(bemis_murcko_scaffold(s), []).append(i)
    sets = list(groups.values())  # in order of first appearance: deterministic before shuffling
    rng = np.random.default_rng(seed)
    big = [s for s in sets if len(s) > val_size / 2 or len(s) > test_size / 2]
    small = [s for s in sets if not (len(s) > val_size / 2 or len(s) > test_size / 2)]
    ordered = [big[k] for k in rng.permutation(len(big))] + [small[k] for k in rng.permutation(len(small))]
    folds: tuple[list[int], list[int], list[int]] = ([], [], [])
    for members in ordered:
        if len(folds[0]) + len(members) <= train_size:
            folds[0].extend(members)
        elif len(folds[1]) + len(members) <= val_size:
            folds[1].extend(members)
        else:
            folds[2].extend(members)
    return tuple(np.sort(np.asarray(f, dtype=np.int64)) for f in folds)


def random_split(smiles: Sequence[str], seed: int, frac: Sequence[float]) -> tuple[np.ndarray, ...]:
    """Seeded random permutation cut into rounded fold sizes; returns (train, val, test) rows."""
    n = len(smiles)
    train_size, val_size, _ = _fold_sizes(n, frac)
    n_train = int(round(train_size))
    n_val = min(int(round(val_size)), n - n_train)
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    cuts = perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
    return tuple(np.sort(c) for c in cuts)


#: Split kinds by name (the ``--split`` choices).
SPLITTERS: dict[str, Callable[[Sequence[str], int, Sequence[float]], tuple[np.ndarray, ...]]] = {
    "scaffold": scaffold_split,
    "random": random_split,
}


def make_split(smiles: Sequence[str], kind: str = "scaffold", seed: int = 0,
               frac: Sequence[float] = (0.8, 0.1, 0.1), *, dataset: str | None = None) -> Split:
    """Split rows ``0..N-1`` of a dataset into train/val/test.

    Parameters
    ----------
    smiles : sequence of str
        The N molecules (for the scaffold split).
    kind : str
        A key of :data:`SPLITTERS`: ``'scaffold'`` (balanced Bemis-Murcko) or ``'random'``.
    seed : int
        Same seed, same split.
    frac : three floats
        Target (train, val, test) fractions, summing to 1.
    dataset : str, optional
        Dataset name to record in the split.

    Returns
    -------
    Split
    """
    if kind not in SPLITTERS:
        raise MetaLinkError(f"unknown split {kind!r}; choose one of {', '.join(SPLITTERS)}")
    train, val, test = SPLITTERS[kind](list(smiles), int(seed), tuple(frac))
    return Split(kind, int(seed), train, val, test, tuple(float(f) for f in frac), dataset)


def official_split(test_rows: np.ndarray, seed: int, val_frac: float = 0.1, *, dataset: str | None = None) -> Split:
    """A dataset's own train/test division (MS-COCO's train and val files), with a seeded validation fold.

    Parameters
    ----------
    test_rows : ndarray of bool, (N,)
        True for the rows of the official test (validation) file.
    seed : int
        Seed of the validation draw: a random ``val_frac`` of the official training rows.
    val_frac : float
        Fraction of the official training rows held out for model selection.
    dataset : str, optional

    Returns
    -------
    Split
        Kind ``'official'``; ``frac`` records the resulting fractions.
    """
    test_rows = np.asarray(test_rows, dtype=bool)
    train_all = np.flatnonzero(~test_rows).astype(np.int64)
    n_val = int(round(val_frac * len(train_all)))
    perm = np.random.default_rng(seed).permutation(train_all)
    train, val, test = np.sort(perm[n_val:]), np.sort(perm[:n_val]), np.flatnonzero(test_rows).astype(np.int64)
    n = max(len(test_rows), 1)
    return Split("official", int(seed), train, val, test, (len(train) / n, len(val) / n, len(test) / n), dataset)
