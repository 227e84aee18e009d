#!/usr/bin/env bash
# Table 1: MetaLink and baselines in the four settings on Tox21, SIDER, ToxCast (about a day on 2 CPU cores).
# Resumable: run it again to continue. Arguments go to `metalink-dgl experiment` (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec metalink-dgl experiment experiments/configs/table1.yaml "$@"
