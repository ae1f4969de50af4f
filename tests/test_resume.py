"""Interrupted + resumed training (keras.callbacks.BackupAndRestore) ends with the uninterrupted run's weights.

Chapter 10 shows this under the chapter's strategy; here it runs on the default (single-device) strategy,
with deterministic ops, a fixed data order and no dropout, so the weights must match exactly.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import runtime

EPOCHS = 5
CRASH_AT = 1  # epochs count from 0: the "machine dies" after the 2nd epoch


class SimulatedCrash(keras.callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError(f"simulated crash at epoch {epoch}")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 20)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(64)  # fixed order: no shuffling


def build():
    runtime.set_seed(3, deterministic=True)  # the same initial weights every time
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_interrupted_and_resumed_equals_uninterrupted(data, tmp_path):
    reference = build()
    reference.fit(data, epochs=EPOCHS, verbose=0)

    backup_dir = str(tmp_path / "backup")
    crashing = build()
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.fit(data, epochs=EPOCHS, verbose=0,
                     callbacks=[keras.callbacks.BackupAndRestore(backup_dir), SimulatedCrash(CRASH_AT)])
    assert (tmp_path / "backup").is_dir()
    # The crash left the model mid-run: its weights are not the final ones.
    assert not all(np.array_equal(a, b) for a, b in zip(crashing.get_weights(), reference.get_weights(), strict=True))

    resumed = build()  # a "new process": fresh model object, same call, same backup directory
    history = resumed.fit(data, epochs=EPOCHS, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])

    assert history.epoch == list(range(CRASH_AT + 1, EPOCHS))  # only the remaining epochs ran
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations.numpy()) == int(reference.optimizer.iterations.numpy())
    assert not (tmp_path / "backup").exists()  # deleted after a successful finish


def test_model_checkpoint_keeps_a_loadable_model(data, tmp_path):
    path = tmp_path / "best.keras"
    model = build()
    model.fit(data, epochs=2, verbose=0, validation_data=data,
              callbacks=[keras.callbacks.ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True)])
    loaded = keras.models.load_model(path)
    x = np.ones((3, 20), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
