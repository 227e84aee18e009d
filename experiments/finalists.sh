#!/usr/bin/env bash
# Issue 19: the full protocol (3 seeds, L searched 2..5) for the finalists of the KG layer screening
# (results/ablations.md), cheapest cells first, so that whole cells finish early. Each step is
# resumable: run the script again to continue. Arguments go to every `metalink-dgl experiment`; on a
# machine without the runs, pass --keep-results so that the seeds already in results/*.json are not
# trained again.
# Then: metalink-dgl experiment experiments/configs/table1.yaml --report-only --keep-results [--partial]
set -euo pipefail
cd "$(dirname "$0")/.."
metalink-dgl experiment experiments/configs/ablations.yaml "$@"
# the support prototype init (a finalist of the meta screening), in the two meta settings
for dataset in sider tox21 toxcast; do
  metalink-dgl experiment experiments/configs/table1.yaml --methods "MetaLink (prototype)" \
    --datasets "$dataset" --settings meta,relational-meta "$@"
done
for method in "MetaLink (source)" "MetaLink (attention)"; do
  for cell in sider:relational,meta,relational-meta tox21:relational toxcast:relational \
              tox21:meta,relational-meta toxcast:meta,relational-meta; do
    metalink-dgl experiment experiments/configs/table1.yaml --methods "$method" \
      --datasets "${cell%%:*}" --settings "${cell#*:}" "$@"
  done
done
# the authors' held-out ToxCast tasks (results/heldout.md), beside the paper's numbers
metalink-dgl experiment experiments/configs/table1.yaml --datasets toxcast --settings meta,relational-meta \
  --methods "MetaLink (authors' held-out tasks),Baseline++ (authors' held-out tasks)" "$@"
# and with test query rows that may show labels of the other held-out tasks (--aux-tasks all)
metalink-dgl experiment experiments/configs/table1.yaml --datasets toxcast --settings relational-meta \
  --methods "MetaLink (authors' held-out tasks; aux=all)" "$@"
