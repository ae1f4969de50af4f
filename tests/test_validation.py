"""course_lib.validation: positive_int / positive_float convert good values and name the bad argument."""

import math

import numpy as np
import pytest

from course_lib.validation import int_at_least, positive_float, positive_int


def test_positive_int_accepts_python_and_numpy_ints():
    assert positive_int(3, "steps") == 3 and type(positive_int(np.int64(7), "steps")) is int


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (2.0, TypeError), ("3", TypeError),
                                        (True, TypeError), (np.bool_(True), TypeError), (None, TypeError)])
def test_positive_int_rejects_and_names_the_argument(bad, error):
    with pytest.raises(error, match="batch_size"):
        positive_int(bad, "batch_size")


def test_int_at_least_takes_its_minimum():
    assert int_at_least(0, "seed", 0) == 0 and int_at_least(np.int32(2), "d_model", 2) == 2
    with pytest.raises(ValueError, match="d_model must be >= 2, got 1"):
        int_at_least(1, "d_model", 2)
    with pytest.raises(TypeError, match="seed"):
        int_at_least(True, "seed", 0)


def test_positive_float_accepts_numbers():
    assert positive_float(2, "lr") == 2.0 and type(positive_float(np.float32(0.5), "lr")) is float


@pytest.mark.parametrize("bad, error", [(0.0, ValueError), (-1e-3, ValueError), (math.inf, ValueError),
                                        (math.nan, ValueError), ("1e-3", TypeError), (False, TypeError)])
def test_positive_float_rejects_and_names_the_argument(bad, error):
    with pytest.raises(error, match="peak_learning_rate"):
        positive_float(bad, "peak_learning_rate")


def test_the_name_itself_is_checked():
    with pytest.raises(TypeError, match="name"):
        positive_int(1, "")
    with pytest.raises(TypeError, match="name"):
        positive_float(1.0, None)
