"""Readers of registry payloads (Avro, Protobuf, JSON Schema) into JSON-like values."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import fastavro
import msgspec

from evtui.core.decode import TOO_DEEP, too_deep

from .proto import ProtoSchema
from .wire import message_indexes

AVRO, PROTOBUF, JSON = "AVRO", "PROTOBUF", "JSON"
DECODER_NAMES = {AVRO: "avro", PROTOBUF: "protobuf", JSON: "json-schema"}

# A reader: (payload, where the body starts) -> (value, protobuf message name or None)
Reader = Callable[[bytes, int], tuple[Any, str | None]]


def jsonable(value: Any) -> Any:
    """An Avro value as JSON-like data: what evtui's filters, ids and views read.

    ``bytes``/``fixed`` follow the Avro JSON encoding (one character per byte);
    logical types become their usual text: ISO-8601 times and dates, exact
    decimals, UUIDs.
    """
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def avro_reader(text: str, named: dict[str, Any]) -> Reader:
    """``named``: the referenced schemas' named types, parsed first (fastavro fills it)."""
    raw = json.loads(text)
    schema = fastavro.parse_schema(raw, named_schemas=named)
    # values of schemas without bytes, fixed or logical types are JSON-like already
    convert = _needs_conversion(raw) or any(_needs_conversion(n) for n in named.values())

    def read(data: bytes, at: int) -> tuple[Any, str | None]:
        body = io.BytesIO(data)
        body.seek(at)
        value = fastavro.schemaless_reader(body, schema, None)
        if body.tell() != len(data):
            raise ValueError(f"{len(data) - body.tell()} bytes left after the Avro value")
        return (jsonable(value) if convert else value), None

    return read


def _needs_conversion(schema: Any) -> bool:
    """True when an Avro schema (parsed JSON) has bytes, fixed or a logical type anywhere."""
    if isinstance(schema, str):
        return schema in ("bytes", "fixed")
    if isinstance(schema, list):
        return any(_needs_conversion(s) for s in schema)
    if isinstance(schema, dict):
        if "logicalType" in schema or schema.get("type") in ("bytes", "fixed"):
            return True
        return any(_needs_conversion(v) for k, v in schema.items() if k != "default")
    return False


def protobuf_reader(schema: ProtoSchema) -> Reader:
    def read(data: bytes, at: int) -> tuple[Any, str | None]:
        indexes, at = message_indexes(data, at)
        name, value = schema.read(indexes, bytes(data[at:]))
        return value, name

    return read


_json = msgspec.json.Decoder().decode


def json_reader() -> Reader:
    def read(data: bytes, at: int) -> tuple[Any, str | None]:
        body = bytes(data[at:])
        if too_deep(body):
            raise ValueError(TOO_DEEP)
        try:
            return _json(body), None
        except msgspec.DecodeError:
            return json.loads(body.decode("utf-8")), None  # NaN and friends, or the error

    return read


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
