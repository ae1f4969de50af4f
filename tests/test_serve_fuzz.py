"""Fuzz `python -m course_lib.serve` over real HTTP: thousands of malformed and adversarial requests,
zero 5xx answers, every error in the protocol's `{"error": ...}` layout, and a live, correct server after.

A bounded, seeded random generator (no extra dependency): mutated valid bodies (bytes flipped,
inserted, deleted, truncated), random JSON documents placed where the protocol expects tensors,
wrong types for every key, deep nesting, huge and non-finite numbers, bad base64, odd URLs and methods.
"""

import json
import random

import httpx
import pytest
import serve_models

from course_lib import serve_client

N_REQUESTS = 3000
VALID = {
    "half_plus_three": [b'{"instances": [1.0, 2.0, 5.0]}', b'{"inputs": [1.0]}'],
    "sensors": [json.dumps({"instances": [{"tag": "foo", "signal": [1, 2, 3, 4, 5],
                                           "sensor": [[1, 2], [3, 4]]}]}).encode(),
                json.dumps({"inputs": {"tag": [{"b64": "aGk="}], "signal": [[1, 2, 3, 4, 5]],
                                       "sensor": [[[1, 2], [3, 4]]]}}).encode(),
                json.dumps({"signature_name": "total", "inputs": {"signal": [[1, 2, 3, 4, 5]]}}).encode()],
    "typed": [json.dumps({"inputs": {"f32": [0.5], "i32": [1], "i8": [2], "flag": [True], "f64": [0.25],
                                     "i64": [3]}}).encode()],
}


def random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(12 if depth < 6 else 8)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 1, 2**31, 2**63, 2**64 + 1, -(2**70), 10**400 if rng.random() < 0.1 else 7])
    if kind == 2:
        return rng.choice([0.5, -3.14, 1e39, 1e-320, 1.7976931348623157e308, float("nan"), float("inf")])
    if kind == 3:
        return rng.choice(["", "foo", "1.0", "true", "\u00e9\u4e2d\U0001f600", "\x00", "a" * 1000])
    if kind == 4:
        return {"b64": rng.choice(["aGk=", "!!!", "", "aGk", 5, None, "====", "YQ==YQ=="])}
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6:
        n = rng.randrange(1, 4)
        return [[rng.random() for _ in range(rng.choice([n, n + 1]))] for _ in range(rng.randrange(1, 4))]
    if kind == 7:
        return rng.choice([{}, [], [[]], [{}], {"": 1}])
    return {rng.choice(["tag", "signal", "sensor", "x", "instances", "inputs", "b64", "f32", "i32", "flag", "zz"]):
            random_json(rng, depth + 1) for _ in range(rng.randrange(1, 4))}


def random_body(rng: random.Random, model: str) -> bytes:
    kind = rng.randrange(6)
    base = bytearray(rng.choice(VALID[model]))
    if kind == 0:  # byte-level mutations of a valid body
        for _ in range(rng.randrange(1, 6)):
            i = rng.randrange(len(base))
            op = rng.randrange(3)
            if op == 0:
                base[i] = rng.randrange(256)
            elif op == 1:
                base.insert(i, rng.choice(b'[]{}",:0-.eE\\ntfNI'))
            else:
                del base[i]
        return bytes(base)
    if kind == 1:
        return bytes(base[: rng.randrange(len(base))])
    if kind == 2:  # a random document where the tensors go
        key = rng.choice(["instances", "inputs"])
        doc = {key: random_json(rng)}
        if rng.random() < 0.3:
            doc["signature_name"] = random_json(rng) if rng.random() < 0.5 else rng.choice(["total", "", "nope"])
        if rng.random() < 0.1:
            doc["instances" if key == "inputs" else "inputs"] = [1]
        return json.dumps(doc, allow_nan=True).encode()
    if kind == 3:  # deep nesting
        d = rng.choice([10, 40, 70, 500, 5000])
        return b'{"instances": ' + b"[" * d + b"1" + b"]" * d + b"}"
    if kind == 4:  # valid structure, one value replaced
        doc = json.loads(rng.choice(VALID[model]))
        key = "instances" if "instances" in doc else "inputs"
        if isinstance(doc[key], dict):
            doc[key][rng.choice(list(doc[key]))] = random_json(rng)
        elif isinstance(doc[key], list) and isinstance(doc[key][0], dict):
            doc[key][0][rng.choice(list(doc[key][0]))] = random_json(rng)
        else:
            doc[key][0] = random_json(rng)
        return json.dumps(doc, allow_nan=True).encode()
    return rng.choice([b"", b"null", b"[]", b"123", b'"x"', b"\xff\xfe\x00", b"{" * 100, b'{"instances": [1e999]}'])


def random_target(rng: random.Random) -> tuple[str, str]:
    model = rng.choice(list(VALID))
    r = rng.random()
    if r < 0.8:
        return "POST", f"/v1/models/{model}:predict"
    version = rng.choice(["/versions/1", "/versions/123", "/versions/99999999999999999999", "/labels/stable",
                          "/labels/x y", "/labels/%00", ""])
    tail = rng.choice([":predict", ":classify", ":regress", "/metadata", "", ":", "/", "//", ":predict/x"])
    name = rng.choice([model, "nope", "", "%2e%2e", "\u00e9", "a" * 300])
    return rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]), f"/v1/models/{name}{version}{tail}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    paths = {"half_plus_three": serve_models.half_plus_three(base / "half_plus_three"),
             "sensors": serve_models.sensors(base / "sensors"), "typed": serve_models.typed(base / "typed")}
    with serve_client.launch(paths, args=["--label", "half_plus_three:stable=123", "--max-body-bytes", "100000"]) as s:
        yield s


def test_fuzz_thousands_of_bodies_no_5xx_and_the_server_lives(server):
    rng = random.Random(13)
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=server.root, timeout=30) as client:
        for i in range(N_REQUESTS):
            method, path = random_target(rng)
            model = path.split("/")[3].split(":")[0]
            body = random_body(rng, model if model in VALID else "half_plus_three")
            r = client.request(method, path, content=body, headers={"content-type": "application/json"})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, f"request {i}: {method} {path} {body[:200]!r} -> {r.status_code} {r.text[:300]}"
            if r.status_code >= 400:
                error = r.json()
                assert set(error) == {"error"} and isinstance(error["error"], str) and error["error"], r.text
    assert sum(statuses.values()) == N_REQUESTS and statuses.get(200, 0) > 20 and statuses.get(400, 0) > 1000
    assert server.alive()
    r = httpx.post(server.url("half_plus_three") + ":predict", content=b'{"instances": [1.0, 2.0, 5.0]}')
    assert r.json() == {"predictions": [3.5, 4.0, 5.5]}
