"""scripts/schema-registry-local: a real registry behind basic auth, whose password never
shows, and a script that reports plainly what runs and what cannot start."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REGISTRY_HARNESS, RegistryInfo

pytestmark = pytest.mark.schema_registry


def get(url: str, user: str | None = None, password: str | None = None) -> tuple[int, bytes]:
    """GET URL (with basic auth when USER is given): (HTTP status, body)."""
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def harness(registry_home: str | Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``scripts/schema-registry-local ARGS`` for the registry of that state dir and port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVTUI_SR_")}
    env.update(
        EVTUI_SR_HOME=str(registry_home), EVTUI_SR_PORT=str(port), EVTUI_SR_MGMT_PORT=str(port + 1)
    )
    return subprocess.run(
        [REGISTRY_HARNESS, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def own_home(registry: RegistryInfo) -> str:
    if registry.home is None:
        pytest.skip("the registry was not started by scripts/schema-registry-local here")
    return registry.home


def test_answers_on_the_ccompat_api_with_credentials(schema_registry):
    status, body = get(
        f"{schema_registry.url}/subjects", schema_registry.user, schema_registry.password
    )
    assert status == 200, body
    assert isinstance(json.loads(body), list)


def test_refuses_no_credentials_and_a_wrong_password(schema_registry):
    if schema_registry.user is None:
        pytest.skip("this registry runs without basic auth")
    url = f"{schema_registry.url}/subjects"
    assert get(url)[0] == 401
    assert get(url, schema_registry.user, schema_registry.password + "x")[0] == 401
    assert get(url, "nobody", schema_registry.password)[0] == 401


def test_a_schema_registered_through_the_confluent_client_comes_back_by_id(schema_registry):
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    client = SchemaRegistryClient(schema_registry.client_config())
    subject = f"evtui-test-{uuid.uuid4().hex[:8]}-value"
    record = {
        "type": "record",
        "name": "Order",
        "namespace": "evtui.test",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"}],
    }
    schema_id = client.register_schema(subject, Schema(json.dumps(record), "AVRO"))
    assert isinstance(schema_id, int)

    fresh = SchemaRegistryClient(schema_registry.client_config())  # no cache of the id
    back = fresh.get_schema(schema_id)
    assert back.schema_type == "AVRO"
    assert json.loads(back.schema_str) == record
    assert subject in fresh.get_subjects()
    assert fresh.get_latest_version(subject).schema_id == schema_id


def test_status_of_the_running_registry(schema_registry):
    home = own_home(schema_registry)
    port = urlsplit(schema_registry.url).port
    assert port is not None
    done = harness(home, port, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == schema_registry.url
    assert "ready=yes" in done.stderr


def test_the_password_shows_neither_in_the_log_nor_in_ps(schema_registry):
    home = Path(own_home(schema_registry))
    password = schema_registry.password
    if password is None:
        pytest.skip("this registry runs without basic auth")
    # the access log names the user of a request: make sure there is one
    assert get(f"{schema_registry.url}/subjects", schema_registry.user, password)[0] == 200
    log = (home / "registry.log").read_text(errors="replace")
    assert "apicurio-registry.access" in log
    assert password not in log
    args = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True)
    assert "evtui.schema-registry.home=" in args.stdout  # the registry's JVM is listed
    assert password not in args.stdout
    # it lives in the config file the JVM reads, which only its owner may read
    config = home / "config" / "application.properties"
    assert password in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_status_exits_3_where_nothing_runs(tmp_path):
    done = harness(tmp_path / "nothing-here", 18481, "status")
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("stopped "), done.stdout
    assert not (tmp_path / "nothing-here").exists()


def test_a_port_in_use_fails_fast_with_one_line(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        done = harness(tmp_path / "sr", port, "start")
        elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert done.stdout == ""
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("schema-registry-local: error: "), lines[0]
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert elapsed < 10  # refused before any JVM starts
    assert not (tmp_path / "sr" / "registry.pid").exists()
