"""How much a meta-trained checkpoint reads its support labels: test ROC-AUC with the support
labels of its saved draw as they are, and with every shown support label flipped (0 <-> 1).

A model that builds its new tasks from the support set should fall well below chance when
the support says the opposite; one that scores the same ignores it.

    python experiments/flip_support.py runs/paper/toxcast/meta/default/L2/seed_0/best.pt
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from metalink_dgl.draw import EvalDraw
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.evaluation import score_rows
from metalink_dgl.metrics import METRICS
from metalink_dgl.pipeline import load_model, prepare_data
from metalink_dgl.settings import get_setting


def flipped_support(Y: torch.Tensor, draw: EvalDraw) -> torch.Tensor:
    """``Y`` (N, T) with every shown support label flipped."""
    out = Y.clone()
    block = out[draw.support]
    out[draw.support] = torch.where(draw.support_shown, 1 - block, block)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, config, ckpt = load_model(args.checkpoint)
    setting = get_setting(config.setting)
    if not setting.meta:
        raise MetaLinkError(f"{args.checkpoint}: a {config.setting} checkpoint has no support set")
    data = prepare_data(config, progress=False)
    draw = EvalDraw.from_state(ckpt["draw"])

    def roc_auc(Y: torch.Tensor) -> float:
        scored = score_rows(model, data.inputs, Y, ckpt["split"]["test"], draw.aux["test"], setting, draw.heldout,
                            draw.support, support_shown=draw.support_shown, batch_size=config.batch_size,
                            device=torch.device("cpu"))
        return METRICS["roc_auc"](scored["y_true"], scored["prob"], scored["task"].astype(np.int64),
                                  data.dataset.task_names)["roc_auc"]

    print(f"{args.checkpoint}: test ROC-AUC {roc_auc(data.Y):.4f} with the support labels, "
          f"{roc_auc(flipped_support(data.Y, draw)):.4f} with all {int(draw.support_shown.sum())} flipped")


if __name__ == "__main__":
    main()
