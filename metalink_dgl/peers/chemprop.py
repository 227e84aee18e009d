"""chemprop's D-MPNN (Yang et al., 2019; chemprop 2.1) as a peer method, scored on our pairs.

The peer trains and is scored by the loop every method here goes through
(:mod:`metalink_dgl.engine.multitask`): our split of the seed, our evaluation draw, the loss over
the queried (molecule, task) pairs read from our label matrix (NaN = not measured), the epoch of
best validation score by :mod:`metalink_dgl.metrics`, and the same run files. So its test score
is on exactly the pairs of the standard setting of that seed. Two pieces are chemprop's:

* :class:`ChempropInputs`, the input bank: each molecule of our dataset (our rows, our order) as
  chemprop's ``MolGraph``, from chemprop's default featurizer
  (``SimpleMoleculeMolGraphFeaturizer``: v2 multi-hot atoms, 72 features; bonds, 14); a
  minibatch is chemprop's ``BatchMolGraph``.
* :class:`ChempropDMPNN`, the model: chemprop's ``BondMessagePassing`` (directed bond messages),
  ``MeanAggregation`` and FFN head (``BinaryClassificationFFN`` for binary tasks,
  ``RegressionFFN`` for continuous ones), at chemprop's defaults (hidden size 300, depth 3, one
  FFN hidden layer of 300, no dropout, no batch norm). It reads no knowledge graph: a
  standard-setting model.

What is not chemprop's: the optimiser and schedule (the run's ``--lr`` with Adam and a cosine
schedule, as every method here; chemprop's own trainer warms up to 1e-3 and decays, Noam-like)
and the batch size (the run's, 128 in the tables). Continuous labels are standardised on the
training fold by our :class:`~metalink_dgl.data.scaling.LabelScaler`, as chemprop scales its
targets. chemprop is an optional dependency (``pip install -e '.[peers]'``), imported when the
peer is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import dgl
import torch
from torch import nn

from ..data.molecules import quiet_rdkit
from ..errors import MetaLinkError
from ..kg.settings import Setting

#: ``--model`` names of the peers (methods of other libraries, trained and scored on our pairs).
PEERS = ("chemprop",)
#: The chemprop releases the peer is written for (the ``peers`` extra of setup.cfg).
CHEMPROP_REQUIREMENT = "chemprop>=2.1,<2.2"


def import_chemprop():
    """The ``chemprop`` package, or a one-line :class:`MetaLinkError` saying how to install it."""
    try:
        chemprop = importlib.import_module("chemprop")
    except ImportError:
        raise MetaLinkError(f"--model chemprop needs chemprop ({CHEMPROP_REQUIREMENT}): "
                            "pip install -e '.[peers]'") from None
    version = tuple(int(p) for p in chemprop.__version__.split(".")[:2] if p.isdigit())
    if version[:1] != (2,) or version < (2, 1):
        raise MetaLinkError(f"--model chemprop needs {CHEMPROP_REQUIREMENT}, found chemprop {chemprop.__version__}: "
                            "pip install -e '.[peers]'")
    return chemprop


class _Batch:
    """A minibatch of molecule graphs; ``.to(device)`` gives chemprop's ``BatchMolGraph`` there."""

    def __init__(self, bmg):
        self.bmg = bmg

    def to(self, device: torch.device | str):
        self.bmg.to(device)  # chemprop moves it in place and returns None
        return self.bmg


class ChempropInputs:
    """The molecules ``smiles`` (our dataset's rows, in order) featurized by chemprop's default featurizer.

    ``batch(idx)`` is the input bank interface of :class:`~metalink_dgl.data.MoleculeGraphs`:
    rows ``idx`` of the dataset, in that order, as one minibatch (``.to(device)`` gives chemprop's
    ``BatchMolGraph``). Each SMILES is read by chemprop (``chemprop.utils.make_mol``: RDKit,
    implicit hydrogens), as chemprop reads a CSV.

    Parameters
    ----------
    smiles : sequence of str
        The N molecules, row ``i`` of the dataset being ``smiles[i]``.
    """

    def __init__(self, smiles: Sequence[str]):
        chemprop = import_chemprop()
        from chemprop.featurizers import SimpleMoleculeMolGraphFeaturizer
        from chemprop.utils import make_mol

        self.smiles = list(smiles)
        self.featurizer = SimpleMoleculeMolGraphFeaturizer()
        with quiet_rdkit():  # RDKit's hydrogen notes, once per molecule; our reader already parsed them all
            self.graphs = [self.featurizer(make_mol(s, keep_h=False, add_h=False)) for s in self.smiles]
        self._batch_cls = chemprop.data.BatchMolGraph

    def __len__(self) -> int:
        return len(self.graphs)

    def __repr__(self) -> str:
        atoms, bonds = self.featurizer.shape
        return f"ChempropInputs({len(self)} molecules, {atoms} atom / {bonds} bond features)"

    def batch(self, idx, train: bool = False) -> _Batch:
        """Rows ``idx`` (any integer sequence) as one minibatch; ``train`` changes nothing (no augmentation)."""
        rows = torch.as_tensor(idx).reshape(-1).tolist()
        return _Batch(self._batch_cls([self.graphs[i] for i in rows]))


class ChempropDMPNN(nn.Module):
    """chemprop's D-MPNN behind our model interface (``embed``, ``score_pairs``, ``training_setting``).

    ``embed`` is chemprop's fingerprint (bond message passing, then the mean over a molecule's
    atoms), ``score_pairs`` its FFN head's output for the queried pairs: logits of the binary
    tasks, standardised values of the continuous ones (see
    :class:`~metalink_dgl.data.scaling.LabelScaler`).

    Parameters
    ----------
    n_tasks : int
        ``T``, outputs of the head.
    regression : bool
        ``RegressionFFN`` (some task continuous) instead of ``BinaryClassificationFFN``. chemprop
        has no head for a mixed matrix; both heads are the same MLP, so a mixed matrix's binary
        tasks read logits from the regression head's raw outputs.
    atom_feats, bond_feats : int
        Feature sizes of the featurizer (:attr:`ChempropInputs.featurizer` ``.shape``).
    """

    def __init__(self, n_tasks: int, regression: bool = False, *, atom_feats: int | None = None,
                 bond_feats: int | None = None):
        super().__init__()
        import_chemprop()
        from chemprop import nn as cnn
        from chemprop.featurizers import SimpleMoleculeMolGraphFeaturizer

        if atom_feats is None or bond_feats is None:
            atom_feats, bond_feats = SimpleMoleculeMolGraphFeaturizer().shape
        self.n_tasks, self.regression = n_tasks, regression
        self.message_passing = cnn.BondMessagePassing(d_v=atom_feats, d_e=bond_feats)
        self.agg = cnn.MeanAggregation()
        head = cnn.RegressionFFN if regression else cnn.BinaryClassificationFFN
        self.predictor = head(n_tasks=n_tasks, input_dim=self.message_passing.output_dim)

    def embed(self, bmg) -> torch.Tensor:
        """chemprop's learned fingerprint of each molecule of the ``BatchMolGraph``: (B, 300)."""
        return self.agg(self.message_passing(bmg), bmg.batch)

    def score_pairs(self, z: torch.Tensor, kg: dgl.DGLGraph, task_ids: torch.Tensor, src: torch.Tensor,
                    dst: torch.Tensor) -> torch.Tensor:
        """Head outputs (Q,) of the queried pairs ``(src, dst)``; the knowledge graph ``kg`` is not read."""
        if (task_ids < 0).any():
            raise MetaLinkError("--model chemprop has no head for new tasks: it runs in the standard setting")
        return self.predictor.train_step(z)[:, task_ids][src, dst]  # logits (binary), no sigmoid

    def training_setting(self, setting: Setting) -> Setting:
        """Trained on the masks of the setting it is scored in (the standard one)."""
        return setting

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, regression={self.regression}"
