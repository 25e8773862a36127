"""The user's identity rules: where a system of their own carries an event's ids.

User rules (:func:`evtui.core.ids.set_rules`; the CLI installs the config file's ``[ids]``
section at start-up) name a field of :class:`EventIds` and where its value is:
a header (matched like the built-ins) or a dotted path into the decoded JSON
value (``meta.requestId``, ``items.0.id``; exact keys, list indexes may be
negative), optionally narrowed by a regex (its group ``id``, else group 1) and
to topics matching a regex. Rule values obey the
conventions' limits (:func:`~evtui.core.ids_conventions.clean`). An ``override``
rule wins over the built-ins whenever it finds a value; any other rule is used
only when the built-ins find nothing (for the correlation id: before the trace
id stands in for it). Per field the first rule, in order, that finds a value
wins; of repeated headers the last. Causation ids collect every value of every
rule of the winning kind: one per repeated header, one per element of a JSON
list, and text is cut at ``split`` when the rule has one. ``ignore`` switches
built-in names off (``correlationId`` for Axon). A rule's trace id of 16 or 32
hex digits is made canonical like the built-ins' ones; other text is kept as is.
``Event.ids`` is computed once per event, so rules apply only to events whose
ids were not read before.

The built-in names these add to or switch off are :mod:`evtui.core.ids_conventions`;
:mod:`evtui.core.ids` installs the rules (``set_rules``) and applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evtui.core.event import JSON, Event
from evtui.core.ids_conventions import (
    BUILTIN_NAMES,
    CACHE_LIMIT,
    clean,
    header_text,
    json_text,
    normalise,
)

RULE_FIELDS = (
    "event_id",
    "correlation_id",
    "causation_ids",
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "event_type",
    "source",
)
_INDEX = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class IdRule:
    """Where one field is found (see the module notes); invalid rules raise ValueError."""

    field: str
    header: str | None = None
    json: str | None = None
    regex: str | None = None
    topics: str | None = None
    override: bool = False
    split: str | None = None

    def __post_init__(self) -> None:
        _compile(self)


@dataclass(frozen=True, slots=True)
class IdRules:
    """The user's rules, in order, and the built-in names they switch off."""

    rules: tuple[IdRule, ...] = ()
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in self.ignore:
            if normalise(name) not in BUILTIN_NAMES:
                raise ValueError(f"ignore: '{name}' is not a built-in name")


NO_RULES = IdRules()

PathPart = tuple[str, int | None]  # a key, and the same as a list index when it is one


class CompiledRule:
    """An :class:`IdRule` ready to apply."""

    __slots__ = (
        "group",
        "header",
        "many",
        "override",
        "path",
        "pattern",
        "slot",
        "split",
        "topics",
    )

    def __init__(self, rule: IdRule) -> None:
        self.slot = RULE_FIELDS.index(rule.field)  # EventIds' fields come in this order
        self.many = rule.field == "causation_ids"
        self.override = rule.override
        self.split = rule.split
        self.header = None if rule.header is None else _header_name(rule.header)
        self.path = None if rule.json is None else _json_path(rule.json)
        self.pattern = None if rule.regex is None else _regex(rule.regex, "regex")
        self.topics = None if rule.topics is None else _regex(rule.topics, "topics")
        self.group: int | str = 0
        if self.pattern is not None:
            self.group = _group(self.pattern, rule.regex)


def _compile(rule: IdRule) -> CompiledRule:
    for key in ("header", "json", "regex", "topics", "split"):
        if not isinstance(getattr(rule, key), str | None):
            raise ValueError(f"{key} must be a string")
    if not isinstance(rule.override, bool):
        raise ValueError("override must be true or false")
    if rule.field not in RULE_FIELDS:
        raise ValueError(f"unknown field '{rule.field}' (fields: {', '.join(RULE_FIELDS)})")
    if rule.header is not None and rule.json is not None:
        raise ValueError("give header or json, not both")
    if rule.header is None and rule.json is None:
        raise ValueError("give header or json: where the value is")
    if rule.split is not None and (rule.field != "causation_ids" or not rule.split):
        raise ValueError('split needs field = "causation_ids" and a non-empty separator')
    return CompiledRule(rule)


def _header_name(name: str) -> str:
    if not name.strip():
        raise ValueError("header: empty name")
    return normalise(name.strip())


def _json_path(text: str) -> tuple[PathPart, ...]:
    parts = text.split(".")
    if not all(parts):
        raise ValueError(f"json: invalid path '{text}' (keys joined by '.', e.g. meta.requestId)")
    return tuple((part, int(part) if _INDEX.fullmatch(part) else None) for part in parts)


def _regex(text: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"{what}: invalid regex '{text}': {exc}") from None


def _group(pattern: re.Pattern[str], text: str | None) -> int | str:
    if "id" in pattern.groupindex:
        return "id"
    if pattern.groups == 0:
        raise ValueError(f"regex '{text}' has no group: mark the id as (?P<id>...) or (...)")
    return 1


TopicRules = tuple[
    tuple[CompiledRule, ...], tuple[CompiledRule, ...]
]  # override rules, fallback rules


_UNSEEN: Any = object()


class ActiveRules:
    """The compiled rules, split per topic into override and fallback rules (cached)."""

    __slots__ = ("by_topic", "rules")

    def __init__(self, rules: IdRules) -> None:
        self.rules = [CompiledRule(rule) for rule in rules.rules]
        self.by_topic: dict[str, TopicRules | None] = {}

    def for_topic(self, topic: str) -> TopicRules | None:
        """The rules for ``topic``, or None when none applies."""
        split = self.by_topic.get(topic, _UNSEEN)
        if split is _UNSEEN:
            rules = [r for r in self.rules if r.topics is None or r.topics.search(topic)]
            override = tuple(r for r in rules if r.override)
            fallback = tuple(r for r in rules if not r.override)
            split = (override, fallback) if rules else None
            if len(self.by_topic) < CACHE_LIMIT:
                self.by_topic[topic] = split
        return split


_header_keys: dict[str, str] = {}


def _header_key(name: str) -> str:
    key = _header_keys.get(name)
    if key is None:
        key = normalise(name) if isinstance(name, str) else ""
        if len(_header_keys) < CACHE_LIMIT:
            _header_keys[name] = key
    return key


def _walk(value: object, path: tuple[PathPart, ...]) -> object:
    for key, index in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif index is not None and isinstance(value, list) and -len(value) <= index < len(value):
            value = value[index]
        else:
            return None
    return value


def _raw_texts(rule: CompiledRule, event: Event) -> list[str | None]:
    """The rule's values in ``event`` as cleaned text, before split and regex."""
    if rule.header is not None:
        wanted, keys = rule.header, _header_keys
        return [
            header_text(raw)
            for name, raw in event.headers
            if (keys.get(name) or _header_key(name)) == wanted
        ]
    decoded = event.peek_decoded()  # not kept: scans look at every event once
    if decoded.format != JSON or rule.path is None:
        return []
    value = _walk(decoded.value, rule.path)
    if value is None:
        return []
    if rule.many and isinstance(value, list):
        return [json_text(item) for item in value]
    return [json_text(value)]


def _pick(rule: CompiledRule, text: str) -> str | None:
    if rule.pattern is None:
        return clean(text)
    match = rule.pattern.search(text)
    found = match.group(rule.group) if match is not None else None
    return clean(found) if found else None


def _texts(rule: CompiledRule, event: Event) -> list[str]:
    """Every value ``rule`` finds in ``event``, in order."""
    out: list[str] = []
    for text in _raw_texts(rule, event):
        if text is None:
            continue
        for piece in text.split(rule.split) if rule.split else (text,):
            value = _pick(rule, piece)
            if value is not None:
                out.append(value)
    return out


def apply_rules(
    rules: tuple[CompiledRule, ...], event: Event, values: list[Any], fill: bool
) -> None:
    """Put what ``rules`` find into ``values``; with ``fill`` only where nothing is yet."""
    taken: dict[int, Any] = {}
    for rule in rules:
        slot = rule.slot
        if (fill and values[slot]) or (not rule.many and slot in taken):
            continue
        texts = _texts(rule, event)
        if not texts:
            continue
        if rule.many:  # every cause, in rule order, each once
            taken[slot] = tuple(dict.fromkeys((*taken.get(slot, ()), *texts)))
        else:  # the last of repeated headers, as for the built-ins
            taken[slot] = texts[-1]
    for slot, value in taken.items():
        values[slot] = value
