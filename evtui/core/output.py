"""How events are written by the headless commands: one line of text or JSON each."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec

from evtui.core import decode as fmt
from evtui.core.event import Event, text_or_bytes
from evtui.core.positions import format_ms
from evtui.core.text import one_line, visible

_HEX_PREVIEW = 64
_encode = msgspec.json.Encoder().encode


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _bytes_field(data: bytes | None) -> tuple[str | None, str | None]:
    """(value, encoding): UTF-8 text as is, other bytes as base64, None as null."""
    value = text_or_bytes(data)
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, "utf8"
    return b64(value), "base64"


def _header_value(data: bytes | None) -> str | dict[str, str] | None:
    value = text_or_bytes(data)
    if isinstance(value, bytes):
        return {"base64": b64(value)}
    return value


def event_to_json(event: Event, *, raw: bool = False) -> dict[str, Any]:
    """A JSON-ready dict; ``raw`` gives key, value and headers as exact base64 bytes."""
    out: dict[str, Any] = {
        "topic": event.topic,
        "partition": event.partition,
        "offset": event.offset,
        "timestamp": event.timestamp,
        "timestamp_type": event.ts_type.label,
    }
    if raw:
        out["key"] = None if event.key is None else b64(event.key)
        out["headers"] = [[n, None if v is None else b64(v)] for n, v in event.headers]
        out["value"] = None if event.value is None else b64(event.value)
        out["value_format"] = "base64"
        return out
    out["key"], out["key_encoding"] = _bytes_field(event.key)
    out["headers"] = [[name, _header_value(value)] for name, value in event.headers]
    decoded = event.decoded
    value = decoded.value
    out["value"] = b64(value) if isinstance(value, bytes) else value
    out["value_format"] = decoded.format
    if isinstance(value, bytes):
        out["value_encoding"] = "base64"
    if decoded.schema_id is not None:
        out["schema_id"] = decoded.schema_id
    if decoded.schema is not None:
        out["schema"] = decoded.schema.to_json()
    out["decode_error"] = decoded.error
    return out


def dumps(obj: Any) -> str:
    """Compact JSON with UTF-8 kept as is (NaN and infinities become null)."""
    try:
        return _encode(obj).decode("utf-8")
    except (TypeError, msgspec.EncodeError):
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=repr)


def json_line(event: Event, *, raw: bool = False) -> str:
    return dumps(event_to_json(event, raw=raw))


def hex_preview(data: bytes, limit: int = _HEX_PREVIEW) -> str:
    shown = data[:limit].hex(" ")
    return shown + (" …" if len(data) > limit else "")


def value_summary(event: Event) -> str:
    """The value as one line: compact JSON, escaped text, or a hex preview."""
    decoded = event.decoded
    if decoded.format == fmt.NULL:
        return "<null>"
    if decoded.format == fmt.JSON:
        text = dumps(decoded.value)
    elif decoded.format == fmt.SCHEMA_REGISTRY:
        text = (
            f"<schema-registry id={decoded.schema_id} {len(decoded.value)} bytes> "
            + hex_preview(decoded.value)
        )
    elif isinstance(decoded.value, bytes):
        text = f"<{decoded.format} {len(decoded.value)} bytes> " + hex_preview(decoded.value)
    elif isinstance(decoded.value, str):
        text = one_line(decoded.value)
    else:
        text = one_line(json.dumps(decoded.value, ensure_ascii=False, default=repr))
    if decoded.error:
        text += f"  [decode error: {decoded.error}]"
    return visible(text)  # JSON leaves C1 controls and bidi marks as they are


def key_summary(key: bytes | None) -> str:
    value = text_or_bytes(key)
    if value is None:
        return "<null>"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return one_line(value)


def headers_summary(event: Event) -> str:
    parts = []
    for name, value in event.headers:
        shown = text_or_bytes(value)
        if shown is None:
            rendered = "<null>"
        elif isinstance(shown, bytes):
            rendered = "0x" + shown.hex()
        else:
            rendered = one_line(shown)
        parts.append(f"{one_line(name)}={rendered}")
    return "{" + ", ".join(parts) + "}"


def text_line(event: Event, *, headers: bool = False) -> str:
    """``topic[p]@offset  time  key=...  [headers]  value`` on one line."""
    line = f"{event.ref}  {format_ms(event.timestamp)}  key={key_summary(event.key)}  "
    if headers and event.headers:
        line += headers_summary(event) + "  "
    return line + value_summary(event)


def hex_dump(data: bytes, limit: int = 64 * 1024) -> str:
    """``xxd``-style lines: offset, 16 bytes in hex, printable ASCII."""
    lines = []
    for start in range(0, min(len(data), limit), 16):
        chunk = data[start : start + 16]
        hexed = " ".join(chunk[i : i + 8].hex(" ") for i in (0, 8)).strip()
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{start:08x}  {hexed:<48}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes")
    return "\n".join(lines)
