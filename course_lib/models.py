"""Model builders and training recipes shared by the chapters and ``benchmarks/bench.py``.

Chapter 06 trains these models and the benchmark times the very same code, so
the numbers in the text and in the benchmark table come from one definition::

    from course_lib import models

    model = models.mnist_cnn()
    recipe = models.MNIST_RECIPE
    model.compile(optimizer=recipe.optimizer(n_train=60_000), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train_ds, epochs=recipe.epochs)

Inputs are float images scaled to ``[0, 1]`` with a channel axis, shape ``(28, 28, 1)``
by default. The output layer computes in ``float32`` (softmax probabilities), which
keeps it numerically safe when mixed precision is on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # keras is imported lazily so `import course_lib` stays cheap
    import keras

__all__ = ["Recipe", "MNIST_RECIPE", "FASHION_RECIPE", "mnist_cnn", "fashion_cnn"]


# --- argument checks -----------------------------------------------------------------------------


def _check_shape(input_shape: Any) -> tuple[int, int, int]:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape):
        raise ValueError(f"input_shape must hold three positive ints, got {input_shape!r}")
    h, w, c = input_shape
    if h < 8 or w < 8:
        raise ValueError(f"input_shape must be at least 8x8 (the models pool twice or more), got {input_shape!r}")
    return int(h), int(w), int(c)


def _check_int(name: str, value: Any, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


# --- training recipes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: epochs, batch size, a warm-up + cosine learning-rate schedule, Adam(W).

    The learning rate rises linearly from ``peak_lr / 10`` to ``peak_lr`` over the first
    ``warmup_fraction`` of all steps, then follows half a cosine down to 0 at the last step.
    The optimizer is Adam, or AdamW (decoupled weight decay) when ``weight_decay > 0``; the
    loss is sparse categorical cross-entropy on integer labels, with optional label smoothing.

    Attributes:
        epochs: passes over the training set.
        batch_size: examples per step (per replica: multiply by the number of replicas).
        peak_lr: the highest learning rate, reached at the end of the warm-up.
        warmup_fraction: fraction of all steps spent warming up, in ``[0, 1)``.
        weight_decay: AdamW's decoupled weight decay (Keras multiplies it by the learning
            rate at each step); 0 means plain Adam.
        label_smoothing: mix this much of a uniform distribution into the one-hot targets,
            in ``[0, 1)``; 0 means none.
    """

    epochs: int
    batch_size: int
    peak_lr: float
    warmup_fraction: float = 0.1
    weight_decay: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 1)
        if isinstance(self.peak_lr, bool) or not isinstance(self.peak_lr, (int, float)) or not self.peak_lr > 0:
            raise ValueError(f"peak_lr must be a positive number, got {self.peak_lr!r}")
        _check_rate("warmup_fraction", self.warmup_fraction)
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) \
                or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        _check_rate("label_smoothing", self.label_smoothing)

    def steps_per_epoch(self, n_train: int, replicas: int = 1) -> int:
        """Number of steps in one epoch of ``n_train`` examples (the last batch may be partial).

        With ``replicas`` devices each step processes ``batch_size * replicas`` examples.
        """
        _check_int("n_train", n_train, 1)
        _check_int("replicas", replicas, 1)
        return math.ceil(n_train / (self.batch_size * replicas))

    def schedule(self, n_train: int, replicas: int = 1) -> Any:
        """The learning-rate schedule (a ``keras.optimizers.schedules.CosineDecay``) for ``n_train`` examples."""
        import keras

        total = self.epochs * self.steps_per_epoch(n_train, replicas)
        warmup = max(1, int(total * self.warmup_fraction)) if self.warmup_fraction > 0 else 0
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=self.peak_lr / 10 if warmup else self.peak_lr,
            decay_steps=max(1, total - warmup),
            alpha=0.0,
            warmup_target=self.peak_lr if warmup else None,
            warmup_steps=warmup,
        )

    def optimizer(self, n_train: int, replicas: int = 1) -> Any:
        """A fresh Adam (or AdamW) optimizer driven by :meth:`schedule`; create it inside ``strategy.scope()``.

        Pass ``replicas=strategy.num_replicas_in_sync`` when the global batch is
        ``batch_size * replicas``, so the schedule still ends at the last step.
        """
        import keras

        lr = self.schedule(n_train, replicas)
        if self.weight_decay > 0:
            return keras.optimizers.AdamW(learning_rate=lr, weight_decay=self.weight_decay)
        return keras.optimizers.Adam(learning_rate=lr)

    def loss(self) -> Any:
        """Cross-entropy for integer labels and softmax outputs, label-smoothed if asked.

        Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing`` argument, so with
        smoothing the labels are one-hot encoded inside the loss; they stay integers everywhere else.
        """
        import keras

        if not self.label_smoothing:
            return keras.losses.SparseCategoricalCrossentropy()
        smoothing = self.label_smoothing

        def smoothed_sparse_crossentropy(y_true: Any, y_pred: Any) -> Any:
            ops = keras.ops
            labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            one_hot = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
            return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=smoothing)

        return smoothed_sparse_crossentropy


#: MNIST with :func:`mnist_cnn`: about 99.3-99.4% test accuracy in 4 epochs (chapter 06, benchmarks/bench.py).
MNIST_RECIPE = Recipe(epochs=4, batch_size=128, peak_lr=3e-3)
#: Fashion-MNIST (bundled 16k subset) with :func:`fashion_cnn`: about 91% test accuracy in 20 epochs.
FASHION_RECIPE = Recipe(epochs=20, batch_size=128, peak_lr=3e-3, weight_decay=0.05, label_smoothing=0.1)


# --- models --------------------------------------------------------------------------------------


def _conv_bn_relu(x: Any, filters: int, *, padding: str, pool: bool, name: str) -> Any:
    """Conv (no bias: BatchNorm has its own shift) -> [max-pool] -> BatchNorm -> ReLU."""
    import keras

    layers = keras.layers
    x = layers.Conv2D(filters, 3, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    if pool:
        x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _classifier_head(x: Any, units: int, num_classes: int, rate: float, bn_momentum: float = 0.99) -> Any:
    """Flatten -> dropout -> Dense (no bias) -> BatchNorm -> ReLU -> dropout -> float32 softmax."""
    import keras

    layers = keras.layers
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(rate, name="dropout1")(x)
    x = layers.Dense(units, use_bias=False, name="dense")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="dense_bn")(x)
    x = layers.ReLU(name="dense_relu")(x)
    x = layers.Dropout(rate, name="dropout2")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)


def mnist_cnn(
    input_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    dense_units: int = 128,
    dropout: float = 0.3,
) -> keras.Model:
    """A small, fast and accurate CNN for MNIST-sized images (about 226k parameters).

    Two 3x3 convolutions (32 and 64 filters, ``valid`` padding), each followed by 2x2
    max-pooling, *then* BatchNormalization and ReLU (normalizing after the pool touches
    4x fewer numbers than before it), a BatchNorm-ed dense layer, dropout and a softmax.

    Args:
        input_shape: ``(height, width, channels)`` of the scaled ``[0, 1]`` input images.
        num_classes: number of output classes (>= 2).
        dense_units: width of the hidden dense layer (>= 1).
        dropout: dropout rate before and after the hidden dense layer, in ``[0, 1)``.

    Returns:
        An uncompiled ``keras.Model`` named ``"mnist_cnn"``.
    """
    shape = _check_shape(input_shape)
    _check_int("num_classes", num_classes, 2)
    _check_int("dense_units", dense_units, 1)
    rate = _check_rate("dropout", dropout)
    import keras

    inputs = keras.Input(shape=shape, name="image")
    x = _conv_bn_relu(inputs, 32, padding="valid", pool=True, name="block1")
    x = _conv_bn_relu(x, 64, padding="valid", pool=True, name="block2")
    outputs = _classifier_head(x, dense_units, num_classes, rate)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def fashion_cnn(
    input_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (32, 64, 128),
    dense_units: int = 256,
    dropout: float = 0.4,
    augment: bool = True,
    seed: int | None = None,
    bn_momentum: float = 0.99,
) -> keras.Model:
    """A CNN for Fashion-MNIST-sized images, with augmentation built in.

    Blocks of 3x3 ``same`` convolution -> BatchNorm -> ReLU -> 2x2 max-pool, one per entry
    of ``widths``; then flatten, dropout, a BatchNorm-ed hidden dense layer, dropout again and
    a softmax. With ``augment=True`` the model
    starts with ``RandomFlip("horizontal")``, active only in training (a mirrored shirt is
    still a shirt), so augmentation costs nothing at test time and travels with the model.

    Args:
        input_shape: ``(height, width, channels)`` of the scaled ``[0, 1]`` input images.
        num_classes: number of output classes (>= 2).
        widths: filters of each convolution block (1 to 4 blocks, each >= 1); each block
            halves the image, so the input must be at least ``2 ** len(widths)`` pixels wide.
        dense_units: width of the hidden dense layer (>= 1).
        dropout: dropout rate before and after the hidden dense layer, in ``[0, 1)``.
        augment: add the random horizontal flip.
        seed: seed of the augmentation layer (``None``: Keras' global seed).
        bn_momentum: momentum of every BatchNormalization's moving mean and variance, in ``[0, 1)``
            (Keras' default 0.99). It changes nothing in training (batch statistics are used there), only
            the averages used at inference: after s steps the starting values (mean 0, variance 1) still
            weigh ``bn_momentum ** s``, so short runs need a smaller momentum (0.99 ** 192 ≈ 0.15; chapter 06 §7.1).

    Returns:
        An uncompiled ``keras.Model`` named ``"fashion_cnn"``.
    """
    shape = _check_shape(input_shape)
    _check_int("num_classes", num_classes, 2)
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not 1 <= len(widths) <= 4:
        raise ValueError(f"widths must be a sequence of 1 to 4 ints, got {widths!r}")
    for w in widths:
        _check_int("widths entries", w, 1)
    if min(shape[:2]) < 2 ** len(widths):
        raise ValueError(f"input_shape {shape} is too small for {len(widths)} pooling blocks (widths={widths!r})")
    _check_int("dense_units", dense_units, 1)
    rate = _check_rate("dropout", dropout)
    if not isinstance(augment, bool):
        raise TypeError(f"augment must be True or False, got {augment!r}")
    if seed is not None:
        _check_int("seed", seed, 0)
    momentum = _check_rate("bn_momentum", bn_momentum)
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    if augment:
        x = layers.RandomFlip("horizontal", seed=seed, name="random_flip")(x)
    for i, filters in enumerate(widths, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    outputs = _classifier_head(x, dense_units, num_classes, rate, momentum)
    return keras.Model(inputs, outputs, name="fashion_cnn")
