"""Click options shared by several subcommands."""

from __future__ import annotations

from typing import Callable

import click

from metalink_dgl.engine import IMAGE_DATASETS
from metalink_dgl.errors import MetaLinkError


def dataset_options(func: Callable | None = None, *, images: bool = False) -> Callable:
    """``--dataset`` and the options that say how to read a user CSV and where to cache graphs.

    ``@dataset_options`` for commands that read molecules only; ``@dataset_options(images=True)``
    where ``--dataset`` may also be an image dataset (coco, fewshot) read from ``--data-root``.
    """
    if func is None:
        return lambda f: dataset_options(f, images=images)
    molecules = "Bundled dataset name (tox21, sider, toxcast) or a path to a CSV of SMILES + task columns"
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
            "--skip-invalid",
            is_flag=True,
            help="Drop rows RDKit cannot parse (with one warning) instead of stopping with an error.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Featurized-graph cache [default: $METALINK_DGL_CACHE or ~/.cache/metalink-dgl].",
        ),
    ]
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
