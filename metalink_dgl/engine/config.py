"""The resolved configuration of a training run: every CLI flag, validated, JSON round-trippable.

Each field carries the help of its ``metalink-dgl train`` option (and its choices) in its
``metadata``; ``cli.options`` turns the fields into click options, so a flag is described once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

from ..device import DEVICES
from ..errors import MetaLinkError
from ..kg.settings import AUX_TASKS, HELDOUT_PICKS, SETTINGS, check_aux_ratio
from ..label_matrix import LABEL_STORAGES
from ..nn import (
    AGGREGATES,
    DATA_INITS,
    EDGE_PREDICTORS,
    ENCODERS,
    IMAGE_ENCODERS,
    LABEL_TERMS,
    MESSAGES,
    MODELS,
    NEW_TASK_INITS,
)
from ..peers.chemprop import PEERS

#: ``--dataset`` names read from ``--data-root`` instead of a CSV.
IMAGE_DATASETS = ("coco", "fewshot")
#: ``--split`` kinds: the molecular splitters plus ``official`` (COCO's train/val files).
SPLIT_KINDS = ("scaffold", "random", "official")
OPTIMIZERS = ("adam", "sgd")
#: ``--episode-embed``: when the support rows of ``--episode-shots`` episodes are embedded.
EPISODE_EMBEDS = ("epoch", "step")
#: ``--episode-query``: which new tasks of a training episode are queried.
EPISODE_QUERIES = ("all", "informed")
#: ``--dataset`` of the commands that read molecules; ``train`` also reads the image datasets.
MOLECULE_DATASETS_HELP = ("Bundled dataset name (tox21, sider, toxcast, adme) or a path to a CSV of SMILES + task "
                          "columns")

#: Defaults that depend on the kind of dataset (fields left ``None``): molecules, COCO, few-shot.
KIND_DEFAULTS = {
    "molecules": dict(setting="relational", encoder="gcn", split="scaffold", shots=256, edge_pred="dot",
                      batch_size=128),
    "coco": dict(setting="relational", encoder="resnet50", split="official", shots=256, edge_pred="dot",
                 batch_size=128, image_size=224),
    "fewshot": dict(setting="meta", encoder="resnet12", split="official", shots=5, edge_pred="cos",
                    batch_size=4, image_size=84),
}


def _option(default: Any = None, help: str = "", *, factory: Callable[[], Any] | None = None, **cli: Any) -> Any:
    """A dataclass field that carries its command-line description in ``metadata``.

    ``help`` is the option's help text; ``cli`` may add ``choices`` (the allowed values), ``path``
    (``"dir"`` or ``"file"``: the value names one), ``required`` (the command line must give it)
    and ``default_text`` (the default shown for a field left ``None`` that :data:`KIND_DEFAULTS`
    does not fill). ``cli.options`` reads them.
    """
    metadata = {"help": help, **cli}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults follow the paper's appendix A.

    Fields left ``None`` take the default of the dataset's kind (molecules, ``coco`` or
    ``fewshot``, :data:`KIND_DEFAULTS`) when the config is made, so a saved config always holds
    resolved values.
    """

    # the data
    dataset: str = _option("tox21", MOLECULE_DATASETS_HELP + ", or coco / fewshot (images under --data-root).",
                           required=True)
    data_root: str | None = _option(
        None, "Folder of --dataset coco (annotations/instances_*.json + image folders) or fewshot "
        "(train|val|test/<class>/<images>).", path="dir")
    smiles_column: str | None = _option(None, "SMILES column of a user CSV.", default_text="smiles, any case")
    task_columns: list[str] | None = _option(None, "Comma-separated task columns of a user CSV.",
                                             default_text="every column but the SMILES one")
    task_types: dict[str, str] | None = _option(
        None, "Force the type of task columns, e.g. 'pIC50=regression,active=binary'.",
        default_text="inferred: a column of only 0/1 is binary, any other numbers make it regression")
    skip_invalid: bool = _option(False, "Drop rows RDKit cannot parse (with one warning) instead of stopping with "
                                 "an error.")
    cache_dir: str | None = _option(None, "Featurized-graph cache.", path="dir",
                                    default_text="$METALINK_DGL_CACHE or ~/.cache/metalink-dgl")
    label_storage: str = _option("auto", "How the label matrix is held: dense, sparse (only the observed labels, "
                                 "row by row; identical results), or auto (sparse when under 40 % of the cells "
                                 "are observed).", choices=LABEL_STORAGES)
    max_molecules: int | None = _option(None, "Train on a seeded random slice of this many molecules (quick runs).",
                                        default_text="all")
    workers: int = _option(1, "Processes that featurize the molecules when the cache does not hold them yet (each "
                           "finished chunk is kept, so an interrupted run resumes); the graphs are the same for "
                           "any number.")
    # the setting
    setting: str | None = _option(
        None, "Which labels are revealed and which queried: standard (none revealed), relational (each query "
        "example reveals --aux-ratio of its tasks), meta (--heldout-ratio of the tasks held out, shown at test "
        "through --shots support examples) or relational-meta (both).", choices=tuple(SETTINGS))
    aux_ratio: float = _option(0.2, "Fraction of auxiliary tasks each query example reveals (relational settings); "
                               "also fixes which pairs are scored.")
    heldout_ratio: float = _option(0.2, "Fraction of tasks held out of training (meta settings).")
    heldout_tasks: str = _option("random", "Which tasks are held out (meta settings): a seeded random sample, or "
                                 "the last columns (the same tasks for every seed, as in the authors' code).",
                                 choices=HELDOUT_PICKS)
    aux_tasks: str = _option("seen", "Meta settings: the tasks a validation or test query example may reveal "
                             "(relational-meta) and is not scored on: the seen tasks (the paper's text), or all, "
                             "the other held-out tasks included. Training episodes are not changed.",
                             choices=AUX_TASKS)
    shots: int | None = _option(None, "K-shot support at test time (meta settings): each held-out task shows K of "
                                "its labelled training examples, or all if it has fewer; fewshot: support images "
                                "per class, K.")
    support_ratio: float = _option(0.5, "Fraction of a training minibatch used as support in meta episodes.")
    episode_shots: int | None = _option(None, "Meta settings: each training episode's target tasks show up to K "
                                        "labelled support rows drawn from the whole training fold, as at test "
                                        "(--shots), instead of the minibatch's --support-ratio half; every "
                                        "minibatch row is then a query.")
    episode_embed: str = _option("epoch", "With --episode-shots: embed the support rows once per epoch for the "
                                 "whole training fold (eval mode, as at test) or at every step with the current "
                                 "model in training mode (costs S forward passes a step); no gradient either way.",
                                 choices=EPISODE_EMBEDS)
    episode_query: str = _option("all", "Meta settings: a training episode queries all its new tasks (the paper), or "
                                 "only those whose support shows two different labels (a positive and a negative; "
                                 "two distinct values for regression): a support of one label cannot tell its task "
                                 "from another.", choices=EPISODE_QUERIES)
    episode_heads: bool = _option(False, "Meta settings: each training episode makes only a random --heldout-ratio "
                                  "of the seen tasks new; the others keep their learned heads and are queried too "
                                  "(adds a standard multi-task loss).")
    # the model
    model: str = _option("metalink", "MetaLink, or a baseline on the same pairs: labels-as-features (revealed "
                         "labels appended to the embedding; standard/relational), baseline++ (cosine heads, "
                         "new-task heads fitted on the support set; meta settings) or chemprop (chemprop's D-MPNN "
                         "with its featurizer and defaults, standard setting; pip install -e '.[peers]'). "
                         "Baselines need --layers 0.", choices=(*MODELS, *PEERS))
    layers: int = _option(2, "Knowledge-graph layers L (0 = plain multi-head model; fewshot: Meta-Baseline).")
    encoder: str | None = _option(None, "Encoder of the data nodes: a molecule GNN (dgllife, with its featurizer), "
                                  "or an image backbone for coco and fewshot.",
                                  choices=(*ENCODERS, *IMAGE_ENCODERS))
    hidden: int = _option(256, "Embedding size of data and task nodes.")
    dropout: float = _option(0.0, "Dropout of the encoder.")
    edge_pred: str | None = _option(None, "Score of a (data, task) pair from its node embeddings: dot product, the "
                                    "paper's MLP, or cos (Meta-Baseline's scaled cosine).", choices=EDGE_PREDICTORS)
    shared_weights: bool = _option(False, "Share KG message weights between both directions.")
    new_task_init: str = _option("ones", "Meta settings: new task nodes start from a ones vector (the paper) or "
                                 "from their support prototype (mean positive minus mean negative support "
                                 "embedding) or ridge (the ridge regression head fitted to the support's "
                                 "embeddings in closed form), rescaled to the ones vector's norm.",
                                 choices=NEW_TASK_INITS)
    data_init: str = _option("encoder", "Data nodes start from the encoder output (the paper) or from ReLU(V [z | y "
                             "| m]) of it and their revealed labels of seen tasks (labels-as-features' input "
                             "layer, read from the knowledge graph's label edges).", choices=DATA_INITS)
    freeze_seen_tasks: bool = _option(False, "Seen task nodes keep their learned head through the KG layers (only "
                                      "data nodes and new task nodes are updated): a seen task's representation "
                                      "does not depend on the molecules of its block.")
    kg_dropout: float = _option(0.0, "Dropout on the node features entering each KG layer (training only).")
    deep_supervision: bool = _option(False, "In training, score each queried pair by the sum of the first k + 1 "
                                     "layers' predictions, k drawn per pair from 0..L (1..L for a new task's "
                                     "pair; evaluation: all): every partial sum is trained as a predictor, the "
                                     "input layer on its own included.")
    message: str = _option("add", "KG message: add = ReLU(W h + O y), the paper's eq. 3; gated = (W h + O y) * "
                           "sigmoid(G h + P y), the gate of the authors' code; linear = W h + O y (no ReLU: "
                           "with --aggregate sum, positive and negative labels cancel as in labels-as-features).",
                           choices=MESSAGES)
    aggregate: str = _option("mean", "How a KG node combines its in-messages: mean (eq. 3), sum, sqrt (sum / "
                             "sqrt(degree)), signed (means over positive and over negative labels, side by side) "
                             "or attention (softmax over the in-edges).", choices=AGGREGATES)
    label_term: str = _option("shared", "Label term of a KG message: shared = O y (eq. 3); source = O y + y V h_u, "
                              "which depends on the sending node (a per-task label vector).", choices=LABEL_TERMS)
    # images
    image_size: int | None = _option(None, "Side of the image crops.")
    width: int = _option(64, "ResNet-12 channels of its first stage (64-160-320-640 at 64).")
    pretrained: str | None = _option(None, "Local state_dict of the image backbone (e.g. torchvision's resnet50 "
                                     "file); nothing is downloaded.", path="file",
                                     default_text="random initialisation")
    ways: int = _option(5, "fewshot: classes per episode (N).")
    query: int = _option(15, "fewshot: query images per class.")
    episodes: int = _option(200, "fewshot: training episodes per epoch.")
    test_episodes: int = _option(800, "fewshot: validation and test episodes.")
    pretrain_epochs: int = _option(100, "fewshot: supervised pre-training epochs on the base classes.")
    pretrain_lr: float = _option(0.1, "fewshot: learning rate of pre-training.")
    # training
    split: str | None = _option(None, "Train/val/test split, 80/10/10: balanced Bemis-Murcko scaffolds, random, or "
                                "official (coco: train file -> train/val, val file -> test; random if there is "
                                "only a train file).", choices=SPLIT_KINDS)
    seeds: list[int] = _option(help="Seeds to run, one run each: --seeds 0 1 2 or --seeds 0,1,2.",
                               factory=lambda: [0])
    epochs: int = _option(50, "Training epochs.")
    batch_size: int | None = _option(None, "Examples per minibatch; fewshot: episodes per optimizer step.")
    lr: float = _option(1e-3, "Learning rate.")
    weight_decay: float = _option(0.0, "Weight decay of the optimizer.")
    optimizer: str = _option("adam", "adam, or sgd with momentum 0.9 (the few-shot recipe).", choices=OPTIMIZERS)
    device: str = _option("auto", "auto: CUDA when torch and DGL have it, else CPU.", choices=DEVICES)
    loader_workers: int = _option(0, "Worker processes that build the training minibatches' inputs (molecule "
                                  "graphs, decoded and augmented images) ahead of the loop; 0: in the training "
                                  "process. The order and the masks stay in the main process.")
    threads: int = _option(0, "Torch CPU threads (0: torch's default). On a shared machine, 1 per concurrent job "
                           "avoids oversubscription.")
    out: str = _option("runs/default", "Run directory: config, split, draw, checkpoints and metrics of each seed, "
                       "and summary.json.", path="dir")

    def __post_init__(self):
        for name, value in KIND_DEFAULTS[self.kind].items():
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
        meta_episodes = meta and self.kind != "fewshot" and self.model == "metalink"  # MetaLink trains on episodes
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
            (self.aggregate in AGGREGATES,
             f"--aggregate {self.aggregate!r} is not one of {', '.join(AGGREGATES)}"),
            (self.label_term in LABEL_TERMS,
             f"--label-term {self.label_term!r} is not one of {', '.join(LABEL_TERMS)}"),
            (self.data_init in DATA_INITS, f"--data-init {self.data_init!r} is not one of {', '.join(DATA_INITS)}"),
            (self.data_init == "encoder" or self.model == "metalink",
             f"--data-init {self.data_init} is an option of MetaLink, not of --model {self.model}"),
            (not self.freeze_seen_tasks or (self.model == "metalink" and self.layers >= 1),
             "--freeze-seen-tasks changes MetaLink's KG layers: use it with --model metalink --layers >= 1"),
            (0.0 <= self.kg_dropout < 1.0, f"--kg-dropout {self.kg_dropout} must be in [0, 1)"),
            (self.kg_dropout == 0.0 or (self.model == "metalink" and self.layers >= 1),
             "--kg-dropout regularises MetaLink's KG layers: use it with --model metalink --layers >= 1"),
            (not self.deep_supervision or (self.model == "metalink" and self.layers >= 1),
             "--deep-supervision trains MetaLink's partial sums of layer predictions: use it with --model metalink "
             "--layers >= 1"),
            (self.new_task_init in NEW_TASK_INITS,
             f"--new-task-init {self.new_task_init!r} is not one of {', '.join(NEW_TASK_INITS)}"),
            (self.aux_tasks in AUX_TASKS, f"--aux-tasks {self.aux_tasks!r} is not one of {', '.join(AUX_TASKS)}"),
            (self.aux_tasks == "seen" or (meta and self.kind != "fewshot"),
             f"--aux-tasks {self.aux_tasks} draws auxiliary pairs among held-out tasks: use it with --setting meta "
             "or relational-meta"),
            (self.heldout_tasks in HELDOUT_PICKS,
             f"--heldout-tasks {self.heldout_tasks!r} is not one of {', '.join(HELDOUT_PICKS)}"),
            (0.0 < self.support_ratio < 1.0, f"--support-ratio {self.support_ratio} must be in (0, 1)"),
            (not self.episode_heads or meta_episodes,
             "--episode-heads changes MetaLink's training episodes in --setting meta and relational-meta"),
            (self.shots >= 1, f"--shots {self.shots} must be at least 1"),
            (self.episode_shots is None or meta_episodes,
             "--episode-shots changes MetaLink's training episodes in --setting meta and relational-meta"),
            (self.episode_shots is None or self.episode_shots >= 1,
             f"--episode-shots {self.episode_shots} must be at least 1"),
            (self.episode_query in EPISODE_QUERIES,
             f"--episode-query {self.episode_query!r} is not one of {', '.join(EPISODE_QUERIES)}"),
            (self.episode_query == "all" or meta_episodes,
             "--episode-query changes MetaLink's training episodes in --setting meta and relational-meta"),
            (self.episode_embed in EPISODE_EMBEDS,
             f"--episode-embed {self.episode_embed!r} is not one of {', '.join(EPISODE_EMBEDS)}"),
            (self.model in MODELS or self.model in PEERS,
             f"--model {self.model!r} is not one of {', '.join((*MODELS, *PEERS))}"),
            (self.model not in PEERS or (self.setting == "standard" and self.kind == "molecules"),
             f"--model {self.model} is a peer for molecules in the standard setting, not --setting {self.setting}"
             + ("" if self.kind == "molecules" else f" on --dataset {self.dataset}")),
            (self.layers >= 0, f"--layers {self.layers} must be >= 0"),
            (self.model == "metalink" or self.layers == 0,
             f"--model {self.model} has no knowledge-graph layers: pass --layers 0"),
            (self.layers >= 1 or self.kind == "fewshot" or not meta or self.model != "metalink"
             or self.new_task_init != "ones",
             f"--setting {self.setting} needs --layers >= 1: with no KG layer, new tasks have no head "
             "(or use --new-task-init prototype|ridge, or --model baseline++ --layers 0)"),
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
            (self.loader_workers >= 0, f"--loader-workers {self.loader_workers} must be >= 0"),
            (len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds),
             f"--seeds {self.seeds} must be distinct"),
            (self.max_molecules is None or self.max_molecules >= 10,
             f"--max-molecules {self.max_molecules} must be >= 10"),
            (self.workers >= 1, f"--workers {self.workers} must be at least 1"),
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
