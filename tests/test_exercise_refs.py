"""course_lib._exercise_refs: the out-of-sight references of chapters 10, 14 and 15's self-checks agree with the library
(and chapter 10's exercises cannot be passed with a value the chapter shows above them)."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib import _exercise_refs as refs
from course_lib.bpe import pretokenize, train_merges
from course_lib.data import load_model_scale
from course_lib.decoding import top_p_filter
from course_lib.gpt import GPTConfig, build_gpt
from course_lib.lm_data import total_nll
from course_lib.sizing import training_flops, training_time, transformer_params
from course_lib.tokenizer import bits_per_byte


@pytest.mark.parametrize("texts", [["low low lower newest newest widest"], ["ab ba"], ["xy yx xy yx"],
                                   ["天下 下天"], ["the cat", "then the"]])
def test_first_merge_is_train_merges_first_with_its_count(texts):
    pair, count = refs.first_merge(texts)
    assert pair == tuple(train_merges(texts, 257)[0])
    joined = pair[0] + pair[1]
    # the count, independently: occurrences of the two bytes inside pre-tokens (no pair here overlaps itself)
    assert count == sum(w.encode("utf-8").count(joined) for t in texts for w in pretokenize(t))


def test_first_merge_rejects_text_without_pairs():
    with pytest.raises(ValueError, match="texts"):
        refs.first_merge(["a", "b"])


def test_nucleus_equals_top_p_filter_ordered():
    rng = np.random.default_rng(0)
    for _ in range(50):
        probs = rng.dirichlet(np.full(10, 0.4))
        p = float(rng.uniform(0.01, 1.0))
        kept = refs.nucleus(probs, p)
        mask = np.isfinite(top_p_filter(np.log(probs)[None], p))[0]
        assert sorted(kept) == list(np.flatnonzero(mask))
        assert list(probs[kept]) == sorted(probs[kept], reverse=True)
    assert refs.nucleus([0.1, 0.2, 0.4, 0.3], 0.75) == [2, 3, 1]
    with pytest.raises(ValueError, match="p in"):
        refs.nucleus([0.5, 0.5], 0.0)


def test_temperature_bpb_at_tau_1_equals_total_nll():
    model = build_gpt(GPTConfig(vocab_size=50, context_length=16, d_model=16, n_layers=1, n_heads=2), seed=0)
    ids = np.random.default_rng(1).integers(0, 50, 75)
    out = refs.temperature_bpb(model, ids, 16, (0.5, 1.0), n_bytes=200)
    assert out[1.0] == pytest.approx(bits_per_byte(total_nll(model, ids, 16)[0], 200), rel=1e-5)
    assert out[0.5] != pytest.approx(out[1.0])


# Chapter 10: the references agree with the library, and no value the chapter shows above an exercise passes it.
CH10 = Path(__file__).resolve().parent.parent / "chapters" / "10_training_at_scale.ipynb"
# a number, unless it is a run-to-run timing (ms/step, steps/s, examples/s, seconds): not an answer anyone copies
NUMBER = re.compile(r"(?<![\w.])(?>\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)(?!\s*(?:ms|s\b|steps/s|ex))")


def _numbers_shown_above(nb, marker: str) -> list[float]:
    """Every number in the stored outputs and markdown of the cells before the first one containing ``marker``."""
    found = []
    for cell in nb.cells:
        if marker in cell.source:
            return found
        texts = [cell.source] if cell.cell_type == "markdown" else [
            "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
            for o in cell.get("outputs", [])]
        for text in texts:
            found += [float(m.replace(",", "")) for m in NUMBER.findall(text)]
    raise AssertionError(f"no cell contains {marker!r}")


@pytest.mark.parametrize("d", [16, 48, 100])
def test_gpt_block_params_is_keras_count_and_sizing_difference(d):
    assert refs.gpt_block_params(d) == 12 * d * d + 13 * d
    assert refs.gpt_block_params(d) == transformer_params(2, d, 100) - transformer_params(1, d, 100)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        refs.gpt_block_params(d + 1)


def test_palm_training_days_is_sizing_with_tpu_v4():
    seconds = training_time(training_flops(540e9, 780e9), n_devices=6144, accelerator="TPU v4", mfu=0.462)
    assert refs.palm_training_days() == pytest.approx(seconds / 86400, rel=1e-12)
    # PaLM's row of datasets/model_scale.csv: the same N and D, whose 6ND the paper's FLOPs confirm within 2%
    table = load_model_scale()
    row = list(table["model"]).index("PaLM")
    assert (table["params"][row], table["train_tokens"][row]) == (540e9, 780e9)
    assert table["train_flops"][row] / training_flops(540e9, 780e9) == pytest.approx(1, abs=0.02)


def test_ch10_exercises_cannot_be_passed_with_a_value_shown_above_them():
    """Exercise 3: no number printed or written above it lies within its 1% check; exercise 1 is checked at
    three widths whose counts differ, so one copied count (keras_block.count_params()) cannot pass."""
    nb = nbformat.read(CH10, as_version=4)
    days = refs.palm_training_days()
    shown = _numbers_shown_above(nb, "palm_days =")
    assert len(shown) > 100  # the scan really read the chapter
    assert 8.4 in shown  # e.g. the printed Chinchilla days that the old exercise 3 accepted
    near = [x for x in shown if abs(x / days - 1) <= 0.01]
    assert not near, f"values shown above exercise 3 pass its check: {near}"
    counts = [refs.gpt_block_params(d) for d in (16, 48, 100)]
    assert len(set(counts)) == 3
