"""course_lib.checks: clear pass/fail, a hint, never the answer; strict mode raises."""

import numpy as np
import pytest

from course_lib import checks


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def test_pass_prints_pass(capsys):
    assert checks.check_close("gradient", [1.0, 2.0], np.array([1.0, 2.0 + 1e-9])) is None
    assert capsys.readouterr().out.strip() == "PASS  gradient"


def test_fail_gives_hint_but_not_the_answer(capsys):
    checks.check_close("gradient", [1.0, 2.5], [1.0, 2.123456], hint="use the chain rule")
    out = capsys.readouterr().out
    assert out.startswith("NOT YET  gradient") and "chain rule" in out and "2.123456" not in out


def test_shape_mismatch_says_shape_only(capsys):
    checks.check_close("w", np.zeros(3), np.full((2, 2), 7.25))
    out = capsys.readouterr().out
    assert "NOT YET" in out and "(2, 2)" in out and "7.25" not in out


def test_unanswered_exercise_fails(capsys):
    checks.check_close("x", None, 1.0)
    checks.check_close("y", ..., 1.0)
    assert capsys.readouterr().out.count("NOT YET") == 2


def test_nan_answer_fails(capsys):
    checks.check_close("x", np.nan, np.nan)
    assert "NOT YET" in capsys.readouterr().out


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.CheckFailed, match="slope"):
        checks.check_equal("slope", 3, 4)
    checks.check_equal("slope", 4, 4)  # passing checks never raise


def test_check_equal_arrays_and_scalars(capsys):
    checks.check_equal("a", [1, 2], np.array([1, 2]))
    checks.check_equal("b", [1, 2], [1, 2, 3])
    checks.check_equal("c", "relu", "relu")
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS  a", "NOT YET  b", "PASS  c"]


def test_check_shape(capsys):
    checks.check_shape("s", np.zeros((4, 3)), (None, 3))
    checks.check_shape("t", np.zeros((4, 2)), (4, 3))
    checks.check_shape("u", None, (1,))
    out = capsys.readouterr().out
    assert "PASS  s" in out and "NOT YET  t" in out and "NOT YET  u" in out
    with pytest.raises(TypeError, match="shape"):
        checks.check_shape("v", np.zeros(2), [2])


def test_check_range_and_true(capsys):
    checks.check_range("acc", 0.97, low=0.95, high=1.0)
    checks.check_range("acc2", 0.90, low=0.95)
    checks.check_range("acc3", [0.9, 0.99], low=0.5)
    checks.check_true("cond", 1 < 2)
    checks.check_true("cond2", [])
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS  acc", "NOT YET  acc2", "NOT YET  acc3", "PASS  cond", "NOT YET  cond2"]
    with pytest.raises(ValueError, match="low"):
        checks.check_range("x", 1, low=2, high=1)


def test_bad_arguments():
    with pytest.raises(TypeError, match="name"):
        checks.check_true("", True)
    with pytest.raises(TypeError, match="answer"):
        checks.check_close("x", "abc", 1.0)
    with pytest.raises(ValueError, match="rtol"):
        checks.check_close("x", 1.0, 1.0, rtol=-1)
