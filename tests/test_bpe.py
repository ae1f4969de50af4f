"""course_lib.bpe (generated from chapter 14): the from-scratch byte-level BPE, checked against the libraries."""

import json

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from course_lib import bpe, corpus, data, tokenizer

# Seed 004 §6.1, verbatim: the Chinese text chapter 14 quotes.
SEED_004_6_1 = (
    "自然语言处理（NLP）是人工智能的一个重要领域，大模型在 NLP 中表现出色。以下是一些应用示例：\n\n"
    "- **机器翻译**：大模型如 GPT-3 能够实现高质量的机器翻译，将一种语言翻译成另一种语言。\n\n"
    "- **文本生成**：大模型能够生成高质量的文章、诗歌等文本内容，应用于自动写作和内容生成。\n\n"
    "- **情感分析**：大模型能够分析文本的情感倾向，用于社交媒体监控、客户反馈分析等。\n\n"
    "- **问答系统**：大模型能够回答用户提出的问题，提供智能客服和个性化推荐。"
)
ODD_TEXTS = ["", " ", "\n\n\n", "a", "héllo wörld", "emoji 😀🎭 and\ttabs\r\n", "  leading", "trailing  ",
             "I'll they're 2024 3.14", "天下大乱", SEED_004_6_1]


def _course_merges():
    """The course tokenizer's merges as pairs of bytes."""
    inverse = {c: b for b, c in bpe.bytes_to_unicode().items()}
    to_bytes = lambda s: bytes(inverse[c] for c in s)  # noqa: E731
    return [(to_bytes(a), to_bytes(b)) for a, b in json.loads(tokenizer.course_tokenizer().to_str())["model"]["merges"]]


@pytest.fixture(scope="module")
def course_bpe():
    return bpe.ByteBPE(_course_merges())


def _hf_from(scratch):
    vocabulary, merges = scratch.gpt2_format()
    tok = Tokenizer(models.BPE(vocab=vocabulary, merges=[tuple(m.split(" ")) for m in merges]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def test_pretokenize_is_lossless_and_splits_like_gpt2():
    expected = ["I", "'ll", " see", " 2", " dogs", ".", " Dogs", "!", " ", " x"]
    assert bpe.pretokenize("I'll see 2 dogs. Dogs!  x") == expected
    assert bpe.pretokenize("a\n\nb") == ["a", "\n", "\n", "b"]
    for text in ODD_TEXTS:
        assert "".join(bpe.pretokenize(text)) == text
    with pytest.raises(TypeError, match="text"):
        bpe.pretokenize(b"bytes")


def test_bytes_to_unicode_matches_the_library_alphabet():
    table = bpe.bytes_to_unicode()
    assert len(set(table.values())) == 256 and table[32] == "Ġ" and table[10] == "Ċ" and table[65] == "A"
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())


def test_byte_ranks_are_the_library_ids():
    vocab = tokenizer.course_tokenizer().get_vocab()
    table = bpe.bytes_to_unicode()
    ranks = bpe.byte_ranks("library")
    assert all(vocab[table[b]] == ranks[b] + 1 for b in range(256))  # id 0 is <|endoftext|>
    assert bpe.byte_ranks("bytes") == list(range(256))
    assert sorted(ranks) == list(range(256))
    with pytest.raises(ValueError, match="tie_break"):
        bpe.byte_ranks("alphabetical")


def test_word_counts_and_merge_ids():
    counts = bpe.word_counts(["low low lower"])
    assert counts == {b"low": 1, b" low": 1, b" lower": 1}
    assert bpe._merge_ids([97, 97, 97], (97, 97), 256) == [256, 97]  # left to right, no overlap
    assert bpe._merge_ids([97, 97, 97, 97], (97, 97), 256) == [256, 256]
    with pytest.raises(TypeError, match="texts"):
        bpe.word_counts("a single string")


def test_train_merges_equals_the_library_trainer_on_a_sample():
    works = corpus.shakespeare_plays()
    texts = [works[t][:20_000] for t in corpus.play_split()["train"]]  # 720,000 characters
    merges = bpe.train_merges(texts, 700)
    scratch = bpe.ByteBPE(merges)
    _, ours = scratch.gpt2_format()
    library = [" ".join(m) for m in json.loads(tokenizer.train_bpe(texts, 701).to_str())["model"]["merges"]]
    assert ours == library and len(ours) == 444
    by_bytes = bpe.train_merges(texts, 700, tie_break="bytes")
    assert by_bytes != merges  # a different tie-break diverges at the first tie it breaks differently
    first = next(i for i, (a, b) in enumerate(zip(merges, by_bytes, strict=True)) if a != b)
    assert merges[:first] == by_bytes[:first] and first > 50


def test_train_merges_bad_arguments():
    with pytest.raises(ValueError, match="vocab_size"):
        bpe.train_merges(["abc"], 255)
    with pytest.raises(TypeError, match="vocab_size"):
        bpe.train_merges(["abc"], 300.0)
    with pytest.raises(TypeError, match="texts"):
        bpe.train_merges("abc", 300)
    with pytest.raises(ValueError, match="tie_break"):
        bpe.train_merges(["abc"], 300, tie_break="random")
    assert bpe.train_merges(["abc"], 300) == [(b"a", b"b"), (b"ab", b"c")]  # stops when no pair is left
    assert bpe.train_merges(["abc"], 256) == []


def test_from_scratch_round_trips_all_bundled_text_and_equals_the_course_tokenizer(course_bpe):
    """Every bundled text: all 42 works and all movie reviews, plus the seed's Chinese excerpt."""
    hf = tokenizer.course_tokenizer()
    vocab = hf.get_vocab()
    to_library_id = np.array([vocab["".join(bpe.bytes_to_unicode()[b] for b in tok)] for tok in course_bpe.vocab])
    (x_train, _), (x_test, _) = data.load_movie_reviews()
    texts = list(corpus.shakespeare_plays().values()) + [str(s) for s in np.concatenate([x_train, x_test])]
    texts += ODD_TEXTS
    library_ids = [e.ids for e in hf.encode_batch(texts)]
    for text, expected in zip(texts, library_ids, strict=True):
        ids = course_bpe.encode(text)
        assert course_bpe.decode(ids) == text
        assert to_library_id[ids].tolist() == expected


def test_same_merges_same_ids_as_hugging_face_built_from_gpt2_format():
    works = corpus.shakespeare_plays()
    scratch = bpe.ByteBPE(bpe.train_merges([works["MACBETH"]], 600))
    hf = _hf_from(scratch)
    vocabulary, merges = scratch.gpt2_format()
    assert len(vocabulary) == len(scratch.vocab) == 600 and len(merges) == 344
    for text in [works["HAMLET, PRINCE OF DENMARK"], *ODD_TEXTS]:
        assert hf.encode(text).ids == scratch.encode(text)


def test_keras_hub_agrees_on_every_pre_token_and_differs_only_on_newline_runs():
    keras_hub = pytest.importorskip("keras_hub")
    works = corpus.shakespeare_plays()
    scratch = bpe.ByteBPE(bpe.train_merges([works["MACBETH"]], 600))
    vocabulary, merges = scratch.gpt2_format()
    kh = keras_hub.tokenizers.BytePairTokenizer(vocabulary=vocabulary, merges=merges)
    text = works["THE TEMPEST"][:8_000] + SEED_004_6_1
    words = sorted(bpe.word_counts([text]))
    for word, ids in zip(words, kh([w.decode("utf-8") for w in words]), strict=True):
        assert [int(i) for i in ids] == scratch.encode_word(word)
    kh_ids = [int(i) for i in kh(text)]
    assert kh.detokenize(kh_ids) == text
    # whole text: the same tokens once each run of newline-only tokens is joined into one, on both sides
    def joined(ids):
        out = []
        for tok in (scratch.vocab[i] for i in ids):
            if tok.strip(b"\n") == b"" and out and out[-1].strip(b"\n") == b"":
                out[-1] += tok
            else:
                out.append(tok)
        return out

    assert joined(kh_ids) == joined(scratch.encode(text))
    assert kh_ids != scratch.encode(text)


def test_byte_bpe_decode_and_bad_merges():
    scratch = bpe.ByteBPE([(b"a", b"b"), (b"ab", b"c")])
    assert scratch.vocab[256:] == [b"ab", b"abc"]
    assert scratch.encode("abcab") == [257, 256]
    assert scratch.decode([257, 256]) == "abcab"
    assert scratch.decode([0xE8]) == "\ufffd"  # an incomplete UTF-8 character
    with pytest.raises(ValueError, match="ids"):
        scratch.decode([258])
    with pytest.raises(ValueError, match="merges"):
        bpe.ByteBPE([(b"xy", b"z")])
    with pytest.raises(TypeError, match="merges"):
        bpe.ByteBPE([("a", "b")])
    with pytest.raises(TypeError, match="text"):
        scratch.encode(None)
