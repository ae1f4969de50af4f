"""course_lib.serve_tensors / serve_protocol / serve_batching: TF Serving's JSON conversion, in-process.

Expected messages are TF Serving's own (tensorflow_serving/util/json_tensor.cc)."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from course_lib.serve_batching import Batcher
from course_lib.serve_protocol import (
    Signature,
    check_shapes,
    encode_predict,
    error_body,
    metadata_body,
    parse_predict,
    status_body,
)
from course_lib.serve_tensors import (
    ServingError,
    TensorInfo,
    fast_tensor,
    invalid,
    is_b64,
    loads,
    to_tensor,
    value_to_string,
)

ONE = {"serving_default": Signature({"x": TensorInfo("float32", (-1, 2))})}
MULTI = {"serving_default": Signature({"tag": TensorInfo("string", (-1,)), "signal": TensorInfo("float32", (-1, 3))}),
         "ints": Signature({"n": TensorInfo("int32", (-1,))})}


def err(fn, *args, **kw):
    with pytest.raises(ServingError) as info:
        fn(*args, **kw)
    return info.value


@pytest.mark.parametrize("value, dtype, message", [
    ("1.0", "float32", 'JSON Value: "1.0" Type: String is not of expected type: float'),
    (True, "float32", "JSON Value: true Type: True is not of expected type: float"),
    (None, "float32", "JSON Value: null Type: Null is not of expected type: float"),
    (1.7, "int32", "JSON Value: 1.7 Type: Number is not of expected type: int32"),
    (2**31, "int32", "JSON Value: 2147483648 Type: Number is not of expected type: int32"),
    (300, "int8", "JSON Value: 300 Type: Number is not of expected type: int8"),
    (-1, "uint8", "JSON Value: -1 Type: Number is not of expected type: uint8"),
    (1, "bool", "JSON Value: 1 Type: Number is not of expected type: bool"),
    (16777217, "float32", "Cannot convert JSON value: 16777217 to float without loss of precision."),
    (1e39, "float32", "Cannot convert JSON value: 1e+39 to float without loss of precision."),
    (2**53 + 1, "float64", "Cannot convert JSON value: 9007199254740993 to double without loss of precision."),
    ({"a": 1}, "float32", 'JSON Value: {"a":1} Type: Object is not of expected type: float'),
    (3, "string", "JSON Value: 3 Type: Number is not of expected type: string"),
    ({"b64": "!!"}, "string", "Unable to base64 decode"),
    ({"b64": "aGk=", "x": 1}, "string", "not formatted correctly for base64 data"),
    ([[1, 2], [3]], "float32", "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
    ([[1, 2], 3], "float32", "JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"),
    ([1, [2]], "float32", "Encountered list at unexpected level: 1 expected < 1"),
])
def test_values_are_typed_as_tf_serving_types_them(value, dtype, message):
    for literals in (True, False):
        if not literals and (value is True or value is None or (isinstance(value, int) and dtype == "bool")):
            continue  # the fast path is only used for bodies without true/false/null
        e = err(to_tensor, value, dtype, literals=literals)
        assert e.status == 400 and message in e.message, e.message


def test_good_values_convert_exactly():
    assert to_tensor([[1, 2.5], [3, 4]], "float32").dtype == np.float32
    np.testing.assert_array_equal(to_tensor([[1, 2.5], [3, 4]], "float32", literals=False), [[1, 2.5], [3, 4]])
    assert to_tensor([1, -2], "int8").dtype == np.int8 and to_tensor(7, "int32").shape == ()
    assert list(to_tensor(["héllo", {"b64": "aGk="}], "string")) == ["héllo".encode(), b"hi"]
    assert np.isnan(to_tensor([float("nan")], "float32")[0]) and to_tensor([True], "bool")[0]
    assert to_tensor([16777215], "float32", literals=False)[0] == 16777215
    assert fast_tensor([[1, 2], [3, 4]], "int32").dtype == np.int32 and fast_tensor([1, 2.5], "int32") is None
    assert fast_tensor(["a"], "float32") is None and fast_tensor([2**40], "float32") is None
    assert is_b64({"b64": "aGk="}) and not is_b64({"b64": 1}) and not is_b64({"b64": "a", "c": 1})
    assert len(value_to_string(list(range(1000)))) < 200 and value_to_string("x") == '"x"'
    assert invalid("boom").status == 400


def test_loads_accepts_nan_tokens_and_names_parse_errors():
    assert loads(b'{"a": [NaN, Infinity, -Infinity]}')["a"][1] == float("inf")
    assert "The document is empty" in err(loads, b"  ").message
    assert "JSON Parse error" in err(loads, b'{"a": ').message
    assert "JSON Parse error" in err(loads, b"\xff\xfe{").message


def test_row_and_columnar_requests():
    assert parse_predict({"instances": [[1, 2], [3, 4]]}, ONE)[:2] == ("serving_default", "row")
    sig, fmt, t = parse_predict({"inputs": {"x": [[1, 2]]}}, ONE)
    assert fmt == "columnar" and t["x"].shape == (1, 2)
    rows = {"instances": [{"tag": "a", "signal": [1, 2, 3]}, {"tag": {"b64": "Yg=="}, "signal": [4, 5, 6]}]}
    _, _, t = parse_predict(rows, MULTI)
    assert list(t["tag"]) == [b"a", b"b"] and t["signal"].shape == (2, 3)
    _, _, t = parse_predict({"signature_name": "ints", "instances": [1, 2]}, MULTI)
    assert t["n"].dtype == np.int32


@pytest.mark.parametrize("payload, message", [
    ([1], "Is not object"),
    ({"signature_name": 3, "instances": [1]}, "'signature_name' key must be a string value."),
    ({"signature_name": "nope", "instances": [1]}, 'Serving signature name: "nope" not found in signature def'),
    ({"instances": [1], "inputs": [1]}, "expecting only one of 'inputs' or 'instances' keys to exist"),
    ({"instances": {"x": 1}}, "Excepting 'instances' to be an list/array"),
    ({"instances": []}, "No values in 'instances' array"),
    ({"rows": []}, "Missing 'inputs' or 'instances' key"),
    ({"instances": [[1, 2, 3]]}, None),
])
def test_malformed_requests_single_input(payload, message):
    if message is None:  # parses, but the shape check refuses it
        _, _, t = parse_predict(payload, ONE)
        assert "must have shape [-1,2]" in err(check_shapes, t, ONE["serving_default"].inputs).message
        return
    assert message in err(parse_predict, payload, ONE).message


@pytest.mark.parametrize("payload, message", [
    ({"instances": [[1, 2, 3]]}, "instances is a plain list, but expecting list of objects"),
    ({"inputs": [[1, 2, 3]]}, "inputs is a plain value/list, but expecting an object"),
    ({"inputs": {"signal": [[1, 2, 3]]}}, "Missing named input: tag in 'inputs' object."),
    ({"instances": [{"tag": "a", "signal": [1, 2, 3]}, [1]]}, "Expecting object but got list at item 1"),
    ({"instances": [{"tag": "a", "signal": [1, 2, 3], "oops": 1}]}, "does not have named input: oops"),
    ({"instances": [{"tag": "a"}]}, "keys must be equal to: signal,tag"),
    ({"instances": [{"tag": "a", "signal": [1, 2, 3]}, {"tag": "b", "signal": [1, 2]}]},
     "Failed to process element: 1 key: signal of 'instances' list. Error: Invalid argument: Expecting tensor size: 3"),
    ({"instances": [{"tag": "a", "signal": [1, "2", 3]}]}, 'JSON Value: "2" Type: String'),
])
def test_malformed_requests_named_inputs(payload, message):
    assert message in err(parse_predict, payload, MULTI).message


def test_answers_in_tf_serving_layout():
    one = {"y": np.array([[0.2, 3.0]], np.float32)}
    assert json.loads(encode_predict(one, "row")) == {"predictions": [[0.2, 3.0]]}
    assert encode_predict(one, "row") == b'{"predictions":[[0.2,3.0]]}'  # shortest float32 digits
    two = {"b": np.array([1, 2], np.int32), "a_bytes": np.array([b"\x00x", b"y"], dtype=object)}
    assert json.loads(encode_predict(two, "row")) == {"predictions": [{"a_bytes": {"b64": "AHg="}, "b": 1},
                                                                      {"a_bytes": {"b64": "eQ=="}, "b": 2}]}
    assert json.loads(encode_predict(two, "columnar")) == {"outputs": {"a_bytes": [{"b64": "AHg="}, {"b64": "eQ=="}],
                                                                       "b": [1, 2]}}
    odd = {"y": np.array([np.nan, np.inf, -np.inf, 0.5], np.float32)}
    assert encode_predict(odd, "columnar") == b'{"outputs":[NaN,Infinity,-Infinity,0.5]}'
    assert "has no shape information" in err(encode_predict, {"s": np.float32(1)}, "row").message
    assert "inconsistent batch size" in err(encode_predict, {"a": np.zeros(2), "b": np.zeros(3)}, "row").message
    assert json.loads(error_body("bad")) == {"error": "bad"}
    assert status_body([1])["model_version_status"][0] == {"version": "1", "state": "AVAILABLE",
                                                          "status": {"error_code": "OK", "error_message": ""}}
    meta = metadata_body("m", 3, {"serving_default": {"inputs": {}}})
    assert meta["model_spec"] == {"name": "m", "signature_name": "", "version": "3"}
    assert meta["metadata"]["signature_def"]["signature_def"]["serving_default"] == {"inputs": {}}


def test_batcher_groups_concurrent_requests_and_isolates_failures():
    calls = []

    def predict(tensors, signature):
        calls.append(len(tensors["x"]))
        if np.any(tensors["x"] < 0):
            raise ValueError("negative input")
        return {"y": tensors["x"] * 2}

    async def main():
        batcher = Batcher(ThreadPoolExecutor(2), max_batch_size=4, batch_timeout_micros=50_000)
        good = [batcher.predict(predict, "m", {"x": np.array([float(i)])}, "s") for i in range(6)]
        results = await asyncio.gather(*good)
        bad = await asyncio.gather(batcher.predict(predict, "m", {"x": np.array([1.0])}, "s"),
                                   batcher.predict(predict, "m", {"x": np.array([-1.0])}, "s"),
                                   return_exceptions=True)
        return batcher, results, bad

    batcher, results, bad = asyncio.run(main())
    assert [float(r["y"][0]) for r in results] == [0, 2, 4, 6, 8, 10]
    assert batcher.batch_sizes[:2] == [4, 2] and calls[:2] == [4, 2]
    assert float(bad[0]["y"][0]) == 2 and isinstance(bad[1], ValueError)
    assert Batcher.rows({"a": np.zeros((3, 2)), "b": np.zeros(3)}) == 3 and Batcher.rows({"a": np.zeros(())}) is None
    with pytest.raises(ValueError, match="max_batch_size"):
        Batcher(ThreadPoolExecutor(1), max_batch_size=0)
    with pytest.raises(ValueError, match="batch_timeout_micros"):
        Batcher(ThreadPoolExecutor(1), batch_timeout_micros=-1)
