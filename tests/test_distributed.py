"""runtime.setup(cpu_devices=2) really gives two devices: MirroredStrategy with 2 replicas, and fit trains.

TensorFlow fixes its devices when it first starts, so this runs in a fresh Python process.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import json
    from course_lib import runtime

    strategy = runtime.setup(seed=0, cpu_devices=2, verbose=False)
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1024, 8)).astype("float32")
    y = (x @ rng.normal(size=(8,)) > 0).astype("int32")
    with strategy.scope():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync, epochs=4, verbose=0)
    kernel = model.layers[0].kernel.value
    print(json.dumps({
        "strategy": type(strategy).__name__,
        "replicas": int(strategy.num_replicas_in_sync),
        "info": runtime.info().strategy,
        "devices": runtime.info().devices,
        "logical_cpus": len(tf.config.list_logical_devices("CPU")),
        "variable": type(kernel).__name__,
        "copies_equal": bool(np.array_equal(*[v.numpy() for v in strategy.experimental_local_results(kernel)])),
        "loss": history.history["loss"],
    }))
""")


def test_two_logical_cpus_train_under_mirrored_strategy():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["strategy"] == "MirroredStrategy" and out["info"] == "MirroredStrategy"
    assert out["replicas"] == 2 and out["logical_cpus"] == 2 and len(out["devices"]) == 2
    assert out["variable"] == "MirroredVariable" and out["copies_equal"]
    assert out["loss"][-1] < 0.8 * out["loss"][0], out["loss"]
