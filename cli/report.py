"""``metalink-dgl report RESULTS.json...``: re-render results Markdown and plots from their JSON (and README)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--readme", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Also fill this file's <!-- experiments:begin --> ... <!-- experiments:end --> block.")
def command(results, readme):
    """Render each results JSON (written by `metalink-dgl experiment`) to Markdown and plots beside it."""
    from metalink_dgl.errors import MetaLinkError
    from metalink_dgl.experiments.render import render_files, update_readme

    loaded = []
    for path in map(Path, results):
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not {"experiment", "report", "cells"} <= data.keys():
            raise MetaLinkError(f"{path}: not a results file of `metalink-dgl experiment` (benchmarks are not "
                                "rendered by report)")
        loaded.append(data)
    for path, data in zip(map(Path, results), loaded):
        for written in render_files(data, path.parent):
            click.echo(f"wrote {written}")
    if readme:
        prefix = Path(results[0]).parent.as_posix() + "/"
        update_readme(readme, loaded, prefix)
        click.echo(f"updated {readme}")
