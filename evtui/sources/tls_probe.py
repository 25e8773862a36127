"""Why a broker's TLS certificate failed verification, asked of OpenSSL directly.

librdkafka reports every failed verification in the same words ("certificate verify
failed: broker certificate could not be verified, verify that ssl.ca.location is
correctly configured"), whether the CA is wrong, the certificate names another host
or it has expired. Told a wrong CA when the host name is the problem, a person
changes the wrong thing. So on that failure evtui makes one handshake of its own
with Python's ``ssl`` (the same OpenSSL checks, the same CA) and reads the reason.
"""

from __future__ import annotations

import os
import re
import socket
import ssl

from evtui.config import ClientConfig

X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_CERT_NOT_YET_VALID = 9
X509_V_ERR_HOSTNAME_MISMATCH = 62
X509_V_ERR_IP_ADDRESS_MISMATCH = 64

_BROKER = re.compile(r"\b(?:sasl_)?ssl://(\[[^\]]+\]|[^:/\s]+):(\d+)", re.IGNORECASE)


def failing_broker(config: ClientConfig, text: str) -> tuple[str, int] | None:
    """The host and port librdkafka's message names, else the first bootstrap server."""
    m = _BROKER.search(text)
    if m:
        return m.group(1).strip("[]"), int(m.group(2))
    first = config.bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    return (host.strip("[]"), int(port)) if host and port.isdigit() else None


def verify_reason(config: ClientConfig, text: str, timeout: float = 3.0) -> str | None:
    """evtui's words for why the broker's certificate fails verification (None: unknown)."""
    where = failing_broker(config, text)
    if where is None:
        return None
    host, port = where
    props = config.to_librdkafka()
    ca = props.get("ssl.ca.location") or None  # a file of CA certificates, or a folder
    folder = ca is not None and os.path.isdir(ca)
    try:
        context = ssl.create_default_context(
            cafile=None if folder else ca,
            capath=ca if folder else None,
            cadata=props.get("ssl.ca.pem") or None,
        )
    except (OSError, ssl.SSLError, ValueError):
        return None  # the CA itself does not load: librdkafka said so already
    context.check_hostname = props.get("ssl.endpoint.identification.algorithm", "https") != "none"
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=host),
        ):
            return None  # it verifies here: not a certificate problem evtui can name
    except ssl.SSLCertVerificationError as exc:
        return _reason(exc, host)
    except (OSError, ssl.SSLError, ValueError):
        return None


def _reason(exc: ssl.SSLCertVerificationError, host: str) -> str:
    code = exc.verify_code
    if code in (X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH):
        return (
            f"certificate verify failed: the broker's certificate is not for {host} (connect "
            "by a name it is for, or set ssl_verify_hostname = false in the profile)"
        )
    if code == X509_V_ERR_CERT_HAS_EXPIRED:
        return "certificate verify failed: the broker's certificate has expired"
    if code == X509_V_ERR_CERT_NOT_YET_VALID:
        return "certificate verify failed: the broker's certificate is not valid yet"
    return (
        "certificate verify failed: the broker's certificate is not signed by a CA evtui "
        f"trusts (the profile's ssl_ca, or ssl.ca.location; OpenSSL: {exc.verify_message})"
    )
