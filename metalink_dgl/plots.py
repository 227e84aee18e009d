"""Plots written next to a run's JSON, for people who would rather look than read."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402

from .metrics import METRIC_NAMES  # noqa: E402


def plot_history(history: list[dict], path: str | os.PathLike, title: str = "", metric: str = "roc_auc",
                 loss: str = "BCE (queried pairs)") -> None:
    """Training loss and the validation ``metric`` per epoch (``history.json`` rows) as a PNG at ``path``."""
    key = f"val_{metric}"
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_loss.plot(epochs, [h["loss"] for h in history], color="tab:blue")
    ax_loss.set(xlabel="epoch", ylabel=f"train {loss}")
    ax_auc.plot(epochs, [h[key] for h in history], color="tab:orange")
    best = max(range(len(history)), key=lambda i: history[i][key])
    ax_auc.axvline(epochs[best], color="grey", linestyle="--", linewidth=1, label=f"best epoch {epochs[best]}")
    ax_auc.set(xlabel="epoch", ylabel=f"validation {METRIC_NAMES[metric]}")
    ax_auc.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
