"""course_lib.data.to_dataset takes what tf.data takes (arrays, dicts and tuples of arrays) and really shuffles.

Regression tests for issue 12, section 5: before the fix a dict of feature columns was refused with a
length error that counted the dict's keys, a tuple without labels got a shuffle buffer of 2 (its number
of members), and NumPy integer sizes were refused.
"""

import numpy as np
import pytest
from scipy import stats

from course_lib import data


def _rows(ds):
    """Every element of a batched dataset, unbatched, as NumPy (dicts and tuples kept)."""
    return list(ds.unbatch().as_numpy_iterator())


def test_dict_of_feature_columns_with_labels():
    n = 10
    x = {"age": np.arange(n, dtype="float32"), "city": np.array([f"c{i}" for i in range(n)]),
         "scores": np.arange(3 * n, dtype="int64").reshape(n, 3)}
    y = np.arange(n) % 2
    ds = data.to_dataset(x, y, batch_size=4)
    features, labels = next(iter(ds))
    assert sorted(features) == ["age", "city", "scores"]
    assert features["scores"].shape == (4, 3) and labels.shape == (4,)
    rows = _rows(ds)
    assert len(rows) == n
    assert [r[0]["age"] for r in rows] == list(range(n)) and [r[1] for r in rows] == list(y)


def test_dict_without_labels_and_dict_labels():
    x = {"a": np.arange(6), "b": np.arange(6) * 10}
    rows = _rows(data.to_dataset(x, batch_size=4))
    assert [(r["a"], r["b"]) for r in rows] == [(i, 10 * i) for i in range(6)]
    rows = _rows(data.to_dataset(np.arange(6), {"head1": np.arange(6), "head2": -np.arange(6)}, batch_size=6))
    assert [(r[0], r[1]["head2"]) for r in rows] == [(i, -i) for i in range(6)]


def test_tuple_of_inputs_is_several_inputs_not_two_examples():
    ids, mask = np.arange(20).reshape(10, 2), np.ones((10, 2), "int32")
    ds = data.to_dataset((ids, mask), np.arange(10), batch_size=5)
    (b_ids, b_mask), b_y = next(iter(ds))
    assert b_ids.shape == (5, 2) and b_mask.shape == (5, 2) and b_y.shape == (5,)
    assert len(_rows(data.to_dataset((ids, mask), batch_size=3))) == 10


def test_nested_structures_and_map_fn_see_tf_data_elements():
    x = {"text": {"ids": np.arange(8).reshape(4, 2)}, "extra": (np.arange(4), np.arange(4))}
    rows = _rows(data.to_dataset(x, np.arange(4), batch_size=2, map_fn=lambda f, y: (f["text"]["ids"] * 2, y)))
    assert [list(r[0]) for r in rows] == [[0, 2], [4, 6], [8, 10], [12, 14]]


def test_mismatched_columns_name_the_culprit():
    x = {"age": np.arange(10), "city": np.arange(9)}
    with pytest.raises(ValueError, match=r"x\['age'\]: 10, x\['city'\]: 9"):
        data.to_dataset(x, np.arange(10))
    with pytest.raises(ValueError, match=r"x: 10, y\[0\]: 10, y\[1\]: 3"):
        data.to_dataset(np.arange(10), (np.arange(10), np.arange(3)))
    with pytest.raises(ValueError, match="x: 5, y: 4"):
        data.to_dataset(np.arange(5), np.arange(4))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="x must not be an empty dict"):
        data.to_dataset({})
    with pytest.raises(ValueError, match=r"y\[0\] must have one row per example"):
        data.to_dataset(np.arange(3), (5,))
    with pytest.raises(TypeError, match=r"x\['a'\] must be an array"):
        data.to_dataset({"a": None})
    with pytest.raises(ValueError, match="at least 1"):
        data.to_dataset(np.zeros((0, 3)))
    for bad in (0, -1, 2.0, True, "8"):
        with pytest.raises(ValueError, match="batch_size"):
            data.to_dataset(np.arange(3), batch_size=bad)
    with pytest.raises(ValueError, match="seed"):
        data.to_dataset(np.arange(3), shuffle=True, seed=-1)


def test_numpy_integer_sizes_are_accepted():
    x = np.arange(100)
    batch = np.int64(32)                # e.g. len(x_train) // np.int64(10), or a value read from an array
    ds = data.to_dataset(x, batch_size=batch, shuffle=True, seed=np.int32(3))
    same = data.to_dataset(x, batch_size=32, shuffle=True, seed=3)
    first, first_same = list(ds.as_numpy_iterator()), list(same.as_numpy_iterator())   # first epoch of each
    assert [len(b) for b in first] == [32, 32, 32, 4]
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(first_same))


@pytest.mark.parametrize("make", [
    lambda x: ((x, -x), None, lambda r: r[0]),                 # a tuple without labels: the buffer was 2
    lambda x: ({"a": x, "b": -x}, None, lambda r: r["a"]),      # a dict without labels: the buffer was 2
    lambda x: ({"a": x}, x % 2, lambda r: r[0]["a"]),           # a dict with labels: refused before
    lambda x: (x, x % 2, lambda r: r[0]),                      # plain arrays with labels (worked already)
], ids=["tuple-no-labels", "dict-no-labels", "dict-with-labels", "array-with-labels"])
def test_shuffle_really_mixes(make):
    """A full shuffle gives every position the same chance: order ~ uncorrelated with the original."""
    n = 1000
    x, y, first_id = make(np.arange(n))
    ds = data.to_dataset(x, y, batch_size=100, shuffle=True, seed=0)
    first, second = (np.array([first_id(r) for r in _rows(ds)]) for _ in range(2))
    assert sorted(first) == list(range(n))                       # a permutation: nothing lost or repeated
    rho = stats.spearmanr(np.arange(n), first).statistic
    assert abs(rho) < 0.15                                       # sd of rho is 1/sqrt(n-1) ~ 0.03 under H0
    # a buffer of 2 moves each element a few places; a uniform permutation moves it (n^2-1)/(3n) ~ 333 on average
    assert np.mean(np.abs(first - np.arange(n))) > 250
    assert not np.array_equal(first, second)                     # reshuffled every epoch


def test_every_position_equally_likely():
    """Chi-square test over 300 seeds: where example 0 of a 10-example tuple dataset lands is uniform."""
    x = (np.arange(10), np.arange(10))
    counts = np.zeros(10, int)
    for seed in range(300):
        ids = [r[0] for r in _rows(data.to_dataset(x, batch_size=10, shuffle=True, seed=seed))]
        counts[ids.index(0)] += 1
    assert stats.chisquare(counts).pvalue > 1e-3, counts          # a buffer of 2 keeps it near the front


def test_fixed_seed_reproduces_and_arrays_keep_their_pairing():
    x = np.arange(200)
    a = list(data.to_dataset(x, x * 10, batch_size=50, shuffle=True, seed=5).as_numpy_iterator())
    b = list(data.to_dataset(x, x * 10, batch_size=50, shuffle=True, seed=5).as_numpy_iterator())
    for (xa, ya), (xb, _) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, xa * 10)
    assert np.concatenate(list(data.to_dataset(x, batch_size=64).as_numpy_iterator())).tolist() == list(range(200))
