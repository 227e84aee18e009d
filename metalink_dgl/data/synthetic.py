"""Small real image datasets drawn with PIL, for tests, benchmarks and trying the vision pipelines
without a download: a COCO-format multi-label set whose classes co-occur by rule, and a few-shot
class-folder tree.

>>> from metalink_dgl.data import load_coco
>>> root = write_coco(Path(tmp) / "coco")    # doctest: +SKIP
>>> load_coco(root).Y.shape                   # doctest: +SKIP
(208, 6)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: The classes: name and colour; the drawn shape is the class's own.
SHAPES = [("circle", (230, 40, 40)), ("square", (40, 200, 40)), ("triangle", (40, 80, 230)),
          ("cross", (230, 200, 30)), ("ring", (200, 40, 220)), ("bar", (30, 210, 210))]
#: Default image side in pixels.
SIZE = 32


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, color: tuple, rng: np.random.Generator,
               size: int = SIZE) -> list[float]:
    """Draw ``shape`` (a name of :data:`SHAPES`) at a random place of a ``size``-pixel image; returns
    its COCO bbox ``[x, y, w, h]``."""
    s = int(rng.integers(9 * size // 32, 13 * size // 32))
    x, y = (int(v) for v in rng.integers(0, size - s, size=2))
    box = [x, y, x + s, y + s]
    if shape == "circle":
        draw.ellipse(box, fill=color)
    elif shape == "square":
        draw.rectangle(box, fill=color)
    elif shape == "triangle":
        draw.polygon([(x, y + s), (x + s, y + s), (x + s // 2, y)], fill=color)
    elif shape == "cross":
        draw.rectangle([x + s // 3, y, x + 2 * s // 3, y + s], fill=color)
        draw.rectangle([x, y + s // 3, x + s, y + 2 * s // 3], fill=color)
    elif shape == "ring":
        draw.ellipse(box, outline=color, width=max(1, 3 * size // 32))
    else:
        draw.rectangle([x, y + s // 3, x + s, y + 2 * s // 3], fill=color)
    return [float(x), float(y), float(s), float(s)]


def background(rng: np.random.Generator, size: int = SIZE) -> Image.Image:
    """A grey RGB noise image, ``size`` x ``size``."""
    return Image.fromarray(rng.integers(90, 150, size=(size, size, 3), dtype=np.uint8))


def faint(color: tuple, contrast: float = 0.25) -> tuple:
    """``color`` blended into the grey background: hard to see, so its label is best read from its partner's."""
    return tuple(int(120 + contrast * (c - 120)) for c in color)


def coco_labels(rng: np.random.Generator) -> np.ndarray:
    """Pairs of classes that co-occur: class 2k present w.p. 0.5, class 2k+1 agrees with it w.p. 0.9.

    Class 2k+1 is drawn faintly (:func:`faint`), so a revealed label of class 2k helps predict it.
    Returns a (6,) bool vector.
    """
    y = np.zeros(len(SHAPES), dtype=bool)
    for k in range(0, len(SHAPES), 2):
        y[k] = rng.random() < 0.5
        y[k + 1] = y[k] if rng.random() < 0.9 else not y[k]
    return y


def write_coco(root: Path, n_train: int = 160, n_val: int = 48, seed: int = 0, size: int = SIZE) -> Path:
    """A COCO folder of ``size``-pixel images: ``annotations/instances_{train,val}.json`` (pycocotools
    structure: images, annotations with bbox/area/iscrowd, categories 10..15) and ``{train,val}/*.png``."""
    rng = np.random.default_rng(seed)
    categories = [{"id": 10 + j, "name": name, "supercategory": "shape"} for j, (name, _) in enumerate(SHAPES)]
    (root / "annotations").mkdir(parents=True)
    ann_id = 1
    for fold, n in (("train", n_train), ("val", n_val)):
        (root / fold).mkdir()
        images, annotations = [], []
        for i in range(n):
            img = background(rng, size)
            draw = ImageDraw.Draw(img)
            for j in np.flatnonzero(coco_labels(rng)):
                name, color = SHAPES[j]
                bbox = draw_shape(draw, name, faint(color) if j % 2 else color, rng, size)
                annotations.append({"id": ann_id, "image_id": 1000 + i, "category_id": 10 + int(j), "bbox": bbox,
                                    "area": bbox[2] * bbox[3], "iscrowd": 0, "segmentation": []})
                ann_id += 1
            file_name = f"{fold}_{i:04d}.png"
            img.save(root / fold / file_name)
            images.append({"id": 1000 + i, "file_name": file_name, "width": size, "height": size})
        (root / "annotations" / f"instances_{fold}.json").write_text(
            json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return root


def write_fewshot(root: Path, per_class: int = 12, seed: int = 0, size: int = SIZE) -> Path:
    """``{train,val,test}/<class>/*.png``: 8 base classes, 5 + 5 novel ones; a class is a shape in a colour."""
    rng = np.random.default_rng(seed)
    palette = [(230, 40, 40), (40, 200, 40), (40, 80, 230), (230, 200, 30), (200, 40, 220), (30, 210, 210),
               (250, 250, 250), (20, 20, 20), (240, 130, 20)]
    shapes = [name for name, _ in SHAPES]
    combos = [(shapes[k % 6], palette[(5 * k) % 9]) for k in range(18)]  # 18 distinct (shape, colour) classes
    for split, lo, hi in (("train", 0, 8), ("val", 8, 13), ("test", 13, 18)):
        for k in range(lo, hi):
            shape, color = combos[k]
            folder = root / split / f"c{k:02d}_{shape}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                img = background(rng, size)
                draw_shape(ImageDraw.Draw(img), shape, color, rng, size)
                img.save(folder / f"{i:03d}.png")
    return root
