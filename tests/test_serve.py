"""course_lib.deploy and course_lib.serve over real HTTP on 127.0.0.1 (`python -m course_lib.serve`).

`test_documented_examples` is a client built only from TF Serving's documented requests and answers
(tensorflow/serving tensorflow_serving/g3doc/api_rest.md, and the metadata layout printed by
http_rest_api_handler.cc): it must pass unchanged against this server."""

import asyncio
import json
import math
import socket
import threading
import time

import httpx
import keras
import numpy as np
import pytest
import serve_models

from course_lib import deploy, serve, serve_client


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,), name="features"), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


@pytest.fixture(scope="module")
def paths(tiny_model, tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    deploy.export_savedmodel(tiny_model, base / "tiny" / "1")
    deploy.export_savedmodel(tiny_model, base / "tiny" / "2")
    return {"half_plus_three": serve_models.half_plus_three(base / "half_plus_three"),
            "sensors": serve_models.sensors(base / "sensors"), "words": serve_models.words(base / "words"),
            "pairs": serve_models.pairs(base / "pairs"), "typed": serve_models.typed(base / "typed"),
            "slow": serve_models.slow(base / "slow"), "tiny": base / "tiny"}


@pytest.fixture(scope="module")
def server(paths):
    args = ["--max-body-bytes", "200000", "--header-timeout", "1.5", "--body-timeout", "1.5",
            "--label", "half_plus_three:stable=123", "--label", "tiny:canary=2"]
    with serve_client.launch(paths, args=args) as s:
        yield s
    assert s.proc.returncode is not None


def asgi(app, method, url, **kw):
    """One request to an app in this process (the ASGI interface, no socket)."""
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(method, url, **kw)
    return asyncio.run(go())


def post(url, body):
    return httpx.post(url, content=body if isinstance(body, bytes) else json.dumps(body).encode(),
                      headers={"content-type": "application/json"}, timeout=30)


def test_documented_examples(server):
    assert isinstance(server, serve_client.ServerProcess) and server.alive()
    hp3 = server.url("half_plus_three")
    # Model status API (api_rest.md "Example"): the exact answer shown there.
    assert httpx.get(hp3).json() == {"model_version_status": [
        {"version": "123", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    # Predict API: curl -d '{"instances": [1.0,2.0,5.0]}' .../half_plus_three:predict
    r = post(f"{hp3}:predict", b'{"instances": [1.0,2.0,5.0]}')
    assert r.status_code == 200 and r.json() == {"predictions": [3.5, 4.0, 5.5]}
    # "An incorrect request URL or body returns an HTTP error status."
    r = post(server.url("half") + ":predict", b'{"instances": [1.0,5.0]}')
    assert r.status_code == 404 and r.json() == {"error": "Servable not found for request: Latest(half)"}
    # Versions: /versions/${MODEL_VERSION} in every endpoint; labels: /labels/${LABEL}.
    assert post(f"{hp3}/versions/123:predict", b'{"instances": [1.0]}').json() == {"predictions": [3.5]}
    assert post(f"{hp3}/labels/stable:predict", b'{"instances": [1.0]}').json() == {"predictions": [3.5]}
    assert httpx.get(f"{hp3}/versions/123").json()["model_version_status"][0]["version"] == "123"
    assert httpx.get(f"{hp3}/labels/stable/metadata").json()["model_spec"]["version"] == "123"
    # Row format, one named input: "List of 3 scalar tensors" and "List of 2 tensors each of [1, 2] shape".
    assert post(server.url("words") + ":predict", b'{"instances": [ "foo", "bar", "baz" ]}').json() == {
        "predictions": [3, 3, 3]}
    assert post(server.url("pairs") + ":predict", b'{"instances": [ [[1, 2]], [[3, 4]] ]}').json() == {
        "predictions": [[[2.0, 4.0]], [[6.0, 8.0]]]}
    # Row format, several named inputs (the docs' example; its stray "]" after "signal" removed).
    row = {"instances": [{"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
                         {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]}
    col = {"inputs": {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
                      "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}}
    rows = post(server.url("sensors") + ":predict", row).json()["predictions"]
    # several named outputs: "a list of objects" (row), "an object" keyed by output name (columnar)
    assert rows == [{"signal_sum": 15.0, "sensor_max": 4.0, "tag_length": 3, "tag_bytes": {"b64": "Zm9v"}},
                    {"signal_sum": 15.0, "sensor_max": 8.0, "tag_length": 3, "tag_bytes": {"b64": "YmFy"}}]
    cols = post(server.url("sensors") + ":predict", col).json()["outputs"]
    assert cols == {k: [r[k] for r in rows] for k in rows[0]}
    # Encoding binary values: {"b64": ...} in, and outputs named *_bytes come back as {"b64": ...}.
    b64 = {"instances": [dict(row["instances"][0], tag={"b64": "aW1hZ2UgYnl0ZXM="})]}
    out = post(server.url("sensors") + ":predict", b64).json()["predictions"][0]
    assert out["tag_bytes"] == {"b64": "aW1hZ2UgYnl0ZXM="} and out["tag_length"] == len(b"image bytes")
    # signature_name: a named signature, and an unknown one.
    r = post(server.url("sensors") + ":predict", {"signature_name": "total", "inputs": {"signal": [[1, 1, 1, 1, 1]]}})
    assert r.json() == {"outputs": [5.0]}
    r = post(server.url("sensors") + ":predict", {"signature_name": "classify_objects", "instances": [1]})
    assert r.status_code == 400 and r.json() == {
        "error": 'Serving signature name: "classify_objects" not found in signature def'}
    # JSON conformance: NaN / Infinity tokens in requests and answers.
    r = post(f"{hp3}:predict", b'{"instances": [ 1.0, -3.14, NaN, Infinity ]}')
    assert r.text.replace(" ", "") == '{"predictions":[3.5,1.43,NaN,Infinity]}'
    # Model metadata API: GetModelMetadataResponse, as TF Serving prints it.
    meta = httpx.get(f"{hp3}/metadata").json()
    assert meta["model_spec"] == {"name": "half_plus_three", "signature_name": "", "version": "123"}
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["method_name"] == "tensorflow/serving/predict"
    assert sig["inputs"]["x"]["dtype"] == "DT_FLOAT" and sig["outputs"]["y"]["dtype"] == "DT_FLOAT"
    assert sig["inputs"]["x"]["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert sig["inputs"]["x"]["name"].endswith(":0")


def test_keras_model_over_http_matches_the_model(server, tiny_model):
    x = np.random.default_rng(3).normal(size=(3, 4)).astype("float32")
    r = post(server.url("tiny") + ":predict", {"instances": x.tolist()})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["predictions"], tiny_model.predict(x, verbose=0), atol=1e-6)
    r = post(server.url("tiny") + "/labels/canary:predict", {"inputs": {"features": x.tolist()}})
    np.testing.assert_allclose(r.json()["outputs"], tiny_model.predict(x, verbose=0), atol=1e-6)
    assert [s["version"] for s in httpx.get(server.url("tiny")).json()["model_version_status"]] == ["1", "2"]


@pytest.mark.parametrize("name, body, status, message", [
    ("half_plus_three", b'{"instances": ["1.0"]}', 400,
     'JSON Value: "1.0" Type: String is not of expected type: float'),
    ("half_plus_three", b'{"instances": [true]}', 400, "JSON Value: true Type: True is not of expected type: float"),
    ("half_plus_three", b'{"instances": [null]}', 400, "JSON Value: null Type: Null is not of expected type: float"),
    ("typed", b'{"inputs": {"f32": [0], "i32": [1.7], "i8": [1], "flag": [true], "f64": [0], "i64": [1]}}', 400,
     "JSON Value: 1.7 Type: Number is not of expected type: int32"),
    ("typed", b'{"inputs": {"f32": [0], "i32": [1], "i8": [128], "flag": [true], "f64": [0], "i64": [1]}}', 400,
     "JSON Value: 128 Type: Number is not of expected type: int8"),
    ("half_plus_three", b"{not json", 400, "JSON Parse error"),
    ("half_plus_three", b"", 400, "JSON Parse error: The document is empty"),
    ("tiny", b'{"instances": [[1, 2, 3]]}', 400, "input 'features' must have shape [-1,4]"),
    ("tiny", b'{"instances": [[1, 2, 3, 4], [1, 2]]}', 400, "Expecting tensor size: 4 but got: 2"),
    ("tiny", b'{"instances": []}', 400, "No values in 'instances' array"),
    ("tiny", b'{"rows": [[1, 2, 3, 4]]}', 400, "Missing 'inputs' or 'instances' key"),
    ("tiny", b"[1, 2, 3, 4]", 400, "Is not object"),
    ("tiny", json.dumps({"instances": [[0.5] * 4] * 20000}).encode(), 413, "over the limit"),
])
def test_bad_requests_get_4xx_naming_the_problem(server, name, body, status, message):
    r = post(server.url(name) + ":predict", body)
    assert r.status_code == status and message in r.json()["error"], r.text
    assert httpx.get(server.url()).status_code == 200  # and the server is still up


def test_non_finite_outputs_are_written_as_tf_serving_writes_them(server):
    body = (b'{"inputs": {"f32": [0, 1, -1, 3], "i32": [0, 0, 0, 2], "i8": [1, 2, 3, 4], '
            b'"flag": [true, false, true, false], "f64": [0.1, 1e300, 2, 3], "i64": [1, 2, 3, 9007199254740993]}}')
    r = post(server.url("typed") + ":predict", body)
    assert '"ratio":[NaN,Infinity,-Infinity,1.5]' in r.text.replace(" ", "")
    out = json.loads(r.text)["outputs"]  # Python's json reads the tokens
    assert math.isnan(out["ratio"][0]) and out["total"][3] == 9007199254740993 + 2 + 4 and out["f64"][1] == 1e300


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/", 404, "Not found"),
    ("GET", "/v2/models/tiny", 404, "Not found"),
    ("DELETE", "/v1/models/tiny", 400, "Malformed request: DELETE /v1/models/tiny"),
    ("PUT", "/v1/models/tiny:predict", 400, "Malformed request"),
    ("GET", "/v1/models/tiny:predict", 400, "Malformed request"),
    ("GET", "/v1/models", 400, "Missing model name in request."),
    ("GET", "/v1/models/nope", 404, "Could not find any versions of model nope"),
    ("GET", "/v1/models/tiny/versions/9", 404, "Could not find version 9 of model tiny"),
    ("GET", "/v1/models/tiny/versions/9/metadata", 404, "Servable not found for request: Specific(tiny, 9)"),
    ("GET", "/v1/models/tiny/labels/beta", 400, "Unrecognized servable version label: beta"),
    ("POST", "/v1/models/tiny:classify", 400, "classify needs a signature"),
    ("GET", "/v1/models/tiny/versions/99999999999999999999999", 404, "Could not find version"),
])
def test_unknown_routes_and_methods_speak_the_protocol(server, method, path, status, message):
    r = httpx.request(method, server.root + path, content=b"{}")
    assert r.status_code == status and message in r.json()["error"], r.text


def test_status_and_metadata_answer_fast_during_a_5_second_prediction(server):
    result = {}

    def long_prediction():
        t0 = time.perf_counter()
        result["response"] = post(server.url("slow") + ":predict", b'{"instances": [5.0]}')
        result["seconds"] = time.perf_counter() - t0

    thread = threading.Thread(target=long_prediction)
    thread.start()
    time.sleep(1.0)  # the prediction is now running in the worker pool
    times = []
    with httpx.Client(timeout=5) as client:
        for _ in range(5):
            for url in (server.url("tiny"), server.url("tiny") + "/metadata"):
                t0 = time.perf_counter()
                assert client.get(url).status_code == 200
                times.append(time.perf_counter() - t0)
    print("status/metadata ms:", [round(t * 1e3, 1) for t in times])
    busy = thread.is_alive()
    thread.join()
    assert busy, "the 5-second prediction had already finished: the timing says nothing"
    assert result["response"].status_code == 200 and result["seconds"] >= 5.0
    assert max(times) < 0.100, f"status/metadata took up to {max(times) * 1e3:.0f} ms"


def _raw(port, data, wait=4.0):
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            return None  # the server kept the connection open
        return b"".join(chunks)  # the server closed the connection


@pytest.mark.parametrize("data, what", [
    (b"", "idle connection"),
    (b"POST /v1/models/tiny:predict HTTP/1.1\r\nhost: x\r\n", "headers never finished"),
    (b"POST /v1/models/tiny:predict HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"inst", "body never finished"),
])
def test_slow_clients_time_out_while_others_are_served(server, data, what):
    t0 = time.perf_counter()
    answers = []
    thread = threading.Thread(target=lambda: answers.append(_raw(server.port, data)))
    thread.start()
    time.sleep(0.3)
    assert post(server.url("tiny") + ":predict", {"instances": [[1, 2, 3, 4]]}).status_code == 200  # others served
    thread.join()
    assert answers[0] is not None, f"{what}: the server never closed the connection"
    assert answers[0].startswith(b"HTTP/1.1 408") and b'"error"' in answers[0], answers[0][:200]
    assert 1.4 < time.perf_counter() - t0 < 4.0  # closed by the 1.5 s timeout, not by the client


def test_unparseable_http_gets_a_json_400(server):
    answer = _raw(server.port, b"POST /v1/models/tiny:predict HTTP/1.1\r\ncontent-length: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b'{"error":"Malformed request: Invalid HTTP request' in answer


def test_servingmodel_and_bad_paths(tiny_model, paths, tmp_path):
    m = deploy.ServingModel(paths["tiny"] / "1")
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(m(x), tiny_model.predict(x, verbose=0), atol=1e-6)
    assert m.input_shape == (None, 4) and m.input_name == "features" and list(m.signatures)[0] == "serving_default"
    with pytest.raises(ValueError, match="shape"):
        m(np.zeros((2, 5)))
    multi = deploy.ServingModel(paths["sensors"])
    assert set(multi.signatures) == {"serving_default", "total"} and "__saved_model_init_op" in multi.signature_defs
    with pytest.raises(ValueError, match="single-input"):
        multi(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="signature_name"):
        multi.predict({}, "nope")
    with pytest.raises(ValueError, match="path"):
        deploy.ServingModel(tmp_path)
    with pytest.raises(ValueError, match="path"):
        serve.load_versions(tmp_path)
    assert sorted(serve.load_versions(paths["tiny"])) == [1, 2]
    assert list(serve.load_versions(paths["half_plus_three"] / "00000123")) == [123]
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


def test_create_app_rejects_bad_arguments(paths):
    m = deploy.ServingModel(paths["tiny"] / "1")
    with pytest.raises(ValueError, match="models"):
        serve.create_app({})
    with pytest.raises(ValueError, match="max_body_bytes"):
        serve.create_app({"m": m}, max_body_bytes=0)
    with pytest.raises(ValueError, match="num_workers"):
        serve.create_app({"m": m}, num_workers=0)
    with pytest.raises(ValueError, match="labels"):
        serve.create_app({"m": m}, labels={"m": {"stable": 7}})


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_models_built_under_mixed_precision_serve_float32_json(policy, tmp_path):
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3)])  # no float32 head: the output is half precision
        path = deploy.export_savedmodel(model, tmp_path / "m")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    served = deploy.ServingModel(path)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    out = served.predict({served.input_name: x})
    assert all(a.dtype == np.float32 for a in out.values())
    app = serve.create_app({"m": served})
    r = asgi(app, "POST", "/v1/models/m:predict", json={"instances": x.tolist()})
    assert r.status_code == 200
    got = np.array(r.json()["predictions"])
    np.testing.assert_allclose(got, model.predict(x, verbose=0).astype("float32"), rtol=1e-2, atol=1e-2)
    (name, want), = out.items()
    np.testing.assert_array_equal(got.astype(np.float32), want)  # the float32 values, written exactly
    assert all("." in v or "e" in v for v in r.text.split("[", 1)[1].replace("]", "").replace("}", "").split(","))
    meta = asgi(app, "GET", "/v1/models/m/metadata").json()["metadata"]["signature_def"]["signature_def"]
    assert meta["serving_default"]["inputs"][served.input_name]["dtype"] == "DT_FLOAT"


def test_batching_in_process_gives_each_request_its_own_rows(paths, tiny_model):
    app = serve.create_app({"tiny": serve.load_versions(paths["tiny"])}, enable_batching=True,
                           max_batch_size=8, batch_timeout_micros=200_000)
    xs = np.random.default_rng(5).normal(size=(12, 1, 4)).astype("float32")

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await asyncio.gather(*(c.post("/v1/models/tiny:predict", json={"instances": x.tolist()})
                                          for x in xs))

    answers = asyncio.run(main())
    got = np.array([a.json()["predictions"][0] for a in answers])
    np.testing.assert_allclose(got, tiny_model.predict(xs[:, 0], verbose=0), atol=1e-6)
    assert max(app.state.batcher.batch_sizes) > 1  # requests really were grouped


def test_server_binds_to_localhost_by_default():
    assert serve.DEFAULT_HOST == "127.0.0.1"
    with pytest.raises(SystemExit):
        serve.main(["--help"])
    with pytest.raises(ValueError, match="models"):
        serve_client.launch({})
    assert serve_client.free_port() > 0
