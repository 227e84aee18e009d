"""Click options shared by several subcommands."""

from __future__ import annotations

from typing import Callable

import click

from metalink_dgl.engine import IMAGE_DATASETS
from metalink_dgl.errors import MetaLinkError


def dataset_options(func: Callable | None = None, *, images: bool = False, cache: bool = True) -> Callable:
    """``--dataset`` and the options that say how to read a user CSV (and, with ``cache``, where to
    cache featurized graphs).

    ``@dataset_options`` for commands that read molecules only; ``@dataset_options(images=True)``
    where ``--dataset`` may also be an image dataset (coco, fewshot) read from ``--data-root``;
    ``cache=False`` for commands that never featurize.
    """
    if func is None:
        return lambda f: dataset_options(f, images=images, cache=cache)
    molecules = "Bundled dataset name (tox21, sider, toxcast, adme) or a path to a CSV of SMILES + task columns"
    options = [
        click.option(
            "--dataset",
            required=True,
            help=(molecules + ", or coco / fewshot (images under --data-root).") if images else molecules + ".",
        ),
        click.option("--smiles-column", default=None, help="SMILES column of a user CSV [default: smiles, any case]."),
        click.option(
            "--task-columns",
            default=None,
            help="Comma-separated task columns of a user CSV [default: every column but the SMILES one].",
        ),
        click.option(
            "--task-types",
            default=None,
            help="Force the type of task columns, e.g. 'pIC50=regression,active=binary' [default: inferred: a column "
            "of only 0/1 is binary, any other numbers make it regression].",
        ),
        click.option(
            "--skip-invalid",
            is_flag=True,
            help="Drop rows RDKit cannot parse (with one warning) instead of stopping with an error.",
        ),
    ]
    if cache:
        options.append(click.option(
            "--cache-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Featurized-graph cache [default: $METALINK_DGL_CACHE or ~/.cache/metalink-dgl].",
        ))
    for option in reversed(options):
        func = option(func)
    return func


def molecules_only(dataset: str, command: str) -> str:
    """``dataset``, or a one-line :class:`MetaLinkError` if it names an image dataset."""
    if dataset in IMAGE_DATASETS:
        raise MetaLinkError(f"{command} reads molecule datasets; --dataset {dataset} is an image dataset "
                            "(metalink-dgl train reads it from --data-root)")
    return dataset


def split_task_columns(value: str | None) -> list[str] | None:
    """``"a,b , c"`` -> ``["a", "b", "c"]``; ``None`` stays ``None``."""
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


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


def parse_seeds(values: tuple[str, ...], extra: tuple[int, ...] = ()) -> tuple[int, ...] | None:
    """``--seeds 0 1 2`` (the first after the flag, the rest as ``extra`` arguments) or ``--seeds 0,1,2``;
    None if not given."""
    if extra and not values:
        raise click.UsageError(f"unexpected arguments {list(extra)}; seeds go after --seeds")
    if not values:
        return None
    try:
        return tuple(int(s) for v in values for s in str(v).replace(",", " ").split()) + tuple(extra)
    except ValueError:
        raise click.BadParameter(f"{values} is not a list of integers", param_hint="--seeds") from None
