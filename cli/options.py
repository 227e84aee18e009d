"""Click options shared by several subcommands."""

from __future__ import annotations

from typing import Callable

import click


def dataset_options(func: Callable) -> Callable:
    """``--dataset`` and the options that say how to read a user CSV and where to cache graphs."""
    options = [
        click.option(
            "--dataset",
            required=True,
            help="Bundled dataset name (tox21, sider, toxcast), a path to a CSV of SMILES + task columns, "
            "or coco / fewshot (images under --data-root).",
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


def split_task_columns(value: str | None) -> list[str] | None:
    """``"a,b , c"`` -> ``["a", "b", "c"]``; ``None`` stays ``None``."""
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]
