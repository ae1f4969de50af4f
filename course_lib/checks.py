"""Self-checks for the exercises.

Each check prints one clear line, ``PASS`` or ``NOT YET`` with a hint, and
never prints the expected answer. A failed check does not stop the notebook,
so a student can keep working. With ``COURSE_STRICT_CHECKS=1`` (set by
``make test``) a failed check raises :class:`CheckFailed`, so the instructor
edition's solutions are tested.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A self-check failed while ``COURSE_STRICT_CHECKS=1``."""


def _report(name: str, ok: bool, hint: str) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if ok:
        print(f"PASS  {name}")
        return
    msg = f"NOT YET  {name}" + (f" -- hint: {hint}" if hint else "")
    print(msg)
    if os.environ.get("COURSE_STRICT_CHECKS", "") == "1":
        raise CheckFailed(msg)


def _array(value: Any, arg: str) -> np.ndarray:
    if value is None or value is Ellipsis:
        return np.array(np.nan)  # an unanswered exercise simply fails
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{arg} must be a number or array of numbers, got {type(value).__name__}") from err
    return arr


def check_close(name: str, answer: Any, reference: Any, *, rtol: float = 1e-5, atol: float = 1e-6,
                hint: str = "") -> None:
    """Pass when ``answer`` has the reference's shape and matches it within tolerance."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    a, r = _array(answer, "answer"), _array(reference, "reference")
    if a.shape != r.shape:
        return _report(name, False, f"expected an array of shape {r.shape}, got shape {a.shape}. {hint}".strip())
    return _report(name, bool(np.allclose(a, r, rtol=rtol, atol=atol)) and bool(np.all(np.isfinite(a))), hint)


def check_equal(name: str, answer: Any, reference: Any, *, hint: str = "") -> None:
    """Pass when ``answer == reference`` (arrays: same shape and all elements equal)."""
    if isinstance(reference, (np.ndarray, list, tuple)):
        a, r = np.asarray(answer), np.asarray(reference)
        return _report(name, a.shape == r.shape and bool(np.all(a == r)), hint)
    return _report(name, bool(answer == reference), hint)


def check_shape(name: str, answer: Any, shape: tuple[int | None, ...], *, hint: str = "") -> None:
    """Pass when ``answer`` has this shape (``None`` matches any size on that axis)."""
    if not isinstance(shape, tuple):
        raise TypeError(f"shape must be a tuple, got {type(shape).__name__}")
    got = tuple(np.shape(answer)) if answer is not None else None
    ok = got is not None and len(got) == len(shape)
    ok = ok and all(s is None or s == g for s, g in zip(shape, got, strict=True))
    return _report(name, ok, hint or f"expected shape {shape}, got {got}")


def check_range(name: str, answer: Any, *, low: float = -np.inf, high: float = np.inf, hint: str = "") -> None:
    """Pass when the number ``answer`` lies in ``[low, high]`` (e.g. an accuracy above a bar)."""
    if low > high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    a = _array(answer, "answer")
    return _report(name, a.size == 1 and bool(np.isfinite(a)) and low <= float(a) <= high, hint)


def check_true(name: str, condition: Any, *, hint: str = "") -> None:
    """Pass when ``condition`` is true (for checks the others don't cover)."""
    return _report(name, bool(condition), hint)
