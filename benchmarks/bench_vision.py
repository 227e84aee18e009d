"""Image throughput: training images/s of ERM (0 KG layers, standard) vs MetaLink (2, relational), COCO-style data.

Run from the repository root::

    python benchmarks/bench_vision.py --threads 1                       # ResNet-12 (width 16) at 64 px
    python benchmarks/bench_vision.py --encoder resnet50 --image-size 224 --images 256 --json results/bench_vision.json

The data is a COCO-format folder drawn on the fly (:func:`metalink_dgl.data.synthetic.write_coco`:
``--images`` PNGs of 6 co-occurring shape classes at ``--image-size``) and read through the
library's own loader (pycocotools) and image bank, so decoding and augmentation are in the
time. Both models have the same encoder and initial weights, batch size, optimizer (Adam) and
training rows (the official split's train part); only ``--layers`` and ``--setting`` differ, as in
``metalink-dgl train --layers 0 --setting standard``. An epoch is the library's
:func:`metalink_dgl.engine.multitask.train_epoch`; the models alternate ``--rounds`` times in ABBA order
after one untimed warm-up epoch each, and the numbers are medians over rounds. The headline is
the ratio of MetaLink's images/s to ERM's (1.0 = the knowledge graph is free).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from benchrecord import add_common_arguments, finish, provenance_fields, start

from metalink_dgl.data.synthetic import write_coco
from metalink_dgl.engine import TrainConfig, build_model, prepare_data
from metalink_dgl.engine.loop import make_optimizer
from metalink_dgl.engine.multitask import train_epoch
from metalink_dgl.kg import get_setting

MODELS = {"ERM": dict(setting="standard", layers=0), "MetaLink": dict(setting="relational", layers=2)}


def bench(args, root: Path, device: torch.device) -> dict:
    """Median epoch time and images/s of each model over ``args.rounds`` alternating rounds."""
    configs = {key: TrainConfig(dataset="coco", data_root=str(root), encoder=args.encoder, width=args.width,
                                image_size=args.image_size, hidden=args.hidden, batch_size=args.batch_size,
                                device=str(device), **kw).validate() for key, kw in MODELS.items()}
    data = prepare_data(configs["ERM"], progress=False)
    rows = torch.as_tensor(np.asarray(data.dataset.make_split("official", args.seed).train), dtype=torch.long)
    seen = torch.ones(data.Y.shape[1], dtype=torch.bool)
    runs = {}
    for key, config in configs.items():
        torch.manual_seed(args.seed)  # the same encoder initialisation for both models
        model = build_model(config, data.Y.shape[1]).to(device)
        runs[key] = (config, model, make_optimizer(model.parameters(), config, config.lr),
                     torch.Generator().manual_seed(args.seed))

    def epoch(key: str) -> float:
        config, model, optimizer, generator = runs[key]
        start = time.perf_counter()
        train_epoch(model, data.inputs, data.Y, rows, get_setting(config.setting), seen, config, optimizer, generator,
                    device, progress=False)
        return time.perf_counter() - start

    for key in MODELS:  # warm-up: allocator, kernels, file cache
        epoch(key)
    seconds: dict[str, list[float]] = {key: [] for key in MODELS}
    for i in range(args.rounds):
        for key in (list(MODELS) if i % 2 == 0 else list(MODELS)[::-1]):  # ABBA
            seconds[key].append(epoch(key))
            print(f"  round {i + 1}/{args.rounds} {key}: {seconds[key][-1]:.2f} s", file=sys.stderr, flush=True)
    out = {"train_images": len(rows), "tasks": int(data.Y.shape[1]), "epoch_s": {}, "epoch_s_all": {},
           "images_per_s": {}}
    for key in MODELS:
        med = statistics.median(seconds[key])
        out["epoch_s"][key], out["epoch_s_all"][key] = round(med, 3), [round(s, 3) for s in seconds[key]]
        out["images_per_s"][key] = round(len(rows) / med, 1)
    out["ratio"] = round(out["images_per_s"]["MetaLink"] / out["images_per_s"]["ERM"], 3)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=480, help="generated images, 5/6 of them train file [480]")
    parser.add_argument("--image-size", type=int, default=64, help="image side in pixels [64]")
    parser.add_argument("--encoder", default="resnet12", choices=["resnet12", "resnet50"], help="[resnet12]")
    parser.add_argument("--width", type=int, default=16, help="ResNet-12 first-stage channels [16]")
    parser.add_argument("--hidden", type=int, default=TrainConfig().hidden)
    parser.add_argument("--batch-size", type=int, default=64, help="[64]")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds, one epoch per model each [2]")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    device, load_before = start(args)
    with tempfile.TemporaryDirectory() as tmp:
        n_val = args.images // 6
        root = write_coco(Path(tmp) / "coco", n_train=args.images - n_val, n_val=n_val, seed=args.seed,
                          size=args.image_size)
        result = bench(args, root, device)
    record = {
        "benchmark": "vision",
        "params": {"encoder": args.encoder, "width": args.width, "image_size": args.image_size, "hidden": args.hidden,
                   "batch_size": args.batch_size, "images": args.images, "rounds": args.rounds, "seed": args.seed,
                   "device": str(device), "threads": torch.get_num_threads(),
                   **{key: f"--layers {kw['layers']} --setting {kw['setting']}" for key, kw in MODELS.items()}},
        **result,
        **provenance_fields("bench_vision.py", argv, load_before),
    }
    p = record["params"]
    encoder = f"{p['encoder']}" + (f" (width {p['width']})" if p["encoder"] == "resnet12" else "")
    print(f"Training throughput on generated COCO-style data: {result['train_images']} training images at "
          f"{p['image_size']} px, {result['tasks']} tasks; {encoder}, hidden {p['hidden']}, batch {p['batch_size']}, "
          f"device {p['device']}, {p['threads']} torch thread(s); median of {p['rounds']} alternating rounds")
    for key in MODELS:
        print(f"  {key:<8} ({p[key]}): {result['images_per_s'][key]:8.1f} images/s  "
              f"(epoch {result['epoch_s'][key]:.2f} s)")
    print(f"  ratio MetaLink/ERM images/s: {result['ratio']:.3f}")
    finish(record, args.json_path)


if __name__ == "__main__":
    main()
