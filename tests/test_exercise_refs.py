"""course_lib._exercise_refs: the out-of-sight references of chapters 14-15's self-checks agree with the library."""

import numpy as np
import pytest

from course_lib import _exercise_refs as refs
from course_lib.bpe import pretokenize, train_merges
from course_lib.decoding import top_p_filter
from course_lib.gpt import GPTConfig, build_gpt
from course_lib.lm_data import total_nll
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
