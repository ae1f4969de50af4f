"""Self-checks for the exercises.

Each check prints one clear line, ``PASS`` or ``NOT YET`` with a hint, and
never prints the expected answer. A failed check does not stop the notebook,
so a student can keep working. With ``COURSE_STRICT_CHECKS=1`` (set by
``make test``) a failed check raises :class:`CheckFailed`, so the instructor
edition's solutions are tested.

Whatever the student's *answer* is -- the stub's ``...``, ``None``,
``NotImplemented``, a NaN, a string, an array of the wrong shape, a function
they forgot to call -- a check says ``NOT YET`` (with a hint naming what it
expected) and never crashes. Only a bad *reference* or option, which is the
chapter author's mistake, raises ``TypeError``/``ValueError`` naming the
argument.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A self-check failed while ``COURSE_STRICT_CHECKS=1``."""


_UNANSWERED = (None, Ellipsis, NotImplemented)


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


def _unanswered(value: Any) -> bool:
    return any(value is u for u in _UNANSWERED)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p).strip()


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or ``None`` when it is not numbers (a student's answer)."""
    if _unanswered(value):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None


def _reference(value: Any) -> np.ndarray:
    if _unanswered(value):
        raise TypeError(f"reference must be a number or array of numbers, got {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"reference must be a number or array of numbers, got {type(value).__name__}") from err


def _what(value: Any) -> str:
    if _unanswered(value):
        return "no answer yet (replace the ... with your code)"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"got a {type(value).__name__} of shape {tuple(shape)}"
    return f"got a {type(value).__name__}"


def check_close(name: str, answer: Any, reference: Any, *, rtol: float = 1e-5, atol: float = 1e-6,
                hint: str = "") -> None:
    """Pass when ``answer`` has the reference's shape and matches it within tolerance.

    Elementwise ``|answer - reference| <= atol + rtol * |reference|`` (``numpy.allclose``), and every
    element of ``answer`` finite. Raises ``ValueError`` for a negative ``rtol``/``atol`` and
    ``TypeError`` when ``reference`` is not numbers; any ``answer`` only passes or says NOT YET.
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    r = _reference(reference)
    a = _numbers(answer)
    if a is None:
        return _report(name, False, _join(f"expected a number or array of numbers, {_what(answer)}.", hint))
    if a.shape != r.shape:
        return _report(name, False, _join(f"expected an array of shape {r.shape}, got shape {a.shape}.", hint))
    if not np.all(np.isfinite(a)):
        return _report(name, False, _join("your answer contains NaN or infinity.", hint))
    return _report(name, bool(np.allclose(a, r, rtol=rtol, atol=atol)), hint)


def _array_like(value: Any) -> bool:
    return isinstance(value, (np.ndarray, list, tuple)) or (hasattr(value, "shape") and hasattr(value, "__array__"))


def _equal(answer: Any, reference: Any) -> tuple[bool, str]:
    """(equal?, what was wrong) -- never raises for any ``answer``."""
    if _unanswered(answer) and not _unanswered(reference):
        return False, _what(answer)
    if isinstance(reference, Mapping):
        if not isinstance(answer, Mapping):
            return False, f"expected a dict, {_what(answer)}"
        if set(answer) != set(reference):
            return False, "expected other keys"
        for key in reference:
            ok, why = _equal(answer[key], reference[key])
            if not ok:
                return False, f"key {key!r}: {why}"
        return True, ""
    if _array_like(reference) or _array_like(answer):
        try:
            a, r = np.asarray(answer), np.asarray(reference)
        except (TypeError, ValueError):  # ragged nesting: compare as Python objects
            a = r = None
        if a is not None and r is not None and a.dtype != object and r.dtype != object:
            if a.shape != r.shape:
                return False, f"expected shape {r.shape}, got shape {a.shape}"
            try:
                return bool(np.all(a == r)), ""
            except (TypeError, ValueError):
                return False, f"expected values like the reference's ({r.dtype}), got {a.dtype}"
    try:
        same = answer == reference
        if isinstance(same, (bool, np.bool_)):
            return bool(same), ""
        same_arr = np.asarray(same)
        if same_arr.size != 1:
            return False, f"expected a single value, {_what(answer)}"
        return bool(same_arr.reshape(())), ""
    except Exception:  # noqa: BLE001 -- a student's object may raise anything from __eq__ or __bool__
        return False, f"could not compare: {_what(answer)}"


def check_equal(name: str, answer: Any, reference: Any, *, hint: str = "") -> None:
    """Pass when ``answer == reference`` exactly.

    Arrays, lists and tuples (on either side): same shape and all elements equal. Dicts: same keys and
    equal values. Anything else: Python ``==`` giving one truth value. A scalar reference with an array
    answer, ``...``, ``None`` or an answer that cannot be compared says NOT YET (with the shape or type
    it got), never raises.
    """
    ok, why = _equal(answer, reference)
    return _report(name, ok, _join(f"{why}." if why else "", hint))


def check_shape(name: str, answer: Any, shape: tuple[int | None, ...], *, hint: str = "") -> None:
    """Pass when ``answer`` has this shape (``None`` matches any size on that axis).

    Raises ``TypeError`` when ``shape`` is not a tuple; an answer with no shape (``...``, ``None``,
    ragged lists) says NOT YET.
    """
    if not isinstance(shape, tuple):
        raise TypeError(f"shape must be a tuple, got {type(shape).__name__}")
    got: tuple[int, ...] | None = None
    if not _unanswered(answer):
        try:
            got = tuple(np.shape(answer))
        except (TypeError, ValueError):
            got = None
    ok = got is not None and len(got) == len(shape)
    ok = ok and all(s is None or s == g for s, g in zip(shape, got, strict=True))
    what = f"got {got}" if got is not None else _what(answer)
    return _report(name, ok, hint or f"expected shape {shape}, {what}")


def check_range(name: str, answer: Any, *, low: float = -np.inf, high: float = np.inf, hint: str = "") -> None:
    """Pass when the single finite number ``answer`` lies in ``[low, high]`` (e.g. an accuracy above a bar).

    Raises ``ValueError`` when ``low > high``; an array, NaN, ``...`` or a non-number says NOT YET.
    """
    if low > high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    a = _numbers(answer)
    if a is None or a.size != 1:
        return _report(name, False, _join(f"expected one number, {_what(answer)}.", hint))
    value = float(a.reshape(()))
    return _report(name, bool(np.isfinite(value)) and low <= value <= high, hint)


def check_true(name: str, condition: Any, *, hint: str = "") -> None:
    """Pass when ``condition`` is ``True`` (for checks the others don't cover).

    ``condition`` must be a bool (Python, NumPy, or a one-element boolean array or tensor); anything
    else -- ``...``, ``None``, a number, a list, an array of several truth values (use ``np.all``) --
    says NOT YET.
    """
    try:
        arr = np.asarray(condition) if _array_like(condition) else None
    except (TypeError, ValueError):  # ragged nesting
        arr = None
    if isinstance(condition, (bool, np.bool_)):
        ok = bool(condition)
    elif arr is not None and arr.dtype == np.bool_ and arr.size == 1:
        ok = bool(arr.reshape(()))
    else:
        return _report(name, False, _join(f"expected True or False, {_what(condition)}.", hint))
    return _report(name, ok, hint)


def _close_or_why(answer: Any, reference: Any, rtol: float, atol: float) -> str:
    """'' when ``answer`` matches ``reference`` (a number, an array or a tuple/list of them), else what is wrong."""
    if isinstance(reference, tuple):
        if not isinstance(answer, (tuple, list)) or len(answer) != len(reference):
            return f"expected a tuple of {len(reference)} arrays, {_what(answer)}"
        for i, (a, r) in enumerate(zip(answer, reference, strict=True)):
            why = _close_or_why(a, r, rtol, atol)
            if why:
                return f"item {i}: {why}"
        return ""
    r = _reference(reference)
    a = _numbers(answer)
    if a is None:
        return f"expected a number or array of numbers, {_what(answer)}"
    if a.shape != r.shape:
        return f"expected shape {r.shape}, got shape {a.shape}"
    if not np.all(np.isfinite(a)):
        return "NaN or infinity in the result"
    return "" if np.allclose(a, r, rtol=rtol, atol=atol) else "wrong values"


def check_function(name: str, function: Any, cases: list[tuple], reference: Any, *, rtol: float = 1e-5,
                   atol: float = 1e-6, hint: str = "") -> None:
    """Pass when the student's ``function(*case)`` matches ``reference(*case)`` for every case.

    For exercises that ask for a function: the check calls it on inputs the notebook never computed,
    so no value already in scope can pass it. ``reference`` (the chapter author's, computed out of the
    reader's sight, e.g. in ``course_lib._exercise_refs``) returns a number, an array or a tuple of
    them; each result is compared as in :func:`check_close` (same shape, ``numpy.allclose``, finite).
    NumPy array arguments are passed as copies, so a function that modifies them in place cannot change
    the next case's inputs. A ``function`` that is not callable, returns ``...``, raises, or returns the
    wrong shape says NOT YET naming the first failing case (its number, never the expected value). Raises
    ``TypeError`` when ``reference`` is not callable and ``ValueError`` for no cases or a negative
    tolerance (the author's mistakes).
    """
    if not callable(reference):
        raise TypeError(f"reference must be callable, got {type(reference).__name__}")
    if not isinstance(cases, (list, tuple)) or not cases or not all(isinstance(c, tuple) for c in cases):
        raise ValueError("cases must be a non-empty list of argument tuples")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    if not callable(function):
        return _report(name, False, _join(f"expected a function, {_what(function)}.", hint))
    for k, case in enumerate(cases, start=1):
        expected = reference(*case)
        try:
            got = function(*(np.array(c, copy=True) if isinstance(c, np.ndarray) else c for c in case))
        except Exception as err:  # noqa: BLE001 -- a student's function may raise anything
            return _report(name, False, _join(f"case {k} of {len(cases)}: your function raised "
                                              f"{type(err).__name__}: {str(err)[:120]}.", hint))
        why = _close_or_why(got, expected, rtol, atol)
        if why:
            return _report(name, False, _join(f"case {k} of {len(cases)}: {why}.", hint))
    return _report(name, True, hint)
