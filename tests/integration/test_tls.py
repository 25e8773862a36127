"""TLS for real: mTLS on the SSL listener, SASL over TLS, wrong CAs and missing client
certificates fail in one clear line, and no password ever shows."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.integration.test_bad_input import assert_one_line_error

pytestmark = pytest.mark.kafka

SASL_PASSWORD = "alice-secret"


def _profile(name: str, fields: dict[str, object]) -> str:
    lines = [f"[clusters.{name}]"]
    for key, value in fields.items():
        text = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def tls_config(tmp_path, kafka_tls):
    """A config file with one profile per case; the key password by env reference."""
    d = kafka_tls.dir
    ssl_host, ssl_port = kafka_tls.ssl.rsplit(":", 1)
    mtls = {
        "security_protocol": "SSL",
        "ssl_ca": str(d / "ca.pem"),
        "ssl_cert": str(d / "client.pem"),
        "ssl_key": str(d / "client.key"),
        "ssl_key_password_env": "EVTUI_TEST_KEY_PASSWORD",
    }
    sasl_ssl = {
        "bootstrap": kafka_tls.sasl_ssl,
        "security_protocol": "SASL_SSL",
        "ssl_ca": str(d / "ca.pem"),
        "sasl_mechanism": "PLAIN",
        "username": "alice",
        "password_env": "EVTUI_TEST_ALICE_PASSWORD",
    }
    profiles = {
        "mtls": {"bootstrap": kafka_tls.ssl, **mtls},
        "mtls-localhost": {"bootstrap": f"localhost:{ssl_port}", **mtls},
        "mtls-plain-key": {
            "bootstrap": kafka_tls.ssl,
            **{k: v for k, v in mtls.items() if k != "ssl_key_password_env"},
            "ssl_key": str(d / "client-plain.key"),
        },
        "mtls-no-verify": {"bootstrap": kafka_tls.ssl, **mtls, "ssl_verify_hostname": False},
        "wrong-ca": {"bootstrap": kafka_tls.ssl, **mtls, "ssl_ca": str(d / "rogue-ca.pem")},
        "no-client-cert": {
            "bootstrap": kafka_tls.ssl,
            "security_protocol": "SSL",
            "ssl_ca": str(d / "ca.pem"),
        },
        "sasl-ssl": sasl_ssl,
        "sasl-ssl-localhost": {
            **sasl_ssl,
            "bootstrap": "localhost:" + kafka_tls.sasl_ssl.rsplit(":", 1)[1],
        },
        "sasl-ssl-wrong": {**sasl_ssl, "password_env": "EVTUI_TEST_WRONG_PASSWORD"},
    }
    other = _other_loopback_name()
    if other is not None:  # a name of this machine that the broker's certificate does not hold
        profiles["mtls-other-name"] = {"bootstrap": f"{other}:{ssl_port}", **mtls}
        profiles["mtls-other-name-no-verify"] = {
            **profiles["mtls-other-name"], "ssl_verify_hostname": False
        }  # fmt: skip
    assert ssl_host == "127.0.0.1"
    path = tmp_path / "config.toml"
    path.write_text("\n".join(_profile(name, fields) for name, fields in profiles.items()))
    env = {
        "EVTUI_TEST_KEY_PASSWORD": kafka_tls.key_password,
        "EVTUI_TEST_ALICE_PASSWORD": SASL_PASSWORD,
        "EVTUI_TEST_WRONG_PASSWORD": "not-alices-password-over-tls-42",
    }
    return path, env


def _other_loopback_name() -> str | None:
    """A host name that resolves to 127.0.0.1 and is neither localhost nor an address."""
    names = [socket.gethostname()]
    hosts = Path("/etc/hosts")
    if hosts.exists():
        for line in hosts.read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if fields and fields[0] == "127.0.0.1":
                names += fields[1:]
    for name in names:
        if name in ("localhost", "localhost.localdomain") or name.replace(".", "").isdigit():
            continue
        try:
            if socket.gethostbyname(name) == "127.0.0.1":
                return name
        except OSError:
            continue
    return None


def _tail(evtui_cli, config, env, cluster, topic, *extra, verbose=False):
    """``evtui [-v] tail TOPIC`` through a profile (``-v`` is an option of evtui itself;
    with it, librdkafka's security and broker debug log goes to stderr too)."""
    path, base_env = config
    return evtui_cli(
        *(["-v", "-X", "debug=security,broker"] if verbose else []),
        "tail", topic, "--cluster", cluster, "--config", str(path),
        "--from", "beginning", "--until", "end", "--format", "json", "--timeout", "8",
        *extra, env=base_env | (env or {}),
    )  # fmt: skip


def _values(proc) -> list:
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line)["value"] for line in proc.stdout.decode().splitlines()]


@pytest.mark.parametrize(
    "cluster",
    [
        "mtls",
        "mtls-localhost",
        "mtls-plain-key",
        "mtls-no-verify",
        "sasl-ssl",
        "sasl-ssl-localhost",
    ],
)
def test_tls_connects_and_tails_a_record_produced_on_plaintext(
    cluster, tls_config, new_topic, produce, evtui_cli
):
    # localhost and 127.0.0.1 are both in the broker certificate's SANs, so hostname
    # verification (on by default) passes for either; the broker then advertises 127.0.0.1
    topic = new_topic()
    produce(topic, [{"key": b"k", "value": b'{"over": "tls"}'}])
    assert _values(_tail(evtui_cli, tls_config, None, cluster, topic)) == [{"over": "tls"}]


def test_a_host_name_the_certificate_does_not_hold_is_named_as_the_cause(
    tls_config, new_topic, produce, evtui_cli
):
    """librdkafka blames the CA for every failed verification; evtui asks OpenSSL why."""
    name = _other_loopback_name()
    if name is None:
        pytest.skip("no other host name of this machine resolves to 127.0.0.1")
    proc = _tail(evtui_cli, tls_config, None, "mtls-other-name", "anything")
    line = assert_one_line_error(proc, "certificate verify failed")
    assert f"the broker's certificate is not for {name}" in line, line
    assert "ssl_verify_hostname = false" in line and "not signed by a CA" not in line, line
    topic = new_topic()  # and with the check off, the same name connects
    produce(topic, [{"key": b"k", "value": b'{"name": "other"}'}])
    tailed = _tail(evtui_cli, tls_config, None, "mtls-other-name-no-verify", topic)
    assert _values(tailed) == [{"name": "other"}]


def test_wrong_ca_fails_in_one_line(tls_config, evtui_cli):
    proc = _tail(evtui_cli, tls_config, None, "wrong-ca", "anything")
    line = assert_one_line_error(proc, "certificate verify failed")
    assert "TLS" in line or "SSL" in line, line
    assert "not signed by a CA evtui trusts" in line, line


def test_mtls_without_client_certificate_fails_in_one_line(tls_config, evtui_cli):
    proc = _tail(evtui_cli, tls_config, None, "no-client-cert", "anything")
    line = assert_one_line_error(proc, "client certificate")
    assert "127.0.0.1" in line, line


def test_wrong_sasl_password_over_tls_fails_in_one_line(tls_config, evtui_cli):
    proc = _tail(evtui_cli, tls_config, None, "sasl-ssl-wrong", "anything")
    line = assert_one_line_error(proc, "authentication failed")
    assert "not-alices-password-over-tls-42" not in line


@pytest.mark.parametrize("cluster", ["mtls", "sasl-ssl", "sasl-ssl-wrong", "wrong-ca"])
@pytest.mark.parametrize("verbose", [False, True])
def test_no_password_ever_shows(
    cluster, verbose, tls_config, kafka_tls, new_topic, produce, evtui_cli
):
    topic = new_topic()
    produce(topic, [{"value": b'{"n": 1}'}])
    proc = _tail(evtui_cli, tls_config, None, cluster, topic, verbose=verbose)
    if cluster in ("mtls", "sasl-ssl"):
        assert proc.returncode == 0, proc.stderr.decode()
        assert b'"n": 1' in proc.stdout or b'"n":1' in proc.stdout
    else:
        assert proc.returncode == 1, proc.stderr.decode()
    if verbose:  # the client's TLS and SASL activity was logged, and still no secret in it
        assert len(proc.stderr.splitlines()) > 5, proc.stderr.decode()
    everything = proc.stdout + proc.stderr
    for secret in (kafka_tls.key_password, SASL_PASSWORD, "not-alices-password-over-tls-42"):
        assert secret.encode() not in everything


def test_key_password_inline_is_a_secret_too(tmp_path, kafka_tls, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(topic, [{"value": b'{"inline": true}'}])
    d = kafka_tls.dir
    path = tmp_path / "config.toml"
    path.write_text(
        _profile(
            "x",
            {
                "bootstrap": kafka_tls.ssl,
                "security_protocol": "SSL",
                "ssl_ca": str(d / "ca.pem"),
                "ssl_cert": str(d / "client.pem"),
                "ssl_key": str(d / "client.key"),
                "ssl_key_password": kafka_tls.key_password,
            },
        )
    )
    proc = _tail(evtui_cli, (path, {}), None, "x", topic, verbose=True)
    assert proc.returncode == 0, proc.stderr.decode()
    assert kafka_tls.key_password.encode() not in proc.stdout + proc.stderr
    assert b'"inline": true' in proc.stdout or b'"inline":true' in proc.stdout


OWN_PORT = 29792  # and + 1 .. + 4: a broker of this test's own (SSL on 29795)


def test_restart_keeps_the_ca_a_client_trusts(tmp_path):
    """kafka-local makes its TLS material once: after restart (and a fresh start on the
    same state dir) a client holding a copy of the first CA still connects with mTLS."""
    from confluent_kafka.admin import AdminClient

    from tests.conftest import own_broker

    with own_broker(tmp_path / "kafka", OWN_PORT) as broker:
        tls = tmp_path / "kafka" / "tls"
        kept_ca = tmp_path / "ca-copy.pem"
        kept_ca.write_bytes((tls / "ca.pem").read_bytes())
        assert oct((tls / "client.key.pass").stat().st_mode & 0o777) == "0o600"

        def brokers() -> dict:
            client = AdminClient(
                {
                    "bootstrap.servers": f"127.0.0.1:{OWN_PORT + 3}",
                    "security.protocol": "SSL",
                    "ssl.ca.location": str(kept_ca),
                    "ssl.certificate.location": str(tls / "client.pem"),
                    "ssl.key.location": str(tls / "client-plain.key"),
                }
            )
            return client.list_topics(timeout=20).brokers

        assert brokers()
        restarted = broker.harness("restart")
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        assert "reusing the TLS material" in restarted.stderr
        assert f"CA {tls / 'ca.pem'}" in restarted.stderr  # start says where the CA is
        assert brokers()
        assert (tls / "ca.pem").read_bytes() == kept_ca.read_bytes()
