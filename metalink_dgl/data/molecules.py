"""RDKit helpers shared by the data modules: does a SMILES parse, and RDKit's logging kept quiet."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from rdkit import Chem, RDLogger


def parseable(smiles: list[str]) -> np.ndarray:
    """(N,) bool: RDKit parses the SMILES (an empty one is invalid). RDKit's own logging is silenced."""
    with quiet_rdkit():
        return np.array([bool(s) and Chem.MolFromSmiles(s) is not None for s in smiles], dtype=bool)


@contextlib.contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Silence RDKit's parser messages (they go straight to stderr) for the duration."""
    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.error")
        RDLogger.EnableLog("rdApp.warning")
