#!/usr/bin/env bash
# Every molecular table and figure of the paper (and the ADME endpoints), sharing one runs directory (runs/paper), so
# each distinct run is trained once. Resumable. Arguments go to every `metalink-dgl experiment`
# call (e.g. --jobs 2); with none, README's results block is regenerated at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for name in table1 table5 fig4 table3 adme; do
  "experiments/$name.sh" "$@" || status=1
done
if [ $# -eq 0 ]; then
  written=(results/table1.json results/table3.json results/fig4.json results/table5.json results/adme.json)
  existing=()
  for f in "${written[@]}"; do [ -f "$f" ] && existing+=("$f"); done
  [ ${#existing[@]} -eq 0 ] || metalink-dgl report "${existing[@]}" --readme README.md
fi
exit $status
