"""The Confluent wire format: magic byte, schema id or GUID, Protobuf message indexes."""

from __future__ import annotations

import uuid
from typing import NamedTuple

MAGIC_ID = 0  # 0, then a 4-byte big-endian schema id
MAGIC_GUID = 1  # 1, then a 16-byte schema GUID (newer clients)


class Frame(NamedTuple):
    """Where a payload says its schema is; ``body`` starts after the header."""

    schema_id: int | None
    guid: str | None
    body_at: int

    @property
    def key(self) -> int | str:
        return self.schema_id if self.schema_id is not None else f"guid:{self.guid}"

    def label(self) -> str:
        return f"schema id {self.schema_id}" if self.schema_id is not None else f"guid {self.guid}"


def frame(data: bytes) -> Frame | None:
    """The header of a wire-format payload, or None when ``data`` is not one."""
    if len(data) >= 5 and data[0] == MAGIC_ID:
        schema_id = int.from_bytes(data[1:5], "big")
        return None if schema_id == 0 else Frame(schema_id, None, 5)
    if len(data) >= 17 and data[0] == MAGIC_GUID:
        return Frame(None, str(uuid.UUID(bytes=bytes(data[1:17]))), 17)
    return None


def message_indexes(data: bytes, at: int) -> tuple[list[int], int]:
    """Protobuf's message indexes after the header: (indexes, where the message starts).

    A count, then that many indexes, all zigzag varints; a lone 0 means ``[0]``
    (the first message). Raises ValueError on a truncated or absurd array.
    """
    count, at = _zigzag(data, at)
    if count == 0:
        return [0], at
    if count < 0 or count > 100:
        raise ValueError(f"invalid message index count {count}")
    indexes = []
    for _ in range(count):
        index, at = _zigzag(data, at)
        if index < 0:
            raise ValueError(f"invalid message index {index}")
        indexes.append(index)
    return indexes, at


def _zigzag(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("message indexes cut short")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
        if shift > 63:
            raise ValueError("message index varint too long")
    return (value >> 1) ^ -(value & 1), at
