import base64
import json

from evtui.core.event import Event
from evtui.core.output import event_to_json, json_line, text_line


def ev(key=b"order-1", value=b'{"a": 1}', headers=(("h", b"v"), ("bin", b"\xff"), ("n", None))):
    return Event("orders", 0, 5, 1_700_000_000_123, 1, key, value, headers)


def test_json_decoded():
    out = event_to_json(ev())
    assert out == {
        "topic": "orders",
        "partition": 0,
        "offset": 5,
        "timestamp": 1_700_000_000_123,
        "timestamp_type": "CreateTime",
        "key": "order-1",
        "key_encoding": "utf8",
        "headers": [["h", "v"], ["bin", {"base64": "/w=="}], ["n", None]],
        "value": {"a": 1},
        "value_format": "json",
        "decode_error": None,
    }


def test_json_binary_and_tombstone():
    out = event_to_json(ev(key=b"\x00\xff", value=b"\x00\x00\x00\x00\x07payload"))
    assert out["key"] == base64.b64encode(b"\x00\xff").decode() and out["key_encoding"] == "base64"
    assert out["value_format"] == "schema-registry" and out["schema_id"] == 7
    assert base64.b64decode(out["value"]) == b"payload"
    tomb = event_to_json(ev(key=None, value=None))
    assert tomb["key"] is None and tomb["key_encoding"] is None
    assert tomb["value"] is None and tomb["value_format"] == "null"


def test_raw_is_exact_bytes():
    e = ev(value=b'{ "a" :  1 }\n')
    out = json.loads(json_line(e, raw=True))
    assert base64.b64decode(out["value"]) == e.value
    assert base64.b64decode(out["key"]) == e.key
    assert [[n, v and base64.b64decode(v)] for n, v in out["headers"]] == [
        ["h", b"v"],
        ["bin", b"\xff"],
        ["n", None],
    ]


def test_text_line_is_one_line():
    line = text_line(ev(value=b"multi\nline"), headers=True)
    assert "\n" not in line
    assert line.startswith(
        "orders[0]@5  2023-11-14T22:13:20.123Z  key=order-1  {h=v, bin=0xff, n=<null>}"
    )
    assert line.endswith("multi\\nline")
    assert "<null>" in text_line(ev(value=None))
    assert "<binary 3 bytes> ff 00 01" in text_line(ev(value=b"\xff\x00\x01"))
    assert "[decode error: invalid JSON" in text_line(ev(value=b"{oops"))


def test_json_line_handles_huge_ints_and_unicode():
    line = json_line(ev(value=b'{"big": 123456789012345678901234567890, "s": "\xc3\xa9"}'))
    out = json.loads(line)
    assert out["value"] == {"big": 123456789012345678901234567890, "s": "é"}
    assert "é" in line  # UTF-8 kept, not escaped


def test_hex_dump_lines_and_limit():
    from evtui.core.output import hex_dump

    dump = hex_dump(bytes(range(20)) + b"AB")
    lines = dump.splitlines()
    assert lines[0].startswith("00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f")
    assert lines[1].startswith("00000010  10 11 12 13 41 42")
    assert lines[1].endswith("....AB")
    assert hex_dump(b"x" * 100, limit=32).splitlines()[-1] == "… 68 more bytes"
