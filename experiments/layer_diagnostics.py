"""What each KG layer of a MetaLink checkpoint adds: validation and test ROC-AUC of the partial sums
of its per-layer predictions, on its own draw (the input layer's scores alone, then up to KG layer
1, ..., then all L + 1, the checkpoint's own score). The partial sum up to layer k is the model cut
after its k-th KG layer.

    python experiments/layer_diagnostics.py runs/paper/toxcast/relational/data_init=labels/L2/seed_0/best.pt
    python experiments/layer_diagnostics.py runs/paper/*/relational/*/L2/seed_0/best.pt --out results/layer_diagnostics

With ``--out PREFIX`` the numbers of every checkpoint go to ``PREFIX.json`` and a table to
``PREFIX.md``, with the command, commit and machine.
"""

from __future__ import annotations

import copy

import torch

from metalink_dgl.engine import evaluate, load_model, prepare_data
from metalink_dgl.errors import MetaLinkError
from metalink_dgl.experiments.diagnostics import diagnostics_main
from metalink_dgl.experiments.naming import changed_options, format_options
from metalink_dgl.experiments.stats import machine_line
from metalink_dgl.kg import EvalDraw, get_setting
from metalink_dgl.nn import MetaLink


def cut(model: MetaLink, k: int) -> MetaLink:
    """``model`` with its first ``k`` KG layers and ``k + 1`` predictors (shares their parameters)."""
    shallow = copy.copy(model)
    shallow._modules = dict(model._modules)  # its own registry: the assignments below leave model whole
    shallow.convs, shallow.predictors = model.convs[:k], model.predictors[:k + 1]
    return shallow


@torch.no_grad()
def diagnose(checkpoint: str) -> dict:
    """ROC-AUC (validation, test) of every partial sum of a checkpoint's layer predictions."""
    model, config, ckpt = load_model(checkpoint)
    if not isinstance(model, MetaLink) or not len(model.convs):
        raise MetaLinkError(f"{checkpoint}: a --model {config.model} --layers {config.layers} checkpoint has no KG "
                            "layer to take apart")
    data = prepare_data(config, progress=False)
    if bool(data.continuous.any()):
        raise MetaLinkError(f"{checkpoint}: {config.dataset} has continuous tasks; this diagnostic scores ROC-AUC")
    setting = get_setting(config.setting)
    draw = EvalDraw.from_state(ckpt["draw"])
    model.eval()

    def roc_auc(scorer, split: str) -> float:
        return evaluate(scorer, data.inputs, data.Y, ckpt["split"][split], draw.aux[split], setting, draw,
                        data.dataset.task_names, batch_size=config.batch_size, device=torch.device("cpu"))["roc_auc"]

    partial = [{split: roc_auc(cut(model, k), split) for split in ("val", "test")} for k in range(len(model.convs) + 1)]
    return {"checkpoint": checkpoint, "dataset": config.dataset, "setting": config.setting, "layers": config.layers,
            "options": changed_options(config), "epochs": config.epochs,
            "best_epoch": int(ckpt["epoch"]), "partial": partial}


def render(records: list[dict], command: str, prov: dict) -> str:
    """The Markdown table of :func:`diagnose`'s records."""
    depth = max(r["layers"] for r in records)
    head = " | ".join(["input layer", *(f"up to KG layer {k}" for k in range(1, depth + 1))])
    lines = ["# What each KG layer adds to a checkpoint's scores", "",
             f"Written by `{command}` at commit `{prov['commit']}` ({machine_line(prov['machine'])}); do not edit. "
             "Validation / test ROC-AUC x100 of the partial sums of the per-layer predictions (plus the task "
             "bias), on each checkpoint's own draw: the input layer's scores alone (with data_init=labels, "
             "labels-as-features' form), then with each KG layer's added; the last column is the checkpoint's "
             "own score.", "",
             f"| dataset | setting | options | L | epochs (best) | {head} |",
             "| --- | --- | --- | --- | --- | " + " | ".join(["---"] * (depth + 1)) + " |"]
    for r in records:
        options = format_options({k: v for k, v in r["options"].items() if k != "epochs"}, ", ") or "(eq. 3)"
        cells = [f"{100 * p['val']:.1f} / {100 * p['test']:.1f}" for p in r["partial"]]
        cells += [""] * (depth + 1 - len(cells))
        lines.append(f"| {r['dataset']} | {r['setting']} | {options} | {r['layers']} | {r['epochs']} "
                     f"({r['best_epoch']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary(r: dict) -> str:
    """The printed line of a record (after the checkpoint's path)."""
    return ", ".join(f"up to layer {k}: validation {p['val']:.4f} test {p['test']:.4f}"
                     for k, p in enumerate(r["partial"]))


def main() -> None:
    diagnostics_main("experiments/layer_diagnostics.py", __doc__.split("\n\n")[0], diagnose, summary, render)


if __name__ == "__main__":
    main()
