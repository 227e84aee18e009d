#!/usr/bin/env bash
# Table 5: shared vs separate KG message weights (relational setting).
# Resumable: run it again to continue. Arguments go to `metalink-dgl experiment` (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec metalink-dgl experiment experiments/configs/table5.yaml "$@"
