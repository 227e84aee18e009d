#!/usr/bin/env bash
# Figure 4: test ROC-AUC against the auxiliary-label ratio; reuses Table 1's relational runs.
# Resumable: run it again to continue. Arguments go to `metalink-dgl experiment` (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec metalink-dgl experiment experiments/configs/fig4.yaml "$@"
