"""Click options shared by several subcommands, most derived from :class:`~metalink_dgl.engine.TrainConfig`.

Each config field is an option ``--<field-with-dashes>`` (:func:`config_options`): its type and
default come from the dataclass, its help, choices and shown default from the field's
``metadata``, and defaults that depend on the dataset's kind from
:data:`~metalink_dgl.engine.config.KIND_DEFAULTS`. Seed lists and comma lists are parsed by one
function each, for every command that takes them.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Iterable
from typing import Any

import click

from metalink_dgl.engine import IMAGE_DATASETS, TrainConfig
from metalink_dgl.engine.config import KIND_DEFAULTS, MOLECULE_DATASETS_HELP
from metalink_dgl.errors import MetaLinkError

_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_HINTS = typing.get_type_hints(TrainConfig)
_SEED_WORD = re.compile(r"[0-9,]+")
_PATHS = {"dir": click.Path(file_okay=False), "file": click.Path(dir_okay=False)}


def split_task_columns(value: str | None) -> list[str] | None:
    """``"a,b , c"`` -> ``["a", "b", "c"]``; ``None`` stays ``None``. The CLI's one comma-list parser (task
    columns, tasks, methods...)."""
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


def parse_seeds(values: Iterable[str]) -> list[int] | None:
    """The values of a ``multiple`` ``--seeds`` (``"0,1,2"``; :func:`join_seed_words` makes ``--seeds 0 1 2``
    one) -> ``[0, 1, 2]``; None if there are none. The CLI's one seed-list parser."""
    words = [s for v in values for s in str(v).replace(",", " ").split()]
    if not words:
        return None
    try:
        return [int(s) for s in words]
    except ValueError:
        raise click.BadParameter(f"{' '.join(map(str, values))!r} is not a list of integers",
                                 param_hint="--seeds") from None


def parse_task_types(value: str | None) -> dict[str, str] | None:
    """``"a=regression, b=binary"`` -> ``{"a": "regression", "b": "binary"}``; ``None`` stays ``None``.

    The types themselves are checked against the task columns when the data is read.
    """
    if value is None:
        return None
    out = {}
    for item in split_task_columns(value):
        name, sep, kind = item.rpartition("=")
        if not sep or not name.strip():
            raise MetaLinkError(f"--task-types {item!r}: write each as <task column>=<binary|regression>")
        out[name.strip()] = kind.strip()
    return out


def _callback(parse: Callable[[Any], Any]) -> Callable:
    """A click callback that returns ``parse(value)``."""
    return lambda ctx, param, value: parse(value)


def list_option(*decls: str, **kwargs: Any) -> Callable:
    """A comma-separated option, parsed by :func:`split_task_columns` into a list (None if not given)."""
    return click.option(*decls, callback=_callback(split_task_columns), metavar="A,B,...", **kwargs)


def _seeds_option(*decls: str, **kwargs: Any) -> Callable:
    """``--seeds 0 1 2`` or ``--seeds 0,1,2``, parsed by :func:`parse_seeds` into a list (None if not given)."""
    return click.option(*decls, multiple=True, callback=_callback(parse_seeds), metavar="SEED...", **kwargs)


def _task_types_option(*decls: str, **kwargs: Any) -> Callable:
    """``--task-types a=regression,b=binary``, parsed by :func:`parse_task_types`."""
    return click.option(*decls, callback=_callback(parse_task_types), metavar="COLUMN=TYPE,...", **kwargs)


#: How a field of each structured type becomes an option; other fields are plain typed options.
_STRUCTURED = {list[int]: _seeds_option, list[str]: list_option, dict[str, str]: _task_types_option}


def join_seed_words(args: list[str]) -> list[str]:
    """``[..., "--seeds", "0", "1", "2", ...]`` -> ``[..., "--seeds", "0,1,2", ...]``; nothing after ``--``.

    The ``metalink-dgl`` group applies it to every command line, so ``--seeds`` of any command takes
    several words (click options take a fixed number).
    """
    joined: list[str] = []
    i = 0
    while i < len(args):
        joined.append(args[i])
        if args[i] == "--":
            return joined + args[i + 1:]
        i += 1
        if joined[-1] == "--seeds":
            end = i
            while end < len(args) and _SEED_WORD.fullmatch(args[end]):
                end += 1
            if end > i:
                joined.append(",".join(args[i:end]))
            i = end
    return joined


def kind_default(name: str) -> str | None:
    """The default of a field that depends on the dataset's kind, e.g. ``"gcn; coco: resnet50; fewshot:
    resnet12"`` (molecules' first, unnamed); None if it does not."""
    by_kind = {kind: defaults[name] for kind, defaults in KIND_DEFAULTS.items() if name in defaults}
    if not by_kind:
        return None
    common = by_kind.pop("molecules", None)
    kinds_of: dict[Any, list[str]] = {}
    for kind, value in by_kind.items():
        if value != common:
            kinds_of.setdefault(value, []).append(kind)
    others = [f"{', '.join(kinds)}: {value}" for value, kinds in kinds_of.items()]
    return "; ".join(([] if common is None else [str(common)]) + others)


def _default_text(name: str, default: Any) -> str | None:
    """The default a field's help shows: its value, else the text of its metadata or its kind's default."""
    if isinstance(default, bool):
        return None
    if default is not None:
        return ", ".join(map(str, default)) if isinstance(default, list) else str(default)
    return _FIELDS[name].metadata.get("default_text") or kind_default(name)


def _base_type(hint: Any) -> Any:
    """``X`` of a hint ``X | None``, else the hint."""
    args = typing.get_args(hint)
    return next(a for a in args if a is not type(None)) if type(None) in args else hint


def field_option(name: str, *, help: str | None = None, default: Any = dataclasses.MISSING,
                 default_text: str | None = None) -> Callable:
    """The click option ``--<name-with-dashes>`` of TrainConfig field ``name``: type, default and choices
    from the field, help from its metadata, unless ``help``, ``default`` or ``default_text`` replace them.

    A structured option (seed list, comma list, task types) is None when not given, so that the
    config's own default applies; a required one has no default, so that click reports it missing.
    """
    f = _FIELDS[name]
    if not f.metadata.get("help"):
        raise KeyError(f"TrainConfig.{name} has no CLI help: give it one with _option() in engine/config.py")
    required = f.metadata.get("required", False)
    if default is dataclasses.MISSING:
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    text = None if required else default_text or _default_text(name, default)
    decls = ("--" + name.replace("_", "-"), name)
    base = _base_type(_HINTS[name])
    kwargs = dict(help=(help or f.metadata["help"]) + (f"  [default: {text}]" if text else ""), required=required)
    if not required:
        kwargs["default"] = None if base in _STRUCTURED else default
    if base is bool:
        return click.option(*decls, is_flag=True, **kwargs)
    if base in _STRUCTURED:
        return _STRUCTURED[base](*decls, **kwargs)
    choices = f.metadata.get("choices")
    kind = click.Choice(list(choices)) if choices else _PATHS.get(f.metadata.get("path"), base)
    return click.option(*decls, type=kind, **kwargs)


def config_options(names: Iterable[str] | None = None, *, skip: Iterable[str] = (),
                   **overrides: dict[str, Any]) -> Callable:
    """Decorate a click command with the :func:`field_option` of the named TrainConfig fields (all if None,
    minus ``skip``) in the config's order; ``overrides[name]`` holds more keyword arguments of field ``name``'s."""
    chosen = [n for n in _FIELDS if (names is None or n in names) and n not in skip]

    def decorate(func: Callable) -> Callable:
        for name in reversed(chosen):
            func = field_option(name, **overrides.get(name, {}))(func)
        return func

    return decorate


#: ``--dataset`` (a molecule dataset) and the options that say how to read a user CSV.
molecule_csv_options = config_options(
    ("dataset", "smiles_column", "task_columns", "task_types", "skip_invalid"),
    dataset=dict(help=MOLECULE_DATASETS_HELP + "."))


def molecules_only(dataset: str, command: str) -> str:
    """``dataset``, or a one-line :class:`MetaLinkError` if it names an image dataset."""
    if dataset in IMAGE_DATASETS:
        raise MetaLinkError(f"{command} reads molecule datasets; --dataset {dataset} is an image dataset "
                            "(metalink-dgl train reads it from --data-root)")
    return dataset
