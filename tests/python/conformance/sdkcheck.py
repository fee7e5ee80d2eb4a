"""Checks shared by the conformance tests: an SDK answer conforms to the SDK's own model
(every wire field known to the model, every value of the declared type), an SDK call fails with
the SDK's exception carrying the right code, HTTP status and request id, and a poll helper for
statuses that the emulator's clock moves on."""

import re
import time
import typing

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from Tea.exceptions import TeaException

REGION = "ap-southeast-1"


def _is_model(value):
    return hasattr(value, "to_map") and hasattr(value, "from_map")


def type_errors(value, hint, path):
    """Where `value` (an SDK model attribute) does not have the type the SDK declares."""
    if value is None or hint is typing.Any:
        return []
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        (item,) = typing.get_args(hint) or (typing.Any,)
        out = []
        for i, v in enumerate(value):
            out += type_errors(v, item, f"{path}[{i}]")
        return out
    if origin is dict or hint is dict:
        return [] if isinstance(value, dict) else [f"{path}: expected an object, got {value!r}"]
    if isinstance(hint, type) and _is_model(hint):
        if not isinstance(value, hint):
            return [f"{path}: expected {hint.__name__}, got {value!r}"]
        out = []
        for name, h in typing.get_type_hints(type(value).__init__).items():
            if name != "return":
                out += type_errors(getattr(value, name, None), h, f"{path}.{name}")
        return out
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is str:
        ok = isinstance(value, str)
    else:
        ok = True
    return [] if ok else [f"{path}: expected {getattr(hint, '__name__', hint)}, got {value!r}"]


def unknown_fields(wire, mapped, path):
    """Fields of the wire answer that the SDK model does not know (dropped when parsing)."""
    out = []
    if isinstance(wire, dict) and isinstance(mapped, dict):
        for k, v in wire.items():
            if v is None:
                continue
            if k not in mapped:
                out.append(f"{path}.{k}")
            else:
                out += unknown_fields(v, mapped[k], f"{path}.{k}")
    elif isinstance(wire, list) and isinstance(mapped, list):
        for i, (a, b) in enumerate(zip(wire, mapped)):
            out += unknown_fields(a, b, f"{path}[{i}]")
    return out


def assert_conforms(body, wire, allow_unknown=()):
    """The SDK's response model `body` parsed from `wire` keeps every field with the type
    the SDK declares for it; fields the SDK does not model are listed in `allow_unknown`
    (with a reason at the call site)."""
    errors = type_errors(body, type(body), "body")
    unknown = [f for f in unknown_fields(wire, body.to_map(), "body") if f not in allow_unknown]
    assert not errors, f"wrong types: {errors}"
    assert not unknown, f"fields the SDK does not model: {unknown}"


def sdk_ok(raw, fn, *args, allow_unknown=()):
    """Calls an SDK method that must succeed; checks HTTP 200, the request id, and that the
    answer conforms to the SDK's model. Returns the response body model."""
    raw.clear()
    resp = fn(*args)
    assert resp.status_code == 200
    assert raw, "the SDK parsed a JSON answer"
    wire = raw[-1]
    body = resp.body
    assert isinstance(wire.get("RequestId"), str) and wire["RequestId"], wire
    assert body.request_id == wire["RequestId"]
    assert resp.headers.get("x-acs-request-id") == wire["RequestId"]
    assert_conforms(body, wire, allow_unknown)
    return body


def sdk_error(code, status, fn, *args, exc=ClientException):
    """Calls an SDK method that must fail with the SDK's exception `exc` carrying `code`,
    HTTP `status` and a request id. Returns the exception."""
    with pytest.raises(exc) as info:
        fn(*args)
    e = info.value
    assert isinstance(e, TeaException)
    assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
    assert e.status_code == status, f"{code}: expected HTTP {status}, got {e.status_code}"
    assert e.request_id and e.request_id != "None", "the error carries its request id"
    assert e.data.get("RequestId") == e.request_id
    assert e.data.get("HostId"), e.data
    assert e.data.get("Message"), e.data
    assert_recommend(e, code)
    return e


def assert_recommend(e, code, product=None):
    """The error body's `Recommend` is the real gateway's diagnosis link for this code and
    request (`product`, when given, is the product code it names)."""
    link = e.data.get("Recommend")
    product_part = re.escape(f"&product={product}") if product else r"(&product=[A-Za-z]+)?"
    pattern = (
        r"https://api\.aliyun\.com/troubleshoot\?q="
        + re.escape(code)
        + product_part
        + "&requestId="
        + re.escape(e.request_id)
    )
    assert link and re.fullmatch(pattern, link), f"Recommend of {code}: {link!r}"


def wait_for(what, fn, timeout=30.0):
    """Polls `fn` until it returns a true value (the emulator's clock moves statuses on)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
