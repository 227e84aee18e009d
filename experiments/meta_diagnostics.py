"""How much a meta-trained checkpoint reads its support labels (its saved test draw):

* test ROC-AUC with the support labels as they are, and with every shown one flipped (0 <-> 1):
  a model that builds its new tasks from the support set falls well below chance when the
  support says the opposite; one that scores the same ignores it;
* the mean Pearson correlation, over the first test block of molecules, between the logits of
  every pair of held-out tasks: near 1 means one ranking of the molecules for all new tasks.

    python experiments/meta_diagnostics.py runs/paper/toxcast/meta/default/L2/seed_0/best.pt
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import torch

from metalink_dgl.engine import Block, embed_support, forward_block, load_model, prepare_data, score_rows
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.kg import EvalDraw, get_setting
from metalink_dgl.metrics import METRICS


def flipped_support(Y: torch.Tensor, draw: EvalDraw) -> torch.Tensor:
    """``Y`` (N, T) with every shown support label flipped."""
    out = Y.clone()
    block = out[draw.support]
    out[draw.support] = torch.where(draw.support_shown, 1 - block, block)
    return out


@torch.no_grad()
def task_correlation(model, data, draw: EvalDraw, rows: torch.Tensor, aux: torch.Tensor, setting) -> float:
    """Mean Pearson correlation between the held-out tasks' logit columns over ``rows`` (one block)."""
    model.eval()
    device = torch.device("cpu")
    support = embed_support(model, data.inputs, data.Y, draw.support, draw.support_shown, batch_size=len(rows),
                            device=device)
    every = draw.heldout[None, :].expand(len(rows), -1)  # every held-out task of every query row, labelled or not
    block = Block.assemble(setting, draw.heldout, model.embed(data.inputs.batch(rows).to(device)), data.Y[rows], aux,
                           support=support, queried=every)
    logits, r, t = forward_block(model, block)
    S = len(block.Y) - len(rows)
    scores = torch.zeros(len(block.Y), data.Y.shape[1])
    scores[r, t] = logits.cpu()
    corr = np.corrcoef(scores[S:][:, draw.heldout].numpy().T)
    return float(corr[np.triu_indices_from(corr, 1)].mean())


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
    data = prepare_data(replace(config, label_storage="dense"), progress=False)  # flipped_support edits Y in place
    draw = EvalDraw.from_state(ckpt["draw"])

    def roc_auc(Y: torch.Tensor) -> float:
        scored = score_rows(model, data.inputs, Y, ckpt["split"]["test"], draw.aux["test"], setting, draw.heldout,
                            draw.support, support_shown=draw.support_shown, batch_size=config.batch_size,
                            device=torch.device("cpu"))
        return METRICS["roc_auc"](scored["y_true"], scored["pred"], scored["task"].astype(np.int64),
                                  data.dataset.task_names)["roc_auc"]

    rows = ckpt["split"]["test"][:config.batch_size]
    print(f"{args.checkpoint}: test ROC-AUC {roc_auc(data.Y):.4f} with the support labels, "
          f"{roc_auc(flipped_support(data.Y, draw)):.4f} with all {int(draw.support_shown.sum())} flipped; "
          f"mean correlation of the held-out tasks' logits over {len(rows)} test molecules "
          f"{task_correlation(model, data, draw, rows, draw.aux['test'][:len(rows)], setting):.3f}")


if __name__ == "__main__":
    main()
