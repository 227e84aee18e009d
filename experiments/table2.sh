#!/usr/bin/env bash
# Table 2 (MS-COCO, 80 tasks, mAP): ERM, Baseline++ (meta) and MetaLink in the four settings, ResNet-50 at 224,
# Adam lr 0.002, weight decay 1e-4, batch 256, 40 epochs (paper appendix A), 5 seeds.
# Needs the real data (not downloaded here): COCO_ROOT holds annotations/instances_{train,val}2014.json
# and the train2014/ and val2014/ image folders; the val file is the test fold, as in the paper.
# Optional: PRETRAINED=<torchvision resnet50 .pth file>, LAYERS (default 2), DEVICE (default auto).
# Usage: COCO_ROOT=/data/coco experiments/table2.sh [OUT_DIR] [SEEDS...]   (defaults: runs/table2, 0 1 2 3 4)
# Resumable: rerun and finished seeds are skipped. Writes OUT_DIR/table2.{json,md} at the end.
set -euo pipefail
: "${COCO_ROOT:?set COCO_ROOT to the MS-COCO folder (see the header of this script)}"
out=${1:-runs/table2}
shift || true
seeds=${*:-0 1 2 3 4}
common=(--dataset coco --data-root "$COCO_ROOT" --encoder resnet50 --image-size 224 --epochs 40 --batch-size 256
        --lr 0.002 --weight-decay 1e-4 --device "${DEVICE:-auto}" --resume --no-progress)
if [[ -n "${PRETRAINED:-}" ]]; then common+=(--pretrained "$PRETRAINED"); fi
# shellcheck disable=SC2086  # the seeds are separate words
metalink-dgl train "${common[@]}" --setting standard --layers 0 --out "$out/erm-standard" --seeds $seeds
# shellcheck disable=SC2086
metalink-dgl train "${common[@]}" --setting meta --model baseline++ --layers 0 --out "$out/baselinepp-meta" \
  --seeds $seeds
for setting in standard relational meta relational-meta; do
  # shellcheck disable=SC2086
  metalink-dgl train "${common[@]}" --setting "$setting" --layers "${LAYERS:-2}" --out "$out/metalink-$setting" \
    --seeds $seeds
done
python "$(dirname "$0")/collect_vision.py" "$out" "$out/table2" --title "Table 2: MS-COCO (80 tasks), test mAP"
