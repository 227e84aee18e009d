"""Featurizers by name: pairs of dgllife atom/bond featurizers and how a molecule graph is built.

An encoder names the featurizer it reads (:data:`metalink_dgl.nn.ENCODERS`); the engine looks
the spec up here and gives it to the encoder, so :mod:`metalink_dgl.nn` never imports data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Callable

import dgl
import torch
from dgllife.utils import (
    AttentiveFPAtomFeaturizer,
    AttentiveFPBondFeaturizer,
    CanonicalAtomFeaturizer,
    CanonicalBondFeaturizer,
    PretrainAtomFeaturizer,
    PretrainBondFeaturizer,
    smiles_to_bigraph,
)
from rdkit import Chem

from ..errors import MetaLinkError
from .molecules import quiet_rdkit

_PROBE_SMILES = "CCO"  # a small molecule with bonds, used to read feature keys/shapes/dtypes


@dataclass(frozen=True)
class FeaturizerSpec:
    """A named pair of dgllife atom/bond featurizers and how the graph is built.

    Attributes
    ----------
    name : str
        Registry name (a key of :data:`FEATURIZERS`).
    make_atom, make_bond : callable
        Zero-argument factories of the dgllife atom and bond featurizers.
    add_self_loop : bool
        Whether :func:`dgllife.utils.smiles_to_bigraph` adds a self loop to every atom.
    categorical : bool
        True when features are integer category indices (one 1-D tensor per key, for
        embedding tables, e.g. dgllife's GIN) rather than dense float vectors.
    key : dict
        Every setting that changes the graphs; part of the cache key.
    """

    name: str
    make_atom: Callable[[], Any] = field(repr=False)
    make_bond: Callable[[], Any] = field(repr=False)
    add_self_loop: bool
    categorical: bool = False
    key: dict = field(default_factory=dict)

    @cached_property
    def _probe(self) -> tuple[dict, dict]:
        with quiet_rdkit():  # dgllife calls RDKit APIs that log deprecation warnings
            mol = Chem.MolFromSmiles(_PROBE_SMILES)
            return self.make_atom()(mol), self.make_bond()(mol)

    @cached_property
    def node_feat_size(self) -> int:
        """Width of the dense node features (``featurizer.feat_size()``); for a categorical
        featurizer, the number of categorical node features (keys)."""
        if self.categorical:
            return len(self._probe[0])
        with quiet_rdkit():
            return int(self.make_atom().feat_size())

    @cached_property
    def edge_feat_size(self) -> int:
        """Width of the dense edge features (``featurizer.feat_size()``); for a categorical
        featurizer, the number of categorical edge features (keys)."""
        if self.categorical:
            return len(self._probe[1])
        with quiet_rdkit():
            return int(self.make_bond().feat_size())

    @property
    def node_keys(self) -> list[str]:
        """``g.ndata`` keys the featurizer writes, e.g. ``['h']``."""
        return list(self._probe[0])

    @property
    def edge_keys(self) -> list[str]:
        """``g.edata`` keys the featurizer writes, e.g. ``['e']``."""
        return list(self._probe[1])

    @property
    def node_vocab(self) -> dict[str, int]:
        """Categorical featurizers: number of categories per node key (empty when dense)."""
        return _vocab(self.make_atom(), {"atomic_number": "_atomic_number_types",
                                         "chirality_type": "_chiral_types"}) if self.categorical else {}

    @property
    def edge_vocab(self) -> dict[str, int]:
        """Categorical featurizers: number of categories per edge key, the self-loop type
        included (empty when dense)."""
        if not self.categorical:
            return {}
        bond = self.make_bond()
        vocab = _vocab(bond, {"bond_type": "_bond_types", "bond_direction_type": "_bond_direction_types"})
        if self.add_self_loop and "bond_type" in vocab:
            vocab["bond_type"] += 1  # self loops get the extra index len(bond_types)
        return vocab

    def blocks(self, kind: str) -> dict[str, tuple[tuple[int, int], ...]]:
        """Per 2-D feature key of ``kind`` ('node' or 'edge'), the ``(start, width)`` column block of each
        function of the dgllife featurizer (its ``ConcatFeaturizer``'s ``func_list``, measured on the
        probe molecule), in column order.

        Columns the functions do not cover (the self-loop flag dgllife's bond featurizers append) form
        one last block; a featurizer without a function list gives one block of every column. Blocks
        are candidates for :func:`~metalink_dgl.data.compact.encode`, which checks each on the data.
        """
        featurizer = self.make_atom() if kind == "node" else self.make_bond()
        probe = self._probe[0] if kind == "node" else self._probe[1]
        out = {}
        with quiet_rdkit():
            mol = Chem.MolFromSmiles(_PROBE_SMILES)
            item = mol.GetAtomWithIdx(0) if kind == "node" else mol.GetBondWithIdx(0)
            for key, value in probe.items():
                if value.dim() != 2:
                    continue
                funcs = getattr(getattr(featurizer, "featurizer_funcs", {}).get(key), "func_list", None) or []
                widths = [w for w in (len(f(item)) for f in funcs) if w]
                total = int(value.shape[1])
                if sum(widths) > total:
                    widths = []
                if sum(widths) < total:
                    widths.append(total - sum(widths))
                starts = [sum(widths[:i]) for i in range(len(widths))]
                out[key] = tuple(zip(starts, widths))
        return out

    def empty_like(self, kind: str) -> dict[str, torch.Tensor]:
        """Zero-row tensors with each key's trailing shape and dtype (``kind`` = 'node' or 'edge')."""
        probe = self._probe[0] if kind == "node" else self._probe[1]
        return {k: v.new_zeros((0, *v.shape[1:])) for k, v in probe.items()}

    def graph_maker(self) -> Callable[[str], dgl.DGLGraph | None]:
        """A function SMILES -> featurized dgllife bigraph (None if RDKit cannot parse it)."""
        atom, bond = self.make_atom(), self.make_bond()
        return partial(smiles_to_bigraph, add_self_loop=self.add_self_loop, node_featurizer=atom,
                       edge_featurizer=bond)


def _vocab(featurizer: Any, attrs: dict[str, str]) -> dict[str, int]:
    return {key: len(getattr(featurizer, attr)) for key, attr in attrs.items() if hasattr(featurizer, attr)}


#: Featurizers by name; an encoder names the one it reads.
FEATURIZERS: dict[str, FeaturizerSpec] = {
    "canonical": FeaturizerSpec(
        "canonical", lambda: CanonicalAtomFeaturizer(atom_data_field="h"),
        lambda: CanonicalBondFeaturizer(bond_data_field="e", self_loop=True), add_self_loop=True,
        key={"atom": "CanonicalAtomFeaturizer", "bond": "CanonicalBondFeaturizer", "self_loop": True},
    ),
    "attentivefp": FeaturizerSpec(
        "attentivefp", lambda: AttentiveFPAtomFeaturizer(atom_data_field="h"),
        lambda: AttentiveFPBondFeaturizer(bond_data_field="e", self_loop=False), add_self_loop=False,
        key={"atom": "AttentiveFPAtomFeaturizer", "bond": "AttentiveFPBondFeaturizer", "self_loop": False},
    ),
    "pretrain": FeaturizerSpec(
        "pretrain", PretrainAtomFeaturizer, lambda: PretrainBondFeaturizer(self_loop=True), add_self_loop=True,
        categorical=True,
        key={"atom": "PretrainAtomFeaturizer", "bond": "PretrainBondFeaturizer", "self_loop": True},
    ),
}


def get_featurizer(name: str) -> FeaturizerSpec:
    """The featurizer ``name`` (a key of :data:`FEATURIZERS`); a one-line error for an unknown one."""
    if name not in FEATURIZERS:
        raise MetaLinkError(f"unknown featurizer {name!r}; choose one of {', '.join(FEATURIZERS)}")
    return FEATURIZERS[name]
