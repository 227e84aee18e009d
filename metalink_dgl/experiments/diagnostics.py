"""The command line shared by the checkpoint diagnostics of ``experiments/`` (``meta_diagnostics.py``,
``layer_diagnostics.py``): checkpoints in, one record and one printed line each, and with
``--out PREFIX`` the records in ``PREFIX.json`` and their table in ``PREFIX.md``, with the command,
commit and machine."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Callable

import torch

from ..io import atomic_write_json, atomic_write_text
from ..provenance import provenance


def diagnostics_main(script: str, description: str, diagnose: Callable[[str], dict], line: Callable[[dict], str],
                     render: Callable[[list[dict], str, dict], str]) -> None:
    """Parse ``checkpoints... [--threads N] [--out PREFIX]`` from ``sys.argv`` and run a diagnostic.

    Parameters
    ----------
    script : str
        The script's path from the repository root, as the recorded command names it.
    description : str
        The ``--help`` text.
    diagnose : callable
        Checkpoint path -> its record (a JSON-able dict).
    line : callable
        Record -> what is printed after ``"<checkpoint>: "``.
    render : callable
        ``(records, command, provenance)`` -> the Markdown of ``PREFIX.md``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write PREFIX.json and PREFIX.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = []
    for checkpoint in args.checkpoints:
        records.append(diagnose(checkpoint))
        print(f"{checkpoint}: {line(records[-1])}", flush=True)
    if args.out is not None:
        command = shlex.join(["python", script, *sys.argv[1:]])
        prov = provenance()
        atomic_write_json(args.out.with_suffix(".json"), {"command": command, **prov, "records": records})
        atomic_write_text(args.out.with_suffix(".md"), render(records, command, prov))
