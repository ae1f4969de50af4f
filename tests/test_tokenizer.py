"""course_lib.tokenizer: byte-level BPE from Hugging Face tokenizers, the course tokenizer, bits per byte."""

import json
import math

import numpy as np
import pytest

from course_lib import corpus, data, tokenizer


def _merges(tok):
    return json.loads(tok.to_str())["model"]["merges"]


def test_train_bpe_vocabulary_layout_and_determinism():
    text = corpus.shakespeare_plays()["MACBETH"]
    a = tokenizer.train_bpe([text], 400)
    b = tokenizer.train_bpe([text], 400)
    assert a.get_vocab_size() == 400 and len(_merges(a)) == 400 - 257
    assert _merges(a) == _merges(b) and a.to_str() == b.to_str()
    assert a.id_to_token(0) == tokenizer.EOT
    assert _merges(a)[0] == ["Ġ", "t"]  # " t" is the commonest pair in English
    for s in ["Macbeth", "天下大乱，分久必合", "héllo\r\n\t 😀", ""]:
        assert a.decode(a.encode(s).ids) == s


def test_train_bpe_bad_arguments_name_the_argument():
    with pytest.raises(TypeError, match="texts"):
        tokenizer.train_bpe("a single string", 300)
    with pytest.raises(TypeError, match="texts"):
        tokenizer.train_bpe(["ok", 3], 300)
    with pytest.raises(ValueError, match="texts"):
        tokenizer.train_bpe([], 300)
    with pytest.raises(ValueError, match="vocab_size"):
        tokenizer.train_bpe(["abc"], 256)
    with pytest.raises(TypeError, match="vocab_size"):
        tokenizer.train_bpe(["abc"], 300.0)
    # the suggested fix works
    assert tokenizer.train_bpe(["a single string"], 300).get_vocab_size() >= 257


def test_course_tokenizer_is_cached_copied_and_trained_on_train_plays_only():
    tok = tokenizer.course_tokenizer()
    assert tok.get_vocab_size() == 2048
    same = tokenizer.course_tokenizer(2048)
    assert same is not tok and same.to_str() == tok.to_str()
    tok.enable_padding(length=8)  # a caller's change does not leak into the cache
    assert tokenizer.course_tokenizer().padding is None
    works = corpus.shakespeare_plays()
    direct = tokenizer.train_bpe([works[t] for t in corpus.play_split()["train"]], 2048)
    assert direct.to_str() == same.to_str()
    with pytest.raises(ValueError, match="vocab_size"):
        tokenizer.course_tokenizer(100)
    with pytest.raises(TypeError, match="vocab_size"):
        tokenizer.course_tokenizer("2048")


def test_encode_split_round_trips_every_split():
    tok = tokenizer.course_tokenizer()
    total_bytes = total_tokens = 0
    for split in corpus.SPLITS:
        ids = tokenizer.encode_split(split)
        assert ids.dtype == np.int32 and ids.ndim == 1
        assert ids.min() >= 1 and ids.max() < 2048  # never EOT inside the text
        text = corpus.split_text(split)
        assert tok.decode(ids.tolist()) == text
        total_bytes += len(text.encode("utf-8"))
        total_tokens += len(ids)
    assert total_bytes == 5_057_280
    assert 2.5 < total_bytes / total_tokens < 3.5  # bytes per token at 2048 tokens
    with pytest.raises(ValueError, match="split"):
        tokenizer.encode_split("dev")


def test_library_round_trips_all_bundled_text():
    """Every bundled dataset that holds text decodes back exactly, Unicode included."""
    tok = tokenizer.course_tokenizer()
    text = data.load_shakespeare()
    assert tok.decode(tok.encode(text).ids) == text
    (x_train, _), (x_test, _) = data.load_movie_reviews()
    reviews = [str(s) for s in np.concatenate([x_train, x_test])]
    assert any(ord(c) > 127 for s in reviews for c in s)  # accents etc. are really there
    decoded = tok.decode_batch([e.ids for e in tok.encode_batch(reviews)])
    assert decoded == reviews


def test_bits_per_byte_formula_and_errors():
    assert tokenizer.bits_per_byte(math.log(2) * 10, 10) == pytest.approx(1.0)
    # one model, two tokenizers: same total NLL over the same bytes -> same bits per byte,
    # although per-token perplexities differ
    nll, n_bytes = 1234.5, 1000
    assert tokenizer.bits_per_byte(nll, n_bytes) == pytest.approx(nll / n_bytes / math.log(2))
    assert math.exp(nll / 250) != pytest.approx(math.exp(nll / 500))
    assert tokenizer.bits_per_byte(0.0, 1) == 0.0
    assert tokenizer.bits_per_byte(np.float32(2.0), np.int64(4)) == pytest.approx(2 / (4 * math.log(2)))
    with pytest.raises(ValueError, match="total_nll_nats"):
        tokenizer.bits_per_byte(-1.0, 10)
    with pytest.raises(ValueError, match="total_nll_nats"):
        tokenizer.bits_per_byte(float("nan"), 10)
    with pytest.raises(ValueError, match="n_bytes"):
        tokenizer.bits_per_byte(1.0, 0)
    with pytest.raises(TypeError, match="n_bytes"):
        tokenizer.bits_per_byte(1.0, 10.0)
    with pytest.raises(TypeError, match="total_nll_nats"):
        tokenizer.bits_per_byte("1.0", 10)


def test_encode_split_is_cached_but_returns_copies():
    a = tokenizer.encode_split("test")
    a[:] = 0
    b = tokenizer.encode_split("test")
    assert b.min() >= 1 and not np.shares_memory(a, b)
    with pytest.raises(ValueError, match="vocab_size"):
        tokenizer.encode_split("test", vocab_size=10)
