"""Building the demo: the seeded shop simulator, its clock source, its load on a cluster.

The CLI (``evtui demo``, :mod:`evtui.commands.demo`) and the console's demo backend
(:mod:`evtui.application.backends`) build the demo the same way from :class:`DemoOptions`;
parsing the command's options, the truth file and the summary line stay in the command.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evtui.config import ClientConfig
from evtui.core.positions import now_ms
from evtui.errors import EvtuiError, UsageError
from evtui.sim.model import FaultRates, TopicNames
from evtui.sim.shop import ShopSimulator
from evtui.sources.demo import DemoSource

if TYPE_CHECKING:
    from evtui.config import SchemaRegistrySettings
    from evtui.sim.kafka_load import DemoLoad


@dataclass
class DemoOptions:
    seed: int = 0
    rate: float = 50.0
    duration_s: float | None = None
    partitions: int = 3
    topics: TopicNames = field(default_factory=TopicNames)
    faults: FaultRates = field(default_factory=FaultRates)
    truth: Path | None = None
    keep_truth: bool = True  # False: the simulator counts, keeps nothing (a long run, no --truth)
    headless: bool = False
    stop_group_after_s: float | None = None
    group_prefix: str = ""  # on a cluster: before each service's group name
    run_id: str | None = None  # the ids' namespace; None: a fresh one on a cluster, none in-process
    declared: tuple[Path, ...] = ()  # the console's flow tab compares with these
    # --schema-registry: orders in Avro, payments in Protobuf through it (the plugin's encoder)
    registry: SchemaRegistrySettings | None = None


def stop_group_after_s(options: DemoOptions) -> float:
    """When the stoppable group stops: as asked, else half the duration, else 60 s."""
    if options.stop_group_after_s is not None:
        return options.stop_group_after_s
    return options.duration_s / 2 if options.duration_s is not None else 60.0


def demo_source(options: DemoOptions, sim: ShopSimulator, elapsed_ms: int = 0) -> DemoSource:
    """The simulator as a source (not started): the options' partitions, duration and
    stoppable group; ``elapsed_ms``: the simulation has already run this long."""
    duration = None if options.duration_s is None else int(options.duration_s * 1000)
    return DemoSource(
        sim,
        partitions=options.partitions,
        duration_ms=duration,
        stop_group_after_ms=int(stop_group_after_s(options) * 1000),
        elapsed_ms=elapsed_ms,
    )


def make_simulator(
    options: DemoOptions, start_ms: int | None = None, run_id: str | None = None
) -> ShopSimulator:
    """The seeded shop; ids and keys in ``run_id``'s namespace, else the options', else none."""
    if run_id is None:
        run_id = options.run_id or ""
    sim = ShopSimulator(
        seed=options.seed,
        rate=options.rate,
        faults=options.faults,
        topics=options.topics,
        start_ms=now_ms() if start_ms is None else start_ms,
        run_id=run_id,
        keep_truth=options.keep_truth or options.truth is not None,
    )
    if options.registry is not None:
        sim.encoder = registry_encoder(options)
    return sim


def registry_encoder(options: DemoOptions) -> Any:
    """The plugin's encoder of orders (Avro) and payments (Protobuf); the schema upgrade
    comes a third into the run (or after 60 s without --duration)."""
    assert options.registry is not None
    try:
        from evtui_schema_registry.demo import DemoEncoder
    except ImportError:
        raise UsageError(
            "--schema-registry in the demo needs the evtui-schema-registry plugin "
            "(pip install plugins/evtui-schema-registry)"
        ) from None
    upgrade_ms = int(options.duration_s * 1000 / 3) if options.duration_s else 60_000
    try:
        return DemoEncoder(
            options.registry.client_conf(), options.topics.orders, options.topics.payments,
            upgrade_ms,
        )  # fmt: skip
    except Exception as exc:  # the registry refused or is not there: say so in one line
        text = options.registry.scrub(f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise EvtuiError(f"the demo could not register its schemas: {text[:300]}") from None


def cluster_simulator(options: DemoOptions) -> ShopSimulator:
    """The shop for a real cluster, in a fresh run id's namespace unless one is given.

    Topics may already hold an earlier run's traffic: this run reuses none of its ids,
    keys or per-key sequences, so the checks see only each run's own faults.
    """
    run_id = secrets.token_hex(4) if options.run_id is None else options.run_id
    return make_simulator(options, run_id=run_id)


def start_load(
    options: DemoOptions, config: ClientConfig, timeout: float, sim: ShopSimulator
) -> tuple[DemoLoad, list[str]]:
    """Create the demo topics and start the groups; returns the load and the new topics."""
    from evtui.sim.kafka_load import DemoLoad

    load = DemoLoad(
        config,
        sim,
        partitions=options.partitions,
        timeout=timeout,
        stop_group_after_s=stop_group_after_s(options),
        group_prefix=options.group_prefix,
    )
    created = load.ensure_topics()
    load.start_groups()
    return load, created
