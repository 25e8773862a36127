"""bench/replay: an unthrottled ``evtui replay`` next to a ``kcat -C | kcat -P`` pipe.

Produces N bench/ingest-shaped records (JSON values, three headers, keys) to a
real broker, then, in the same run and on the same slice:

  (a) ``kcat -C -e -f ... | kcat -P -K ...``: the pipe people use today. kcat's
      text formats cannot carry headers both ways, so the pipe copies only keys
      and values (with a delimiter that never occurs in them) and loses the
      headers, the partitions and the timestamps: it does less work than evtui.
  (b) ``evtui replay SRC --to DST --execute``: keys, values and headers byte for
      byte, the same partitions, provenance headers, acks=all, idempotent, and
      a checkpoint twice a second.

Each copy goes to its own fresh target topic; the figure is records/s from the
command's start to its exit, and each target is then counted to check every
record arrived. Without --bootstrap-servers it starts the broker with
scripts/kafka-local (and stops it again if it was not running).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from broker import HARNESS, start_broker  # noqa: E402
from ingest import produce, run_measured  # noqa: E402

DELIMITER = "\x1e\x1d\x1e"  # in no bench key or value


def create(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=30)


def count(bootstrap: str, topic: str) -> int:
    from evtui.config import ClientConfig
    from evtui.core.positions import BEGINNING, END
    from evtui.sources.kafka import KafkaSource

    source = KafkaSource(ClientConfig({"bootstrap.servers": bootstrap}), [topic], BEGINNING, END)
    total = 0

    def add(events: list) -> bool:
        nonlocal total
        total += len(events)
        return True

    source.open().read_inline(add)
    source.stop()
    return total


def kcat_pipe(kcat: str, bootstrap: str, source: str, target: str) -> float:
    fmt = f"%k{DELIMITER}%s\n"
    consume = f"{kcat} -b {bootstrap} -C -t {source} -e -q -f '{fmt}'"
    produce_cmd = (
        f"{kcat} -b {bootstrap} -P -t {target} -K '{DELIMITER}' "
        "-X linger.ms=20 -X batch.size=1000000 -X acks=all"
    )
    seconds, _, _, _ = run_measured(["bash", "-o", "pipefail", "-c", f"{consume} | {produce_cmd}"])
    return seconds


def evtui_replay(bootstrap: str, source: str, target: str, state: str) -> tuple[float, int]:
    env_state = {**os.environ, "EVTUI_STATE_DIR": state}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "evtui", "replay", source, "--to", target, "-b", bootstrap,
         "--execute", "-F", "json"],
        capture_output=True, env=env_state, check=False, cwd=ROOT,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench/replay: evtui replay failed: {done.stderr.decode()[-500:]}")
    import json

    return seconds, json.loads(done.stdout)["report"]["written"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/replay", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1_000_000)
    parser.add_argument("-p", "--partitions", type=int, default=4)
    parser.add_argument("-b", "--bootstrap-servers", default=os.environ.get("EVTUI_TEST_BOOTSTRAP"))
    args = parser.parse_args()
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        raise SystemExit("bench/replay: kcat is not installed (apt install kcat)")
    started_here, bootstrap = False, args.bootstrap_servers
    if not bootstrap:
        bootstrap, started_here = start_broker()
    run = uuid.uuid4().hex[:8]
    source, by_kcat, by_evtui = (
        f"evtui-bench-replay-{run}-{name}" for name in ("src", "kcat", "evtui")
    )
    try:
        produce_s, _ = produce(bootstrap, source, args.count, args.partitions)
        print(f"bench/replay: {args.count:,} records in {source} ({args.partitions} partitions), "
              f"produced in {produce_s:.1f} s")  # fmt: skip
        create(bootstrap, by_kcat, args.partitions)
        create(bootstrap, by_evtui, args.partitions)
        kcat_s = kcat_pipe(kcat, bootstrap, source, by_kcat)
        kcat_n = count(bootstrap, by_kcat)
        with tempfile.TemporaryDirectory() as state:
            evtui_s, written = evtui_replay(bootstrap, source, by_evtui, state)
        evtui_n = count(bootstrap, by_evtui)
        kcat_rate, evtui_rate = args.count / kcat_s, args.count / evtui_s
        print(f"  kcat -C | kcat -P (keys and values only): {kcat_rate:>10,.0f} records/s "
              f"({kcat_s:.2f} s; {kcat_n:,} records in the target)")  # fmt: skip
        print(f"  evtui replay --execute (headers, partitions, provenance, acks=all): "
              f"{evtui_rate:>10,.0f} records/s ({evtui_s:.2f} s; {evtui_n:,} in the target, "
              f"{written:,} acknowledged)")  # fmt: skip
        print(f"  evtui / kcat pipe: {evtui_rate / kcat_rate:.2f}x")
        if evtui_n != args.count or kcat_n != args.count:
            raise SystemExit("bench/replay: a copy is incomplete (see the counts above)")
    finally:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": bootstrap}).delete_topics([source, by_kcat, by_evtui])
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
