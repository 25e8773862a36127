import pytest

from evtui.core.positions import (
    BEGINNING,
    END,
    Kind,
    Position,
    format_ms,
    parse_duration_ms,
    parse_end,
    parse_position,
    start_offset,
    stop_offset,
)
from evtui.errors import UsageError

NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beginning", BEGINNING),
        ("earliest", BEGINNING),
        ("end", END),
        ("latest", END),
        ("42", Position(Kind.OFFSET, 42)),
        ("-10", Position(Kind.TAIL, 10)),
        ("s@1700000000000", Position(Kind.TIME, 1_700_000_000_000)),
        ("e@1700000000001", Position(Kind.TIME, 1_700_000_000_001)),
        ("15m", Position(Kind.TIME, NOW - 900_000)),
        ("1h30m", Position(Kind.TIME, NOW - 5_400_000)),
        ("500ms", Position(Kind.TIME, NOW - 500)),
        ("2023-11-14T22:13:20Z", Position(Kind.TIME, 1_700_000_000_000)),
        ("2023-11-14T22:13:20.5+00:00", Position(Kind.TIME, 1_700_000_000_500)),
        ("2023-11-14 22:13:20Z", Position(Kind.TIME, 1_700_000_000_000)),
    ],
)
def test_parse_position(text, expected):
    assert parse_position(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "-0", "12x", "s@abc", "2023-13-45", "1h-5m", "--5"])
def test_invalid_positions_name_the_problem(text):
    with pytest.raises(UsageError) as err:
        parse_position(text, option="--from", now=NOW)
    message = str(err.value)
    assert message.startswith(f"invalid --from '{text}'")
    assert "\n" not in message


@pytest.mark.parametrize("text", ["beginning", "-5"])
def test_end_bound_rejects_start_only_forms(text):
    with pytest.raises(UsageError, match="end bound"):
        parse_end(text, now=NOW)


def test_durations():
    assert parse_duration_ms("15m") == 900_000
    assert parse_duration_ms("1d") == 86_400_000
    assert parse_duration_ms("1.5s") == 1500
    assert parse_duration_ms("m15") is None
    assert parse_duration_ms("15") is None


def _never(_t):
    raise AssertionError("no time lookup expected")


def test_start_offsets():
    assert start_offset(BEGINNING, 5, 100, _never) == 5
    assert start_offset(END, 5, 100, _never) == 100
    assert start_offset(Position(Kind.OFFSET, 50), 5, 100, _never) == 50
    assert start_offset(Position(Kind.OFFSET, 2), 5, 100, _never) == 5  # below retention: clamp
    assert start_offset(Position(Kind.OFFSET, 500), 5, 100, _never) == 100
    assert start_offset(Position(Kind.TAIL, 10), 5, 100, _never) == 90
    assert start_offset(Position(Kind.TAIL, 1000), 5, 100, _never) == 5
    assert start_offset(Position(Kind.TIME, 1), 5, 100, lambda t: 42) == 42
    assert start_offset(Position(Kind.TIME, 1), 5, 100, lambda t: None) == 100  # after last
    assert start_offset(Position(Kind.TIME, 1), 5, 100, lambda t: -1) == 100


def test_stop_offsets():
    assert stop_offset(END, 100, _never) == 100
    assert stop_offset(Position(Kind.OFFSET, 9), 100, _never) == 10  # inclusive last offset
    assert stop_offset(Position(Kind.TIME, 1), 100, lambda t: 30) == 30
    assert stop_offset(Position(Kind.TIME, 1), 100, lambda t: -1) is None  # only time can tell


def test_format_ms():
    assert format_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
