"""confluent-kafka clients built from a ClientConfig, and readable error messages.

Everything here keeps evtui read-only: consumers are only ever assigned
partitions (never subscribed), auto-commit and offset storing are forced off,
so the broker never sees a consumer group of evtui's.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque

import confluent_kafka as ck

from evtui.config import ClientConfig
from evtui.errors import ConnectionFailed, EvtuiError, UsageError

log = logging.getLogger("evtui.kafka")
log.addHandler(logging.NullHandler())

# Defaults a user's properties may override. librdkafka (>= 2.1) waits
# fetch.queue.backoff.ms (1 s by default) before fetching again once its local
# queue is full; for a reader that drains in bursts that idles most of the
# time (measured: 213k -> 519k records/s on one topic, bench/ingest).
CONSUMER_DEFAULTS = {
    "fetch.queue.backoff.ms": "10",
    # A position that falls out of range (retention deleted records not read yet, or a
    # truncated log) resumes from the oldest record kept, never from the end: "latest"
    # skipped every record still there, without a word. Records seen twice are dropped
    # by offset where they are kept.
    "auto.offset.reset": "earliest",
}

# Settings that keep a monitoring consumer from ever touching a consumer group.
READ_ONLY_CONSUMER = {
    "enable.auto.commit": "false",
    "enable.auto.offset.store": "false",
}

_AUTH_CODES = {
    ck.KafkaError._AUTHENTICATION,
    ck.KafkaError.SASL_AUTHENTICATION_FAILED,
    ck.KafkaError.CLUSTER_AUTHORIZATION_FAILED,
}
_CONNECT_CODES = {
    ck.KafkaError._TRANSPORT,
    ck.KafkaError._ALL_BROKERS_DOWN,
    ck.KafkaError._RESOLVE,
    ck.KafkaError._TIMED_OUT,
    ck.KafkaError._SSL,
}


class ErrorCollector:
    """Receives librdkafka's error callbacks (on the thread that polls)."""

    def __init__(self, config: ClientConfig, keep: int = 50) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._errors: deque[ck.KafkaError] = deque(maxlen=keep)

    def __call__(self, error: ck.KafkaError) -> None:
        with self._lock:
            self._errors.append(error)
        log.debug("client error: %s", self._config.scrub(error.str()))

    def drain(self) -> list[ck.KafkaError]:
        with self._lock:
            errors = list(self._errors)
            self._errors.clear()
        return errors


class _ScrubbingLogger(logging.LoggerAdapter):
    """librdkafka's log lines, minus any secret, into the ``evtui.kafka`` logger."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(log, {})
        self._config = config

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, self._config.scrub(text))


def client_properties(config: ClientConfig, errors: ErrorCollector) -> dict:
    props: dict = dict(config.to_librdkafka())
    props.setdefault("client.id", "evtui")
    props["error_cb"] = errors
    props["logger"] = _ScrubbingLogger(config)
    return props


def make_consumer(
    config: ClientConfig, errors: ErrorCollector, extra: dict | None = None
) -> ck.Consumer:
    """A consumer that can only be assigned partitions and never commits."""
    props = {**CONSUMER_DEFAULTS, **client_properties(config, errors)}
    props.update(extra or {})
    props.update(READ_ONLY_CONSUMER)
    # The Python client insists on a group.id even for assign(); this one is
    # never joined and nothing is committed under it, so the broker never sees it.
    props["group.id"] = f"evtui-unjoined-{uuid.uuid4().hex[:12]}"
    return _create(ck.Consumer, props, config)


def _create(factory: type, props: dict, config: ClientConfig) -> object:
    try:
        return factory(props)
    except (ck.KafkaException, ValueError, TypeError) as exc:
        detail = exc.args[0].str() if isinstance(exc, ck.KafkaException) else str(exc)
        detail = detail.removeprefix("Failed to create consumer: ")
        raise UsageError(f"invalid Kafka client setting: {config.scrub(detail)}") from None


def connect_failure(
    config: ClientConfig, errors: list[ck.KafkaError], exc: BaseException | None, timeout: float
) -> EvtuiError:
    """One readable line for a cluster that could not be reached or refused us."""
    where = config.bootstrap
    auth = next((e for e in errors if e.code() in _AUTH_CODES), None)
    if auth is not None:
        return ConnectionFailed(
            f"authentication failed at {where} ({_principal(config)}): {_clean(config, auth.str())}"
        )
    connect = [
        e
        for e in errors
        if e.code() in _CONNECT_CODES and e.code() != ck.KafkaError._ALL_BROKERS_DOWN
    ]
    tls = next((hint for e in reversed(connect) if (hint := _tls_hint(e.str()))), None)
    if tls is not None:
        text = next(_clean(config, e.str()) for e in reversed(connect) if _tls_hint(e.str()))
        if tls.startswith(_CA_HINT):  # librdkafka says the same whatever the reason: ask
            from evtui.sources.tls_probe import verify_reason

            tls = verify_reason(config, text) or tls
        return ConnectionFailed(f"TLS handshake with Kafka at {where} failed: {tls} ({text})")
    if connect:
        return ConnectionFailed(
            f"cannot reach Kafka at {where} within {timeout:g}s: "
            f"{_clean(config, connect[-1].str())}"
        )
    detail = _clean(config, exc.args[0].str()) if isinstance(exc, ck.KafkaException) else ""
    return ConnectionFailed(
        f"no answer from Kafka at {where} within {timeout:g}s" + (f": {detail}" if detail else "")
    )


_CA_HINT = "certificate verify failed: the broker's certificate is not signed by a CA "


def _tls_hint(text: str) -> str | None:
    """What a TLS failure in librdkafka's words means, in evtui's (None: no TLS failure)."""
    lowered = text.lower()
    if "certificate verify failed" in lowered:
        if "hostname" in lowered or "host name" in lowered:
            return (
                "certificate verify failed: the broker's certificate does not name the host "
                "connected to (ssl_verify_hostname = false in the profile turns this check off)"
            )
        return _CA_HINT + "evtui trusts (the profile's ssl_ca, or ssl.ca.location)"
    if any(
        alert in lowered
        for alert in ("alert bad certificate", "alert certificate required", "alert unknown ca")
    ):
        return (
            "the broker refused the client certificate: it requires one (mTLS) signed by a "
            "CA it trusts (the profile's ssl_cert and ssl_key)"
        )
    return None


def _principal(config: ClientConfig) -> str:
    props = config.redacted()
    mech = props.get("sasl.mechanism") or props.get("sasl.mechanisms") or "GSSAPI"
    proto = props.get("security.protocol", "PLAINTEXT")
    user = props.get("sasl.username")
    return f"{proto} {mech}" + (f" as '{user}'" if user else "")


def _clean(config: ClientConfig, text: str) -> str:
    """librdkafka's message without its state-machine suffixes, secrets scrubbed."""
    text = text.split(" (after ", 1)[0]
    text = text.removeprefix("Failed to get metadata: ")
    return config.scrub(text)


def kafka_error_text(config: ClientConfig, error: ck.KafkaError | BaseException) -> str:
    if isinstance(error, ck.KafkaException):
        error = error.args[0]
    if isinstance(error, ck.KafkaError):
        return _clean(config, error.str())
    return config.scrub(str(error))


# Errors the Kafka protocol calls retriable. librdkafka marks ``retriable()`` only on
# some paths (a per-partition error from ListOffsets comes without it), so the codes
# are named here: a leader moving or a broker restarting must be waited out, not failed.
_TRANSIENT_CODES = {
    ck.KafkaError.NOT_LEADER_FOR_PARTITION,
    ck.KafkaError.LEADER_NOT_AVAILABLE,
    ck.KafkaError.UNKNOWN_TOPIC_OR_PART,
    ck.KafkaError.REQUEST_TIMED_OUT,
    ck.KafkaError._TIMED_OUT,
    ck.KafkaError.UNKNOWN_LEADER_EPOCH,
    ck.KafkaError.FENCED_LEADER_EPOCH,
    ck.KafkaError.OFFSET_NOT_AVAILABLE,
    ck.KafkaError.NOT_ENOUGH_REPLICAS,
    ck.KafkaError.KAFKA_STORAGE_ERROR,
    ck.KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    ck.KafkaError.COORDINATOR_NOT_AVAILABLE,
    ck.KafkaError.NOT_COORDINATOR,
    ck.KafkaError.NOT_CONTROLLER,
}


def is_transient(error: ck.KafkaError) -> bool:
    return error.retriable() or error.code() in _TRANSIENT_CODES


def is_auth_error(error: ck.KafkaError) -> bool:
    return error.code() in _AUTH_CODES


def is_connect_error(error: ck.KafkaError) -> bool:
    return error.code() in _CONNECT_CODES
