"""Which client errors are waited out and which fail at once."""

import confluent_kafka as ck
import pytest

from evtui.sources.kafka_client import is_transient


@pytest.mark.parametrize(
    "code",
    [
        ck.KafkaError.UNKNOWN_LEADER_EPOCH,  # seen by CI right after creating a topic
        ck.KafkaError.FENCED_LEADER_EPOCH,
        ck.KafkaError.NOT_LEADER_FOR_PARTITION,
        ck.KafkaError.LEADER_NOT_AVAILABLE,
        ck.KafkaError.OFFSET_NOT_AVAILABLE,
        ck.KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        ck.KafkaError.NOT_COORDINATOR,
    ],
)
def test_leader_and_coordinator_moves_are_transient_even_unflagged(code: int) -> None:
    error = ck.KafkaError(code)
    assert not error.retriable()  # the per-partition errors come without the flag
    assert is_transient(error)


@pytest.mark.parametrize(
    "code",
    [
        ck.KafkaError.TOPIC_AUTHORIZATION_FAILED,
        ck.KafkaError.SASL_AUTHENTICATION_FAILED,
        ck.KafkaError.INVALID_REQUEST,
    ],
)
def test_permanent_errors_are_not_retried(code: int) -> None:
    assert not is_transient(ck.KafkaError(code))
