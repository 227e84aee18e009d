"""The resolved configuration of a training run: every CLI flag, validated, JSON round-trippable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .errors import MetaLinkError
from .nn import EDGE_PREDICTORS, ENCODERS, MODELS
from .settings import HELDOUT_PICKS, SETTINGS, check_aux_ratio


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults follow the paper's appendix A."""

    dataset: str = "tox21"
    smiles_column: str | None = None
    task_columns: list[str] | None = None
    skip_invalid: bool = False
    cache_dir: str | None = None
    max_molecules: int | None = None  # seeded random slice of the dataset, for quick runs
    setting: str = "relational"
    aux_ratio: float = 0.2  # fraction of auxiliary tasks each query example reveals (relational)
    heldout_ratio: float = 0.2  # fraction of tasks held out of training (meta)
    heldout_tasks: str = "random"  # which: a seeded sample, or the last columns (the authors' protocol)
    shots: int = 256  # support examples labelled on the held-out tasks at test time (meta)
    support_ratio: float = 0.5  # fraction of a training minibatch used as support (meta)
    model: str = "metalink"  # or a baseline: labels-as-features, baseline++ (no KG layers)
    layers: int = 2  # KG layers L
    encoder: str = "gcn"
    hidden: int = 256
    dropout: float = 0.0
    edge_pred: str = "dot"
    shared_weights: bool = False
    split: str = "scaffold"
    seeds: list[int] = field(default_factory=lambda: [0])
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    device: str = "auto"
    threads: int = 0  # torch CPU threads; 0 keeps torch's default (one per core)
    out: str = "runs/default"

    def validate(self) -> TrainConfig:
        """Raise :class:`MetaLinkError` naming the first bad option; return ``self``."""
        check_aux_ratio(self.aux_ratio)
        checks = [
            (self.setting in SETTINGS, f"--setting {self.setting!r} is not one of {', '.join(SETTINGS)}"),
            (self.encoder in ENCODERS, f"--encoder {self.encoder!r} is not one of {', '.join(ENCODERS)}"),
            (self.edge_pred in EDGE_PREDICTORS,
             f"--edge-pred {self.edge_pred!r} is not one of {', '.join(EDGE_PREDICTORS)}"),
            (0.0 < self.heldout_ratio < 1.0, f"--heldout-ratio {self.heldout_ratio} must be in (0, 1)"),
            (self.heldout_tasks in HELDOUT_PICKS,
             f"--heldout-tasks {self.heldout_tasks!r} is not one of {', '.join(HELDOUT_PICKS)}"),
            (0.0 < self.support_ratio < 1.0, f"--support-ratio {self.support_ratio} must be in (0, 1)"),
            (self.shots >= 1, f"--shots {self.shots} must be at least 1"),
            (self.model in MODELS, f"--model {self.model!r} is not one of {', '.join(MODELS)}"),
            (self.layers >= 0, f"--layers {self.layers} must be >= 0"),
            (self.model == "metalink" or self.layers == 0,
             f"--model {self.model} has no knowledge-graph layers: pass --layers 0"),
            (self.layers >= 1 or not SETTINGS[self.setting].meta or self.model != "metalink",
             f"--setting {self.setting} needs --layers >= 1: with no KG layer, new tasks have no head "
             "(or use --model baseline++ --layers 0)"),
            (self.model != "labels-as-features" or not SETTINGS[self.setting].meta,
             f"--model labels-as-features has no head for new tasks: it cannot run --setting {self.setting}"),
            (self.hidden >= 1, f"--hidden {self.hidden} must be positive"),
            (0.0 <= self.dropout < 1.0, f"--dropout {self.dropout} must be in [0, 1)"),
            (self.epochs >= 1, f"--epochs {self.epochs} must be at least 1"),
            (self.batch_size >= 2, f"--batch-size {self.batch_size} must be at least 2"),
            (self.lr > 0, f"--lr {self.lr} must be positive"),
            (self.threads >= 0, f"--threads {self.threads} must be >= 0"),
            (len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds),
             f"--seeds {self.seeds} must be distinct"),
            (self.max_molecules is None or self.max_molecules >= 10,
             f"--max-molecules {self.max_molecules} must be >= 10"),
        ]
        for ok, message in checks:
            if not ok:
                raise MetaLinkError(message)
        return self

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error (a config from another version)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise MetaLinkError(f"config has unknown options {unknown}; it was written by another version")
        return cls(**d)
