"""course_lib: the small helper package shared by the chapters of
"Large Models with Keras & TensorFlow".

One module per concern, each shaped like the chapters that use it:

- :mod:`course_lib.runtime` — seeds, device detection, distribution strategy, fast mode.
- :mod:`course_lib.data` — real datasets, bundled and checksum-verified, or online on request.
- :mod:`course_lib.bundled` — where the bundled datasets live; MANIFEST and sha256 checks with tested fixes.
- :mod:`course_lib.plots` — training curves, image grids, confusion matrices.
- :mod:`course_lib.checks` — self-checks for the exercises.
- :mod:`course_lib.corpus` — the bundled Shakespeare as 42 works and the fixed split by play (Part III).
- :mod:`course_lib.tokenizer` — the course's byte-level BPE tokenizer (Hugging Face ``tokenizers``), bits per byte.
- :mod:`course_lib.bpe` — byte-level BPE from scratch, generated from chapter 14.
- :mod:`course_lib.gpt` — GPT-2's architecture in Keras 3 and the training recipe, generated from chapter 15.
- :mod:`course_lib.lm_data` — token windows (``tf.data``) and held-out scoring, generated from chapter 15.
- :mod:`course_lib.decoding` — greedy/temperature/top-k/top-p decoding and the KV cache, generated from chapter 15.
- :mod:`course_lib.scaling` — scaling-law fits (power laws, IsoFLOP minima, Chinchilla's parametric form), chapter 16.
- :mod:`course_lib.tfds_builders`, :mod:`course_lib.tfds_load` — the bundled datasets as TensorFlow Datasets
  builders, and ``load_tfds`` for bundled or online TFDS data with one call (chapter 10).
- :mod:`course_lib.metrics` (code in :mod:`~course_lib.numeric_metrics` and :mod:`~course_lib.text_metrics`) —
  evaluation metrics written out in NumPy and checked against the libraries (chapter 09).
- :mod:`course_lib.sizing` (hardware half in :mod:`~course_lib.cluster`) — parameters, FLOPs, memory, time
  and all-reduce estimates for large models (chapters 01, 10, 15, 16).
- :mod:`course_lib.privacy` — Rényi-DP accounting for DP-SGD with Poisson sampling, generated from chapter 12.
- :mod:`course_lib.models`, :mod:`course_lib.sequence`, :mod:`course_lib.transformer` — the models of chapters
  06, 07 and 08 that benchmarks and later chapters reuse (the last two generated from their chapters).
- :mod:`course_lib.deploy`, :mod:`course_lib.litert`, :mod:`course_lib.serve` (+ ``serve_*``) — SavedModel,
  TFLite/LiteRT and a server speaking TensorFlow Serving's REST API (chapters 11, 13).
- :mod:`course_lib.validation` — shared argument checks (errors name the argument).

Modules import TensorFlow lazily where they can, so ``import course_lib`` is cheap.
"""

import os as _os

# Hide TensorFlow's C++ start-up chatter (CUDA probing on machines without a GPU, etc.)
# unless the user asked for it; must happen before TensorFlow is imported.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
__all__ = ["__version__"]
