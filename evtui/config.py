"""Cluster profiles and client configuration, with secrets kept out of output.

The config file is TOML, at ``--config``, else ``$EVTUI_CONFIG``, else
``<user config dir>/evtui/config.toml``::

    [clusters.local]
    bootstrap = "127.0.0.1:19092"

    [clusters.staging]
    bootstrap = "kafka-1:9093,kafka-2:9093"
    security_protocol = "SASL_SSL"        # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism = "SCRAM-SHA-256"      # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...
    username = "svc-evtui"
    password_env = "STAGING_KAFKA_PASSWORD"   # or: password = "..."

    [clusters.staging.properties]         # any librdkafka property
    "ssl.ca.location" = "/etc/ssl/staging-ca.pem"

    [clusters.mtls]
    bootstrap = "kafka-1:9094"
    security_protocol = "SSL"
    ssl_ca = "/etc/ssl/ca.pem"            # ssl.ca.location (default: the system's CAs)
    ssl_cert = "/etc/ssl/evtui.pem"       # ssl.certificate.location (mTLS)
    ssl_key = "/etc/ssl/evtui.key"        # ssl.key.location
    ssl_key_password_env = "EVTUI_KEY_PASSWORD"   # or: ssl_key_password = "..."
    ssl_verify_hostname = true            # false: ssl.endpoint.identification.algorithm=none

Precedence: profile < ``--bootstrap-servers`` < ``-X key=value``.

A profile may name its Schema Registry (the ``evtui-schema-registry`` plugin
decodes Avro, Protobuf and JSON Schema values through it)::

    [clusters.staging.schema_registry]
    url = "https://registry.staging:8081"     # Confluent API (Apicurio: .../apis/ccompat/v7)
    username = "svc-evtui"
    password_env = "STAGING_REGISTRY_PASSWORD" # or: password = "..."
    ssl_ca = "/etc/ssl/staging-ca.pem"        # optional

``--schema-registry URL`` (or ``$EVTUI_SCHEMA_REGISTRY_URL``) overrides the
profile's url; credentials may ride in it (``https://user:pass@host``).

The same file may hold identity rules (see ``evtui.core.ids``), installed by
every command at start-up::

    [ids]
    ignore = ["correlationId"]            # built-in names to switch off (optional)

    [[ids.rules]]
    field = "correlation_id"              # a field of EventIds
    header = "X-Request-Id"               # or: json = "meta.requestId" (items.0.id)
    regex = "req=(?P<id>[0-9a-f]{32})"    # optional: group "id", else group 1
    topics = "^orders"                    # optional: only topics this regex finds
    override = true                      # win over the built-ins (default: fallback)
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evtui.core.ids import RULE_FIELDS, IdRule, IdRules, set_rules
from evtui.errors import ConfigError, UsageError
from evtui.paths import config_dir

PROFILE_FIELDS = frozenset(
    {
        "bootstrap",
        "security_protocol",
        "sasl_mechanism",
        "username",
        "password",
        "password_env",
        "properties",
        "schema_registry",
        "ssl_ca",
        "ssl_cert",
        "ssl_key",
        "ssl_key_password",
        "ssl_key_password_env",
        "ssl_verify_hostname",
    }
)
# TLS fields of a profile and the librdkafka property each one sets
SSL_PATH_FIELDS = {
    "ssl_ca": "ssl.ca.location",
    "ssl_cert": "ssl.certificate.location",
    "ssl_key": "ssl.key.location",
}
REGISTRY_FIELDS = ("url", "username", "password", "password_env", "ssl_ca")
ID_KEYS = ("ignore", "rules")
ID_RULE_KEYS = ("field", "header", "json", "regex", "topics", "override", "split")
_SECRET_KEY = re.compile(r"(password|secret|token|credential|\.key\.pem|private\.key)", re.I)
REDACTED = "********"


class Secret:
    """A string that never shows itself in str(), repr() or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_secret_key(key: str) -> bool:
    """Whether a librdkafka property holds a secret (its value is never shown)."""
    return bool(_SECRET_KEY.search(key))


@dataclass(frozen=True)
class SchemaRegistrySettings:
    """Where the Schema Registry is and how to log in (secrets kept as :class:`Secret`)."""

    url: str
    username: str | None = None
    password: Secret | None = None
    ssl_ca: str | None = None

    def client_conf(self) -> dict[str, str]:
        """confluent-kafka ``SchemaRegistryClient`` settings (the only place secrets show)."""
        conf = {"url": self.url}
        if self.username is not None:
            password = self.password.reveal() if self.password is not None else ""
            conf["basic.auth.user.info"] = f"{self.username}:{password}"
        if self.ssl_ca:
            conf["ssl.ca.location"] = self.ssl_ca
        return conf

    def scrub(self, text: str) -> str:
        """Remove the password from a message before anyone sees it."""
        secret = self.password.reveal() if self.password is not None else ""
        return text.replace(secret, REDACTED) if secret else text


def parse_registry_url(url: str, where: str = "--schema-registry") -> SchemaRegistrySettings:
    """A registry URL, with any ``user:password@`` taken out of it into the settings."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid {where}: {exc}") from None
    if parts.scheme == "mock" and parts.hostname:  # confluent-kafka's in-memory registry
        return SchemaRegistrySettings(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = _strip_userinfo(text)
        raise UsageError(f"invalid {where} '{shown}': expected http(s)://HOST[:PORT][/PATH]")
    if parts.username is None and parts.password is None:
        return SchemaRegistrySettings(text.rstrip("/"))
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # an IPv6 address
        netloc = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    plain = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    password = None if parts.password is None else Secret(unquote(parts.password))
    return SchemaRegistrySettings(plain.rstrip("/"), unquote(parts.username or ""), password)


def _strip_userinfo(text: str) -> str:
    return re.sub(r"//[^/@]*@", f"//{REDACTED}@", text)


def parse_registry_table(raw: object, where: str) -> SchemaRegistrySettings:
    where = f"{where}: schema_registry"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    _no_unknown_keys(raw, REGISTRY_FIELDS, where)
    for key in REGISTRY_FIELDS:
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    if "url" not in raw:
        raise ConfigError(f"{where}: url is missing")
    if "password" in raw and "password_env" in raw:
        raise ConfigError(f"{where}: give password or password_env, not both")
    try:
        settings = parse_registry_url(raw["url"], f"{where} url")
    except UsageError as exc:
        raise ConfigError(str(exc)) from None
    username = raw.get("username", settings.username)
    password = _password(raw, where) or settings.password
    return SchemaRegistrySettings(settings.url, username, password, raw.get("ssl_ca"))


def resolve_schema_registry(
    url: str | None, cluster: str | None = None, config: str | Path | None = None
) -> SchemaRegistrySettings | None:
    """The registry: ``--schema-registry``/``$EVTUI_SCHEMA_REGISTRY_URL`` over the profile's."""
    profile = None
    if cluster:
        path = config_path(config)
        profile = load_profile(cluster, path).schema_registry
    if not url:
        return profile
    given = parse_registry_url(url)
    if given.username is not None or profile is None:
        return given
    return SchemaRegistrySettings(given.url, profile.username, profile.password, profile.ssl_ca)


@dataclass
class ClusterProfile:
    name: str
    bootstrap: str | None = None
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    username: str | None = None
    password: Secret | None = None
    properties: dict[str, str | Secret] = field(default_factory=dict)
    schema_registry: SchemaRegistrySettings | None = None
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_key_password: Secret | None = None
    ssl_verify_hostname: bool | None = None

    def client_properties(self) -> dict[str, str | Secret]:
        props: dict[str, str | Secret] = {}
        if self.bootstrap:
            props["bootstrap.servers"] = self.bootstrap
        if self.security_protocol:
            props["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            props["sasl.mechanism"] = self.sasl_mechanism
        if self.username is not None:
            props["sasl.username"] = self.username
        if self.password is not None:
            props["sasl.password"] = self.password
        for name, prop in SSL_PATH_FIELDS.items():
            value = getattr(self, name)
            if value:
                props[prop] = value
        if self.ssl_key_password is not None:
            props["ssl.key.password"] = self.ssl_key_password
        if self.ssl_verify_hostname is not None:
            props["ssl.endpoint.identification.algorithm"] = (
                "https" if self.ssl_verify_hostname else "none"
            )
        props.update(self.properties)
        return props


@dataclass
class ClientConfig:
    """librdkafka properties for one cluster; secret values wrapped in :class:`Secret`."""

    properties: dict[str, str | Secret]
    source: str = "command line"  # where it came from, for messages

    @property
    def bootstrap(self) -> str:
        value = self.properties.get("bootstrap.servers", "")
        return value if isinstance(value, str) else REDACTED

    def to_librdkafka(self) -> dict[str, str]:
        """Plain properties for the client (the only place secrets are revealed)."""
        return {k: v.reveal() if isinstance(v, Secret) else v for k, v in self.properties.items()}

    def redacted(self) -> dict[str, str]:
        return {k: REDACTED if isinstance(v, Secret) else v for k, v in self.properties.items()}

    def secrets(self) -> list[str]:
        return [
            v.reveal() for v in self.properties.values() if isinstance(v, Secret) and v.reveal()
        ]

    def scrub(self, text: str) -> str:
        """Remove every secret value from a message before anyone sees it."""
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("EVTUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return default_config_path()


def load_file(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None


def load_profile(name: str, path: Path) -> ClusterProfile:
    data = load_file(path)
    clusters = data.get("clusters", {})
    if not isinstance(clusters, dict) or name not in clusters:
        known = ", ".join(sorted(clusters)) if isinstance(clusters, dict) and clusters else "none"
        raise ConfigError(f"unknown cluster '{name}' in {path} (profiles: {known})")
    return parse_profile(name, clusters[name], path)


def parse_profile(name: str, raw: object, path: Path | str = "config") -> ClusterProfile:
    where = f"{path}: cluster '{name}'"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(raw) - PROFILE_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {', '.join(unknown)} "
            f"(fields: {', '.join(sorted(PROFILE_FIELDS))})"
        )
    for key in (
        "bootstrap",
        "security_protocol",
        "sasl_mechanism",
        "username",
        "password",
        "password_env",
        "ssl_ca",
        "ssl_cert",
        "ssl_key",
        "ssl_key_password",
        "ssl_key_password_env",
    ):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    if "password" in raw and "password_env" in raw:
        raise ConfigError(f"{where}: give password or password_env, not both")
    if "ssl_verify_hostname" in raw and not isinstance(raw["ssl_verify_hostname"], bool):
        raise ConfigError(f"{where}: ssl_verify_hostname must be true or false")
    password = _password(raw, where)
    key_password = _password(raw, where, "ssl_key_password")
    props = raw.get("properties", {})
    if not isinstance(props, dict):
        raise ConfigError(f"{where}: properties must be a table of librdkafka properties")
    return ClusterProfile(
        name=name,
        bootstrap=raw.get("bootstrap"),
        security_protocol=raw.get("security_protocol"),
        sasl_mechanism=raw.get("sasl_mechanism"),
        username=raw.get("username"),
        password=password,
        properties={str(k): _prop_value(k, v) for k, v in props.items()},
        schema_registry=_registry_of(raw, where),
        ssl_ca=_path_of(raw, "ssl_ca"),
        ssl_cert=_path_of(raw, "ssl_cert"),
        ssl_key=_path_of(raw, "ssl_key"),
        ssl_key_password=key_password,
        ssl_verify_hostname=raw.get("ssl_verify_hostname"),
    )


def _path_of(raw: Mapping, key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else os.path.expanduser(value)


def _registry_of(raw: Mapping, where: str) -> SchemaRegistrySettings | None:
    table = raw.get("schema_registry")
    return None if table is None else parse_registry_table(table, where)


def _password(raw: Mapping, where: str, key: str = "password") -> Secret | None:
    """``KEY`` inline or ``KEY_env`` (an environment variable's name), never both."""
    env_key = f"{key}_env"
    if key in raw and env_key in raw:
        raise ConfigError(f"{where}: give {key} or {env_key}, not both")
    if key in raw:
        return Secret(raw[key])
    var = raw.get(env_key)
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ConfigError(f"{where}: environment variable {var} ({env_key}) is not set")
    return Secret(value)


def _prop_value(key: str, value: object) -> str | Secret:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return Secret(text) if is_secret_key(key) else text


def parse_x_options(items: Iterable[str]) -> dict[str, str | Secret]:
    """``-X key=value`` pairs (kcat style) to properties."""
    props: dict[str, str | Secret] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"invalid -X '{_mask_item(item)}': expected key=value")
        props[key] = Secret(value) if is_secret_key(key) else value
    return props


def _mask_item(item: str) -> str:
    key = item.partition("=")[0]
    return f"{key}={REDACTED}" if is_secret_key(key) else item


def resolve_client_config(
    *,
    bootstrap: str | None = None,
    cluster: str | None = None,
    x_options: Iterable[str] = (),
    config: str | Path | None = None,
) -> ClientConfig:
    """Combine a profile, ``--bootstrap-servers`` and ``-X`` into one config."""
    props: dict[str, str | Secret] = {}
    source = "command line"
    if cluster:
        path = config_path(config)
        props.update(load_profile(cluster, path).client_properties())
        source = f"cluster '{cluster}'"
    if bootstrap:
        props["bootstrap.servers"] = bootstrap
    props.update(parse_x_options(x_options))
    if not props.get("bootstrap.servers"):
        raise UsageError(
            "no cluster given: use --bootstrap-servers HOST:PORT, --cluster NAME "
            "(a profile in the config file) or EVTUI_BOOTSTRAP_SERVERS"
        )
    return ClientConfig(props, source)


def load_id_rules(explicit: str | Path | None = None) -> IdRules | None:
    """The config file's ``[ids]`` section, or None without one.

    A missing file is no error unless it was named with ``--config``.
    """
    path = config_path(explicit)
    if not explicit and not path.is_file():
        return None
    data = load_file(path)
    return parse_id_rules(data["ids"], path) if "ids" in data else None


def install_id_rules(
    explicit: str | Path | None = None, plugin_rules: Iterable[IdRule] = ()
) -> IdRules:
    """Use the plugins' identity rules, then the config file's (none: the built-ins alone)."""
    rules = load_id_rules(explicit) or IdRules()
    extra = tuple(plugin_rules)
    return set_rules(IdRules(extra + rules.rules, rules.ignore) if extra else rules)


def parse_id_rules(raw: object, path: Path | str = "config") -> IdRules:
    """An ``[ids]`` table, validated: ConfigError names the file and the rule."""
    where = f"{path}: [ids]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    _no_unknown_keys(raw, ID_KEYS, where)
    rules = raw.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{where}: rules must be an array of tables ([[ids.rules]])")
    parsed = tuple(
        _id_rule(rule, f"{path}: [[ids.rules]] #{n}") for n, rule in enumerate(rules, start=1)
    )
    ignore = raw.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(name, str) for name in ignore):
        raise ConfigError(f"{where}: ignore must be a list of header or JSON names")
    try:
        return IdRules(parsed, tuple(ignore))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _id_rule(raw: object, where: str) -> IdRule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    _no_unknown_keys(raw, ID_RULE_KEYS, where)
    if "field" not in raw:
        raise ConfigError(f"{where}: field is missing (one of {', '.join(RULE_FIELDS)})")
    for key, value in raw.items():
        if key == "override" and not isinstance(value, bool):
            raise ConfigError(f"{where}: override must be true or false")
        if key != "override" and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
    try:
        return IdRule(**raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _no_unknown_keys(raw: dict, known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(unknown)} (keys: {', '.join(known)})")
