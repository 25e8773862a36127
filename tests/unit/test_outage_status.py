"""Repeated poll problems are one standing status, not news every poll; stale values say so."""

from __future__ import annotations

from evtui.core.cluster import GroupInfo, age_text, members_text, stale_mark, state_text
from evtui.sources.cluster import _ProblemLog, problem_kind


def test_a_problem_that_lasts_is_news_once_and_stands_until_a_clean_poll() -> None:
    log = _ProblemLog()
    log.report(["describing 10 consumer groups: timed out"])
    assert log.drain() == ["describing 10 consumer groups: timed out"]
    for _ in range(5):  # every poll fails the same way (the count may move)
        log.report(["describing 9 consumer groups: timed out"])
    assert log.drain() == []
    assert log.current() == ["describing 9 consumer groups: timed out"]
    log.report([])  # a clean poll ends it
    assert log.current() == []
    log.report(["describing 10 consumer groups: timed out"])  # a new episode is news again
    assert log.drain() == ["describing 10 consumer groups: timed out"]


def test_a_new_problem_next_to_a_standing_one_is_news() -> None:
    log = _ProblemLog()
    log.report(["consumer groups: timed out"])
    log.drain()
    log.report(["consumer groups: timed out", "offsets: 2 of 8 lookups failed: timed out"])
    assert log.drain() == ["offsets: 2 of 8 lookups failed: timed out"]
    assert problem_kind("offsets: 2 of 8 lookups failed") == problem_kind(
        "offsets: 3 of 9 lookups failed"
    )


def test_stale_values_carry_their_age() -> None:
    now = 1_000_000
    assert stale_mark(None, now) == ""
    assert stale_mark(now - 42_000, now) == "stale 42s"
    assert age_text(now - 600_000, now) == "10m" and age_text(now - 3 * 3_600_000, now) == "3h"
    group = GroupInfo("billing", "Stable", 2, as_of_ms=now - 42_000)
    assert state_text(group.state, group.as_of_ms, now) == "Stable (stale 42s)"
    assert state_text("Stable", None, now) == "Stable"
    assert members_text(None) == "?" and members_text(0) == "0"
