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
    out = [line.split(" -- ")[0] for line in capsys.readouterr().out.splitlines()]
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
    out = [line.split(" -- ")[0] for line in capsys.readouterr().out.splitlines()]
    assert out == ["PASS  acc", "NOT YET  acc2", "NOT YET  acc3", "PASS  cond", "NOT YET  cond2"]
    with pytest.raises(ValueError, match="low"):
        checks.check_range("x", 1, low=2, high=1)


def test_bad_arguments():
    with pytest.raises(TypeError, match="name"):
        checks.check_true("", True)
    with pytest.raises(TypeError, match="reference"):
        checks.check_close("x", 1.0, "abc")
    with pytest.raises(TypeError, match="reference"):
        checks.check_close("x", 1.0, None)
    with pytest.raises(ValueError, match="rtol"):
        checks.check_close("x", 1.0, 1.0, rtol=-1)


STUB_ANSWERS = [None, ..., NotImplemented, float("nan"), "abc", print, [[1.0], [1.0, 2.0]], np.zeros(3), {"a": 1}]


@pytest.mark.parametrize("answer", STUB_ANSWERS, ids=repr)
def test_any_wrong_answer_says_not_yet_never_crashes(answer, capsys):
    """Every check, fed a stub's value or a wrong shape/type, prints NOT YET and returns."""
    checks.check_close("close scalar", answer, 1.5)
    checks.check_close("close array", answer, np.ones((2, 2)))
    checks.check_equal("equal scalar", answer, 7)
    checks.check_equal("equal array", answer, np.arange(4))
    checks.check_equal("equal dict", answer, {"a": np.arange(2)})
    checks.check_equal("equal string", answer, "relu")
    checks.check_range("range", answer, low=0.5, high=1.0)
    checks.check_shape("shape", answer, (2, 2))
    checks.check_true("true", answer)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 9
    assert all(line.startswith("NOT YET") for line in out), out


def test_scalar_reference_array_answer_names_the_shape(capsys):
    checks.check_equal("count", np.array([3, 3]), 3)  # crashed with "truth value ... is ambiguous" before
    out = capsys.readouterr().out
    assert out.startswith("NOT YET  count") and "(2,)" in out and "3" not in out.replace("(2,)", "")


def test_unanswered_says_so(capsys):
    checks.check_equal("x", ..., 4)
    checks.check_shape("y", ..., ())
    out = capsys.readouterr().out
    assert out.count("NOT YET") == 2 and "replace the ..." in out


def test_strict_mode_raises_for_stub_answers(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    for call in (lambda: checks.check_equal("a", np.zeros(2), 0), lambda: checks.check_true("b", ...),
                 lambda: checks.check_close("c", "x", 1.0), lambda: checks.check_range("d", None, low=0)):
        with pytest.raises(checks.CheckFailed):
            call()


def test_check_equal_containers(capsys):
    checks.check_equal("dict", {"a": np.arange(2), "b": "x"}, {"a": np.arange(2), "b": "x"})
    checks.check_equal("dict values", {"a": np.arange(3)}, {"a": np.arange(2)})
    checks.check_equal("dict keys", {"b": 1}, {"a": 1})
    checks.check_equal("set", {1 + 2, 3}, {3})
    checks.check_equal("tuples", [(1, 2), (3, 4)], [(1, 2), (3, 4)])
    checks.check_equal("strings", ["a", "b"], ["a", "b"])
    checks.check_equal("ragged", [[1], [1, 2]], [[1], [1, 2]])
    checks.check_equal("numpy scalar", np.int64(5), 5)
    checks.check_equal("one-element array", np.array([5]), 5)
    out = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in out] == ["PASS", "NOT YET", "NOT YET", "PASS", "PASS", "PASS", "PASS",
                                                    "PASS", "NOT YET"], out


def test_check_true_ambiguous_array(capsys):
    checks.check_true("all", np.array([True, True]))
    checks.check_true("one", np.array([True]))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("NOT YET  all") and "np.all" not in out[0] and out[1] == "PASS  one"


def test_check_function_passes_a_right_function_and_names_the_failing_case(capsys):
    cases = [(np.arange(3.0),), (np.ones((2, 2)),)]
    checks.check_function("double", lambda a: 2 * a, cases, lambda a: 2 * a)
    checks.check_function("pair", lambda a: (a, a.sum()), cases, lambda a: (a, a.sum()))
    checks.check_function("wrong on case 2", lambda a: 2 * a if a.ndim == 1 else a, cases, lambda a: 2 * a)
    checks.check_function("copied value", lambda a: np.array([0.0, 2.0, 4.0]), cases, lambda a: 2 * a)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["PASS  double", "PASS  pair"]
    assert out[2].startswith("NOT YET  wrong on case 2 -- hint: case 2 of 2: wrong values")
    assert out[3].startswith("NOT YET  copied value -- hint: case 2 of 2: expected shape (2, 2)")
    assert "4.0" not in "\n".join(out)  # the expected values are never printed


def test_check_function_stubs_and_crashes_say_not_yet(capsys):
    def stub(a):
        return ...

    def crashes(a):
        raise ZeroDivisionError("oops")

    def mutates(a):
        a *= 0
        return a

    cases = [(np.arange(1.0, 4.0),), (np.arange(1.0, 4.0),)]
    for answer in (stub, crashes, ..., None, 3.0, lambda a: (a,), lambda a: a * np.nan):
        checks.check_function("f", answer, cases, lambda a: a)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 7 and all(line.startswith("NOT YET  f") for line in out), out
    assert "raised ZeroDivisionError: oops" in out[1] and "expected a function" in out[2]
    original = np.arange(1.0, 4.0)
    checks.check_function("no side effects", mutates, [(original,)], lambda a: np.zeros(3))
    assert np.array_equal(original, np.arange(1.0, 4.0))


def test_check_function_rejects_bad_references_and_options():
    with pytest.raises(TypeError, match="reference"):
        checks.check_function("f", abs, [(1.0,)], 2.0)
    with pytest.raises(ValueError, match="cases"):
        checks.check_function("f", abs, [], abs)
    with pytest.raises(ValueError, match="cases"):
        checks.check_function("f", abs, [1.0], abs)
    with pytest.raises(ValueError, match="rtol"):
        checks.check_function("f", abs, [(1.0,)], abs, rtol=-1)


def test_check_function_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.CheckFailed):
        checks.check_function("f", lambda a: ..., [(1.0,)], lambda a: a)
