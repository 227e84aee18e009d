"""``metalink-dgl describe``: molecules, tasks and label statistics of a dataset."""

from __future__ import annotations

import json

import click

from metalink_dgl.data import describe, format_description, load_dataset

from .options import molecule_csv_options, molecules_only


@click.command("describe")
@molecule_csv_options
@click.option("--json", "as_json", is_flag=True, help="Print the statistics (with every task) as JSON.")
def command(dataset, smiles_column, task_columns, task_types, skip_invalid, as_json):
    """Counts of molecules, tasks and labels of a dataset, and positives per task."""
    dataset = molecules_only(dataset, "describe")
    data = load_dataset(dataset, smiles_column=smiles_column, task_columns=task_columns, skip_invalid=skip_invalid,
                        task_types=task_types)
    stats = describe(data)
    click.echo(json.dumps(stats, indent=2) if as_json else format_description(stats))
