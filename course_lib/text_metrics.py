"""Text metrics: corpus BLEU (as sacrebleu computes it) and ROUGE-L (as rouge_score does), in plain Python.

Part of :mod:`course_lib.metrics` (import them from there). References first, like ``rouge_score``
(``sacrebleu`` takes the hypotheses first). Bad input raises ``TypeError``/``ValueError`` naming the argument.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

TOKENIZERS = ("13a", "none")

# sacrebleu's "13a" tokenizer (mteval-v13a.pl, the WMT standard), rule for rule.
_13A_RULES = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period/comma unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period/comma unless followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
)


def tokenize_13a(text: str) -> list[str]:
    """Split ``text`` into tokens as sacrebleu's default ``13a`` tokenizer does.

    Punctuation and symbols become tokens of their own, except periods and commas
    inside numbers (``3.14``, ``1,000``) and hyphens inside words (``well-known``).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    line = text.rstrip().replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _13A_RULES:
        line = pattern.sub(repl, line)
    return line.split()


def _tokens(text: Any, arg: str, tokenize: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"{arg} must hold strings, got {type(text).__name__}")
    return tokenize_13a(text) if tokenize == "13a" else text.rstrip().split()


def _ngrams(tokens: Sequence[str], max_order: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


class BleuDetails(NamedTuple):
    """The parts of a corpus BLEU score (see :func:`bleu_details`)."""

    score: float  #: BLEU in [0, 1]
    precisions: tuple[float, ...]  #: clipped n-gram precisions p_1..p_N (after smoothing)
    brevity_penalty: float  #: exp(1 - r/c) when c < r, else 1
    hyp_len: int  #: c, total hypothesis tokens
    ref_len: int  #: r, total closest-reference tokens
    matches: tuple[int, ...]  #: clipped n-gram matches per order
    totals: tuple[int, ...]  #: hypothesis n-grams per order


def bleu_details(references: Any, hypotheses: Any, *, max_order: int = 4, tokenize: str = "13a",
                 smooth: str = "exp") -> BleuDetails:
    """Corpus BLEU with all its parts: n-gram precisions, brevity penalty and lengths.

    ``BLEU = BP * exp(sum_n log(p_n) / N)`` where ``p_n`` is the *clipped* n-gram
    precision summed over the whole corpus (each hypothesis n-gram counts at most
    as often as it occurs in one reference) and ``BP = exp(1 - r/c)`` if the
    hypotheses are shorter in total (``c``) than the references (``r``; for each
    sentence the reference length closest to the hypothesis, the shorter on a tie).

    Args:
        references: one entry per hypothesis, each a string or a list of
            alternative reference strings. (sacrebleu's layout is the transpose:
            a list of reference *streams*.)
        hypotheses: the system outputs, strings.
        max_order: N, the longest n-gram (4 as in the paper and sacrebleu).
        tokenize: ``"13a"`` (sacrebleu's default) or ``"none"`` (split on whitespace,
            for text that is already tokenized).
        smooth: ``"exp"`` (sacrebleu's default: the k-th order with zero matches
            gets precision ``1 / (2**k * total)``) or ``"none"`` (any zero precision gives 0).

    Same numbers as ``sacrebleu.corpus_bleu(hypotheses, [refs...], tokenize=tokenize)``
    divided by 100 (``smooth="none"``: ``smooth_method="none"``).
    """
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence | np.ndarray):
        raise TypeError("hypotheses must be a list of strings (wrap a single sentence in a list)")
    if isinstance(references, str) or not isinstance(references, Sequence | np.ndarray):
        raise TypeError("references must be a list with one entry (a string or list of strings) per hypothesis")
    if len(hypotheses) == 0:
        raise ValueError("hypotheses must not be empty")
    if len(references) != len(hypotheses):
        raise ValueError(f"references must have one entry per hypothesis, got {len(references)} "
                         f"for {len(hypotheses)} hypotheses")
    if not isinstance(max_order, int) or isinstance(max_order, bool) or max_order < 1:
        raise ValueError(f"max_order must be a positive int, got {max_order!r}")
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize must be one of {TOKENIZERS}, got {tokenize!r}")
    if smooth not in ("exp", "none"):
        raise ValueError(f"smooth must be 'exp' or 'none', got {smooth!r}")

    matches, totals = [0] * max_order, [0] * max_order
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs:
            raise ValueError("references must give at least one reference string per hypothesis")
        h = _tokens(hyp, "hypotheses", tokenize)
        ref_tokens = [_tokens(r, "references", tokenize) for r in refs]
        max_ref: Counter = Counter()
        for r in ref_tokens:
            max_ref |= _ngrams(r, max_order)  # | keeps the maximum count of each n-gram
        for gram, count in _ngrams(h, max_order).items():
            n = len(gram)
            totals[n - 1] += count
            matches[n - 1] += min(count, max_ref[gram])
        hyp_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in ref_tokens)[1]

    bp = 1.0 if hyp_len >= ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0)
    precisions = [0.0] * max_order
    penalty = 1.0
    for n in range(max_order):
        if totals[n] == 0:
            break
        if matches[n] > 0:
            precisions[n] = matches[n] / totals[n]
        elif smooth == "exp":
            penalty *= 2.0
            precisions[n] = 1.0 / (penalty * totals[n])
    if not any(matches) or min(precisions) == 0.0:
        score = 0.0
    else:
        score = bp * math.exp(sum(math.log(p) for p in precisions) / max_order)
    return BleuDetails(score, tuple(precisions), bp, hyp_len, ref_len, tuple(matches), tuple(totals))


def bleu(references: Any, hypotheses: Any, *, max_order: int = 4, tokenize: str = "13a",
         smooth: str = "exp") -> float:
    """Corpus BLEU in [0, 1] (Papineni et al., 2002), computed as sacrebleu does.

    See :func:`bleu_details` for the arguments and the formula. BLEU is a corpus
    metric: the average of sentence-level scores is a different number.
    """
    return bleu_details(references, hypotheses, max_order=max_order, tokenize=tokenize, smooth=smooth).score


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def tokenize_rouge(text: str) -> list[str]:
    """Tokens as ``rouge_score`` makes them (no stemming): lower-case, runs of ``[a-z0-9]``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [t for t in _NON_ALNUM.sub(" ", text.lower()).split() if t]


def lcs_length(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Length of the longest common subsequence of two token sequences (dynamic programming)."""
    for seq, arg in ((a, "a"), (b, "b")):
        if isinstance(seq, str) or not isinstance(seq, Sequence | np.ndarray):
            raise TypeError(f"{arg} must be a sequence of tokens (e.g. a list of words), got {type(seq).__name__}")
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, start=1):
            prev_diag, row[j] = row[j], (prev_diag + 1 if x == y else max(row[j], row[j - 1]))
    return row[-1]


def rouge_l(reference: str, prediction: str) -> float:
    """ROUGE-L F-measure (Lin, 2004) of one prediction against one reference.

    With ``L`` the longest common subsequence of the token lists,
    ``P = L / len(prediction)``, ``R = L / len(reference)`` and
    ``F = 2 P R / (P + R)``; 0 when either text has no tokens. Tokens as in
    :func:`tokenize_rouge`. Same as ``rouge_score.rouge_scorer.RougeScorer(["rougeL"])
    .score(reference, prediction)["rougeL"].fmeasure``.
    """
    if not isinstance(reference, str):
        raise TypeError(f"reference must be a str, got {type(reference).__name__}")
    if not isinstance(prediction, str):
        raise TypeError(f"prediction must be a str, got {type(prediction).__name__}")
    ref, pred = tokenize_rouge(reference), tokenize_rouge(prediction)
    if not ref or not pred:
        return 0.0
    lcs = lcs_length(ref, pred)
    p, r = lcs / len(pred), lcs / len(ref)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)
