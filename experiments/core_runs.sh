#!/usr/bin/env bash
# One full-default run (50 epochs, balanced scaffold split) per dataset x setting, for the
# MetaLink core issue. Resumable: rerun the script and finished seeds are skipped.
# Usage: experiments/core_runs.sh [OUT_DIR] [SEEDS...]    (defaults: runs/core, seed 0)
# Settings to run can be restricted with SETTINGS="standard relational".
set -euo pipefail
out=${1:-runs/core}
shift || true
seeds=${*:-0}
for setting in ${SETTINGS:-standard relational meta relational-meta}; do
  for dataset in ${DATASETS:-sider tox21 toxcast}; do
    metalink-dgl train --dataset "$dataset" --setting "$setting" --seeds $seeds \
      --out "$out/$dataset-$setting" --resume --no-progress
  done
done
