"""The committed-offset reader's worker process: a crash or a hang costs one request."""

from __future__ import annotations

import sys

import pytest

from evtui.sources.offsets_worker import OffsetReader, WorkerCrashed, _committed

CRASHES = "import os, signal, sys; sys.stdin.readline(); sys.stdin.readline(); " + (
    "os.kill(os.getpid(), signal.SIGSEGV)"
)
HANGS = "import sys, time; sys.stdin.readline(); sys.stdin.readline(); time.sleep(600)"
ANSWERS = (
    "import json, sys; sys.stdin.readline()\n"
    "for line in sys.stdin:\n"
    "    groups = json.loads(line)['groups']\n"
    "    print(json.dumps({g: [['t', 0, 5], ['t', 1, -1001]] for g in groups}), flush=True)\n"
)


def reader(code: str) -> OffsetReader:
    return OffsetReader({"bootstrap.servers": "x"}, command=[sys.executable, "-c", code])


def test_answers_are_offsets_and_a_negative_offset_is_none() -> None:
    offsets = reader(ANSWERS)
    try:
        assert offsets.read(["g1", "g2"], 10) == {
            "g1": {("t", 0): 5, ("t", 1): None},
            "g2": {("t", 0): 5, ("t", 1): None},
        }
    finally:
        offsets.close()


def test_a_worker_that_crashes_is_reported_and_started_again() -> None:
    offsets = reader(CRASHES)
    try:
        with pytest.raises(WorkerCrashed, match=r"crashed \(signal 11\); it starts again"):
            offsets.read(["g"], 10)
        with pytest.raises(WorkerCrashed):
            offsets.read(["g"], 10)  # a new worker (which crashes again)
        assert offsets.crashes == 2
    finally:
        offsets.close()


def test_a_worker_that_does_not_answer_is_ended() -> None:
    offsets = reader(HANGS)
    with pytest.raises(TimeoutError):
        offsets.read(["g"], 0.1)
    assert offsets._proc is None  # ended; the next read starts one


def test_an_error_text_stays_text() -> None:
    assert _committed("Broker: Coordinator load in progress") == (
        "Broker: Coordinator load in progress"
    )
