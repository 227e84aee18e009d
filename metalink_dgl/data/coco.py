"""MS-COCO as a multi-label dataset: pycocotools annotations -> image paths + an (N, 80) 0/1 label matrix.

The data root holds the standard layout (2014 or 2017 names alike)::

    <root>/annotations/instances_train2014.json   (or <root>/instances_*.json)
    <root>/annotations/instances_val2014.json     (optional: the test fold of the official split)
    <root>/train2014/<file_name>                  images named by each file's ``images[].file_name``
    <root>/val2014/<file_name>

Task ``j`` is "an object of category ``j`` is in the image": one column per category of the
annotation file (80 for COCO), in category-id order. Every problem is a one-line
:class:`~metalink_dgl.errors.MetaLinkError` naming the file or folder.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from ..errors import MetaLinkError
from .images import ImageDataset


def find_annotation_files(root: str | os.PathLike) -> dict[str, Path]:
    """The ``instances_*train*.json`` and (optional) ``instances_*val*.json`` files of ``root``.

    Returns
    -------
    dict
        ``"train"`` -> path and, if present, ``"val"`` -> path.
    """
    root = Path(root)
    if not root.is_dir():
        raise MetaLinkError(f"--data-root {root}: folder not found")
    candidates = sorted((root / "annotations").glob("instances_*.json")) + sorted(root.glob("instances_*.json"))
    found: dict[str, list[Path]] = {"train": [], "val": []}
    for path in candidates:
        for fold in found:
            if fold in path.stem[len("instances_"):]:
                found[fold].append(path)
    if not found["train"]:
        raise MetaLinkError(f"{root}: no instances_train*.json in {root / 'annotations'} or {root}; "
                            "point --data-root at a COCO folder with its annotation files")
    for fold, paths in found.items():
        if len(paths) > 1:
            raise MetaLinkError(f"{root}: several {fold} annotation files ({', '.join(p.name for p in paths)}); "
                                "keep one per fold")
    return {fold: paths[0] for fold, paths in found.items() if paths}


def read_coco(path: str | os.PathLike) -> COCO:
    """Read and check a COCO instances file with pycocotools.

    Raises
    ------
    MetaLinkError
        Naming the file, if it is not JSON, lacks ``images``/``categories``, or an annotation
        names an image or category the file does not define.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
            coco = COCO(str(path))
    except json.JSONDecodeError as err:
        raise MetaLinkError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MetaLinkError(f"{path}: cannot read the annotation file ({type(err).__name__})") from None
    except (AssertionError, KeyError, TypeError, AttributeError) as err:
        raise MetaLinkError(f"{path}: not a COCO instances file ({type(err).__name__}: {err})") from None
    missing = [key for key in ("images", "categories") if key not in coco.dataset]
    if missing:
        raise MetaLinkError(f"{path}: not a COCO instances file (no {' or '.join(missing)} list)")
    for ann in coco.dataset.get("annotations", []):
        if ann.get("image_id") not in coco.imgs or ann.get("category_id") not in coco.cats:
            raise MetaLinkError(f"{path}: annotation {ann.get('id')} names image {ann.get('image_id')} or category "
                                f"{ann.get('category_id')}, which the file does not define")
    if any("file_name" not in img for img in coco.imgs.values()):
        raise MetaLinkError(f"{path}: an entry of 'images' has no file_name")
    return coco


def image_folder(root: Path, annotation: Path) -> Path:
    """``<root>/<name>`` (or ``<root>/images/<name>``) for ``instances_<name>.json``."""
    name = annotation.stem[len("instances_"):]
    for folder in (root / name, root / "images" / name):
        if folder.is_dir():
            return folder
    raise MetaLinkError(f"{root / name}: image folder not found (the images of {annotation.name})")


def coco_labels(coco: COCO, categories: list[int]) -> tuple[list[int], np.ndarray]:
    """Image ids (sorted) and their (N, T) 0/1 label matrix over ``categories`` (ids, column order)."""
    image_ids = sorted(coco.imgs)
    row = {img: i for i, img in enumerate(image_ids)}
    col = {cat: j for j, cat in enumerate(categories)}
    Y = np.zeros((len(image_ids), len(categories)), dtype=np.float32)
    for ann in coco.dataset.get("annotations", []):
        Y[row[ann["image_id"]], col[ann["category_id"]]] = 1.0
    return image_ids, Y


def load_coco(root: str | os.PathLike) -> ImageDataset:
    """Load a COCO folder as a multi-label :class:`ImageDataset` (see the module docstring).

    With both a train and a val file, the val images are marked as the test fold of the
    ``official`` split; with only a train file, the split is a seeded random one.
    """
    root = Path(root)
    files = find_annotation_files(root)
    paths: list[str] = []
    blocks, test_rows, categories = [], [], None
    for fold, annotation in files.items():
        coco = read_coco(annotation)
        cats = sorted(coco.cats)
        if categories is None:
            categories, names = cats, [coco.cats[c]["name"] for c in cats]
        elif cats != categories:
            raise MetaLinkError(f"{annotation}: its categories differ from those of {files['train'].name}")
        folder = image_folder(root, annotation)
        image_ids, Y = coco_labels(coco, categories)
        for img in image_ids:
            path = folder / coco.imgs[img]["file_name"]
            if not path.is_file():
                raise MetaLinkError(f"{path}: image file not found (listed in {annotation.name})")
            paths.append(str(path))
        blocks.append(Y)
        test_rows.append(np.full(len(image_ids), fold == "val"))
    if not paths:
        raise MetaLinkError(f"{files['train']}: the annotation file lists no images")
    return ImageDataset("coco", str(root), paths, np.concatenate(blocks), names,
                        np.concatenate(test_rows) if "val" in files else None)
