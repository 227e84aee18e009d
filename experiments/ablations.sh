#!/usr/bin/env bash
# Issue 19: KG layer variants screened on validation (seed 0, L = 2; several hours on 2 CPU cores).
# Resumable: run it again to continue. Arguments go to `metalink-dgl experiment` (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec metalink-dgl experiment experiments/configs/ablations.yaml "$@"
