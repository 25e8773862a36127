import json

from evtui.core.decode import (
    BINARY,
    JSON,
    NULL,
    SCHEMA_REGISTRY,
    TEXT,
    DecoderChain,
    builtin_decoders,
)
from evtui.core.event import Event

CHAIN = DecoderChain(builtin_decoders())


def test_json_object_and_array():
    d = CHAIN.decode(b' {"a": 1, "b": [1, 2]}')
    assert (d.format, d.value, d.error) == (JSON, {"a": 1, "b": [1, 2]}, None)
    assert CHAIN.decode(b"[1,2]").value == [1, 2]


def test_invalid_json_keeps_text_and_reports_where():
    d = CHAIN.decode(b'{"a": 1,')
    assert d.format == TEXT
    assert d.value == '{"a": 1,'
    assert d.error.startswith("invalid JSON: ")
    assert "line 1 column 9" in d.error


def test_json_claimed_by_content_type_header():
    d = CHAIN.decode(b'"just a string"', (("content-type", b"application/json"),))
    assert (d.format, d.value) == (JSON, "just a string")
    bad = CHAIN.decode(b"\xff\xfe", (("content-type", b"application/json"),))
    assert bad.format == BINARY and bad.error.startswith("invalid JSON")


def test_text_binary_empty_and_tombstone():
    assert CHAIN.decode("héllo wörld\nline 2".encode()).format == TEXT
    assert CHAIN.decode(b"\xff\x00\x10binary").format == BINARY
    assert CHAIN.decode(b"abc\x01def").format == BINARY  # control chars: not text
    assert CHAIN.decode(b"").value == ""
    tomb = CHAIN.decode(None)
    assert (tomb.format, tomb.value) == (NULL, None)


def test_schema_registry_wire_format():
    d = CHAIN.decode(b"\x00\x00\x00\x01\x2a" + b"\x02avro-bytes")
    assert (d.format, d.schema_id, d.value) == (SCHEMA_REGISTRY, 298, b"\x02avro-bytes")
    assert CHAIN.decode(b"\x00\x01").format == BINARY  # too short for the wire format
    assert CHAIN.decode(b"\x00\x00\x00\x00\x00abc").format == BINARY  # id 0 is never assigned


def test_deeply_nested_json_does_not_raise():
    d = CHAIN.decode(b"[" * 100_000 + b"]" * 100_000)
    assert d.error is not None


def test_broken_decoder_yields_decode_error():
    class Broken:
        name = "broken"

        def decode(self, data, headers):
            raise RuntimeError("boom")

    d = DecoderChain([Broken(), *builtin_decoders()]).decode(b"hello")
    assert d.format == TEXT and "broken failed" in d.error


def test_event_decodes_lazily_and_once():
    e = Event("t", 0, 1, 0, 1, None, json.dumps({"x": 1}).encode())
    assert e._decoded is None
    assert e.decoded is e.decoded
    assert e.decoded.value == {"x": 1}


def test_json_that_orjson_refuses_still_decodes():
    d = CHAIN.decode(b'{"big": 123456789012345678901234567890, "n": NaN}')
    assert d.format == JSON and d.value["big"] == 123456789012345678901234567890
    assert d.error is None


def test_invalid_utf8_inside_json_is_a_decode_error():
    d = CHAIN.decode(b'{"a": "\xff"}')
    assert d.format == BINARY and d.error.startswith("invalid JSON")
