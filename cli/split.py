"""``metalink-dgl split``: write a seeded train/val/test split of a dataset's rows as JSON."""

from __future__ import annotations

from pathlib import Path

import click

from metalink_dgl.data import SPLITTERS, load_dataset, make_split
from metalink_dgl.errors import MetaLinkError

from .options import molecule_csv_options, molecules_only


@click.command("split")
@molecule_csv_options
@click.option("--split", "kind", type=click.Choice(list(SPLITTERS)), default="scaffold", show_default=True,
              help="Balanced Bemis-Murcko scaffold split or random split, 80/10/10.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option("--out", required=True, type=click.Path(), help="JSON file to write (its folder must exist).")
def command(dataset, smiles_column, task_columns, task_types, skip_invalid, kind, seed, out):
    """Split a dataset's rows into train/val/test and save the indices as JSON."""
    dataset = molecules_only(dataset, "split")
    out_path = Path(out)
    if out_path.is_dir():
        raise MetaLinkError(f"--out {out} is a directory; give the path of a JSON file to write")
    if not out_path.parent.is_dir():
        raise MetaLinkError(f"--out {out}: folder {out_path.parent} does not exist; create it first")
    data = load_dataset(dataset, smiles_column=smiles_column, task_columns=task_columns, skip_invalid=skip_invalid,
                        task_types=task_types)
    split = make_split(data.smiles, kind, seed, dataset=data.name)
    split.to_json(out_path)
    sizes = split.sizes()
    click.echo(f"{kind} split (seed {seed}) of {data.name}, {split.n} molecules: train {sizes['train']}, "
               f"val {sizes['val']}, test {sizes['test']} -> {out_path}")
