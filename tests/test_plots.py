"""course_lib.plots: each plot draws (Agg backend) and rejects bad input."""

import numpy as np
import pytest
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from course_lib import plots


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


HIST = {"loss": [1.0, 0.5, 0.3], "accuracy": [0.5, 0.8, 0.9], "val_loss": [1.1, 0.7, 0.6],
        "val_accuracy": [0.4, 0.7, 0.8]}


def test_plot_history_draws_train_and_validation():
    fig = plots.plot_history(HIST)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].lines] == ["train", "validation"]
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), HIST["val_loss"])


def test_plot_history_accepts_a_keras_history():
    class History:
        history = {"loss": [2.0, 1.0]}

    fig = plots.plot_history(History(), title="t")
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "loss"


@pytest.mark.parametrize("bad, err", [([1, 2], TypeError), ({}, ValueError), ({"loss": [1.0], "acc": []}, ValueError)])
def test_plot_history_rejects_bad_history(bad, err):
    with pytest.raises(err, match="history"):
        plots.plot_history(bad)


def test_plot_history_rejects_unknown_metric():
    with pytest.raises(ValueError, match="metrics"):
        plots.plot_history(HIST, metrics=["auc"])


def test_image_grid_with_predictions_marks_mistakes_red():
    imgs = np.random.default_rng(0).integers(0, 255, (5, 28, 28, 1), dtype=np.uint8)
    fig = plots.image_grid(imgs, [1, 2, 3, 4, 5], predictions=[1, 2, 0, 4, 5], ncols=3)
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 5
    assert axes[2].title.get_color() == "red" and axes[0].title.get_color() == "black"


def test_image_grid_class_names_and_rgb():
    imgs = np.zeros((2, 8, 8, 3))
    fig = plots.image_grid(imgs, [0, 1], class_names=["cat", "dog"])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["cat", "dog"]


@pytest.mark.parametrize("images, kwargs, match", [
    (np.zeros((4, 4)), {}, "images"),
    (np.zeros((0, 4, 4)), {}, "images"),
    (np.zeros((2, 4, 4)), {"labels": [1]}, "labels"),
    (np.zeros((2, 4, 4)), {"predictions": [1, 2, 3]}, "predictions"),
    (np.zeros((2, 4, 4)), {"ncols": 0}, "ncols"),
])
def test_image_grid_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.image_grid(images, **kwargs)


def test_confusion_matrix_counts():
    cm = plots.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1])
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 2]])
    assert plots.confusion_matrix([0], [0], num_classes=3).shape == (3, 3)


@pytest.mark.parametrize("t, p, err, match", [([0, 1], [0], ValueError, "same length"),
                                               ([0.5, 1], [0, 1], TypeError, "integer"),
                                               ([-1, 1], [0, 1], ValueError, "non-negative")])
def test_confusion_matrix_rejects_bad_input(t, p, err, match):
    with pytest.raises(err, match=match):
        plots.confusion_matrix(t, p)


def test_confusion_matrix_num_classes_too_small():
    with pytest.raises(ValueError, match="num_classes"):
        plots.confusion_matrix([0, 3], [0, 1], num_classes=2)


def test_plot_confusion_matrix_draws_counts_and_normalized():
    fig = plots.plot_confusion_matrix([0, 1, 1], [0, 1, 0], class_names=["a", "b"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "0", "1", "1"]
    fig = plots.plot_confusion_matrix([0, 1, 1], [0, 1, 0], normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts] == ["1.00", "0.00", "0.50", "0.50"]
