"""The resolved configuration of a training run: every CLI flag, validated, JSON round-trippable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from ..errors import MetaLinkError
from ..kg.settings import HELDOUT_PICKS, SETTINGS, check_aux_ratio
from ..nn import EDGE_PREDICTORS, ENCODERS, IMAGE_ENCODERS, MESSAGES, MODELS, NEW_TASK_INITS

#: ``--dataset`` names read from ``--data-root`` instead of a CSV.
IMAGE_DATASETS = ("coco", "fewshot")
#: ``--split`` kinds: the molecular splitters plus ``official`` (COCO's train/val files).
SPLIT_KINDS = ("scaffold", "random", "official")
OPTIMIZERS = ("adam", "sgd")

#: Defaults that depend on the kind of dataset (fields left ``None``): molecules, COCO, few-shot.
_DEFAULTS = {
    "molecules": dict(setting="relational", encoder="gcn", split="scaffold", shots=256, edge_pred="dot",
                      batch_size=128),
    "coco": dict(setting="relational", encoder="resnet50", split="official", shots=256, edge_pred="dot",
                 batch_size=128, image_size=224),
    "fewshot": dict(setting="meta", encoder="resnet12", split="official", shots=5, edge_pred="cos",
                    batch_size=4, image_size=84),
}


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults follow the paper's appendix A.

    Fields left ``None`` take the default of the dataset's kind (molecules, ``coco`` or
    ``fewshot``) when the config is made, so a saved config always holds resolved values.
    """

    dataset: str = "tox21"
    data_root: str | None = None  # folder of a coco / fewshot dataset
    smiles_column: str | None = None
    task_columns: list[str] | None = None
    task_types: dict[str, str] | None = None  # forced type ("binary" / "regression") of some task columns
    skip_invalid: bool = False
    cache_dir: str | None = None
    max_molecules: int | None = None  # seeded random slice of the dataset, for quick runs
    setting: str | None = None  # relational (meta for fewshot: its episodes are meta by construction)
    aux_ratio: float = 0.2  # fraction of auxiliary tasks each query example reveals (relational)
    heldout_ratio: float = 0.2  # fraction of tasks held out of training (meta)
    heldout_tasks: str = "random"  # which: a seeded sample, or the last columns (the authors' protocol)
    shots: int | None = None  # meta: K labelled support examples per held-out task at test (256); fewshot: K per class
    support_ratio: float = 0.5  # fraction of a training minibatch used as support (meta)
    episode_heads: bool = False  # meta training: seen tasks that are not new in an episode are queried via their heads
    model: str = "metalink"  # or a baseline: labels-as-features, baseline++ (no KG layers)
    layers: int = 2  # KG layers L
    encoder: str | None = None  # gcn; resnet50 for coco, resnet12 for fewshot
    hidden: int = 256
    dropout: float = 0.0
    edge_pred: str | None = None  # dot; cos (Meta-Baseline's scaled cosine) for fewshot
    shared_weights: bool = False
    new_task_init: str = "ones"  # meta: new task nodes start from ones (paper) or their support prototype
    message: str = "add"  # KG message: ReLU(W h + O y) (eq. 3) or gated (the authors' code)
    image_size: int | None = None  # 224 for coco, 84 for fewshot
    width: int = 64  # ResNet-12 channels of its first stage (64-160-320-640 scaled)
    pretrained: str | None = None  # local torchvision-style state_dict of the image backbone
    ways: int = 5  # fewshot: classes per episode (N)
    query: int = 15  # fewshot: query images per class of an episode
    episodes: int = 200  # fewshot: training episodes per epoch
    test_episodes: int = 800  # fewshot: validation and test episodes
    pretrain_epochs: int = 100  # fewshot: supervised pre-training epochs on the base classes
    pretrain_lr: float = 0.1  # fewshot: learning rate of the pre-training stage
    split: str | None = None  # scaffold; official (train/val files, else random) for coco
    seeds: list[int] = field(default_factory=lambda: [0])
    epochs: int = 50
    batch_size: int | None = None  # 128 examples; fewshot: 4 episodes per optimizer step
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"  # sgd: momentum 0.9 (the few-shot recipe)
    device: str = "auto"
    threads: int = 0  # torch CPU threads; 0 keeps torch's default (one per core)
    out: str = "runs/default"

    def __post_init__(self):
        for name, value in _DEFAULTS[self.kind].items():
            if getattr(self, name) is None:
                setattr(self, name, value)

    @property
    def kind(self) -> str:
        """``'molecules'``, ``'coco'`` or ``'fewshot'``."""
        return self.dataset if self.dataset in IMAGE_DATASETS else "molecules"

    def validate(self) -> TrainConfig:
        """Raise :class:`MetaLinkError` naming the first bad option; return ``self``."""
        check_aux_ratio(self.aux_ratio)
        images = self.kind != "molecules"
        encoders = IMAGE_ENCODERS if images else ENCODERS
        meta = SETTINGS.get(self.setting, SETTINGS["standard"]).meta
        checks = [
            (not images or self.data_root is not None,
             f"--dataset {self.dataset} needs --data-root, the folder that holds the data"),
            (images or self.data_root is None, f"--data-root is for --dataset {' or '.join(IMAGE_DATASETS)} only"),
            (not images or self.max_molecules is None, "--max-molecules slices molecule datasets only"),
            (self.setting in SETTINGS, f"--setting {self.setting!r} is not one of {', '.join(SETTINGS)}"),
            (self.kind != "fewshot" or self.setting == "meta",
             f"--dataset fewshot runs N-way K-shot episodes (the meta setting), not --setting {self.setting}"),
            (self.encoder in encoders,
             f"--encoder {self.encoder!r} does not read {self.kind}; choose one of {', '.join(encoders)}"),
            (self.split in SPLIT_KINDS, f"--split {self.split!r} is not one of {', '.join(SPLIT_KINDS)}"),
            (not images or self.split != "scaffold",
             "--split scaffold groups molecules by scaffold; images use --split official or random"),
            (images or self.split != "official", "--split official is for coco's train/val annotation files"),
            (self.pretrained is None or images, "--pretrained loads an image backbone; it is for coco and fewshot"),
            (self.image_size is None or self.image_size >= 16, f"--image-size {self.image_size} must be >= 16"),
            (self.width >= 1, f"--width {self.width} must be positive"),
            (self.ways >= 2, f"--ways {self.ways} must be at least 2"),
            (self.query >= 1, f"--query {self.query} must be at least 1"),
            (self.episodes >= 1 and self.test_episodes >= 1,
             f"--episodes {self.episodes} and --test-episodes {self.test_episodes} must be positive"),
            (self.pretrain_epochs >= 0, f"--pretrain-epochs {self.pretrain_epochs} must be >= 0"),
            (self.pretrain_lr > 0, f"--pretrain-lr {self.pretrain_lr} must be positive"),
            (self.optimizer in OPTIMIZERS, f"--optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}"),
            (self.edge_pred in EDGE_PREDICTORS,
             f"--edge-pred {self.edge_pred!r} is not one of {', '.join(EDGE_PREDICTORS)}"),
            (0.0 < self.heldout_ratio < 1.0, f"--heldout-ratio {self.heldout_ratio} must be in (0, 1)"),
            (self.message in MESSAGES, f"--message {self.message!r} is not one of {', '.join(MESSAGES)}"),
            (self.new_task_init in NEW_TASK_INITS,
             f"--new-task-init {self.new_task_init!r} is not one of {', '.join(NEW_TASK_INITS)}"),
            (self.heldout_tasks in HELDOUT_PICKS,
             f"--heldout-tasks {self.heldout_tasks!r} is not one of {', '.join(HELDOUT_PICKS)}"),
            (0.0 < self.support_ratio < 1.0, f"--support-ratio {self.support_ratio} must be in (0, 1)"),
            (not self.episode_heads or (meta and self.kind != "fewshot" and self.model == "metalink"),
             "--episode-heads changes MetaLink's training episodes in --setting meta and relational-meta"),
            (self.shots >= 1, f"--shots {self.shots} must be at least 1"),
            (self.model in MODELS, f"--model {self.model!r} is not one of {', '.join(MODELS)}"),
            (self.layers >= 0, f"--layers {self.layers} must be >= 0"),
            (self.model == "metalink" or self.layers == 0,
             f"--model {self.model} has no knowledge-graph layers: pass --layers 0"),
            (self.layers >= 1 or self.kind == "fewshot" or not meta or self.model != "metalink"
             or self.new_task_init == "prototype",
             f"--setting {self.setting} needs --layers >= 1: with no KG layer, new tasks have no head "
             "(or use --new-task-init prototype, or --model baseline++ --layers 0)"),
            (self.kind != "fewshot" or self.model == "metalink",
             f"--dataset fewshot runs MetaLink (--layers 0: Meta-Baseline), not --model {self.model}"),
            (self.model != "labels-as-features" or not meta,
             f"--model labels-as-features has no head for new tasks: it cannot run --setting {self.setting}"),
            (self.hidden >= 1, f"--hidden {self.hidden} must be positive"),
            (0.0 <= self.dropout < 1.0, f"--dropout {self.dropout} must be in [0, 1)"),
            (self.epochs >= 1, f"--epochs {self.epochs} must be at least 1"),
            (self.batch_size >= (1 if self.kind == "fewshot" else 2),
             f"--batch-size {self.batch_size} must be at least 2 (1 episode for fewshot)"),
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
