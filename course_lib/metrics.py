"""Evaluation metrics written out in NumPy, to read and to check against the libraries.

Every function takes the **truth first** (``y_true``, ``reference``), then the
prediction, like scikit-learn and ``rouge_score`` (note: ``sacrebleu`` takes the
hypotheses first). Bad input raises ``TypeError``/``ValueError`` naming the argument.

==================  =====================================================  ==================================
function            what it measures                                       reference implementation
==================  =====================================================  ==================================
accuracy            fraction of exact matches                              ``sklearn.metrics.accuracy_score``
precision           TP / (TP + FP), binary or macro over classes           ``sklearn.metrics.precision_score``
recall              TP / (TP + FN), binary or macro                        ``sklearn.metrics.recall_score``
f1                  harmonic mean of precision and recall                  ``sklearn.metrics.f1_score``
roc_curve           false/true positive rates at every score threshold    ``sklearn.metrics.roc_curve``
precision_recall_curve  precision/recall at every score threshold         ``sklearn.metrics.precision_recall_curve``
auc                 area under a curve (trapezoidal rule)                  ``sklearn.metrics.auc``
roc_auc             area under the ROC curve                               ``sklearn.metrics.roc_auc_score``
mse / rmse / mae    squared / root squared / absolute regression error     ``sklearn.metrics.mean_squared_error``
bleu                corpus BLEU (4-grams, brevity penalty, 13a tokens)     ``sacrebleu.corpus_bleu``
rouge_l             ROUGE-L F-measure from the longest common subsequence  ``rouge_score`` ``rougeL``
iou                 intersection over union of boxes or masks              ``keras.metrics.IoU`` (masks)
==================  =====================================================  ==================================

Scores are fractions in [0, 1]; ``sacrebleu`` reports BLEU multiplied by 100.

The code lives in :mod:`course_lib.numeric_metrics` (classification, ranking, regression, IoU) and
:mod:`course_lib.text_metrics` (BLEU, ROUGE-L); every name is importable from here.
"""

from course_lib.numeric_metrics import (
    AVERAGES,
    accuracy,
    auc,
    f1,
    iou,
    mae,
    mse,
    precision,
    precision_recall_curve,
    recall,
    rmse,
    roc_auc,
    roc_curve,
)
from course_lib.text_metrics import (
    TOKENIZERS,
    BleuDetails,
    bleu,
    bleu_details,
    lcs_length,
    rouge_l,
    tokenize_13a,
    tokenize_rouge,
)

__all__ = [
    "AVERAGES",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_curve",
    "precision_recall_curve",
    "auc",
    "roc_auc",
    "mse",
    "rmse",
    "mae",
    "iou",
    "TOKENIZERS",
    "tokenize_13a",
    "BleuDetails",
    "bleu_details",
    "bleu",
    "tokenize_rouge",
    "lcs_length",
    "rouge_l",
]
