"""course_lib.deploy and course_lib.serve: export, TFLite, latency, and the TF-Serving-style
HTTP server tested over real HTTP on localhost (started with `python -m course_lib.serve`)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import keras
import numpy as np
import pytest

from course_lib import deploy, serve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    return model


@pytest.fixture(scope="module")
def saved(tiny_model, tmp_path_factory):
    return deploy.export_savedmodel(tiny_model, tmp_path_factory.mktemp("m") / "tiny")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(saved):
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "course_lib.serve", "--model", str(saved), "--name", "tiny",
                             "--port", str(port), "--max-body-bytes", "20000"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1/models/tiny"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
        assert proc.poll() is None, proc.stdout.read().decode()
    else:
        proc.kill()
        pytest.fail("server did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_savedmodel_matches_keras(tiny_model, saved):
    m = deploy.ServingModel(saved)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(m(x), tiny_model.predict(x, verbose=0), atol=1e-6)
    assert m.input_shape == (None, 4)
    with pytest.raises(ValueError, match="shape"):
        m(np.zeros((2, 5)))


def test_bad_paths_and_models(tmp_path):
    with pytest.raises(ValueError, match="path"):
        deploy.ServingModel(tmp_path)
    with pytest.raises(TypeError, match="model"):
        deploy.export_savedmodel(object(), tmp_path / "x")


def test_tflite_float_dynamic_and_int8(tiny_model):
    x = np.random.default_rng(2).normal(size=(20, 4)).astype("float32")
    ref = tiny_model.predict(x, verbose=0)
    for q, tol in ((None, 1e-5), ("dynamic", 0.05), ("int8", 0.1)):
        lite = deploy.TFLiteModel(deploy.to_tflite(tiny_model, quantize=q, representative_data=[x]))
        np.testing.assert_allclose(lite(x), ref, atol=tol, err_msg=str(q))
        assert lite.size_bytes > 0
    with pytest.raises(ValueError, match="quantize"):
        deploy.to_tflite(tiny_model, quantize="int4")
    with pytest.raises(ValueError, match="representative_data"):
        deploy.to_tflite(tiny_model, quantize="int8")
    with pytest.raises(TypeError, match="flatbuffer"):
        deploy.TFLiteModel("model.tflite")
    with pytest.raises(ValueError, match="shape"):
        lite(np.zeros((1, 3)))


def test_measure_latency():
    stats = deploy.measure_latency(lambda x: sum(x), [1, 2, 3], repeats=5)
    assert 0 <= stats["p50_ms"] <= stats["p95_ms"] and stats["examples_per_s"] > 0
    with pytest.raises(TypeError, match="fn"):
        deploy.measure_latency(3, [1])
    with pytest.raises(ValueError, match="repeats"):
        deploy.measure_latency(len, [1], repeats=0)


def test_create_app_rejects_bad_arguments(saved):
    with pytest.raises(ValueError, match="models"):
        serve.create_app({})
    with pytest.raises(ValueError, match="max_body_bytes"):
        serve.create_app({"m": deploy.ServingModel(saved)}, max_body_bytes=0)


def test_predict_over_http_matches_the_model(server, tiny_model):
    x = np.random.default_rng(3).normal(size=(3, 4)).astype("float32")
    r = httpx.post(f"{server}:predict", json={"instances": x.tolist()})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["predictions"], tiny_model.predict(x, verbose=0), atol=1e-5)
    r = httpx.post(f"{server}:predict", json={"inputs": x.tolist()})
    assert r.status_code == 200 and "outputs" in r.json()


def test_status_and_metadata(server):
    assert httpx.get(server).json()["model_version_status"][0]["state"] == "AVAILABLE"
    meta = httpx.get(f"{server}/metadata").json()
    (spec,) = meta["metadata"]["signature_def"]["serving_default"]["inputs"].values()
    assert spec["shape"] == [-1, 4]


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "malformed JSON"),
    (b'{"instances": [[1, 2, 3]]}', 400, "expected input of shape (n, 4)"),
    (b'{"instances": [[1, 2, "x", 4]]}', 400, "list of numbers"),
    (b'{"instances": [[1, 2, 3, 4], [1, 2]]}', 400, "list of numbers"),
    (b'{"instances": []}', 400, "at least one example"),
    (b'{"rows": [[1, 2, 3, 4]]}', 400, "exactly one of 'instances' or 'inputs'"),
    (b"[1, 2, 3, 4]", 400, "JSON object"),
    (json.dumps({"instances": [[0.5] * 4] * 2000}).encode(), 413, "over the limit"),
])
def test_bad_requests_get_4xx_with_a_message(server, body, status, message):
    r = httpx.post(f"{server}:predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status and message in r.json()["error"]
    assert httpx.get(server).status_code == 200  # and the server is still up


def test_unknown_model_is_404(server):
    r = httpx.post(server.replace("/tiny", "/nope") + ":predict", json={"instances": [[1, 2, 3, 4]]})
    assert r.status_code == 404 and "nope" in r.json()["error"]


def test_server_binds_to_localhost_by_default():
    assert serve.DEFAULT_HOST == "127.0.0.1"
    with pytest.raises(SystemExit):
        serve.main(["--help"])
