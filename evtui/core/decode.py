"""Payload decoders: Schema Registry wire format, JSON, UTF-8 text, raw bytes.

A decoder looks at a value (and the record's headers) and either claims it,
returning a :class:`Decoded`, or returns ``None`` to let the next decoder try.
Decoding never raises: a payload that fails to decode yields a ``Decoded``
whose ``error`` says why, with the best fallback representation.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Any, Protocol

import msgspec

from evtui.core.event import BINARY as BINARY
from evtui.core.event import JSON as JSON
from evtui.core.event import NULL as NULL
from evtui.core.event import SCHEMA_REGISTRY as SCHEMA_REGISTRY
from evtui.core.event import TEXT as TEXT
from evtui.core.event import Decoded as Decoded
from evtui.core.event import Headers as Headers
from evtui.core.event import SchemaInfo as SchemaInfo
from evtui.core.event import read_values_with


class Decoder(Protocol):
    """What a decoder plugin implements.

    Optional: ``prepare(values)``, called by the sources on each batch in their
    reader thread (fetch what decoding will need: it must not block the UI), and
    ``wire_format_only = True`` for a decoder that claims only Schema Registry
    wire-format values (the native hot path keeps reading every other value).
    """

    name: str

    def decode(self, data: bytes, headers: Headers) -> Decoded | None:
        """Return a Decoded for a payload this decoder understands, else None."""
        ...


# msgspec: ~4x faster than json.loads here, exact big integers.
_fast_json = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_raw_fields = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
RawValue = msgspec.Raw

MAX_DEPTH = 512
"""JSON nested deeper than this is a decode problem (shown as text), not a value.

msgspec and the stdlib decode nested values by recursion, and so do the views
that print them: a value a few hundred levels deeper than Python's recursion
limit raised ``RecursionError`` wherever it was first read (issue 14).
"""
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"
_TOO_DEEP_HERE = "JSON nested too deeply to decode here"
_QUOTES_AND_BRACKETS = bytes(b for b in range(256) if b not in b'"[]{}')
_PARENS = bytes.maketrans(b"[]{}", b"()()")
_STEP = [0] * 256
_STEP[ord("(")], _STEP[ord(")")] = 1, -1


def too_deep(data: bytes) -> bool:
    """True when JSON ``data`` nests arrays and objects more than :data:`MAX_DEPTH` deep.

    Costs nothing for values with at most ``MAX_DEPTH`` brackets (nearly all);
    others are reduced to their brackets outside strings, at C speed.
    """
    if len(data) <= MAX_DEPTH or data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    return _deeper(_brackets(data), MAX_DEPTH)


def _brackets(data: bytes) -> bytes:
    """The brackets of ``data`` outside JSON strings, as ``(`` and ``)``."""
    if b"\\" in data:  # escapes live in strings only: drop the escaped backslashes and quotes
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Two adjacent quotes hold nothing: dropping them keeps what is in and out of strings.
    kept = data.translate(None, _QUOTES_AND_BRACKETS).replace(b'""', b"")
    if b'"' in kept:  # strings with brackets: every other piece is outside
        kept = b"".join(kept.split(b'"')[::2])
    return kept.translate(_PARENS)


def _deeper(parens: bytes, limit: int) -> bool:
    """True when ``parens`` nest deeper than ``limit``.

    Each pass drops the innermost pairs, a level, while that shrinks the text
    fast (wide values); the rest is counted bracket by bracket, stopping early.
    """
    while parens:
        if limit <= 0:
            return True
        inner = parens.replace(b"()", b"")
        if len(inner) > len(parens) - len(parens) // 8:  # deep and narrow, or unbalanced
            return any(map(limit.__lt__, accumulate(map(_STEP.__getitem__, parens))))
        parens, limit = inner, limit - 1
    return False


def raw_value(value: object) -> Any:
    """A value from :meth:`DecoderChain.fields`, decoded (values already decoded pass through).

    Never raises: what msgspec refuses in a field it skipped (NaN, a lone
    surrogate escape) is read as the slow path reads it, else None.
    """
    if type(value) is not msgspec.Raw:
        return value
    try:
        return _fast_json(value)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return _slow_json(bytes(value).decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _slow_json(text: str) -> Any:
    """The stdlib's reading of what msgspec refuses: NaN and infinities, not lone surrogates.

    A string holding half a UTF-16 surrogate pair cannot be written out again
    as UTF-8 (``evtui tail`` failed on one): such a value is invalid JSON here.
    """
    value = json.loads(text)
    try:
        _encode(value)
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone UTF-16 surrogate") from None
    return value


_JSON_START = frozenset(b"{[")
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = b" \t\r\n"


def _content_type(headers: Headers) -> str:
    for name, value in headers:
        if value is not None and name.lower() in (
            "content-type",
            "contenttype",
            "ce_datacontenttype",
        ):
            return value.decode("latin-1").lower()
    return ""


def _text_fallback(data: bytes, decoder: str, error: str) -> Decoded:
    try:
        return Decoded(TEXT, data.decode("utf-8"), decoder, error=error)
    except UnicodeDecodeError:
        return Decoded(BINARY, data, decoder, error=error)


class SchemaRegistryDecoder:
    """Confluent Schema Registry wire format: magic byte 0 + 4-byte schema id."""

    name = "schema-registry"

    def decode(self, data: bytes, headers: Headers) -> Decoded | None:
        if len(data) < 5 or data[0] != 0:
            return None
        schema_id = int.from_bytes(data[1:5], "big")
        if schema_id == 0:  # registries number schemas from 1
            return None
        return Decoded(SCHEMA_REGISTRY, data[5:], self.name, schema_id=schema_id)


class JsonDecoder:
    """JSON objects and arrays, or anything a JSON content-type header claims."""

    name = "json"

    def claims(self, data: bytes, headers: Headers) -> bool:
        """True when this decoder takes ``data`` (non-empty): it looks like JSON, or says so."""
        first = data[0]
        if first in _JSON_START:
            return True
        stripped = data.lstrip(_WHITESPACE) if first in _WHITESPACE else b""
        return bool(stripped and stripped[0] in _JSON_START) or bool(
            headers and "json" in _content_type(headers)
        )

    def fields(self, data: bytes, headers: Headers) -> dict | str | None:
        """A claimed payload's top-level object with its values left undecoded (``Raw``).

        None when it is valid JSON but not an object; the fully decoded value
        when only the slow path reads it (NaN); the decode error (a ``str``)
        when the payload does not decode (see :meth:`decode`).
        """
        if too_deep(data):
            return TOO_DEEP
        try:
            if not data.isascii():  # msgspec does not check the strings of fields it skips
                data.decode("utf-8")
            return _raw_fields(data)
        except msgspec.ValidationError:
            return None  # an array or a scalar: no fields
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            decoded = self.decode(data, headers)
            if decoded.error is not None:  # claimed: never None
                return decoded.error
            value = decoded.value
            return value if decoded.format == JSON and isinstance(value, dict) else None

    def decode(self, data: bytes, headers: Headers) -> Decoded | None:
        if not self.claims(data, headers):
            return None
        if too_deep(data):
            return _text_fallback(data, self.name, TOO_DEEP)
        try:
            return Decoded(JSON, _fast_json(data), self.name)
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass  # the slow path: stdlib json for what msgspec refuses (NaN), and errors
        except RecursionError:  # within MAX_DEPTH, but the stack was deep already
            return _text_fallback(data, self.name, _TOO_DEEP_HERE)
        try:
            return Decoded(JSON, _slow_json(data.decode("utf-8")), self.name)
        except (UnicodeDecodeError, ValueError) as exc:
            return _text_fallback(data, self.name, f"invalid JSON: {_json_error(exc)}")
        except RecursionError:
            return _text_fallback(data, self.name, _TOO_DEEP_HERE)


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class TextDecoder:
    """UTF-8 text (rejects text with control characters other than whitespace)."""

    name = "text"

    def decode(self, data: bytes, headers: Headers) -> Decoded | None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _CONTROL_CHARS.search(text):
            return None
        return Decoded(TEXT, text, self.name)


class BinaryDecoder:
    """The last resort: raw bytes, shown as hex or base64 by the views."""

    name = "binary"

    def decode(self, data: bytes, headers: Headers) -> Decoded:
        return Decoded(BINARY, data, self.name)


_TOMBSTONE = Decoded(NULL, None, "null")
_EMPTY = Decoded(TEXT, "", "text")


class DecoderChain:
    """Tries decoders in order; the first that claims a payload wins."""

    def __init__(self, decoders: Sequence[Decoder]) -> None:
        self.decoders: tuple[Decoder, ...] = tuple(decoders)
        self._fallback = BinaryDecoder()
        self.preparers = tuple(
            d.prepare  # type: ignore[attr-defined]
            for d in self.decoders
            if callable(getattr(d, "prepare", None))
        )

    def prepare(self, values: list[bytes | None]) -> None:
        """Let decoders get ready for ``values`` (fetch schemas) in a reader's thread.

        Sources call it on each batch before handing it over, so that decoding
        later (in the UI's thread too) finds what it needs cached. Never raises.
        """
        for prepare in self.preparers:
            # a failure here: decoding reports the record's problem, with its reason
            with contextlib.suppress(Exception):
                prepare(values)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.decoders]

    def decode(self, data: bytes | None, headers: Headers = ()) -> Decoded:
        if data is None:
            return _TOMBSTONE
        if not data:
            return _EMPTY
        for decoder in self.decoders:
            try:
                result = decoder.decode(data, headers)
            except Exception as exc:  # a broken plugin must not break the pipeline
                return _text_fallback(
                    data, decoder.name, f"decoder {decoder.name} failed: {exc!r}"[:300]
                )
            if result is not None:
                return result
        return self._fallback.decode(data, headers)

    def fields(self, data: bytes | None, headers: Headers = ()) -> dict | None:
        """The top-level fields of ``data`` when the chain decodes it to a JSON object.

        Values may be left undecoded as ``msgspec.Raw`` (read them with
        :func:`raw_value`): for scans that want a few fields of every event,
        this costs a third of a full decode. None for anything else.
        """
        fields = self.peek(data, headers)
        return None if type(fields) is str else fields

    def peek(self, data: bytes | None, headers: Headers = ()) -> dict | str | None:
        """:meth:`fields`, or the decode error (a ``str``) when the payload fails to decode."""
        if not data:
            return None
        for decoder in self.decoders:
            if isinstance(decoder, JsonDecoder):
                if decoder.claims(data, headers):
                    return decoder.fields(data, headers)
                continue
            try:
                result = decoder.decode(data, headers)
            except Exception as exc:  # as in decode: the payload is text or binary then
                return f"decoder {decoder.name} failed: {exc!r}"[:300]
            if result is not None:
                if result.error is not None:
                    return result.error
                value = result.value
                return value if result.format == JSON and isinstance(value, dict) else None
        return None


def builtin_decoders() -> list[Decoder]:
    """The built-in decoders in their default order."""
    return [SchemaRegistryDecoder(), JsonDecoder(), TextDecoder(), BinaryDecoder()]


_active: DecoderChain | None = None


def prepare_events(events: Sequence[Any]) -> None:
    """:meth:`DecoderChain.prepare` of the events' values (nothing without preparers)."""
    chain = active_chain()
    if chain.preparers and events:
        chain.prepare([e.value for e in events])


_may_block = True


def may_block() -> bool:
    """False while the console runs: a decoder must not wait (fetch) on its thread then."""
    return _may_block


def set_may_block(allowed: bool) -> None:
    global _may_block
    _may_block = allowed


def active_chain() -> DecoderChain:
    """The chain events decode with: the registry's, or the built-ins until one is set."""
    global _active
    if _active is None:
        _active = DecoderChain(builtin_decoders())
    return _active


def set_active_chain(decoders: Iterable[Decoder]) -> DecoderChain:
    """Make ``decoders`` the chain used by :attr:`Event.decoded` from now on."""
    global _active
    _active = DecoderChain(list(decoders))
    return _active


read_values_with(active_chain)  # events decode with the chain in force
