"""Image inputs: a multi-label image dataset (paths + label matrix ``Y``) and the bank that loads batches.

:class:`ImageBank` is the image counterpart of
:class:`~metalink_dgl.data.featurize.MoleculeGraphs`: ``bank.batch(idx, train)`` gives the
encoder input of rows ``idx``, here a (B, 3, S, S) tensor, loaded from disk and augmented
(random resized crop + horizontal flip) when training, resized and center-cropped otherwise.
An image that cannot be opened is a one-line :class:`~metalink_dgl.errors.MetaLinkError`
naming the file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision import transforms

from ..errors import MetaLinkError
from .splits import Split, make_split, official_split

logger = logging.getLogger(__name__)

#: File endings read as images in folder layouts.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
#: ImageNet channel statistics (torchvision's pretrained weights expect them).
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def open_image(path: str) -> Image.Image:
    """Read ``path`` as an RGB PIL image; a missing or unreadable file is a :class:`MetaLinkError`."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise MetaLinkError(f"{path}: cannot open the image ({type(err).__name__}: {err})") from None


class ImageBank:
    """The images of a dataset, loaded and transformed on demand.

    Parameters
    ----------
    paths : sequence of str
        The N image files, row ``i`` of the dataset being ``paths[i]``.
    image_size : int
        Side ``S`` of the square crops.
    min_scale : float
        Smallest area fraction of a training crop (``RandomResizedCrop`` scale); kept away
        from torchvision's 0.08 so that a crop rarely drops a labelled object.
    """

    def __init__(self, paths: Sequence[str], image_size: int, min_scale: float = 0.35):
        self.paths, self.image_size = list(paths), image_size
        normalize = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
        self.train_transform = transforms.Compose([
            transforms.RandomResizedCrop(image_size, scale=(min_scale, 1.0), antialias=True),
            transforms.RandomHorizontalFlip(), *normalize])
        self.eval_transform = transforms.Compose([
            transforms.Resize(image_size, antialias=True), transforms.CenterCrop(image_size), *normalize])

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"ImageBank({len(self)} images, size {self.image_size})"

    def batch(self, idx: Sequence[int] | np.ndarray | torch.Tensor, train: bool = False) -> torch.Tensor:
        """The images ``idx``, in that order, as one tensor.

        Parameters
        ----------
        idx : 1-D int array, list or Tensor
            B row indices.
        train : bool
            Augment (random crop and flip, from torch's global RNG) instead of center-cropping.

        Returns
        -------
        Tensor, (B, 3, S, S) float32, normalised with the ImageNet mean and std, on the CPU.
        """
        transform = self.train_transform if train else self.eval_transform
        rows = np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64).reshape(-1)
        if not len(rows):
            return torch.zeros(0, 3, self.image_size, self.image_size)
        return torch.stack([transform(open_image(self.paths[i])) for i in rows.tolist()])


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images with a binary multi-label matrix (MS-COCO: one task per object category).

    Attributes
    ----------
    name : str
        ``'coco'``.
    source : str
        The data root (used in messages).
    paths : list of str
        The N image files.
    Y : np.ndarray
        (N, T) float32 0/1 labels (fully observed: an object is present or not).
    task_names : list of str
        The T category names.
    test_rows : np.ndarray or None
        (N,) bool: rows from the official validation file, the test fold of the ``official``
        split; None when only one annotation file was given.
    """

    name: str
    source: str
    paths: list[str] = field(repr=False)
    Y: np.ndarray = field(repr=False)
    task_names: list[str]
    test_rows: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        n, t = len(self.paths), len(self.task_names)
        if self.Y.shape != (n, t):
            raise ValueError(f"ImageDataset {self.name}: Y {self.Y.shape} does not fit {n} images x {t} tasks")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def n_tasks(self) -> int:
        """Number of tasks T."""
        return len(self.task_names)

    def make_split(self, kind: str, seed: int) -> Split:
        """``official``: train file -> train (a seeded 10% -> val), validation file -> test; without
        a validation file, and for ``random``, a seeded random 80/10/10 split."""
        if kind == "official" and self.test_rows is not None:
            return official_split(self.test_rows, seed, dataset=self.name)
        if kind == "official":
            logger.info("%s: one annotation file only: seeded random 80/10/10 split", self.source)
            kind = "random"
        return make_split(self.paths, kind, seed, dataset=self.name)
