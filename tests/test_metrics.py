"""course_lib.metrics against the reference implementations, on real predictions and real text.

Classification: a logistic regression trained here on scikit-learn's bundled digits.
Regression: a linear autoregressive forecast of the bundled sunspot series.
Text: Shakespeare lines as references, hypotheses made by perturbing them.
References: scikit-learn, Keras metrics, sacrebleu, rouge_score.
"""

import math

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sklearn import metrics as skm
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from course_lib import data, metrics

# --- real predictions ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    """Multi-class predictions and one-vs-rest scores of a real classifier (digits, 10 classes)."""
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=0.4, random_state=0, stratify=y)
    clf = LogisticRegression(max_iter=60, C=0.05).fit(x_tr, y_tr)  # weak on purpose: some mistakes
    proba = clf.predict_proba(x_te)
    pred = proba.argmax(axis=1)
    assert 0.85 < np.mean(pred == y_te) < 0.995
    return y_te, pred, proba


@pytest.fixture(scope="module")
def binary(digits):
    """'Is it a 9?': imbalanced (about 10% positive), with real scores."""
    y, pred, proba = digits
    return (y == 9).astype(int), (pred == 9).astype(int), proba[:, 9]


@pytest.fixture(scope="module")
def forecast():
    """One-step sunspot forecasts of a least-squares AR(9) model fitted on the first 200 years."""
    s = data.load_timeseries("sunspots")["SUNACTIVITY"]
    p = 9
    x = np.stack([s[i:i + p] for i in range(len(s) - p)])
    x = np.c_[x, np.ones(len(x))]
    y = s[p:]
    w, *_ = np.linalg.lstsq(x[:200], y[:200], rcond=None)
    return y[200:], x[200:] @ w


@pytest.fixture(scope="module")
def sentences():
    """200 Shakespeare lines (references) and perturbed copies (hypotheses)."""
    text = data.load_shakespeare()
    lines = [ln.strip() for ln in text.splitlines() if 6 <= len(ln.split()) <= 16][1000:1200]
    rng = np.random.default_rng(0)
    vocab = " ".join(lines).split()
    hyps = []
    for ln in lines:
        words = ln.split()
        out = []
        for w in words:
            r = rng.random()
            if r < 0.12:
                continue  # drop a word
            out.append(vocab[rng.integers(len(vocab))] if r < 0.25 else w)  # or replace it
        if rng.random() < 0.3 and len(out) > 3:
            i = rng.integers(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]  # swap two neighbours
        hyps.append(" ".join(out))
    return lines, hyps


# --- classification ------------------------------------------------------------------------------


def test_accuracy_matches_sklearn(digits):
    y, pred, _ = digits
    assert metrics.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)


def test_binary_precision_recall_f1_match_sklearn(binary):
    y, pred, _ = binary
    assert metrics.precision(y, pred) == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert metrics.recall(y, pred) == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert metrics.f1(y, pred) == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert metrics.f1(y.astype(bool), pred.astype(bool)) == pytest.approx(skm.f1_score(y, pred), abs=1e-12)


def test_macro_precision_recall_f1_match_sklearn(digits):
    y, pred, _ = digits
    for ours, ref in ((metrics.precision, skm.precision_score), (metrics.recall, skm.recall_score),
                      (metrics.f1, skm.f1_score)):
        assert ours(y, pred, average="macro") == pytest.approx(ref(y, pred, average="macro"), abs=1e-12)


def test_macro_counts_a_never_predicted_class_as_zero(digits):
    y, pred, _ = digits
    pred = np.where(pred == 3, 5, pred)  # class 3 is never predicted now
    ref = skm.precision_score(y, pred, average="macro", zero_division=0)
    assert metrics.precision(y, pred, average="macro") == pytest.approx(ref, abs=1e-12)


def test_constant_majority_classifier_is_accurate_but_useless(binary):
    y, _, _ = binary
    never = np.zeros_like(y)
    assert metrics.accuracy(y, never) > 0.85
    assert metrics.recall(y, never) == 0.0 and metrics.f1(y, never) == 0.0 and metrics.precision(y, never) == 0.0


def test_roc_curve_and_auc_match_sklearn(binary):
    y, _, score = binary
    fpr, tpr, thr = metrics.roc_curve(y, score)
    r_fpr, r_tpr, r_thr = skm.roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, r_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, r_tpr, atol=1e-12)
    np.testing.assert_allclose(thr[1:], r_thr[1:], atol=1e-12)
    assert np.isinf(thr[0])
    assert metrics.roc_auc(y, score) == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)
    assert metrics.auc(fpr, tpr) == pytest.approx(skm.auc(r_fpr, r_tpr), abs=1e-12)


def test_roc_auc_handles_ties_like_sklearn(binary):
    y, _, score = binary
    coarse = np.round(score, 1)  # many tied scores
    assert metrics.roc_auc(y, coarse) == pytest.approx(skm.roc_auc_score(y, coarse), abs=1e-12)


def test_precision_recall_curve_matches_sklearn(binary):
    y, _, score = binary
    for s in (score, np.round(score, 1)):
        p, r, t = metrics.precision_recall_curve(y, s)
        rp, rr, rt = skm.precision_recall_curve(y, s, drop_intermediate=False)
        np.testing.assert_allclose(p, rp, atol=1e-12)
        np.testing.assert_allclose(r, rr, atol=1e-12)
        np.testing.assert_allclose(t, rt, atol=1e-12)


def test_auc_accepts_decreasing_x():
    assert metrics.auc([1.0, 0.5, 0.0], [1.0, 1.0, 1.0]) == pytest.approx(1.0)


def test_classification_metrics_match_keras(binary):
    import keras

    y, pred, score = binary
    for metric, ours in ((keras.metrics.Precision(), metrics.precision), (keras.metrics.Recall(), metrics.recall),
                         (keras.metrics.BinaryAccuracy(), metrics.accuracy)):
        metric.update_state(y, pred)
        assert float(metric.result()) == pytest.approx(ours(y, pred), abs=1e-6)
    f1 = keras.metrics.F1Score(threshold=0.5)
    f1.update_state(y[:, None].astype("float32"), score[:, None].astype("float32"))
    assert float(f1.result()[0]) == pytest.approx(metrics.f1(y, (score >= 0.5).astype(int)), abs=1e-6)
    auc = keras.metrics.AUC(num_thresholds=2000)  # Keras approximates the curve on a threshold grid
    auc.update_state(y, score)
    assert float(auc.result()) == pytest.approx(metrics.roc_auc(y, score), abs=2e-3)


# --- regression ----------------------------------------------------------------------------------


def test_regression_metrics_match_sklearn(forecast):
    y, pred = forecast
    assert metrics.mse(y, pred) == pytest.approx(skm.mean_squared_error(y, pred), rel=1e-12)
    assert metrics.rmse(y, pred) == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), rel=1e-12)
    assert metrics.rmse(y, pred) == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-12)
    assert metrics.mae(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert metrics.mae(y, pred) <= metrics.rmse(y, pred)


def test_regression_metrics_match_keras(forecast):
    import keras

    y, pred = forecast
    for metric, ours in ((keras.metrics.MeanSquaredError(), metrics.mse),
                         (keras.metrics.RootMeanSquaredError(), metrics.rmse),
                         (keras.metrics.MeanAbsoluteError(), metrics.mae)):
        metric.update_state(y, pred)
        assert float(metric.result()) == pytest.approx(ours(y, pred), rel=1e-5)


def test_regression_metrics_accept_2d():
    t = np.arange(6.0).reshape(3, 2)
    assert metrics.mse(t, t + 1) == pytest.approx(1.0)


# --- text ----------------------------------------------------------------------------------------


def test_bleu_matches_sacrebleu_13a_on_real_text(sentences):
    refs, hyps = sentences
    ours = metrics.bleu_details(refs, hyps)
    ref = sacrebleu.corpus_bleu(hyps, [refs])
    assert 0.2 < ours.score < 0.8
    assert ours.score * 100 == pytest.approx(ref.score, abs=1e-9)
    np.testing.assert_allclose(np.array(ours.precisions) * 100, ref.precisions, atol=1e-9)
    assert (ours.hyp_len, ours.ref_len) == (ref.sys_len, ref.ref_len)
    assert ours.brevity_penalty == pytest.approx(ref.bp, abs=1e-12)
    assert list(ours.matches) == list(ref.counts) and list(ours.totals) == list(ref.totals)
    assert metrics.bleu(refs, hyps) == ours.score


def test_bleu_matches_sacrebleu_on_pretokenized_text(sentences):
    refs, hyps = sentences
    refs = [" ".join(metrics.tokenize_13a(r.lower())) for r in refs]
    hyps = [" ".join(metrics.tokenize_13a(h.lower())) for h in hyps]
    for smooth, method in (("exp", "exp"), ("none", "none")):
        ref = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", smooth_method=method)
        assert metrics.bleu(refs, hyps, tokenize="none", smooth=smooth) * 100 == pytest.approx(ref.score, abs=1e-9)


def test_bleu_multiple_references_and_smoothing_match_sacrebleu(sentences):
    refs, hyps = sentences
    alt = [" ".join(r.split()[::-1]) for r in refs]  # a second, reversed reference
    short = [" ".join(h.split()[:4]) for h in hyps[:20]]  # short hypotheses: brevity penalty
    cases = [
        ([[a, b] for a, b in zip(refs, alt, strict=True)], hyps, [refs, alt]),
        ([[r] for r in refs[:20]], short, [refs[:20]]),
        ([refs[0]], ["Pickled herring ."], [[refs[0]]]),  # no 3- or 4-gram matches: exp smoothing
    ]
    for ours_refs, h, streams in cases:
        ref = sacrebleu.corpus_bleu(h, streams)
        assert metrics.bleu(ours_refs, h) * 100 == pytest.approx(ref.score, abs=1e-9)


def test_bleu_paper_example_clips_repeated_words():
    # Papineni et al. (2002): "the the the the the the the" has modified unigram precision 2/7.
    d = metrics.bleu_details([["the cat is on the mat", "there is a cat on the mat"]], ["the the the the the the the"],
                             max_order=1, tokenize="none")
    assert d.precisions[0] == pytest.approx(2 / 7)
    assert metrics.bleu(["a b c d"], ["x y z w"]) == 0.0


def test_tokenize_13a_matches_sacrebleu():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tok = Tokenizer13a()
    for s in ["Hello, world! It's 3.14 -- or 1,000.", "A well-known (test) &amp; 5-6 'quote'.", "end."]:
        assert metrics.tokenize_13a(s) == tok(s).split()


def test_rouge_l_matches_rouge_score_on_real_text(sentences):
    refs, hyps = sentences
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    ours = [metrics.rouge_l(r, h) for r, h in zip(refs, hyps, strict=True)]
    ref = [scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(refs, hyps, strict=True)]
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert metrics.rouge_l("", "anything") == 0.0 == scorer.score("", "anything")["rougeL"].fmeasure


def test_lcs_length_and_tokenize_rouge():
    assert metrics.lcs_length("a b c d e".split(), "a x c y e".split()) == 3
    assert metrics.lcs_length([], ["a"]) == 0
    assert metrics.tokenize_rouge("It's the Mat, 2 cats!") == ["it", "s", "the", "mat", "2", "cats"]


# --- IoU -----------------------------------------------------------------------------------------


def _raster(box, size=64):
    m = np.zeros((size, size), dtype=bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def test_box_iou_matches_rasterized_masks():
    rng = np.random.default_rng(1)
    a = np.sort(rng.integers(0, 64, (50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)[:, [0, 2, 1, 3]]
    b = np.sort(rng.integers(0, 64, (50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)[:, [0, 2, 1, 3]]
    ours = metrics.iou(a, b)
    ref = [metrics.iou(_raster(x), _raster(y), kind="mask") for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    pairs = metrics.iou(a[:, None], b[None])
    assert pairs.shape == (50, 50) and pairs[3, 3] == pytest.approx(ours[3])
    assert metrics.iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert metrics.iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_mask_iou_matches_keras_iou():
    import keras

    x = data.load_mnist()[1][0][:20]
    truth = x > 127  # digit strokes as a real segmentation mask
    pred = np.roll(x > 60, 1, axis=2)  # a shifted, thicker guess
    m = keras.metrics.IoU(num_classes=2, target_class_ids=[1])
    m.update_state(truth.astype("int32").ravel(), pred.astype("int32").ravel())
    assert metrics.iou(truth, pred, kind="mask") == pytest.approx(float(m.result()), abs=1e-6)
    assert metrics.iou(truth.astype(int), pred.astype(np.uint8), kind="mask") == metrics.iou(truth, pred, kind="mask")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("call, err, arg", [
    (lambda: metrics.accuracy([0, 1], [0, 1, 1]), ValueError, "y_true and y_pred"),
    (lambda: metrics.accuracy([0.2, 0.9], [0, 1]), TypeError, "y_true"),
    (lambda: metrics.accuracy("01", [0, 1]), TypeError, "y_true"),
    (lambda: metrics.accuracy([], []), ValueError, "y_true"),
    (lambda: metrics.accuracy([[0, 1]], [[0, 1]]), ValueError, "y_true"),
    (lambda: metrics.precision([0, 2], [0, 1]), ValueError, "y_true"),
    (lambda: metrics.recall([0, 1], [0, 1], average="micro"), ValueError, "average"),
    (lambda: metrics.f1([0, 1], ["a", "b"]), TypeError, "y_pred"),
    (lambda: metrics.roc_curve([1, 1], [0.2, 0.3]), ValueError, "y_true"),
    (lambda: metrics.roc_auc([0, 1], [0.2, np.nan]), ValueError, "y_score"),
    (lambda: metrics.precision_recall_curve([0, 1], [0.1]), ValueError, "y_true and y_score"),
    (lambda: metrics.auc([0, 1, 0.5], [0, 1, 1]), ValueError, "x"),
    (lambda: metrics.auc([0], [0]), ValueError, "x"),
    (lambda: metrics.mse([1.0, 2.0], [1.0]), ValueError, "y_true and y_pred"),
    (lambda: metrics.rmse(None, [1.0]), TypeError, "y_true"),
    (lambda: metrics.mae([1.0], [np.inf]), ValueError, "y_pred"),
    (lambda: metrics.mae(["a"], [1.0]), TypeError, "y_true"),
    (lambda: metrics.bleu(["a b"], "a b"), TypeError, "hypotheses"),
    (lambda: metrics.bleu("a b", ["a b"]), TypeError, "references"),
    (lambda: metrics.bleu(["a b", "c"], ["a b"]), ValueError, "references"),
    (lambda: metrics.bleu([], []), ValueError, "hypotheses"),
    (lambda: metrics.bleu(["a"], ["a"], tokenize="intl"), ValueError, "tokenize"),
    (lambda: metrics.bleu(["a"], ["a"], smooth="floor"), ValueError, "smooth"),
    (lambda: metrics.bleu(["a"], ["a"], max_order=0), ValueError, "max_order"),
    (lambda: metrics.bleu([[]], ["a"]), ValueError, "references"),
    (lambda: metrics.bleu(["a"], [3]), TypeError, "hypotheses"),
    (lambda: metrics.rouge_l(["a"], "a"), TypeError, "reference"),
    (lambda: metrics.rouge_l("a", None), TypeError, "prediction"),
    (lambda: metrics.lcs_length("abc", ["a"]), TypeError, "a"),
    (lambda: metrics.tokenize_13a(5), TypeError, "text"),
    (lambda: metrics.tokenize_rouge(b"x"), TypeError, "text"),
    (lambda: metrics.iou([0, 0, 1], [0, 0, 1, 1]), ValueError, "a"),
    (lambda: metrics.iou([0, 0, 1, 1], [2, 0, 1, 1]), ValueError, "b"),
    (lambda: metrics.iou([0, 0, 1, 1], ["a", "b", "c", "d"]), TypeError, "b"),
    (lambda: metrics.iou([0, 0, 1, 1], [0, 0, 1, 1], kind="poly"), ValueError, "kind"),
    (lambda: metrics.iou(np.ones((2, 2)), np.ones((3, 3)), kind="mask"), ValueError, "a and b"),
    (lambda: metrics.iou(np.full((2, 2), 0.5), np.ones((2, 2)), kind="mask"), TypeError, "a"),
])
def test_bad_input_is_rejected_naming_the_argument(call, err, arg):
    with pytest.raises(err, match=arg):
        call()


def test_averages_constant():
    assert metrics.AVERAGES == ("binary", "macro") and "13a" in metrics.TOKENIZERS
    assert metrics.BleuDetails._fields[0] == "score"
