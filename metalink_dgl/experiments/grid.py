"""An experiment YAML -> a grid of training runs, each a :class:`~metalink_dgl.engine.TrainConfig`.

A config file names the datasets, settings, seeds and methods of one paper table or
figure; every run is one training call (one seed, one number of KG layers) built as::

    TrainConfig defaults <- base <- method overrides <- quick-look overrides
                         <- (dataset, setting, seeds=[seed], layers, out)

Example (``experiments/configs/table5.yaml``)::

    name: table5
    title: "Table 5: shared vs separate message weights"
    datasets: [tox21, sider, toxcast]
    settings: [relational]
    seeds: [0, 1, 2]
    base: {epochs: 50, split: scaffold}
    select: {layers: [2, 3, 4, 5]}    # per seed, keep the L with the best validation ROC-AUC
    methods:                          # named override sets (keys of TrainConfig)
      MetaLink: {}
      MetaLink-shared: {shared_weights: true}
    paper: {file: ../paper_numbers.yaml, key: table5}

A method may restrict the settings (``settings: [standard]``) or datasets it runs on. A
method that fixes ``layers`` (``ERM: {layers: 0}``) is not searched over ``select.layers``.

A run's directory is a function of its config only (:func:`~metalink_dgl.experiments.naming.run_dir`),
so identical configs of different experiments or methods share one directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ..data import BUNDLED
from ..engine.config import TrainConfig
from ..errors import MetaLinkError
from ..kg.settings import SETTINGS
from .naming import NOT_IDENTITY, TRAIN_DEFAULTS, run_dir

#: Keys a config file may have at its top level.
TOP_KEYS = ("name", "title", "notes", "datasets", "settings", "seeds", "base", "select", "methods", "evaluate",
            "report", "paper")
#: TrainConfig options the grid sets itself; an override of them is an error.
GRID_OWNED = ("dataset", "setting", "seeds", "out")
#: Test-time sweeps a config may ask for (``evaluate:``): checkpoint re-scored at each value.
SWEEPS = ("aux_ratio", "leave_one_out")
#: Report kinds (``report: {kind: ...}``), see :mod:`metalink_dgl.experiments.render`.
REPORT_KINDS = ("table", "task-correlation", "aux-ratio", "endpoints", "ablation")
#: Keys of ``report:``: ``kind`` and the options of the kinds (see the report module).
REPORT_KEYS = ("kind", "dataset", "n_tasks", "correlation", "compare", "reference", "default", "candidates")

_FIELDS = {f.name: f for f in fields(TrainConfig)}


@dataclass(frozen=True)
class Method:
    """A named set of TrainConfig overrides, optionally limited to some settings/datasets; ``paper``: the
    paper's name of the method, if it differs (its numbers are shown beside ours)."""

    name: str
    overrides: dict
    settings: tuple[str, ...] | None = None
    datasets: tuple[str, ...] | None = None
    paper: str | None = None

    def applies(self, dataset: str, setting: str) -> bool:
        return (self.settings is None or setting in self.settings) and \
            (self.datasets is None or dataset in self.datasets)


@dataclass(frozen=True)
class Run:
    """One training call: a table cell (dataset, setting, method), one seed, one number of KG layers."""

    dataset: str
    setting: str
    method: str
    seed: int
    layers: int
    config: TrainConfig = field(compare=False, hash=False)

    @property
    def dir(self) -> Path:
        """The seed directory ``train`` writes (``config.json``, ``metrics.json``, ``best.pt`` ...)."""
        return Path(self.config.out) / f"seed_{self.seed}"

    @property
    def finished(self) -> bool:
        """A run is finished iff its ``metrics.json`` exists (``train`` writes it last)."""
        return (self.dir / "metrics.json").is_file()

    @property
    def cell(self) -> tuple[str, str, str]:
        return self.dataset, self.setting, self.method

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.setting} {self.method} L{self.layers} seed {self.seed}"


@dataclass(frozen=True)
class Overrides:
    """Command-line changes for a quick look (``None`` / empty = keep the config file's)."""

    seeds: tuple[int, ...] | None = None
    layers: int | None = None
    options: dict = field(default_factory=dict)  # TrainConfig options, e.g. epochs, max_molecules, device
    methods: tuple[str, ...] | None = None
    datasets: tuple[str, ...] | None = None
    settings: tuple[str, ...] | None = None

    @property
    def protocol_changed(self) -> bool:
        """True if the runs differ from the config file's (seeds, layers or options; device and cache aside)."""
        return any(k not in NOT_IDENTITY for k in self.options) or self.seeds is not None or self.layers is not None

    @property
    def subset(self) -> bool:
        """True if only some methods, datasets or settings of the config are asked for."""
        return any(v is not None for v in (self.methods, self.datasets, self.settings))

    @property
    def quick_look(self) -> bool:
        """True if the grid differs from the config file's: its results do not go to ``results/``."""
        return self.protocol_changed or self.subset


@dataclass
class Experiment:
    """A parsed config file: the grid and how to report it."""

    path: Path
    name: str
    title: str
    notes: str
    datasets: list[str]
    settings: list[str]
    seeds: list[int]
    base: dict
    select_layers: list[int] | None
    methods: dict[str, Method]
    evaluate: dict[str, list[float]]
    report: dict
    paper: dict
    overrides: Overrides = field(default_factory=Overrides)

    def cells(self) -> list[tuple[str, str, str]]:
        """(dataset, setting, method) of every table cell, in the config's order."""
        return [(d, s, m.name) for d in self.datasets for s in self.settings for m in self.methods.values()
                if m.applies(d, s)]

    def layer_candidates(self, method: str) -> list[int]:
        """The KG layer counts tried for ``method`` (one, unless it is searched on validation)."""
        m = self.methods[method]
        if "layers" in m.overrides:
            return [int(m.overrides["layers"])]
        if self.overrides.layers is not None:
            return [self.overrides.layers]
        if self.select_layers:
            return list(self.select_layers)
        return [int({**TRAIN_DEFAULTS, **self.base, **self.overrides.options}["layers"])]

    def options(self, method: str) -> dict:
        """TrainConfig options of ``method`` before the grid's own keys: base, method, command line."""
        return {**self.base, **self.methods[method].overrides, **self.overrides.options}

    def runs(self, runs_dir: str | Path) -> list[Run]:
        """Every run of the grid, seed-major (all of seed 0 first), each with a validated config."""
        out = []
        for seed in self.seeds:
            for dataset, setting, method in self.cells():
                for layers in self.layer_candidates(method):
                    opts = {**self.options(method), "dataset": dataset, "setting": setting, "seeds": [seed],
                            "layers": layers}
                    config = self._config(opts, f"{dataset}/{setting}/{method}")
                    config.out = str(run_dir(runs_dir, config))
                    out.append(Run(dataset, setting, method, seed, layers, config))
        return out

    def _config(self, options: dict, where: str) -> TrainConfig:
        try:
            return TrainConfig(**options).validate()
        except MetaLinkError as err:
            raise MetaLinkError(f"{self.path}: {where}: {err}") from None


def load_experiment(path: str | Path, overrides: Overrides | None = None) -> Experiment:
    """Parse and check a config file; every run's config is validated before anything trains.

    Raises
    ------
    MetaLinkError
        One line naming the file and the bad key or value.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise MetaLinkError(f"{path}: cannot read the experiment config ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise MetaLinkError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise MetaLinkError(f"{path}: expected a mapping of {', '.join(TOP_KEYS)}")
    overrides = overrides or Overrides()
    check = _Checker(path)
    check.keys(raw, TOP_KEYS, "")
    for key in ("datasets", "settings", "seeds", "methods"):
        if not raw.get(key):
            raise MetaLinkError(f"{path}: '{key}' is missing or empty")
    settings = check.names(raw["settings"], "settings", SETTINGS)
    methods = {}
    for name, spec in check.mapping(raw["methods"], "methods").items():
        if "," in str(name):  # --methods takes a comma-separated list: such a name could not be chosen
            raise MetaLinkError(f"{path}: methods: the name {str(name)!r} has a comma (--methods splits on commas)")
        methods[str(name)] = check.method(str(name), spec or {})
    base = check.options(raw.get("base") or {}, "base")
    select = check.mapping(raw.get("select") or {}, "select")
    check.keys(select, ("layers",), "select")
    select_layers = [check.int(v, "select.layers") for v in check.list(select.get("layers", []), "select.layers")]
    evaluate = check.mapping(raw.get("evaluate") or {}, "evaluate")
    check.keys(evaluate, SWEEPS, "evaluate")
    evaluate = {k: [check.float(v, f"evaluate.{k}") for v in check.list(vals, f"evaluate.{k}")]
                for k, vals in evaluate.items()}
    report = check.report(raw.get("report") or {}, bool(evaluate), list(methods))
    experiment = Experiment(
        path=path, name=str(raw.get("name") or path.stem), title=str(raw.get("title") or path.stem),
        notes=str(raw.get("notes") or "").strip(), datasets=[str(d) for d in check.list(raw["datasets"], "datasets")],
        settings=settings, seeds=[check.int(s, "seeds") for s in check.list(raw["seeds"], "seeds")], base=base,
        select_layers=select_layers or None, methods=methods, evaluate=evaluate, report=report,
        paper=check.mapping(raw.get("paper") or {}, "paper"),
    )
    return _apply(experiment, overrides, check)


def _apply(experiment: Experiment, overrides: Overrides, check: _Checker) -> Experiment:
    """The experiment with the command line's quick-look changes; the runs are validated here."""
    def keep(kind: str, chosen: tuple[str, ...] | None, available: list[str]) -> list[str]:
        if chosen is None:
            return available
        unknown = [c for c in chosen if c not in available]
        if unknown:
            raise MetaLinkError(f"{experiment.path}: --{kind} {','.join(unknown)} not in the config "
                                f"({', '.join(available)})")
        return [a for a in available if a in chosen]

    options = check.options(dict(overrides.options), "command line")
    if "layers" in options:
        raise MetaLinkError("use --layers, not an option override, to change the number of KG layers")
    experiment.overrides = Overrides(**{**overrides.__dict__, "options": options})
    experiment.datasets = keep("datasets", overrides.datasets, experiment.datasets)
    experiment.settings = keep("settings", overrides.settings, experiment.settings)
    selected = keep("methods", overrides.methods, list(experiment.methods))
    experiment.methods = {name: replace(m, overrides=check.options(m.overrides, f"methods.{name}"))
                          for name, m in experiment.methods.items() if name in selected}
    if overrides.seeds is not None:
        experiment.seeds = list(overrides.seeds)
    if len(set(experiment.seeds)) != len(experiment.seeds):
        raise MetaLinkError(f"{experiment.path}: seeds {experiment.seeds} must be distinct")
    if not experiment.cells():
        raise MetaLinkError(f"{experiment.path}: no (dataset, setting, method) cell is left to run")
    for dataset in experiment.datasets:
        if dataset not in BUNDLED and not Path(dataset).is_file():
            check.fail("datasets", f"{dataset!r} is neither a bundled dataset ({', '.join(BUNDLED)}) nor a file")
    experiment.runs(".")  # validates every run's config, naming the file and the cell
    return experiment


class _Checker:
    """Type checks of a config file's values; each failure is one line naming the file and key."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str):
        raise MetaLinkError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def keys(self, d: dict, allowed, where: str) -> None:
        for key in d:
            if key not in allowed:
                self.fail(where, f"unknown key {key!r} (allowed: {', '.join(allowed)})")

    def mapping(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {value!r}")
        return value

    def list(self, value: Any, where: str) -> list:
        return value if isinstance(value, list) else [value]

    def int(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected an integer, got {value!r}")
        return value

    def float(self, value: Any, where: str) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            self.fail(where, f"expected a number, got {value!r}")

    def names(self, value: Any, where: str, choices) -> list[str]:
        names = [str(v) for v in self.list(value, where)]
        for name in names:
            if name not in choices:
                self.fail(where, f"{name!r} is not one of {', '.join(choices)}")
        return names

    def method(self, name: str, spec: Any) -> Method:
        spec = dict(self.mapping(spec, f"methods.{name}"))
        scope = {}
        if "settings" in spec:
            scope["settings"] = tuple(self.names(spec.pop("settings"), f"methods.{name}.settings", SETTINGS))
        if "datasets" in spec:
            scope["datasets"] = tuple(str(d) for d in self.list(spec.pop("datasets"), f"methods.{name}.datasets"))
        if "paper" in spec:
            scope["paper"] = str(spec.pop("paper"))
        return Method(name, spec, **scope)  # options checked once --methods has chosen (see _apply)

    def report(self, value: Any, has_sweep: bool, methods: list[str]) -> dict:
        report = self.mapping(value, "report")
        self.keys(report, REPORT_KEYS, "report")
        kind = report.get("kind", "table")
        if kind not in REPORT_KINDS:
            self.fail("report.kind", f"{kind!r} is not one of {', '.join(REPORT_KINDS)}")
        if kind == "aux-ratio" and not has_sweep:
            self.fail("report", "kind aux-ratio needs evaluate: {aux_ratio: [...]}")
        compare = report.get("compare")
        if kind == "task-correlation" and not (
                isinstance(compare, list) and len(compare) == 2
                and all(isinstance(c, dict) and set(c) == {"setting", "method"} for c in compare)):
            self.fail("report.compare", "kind task-correlation needs two cells: "
                      "[{setting: standard, method: ERM}, {setting: relational, method: MetaLink}]")
        if "default" in report or "candidates" in report:
            if kind != "table" or not ("default" in report and "candidates" in report):
                self.fail("report", f"default and candidates go together, in kind table (not {kind})")
            named = [report["default"], *self.list(report["candidates"], "report.candidates")]
            unknown = [str(m) for m in named if m not in methods]
            if unknown:
                self.fail("report", f"default/candidates name methods not in the config: {', '.join(unknown)}")
            if report["default"] in named[1:]:
                self.fail("report.candidates", f"{report['default']} is the default, not a candidate")
        return report

    def options(self, d: dict, where: str) -> dict:
        """TrainConfig overrides: known, not owned by the grid, of the option's type (numbers coerced)."""
        out = {}
        for key, value in d.items():
            if key not in _FIELDS:
                self.fail(where, f"unknown option {key!r} (not a TrainConfig field; see metalink-dgl train --help)")
            if key in GRID_OWNED:
                self.fail(where, f"{key!r} is set by the grid (use the top-level datasets/settings/seeds)")
            out[key] = self._typed(key, value, where)
        return out

    def _typed(self, key: str, value: Any, where: str) -> Any:
        kind = str(_FIELDS[key].type)
        if value is None and "None" in kind:
            return None
        base = kind.split("|")[0].strip()
        if base == "float" and not isinstance(value, bool):
            return self.float(value, f"{where}.{key}")  # YAML reads 1e-3 as a string
        expected = {"int": int, "bool": bool, "str": str}.get(base) or (list if base.startswith("list") else None)
        ok = expected is None or (isinstance(value, expected) and not (expected is int and isinstance(value, bool)))
        if not ok:
            self.fail(f"{where}.{key}", f"expected {base}, got {value!r}")
        return value
