"""Shared fixtures: the real Kafka broker (never a mock) and per-test topics."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "scripts" / "kafka-local"
REGISTRY_HARNESS = ROOT / "scripts" / "schema-registry-local"
# The session's own registry when EVTUI_TEST_SCHEMA_REGISTRY is not given: ports
# of its own, so it never meets scripts/test's (18081) or one run by hand.
OWN_REGISTRY_PORT = 18181
OWN_REGISTRY_MGMT_PORT = 18191
_OWN_DIRS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Point evtui's state and config at a folder of this run's own, for this process
    and every ``evtui`` it starts: tests never write into (or read) the user's real
    state dir (replay checkpoints, exports), config file or plugin folder."""
    home = tempfile.mkdtemp(prefix="evtui-test-home-")
    _OWN_DIRS.append(home)
    for name, sub in (("EVTUI_STATE_DIR", "state"), ("XDG_STATE_HOME", "xdg-state"),
                      ("XDG_CONFIG_HOME", "xdg-config")):  # fmt: skip
        os.environ[name] = os.path.join(home, sub)
    os.environ.pop("EVTUI_CONFIG", None)
    os.environ.pop("EVTUI_PLUGIN_PATH", None)
    # Started in the background by a non-interactive shell (`cmd &`, nohup), this process
    # inherits SIGINT ignored, and so would every evtui it starts: Ctrl-C tests would
    # hang. The suite runs as a person at a terminal does.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _OWN_DIRS:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The PLAINTEXT bootstrap: ``EVTUI_TEST_BOOTSTRAP``, else a broker started here."""
    given = os.environ.get("EVTUI_TEST_BOOTSTRAP")
    if given:
        yield given
        return
    was_running = subprocess.run([HARNESS, "status"], capture_output=True).returncode == 0
    env = dict(os.environ)
    if not was_running and "EVTUI_KAFKA_HOME" not in env:  # a state dir of its own, removed after
        env["EVTUI_KAFKA_HOME"] = tempfile.mkdtemp(prefix="evtui-test-kafka-")
    started = subprocess.run(
        [HARNESS, "start"], capture_output=True, text=True, timeout=900, check=False, env=env
    )
    if started.returncode != 0:
        pytest.fail(f"could not start the test broker:\n{started.stderr[-3000:]}")
    bootstrap = started.stdout.strip().splitlines()[-1]
    try:
        yield bootstrap
    finally:
        if not was_running:
            subprocess.run([HARNESS, "stop"], capture_output=True, timeout=60, check=False, env=env)
            if env.get("EVTUI_KAFKA_HOME") != os.environ.get("EVTUI_KAFKA_HOME"):
                shutil.rmtree(env["EVTUI_KAFKA_HOME"], ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_sasl_bootstrap(kafka_bootstrap: str) -> str:
    """The SASL_PLAINTEXT listener of the same broker (PLAIN alice, SCRAM-SHA-256 bob)."""
    given = os.environ.get("EVTUI_TEST_SASL_BOOTSTRAP")
    if given:
        return given
    host = kafka_bootstrap.rsplit(":", 1)[0]
    return f"{host}:{os.environ.get('EVTUI_KAFKA_SASL_PORT', '19093')}"


@dataclasses.dataclass(frozen=True)
class RegistryInfo:
    """A schema registry's Confluent-compatible URL and its basic-auth credentials."""

    url: str
    user: str | None
    password: str | None
    # scripts/schema-registry-local's state dir (EVTUI_SR_HOME) when known: its
    # log and config; None for a registry run some other way
    home: str | None = None

    def client_config(self) -> dict[str, str]:
        """The config of confluent_kafka's ``SchemaRegistryClient`` for this registry."""
        config = {"url": self.url, "timeout": 20}  # a request that hangs fails the test
        if self.user is not None and self.password is not None:
            config["basic.auth.user.info"] = f"{self.user}:{self.password}"
        return config


@pytest.fixture(scope="session")
def schema_registry() -> Iterator[RegistryInfo]:
    """``EVTUI_TEST_SCHEMA_REGISTRY`` (with ``EVTUI_TEST_SR_USER`` and
    ``EVTUI_TEST_SR_PASSWORD``), else a registry started here with basic auth and a
    password of its own, stopped (and its state dir removed) when the session ends."""
    given = os.environ.get("EVTUI_TEST_SCHEMA_REGISTRY")
    if given:
        yield RegistryInfo(
            url=given,
            user=os.environ.get("EVTUI_TEST_SR_USER") or None,
            password=os.environ.get("EVTUI_TEST_SR_PASSWORD") or None,
            home=os.environ.get("EVTUI_SR_HOME") or None,
        )
        return
    home = tempfile.mkdtemp(prefix="evtui-test-sr-")
    user, password = "evtui", secrets.token_hex(12)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVTUI_SR_")},
        "EVTUI_SR_PORT": str(OWN_REGISTRY_PORT),
        "EVTUI_SR_MGMT_PORT": str(OWN_REGISTRY_MGMT_PORT),
        "EVTUI_SR_HOME": home,
        "EVTUI_SR_USER": user,
        "EVTUI_SR_PASSWORD": password,
    }
    started = subprocess.run(
        [REGISTRY_HARNESS, "start"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    try:
        if started.returncode != 0:
            pytest.fail(f"could not start the test schema registry:\n{started.stderr[-3000:]}")
        url = started.stdout.strip().splitlines()[-1]
        yield RegistryInfo(url=url, user=user, password=password, home=home)
    finally:
        subprocess.run(
            [REGISTRY_HARNESS, "stop"], capture_output=True, timeout=120, check=False, env=env
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def admin(kafka_bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def new_topic(request: pytest.FixtureRequest, admin):
    """Create topics with names unique to this test: ``new_topic(partitions=3)``."""
    from confluent_kafka.admin import NewTopic

    created: list[str] = []
    base = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:60].strip("-")

    def make(partitions: int = 1, suffix: str = "", config: dict | None = None) -> str:
        name = f"t-{base}{'-' + suffix if suffix else ''}-{uuid.uuid4().hex[:8]}"
        futures = admin.create_topics(
            [NewTopic(name, partitions, 1, config=config or {})], operation_timeout=30
        )
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield make
    if created:
        for future in admin.delete_topics(created, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)


@pytest.fixture
def produce(kafka_bootstrap: str):
    """Produce records and wait for delivery; returns [(partition, offset)]."""
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "linger.ms": 5, "message.max.bytes": 16_000_000}
    )

    def send(topic: str, records: list[dict]) -> list[tuple[int, int]]:
        results: list = [None] * len(records)
        errors: list = []

        def done(i: int):
            def cb(err, msg):
                if err is not None:
                    errors.append(err)
                else:
                    results[i] = (msg.partition(), msg.offset())

            return cb

        for i, record in enumerate(records):
            producer.produce(topic, on_delivery=done(i), **record)
            producer.poll(0)
        producer.flush(30)
        assert not errors, errors
        return results

    return send


@pytest.fixture
def evtui_cli():
    """Run the real ``evtui`` CLI in a subprocess; returns CompletedProcess (bytes)."""

    def run(*args: str, timeout: float = 60, env: dict | None = None, **kw):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "evtui", *args],
            capture_output=True,
            timeout=timeout,
            env=full_env,
            check=False,
            **kw,
        )

    return run


class OwnBroker:
    """A broker of its own (other ports, own state dir) that a test may stop and restart."""

    def __init__(self, home: Path, port: int) -> None:
        self.env = {
            **os.environ,
            "EVTUI_KAFKA_PORT": str(port),
            "EVTUI_KAFKA_SASL_PORT": str(port + 1),
            "EVTUI_KAFKA_CONTROLLER_PORT": str(port + 2),
            "EVTUI_KAFKA_SSL_PORT": str(port + 3),  # (the session broker's are 19095-19096)
            "EVTUI_KAFKA_SASL_SSL_PORT": str(port + 4),
            "EVTUI_KAFKA_HOME": str(home),
            "EVTUI_KAFKA_HEAP": "384m",
        }
        self.bootstrap = ""

    def harness(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``scripts/kafka-local ARGS`` for this broker (not checked)."""
        return subprocess.run(
            [HARNESS, *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )

    def run(self, *args: str) -> str:
        """``scripts/kafka-local ARGS``, which must succeed; returns its last output line."""
        done = self.harness(*args)
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.strip().splitlines()
        return lines[-1] if lines else ""


@contextlib.contextmanager
def own_broker(home: Path, port: int) -> Iterator[OwnBroker]:
    broker = OwnBroker(home, port)
    try:
        broker.bootstrap = broker.run("start")
        yield broker
    finally:
        broker.harness("stop")
        shutil.rmtree(home, ignore_errors=True)  # its data and log: nothing left behind


@dataclasses.dataclass(frozen=True)
class TlsInfo:
    """The session broker's TLS listeners and the material in its ``tls/`` folder."""

    ssl: str  # SSL listener (mTLS: a client certificate is required)
    sasl_ssl: str  # SASL_SSL listener (TLS, then SASL; no client certificate)
    dir: Path  # scripts/kafka-local's <state dir>/tls

    @property
    def key_password(self) -> str:
        return (self.dir / "client.key.pass").read_text().strip()


@pytest.fixture(scope="session")
def kafka_tls(kafka_bootstrap: str) -> TlsInfo:
    """Addresses of the SSL and SASL_SSL listeners and the TLS folder (ca.pem,
    client.pem, client.key + client.key.pass, client-plain.key, rogue-ca.pem).

    Ports from ``EVTUI_KAFKA_SSL_PORT``/``EVTUI_KAFKA_SASL_SSL_PORT`` (default: the
    PLAINTEXT port + 3 and + 4, 19095 and 19096 for 19092); the folder from
    ``EVTUI_KAFKA_HOME`` (scripts/test exports it), else the state dir
    scripts/kafka-local uses by default for the broker's port."""
    host, port = kafka_bootstrap.rsplit(":", 1)
    tmp = Path(os.environ.get("TMPDIR") or "/tmp")
    given = os.environ.get("EVTUI_KAFKA_HOME")
    # the broker kafka_bootstrap started in a temporary state dir of its own names
    # its PLAINTEXT listener in that dir's server.properties
    started_here = [
        props.parent
        for props in sorted(
            Path(tempfile.gettempdir()).glob("evtui-test-kafka-*/server.properties")
        )
        if f"listeners=PLAINTEXT://{kafka_bootstrap}," in props.read_text(errors="replace")
    ]
    homes = [Path(given)] if given else [*started_here, tmp / f"evtui-kafka-{port}"]
    tls_dir = next((h / "tls" for h in homes if (h / "tls" / "ca.pem").is_file()), None)
    if tls_dir is None:
        pytest.skip(
            f"no TLS material in {', '.join(str(h / 'tls') for h in homes)} "
            "(set EVTUI_KAFKA_HOME to the broker's state dir)"
        )
    # scripts/kafka-local's defaults: the PLAINTEXT port + 3 and + 4
    return TlsInfo(
        ssl=f"{host}:{os.environ.get('EVTUI_KAFKA_SSL_PORT') or int(port) + 3}",
        sasl_ssl=f"{host}:{os.environ.get('EVTUI_KAFKA_SASL_SSL_PORT') or int(port) + 4}",
        dir=tls_dir,
    )
