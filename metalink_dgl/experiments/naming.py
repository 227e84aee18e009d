"""How a run's configuration is named: its directory, and the options column of the diagnostics.

A run's directory is a function of its config only, ``<runs>/<dataset>/<setting>/<key>/L<k>``
(``train`` adds ``seed_<s>/``), where ``<key>`` spells the options that differ from the
TrainConfig defaults (``default`` if none). Identical configs of different experiments or
methods therefore share one directory: Table 5's MetaLink runs are Table 1's relational ones,
and a ``--epochs 1`` quick look never lands in a full run's directory.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..engine.config import TrainConfig

#: Options that do not change what a run computes, left out of its identity.
NOT_IDENTITY = ("seeds", "out", "device", "cache_dir")
#: Every TrainConfig option at its default.
TRAIN_DEFAULTS = TrainConfig().to_dict()


def run_dir(runs_dir: str | Path, config: TrainConfig) -> Path:
    """``<runs>/<dataset>/<setting>/<key>/L<layers>``: a function of the config alone (see the module doc)."""
    dataset = Path(config.dataset).name.split(".")[0]
    return Path(runs_dir) / dataset / config.setting / identity_key(config) / f"L{config.layers}"


def identity_key(config: TrainConfig) -> str:
    """The options of ``config`` that differ from the defaults, as a folder name.

    ``default`` if none; ``k=v,k=v`` (sorted) if short and plain; else ``cfg-<hash>`` of them.
    Dataset, setting and layers are folders of their own; seeds, out, device and cache dir
    do not change what a run computes.
    Changing a TrainConfig default renames every run this names; tests/experiments/test_grid.py
    pins the names of Table 1's runs so that such a change cannot land unnoticed.
    """
    diff = changed_options(config)
    if not diff:
        return "default"
    text = format_options(diff)
    if len(text) <= 80 and re.fullmatch(r"[A-Za-z0-9_.=,+-]+", text):
        return text
    return "cfg-" + hashlib.sha1(json.dumps(diff, sort_keys=True).encode()).hexdigest()[:12]


def format_options(options: dict, sep: str = ",") -> str:
    """``k=v`` of each option, sorted by name, joined by ``sep``; a string value as is, any other as JSON
    (``deep_supervision=true``): how run folders and the diagnostics tables name a configuration."""
    return sep.join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(options.items()))


def changed_options(config: TrainConfig) -> dict:
    """Options of ``config`` that differ from the TrainConfig defaults, except the grid's own
    (dataset, setting, layers) and those that do not change results (seeds, out, device, cache dir)."""
    own = ("dataset", "setting", "layers", *NOT_IDENTITY)
    return {k: v for k, v in config.to_dict().items() if k not in own and v != TRAIN_DEFAULTS.get(k)}
