"""Naming why a certificate failed verification (evtui.sources.tls_probe)."""

from __future__ import annotations

import ssl

import pytest

from evtui.config import ClientConfig
from evtui.sources import tls_probe
from evtui.sources.tls_probe import failing_broker, verify_reason

LIBRDKAFKA = (
    "ssl://vm:39095/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate"
    " verify failed: broker certificate could not be verified, verify that ssl.ca.location is"
    " correctly configured or root CA certificates are installed"
)


def test_the_broker_is_the_one_librdkafka_names_else_the_first_bootstrap_server():
    config = ClientConfig({"bootstrap.servers": "a:1,b:2"})
    assert failing_broker(config, LIBRDKAFKA) == ("vm", 39095)
    assert failing_broker(config, "sasl_ssl://[::1]:9093/3: SSL handshake failed") == ("::1", 9093)
    assert failing_broker(config, "something else") == ("a", 1)
    assert failing_broker(ClientConfig({"bootstrap.servers": "nonsense"}), "x") is None


def _failure(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, message)
    exc.verify_code, exc.verify_message = code, message
    return exc


@pytest.mark.parametrize(
    ("code", "message", "said"),
    [
        (62, "Hostname mismatch, certificate is not valid for 'vm'.", "is not for vm"),
        (64, "IP address mismatch", "is not for vm"),
        (10, "certificate has expired", "has expired"),
        (9, "certificate is not yet valid", "is not valid yet"),
        (20, "unable to get local issuer certificate", "not signed by a CA evtui trusts"),
    ],
)
def test_each_reason_openssl_gives_is_said_in_evtuis_words(code, message, said):
    assert said in tls_probe._reason(_failure(code, message), "vm")


def test_a_broker_that_cannot_be_reached_again_leaves_librdkafkas_words():
    config = ClientConfig({"bootstrap.servers": "127.0.0.1:1"})  # nothing listens on port 1
    assert verify_reason(config, "ssl://127.0.0.1:1/bootstrap: SSL handshake failed") is None
