"""An id as a user gives it: whole, in any form of a trace id, or as the start of one.

The console and ``evtui trace`` search the same way:

* **Whole.** An event matches when its correlation or trace id is the wanted
  id or the wanted id's canonical trace form (:func:`search_keys`: ``0562809467078EAB``
  finds the trace ``00000000000000000562809467078eab``), or when its event id
  or one of its causation ids is the wanted id as given.
* **A prefix** (:class:`IdPrefix`, at least :data:`MIN_PREFIX` characters, a
  trailing ``…`` as a cut column shows it is dropped) stands for the one id
  that starts with it, only when no id is the wanted text whole. Ids match
  case-sensitively, except that a prefix of hex digits also matches ids of 32
  hex digits (trace ids) in either case, and a trace id whose upper half is
  zero by its last 16 digits (how a 64-bit id was sent, and how the tail shows
  it: :func:`~evtui.core.ids.shown_id`).
  Several ids starting with it make it ambiguous (:class:`Candidates` names
  at most :data:`MAX_CANDIDATES`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from evtui.core.ids import ZERO_HIGH, EventIds, canonical_trace_id, shown_id

MIN_PREFIX = 8  # characters a prefix needs before it stands for a whole id
MAX_CANDIDATES = 10  # ids an ambiguous prefix names
ELLIPSIS = "…"

_HEX = re.compile(r"[0-9a-fA-F]+")


def search_keys(wanted: str) -> frozenset[str]:
    """The forms a correlation or trace id equal to ``wanted`` may take."""
    trace = canonical_trace_id(wanted)
    return frozenset((wanted, trace)) if trace is not None else frozenset((wanted,))


def _one_id(value: str) -> str:
    """What ``value`` is the same id as: a lower-case 64-bit trace id's 32-digit form."""
    trace = canonical_trace_id(value)
    return trace if trace is not None and trace.endswith(value) else value


class IdPrefix:
    """The start of an id (see the module notes).

    ``starts`` is every text an id it matches starts with, for one C-level
    ``str.startswith`` per id that rejects nearly every id a scan sees; the
    exact rule (:meth:`matches`) runs only on what passes.
    """

    __slots__ = ("starts", "text", "traces")

    def __init__(self, text: str) -> None:
        self.text = text
        digits = text.lower() if len(text) <= 32 and _HEX.fullmatch(text) else None
        self.traces = () if digits is None else (digits, ZERO_HIGH + digits)
        self.starts = (text, *self.traces)

    @classmethod
    def of(cls, wanted: str) -> IdPrefix | None:
        """``wanted`` as a prefix, or None when it is too short to be one."""
        text = wanted.strip().removesuffix(ELLIPSIS).rstrip()
        return cls(text) if len(text) >= MIN_PREFIX else None

    def matches(self, value: str) -> bool:
        """True when ``value`` (an id of any kind) starts with this prefix.

        A hex prefix also matches a 32-digit id (a canonical trace id) in any
        case, and one whose upper half is zero by its last 16 digits.
        """
        return value.startswith(self.text) or (len(value) == 32 and value.startswith(self.traces))

    def hits(self, ids: EventIds) -> Iterator[str]:
        """The ids of one event that start with this prefix (a trace id may come twice)."""
        matches = self.matches
        for value in (ids.correlation_id, ids.trace_id, ids.event_id):
            if value is not None and matches(value):
                yield value
        for cause in ids.causation_ids:
            if matches(cause):
                yield cause


class Candidates:
    """The distinct ids a prefix matched: at most :data:`MAX_CANDIDATES` kept, more counted.

    A 64-bit trace id's two lower-case forms (16 digits, and 32 with the zero
    padding) are one id: the 16-digit form is kept, as searching it finds both.
    """

    __slots__ = ("_forms", "ids", "more")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self.ids: dict[str, None] = {}  # the ids to search, in the order found
        self._forms: dict[str, str] = {}  # one id's key -> its form in ``ids``
        self.more = False
        self.update(ids)

    def add(self, value: str) -> None:
        key = _one_id(value)
        form = self._forms.get(key)
        if form is None:
            if len(self.ids) < MAX_CANDIDATES:
                self.ids[value] = None
                self._forms[key] = value
            else:
                self.more = True
        elif form == key and value != key:  # the 16-digit form of a kept 32-digit trace id
            self.ids = {value if kept == form else kept: None for kept in self.ids}
            self._forms[key] = value

    def update(self, values: Iterable[str]) -> None:
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return len(self.ids)

    def only(self) -> str | None:
        """The one id matched, or None (none, or several)."""
        if len(self.ids) == 1 and not self.more:
            return next(iter(self.ids))
        return None

    def describe(self, prefix: str) -> str:
        """One line naming the ids ``prefix`` could stand for."""
        names = ", ".join(shown_id(value) for value in self.ids)
        more = ", …" if self.more else ""
        count = f"more than {len(self.ids)}" if self.more else f"{len(self.ids)}"
        return f"'{prefix}' is the start of {count} ids: {names}{more}; give more of the id"
