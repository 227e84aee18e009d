"""How much a meta-trained checkpoint reads its support labels (its saved test draw):

* test ROC-AUC with the support labels as they are, and with every shown one flipped (0 <-> 1):
  a model that builds its new tasks from the support set falls well below chance when the
  support says the opposite; one that scores the same ignores it;
* in relational-meta, test ROC-AUC with the query rows' auxiliary labels hidden: what they add to
  (or take from) the new tasks' scores; with ``--aux-tasks all`` also with only those on held-out
  tasks hidden (what the labels of the other new tasks add);
* the mean Pearson correlation, over the first test block of molecules, between the logits of
  every pair of held-out tasks: near 1 means one ranking of the molecules for all new tasks.

    python experiments/meta_diagnostics.py runs/paper/toxcast/meta/default/L2/seed_0/best.pt
    python experiments/meta_diagnostics.py runs/paper/toxcast/meta/*/L2/seed_0/best.pt \
        runs/paper/toxcast/meta/model=baseline++/L0/seed_0/best.pt --out results/meta_diagnostics

With ``--out PREFIX`` the numbers of every checkpoint go to ``PREFIX.json`` and a table to
``PREFIX.md``, with the command, commit and machine.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from metalink_dgl.engine import Block, TrainConfig, embed_support, evaluate, forward_block, load_model, prepare_data
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.experiments.diagnostics import diagnostics_main
from metalink_dgl.experiments.naming import changed_options, format_options
from metalink_dgl.experiments.stats import machine_line
from metalink_dgl.kg import EvalDraw, get_setting, keep_informed, training_masks


def flipped_support(Y: torch.Tensor, draw: EvalDraw) -> torch.Tensor:
    """``Y`` (N, T) with every shown support label flipped."""
    out = Y.clone()
    block = out[draw.support]
    out[draw.support] = torch.where(draw.support_shown, 1 - block, block)
    return out


def hidden_aux(Y: torch.Tensor, draw: EvalDraw, rows: torch.Tensor, tasks: torch.Tensor | None = None) -> torch.Tensor:
    """``Y`` (N, T) with the auxiliary labels of the test ``rows`` hidden (NaN), on every task or on
    ``tasks`` (T,) only: they are never scored."""
    hide = draw.aux["test"] if tasks is None else draw.aux["test"] & tasks
    out = Y.clone()
    out[rows] = out[rows].masked_fill(hide, float("nan"))
    return out


@torch.no_grad()
def task_correlation(model, data, draw: EvalDraw, rows: torch.Tensor, aux: torch.Tensor, setting) -> float:
    """Mean Pearson correlation between the held-out tasks' logit columns over ``rows`` (one block), every
    held-out pair scored; ``aux`` (len(rows), T) must not hold one."""
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


def support_sizes(Y: torch.Tensor, draw: EvalDraw, train_rows: torch.Tensor | list[int], batch_size: int,
                  support_ratio: float, episode_shots: int | None = None) -> dict:
    """Median over tasks of the labelled and positive support rows a new task shows: at test (the
    held-out tasks of ``draw``), and in an average training episode (a seen task, on the
    ``support_ratio`` of a ``batch_size``-row minibatch of ``train_rows``; with ``episode_shots``
    K, up to K of its labelled training rows, positives in the task's proportion)."""
    shown = draw.support_shown[:, draw.heldout]
    positive = shown & (Y[draw.support][:, draw.heldout] > 0.5)
    seen = Y[train_rows][:, ~draw.heldout]
    labelled, positives = (~seen.isnan()).sum(0).float(), (seen > 0.5).sum(0).float()
    if episode_shots is None:
        per_row = support_ratio * batch_size / len(train_rows)
        episode, episode_positive = per_row * labelled, per_row * positives
    else:
        episode = labelled.clamp(max=episode_shots)
        episode_positive = positives * episode / labelled.clamp(min=1)
    return {"test_support": float(shown.sum(0).float().median()),
            "test_support_positive": float(positive.sum(0).float().median()),
            "episode_support": float(episode.median()), "episode_support_positive": float(episode_positive.median())}


def informed_share(Y: torch.Tensor, draw: EvalDraw, train_rows: torch.Tensor | list[int], config: TrainConfig,
                   seed: int = 0) -> float:
    """Share of the queried new-task pairs of one epoch of minibatch training episodes (``config``'s
    batch size and support ratio, seeded) whose task's support shows two different labels: the
    pairs ``--episode-query informed`` keeps. In [0, 1]."""
    setting = get_setting(config.setting)
    generator = torch.Generator().manual_seed(seed)
    rows = torch.as_tensor(train_rows)
    rows = rows[torch.randperm(len(rows), generator=generator)]
    kept = total = 0
    for start in range(0, len(rows), config.batch_size):
        Yb = Y[rows[start:start + config.batch_size]]
        masks = training_masks(Yb, setting, ~draw.heldout, aux_ratio=config.aux_ratio,
                               heldout_ratio=config.heldout_ratio, support_ratio=config.support_ratio,
                               generator=generator)
        total += int(masks.queried[:, masks.new_tasks].sum())
        kept += int(keep_informed(Yb, masks).queried[:, masks.new_tasks].sum())
    return kept / max(total, 1)


def diagnose(checkpoint: str) -> dict:
    """Test ROC-AUC with the support labels and with them flipped, and the held-out tasks' logit correlation."""
    model, config, ckpt = load_model(checkpoint)
    setting = get_setting(config.setting)
    if not setting.meta:
        raise MetaLinkError(f"{checkpoint}: a {config.setting} checkpoint has no support set")
    data = prepare_data(replace(config, label_storage="dense"), progress=False)  # flipped_support edits Y in place
    draw = EvalDraw.from_state(ckpt["draw"])

    def roc_auc(Y: torch.Tensor) -> float:
        return evaluate(model, data.inputs, Y, ckpt["split"]["test"], draw.aux["test"], setting, draw,
                        data.dataset.task_names, batch_size=config.batch_size, device=torch.device("cpu"))["roc_auc"]

    rows = ckpt["split"]["test"][:config.batch_size]
    test_rows = torch.as_tensor(ckpt["split"]["test"])
    return {"checkpoint": checkpoint, "dataset": config.dataset, "setting": config.setting, "model": config.model,
            "layers": config.layers, "batch_size": config.batch_size, "options": changed_options(config),
            "test_roc_auc": roc_auc(data.Y), "flipped_roc_auc": roc_auc(flipped_support(data.Y, draw)),
            "no_aux_roc_auc": roc_auc(hidden_aux(data.Y, draw, test_rows)) if setting.relational else None,
            "no_heldout_aux_roc_auc": roc_auc(hidden_aux(data.Y, draw, test_rows, draw.heldout))
            if setting.relational and config.aux_tasks == "all" else None,
            "support_labels": int(draw.support_shown.sum()), "correlation_rows": len(rows),
            "episode_informed": informed_share(data.Y, draw, ckpt["split"]["train"], config),
            **support_sizes(data.Y, draw, ckpt["split"]["train"], config.batch_size, config.support_ratio,
                            config.episode_shots),
            # over every held-out pair: the auxiliary pairs on held-out tasks (--aux-tasks all) stay hidden
            "correlation": task_correlation(model, data, draw, rows, draw.aux["test"][:len(rows)] & ~draw.heldout,
                                            setting)}


#: Options shown in columns of their own, not in the options column.
OWN_COLUMNS = ("model", "batch_size")


def render(records: list[dict], command: str, prov: dict) -> str:
    """The Markdown table of :func:`diagnose`'s records."""
    lines = ["# Do new task nodes read their support labels?", "",
             f"Written by `{command}` at commit `{prov['commit']}` ({machine_line(prov['machine'])}); do not edit. "
             "Each checkpoint's own test draw: test ROC-AUC x100 with the support labels as shown, and with every "
             "shown support label flipped; a model that builds its new "
             "tasks from the support falls below chance when the support says the opposite, one that ignores it "
             "scores the same. Correlation: the mean Pearson correlation between the held-out tasks' logit columns "
             "over one block of test molecules (near 1: one ranking of the molecules for every new task). Support "
             "per new task (median over tasks, labelled / positive rows): at test, and in an average training "
             "episode (the support half of one minibatch; with episode_shots K, up to K labelled training rows). "
             "heldout_tasks=last: the authors' held-out tasks (the last "
             "20% of the columns), not a seeded random 20%. No auxiliary labels (relational-meta): test ROC-AUC "
             "with the query rows' auxiliary labels hidden (the same scored pairs); "
             "with aux_tasks=all, also with only those on held-out tasks hidden. Options: those that differ from the "
             "defaults. Informed in training: the share of the queried new-task pairs of one epoch of minibatch "
             "episodes (--support-ratio) whose task's support shows two different labels, the pairs "
             "--episode-query informed keeps.", "",
             "| dataset | setting | model | options | L | batch | test | flipped support | test − flipped | "
             "no auxiliary labels | none on held-out tasks | correlation | support at test | support in training | "
             "informed in training |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        options = format_options({k: v for k, v in r["options"].items() if k not in OWN_COLUMNS}, ", ")
        default = "(eq. 3)" if r["model"] == "metalink" else ""
        informed = "—" if r.get("episode_informed") is None else f"{100 * r['episode_informed']:.0f}%"
        no_aux, no_heldout_aux = ("—" if r.get(key) is None else f"{100 * r[key]:.1f}"
                                  for key in ("no_aux_roc_auc", "no_heldout_aux_roc_auc"))
        lines.append(f"| {r['dataset']} | {r['setting']} | {r['model']} | {options or default} | {r['layers']} | "
                     f"{r['batch_size']} | {100 * r['test_roc_auc']:.1f} | {100 * r['flipped_roc_auc']:.1f} | "
                     f"{100 * (r['test_roc_auc'] - r['flipped_roc_auc']):+.1f} | "
                     f"{no_aux} | {no_heldout_aux} | "
                     f"{r['correlation']:.3f} | "
                     f"{r['test_support']:.0f} / {r['test_support_positive']:.0f} | "
                     f"{r['episode_support']:.1f} / {r['episode_support_positive']:.1f} | {informed} |")
    return "\n".join(lines) + "\n"


def summary(r: dict) -> str:
    """The printed line of a record (after the checkpoint's path)."""
    return (f"test ROC-AUC {r['test_roc_auc']:.4f} with the support labels, "
            f"{r['flipped_roc_auc']:.4f} with all {r['support_labels']} flipped; mean "
            f"correlation of the held-out tasks' logits over {r['correlation_rows']} test "
            f"molecules {r['correlation']:.3f}")


def main() -> None:
    diagnostics_main("experiments/meta_diagnostics.py", __doc__.split("\n\n")[0], diagnose, summary, render)


if __name__ == "__main__":
    main()
