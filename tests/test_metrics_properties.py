"""Property-based tests: every public course_lib.metrics function against its reference implementation
(scikit-learn, sacrebleu, rouge_score, Keras) on thousands of generated inputs, edge cases included
(ties, one class, multi-output targets, huge and tiny values, empty strings, nothing matching).

Hypothesis runs derandomized (the same examples on every run, so CI is reproducible) and without its example
database; each test's number of examples is set below. Where the course refuses an input that the reference
accepts, a test checks that the error names the argument and says why.
"""

import math
import string

import numpy as np
import pytest
import sacrebleu
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rouge_score import rouge_scorer, tokenize
from rouge_score.rouge_scorer import _lcs_table
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from course_lib import metrics

settings.register_profile("course", derandomize=True, deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("course")
MANY, SOME, FEW = 300, 150, 30

# --- strategies ----------------------------------------------------------------------------------------------------

# Finite floats from tiny to huge (no subnormals: scikit-learn and NumPy agree on those too, but they are slow).
finite = st.floats(min_value=-1e150, max_value=1e150, allow_nan=False, allow_infinity=False, allow_subnormal=False)
magnitudes = st.sampled_from([1e-300, 1e-12, 1.0, 1e6, 1e150])


@st.composite
def label_pairs(draw, max_classes=6, binary=False):
    """y_true, y_pred of equal length; few classes, so ties, absent and never-predicted classes are common."""
    n = draw(st.integers(1, 40))
    k = 2 if binary else draw(st.integers(1, max_classes))
    labels = st.integers(0, k - 1)
    t = draw(hnp.arrays(np.int64, n, elements=labels))
    p = draw(hnp.arrays(np.int64, n, elements=labels))
    return t, p


@st.composite
def scored_binary(draw):
    """Binary labels with both classes, and scores with many ties and any magnitude."""
    n = draw(st.integers(2, 50))
    t = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    assume(0 < t.sum() < n)
    scale = draw(magnitudes)
    coarse = draw(st.booleans())
    raw = draw(hnp.arrays(np.float64, n, elements=st.floats(-1, 1) if not coarse else st.sampled_from([-1.0, 0, 0.5])))
    return t, raw * scale


@st.composite
def regression_pairs(draw):
    """Targets and predictions of the same shape: 1-D, or 2-D with several outputs (multi-output regression)."""
    shape = draw(st.sampled_from([(draw(st.integers(1, 30)),), (draw(st.integers(1, 20)), draw(st.integers(1, 4)))]))
    scale = draw(st.sampled_from([1e-100, 1e-6, 1.0, 1e6, 1e100]))
    t = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1))) * scale
    p = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1))) * scale
    return t, p


# Words from a small vocabulary, so n-grams match sometimes; punctuation and numbers exercise the 13a rules.
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "The", "it's", "well-known", "3.14", "1,000", "end.",
         "(yes)", "&amp;", "&quot;hi&quot;", "über", "naïve", "x-1", "9-5", "Mr.", "—", "\"", "!", "?"]
sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)
nonempty_sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)

# --- classification ------------------------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(label_pairs())
def test_accuracy_matches_sklearn(pair):
    t, p = pair
    assert metrics.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p), abs=1e-12)


@settings(max_examples=MANY)
@given(label_pairs(binary=True), st.booleans())
def test_binary_precision_recall_f1_match_sklearn(pair, as_bool):
    t, p = pair
    tt, pp = (t.astype(bool), p.astype(bool)) if as_bool else (t, p)
    for ours, ref in ((metrics.precision, skm.precision_score), (metrics.recall, skm.recall_score),
                      (metrics.f1, skm.f1_score)):
        assert ours(tt, pp) == pytest.approx(ref(t, p, zero_division=0, labels=[0, 1]), abs=1e-12)


@settings(max_examples=MANY)
@given(label_pairs())
def test_macro_precision_recall_f1_match_sklearn(pair):
    t, p = pair
    for ours, ref in ((metrics.precision, skm.precision_score), (metrics.recall, skm.recall_score),
                      (metrics.f1, skm.f1_score)):
        assert ours(t, p, average="macro") == pytest.approx(ref(t, p, average="macro", zero_division=0), abs=1e-12)


# --- ranking -------------------------------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(scored_binary())
def test_roc_curve_and_auc_match_sklearn(data):
    t, s = data
    fpr, tpr, thr = metrics.roc_curve(t, s)
    r_fpr, r_tpr, r_thr = skm.roc_curve(t, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, r_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, r_tpr, atol=1e-12)
    np.testing.assert_array_equal(thr[1:], r_thr[1:])
    assert metrics.roc_auc(t, s) == pytest.approx(skm.roc_auc_score(t, s), abs=1e-12)
    assert metrics.auc(fpr, tpr) == pytest.approx(skm.auc(r_fpr, r_tpr), abs=1e-12)


@settings(max_examples=MANY)
@given(scored_binary())
def test_precision_recall_curve_matches_sklearn(data):
    t, s = data
    p, r, thr = metrics.precision_recall_curve(t, s)
    rp, rr, rt = skm.precision_recall_curve(t, s, drop_intermediate=False)
    np.testing.assert_allclose(p, rp, atol=1e-12)
    np.testing.assert_allclose(r, rr, atol=1e-12)
    np.testing.assert_array_equal(thr, rt)


@settings(max_examples=MANY)
@given(st.integers(2, 30).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, n, elements=finite), hnp.arrays(np.float64, n, elements=finite))), st.booleans())
def test_auc_matches_sklearn_on_monotonic_curves(xy, decreasing):
    x, y = xy
    x = np.sort(x)[::-1] if decreasing else np.sort(x)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = skm.auc(x, y)
    ours = metrics.auc(x, y) if np.isfinite(ref) else None
    if np.isfinite(ref):
        assert ours == pytest.approx(ref, rel=1e-9, abs=1e-300)


# --- regression ----------------------------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(regression_pairs())
def test_regression_metrics_match_sklearn_including_multi_output(pair):
    t, p = pair
    assert metrics.mse(t, p) == pytest.approx(skm.mean_squared_error(t, p), rel=1e-9, abs=0)
    # Multi-output RMSE: ours (and Keras') is sqrt of the MSE over all elements; scikit-learn averages the per-output
    # RMSEs. Same for one output; otherwise compare with sqrt of scikit-learn's MSE (documented in metrics.rmse).
    if t.ndim == 1 or t.shape[1] == 1:
        assert metrics.rmse(t, p) == pytest.approx(skm.root_mean_squared_error(t, p), rel=1e-9, abs=0)
    assert metrics.rmse(t, p) == pytest.approx(math.sqrt(skm.mean_squared_error(t, p)), rel=1e-9, abs=0)
    assert metrics.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-9, abs=0)


@settings(max_examples=FEW)
@given(regression_pairs())
def test_regression_metrics_match_keras(pair):
    import keras

    t, p = pair
    # Keras computes in float32 (largest finite value ~3.4e38): keep targets and predictions where their squared
    # differences stay finite there (a prediction of 1e100 overflows Keras' MSE to inf while ours is 1e200)
    assume(1e-15 < np.abs(t).max(initial=0) < 1e15 and np.abs(p).max(initial=0) < 1e15)
    for ours, ref in ((metrics.mse, keras.metrics.MeanSquaredError), (metrics.mae, keras.metrics.MeanAbsoluteError),
                      (metrics.rmse, keras.metrics.RootMeanSquaredError)):
        m = ref()
        m.update_state(t.reshape(len(t), -1), p.reshape(len(p), -1))
        assert ours(t, p) == pytest.approx(float(m.result()), rel=1e-4, abs=1e-30)


def test_regression_refuses_column_against_row_and_says_why():
    """scikit-learn treats (n,) and (n, 1) as the same target; NumPy would broadcast y_true - y_pred to (n, n).
    The course refuses the mix-up and says how to fix it."""
    with pytest.raises(ValueError, match=r"y_true and y_pred must have the same shape.*\(3,\).*\(3, 1\)") as err:
        metrics.mse(np.zeros(3), np.zeros((3, 1)))
    assert "broadcast" in str(err.value) and "reshape" in str(err.value)
    assert metrics.mse(np.zeros(3), np.zeros((3, 1)).reshape(-1)) == 0.0  # the suggested fix works


# --- text ----------------------------------------------------------------------------------------------------------


@settings(max_examples=MANY)
@given(any_text)
def test_tokenize_13a_matches_sacrebleu_on_any_text(text):
    assert metrics.tokenize_13a(text) == Tokenizer13a()(text).split()


@settings(max_examples=SOME)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.lists(sentence, min_size=n, max_size=n),
                                                     st.lists(st.lists(sentence, min_size=n, max_size=n),
                                                              min_size=1, max_size=3))),
       st.sampled_from(["13a", "none"]), st.sampled_from(["exp", "none"]))
def test_bleu_matches_sacrebleu(data, tokenize, smooth):
    hyps, ref_streams = data
    references = [list(refs) for refs in zip(*ref_streams, strict=True)]  # ours: one list of references per hypothesis
    ref = sacrebleu.corpus_bleu(hyps, ref_streams, tokenize=tokenize, smooth_method=smooth)
    d = metrics.bleu_details(references, hyps, tokenize=tokenize, smooth=smooth)
    assert 100 * d.score == pytest.approx(ref.score, abs=1e-9)
    assert d.hyp_len == ref.sys_len and d.ref_len == ref.ref_len
    assert list(d.matches) == list(ref.counts) and list(d.totals) == list(ref.totals)
    assert 100 * metrics.bleu(references, hyps, tokenize=tokenize, smooth=smooth) == pytest.approx(ref.score, abs=1e-9)


@settings(max_examples=SOME)
@given(st.lists(nonempty_sentence, min_size=1, max_size=5))
def test_bleu_nothing_matching_and_identical(hyps):
    refs = ["zzz " * (i + 3) for i in range(len(hyps))]  # no token in common with any hypothesis
    assert metrics.bleu(refs, hyps) == 0.0 == sacrebleu.corpus_bleu(hyps, [refs]).score
    same = metrics.bleu(hyps, hyps, tokenize="none")
    assert 100 * same == pytest.approx(sacrebleu.corpus_bleu(hyps, [hyps], tokenize="none").score, abs=1e-9)


@settings(max_examples=MANY)
@given(st.one_of(sentence, any_text), st.one_of(sentence, any_text))
def test_rouge_l_matches_rouge_score(reference, prediction):
    ref = rouge_scorer.RougeScorer(["rougeL"]).score(reference, prediction)["rougeL"].fmeasure
    assert metrics.rouge_l(reference, prediction) == pytest.approx(ref, abs=1e-12)
    assert metrics.tokenize_rouge(reference) == tokenize.tokenize(reference, None)


@settings(max_examples=MANY)
@given(st.lists(st.sampled_from("abcd"), max_size=15), st.lists(st.sampled_from("abcd"), max_size=15))
def test_lcs_length_matches_rouge_score(a, b):
    table = _lcs_table(a, b)
    assert metrics.lcs_length(a, b) == table[-1][-1]
    assert metrics.lcs_length(a, b) == metrics.lcs_length(b, a)


# --- IoU -----------------------------------------------------------------------------------------------------------


@st.composite
def grid_boxes(draw, size=12):
    x0, x1 = sorted(draw(st.lists(st.integers(0, size), min_size=2, max_size=2)))
    y0, y1 = sorted(draw(st.lists(st.integers(0, size), min_size=2, max_size=2)))
    return np.array([x0, y0, x1, y1], dtype=np.float64)


def _raster(box, size=12):
    m = np.zeros((size, size), bool)
    x0, y0, x1, y1 = box.astype(int)
    m[y0:y1, x0:x1] = True
    return m


@settings(max_examples=MANY)
@given(grid_boxes(), grid_boxes(), magnitudes)
def test_box_iou_equals_mask_iou_of_rasterized_boxes_at_any_scale(a, b, scale):
    ref = metrics.iou(_raster(a), _raster(b), kind="mask")
    assert metrics.iou(a, b) == pytest.approx(ref, abs=1e-12)
    assume(scale >= 1e-12)  # 1e-300 squared underflows: areas of such boxes are 0 in float64
    assert metrics.iou(a * scale, b * scale) == pytest.approx(ref, rel=1e-9, abs=1e-12)


@settings(max_examples=FEW)
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(hnp.arrays(bool, (n, n)), hnp.arrays(bool, (n, n)))))
def test_mask_iou_matches_keras_iou(masks):
    import keras

    a, b = masks
    m = keras.metrics.IoU(num_classes=2, target_class_ids=[1])
    m.update_state(a.astype("int32").ravel(), b.astype("int32").ravel())
    assert metrics.iou(a, b, kind="mask") == pytest.approx(float(m.result()), abs=1e-6)


# --- refusals name the argument --------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, exc, arg", [
    (lambda: metrics.accuracy([0.5, 1.0], [0, 1]), TypeError, "y_true"),
    (lambda: metrics.accuracy([0, 1], [0, 1, 1]), ValueError, "y_true and y_pred"),
    (lambda: metrics.precision([0, 2], [0, 1]), ValueError, "y_true"),
    (lambda: metrics.f1([0, 1], [0, 1], average="micro"), ValueError, "average"),
    (lambda: metrics.roc_auc([1, 1], [0.2, 0.3]), ValueError, "y_true must contain both classes"),
    (lambda: metrics.roc_curve([0, 1], [0.2, math.nan]), ValueError, "y_score"),
    (lambda: metrics.auc([0, 1, 0.5], [1, 1, 1]), ValueError, "monotonic"),
    (lambda: metrics.mse([], []), ValueError, "y_true"),
    (lambda: metrics.bleu("the cat", ["the cat"]), TypeError, "references"),
    (lambda: metrics.bleu(["the cat"], "the cat"), TypeError, "hypotheses"),
    (lambda: metrics.bleu(["a"], ["a"], smooth="floor"), ValueError, "smooth"),
    (lambda: metrics.rouge_l(["a"], "a"), TypeError, "reference"),
    (lambda: metrics.lcs_length("abc", ["a"]), TypeError, "a must be a sequence"),
    (lambda: metrics.iou([0, 0, 1], [0, 0, 1, 1]), ValueError, "a must have shape"),
    (lambda: metrics.iou([2, 0, 1, 1], [0, 0, 1, 1]), ValueError, "x_max >= x_min"),
])
def test_refusals_name_the_argument(call, exc, arg):
    with pytest.raises(exc, match=arg):
        call()


def test_roc_auc_of_one_class_is_refused_where_sklearn_returns_nan():
    """ROC AUC is undefined with one class: scikit-learn warns and returns NaN, which then silently poisons an
    average; the course refuses and says what is missing."""
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(skm.roc_auc_score([1, 1, 1], [0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc([1, 1, 1], [0.1, 0.2, 0.3])


def test_alphabet_of_generated_text_covers_13a_rules():
    """The generated sentences really exercise the tokenizer (guards against a strategy that never does)."""
    joined = " ".join(WORDS)
    assert any(c in joined for c in string.punctuation) and "&amp;" in joined and "3.14" in joined
