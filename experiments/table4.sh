#!/usr/bin/env bash
# Table 4 (5-way 5-shot accuracy, 95% CI over 800 test episodes): Meta-Baseline (KG layers 0) and
# MetaLink with 1 and 2 KG layers on mini-ImageNet and tiered-ImageNet; ResNet-12 at 84 px,
# pre-training on the base classes (SGD lr 0.1, 100 epochs, batch 128), then episodes with SGD
# lr 0.001, momentum 0.9, weight decay 5e-4, 4 episodes per batch, 20 epochs (paper appendix A).
# Needs the real data (not downloaded here) in the folder layout split/class/images:
#   MINI_ROOT=<mini-ImageNet>/{train,val,test}/<class>/*.jpg   TIERED_ROOT=<tiered-ImageNet>/...
# Either may be left unset to skip that dataset. Optional: DEVICE (default auto), SHOTS (default 5).
# Usage: MINI_ROOT=... TIERED_ROOT=... experiments/table4.sh [OUT_DIR] [SEEDS...]   (defaults: runs/table4, 0)
# Resumable: rerun and finished seeds are skipped. Writes OUT_DIR/table4.{json,md} at the end.
set -euo pipefail
if [[ -z "${MINI_ROOT:-}" && -z "${TIERED_ROOT:-}" ]]; then
  echo "set MINI_ROOT and/or TIERED_ROOT to a few-shot folder (see the header of this script)" >&2
  exit 2
fi
out=${1:-runs/table4}
shift || true
seeds=${*:-0}
for name in mini tiered; do
  root_var="${name^^}_ROOT"
  root=${!root_var:-}
  [[ -z "$root" ]] && continue
  for layers in 0 1 2; do
    # shellcheck disable=SC2086  # the seeds are separate words
    metalink-dgl train --dataset fewshot --data-root "$root" --ways 5 --shots "${SHOTS:-5}" --query 15 \
      --layers "$layers" --encoder resnet12 --image-size 84 --hidden 640 --pretrain-epochs 100 --pretrain-lr 0.1 \
      --optimizer sgd --lr 0.001 --weight-decay 5e-4 --batch-size 4 --episodes 800 --epochs 20 --test-episodes 800 \
      --device "${DEVICE:-auto}" --resume --no-progress --out "$out/$name-L$layers" --seeds $seeds
  done
done
python "$(dirname "$0")/collect_vision.py" "$out" "$out/table4" --title "Table 4: 5-way few-shot test accuracy"
