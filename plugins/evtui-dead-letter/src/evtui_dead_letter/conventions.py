"""How dead-letter records name the record they replace: the conventions recognised.

Pure functions of a record's topic name and headers; nothing here raises on
any header value (a value that does not parse makes the link unreadable).

- Spring Kafka ``DeadLetterPublishingRecoverer`` (``KafkaHeaders.DLT_*``):
  ``kafka_dlt-original-topic`` (UTF-8), ``kafka_dlt-original-partition``
  (4-byte big-endian int), ``kafka_dlt-original-offset`` and
  ``kafka_dlt-original-timestamp`` (8-byte big-endian longs),
  ``kafka_dlt-exception-fqcn``, ``kafka_dlt-exception-message`` (and the
  ``kafka_dlt-key-exception-*`` pair for a key that did not deserialize). With
  ``appendOriginalHeaders`` a record dead-lettered through retry topics carries
  one set per hop: the first names where it started, the last exception is the
  latest. Spring's retry topics (``orders-retry``, ``orders-retry-1000``) carry
  the same headers but are no dead letters: they are skipped.
- Kafka Connect (``errors.deadletterqueue.context.headers.enable=true``):
  ``__connect.errors.topic``, ``__connect.errors.partition`` and
  ``__connect.errors.offset`` (decimal text), ``__connect.errors.connector.name``,
  ``__connect.errors.exception.class.name``, ``__connect.errors.exception.message``.
- SmallRye Reactive Messaging / Quarkus (``failure-strategy=dead-letter-queue``):
  ``dead-letter-topic``, ``dead-letter-partition``, ``dead-letter-offset``
  (decimal text), ``dead-letter-exception-class-name``, ``dead-letter-reason``.
- Karafka Pro's enhanced DLQ: ``source_topic``, ``source_partition``,
  ``source_offset`` (decimal text), ``source_consumer_group``. These names are
  common words (lineage headers of ordinary stream processors use them too), so
  they are read only on a topic whose name marks a dead-letter topic.

A topic whose name marks it as a dead-letter topic (:func:`is_dead_letter_topic`)
with none of these headers still holds dead letters: their original is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_TEXT = 160  # an exception message is cut to this many characters (first line only)

_DLQ_NAME = re.compile(
    r"(?:^|[._-])(?:dlt|dlq|dead[._-]?letters?(?:[._-]?(?:queue|topic))?)$"
    r"|^dead[._-]?letter[._-]?(?:queue|topic)?[._-]",  # SmallRye's dead-letter-topic-<channel>
    re.IGNORECASE,
)
_RETRY_NAME = re.compile(r"[._-]retry(?:[._-]?\d+)?$", re.IGNORECASE)
_PREFIXES = ("kafka_dlt-", "__connect.errors.", "dead-letter-", "source_")


@lru_cache(maxsize=4096)
def is_dead_letter_topic(topic: str) -> bool:
    """``orders.DLT``, ``orders-dlt``, ``orders_dlq``, ``orders.dead-letter``,
    ``dead-letter-topic-orders`` ... (any case); not ``dlq-replayer-output``."""
    return _DLQ_NAME.search(topic) is not None


@lru_cache(maxsize=4096)
def is_retry_topic(topic: str) -> bool:
    """Spring's non-blocking retry topics: ``orders-retry``, ``orders-retry-0``, ``-retry-5000``."""
    return _RETRY_NAME.search(topic) is not None


@dataclass(frozen=True, slots=True)
class Link:
    """What a dead-letter record's headers say of the record it replaces."""

    source: str  # the convention: "Spring Kafka", "Kafka Connect", ...
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    exception: str | None = None  # the exception's class name
    message: str | None = None  # its message, first line, shortened
    via: str | None = None  # the connector or consumer group that failed
    timestamp: int | None = None  # the original record's time (ms), when given
    unreadable: str | None = None  # why the link could not be read

    @property
    def ref(self) -> str | None:
        """The original's ref in a finding's form, ``topic/partition/offset``."""
        if self.unreadable or self.topic is None or self.partition is None or self.offset is None:
            return None
        return f"{self.topic}/{self.partition}/{self.offset}"


class _Unreadable(Exception):
    pass


def _text(value: bytes | None, name: str, limit: int = 249) -> str:
    """A header holding a name (a topic: at most 249 characters)."""
    if value is None:
        raise _Unreadable(f"{name} is null")
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _Unreadable(f"{name} is not UTF-8") from None
    if not text or len(text) > limit or not text.isprintable():
        raise _Unreadable(f"{name} is not a name")
    return text


def _decimal(value: bytes | None, name: str, bits: int) -> int:
    """A number written as decimal text (Connect, SmallRye, Karafka)."""
    if value is None:
        raise _Unreadable(f"{name} is null")
    text = value.strip()
    if not text.isdigit() or len(text) > 19 or not text.isascii():
        raise _Unreadable(f"{name} is not a number >= 0")
    number = int(text)
    if number >= 2 ** (bits - 1):
        raise _Unreadable(f"{name} is out of range")
    return number


def _binary(value: bytes | None, name: str, size: int) -> int:
    """A Java int (4 bytes) or long (8 bytes), big-endian (Spring); decimal text is taken too
    when the length is not that of the binary form (producers imitating Spring)."""
    if value is not None and len(value) == size:
        number = int.from_bytes(value, "big", signed=True)
        if number < 0:
            raise _Unreadable(f"{name} is negative ({number})")
        return number
    try:
        return _decimal(value, name, size * 8)
    except _Unreadable:
        length = "null" if value is None else f"{len(value)} bytes"
        raise _Unreadable(f"{name} is {length}, not a {size}-byte number") from None


def short(value: bytes | None, limit: int = MAX_TEXT) -> str | None:
    """A header's text, first line, at most ``limit`` characters (never raises)."""
    if not value:
        return None
    text = value[: limit * 4].decode("utf-8", errors="replace").strip()
    line = text.splitlines()[0].strip() if text else ""
    line = "".join(c if c.isprintable() else "?" for c in line)
    if not line:
        return None
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _collect(headers: tuple) -> dict[str, list[bytes | None]]:
    """The headers of the known conventions, by lower-case name, in record order."""
    found: dict[str, list[bytes | None]] = {}
    for name, value in headers:
        if type(name) is not str:
            continue
        low = name.lower()
        if low.startswith(_PREFIXES):
            found.setdefault(low, []).append(value)
    return found


def read_link(topic: str, headers: tuple) -> Link | None:
    """The link a dead-letter record's headers give, or None when they give none."""
    if not headers:
        return None
    found = _collect(headers)
    if not found:
        return None

    def first(name: str) -> bytes | None:
        return found[name][0] if name in found else None

    def last(name: str) -> bytes | None:
        return found[name][-1] if name in found else None

    if "kafka_dlt-original-topic" in found and not is_retry_topic(topic):
        exception = last("kafka_dlt-exception-fqcn") or last("kafka_dlt-key-exception-fqcn")
        message = last("kafka_dlt-exception-message") or last("kafka_dlt-key-exception-message")
        return _link(
            "Spring Kafka",
            lambda: (
                _text(first("kafka_dlt-original-topic"), "kafka_dlt-original-topic"),
                _binary(first("kafka_dlt-original-partition"), "kafka_dlt-original-partition", 4),
                _binary(first("kafka_dlt-original-offset"), "kafka_dlt-original-offset", 8),
            ),
            exception,
            message,
            last("kafka_dlt-original-consumer-group"),
            first("kafka_dlt-original-timestamp"),
        )
    if "__connect.errors.topic" in found:
        return _link(
            "Kafka Connect",
            lambda: (
                _text(last("__connect.errors.topic"), "__connect.errors.topic"),
                _decimal(last("__connect.errors.partition"), "__connect.errors.partition", 32),
                _decimal(last("__connect.errors.offset"), "__connect.errors.offset", 64),
            ),
            last("__connect.errors.exception.class.name"),
            last("__connect.errors.exception.message"),
            last("__connect.errors.connector.name"),
        )
    if "dead-letter-topic" in found and "dead-letter-reason" in found:
        return _link(
            "SmallRye Reactive Messaging",
            lambda: (
                _text(last("dead-letter-topic"), "dead-letter-topic"),
                _decimal(last("dead-letter-partition"), "dead-letter-partition", 32),
                _decimal(last("dead-letter-offset"), "dead-letter-offset", 64),
            ),
            last("dead-letter-exception-class-name"),
            last("dead-letter-reason"),
        )
    if "source_topic" in found and "source_offset" in found and is_dead_letter_topic(topic):
        return _link(
            "Karafka",
            lambda: (
                _text(last("source_topic"), "source_topic"),
                _decimal(last("source_partition"), "source_partition", 32),
                _decimal(last("source_offset"), "source_offset", 64),
            ),
            None,
            None,
            last("source_consumer_group"),
        )
    return None


def _link(
    source: str,
    where: Callable[[], tuple[str, int, int]],  # raises _Unreadable
    exception: bytes | None,
    message: bytes | None,
    via: bytes | None = None,
    timestamp: bytes | None = None,
) -> Link:
    exc, msg, by = short(exception, 200), short(message), short(via, 120)
    ts = None
    if timestamp is not None and len(timestamp) == 8:
        ts = int.from_bytes(timestamp, "big", signed=True)
        ts = ts if ts >= 0 else None
    try:
        topic, partition, offset = where()
    except _Unreadable as why:
        return Link(source, exception=exc, message=msg, via=by, unreadable=str(why))
    return Link(source, topic, partition, offset, exc, msg, by, ts)
