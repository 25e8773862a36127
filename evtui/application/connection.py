"""Connection options: where and how a command reaches a cluster (and its schema registry).

The CLI builds a ``Connection`` from its root options and a command's own; the commands
that open sources and targets read their client settings from it. Resolving a profile or
a config file is ``evtui.config``'s job, imported only when a connection is used, so that
``evtui --help`` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evtui.config import ClientConfig, SchemaRegistrySettings

__all__ = ["Connection"]


@dataclass
class Connection:
    """Where and how to connect, from the root options and the command's own."""

    bootstrap: str | None = None
    cluster: str | None = None
    x_options: list[str] = field(default_factory=list)
    config: str | None = None
    timeout: float | None = None  # seconds; None: the default of 10
    schema_registry: str | None = None  # --schema-registry (else the profile's)

    def merged(self, other: Connection) -> Connection:
        return Connection(
            bootstrap=other.bootstrap or self.bootstrap,
            cluster=other.cluster or self.cluster,
            x_options=[*self.x_options, *other.x_options],
            config=other.config or self.config,
            timeout=other.timeout or self.timeout,
            schema_registry=other.schema_registry or self.schema_registry,
        )

    def registry_settings(self) -> SchemaRegistrySettings | None:
        from evtui.config import resolve_schema_registry

        return resolve_schema_registry(self.schema_registry, self.cluster, self.config)

    @property
    def wait(self) -> float:
        return self.timeout or 10.0

    def client_config(self) -> ClientConfig:
        from evtui.config import resolve_client_config

        return resolve_client_config(
            bootstrap=self.bootstrap,
            cluster=self.cluster,
            x_options=self.x_options,
            config=self.config,
        )
