"""bench/record: `evtui record` of a real topic next to kcat, and reading the file back.

Produces N realistic events (bench/ingest's generator: JSON bodies of a few
hundred bytes with traceparent, correlation-id and causation-id headers) to a
fresh topic, then:

  (a) kcat -C -e -q reads the topic, printing nothing (the reference);
  (b) kcat -C -e with a format of partition, offset, timestamp, key, value and
      headers, written to a file (what a kcat "recording" would be);
  (c) `evtui record TOPIC -o FILE.jsonl` and (d) `-o FILE.jsonl.gz`;
  (e) reading each file back and checking it (`RecordingReader`, in-process), and
      reading it merged in record-time order across partitions as `evtui open` does
      (`MergedReader`);
  (f) `evtui replay --from-file FILE.jsonl.gz --to NEW --execute --create-topic`.

Prints the best wall time of three runs of whole processes (start-up included;
the replay runs once), records/s, the files' sizes and the ratios to (a).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from broker import HARNESS, start_broker
from ingest import produce

KCAT_FORMAT = "%p %o %T %k %s %h\n"


def timed(argv: list[str], stdout: object = subprocess.DEVNULL, runs: int = 3) -> float:
    """The best wall time of ``runs`` runs (the first also warms the broker's page cache)."""
    best = float("inf")
    for _ in range(runs):
        if hasattr(stdout, "seek"):
            stdout.seek(0)  # type: ignore[attr-defined]
            stdout.truncate()  # type: ignore[attr-defined]
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, check=False)
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"bench/record: {argv[:3]} failed: {done.stderr.decode()[-500:]}")
    return best


def read_back(path: Path) -> float:
    from evtui.core.recording import RecordingReader

    started = time.perf_counter()
    with RecordingReader(path) as reader:
        for _ in reader.batches():
            pass
    return time.perf_counter() - started


def read_merged(path: Path) -> float:
    """What ``evtui open`` reads: every partition, merged in record-time order."""
    from evtui.core.recording import inspect_recording
    from evtui.core.recording_merge import MergedReader

    started = time.perf_counter()
    recording = inspect_recording(path)
    partitions = [(t, p) for t in recording.topics for p in recording.partitions(t)]
    with MergedReader(path, recording.trailer.counts()) as reader:
        for _ in reader.events(partitions):
            pass
    return time.perf_counter() - started


def measure(bootstrap: str, topic: str, count: int, kcat: str, work: Path) -> list[tuple]:
    rows: list[tuple] = []
    quiet = timed([kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"])
    rows.append(("kcat -C -e -q (no output)", quiet, None))
    kcat_file = work / "kcat.txt"
    with kcat_file.open("wb") as out:
        formatted = timed([kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
                           "-q", "-f", KCAT_FORMAT], stdout=out)  # fmt: skip
    rows.append(("kcat -C -e -f '...' > file", formatted, kcat_file.stat().st_size))
    evtui = [sys.executable, "-m", "evtui", "record", topic, "-b", bootstrap, "-o"]
    for name in ("slice.jsonl", "slice.jsonl.gz"):
        path = work / name
        seconds = timed([*evtui, str(path), "--force"])
        rows.append((f"evtui record -o {name}", seconds, path.stat().st_size))
    for name in ("slice.jsonl", "slice.jsonl.gz"):
        rows.append((f"read back {name} (in-process)", read_back(work / name), None))
    for name in ("slice.jsonl", "slice.jsonl.gz"):
        rows.append((f"read back {name} merged in time", read_merged(work / name), None))
    target = f"{topic}-replayed"
    replay = [sys.executable, "-m", "evtui", "replay", "--from-file", str(work / "slice.jsonl.gz"),
              "--to", target, "-b", bootstrap, "--execute", "--create-topic"]  # fmt: skip
    env_dir = work / "state"
    os.environ["EVTUI_STATE_DIR"] = str(env_dir)
    rows.append(("evtui replay --from-file .gz --execute", timed(replay, runs=1), None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/record", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=100_000)
    parser.add_argument("-p", "--partitions", type=int, default=3)
    parser.add_argument("-b", "--bootstrap-servers", default=os.environ.get("EVTUI_TEST_BOOTSTRAP"))
    args = parser.parse_args()
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("bench/record: kcat is required as the reference")
    bootstrap, started_here = args.bootstrap_servers, False
    if not bootstrap:
        bootstrap, started_here = start_broker()
    topic = f"evtui-bench-record-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="evtui-bench-record-") as work:
            _, value_bytes = produce(bootstrap, topic, args.count, args.partitions)
            rows = measure(bootstrap, topic, args.count, kcat, Path(work))
    finally:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": bootstrap}).delete_topics([topic, f"{topic}-replayed"])
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)
    print(f"bench/record: {args.count:,} events, {args.partitions} partitions, "
          f"{value_bytes / args.count:,.0f} bytes of value on average")  # fmt: skip
    reference = rows[0][1]
    for name, seconds, size in rows:
        extra = f"  {size / 1e6:8.1f} MB" if size is not None else ""
        print(f"  {name:<40} {seconds:6.2f} s  {args.count / seconds:>10,.0f} records/s  "
              f"{reference / seconds:5.2f}x kcat{extra}")  # fmt: skip


if __name__ == "__main__":
    main()
