"""Plots written next to a run's JSON, for people who would rather look than read."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402


def plot_history(history: list[dict], path: str | os.PathLike, title: str = "") -> None:
    """Training loss and validation ROC-AUC per epoch (``history.json`` rows) as a PNG at ``path``."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_loss.plot(epochs, [h["loss"] for h in history], color="tab:blue")
    ax_loss.set(xlabel="epoch", ylabel="train BCE (queried pairs)")
    ax_auc.plot(epochs, [h["val_roc_auc"] for h in history], color="tab:orange")
    best = max(range(len(history)), key=lambda i: history[i]["val_roc_auc"])
    ax_auc.axvline(epochs[best], color="grey", linestyle="--", linewidth=1, label=f"best epoch {epochs[best]}")
    ax_auc.set(xlabel="epoch", ylabel="validation ROC-AUC")
    ax_auc.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
