#!/usr/bin/env bash
# Continuous endpoints on the bundled Biogen ADME set: ERM, labels-as-features and MetaLink, standard and
# relational, 3 seeds; leave-one-endpoint-out and auxiliary-ratio sweeps. Resumable: run it again to continue.
# Arguments go to `metalink-dgl experiment` (--help), e.g. --jobs 2.
set -euo pipefail
cd "$(dirname "$0")/.."
exec metalink-dgl experiment experiments/configs/adme.yaml "$@"
