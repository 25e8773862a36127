"""A registry over TLS: the profile's ``ssl_ca`` is what the client trusts (a real TLS
handshake with a certificate made here), and without it the record says why."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from evtui_schema_registry.decoder import RegistryDecoder
from evtui_schema_registry.store import SchemaStore

from evtui.config import SchemaRegistrySettings

SCHEMA = {"type": "record", "name": "T", "fields": [{"name": "correlationId", "type": "string"}]}


class Registry(BaseHTTPRequestHandler):
    """Just what the decoder asks: the schema of id 1, and its subject and version."""

    def do_GET(self) -> None:
        if self.path.startswith("/schemas/ids/1/versions"):
            body = [{"subject": "t-value", "version": 1}]
        elif self.path.startswith("/schemas/ids/1"):
            body = {"schema": json.dumps(SCHEMA), "schemaType": "AVRO"}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_registry(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", str(cert)
    server.shutdown()


def test_the_registry_ca_is_trusted_and_only_it(tls_registry):
    url, ca = tls_registry
    value = b"\x00\x00\x00\x00\x01" + b"\x08corr"
    trusted = SchemaStore(SchemaRegistrySettings(url, ssl_ca=ca).client_conf())
    decoded = RegistryDecoder(trusted).decode(value, ())
    assert decoded.error is None and decoded.value == {"correlationId": "corr"}
    assert decoded.schema.subject == "t-value"
    unknown_ca = SchemaStore(SchemaRegistrySettings(url).client_conf())
    failed = RegistryDecoder(unknown_ca).decode(value, ())
    assert failed.error.startswith(f"schema id 1: registry unreachable at {url}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in failed.error or "certificate" in failed.error.lower()
