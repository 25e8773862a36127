"""``evtui demo``: the simulated shop, in-process or on a real cluster.

Here the command's options are parsed and its output written (the live stream, the truth
file, the summary line); the demo itself is built by :mod:`evtui.application.demo`.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from evtui.application.backends import DemoBackend, KafkaBackend
from evtui.application.demo import DemoOptions as DemoOptions
from evtui.application.demo import cluster_simulator as cluster_simulator
from evtui.application.demo import demo_source, start_load
from evtui.application.demo import make_simulator as make_simulator
from evtui.application.demo import stop_group_after_s as stop_group_after_s
from evtui.config import ClientConfig
from evtui.core.positions import END, parse_duration_ms
from evtui.core.text import plural
from evtui.errors import EvtuiError, UsageError
from evtui.sim.model import FAULT_KINDS, FaultRates, TopicNames
from evtui.sim.shop import ShopSimulator

if TYPE_CHECKING:
    from evtui.commands.tail import TailOptions
    from evtui.sim.kafka_load import DemoLoad
    from evtui.sources.kafka import KafkaSource


def parse_duration_s(text: str, option: str) -> float:
    """``20s``, ``5m``, ``1h30m`` or plain seconds; must be > 0."""
    ms = parse_duration_ms(text)
    if ms is None:
        try:
            ms = int(float(text) * 1000)
        except (ValueError, OverflowError):  # not a number; infinity
            raise UsageError(
                f"invalid {option} '{text}': expected a duration such as 20s, 5m "
                "or a number of seconds"
            ) from None
    if ms <= 0:
        raise UsageError(f"invalid {option} '{text}': must be more than 0")
    return ms / 1000


def parse_rate(value: float) -> float:
    if not value > 0 or value > 1_000_000:
        raise UsageError(f"invalid --rate {value:g}: expected events/s between 0 and 1000000")
    return value


def parse_faults(items: list[str], off: bool) -> FaultRates:
    """``--fault duplicate=0.05`` (repeatable); ``--no-faults`` turns them all off."""
    rates = {
        f.name: getattr(FaultRates.none() if off else FaultRates(), f.name)
        for f in fields(FaultRates)
    }
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in rates:
            raise UsageError(
                f"invalid --fault '{item}': expected KIND=RATE with KIND one of "
                f"{', '.join(FAULT_KINDS)}"
            )
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0 <= rate <= 1:
            raise UsageError(f"invalid --fault '{item}': RATE is a probability from 0 to 1")
        rates[name] = rate
    return FaultRates(**rates)


def topic_names(prefix: str = "", renames: list[str] | None = None) -> TopicNames:
    """The demo's topics: ``--topic orders=shop.orders`` renames one, the prefix goes first."""
    names = {f.name: getattr(TopicNames(), f.name) for f in fields(TopicNames)}
    for item in renames or []:
        kind, sep, name = item.partition("=")
        if not sep or kind not in names or not name.strip():
            raise UsageError(
                f"invalid --topic '{item}': expected KIND=NAME with KIND one of {', '.join(names)}"
            )
        names[kind] = name.strip()
    chosen = {kind: prefix + name for kind, name in names.items()}
    if len(set(chosen.values())) != len(chosen):
        raise UsageError("invalid --topic: two demo topics would have the same name")
    return TopicNames(**chosen)


def parse_run_id(text: str) -> str:
    """``--run-id``: letters, digits, ``.``, ``_``, ``-`` (it goes into keys); "" for none."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{0,32}", text):
        raise UsageError(f"invalid --run-id '{text}': up to 32 letters, digits, '.', '_' or '-'")
    return text


def check_truth_path(path: Path | None) -> None:
    """Fail before the run, not after it, when the truth file cannot be written."""
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"invalid --truth '{path}': folder {path.parent} does not exist")


def write_truth(sim: ShopSimulator, path: Path | None) -> None:
    if path is None:
        return
    try:
        path.write_text(json.dumps(sim.truth.to_json(), indent=1) + "\n")
    except OSError as exc:
        raise EvtuiError(f"cannot write --truth {path}: {exc.strerror or exc}") from None


def summary(sim: ShopSimulator) -> str:
    kinds = sim.truth.fault_kinds()
    faults = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"
    run = f"run {sim.run_id}: " if sim.run_id else ""
    return (
        f"evtui demo: {run}{plural(sim.truth.emitted, 'record')} in "
        f"{plural(sim.truth.flows_emitted, 'flow')}; "
        f"injected faults: {faults}"
    )


def run_in_process(options: DemoOptions, tail_options: TailOptions) -> None:
    """No cluster: the simulator is the source; print the live stream like tail does."""
    from evtui.commands.tail import run_tail

    sim = make_simulator(options)
    source = demo_source(options, sim)
    try:
        run_tail(source, tail_options)
    finally:
        write_truth(sim, options.truth)
        print(summary(sim), file=sys.stderr)


def run_on_cluster(
    options: DemoOptions, config: ClientConfig, timeout: float, tail_options: TailOptions
) -> None:
    """A real cluster: create topics, run the groups, produce; tail unless headless."""
    from evtui.commands.interrupt import ctrl_c_calls
    from evtui.commands.tail import run_tail
    from evtui.sources.kafka import KafkaSource

    sim = cluster_simulator(options)
    load, created = start_load(options, config, timeout, sim)
    try:  # from here on, Ctrl-C stops the groups and prints what was produced
        if created:
            print(f"evtui demo: created topics {', '.join(created)}", file=sys.stderr)
        if options.headless:
            with ctrl_c_calls(load.interrupt) as ctrl_c:
                load.produce(options.duration_s)
            if ctrl_c.requested:
                raise KeyboardInterrupt  # here, outside the client: exit 130
        else:
            source = KafkaSource(config, sim.topics.all(), END, timeout=timeout).open()
            failure: list[BaseException] = []
            producer = threading.Thread(
                target=_produce_then_stop,
                daemon=True,
                args=(load, options.duration_s, source, failure),
            )
            producer.start()
            run_tail(source, tail_options)
            if failure:
                raise failure[0]
    finally:
        load.stop()
        write_truth(sim, options.truth)
        print(summary(sim), file=sys.stderr)
        for group, error in load.stats.group_errors.items():
            print(f"evtui demo: warning: consumer group {group} ended: {error}", file=sys.stderr)


def _produce_then_stop(
    load: DemoLoad,
    duration_s: float | None,
    source: KafkaSource,
    failure: list[BaseException],
    catch_up_s: float = 10.0,
) -> None:
    """Produce, let the tail read everything produced (bounded wait), then end it."""
    try:
        load.produce(duration_s)
        deadline = time.monotonic() + catch_up_s
        while source.stats.events < load.stats.produced and time.monotonic() < deadline:
            time.sleep(0.05)
    except BaseException as exc:  # handed to the main thread, which reports it
        failure.append(exc)
    finally:
        source.stop()


def console_in_process(options: DemoOptions) -> None:
    """``evtui demo`` in a terminal: the console on the in-process simulator."""
    from evtui.commands.console import ConsoleOptions, load_declared, run_console
    from evtui.core.positions import BEGINNING

    backend = DemoBackend(options)
    console = ConsoleOptions(
        topics=backend.default_topics, start=BEGINNING,
        declared=load_declared(list(options.declared)),
    )  # fmt: skip
    try:
        run_console(backend, console)
    finally:
        write_truth(backend.clock.sim, options.truth)


def console_on_cluster(options: DemoOptions, config: ClientConfig, timeout: float) -> None:
    """``evtui demo -b ...`` in a terminal: produce the shop's traffic and watch it live."""
    from evtui.commands.console import ConsoleOptions, load_declared, run_console
    from evtui.core.positions import parse_position

    sim = cluster_simulator(options)
    load, _ = start_load(options, config, timeout, sim)
    producer = threading.Thread(
        target=load.produce, args=(options.duration_s,), name="evtui-demo-produce", daemon=True
    )
    producer.start()
    backend = KafkaBackend(config, timeout=timeout)
    backend.load = load
    try:
        console = ConsoleOptions(
            topics=sim.topics.all(), start=parse_position("-100"),
            declared=load_declared(list(options.declared)),
        )  # fmt: skip
        run_console(backend, console)
    finally:
        write_truth(sim, options.truth)
