"""The course's tokenizer: byte-level BPE trained with Hugging Face ``tokenizers`` (fast, Rust).

Chapter 14 writes byte-level BPE from scratch (``course_lib.bpe``, generated from the chapter) to show how
it works, and checks it against this library; the tokens that Part III's models train on come from here.

- Byte-level BPE: Sennrich et al. (2016), "Neural Machine Translation of Rare Words with Subword Units",
  ACL, arXiv:1508.07909; on bytes, with GPT-2's pre-tokenization regex: Radford et al. (2019),
  "Language Models are Unsupervised Multitask Learners".
- Bits per byte: the tokenizer-independent unit of The Pile, Gao et al. (2020), arXiv:2101.00027, sec. 3.

The vocabulary: id 0 is ``<|endoftext|>`` (:data:`EOT`), ids 1-256 are the 256 single bytes (in the
library's order, not byte order), the rest are merges in the order they were learned. Any text, in any
script, encodes and decodes back exactly: nothing is ever out of vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from course_lib import corpus

EOT = "<|endoftext|>"
MIN_VOCAB_SIZE = 257  # EOT + 256 bytes


def train_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE tokenizer on ``texts`` with at most ``vocab_size`` tokens.

    GPT-2's scheme: text is split into pre-tokens by GPT-2's regex (merges never cross a pre-token),
    each pre-token is a sequence of bytes, and the most frequent adjacent pair is merged, repeatedly,
    until the vocabulary holds ``vocab_size`` tokens (EOT + 256 bytes + ``vocab_size - 257`` merges) or
    no pair is left. Ties in pair count go to the pair whose two token ids are smallest (the library's
    rule). Deterministic: the same texts give the same tokenizer.

    Args:
        texts: an iterable of strings (documents); a single ``str`` is refused, since iterating over it
            would train on single characters.
        vocab_size: total number of tokens, >= 257.

    Raises:
        TypeError: ``texts`` is a ``str`` or holds a non-string; ``vocab_size`` is not an int.
        ValueError: ``vocab_size`` < 257, or ``texts`` is empty.
    """
    if isinstance(texts, str | bytes):
        raise TypeError("texts must be an iterable of strings, not a single string: pass [text]")
    if not isinstance(vocab_size, int | np.integer) or isinstance(vocab_size, bool):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    if vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(f"vocab_size must be >= {MIN_VOCAB_SIZE} (EOT + 256 bytes), got {vocab_size}")
    docs = list(texts)
    if not docs:
        raise ValueError("texts is empty: give at least one string to train on")
    bad = [type(d).__name__ for d in docs if not isinstance(d, str)]
    if bad:
        raise TypeError(f"texts must hold only strings, found {bad[0]}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=int(vocab_size),
        min_frequency=0,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    return tok


@lru_cache(maxsize=8)
def _course_tokenizer_json(vocab_size: int) -> str:
    works = corpus.shakespeare_plays()
    return train_bpe([works[t] for t in corpus.play_split()["train"]], vocab_size).to_str()


def course_tokenizer(vocab_size: int = 2048) -> Tokenizer:
    """The course's tokenizer: :func:`train_bpe` on the 36 training works of ``corpus.play_split()``.

    Trained once per process and ``vocab_size`` (about 1-3 s on a laptop CPU), then copied, so callers
    may change their copy (padding, truncation) without affecting others. Validation and test plays
    are never seen, so they measure how the tokenizer does on new text too.

    Raises:
        TypeError / ValueError: as :func:`train_bpe` for ``vocab_size``.
    """
    if not isinstance(vocab_size, int | np.integer) or isinstance(vocab_size, bool):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    if vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(f"vocab_size must be >= {MIN_VOCAB_SIZE} (EOT + 256 bytes), got {vocab_size}")
    return Tokenizer.from_str(_course_tokenizer_json(int(vocab_size)))


def encode_split(split: str, vocab_size: int = 2048) -> np.ndarray:
    """Token ids (``int32``, shape ``(n_tokens,)``) of ``corpus.split_text(split)`` with the course tokenizer.

    Each work is encoded on its own and the ids are concatenated, with no separator, so
    ``course_tokenizer(vocab_size).decode(ids)`` gives back ``split_text(split)`` exactly. Computed once
    per process and ``(split, vocab_size)``; each call returns a fresh copy.

    Raises:
        ValueError: ``split`` is not "train", "val" or "test"; bad ``vocab_size`` as :func:`train_bpe`.
    """
    if split not in corpus.SPLITS:
        raise ValueError(f"split must be one of {corpus.SPLITS}, got {split!r}")
    course_tokenizer(vocab_size)  # validates vocab_size
    return _encode_split(split, int(vocab_size)).copy()


@lru_cache(maxsize=16)
def _encode_split(split: str, vocab_size: int) -> np.ndarray:
    tok = course_tokenizer(vocab_size)
    works = corpus.shakespeare_plays()
    encodings = tok.encode_batch([works[t] for t in corpus.play_split()[split]])
    return np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in encodings])


def bits_per_byte(total_nll_nats: float, n_bytes: int) -> float:
    """Bits per byte: ``total_nll_nats / (ln 2 * n_bytes)``.

    ``total_nll_nats`` is the summed negative log-likelihood (natural log) a model gives a text, over
    all its tokens, whatever the tokenizer; ``n_bytes`` is the length of that text in UTF-8 bytes.
    Dividing by bytes instead of tokens makes models with different tokenizers comparable
    (Gao et al. 2020, The Pile, sec. 3). Per-token perplexity ``exp(total_nll / n_tokens)`` is not:
    a tokenizer with longer tokens has fewer, harder tokens.

    Raises:
        TypeError: an argument is not a number (``n_bytes``: not an int).
        ValueError: ``total_nll_nats`` is negative or not finite, or ``n_bytes`` < 1.
    """
    if isinstance(total_nll_nats, bool) or not isinstance(total_nll_nats, int | float | np.number):
        raise TypeError(f"total_nll_nats must be a number, got {type(total_nll_nats).__name__}")
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int | np.integer):
        raise TypeError(f"n_bytes must be an int (a count of UTF-8 bytes), got {type(n_bytes).__name__}")
    if not math.isfinite(float(total_nll_nats)) or total_nll_nats < 0:
        raise ValueError(f"total_nll_nats must be finite and >= 0, got {total_nll_nats!r}")
    if n_bytes < 1:
        raise ValueError(f"n_bytes must be >= 1, got {n_bytes!r}")
    return float(total_nll_nats) / (math.log(2) * int(n_bytes))
