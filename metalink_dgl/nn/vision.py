"""f_theta for images: torchvision ResNet-50 (MS-COCO) and ResNet-12 (few-shot), projected to ``D``.

Every encoder maps a batch of images (B, 3, H, W) to one embedding per image, (B, D). The
registry :data:`IMAGE_ENCODERS` maps a CLI name to a backbone builder; its keys are the
``--encoder`` choices for ``--dataset coco|fewshot``. Nothing is ever downloaded: a
backbone starts from random weights unless :func:`load_backbone` is given a local
``state_dict`` file (``--pretrained PATH``).
"""

from __future__ import annotations

import os
from typing import Callable

import torch
import torchvision
from torch import nn

from ..errors import MetaLinkError

#: ResNet-12 stage widths relative to the first stage (64-160-320-640 at ``width=64``).
RESNET12_STAGES = (1.0, 2.5, 5.0, 10.0)


class ResNet12Block(nn.Module):
    """Three 3x3 conv-BN-LeakyReLU(0.1) layers with a 1x1 conv-BN shortcut, then 2x2 max-pooling.

    Parameters
    ----------
    in_feats, out_feats : int
        Input and output channels.
    """

    def __init__(self, in_feats: int, out_feats: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.Conv2d(in_feats if i == 0 else out_feats, out_feats, 3, padding=1, bias=False),
                       nn.BatchNorm2d(out_feats)]
            if i < 2:
                layers.append(nn.LeakyReLU(0.1))
        self.body = nn.Sequential(*layers)
        self.shortcut = nn.Sequential(nn.Conv2d(in_feats, out_feats, 1, bias=False), nn.BatchNorm2d(out_feats))
        self.out = nn.Sequential(nn.LeakyReLU(0.1), nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C_out, H // 2, W // 2)."""
        return self.out(self.body(x) + self.shortcut(x))


class ResNet12(nn.Module):
    """The ResNet-12 of MetaOptNet and Meta-Baseline: four :class:`ResNet12Block` stages, global average pool.

    Parameters
    ----------
    width : int
        Channels of the first stage; the four stages have ``width x (1, 2.5, 5, 10)``
        channels (64-160-320-640 at the standard ``width=64``; small widths for tests).

    Examples
    --------
    >>> ResNet12(width=8)(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 80])
    """

    def __init__(self, width: int = 64):
        super().__init__()
        channels = [3] + [int(round(width * r)) for r in RESNET12_STAGES]
        self.stages = nn.Sequential(*(ResNet12Block(a, b) for a, b in zip(channels[:-1], channels[1:])))
        self.out_feats = channels[-1]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 10 * width), H and W at least 16."""
        return self.stages(x).mean(dim=(2, 3))


def _resnet50(width: int) -> nn.Module:
    model = torchvision.models.resnet50(weights=None)  # never downloads
    model.out_feats = model.fc.in_features  # 2048
    model.fc = nn.Identity()
    return model


def _resnet12(width: int) -> nn.Module:
    return ResNet12(width)


#: ``--encoder`` choices for image datasets: name -> ``width -> backbone`` with ``out_feats``.
IMAGE_ENCODERS: dict[str, Callable[[int], nn.Module]] = {
    "resnet50": _resnet50,
    "resnet12": _resnet12,
}


class ImageEncoder(nn.Module):
    """Backbone -> dropout -> linear projection to ``out_feats``.

    Parameters
    ----------
    backbone : nn.Module
        (B, 3, H, W) -> (B, F), exposing ``out_feats == F``.
    out_feats : int
        Embedding size ``D``.
    dropout : float
    """

    def __init__(self, backbone: nn.Module, out_feats: int, dropout: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.project = nn.Sequential(nn.Dropout(dropout), nn.Linear(backbone.out_feats, out_feats))
        self.out_feats = out_feats

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, out_feats)."""
        return self.project(self.backbone(images))


def build_image_encoder(name: str, hidden: int, dropout: float = 0.0, width: int = 64) -> ImageEncoder:
    """Build the image encoder ``name`` (a key of :data:`IMAGE_ENCODERS`) with output size ``hidden``.

    ``width`` sizes ResNet-12 (see :class:`ResNet12`); ResNet-50 has its fixed torchvision widths.
    """
    if name not in IMAGE_ENCODERS:
        raise MetaLinkError(f"unknown image encoder {name!r}; choose one of {', '.join(IMAGE_ENCODERS)}")
    return ImageEncoder(IMAGE_ENCODERS[name](width), hidden, dropout)


def load_backbone(backbone: nn.Module, path: str | os.PathLike) -> None:
    """Load a local ``state_dict`` file into ``backbone`` (``torch.load(weights_only=True)``).

    A torchvision ImageNet file (e.g. ``resnet50-0676ba61.pth``) fits ResNet-50: its
    classifier ``fc.*`` is dropped. Every other key must match exactly.

    Raises
    ------
    MetaLinkError
        Naming the file, if it is missing, not a readable state_dict, or its keys or shapes
        do not fit the backbone.
    """
    if not os.path.isfile(path):
        raise MetaLinkError(f"--pretrained {path}: file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unreadable file is the same user error
        raise MetaLinkError(f"--pretrained {path}: not a readable torch state_dict ({type(err).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MetaLinkError(f"--pretrained {path}: not a state_dict (expected a dict of parameter name -> tensor)")
    if isinstance(getattr(backbone, "fc", None), nn.Identity):
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = backbone.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{label} {keys[:3]}{' ...' if len(keys) > 3 else ''}" for label, keys in
                 (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise MetaLinkError(f"--pretrained {path}: the weights do not fit the {type(backbone).__name__} "
                            f"backbone ({'; '.join(parts)}); give a state_dict of the same architecture")
    backbone.load_state_dict(state)
