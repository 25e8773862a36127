#!/usr/bin/env python3
"""Dependency-free readiness probe for a local Kafka broker (used by scripts/kafka-local).

It speaks the Kafka wire protocol over a plain socket: one ApiVersions v0
request (which every broker answers, whatever its version) to learn which
Metadata versions the broker accepts, then one Metadata request for all
topics.  The broker counts as ready once that answers with at least one
broker.

    kafka_probe.py check HOST:PORT            # one attempt; exit 0 ready, 1 not
    kafka_probe.py wait HOST:PORT --pid PID --timeout SECONDS [--warm-up]
        # poll until ready (exit 0), the timeout passes (exit 1), or process
        # PID is gone or is no longer a Kafka broker (exit 2); --warm-up then
        # also waits (best effort) for the group coordinator

Standard library only, so it works before any project dependency is installed.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time

API_METADATA = 3
API_FIND_COORDINATOR = 10
API_VERSIONS = 18
CLIENT_ID = b"evtui-kafka-probe"
# Metadata v1..v8 use the classic (non-flexible) encoding handled below.
METADATA_MAX_CLASSIC = 8
METADATA_MIN_SUPPORTED = 1


class ProbeError(Exception):
    pass


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProbeError("truncated response")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def string(self) -> str | None:
        n = self.int16()
        if n < 0:
            return None
        return self.take(n).decode("utf-8", "replace")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ProbeError("connection closed by broker")
        buf += chunk
    return bytes(buf)


def _request(
    sock: socket.socket, api_key: int, api_version: int, correlation_id: int, body: bytes
) -> Reader:
    # Request header v1: api_key, api_version, correlation_id, client_id (nullable string).
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    if size < 4 or size > 64 * 1024 * 1024:
        raise ProbeError(f"implausible response size {size}")
    reader = Reader(_recv_exact(sock, size))
    # Response header v0: correlation_id (classic, non-flexible responses only).
    got = reader.int32()
    if got != correlation_id:
        raise ProbeError(f"correlation id mismatch: sent {correlation_id}, got {got}")
    return reader


def _metadata_body(version: int) -> bytes:
    body = struct.pack(">i", -1)  # topics: null array = all topics (v1+)
    if version >= 4:
        body += b"\x00"  # allow_auto_topic_creation = false
    if version >= 8:
        body += b"\x00\x00"  # include_cluster/topic_authorized_operations = false
    return body


def probe(host: str, port: int, timeout: float = 5.0) -> dict:
    """One ApiVersions + Metadata round trip; returns a summary or raises."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        r = _request(sock, API_VERSIONS, 0, 1, b"")
        error = r.int16()
        if error != 0:
            raise ProbeError(f"ApiVersions error code {error}")
        ranges = {}
        for _ in range(r.int32()):
            key, lo, hi = r.int16(), r.int16(), r.int16()
            ranges[key] = (lo, hi)
        if API_METADATA not in ranges:
            raise ProbeError("broker does not advertise the Metadata API")
        lo, hi = ranges[API_METADATA]
        version = min(hi, METADATA_MAX_CLASSIC)
        if version < max(lo, METADATA_MIN_SUPPORTED):
            raise ProbeError(f"no usable Metadata version (broker supports v{lo}-v{hi})")

        r = _request(sock, API_METADATA, version, 2, _metadata_body(version))
        if version >= 3:
            r.int32()  # throttle_time_ms
        brokers = []
        for _ in range(r.int32()):
            node_id, bhost, bport = r.int32(), r.string(), r.int32()
            r.string()  # rack (v1+)
            brokers.append((node_id, bhost, bport))
        cluster_id = r.string() if version >= 2 else None
        controller_id = r.int32()
        if not brokers:
            raise ProbeError("metadata lists no brokers yet")
        return {
            "metadata_version": version,
            "brokers": brokers,
            "cluster_id": cluster_id,
            "controller_id": controller_id,
        }


def warm_up_group_coordinator(host: str, port: int, timeout: float = 15.0) -> str:
    """Ask for a group coordinator until one is available.

    The first FindCoordinator call makes the broker create __consumer_offsets;
    clients that hit that first wait seconds in retry back-off, so start-up
    takes the hit once instead of the first consumer-group test.
    """
    deadline = time.monotonic() + timeout
    last = "no attempt yet"
    correlation_id = 100
    with socket.create_connection((host, port), timeout=5.0) as sock:
        sock.settimeout(5.0)
        r = _request(sock, API_VERSIONS, 0, correlation_id, b"")
        r.int16()
        ranges = {}
        for _ in range(r.int32()):
            key, lo, hi = r.int16(), r.int16(), r.int16()
            ranges[key] = (lo, hi)
        lo, hi = ranges.get(API_FIND_COORDINATOR, (1, 0))
        version = next((v for v in (1, 0) if lo <= v <= hi), None)
        if version is None:
            return f"skipped (broker has FindCoordinator v{lo}-v{hi})"
        key = b"evtui-kafka-local-warm-up"
        body = struct.pack(">h", len(key)) + key + (b"\x00" if version >= 1 else b"")
        while True:
            correlation_id += 1
            r = _request(sock, API_FIND_COORDINATOR, version, correlation_id, body)
            if version >= 1:
                r.int32()  # throttle_time_ms
            error = r.int16()
            if error == 0:
                return "group coordinator ready"
            last = f"error code {error}"
            if time.monotonic() >= deadline:
                return f"group coordinator not ready after {timeout:g}s ({last})"
            time.sleep(0.1)


def _is_broker(pid: int) -> bool:
    """True while pid is a live (non-zombie) Kafka broker JVM."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return False
    # A zombie has an empty cmdline.
    return b"kafka.Kafka" in cmdline.split(b"\0")


def _summary(info: dict) -> str:
    return (
        f"ready: {len(info['brokers'])} broker(s), cluster {info['cluster_id']},"
        f" metadata v{info['metadata_version']}"
    )


def _split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {addr!r}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_check = sub.add_parser("check", help="one readiness attempt")
    p_check.add_argument("addr", type=_split_addr)
    p_check.add_argument("--timeout", type=float, default=5.0)
    p_wait = sub.add_parser("wait", help="poll until ready")
    p_wait.add_argument("addr", type=_split_addr)
    p_wait.add_argument("--pid", type=int, default=None)
    p_wait.add_argument("--timeout", type=float, default=90.0)
    p_wait.add_argument("--interval", type=float, default=0.25)
    p_wait.add_argument(
        "--warm-up",
        action="store_true",
        help="once ready, also wait for the group coordinator (creates __consumer_offsets)",
    )
    args = parser.parse_args(argv)
    host, port = args.addr

    if args.cmd == "check":
        try:
            info = probe(host, port, args.timeout)
        except (OSError, ProbeError) as exc:
            print(f"not ready: {exc}", file=sys.stderr)
            return 1
        print(_summary(info))
        return 0

    deadline = time.monotonic() + args.timeout
    last_error = "no attempt yet"
    while True:
        if args.pid is not None and not _is_broker(args.pid):
            print(
                f"broker process {args.pid} exited while waiting (last probe: {last_error})",
                file=sys.stderr,
            )
            return 2
        try:
            info = probe(host, port, timeout=min(5.0, max(0.5, deadline - time.monotonic())))
        except (OSError, ProbeError) as exc:
            last_error = str(exc) or type(exc).__name__
        else:
            print(_summary(info))
            if args.warm_up:
                try:
                    note = warm_up_group_coordinator(host, port)
                except (OSError, ProbeError) as exc:
                    note = f"warm-up failed: {exc}"
                print(f"warm-up: {note}")
            return 0
        if time.monotonic() >= deadline:
            print(
                f"timed out after {args.timeout:g}s waiting for {host}:{port}"
                f" (last probe: {last_error})",
                file=sys.stderr,
            )
            return 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
