"""Metrics on numbers: classification, ranking (ROC, precision-recall), regression and IoU, in NumPy.

Part of :mod:`course_lib.metrics` (import them from there; the table of references is in its docstring).
Every function takes the **truth first** (``y_true``), then the prediction, like scikit-learn. Bad input
raises ``TypeError``/``ValueError`` naming the argument.
"""

import math
from typing import Any

import numpy as np

AVERAGES = ("binary", "macro")

# --- input checks --------------------------------------------------------------------------------


def _vector(value: Any, arg: str) -> np.ndarray:
    """A non-empty 1-D array (a column vector ``(n, 1)`` is flattened)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{arg} must be an array of numbers, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"{arg} must be an array of numbers, got objects such as {arr.flat[0]!r}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{arg} must be 1-D (one value per example), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{arg} must not be empty")
    return arr


def _labels(value: Any, arg: str) -> np.ndarray:
    """Integer (or boolean) class labels."""
    arr = _vector(value, arg)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{arg} must hold integer class labels, got dtype {arr.dtype} "
                        "(threshold probabilities or take the argmax first)")
    return arr.astype(np.int64)


def _scores(value: Any, arg: str) -> np.ndarray:
    """Finite real numbers."""
    arr = _vector(value, arg)
    if arr.dtype.kind not in "iuf" and arr.dtype.name != "bfloat16":  # bfloat16: mixed-precision outputs
        raise TypeError(f"{arg} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{arg} must hold finite numbers (no NaN or inf)")
    return arr


def _same_length(a: np.ndarray, b: np.ndarray, arg_a: str, arg_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{arg_a} and {arg_b} must have the same length, got {a.size} and {b.size}")


def _binary(y: np.ndarray, arg: str) -> None:
    extra = sorted(set(np.unique(y).tolist()) - {0, 1})
    if extra:
        raise ValueError(f"{arg} must hold only 0 and 1 for a binary metric, found {extra[:5]} "
                         "(use average='macro' for several classes)")


# --- classification ------------------------------------------------------------------------------


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of examples whose predicted label equals the true label.

    ``accuracy = (number of i with y_pred[i] == y_true[i]) / n``. Misleading on
    imbalanced data: predicting the majority class always scores its share.
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    _same_length(t, p, "y_true", "y_pred")
    return float(np.mean(t == p))


def _per_class(y_true: Any, y_pred: Any, average: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, predicted positives and actual positives, one entry per class.

    ``binary``: one entry, for class 1. ``macro``: every class seen in either array.
    """
    if not isinstance(average, str) or average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    _same_length(t, p, "y_true", "y_pred")
    if average == "binary":
        _binary(t, "y_true")
        _binary(p, "y_pred")
        classes = np.array([1])
    else:
        classes = np.union1d(t, p)
    tp = np.array([np.sum((t == c) & (p == c)) for c in classes], dtype=np.float64)
    pred_pos = np.array([np.sum(p == c) for c in classes], dtype=np.float64)
    true_pos = np.array([np.sum(t == c) for c in classes], dtype=np.float64)
    return tp, pred_pos, true_pos


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (scikit-learn's ``zero_division`` default, without the warning)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def precision(y_true: Any, y_pred: Any, *, average: str = "binary") -> float:
    """Of the examples predicted positive, the fraction that are positive: ``TP / (TP + FP)``.

    Args:
        y_true, y_pred: integer labels, same length.
        average: ``"binary"`` (labels 0/1, class 1 is positive) or ``"macro"``
            (precision of each class against the rest, then their unweighted mean).

    A class never predicted has precision 0 (as scikit-learn's ``zero_division`` default).
    """
    tp, pred_pos, _ = _per_class(y_true, y_pred, average)
    return float(np.mean(_ratio(tp, pred_pos)))


def recall(y_true: Any, y_pred: Any, *, average: str = "binary") -> float:
    """Of the positive examples, the fraction predicted positive: ``TP / (TP + FN)``.

    Same arguments as :func:`precision`. Also called sensitivity or true positive rate.
    """
    tp, _, true_pos = _per_class(y_true, y_pred, average)
    return float(np.mean(_ratio(tp, true_pos)))


def f1(y_true: Any, y_pred: Any, *, average: str = "binary") -> float:
    """Harmonic mean of precision and recall: ``2 P R / (P + R) = 2 TP / (2 TP + FP + FN)``.

    With ``average="macro"`` the F1 of each class is computed first and then averaged
    (not the F1 of the averaged precision and recall), as scikit-learn does.
    """
    tp, pred_pos, true_pos = _per_class(y_true, y_pred, average)
    return float(np.mean(_ratio(2 * tp, pred_pos + true_pos)))


# --- ranking: ROC and precision-recall ------------------------------------------------------------


def _ranked(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative TP and FP counts when the threshold is lowered past each distinct score."""
    t, s = _labels(y_true, "y_true"), _scores(y_score, "y_score")
    _same_length(t, s, "y_true", "y_score")
    _binary(t, "y_true")
    if t.min() == t.max():
        raise ValueError("y_true must contain both classes (0 and 1) for a ranking metric")
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each distinct score
    tps = np.cumsum(t)[last].astype(np.float64)
    fps = (last + 1) - tps
    return tps, fps, s[last]


def roc_curve(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: ``(fpr, tpr, thresholds)``.

    Predicting "positive" when ``y_score >= threshold``, for each distinct score from
    the highest down, gives one point ``(FP / N, TP / P)``. The curve starts at
    ``(0, 0)`` with threshold ``inf``. Every point is kept (scikit-learn's
    ``roc_curve(..., drop_intermediate=False)``).

    Args:
        y_true: labels 0/1, both present.
        y_score: a real score per example, higher meaning "more likely positive"
            (a probability, a logit, a margin).
    """
    tps, fps, thresholds = _ranked(y_true, y_score)
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return fpr, tpr, np.r_[np.inf, thresholds]


def precision_recall_curve(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every threshold: ``(precision, recall, thresholds)``.

    Thresholds increase; ``precision[i]`` and ``recall[i]`` belong to ``thresholds[i]``,
    and a final point ``(precision=1, recall=0)`` is appended, exactly as in
    ``sklearn.metrics.precision_recall_curve``.
    """
    tps, fps, thresholds = _ranked(y_true, y_score)
    prec = tps / (tps + fps)
    rec = tps / tps[-1]
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thresholds[::-1]


def auc(x: Any, y: Any) -> float:
    """Area under the curve through the points ``(x[i], y[i])``, by the trapezoidal rule.

    ``x`` must be monotonic (increasing or decreasing) with at least two points.
    """
    xs, ys = _scores(x, "x"), _scores(y, "y")
    _same_length(xs, ys, "x", "y")
    if xs.size < 2:
        raise ValueError(f"x must have at least 2 points, got {xs.size}")
    dx = np.diff(xs)
    if np.all(dx >= 0):
        sign = 1.0
    elif np.all(dx <= 0):
        sign = -1.0
    else:
        raise ValueError("x must be monotonic (increasing or decreasing)")
    return float(sign * np.sum(dx * (ys[1:] + ys[:-1]) / 2.0))


def roc_auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve: the probability that a random positive scores higher
    than a random negative (ties count one half)."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return auc(fpr, tpr)


# --- regression ----------------------------------------------------------------------------------


def _regression(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(y_true, (str, bytes)) or y_true is None:
        raise TypeError(f"y_true must be an array of numbers, got {type(y_true).__name__}")
    if isinstance(y_pred, (str, bytes)) or y_pred is None:
        raise TypeError(f"y_pred must be an array of numbers, got {type(y_pred).__name__}")
    out = []
    for arr, arg in ((np.asarray(y_true), "y_true"), (np.asarray(y_pred), "y_pred")):
        if arr.dtype.kind not in "iuf" and arr.dtype.name != "bfloat16":  # bfloat16: mixed-precision outputs
            raise TypeError(f"{arg} must hold real numbers, got dtype {arr.dtype}")
        if arr.size == 0:
            raise ValueError(f"{arg} must not be empty")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{arg} must hold finite numbers (no NaN or inf)")
        out.append(arr.astype(np.float64))
    if out[0].shape != out[1].shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {out[0].shape} and {out[1].shape} "
                         "(NumPy would broadcast y_true - y_pred into a table of wrong differences); "
                         "reshape one to match, e.g. y_pred.reshape(y_true.shape)")
    return out[0], out[1]


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error ``mean((y_true - y_pred)**2)`` over all elements (in squared units)."""
    t, p = _regression(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(mse)``: in the units of the target, dominated by large errors.

    For multi-output targets ``(n, k)`` this is the square root of the MSE over all ``n * k`` elements, as
    ``keras.metrics.RootMeanSquaredError`` computes it; ``sklearn.metrics.root_mean_squared_error`` instead
    averages the ``k`` per-output RMSEs (its ``multioutput="uniform_average"``), a different number when the
    outputs' errors differ.
    """
    return math.sqrt(mse(y_true, y_pred))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean(|y_true - y_pred|)``: in the target's units, robust to outliers."""
    t, p = _regression(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


# --- vision: intersection over union ---------------------------------------------------------------


def iou(a: Any, b: Any, *, kind: str = "box") -> float | np.ndarray:
    """Intersection over union ``|A ∩ B| / |A ∪ B|`` of boxes or masks.

    Args:
        a, b: with ``kind="box"``, boxes ``(x_min, y_min, x_max, y_max)`` as arrays of
            shape ``(..., 4)`` that broadcast against each other (so ``a[:, None]`` and
            ``b[None]`` give the matrix of all pairs); area is ``(x_max - x_min) *
            (y_max - y_min)`` in continuous coordinates. With ``kind="mask"``, two
            boolean (or 0/1) masks of the same shape.
        kind: ``"box"`` or ``"mask"``.

    Returns:
        a float for one pair of boxes or for masks, else an array of the broadcast shape.
        Two empty boxes or masks have IoU 0.
    """
    if kind not in ("box", "mask"):
        raise ValueError(f"kind must be 'box' or 'mask', got {kind!r}")
    if kind == "mask":
        ma, mb = np.asarray(a), np.asarray(b)
        for m, arg in ((ma, "a"), (mb, "b")):
            if m.dtype != bool and not ((m.dtype.kind in "iuf" or m.dtype.name == "bfloat16")
                                        and np.isin(m, (0, 1)).all()):
                raise TypeError(f"{arg} must be a boolean (or 0/1) mask")
            if m.size == 0:
                raise ValueError(f"{arg} must not be empty")
        if ma.shape != mb.shape:
            raise ValueError(f"a and b must have the same shape, got {ma.shape} and {mb.shape}")
        ma, mb = ma.astype(bool), mb.astype(bool)
        union = np.count_nonzero(ma | mb)
        return float(np.count_nonzero(ma & mb) / union) if union else 0.0
    boxes = []
    for box, arg in ((a, "a"), (b, "b")):
        arr = np.asarray(box)
        if arr.dtype.kind not in "iuf" and arr.dtype.name != "bfloat16":
            raise TypeError(f"{arg} must hold box coordinates (numbers), got dtype {arr.dtype}")
        if arr.ndim == 0 or arr.shape[-1] != 4:
            raise ValueError(f"{arg} must have shape (..., 4) as (x_min, y_min, x_max, y_max), got {arr.shape}")
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{arg} must hold finite coordinates")
        if np.any(arr[..., 2] < arr[..., 0]) or np.any(arr[..., 3] < arr[..., 1]):
            raise ValueError(f"{arg} must have x_max >= x_min and y_max >= y_min")
        boxes.append(arr)
    ba, bb = boxes
    iw = np.clip(np.minimum(ba[..., 2], bb[..., 2]) - np.maximum(ba[..., 0], bb[..., 0]), 0, None)
    ih = np.clip(np.minimum(ba[..., 3], bb[..., 3]) - np.maximum(ba[..., 1], bb[..., 1]), 0, None)
    inter = iw * ih
    area_a = (ba[..., 2] - ba[..., 0]) * (ba[..., 3] - ba[..., 1])
    area_b = (bb[..., 2] - bb[..., 0]) * (bb[..., 3] - bb[..., 1])
    union = area_a + area_b - inter
    out = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return float(out) if out.ndim == 0 else out
