"""Tests for course_lib.models: shapes, parameter counts, recipes and argument checks."""

import math

import numpy as np
import pytest

from course_lib import models
from course_lib.models import FASHION_RECIPE, MNIST_RECIPE, Recipe, fashion_cnn, mnist_cnn


def test_mnist_cnn_shapes_and_parameters():
    model = mnist_cnn()
    assert model.name == "mnist_cnn"
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    # conv 3*3*1*32 + BN 4*32, conv 3*3*32*64 + BN 4*64, dense 1600*128 + BN 4*128, out 128*10 + 10
    expected = 288 + 128 + 18432 + 256 + 1600 * 128 + 512 + 1290
    assert model.count_params() == expected
    assert model.get_layer("flatten").output.shape[-1] == 5 * 5 * 64
    assert model.get_layer("probabilities").dtype_policy.compute_dtype == "float32"


def test_mnist_cnn_predicts_probabilities():
    model = mnist_cnn(input_shape=(16, 16, 3), num_classes=4, dense_units=8, dropout=0.0)
    x = np.random.default_rng(0).random((5, 16, 16, 3)).astype("float32")
    p = np.asarray(model.predict(x, verbose=0))
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_fashion_cnn_shapes_and_augmentation_only_in_training():
    model = fashion_cnn(seed=1)
    assert model.name == "fashion_cnn"
    assert model.output_shape == (None, 10)
    assert model.get_layer("flatten").output.shape[-1] == 3 * 3 * 128
    # convs 9*1*32, 9*32*64, 9*64*128 (no bias) + BN 4*(32+64+128); dense 1152*256 + BN 4*256; out 256*10 + 10
    expected = 9 * (32 + 32 * 64 + 64 * 128) + 4 * 224 + 1152 * 256 + 4 * 256 + 2570
    assert model.count_params() == expected
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    # inference is deterministic: the flip (and dropout) are off outside training
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    plain = fashion_cnn(augment=False, widths=(8, 16), dropout=0.0)
    assert "random_flip" not in [layer.name for layer in plain.layers]
    assert plain.get_layer("flatten").output.shape[-1] == 7 * 7 * 16


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"input_shape": (28, 28)}, "input_shape"),
        ({"input_shape": (4, 4, 1)}, "input_shape"),
        ({"input_shape": (28, 28, 0)}, "input_shape"),
        ({"num_classes": 1}, "num_classes"),
        ({"dense_units": 0}, "dense_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": "0.3"}, "dropout"),
    ],
)
def test_mnist_cnn_rejects_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        mnist_cnn(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "err", "arg"),
    [
        ({"widths": ()}, ValueError, "widths"),
        ({"widths": (32, 0)}, ValueError, "widths"),
        ({"widths": "32"}, ValueError, "widths"),
        ({"widths": (8, 8, 8, 8), "input_shape": (12, 12, 1)}, ValueError, "input_shape"),
        ({"dropout": -0.1}, ValueError, "dropout"),
        ({"augment": 1}, TypeError, "augment"),
        ({"seed": -1}, ValueError, "seed"),
        ({"num_classes": 0}, ValueError, "num_classes"),
        ({"dense_units": 0}, ValueError, "dense_units"),
        ({"bn_momentum": 1.0}, ValueError, "bn_momentum"),
        ({"bn_momentum": True}, ValueError, "bn_momentum"),
    ],
)
def test_fashion_cnn_rejects_bad_arguments(kwargs, err, arg):
    with pytest.raises(err, match=arg):
        fashion_cnn(**kwargs)


def test_recipe_schedule_warms_up_then_decays_to_zero():
    recipe = Recipe(epochs=2, batch_size=100, peak_lr=1e-2, warmup_fraction=0.1)
    assert recipe.steps_per_epoch(1050) == 11  # the last batch is partial
    assert recipe.steps_per_epoch(1050, replicas=4) == 3  # global batch 400
    total = 2 * 11
    sched = recipe.schedule(1050)
    lr = [float(sched(step)) for step in range(total + 1)]
    warm = max(1, int(total * 0.1))
    assert math.isclose(lr[0], 1e-3, rel_tol=1e-5)
    assert math.isclose(lr[warm], 1e-2, rel_tol=1e-5)
    assert max(lr) <= 1e-2 * (1 + 1e-6)
    assert lr[total] < 1e-8
    assert all(a >= b for a, b in zip(lr[warm:], lr[warm + 1:], strict=False))


def test_recipe_without_warmup_and_optimizer():
    recipe = Recipe(epochs=1, batch_size=10, peak_lr=0.5, warmup_fraction=0.0)
    sched = recipe.schedule(100)
    assert math.isclose(float(sched(0)), 0.5, rel_tol=1e-6)
    opt = recipe.optimizer(100)
    assert type(opt).__name__ == "Adam"
    assert type(Recipe(1, 10, 0.5, weight_decay=0.01).optimizer(100)).__name__ == "AdamW"


def test_recipe_loss_with_and_without_label_smoothing():
    import keras

    y = np.array([0, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]], dtype="float32")
    plain = Recipe(1, 10, 0.1).loss()
    expected = -np.mean(np.log([0.7, 0.8, 0.6]))
    assert math.isclose(float(plain(y, p)), expected, rel_tol=1e-5)
    smoothed = Recipe(1, 10, 0.1, label_smoothing=0.3).loss()
    target = keras.utils.to_categorical(y, 3) * 0.7 + 0.1
    expected = -np.mean(np.sum(target * np.log(p), axis=1))
    assert math.isclose(float(np.mean(smoothed(y, p))), expected, rel_tol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"epochs": 0, "batch_size": 1, "peak_lr": 1.0}, "epochs"),
        ({"epochs": 1, "batch_size": 1.5, "peak_lr": 1.0}, "batch_size"),
        ({"epochs": 1, "batch_size": 1, "peak_lr": 0.0}, "peak_lr"),
        ({"epochs": 1, "batch_size": 1, "peak_lr": 1.0, "warmup_fraction": 1.0}, "warmup_fraction"),
        ({"epochs": 1, "batch_size": 1, "peak_lr": 1.0, "weight_decay": -1.0}, "weight_decay"),
        ({"epochs": 1, "batch_size": 1, "peak_lr": 1.0, "label_smoothing": 1.0}, "label_smoothing"),
    ],
)
def test_recipe_rejects_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        Recipe(**kwargs)
    with pytest.raises(ValueError, match="n_train"):
        MNIST_RECIPE.steps_per_epoch(0)
    with pytest.raises(ValueError, match="replicas"):
        MNIST_RECIPE.optimizer(100, replicas=0)


def test_shared_recipes_are_sane():
    for recipe in (MNIST_RECIPE, FASHION_RECIPE):
        assert isinstance(recipe, Recipe)
        assert recipe.epochs >= 1 and recipe.batch_size >= 1 and recipe.peak_lr > 0
    assert set(models.__all__) >= {"mnist_cnn", "fashion_cnn", "Recipe"}


def test_fashion_cnn_bn_momentum_changes_only_the_inference_averages():
    """Chapter 06 §7.1: the same seed and batches give the same trained weights (every trainable array) for
    bn_momentum 0.99 and 0.9; only the moving averages differ, and after s steps the start values still
    weigh momentum ** s."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1)).astype("float32") + 2.0  # mean far from the initial moving mean 0
    y = rng.integers(0, 10, 64)
    trained = {}
    for momentum in (0.99, 0.9):
        keras.utils.set_random_seed(0)
        model = fashion_cnn(bn_momentum=momentum, seed=1)  # with the random flip, seeded
        assert {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)} \
            == {momentum}
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # 4 steps
        trained[momentum] = model
    a, b = ([v.numpy() for v in trained[m].trainable_variables] for m in (0.99, 0.9))
    assert len(a) == len(b) > 10
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    mean99, mean90 = (trained[m].get_layer("block1_bn").moving_mean.numpy() for m in (0.99, 0.9))
    # after 4 steps the averages are 1 - 0.99**4 = 3.9% of the way from 0 to the batch means, 34% at 0.9
    ratio = np.abs(mean99).mean() / np.abs(mean90).mean()
    assert 0.07 < ratio < 0.18, ratio
