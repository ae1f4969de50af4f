"""Argument checks shared by course_lib modules (one source for "is this a positive int?").

Each function returns the value converted to a plain Python type, or raises an error that names the
argument, as the course's standard asks: ``TypeError`` when the type is wrong, ``ValueError`` when the
type is right but the value is out of range. ``bool`` is rejected where a number is expected (``True``
is an ``int`` in Python, but ``batch_size=True`` is a bug, not a batch of one).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def positive_int(value: Any, name: str) -> int:
    """``value`` as an ``int`` >= 1 (Python or NumPy integers accepted).

    Raises:
        TypeError: ``value`` is not an integer (or is a bool), or ``name`` is not a non-empty str.
        ValueError: ``value`` < 1.
    """
    return int_at_least(value, name, 1)


def int_at_least(value: Any, name: str, minimum: int) -> int:
    """``value`` as an ``int`` >= ``minimum`` (Python or NumPy integers accepted).

    Raises:
        TypeError: ``value`` is not an integer (or is a bool), or ``name`` is not a non-empty str.
        ValueError: ``value`` < ``minimum``.
    """
    _check_name(name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive_float(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` > 0 (ints and NumPy numbers accepted).

    Raises:
        TypeError: ``value`` is not a real number (or is a bool), or ``name`` is not a non-empty str.
        ValueError: ``value`` is not finite or is <= 0.
    """
    _check_name(name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str (the argument's name), got {name!r}")
