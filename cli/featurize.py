"""``metalink-dgl featurize``: fill the featurized-graph cache of a dataset ahead of training."""

from __future__ import annotations

import click

from metalink_dgl.data import FEATURIZERS, cache_path, featurize
from metalink_dgl.data.store import folder_bytes
from metalink_dgl.engine import TrainConfig
from metalink_dgl.engine.build import load_molecules
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.nn import ENCODERS

from .options import config_options, field_option, molecule_csv_options, molecules_only


@click.command("featurize")
@molecule_csv_options
@config_options(("cache_dir", "max_molecules", "workers"), max_molecules=dict(
    help="Only the seeded random slice of this many molecules that train --max-molecules takes."))
@field_option("encoder", help="Featurize for this molecule encoder: the featurizer it reads.", default_text="gcn")
@click.option("--featurizer", type=click.Choice(list(FEATURIZERS)), default=None,
              help="Featurizer to run, instead of naming an --encoder.  [default: the --encoder's]")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(featurizer, no_progress, **options):
    """Featurize the molecules of a dataset into the graph cache that train (with the same data options) reads."""
    molecules_only(options["dataset"], "featurize")
    config = TrainConfig(**{k: v for k, v in options.items() if v is not None}).validate()
    reads = ENCODERS[config.encoder].featurizer
    if options["encoder"] and featurizer and reads != featurizer:
        raise MetaLinkError(f"--encoder {config.encoder} reads featurizer {reads!r}, not --featurizer {featurizer}; "
                            "give only one of them")
    name = featurizer or reads
    dataset = load_molecules(config)
    graphs = featurize(dataset, name, cache_dir=config.cache_dir, progress=not no_progress, workers=config.workers)
    path = cache_path(dataset, name, config.cache_dir)
    if not path.is_dir():
        raise MetaLinkError(f"{path}: the cache could not be written (see the warning above); choose another "
                            "--cache-dir")
    size = folder_bytes(path)
    click.echo(f"{len(graphs)} molecules of {dataset.name}, featurizer {name}: cache {path} "
               f"({size / 2**20:.1f} MiB, {size / max(len(graphs), 1):.0f} bytes per molecule)")
