"""Plots the chapters share: training curves, image grids, confusion matrices.

Each function returns a matplotlib ``Figure`` (shown inline in Jupyter) and
rejects bad input with a ``TypeError``/``ValueError`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure


def _history_dict(history: Any) -> dict[str, list[float]]:
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(f"history must be a keras History or a dict of lists, got {type(history).__name__}")
    if not data:
        raise ValueError("history is empty: train the model (model.fit) before plotting")
    lengths = {len(v) for v in data.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"history lists must all have the same non-zero length, got lengths {sorted(lengths)}")
    return {str(k): [float(x) for x in v] for k, v in data.items()}


def plot_history(history: Any, metrics: Sequence[str] | None = None, *, title: str = "") -> Figure:
    """Training curves from ``model.fit``: one panel per metric, train vs validation.

    Args:
        history: the ``History`` that ``model.fit`` returns, or its ``.history`` dict.
        metrics: names to plot (default: every metric that is not a ``val_`` one).
    """
    data = _history_dict(history)
    names = [k for k in data if not k.startswith("val_")] if metrics is None else list(metrics)
    missing = [m for m in names if m not in data]
    if missing or not names:
        raise ValueError(f"metrics {missing or names} not in history; available: {sorted(data)}")
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        epochs = np.arange(1, len(data[name]) + 1)
        ax.plot(epochs, data[name], "o-", label="train")
        if f"val_{name}" in data:
            ax.plot(epochs, data[f"val_{name}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_grid(
    images: Any,
    labels: Sequence[Any] | np.ndarray | None = None,
    *,
    class_names: Sequence[str] | None = None,
    predictions: Sequence[Any] | np.ndarray | None = None,
    ncols: int = 8,
    cmap: str = "gray",
) -> Figure:
    """Show images in a grid with their labels (and predictions: wrong ones in red).

    ``images``: array of shape ``(n, h, w)`` or ``(n, h, w, 1|3)``.
    """
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3) or len(arr) == 0:
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, 1|3) with n > 0, got {np.shape(images)}")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    n = len(arr)
    for name, seq in (("labels", labels), ("predictions", predictions)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} must have one entry per image ({n}), got {len(seq)}")

    def text(v: Any) -> str:
        if class_names is not None:
            return str(class_names[int(v)])
        return str(v)

    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.5 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(arr[i], cmap=None if arr.ndim == 4 else cmap)
        if labels is not None and predictions is not None:
            ok = int(labels[i]) == int(predictions[i])
            ax.set_title(f"{text(predictions[i])}\n(true {text(labels[i])})" if not ok else text(labels[i]),
                         fontsize=8, color="black" if ok else "red")
        elif labels is not None:
            ax.set_title(text(labels[i]), fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` of examples with true class ``i`` predicted as ``j``."""
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty and the same length, got {t.size} and {p.size}")
    if not (np.issubdtype(t.dtype, np.integer) and np.issubdtype(p.dtype, np.integer)):
        raise TypeError("y_true and y_pred must hold integer class ids (use argmax on probabilities first)")
    if min(t.min(), p.min()) < 0:
        raise ValueError("y_true and y_pred must hold non-negative class ids")
    k = int(max(t.max(), p.max()) + 1) if num_classes is None else num_classes
    if max(t.max(), p.max()) >= k:
        raise ValueError(f"num_classes={k} is too small for class id {max(t.max(), p.max())}")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def plot_confusion_matrix(
    y_true: Any, y_pred: Any, *, class_names: Sequence[str] | None = None, normalize: bool = False
) -> Figure:
    """Draw the confusion matrix (rows: true class, columns: predicted class)."""
    k = len(class_names) if class_names is not None else None
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(cm))]
    fig, ax = plt.subplots(figsize=(0.6 * len(cm) + 2.5, 0.6 * len(cm) + 2))
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(cm)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(cm)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2
    for i in range(len(cm)):
        for j in range(len(cm)):
            v = shown[i, j]
            ax.text(j, i, f"{v:.2f}" if normalize else str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > threshold else "black")
    fig.tight_layout()
    return fig
