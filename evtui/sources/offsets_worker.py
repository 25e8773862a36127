"""Consumer groups' committed offsets, read in a process of its own.

librdkafka 2.16 crashes the process of an AdminClient whose
``list_consumer_group_offsets`` is answered with a coordinator error (the
coordinator is loading, is shutting down, or moved): it asks the client's
consumer group to look the coordinator up again, and an AdminClient has none
(SIGSEGV in ``rd_kafka_cgrp_op`` from ``rd_kafka_handle_OffsetFetch``;
``scripts/repro-admin-abort.py --mode offsets`` crashes in the first restart).
Every broker restart and every coordinator move can answer so. The request is
therefore made by a worker process: when it crashes, the groups it was asked
about are "not read" for that poll and the next request starts a new worker.

The protocol is one JSON line each way on the worker's stdin and stdout. The
first line the worker reads is the client's properties (never on its command
line, where other users could read secrets). Then each request
``{"groups": [...], "timeout": seconds}`` is answered with
``{group: [[topic, partition, offset], ...] | "error text"}``; an offset below 0
is "no committed offset".
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
import time
from typing import Any, TextIO

from evtui.sources.cluster import HOLD_S  # librdkafka never times a request out itself

Committed = dict[tuple[str, int], int | None]


class WorkerCrashed(Exception):
    """The worker process ended without answering (librdkafka crashed it)."""


class OffsetReader:
    """Reads committed offsets through a worker process, started again after a crash."""

    def __init__(self, properties: dict[str, str], command: list[str] | None = None) -> None:
        self._properties = properties
        self._command = command or [sys.executable, "-m", "evtui.sources.offsets_worker"]
        self._proc: subprocess.Popen[str] | None = None
        self.crashes = 0  # workers that ended without answering

    def read(self, groups: list[str], timeout: float) -> dict[str, Committed | str]:
        """Each group's committed offsets, or the text of why they could not be read.

        Raises :class:`WorkerCrashed` when the worker died (it is started again on the
        next call) and TimeoutError when it did not answer in ``timeout`` (it is ended).
        """
        try:
            proc = self._worker()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"groups": groups, "timeout": timeout}) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        line = self._answer(proc.stdout, timeout + 2.0)
        if not line:
            raise self._crashed()
        return {group: _committed(found) for group, found in json.loads(line).items()}

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _worker(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._proc = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True,
        )  # fmt: skip
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(self._properties) + "\n")
        self._proc.stdin.flush()
        return self._proc

    def _answer(self, stdout: TextIO, timeout: float) -> str:
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:  # a worker that does not answer is ended; the next call starts one
            proc, self._proc = self._proc, None
            if proc is not None:
                proc.kill()
                proc.wait()
            raise TimeoutError("timed out")
        return stdout.readline()

    def _crashed(self) -> WorkerCrashed:
        proc, self._proc = self._proc, None
        code = proc.wait() if proc is not None else None
        self.crashes += 1
        how = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
        return WorkerCrashed(f"the offset reader crashed ({how}); it starts again")


def _committed(found: list[list[Any]] | str) -> Committed | str:
    if isinstance(found, str):
        return found
    return {(topic, part): (offset if offset >= 0 else None) for topic, part, offset in found}


# -- the worker process ---------------------------------------------------------------------


def _serve(stdin: TextIO, stdout: TextIO) -> None:
    import confluent_kafka as ck
    from confluent_kafka.admin import AdminClient

    properties = json.loads(stdin.readline())
    admin = AdminClient(properties)
    for line in stdin:
        request = json.loads(line)
        futures = {}
        for group in request["groups"]:
            asked = [ck.ConsumerGroupTopicPartitions(group)]
            futures.update(admin.list_consumer_group_offsets(asked, request_timeout=HOLD_S))
        answer = _answers(futures, time.monotonic() + float(request["timeout"]))
        if any(not future.done() for future in futures.values()):
            admin = AdminClient(properties)  # unanswered requests end with their client
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


def _answers(futures: dict[str, Any], deadline: float) -> dict[str, Any]:
    from concurrent.futures import wait

    wait(list(futures.values()), timeout=max(deadline - time.monotonic(), 0.0))
    answer: dict[str, Any] = {}
    for group, future in futures.items():
        if not future.done():
            answer[group] = "timed out"
        elif future.exception() is not None:
            error = future.exception().args[0]
            answer[group] = error.str() if hasattr(error, "str") else str(error)
        else:
            found = [tp for tp in future.result().topic_partitions or () if tp.error is None]
            answer[group] = [[tp.topic, tp.partition, tp.offset] for tp in found]
    return answer


if __name__ == "__main__":
    _serve(sys.stdin, sys.stdout)
