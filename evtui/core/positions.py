"""Start and end positions in the style of kcat, plus ISO-8601 times and durations.

Accepted forms:

* ``beginning`` (also ``earliest``), ``end`` (also ``latest``)
* ``N``: an absolute offset; ``-N``: the last N records of each partition
* ``s@<epoch ms>`` / ``e@<epoch ms>`` / ``@<epoch ms>``: a time
* an ISO-8601 time such as ``2026-11-26T10:00:00Z`` (no zone = local time)
* a duration ago such as ``15m``, ``2h``, ``1d``, ``1h30m``, ``500ms``

Start offsets are inclusive. End bounds are exclusive stop offsets, except an
absolute offset, which is the last offset read (inclusive): ``--until 9``
reads offset 9 and stops.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from evtui.errors import UsageError


class Kind(Enum):
    BEGINNING = "beginning"
    END = "end"
    OFFSET = "offset"
    TAIL = "tail"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Position:
    kind: Kind
    value: int = 0  # an offset, a count (TAIL) or epoch milliseconds (TIME)


BEGINNING = Position(Kind.BEGINNING)
END = Position(Kind.END)

_HELP = (
    "expected beginning, end, an offset N, -N (last N), s@<epoch ms>, "
    "an ISO-8601 time or a duration such as 15m"
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_duration_ms(text: str) -> int | None:
    """``15m`` -> 900000; ``1h30m`` -> 5400000; None when it is not a duration."""
    text = text.strip().lower()
    if not text:
        return None
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        return None
    return int(total)


def parse_time_ms(text: str) -> int | None:
    """An ISO-8601 time to epoch ms (naive times are local), else None."""
    text = text.strip()
    if not text or not text[0].isdigit() or len(text) < 8:
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


def parse_position(text: str, *, option: str = "--from", now: int | None = None) -> Position:
    """Parse a position; raises :class:`UsageError` with a readable message."""
    raw = text
    text = text.strip().lower()
    if text in ("beginning", "earliest", "start", "first"):
        return BEGINNING
    if text in ("end", "latest", "now"):
        return END
    if re.fullmatch(r"\d+", text):
        return Position(Kind.OFFSET, int(text))
    if re.fullmatch(r"-\d+", text):
        count = int(text[1:])
        if count == 0:
            raise UsageError(f"invalid {option} '{raw}': -N needs N >= 1")
        return Position(Kind.TAIL, count)
    at = re.fullmatch(r"[se]?@(-?\d+)", text)
    if at:
        return Position(Kind.TIME, int(at.group(1)))
    duration = parse_duration_ms(text)
    if duration is not None:
        return Position(Kind.TIME, (now if now is not None else now_ms()) - duration)
    moment = parse_time_ms(raw)
    if moment is not None:
        return Position(Kind.TIME, moment)
    raise UsageError(f"invalid {option} '{raw}': {_HELP}")


def parse_end(text: str, *, option: str = "--until", now: int | None = None) -> Position:
    """Parse an end bound: like a position, but ``beginning`` and ``-N`` make no sense."""
    pos = parse_position(text, option=option, now=now)
    if pos.kind in (Kind.BEGINNING, Kind.TAIL):
        raise UsageError(
            f"invalid {option} '{text}': an end bound is end, an offset, e@<epoch ms>, "
            "an ISO-8601 time or a duration ago"
        )
    return pos


OffsetForTime = Callable[[int], int | None]
"""Returns the first offset whose timestamp is >= the time, or None if there is none."""


def start_offset(pos: Position, low: int, high: int, offset_for_time: OffsetForTime) -> int:
    """The first offset to read in a partition with watermarks ``low``..``high``."""
    if pos.kind is Kind.BEGINNING:
        return low
    if pos.kind is Kind.END:
        return high
    if pos.kind is Kind.OFFSET:
        return min(max(pos.value, low), high)
    if pos.kind is Kind.TAIL:
        return max(low, high - pos.value)
    found = offset_for_time(pos.value)
    return high if found is None or found < 0 else max(found, low)


def stop_offset(pos: Position, high: int, offset_for_time: OffsetForTime) -> int | None:
    """The exclusive stop offset of a partition, or None when only a time can tell.

    None is returned for a time beyond the partition's last record: the
    consumer then stops at the first record at or after that time.
    """
    if pos.kind is Kind.END:
        return high
    if pos.kind is Kind.OFFSET:
        return pos.value + 1
    if pos.kind is Kind.TIME:
        found = offset_for_time(pos.value)
        return None if found is None or found < 0 else found
    raise ValueError(f"not an end bound: {pos}")


def format_ms(ms: int) -> str:
    """Epoch ms as ISO-8601 UTC with milliseconds: ``2026-11-26T10:00:00.123Z``."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def describe(pos: Position) -> str:
    """A position as the user would type it: ``beginning``, ``-100``, an ISO time ..."""
    if pos.kind is Kind.OFFSET:
        return str(pos.value)
    if pos.kind is Kind.TAIL:
        return f"-{pos.value}"
    if pos.kind is Kind.TIME:
        return format_ms(pos.value)
    return pos.kind.value
