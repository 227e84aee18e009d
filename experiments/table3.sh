#!/usr/bin/env bash
# Table 3: SIDER tasks with low vs high label correlation; reuses Table 1's runs.
# Resumable: run it again to continue. Arguments go to `metalink-dgl experiment` (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec metalink-dgl experiment experiments/configs/table3.yaml "$@"
