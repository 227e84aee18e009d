"""Entry point of the ``metalink-dgl`` console script."""

from __future__ import annotations

import logging
import sys

import click

from metalink_dgl import __version__
from metalink_dgl.errors import MetaLinkError

from . import describe, evaluate, experiment, featurize, predict, report, split, train
from .options import join_seed_words


class _Group(click.Group):
    """A :class:`MetaLinkError` from any subcommand becomes click's ``Error: <one line>``, exit 1; ``--seeds``
    of any subcommand takes several words (:func:`~cli.options.join_seed_words`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the command line with the words of each ``--seeds`` joined into one."""
        return super().parse_args(ctx, join_seed_words(args))

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MetaLinkError as err:
            raise click.ClickException(str(err)) from None


@click.group("metalink-dgl", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="metalink-dgl")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(verbose: bool) -> None:
    """MetaLink: relational multi-task learning on a knowledge graph of data and tasks."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


for module in (describe, split, featurize, train, evaluate, predict, experiment, report):
    cli.add_command(module.command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="metalink-dgl")


if __name__ == "__main__":
    main()
