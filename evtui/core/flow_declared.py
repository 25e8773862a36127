"""Architecture drift: the flow evtui observed against the one a team declared.

A declaration is an AsyncAPI 2 or 3 document (one application per document, as
AsyncAPI describes them) or a small evtui file of services and topics, in YAML or
TOML::

    services:
      storefront:
        names: [storefront]            # what its records call it (default: its name)
        produces: [orders]
        consumes: [inventory, shipments]
        groups: [storefront-service]   # its consumer groups

What each AsyncAPI document declares: its application (``info.title``, or
``x-evtui-service``; ``x-evtui-names`` lists other names its records use) sends
to the topics of its ``send`` operations (3.x; in 2.x the channels it declares
``subscribe`` on, which AsyncAPI 2 reads as "others subscribe to what it
publishes") and receives from those of ``receive`` (2.x: ``publish``). A topic is
the Kafka channel binding's ``topic``, else the channel's address (3.x) or name
(2.x); ``{parameters}`` match any text. Consumer groups come from the operation's
Kafka binding ``groupId`` (a string, ``const`` or ``enum``).

Comparing (:func:`drift`), exactly and without guessing:

* a producer is matched to a declared service when the name its records give
  (``service`` or ``source``) is one of the service's names, else when its short
  form (``/shop/inventory`` -> ``inventory``) is one of exactly one service's names;
  records that name no producer are not compared (nobody can say whose they are);
* a group is matched to a service that lists it; a service that lists no groups
  is matched by name: the group is the service's name, or starts with it and a
  ``-``, ``_`` or ``.`` (``inventory-service``; the longest such name wins);
* reported: declared edges never observed, observed edges nobody declared, and
  topics read in the slice that no group consumes. Declared consumption is only
  judged where the groups were read (not with ``--no-groups``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from evtui.core.flow import short_label
from evtui.errors import UsageError


class DeclaredError(UsageError):
    """A declaration file that cannot be read or is not a declaration (one clear line)."""


@dataclass(frozen=True)
class Service:
    name: str
    names: frozenset[str]
    produces: frozenset[str] = frozenset()
    consumes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


@dataclass
class Declared:
    services: dict[str, Service] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def add(self, service: Service, where: str) -> None:
        old = self.services.get(service.name)
        if old is not None:  # the same application in two files: both say something of it
            service = Service(
                service.name, old.names | service.names, old.produces | service.produces,
                old.consumes | service.consumes, old.groups | service.groups,
            )  # fmt: skip
        self.services[service.name] = service
        if where not in self.files:
            self.files.append(where)


# -- reading ------------------------------------------------------------------------------------


def load(paths: Iterable[Path]) -> Declared:
    declared = Declared()
    for path in paths:
        for service in read_file(path):
            declared.add(service, str(path))
    if not declared.services:
        raise DeclaredError("--declared: no service is declared in " + ", ".join(declared.files))
    return declared


def read_file(path: Path) -> list[Service]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeclaredError(f"--declared {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DeclaredError(f"--declared {path}: not UTF-8 text") from None
    doc = _parse(path, text)
    if not isinstance(doc, Mapping):
        raise DeclaredError(f"--declared {path}: expected a mapping at the top")
    try:
        if "asyncapi" in doc:
            return [asyncapi_service(doc)]
        if "services" in doc:
            return evtui_services(doc)
    except DeclaredError as exc:
        raise DeclaredError(f"--declared {path}: {exc}") from None
    raise DeclaredError(
        f"--declared {path}: neither an AsyncAPI document (no 'asyncapi' field) nor an evtui "
        "declaration (no 'services' table)"
    )


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DeclaredError(f"--declared {path}: invalid TOML: {exc}") from None
    import yaml  # JSON is YAML too

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise DeclaredError(f"--declared {path}: invalid YAML{where}: {problem}") from None


def _names(value: Any, what: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise DeclaredError(f"{what}: expected a name or a list of names")


def evtui_services(doc: Mapping) -> list[Service]:
    services = doc["services"]
    if not isinstance(services, Mapping):
        raise DeclaredError("'services': expected a table of services")
    out = []
    for name, spec in services.items():
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise DeclaredError(f"service {name!r}: expected a table")
        unknown = set(spec) - {"names", "produces", "consumes", "groups"}
        if unknown:
            raise DeclaredError(
                f"service {name!r}: unknown field {sorted(unknown)[0]!r} "
                "(fields: names, produces, consumes, groups)"
            )
        where = f"service {name!r}"
        out.append(
            Service(
                str(name),
                _names(spec.get("names"), f"{where} names") | {str(name)},
                _names(spec.get("produces"), f"{where} produces"),
                _names(spec.get("consumes"), f"{where} consumes"),
                _names(spec.get("groups"), f"{where} groups"),
            )
        )
    return out


def asyncapi_service(doc: Mapping) -> Service:
    version = str(doc.get("asyncapi", ""))
    info = doc.get("info") if isinstance(doc.get("info"), Mapping) else {}
    name = doc.get("x-evtui-service") or info.get("x-evtui-service") or info.get("title")
    if not isinstance(name, str) or not name:
        raise DeclaredError("no application name (info.title or x-evtui-service)")
    names = _names(doc.get("x-evtui-names") or info.get("x-evtui-names"), "x-evtui-names")
    if version.startswith("2."):
        sends, receives = _asyncapi2(doc)
    elif version.startswith("3."):
        sends, receives = _asyncapi3(doc)
    else:
        raise DeclaredError(f"AsyncAPI version {version!r} is not 2.x or 3.x")
    topics_out = frozenset(t for t, _ in sends)
    topics_in = frozenset(t for t, _ in receives)
    groups = frozenset(g for _, gs in receives for g in gs)
    return Service(name, names | {name}, topics_out, topics_in, groups)


Operation = tuple[str, frozenset[str]]  # topic, consumer groups


def _asyncapi2(doc: Mapping) -> tuple[list[Operation], list[Operation]]:
    channels = doc.get("channels") or {}
    if not isinstance(channels, Mapping):
        raise DeclaredError("'channels': expected a mapping")
    sends, receives = [], []
    for name, channel in channels.items():
        channel = channel or {}
        topic = _kafka(channel).get("topic") or name
        if "subscribe" in channel:  # AsyncAPI 2: others subscribe to what the app publishes
            sends.append((str(topic), frozenset()))
        if "publish" in channel:  # others publish: the app receives
            receives.append((str(topic), _groups(channel["publish"])))
    return sends, receives


def _asyncapi3(doc: Mapping) -> tuple[list[Operation], list[Operation]]:
    channels = doc.get("channels") or {}
    operations = doc.get("operations") or {}
    if not isinstance(channels, Mapping) or not isinstance(operations, Mapping):
        raise DeclaredError("'channels' and 'operations': expected mappings")
    sends, receives = [], []
    for op_id, op in operations.items():
        if not isinstance(op, Mapping):
            raise DeclaredError(f"operation {op_id!r}: expected a mapping")
        action = op.get("action")
        ref = (
            (op.get("channel") or {}).get("$ref", "")
            if isinstance(op.get("channel"), Mapping)
            else ""
        )
        if not ref.startswith("#/channels/"):
            raise DeclaredError(f"operation {op_id!r}: its channel is not a '#/channels/...' $ref")
        channel_id = ref.removeprefix("#/channels/").replace("~1", "/").replace("~0", "~")
        channel = channels.get(channel_id)
        if not isinstance(channel, Mapping):
            raise DeclaredError(f"operation {op_id!r}: no channel {channel_id!r}")
        topic = _kafka(channel).get("topic") or channel.get("address") or channel_id
        if action == "send":
            sends.append((str(topic), frozenset()))
        elif action == "receive":
            receives.append((str(topic), _groups(op)))
        else:
            raise DeclaredError(f"operation {op_id!r}: action is {action!r}, not send or receive")
    return sends, receives


def _kafka(item: Any) -> Mapping:
    bindings = item.get("bindings") if isinstance(item, Mapping) else None
    kafka = bindings.get("kafka") if isinstance(bindings, Mapping) else None
    return kafka if isinstance(kafka, Mapping) else {}


def _groups(operation: Any) -> frozenset[str]:
    group = _kafka(operation).get("groupId")
    if isinstance(group, str):
        return frozenset([group])
    if isinstance(group, Mapping):
        if isinstance(group.get("const"), str):
            return frozenset([group["const"]])
        if isinstance(group.get("enum"), list):
            return frozenset(g for g in group["enum"] if isinstance(g, str))
    return frozenset()


# -- comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # declared_not_observed, observed_not_declared, not_consumed
    edge: str  # produces, consumes, or "" (a topic)
    source: str
    target: str

    def text(self) -> str:
        if self.kind == "not_consumed":
            return f"topic {self.target}: read in the slice, consumed by no group"
        arrow = f"{self.source} {self.edge} {self.target}"
        if self.kind == "declared_not_observed":
            return f"declared, never observed: {arrow}"
        return f"observed, not declared: {arrow}"

    @property
    def differs(self) -> bool:
        """A difference from the declaration (a topic nobody consumes may be as declared)."""
        return self.kind != "not_consumed"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "edge": self.edge, "from": self.source, "to": self.target}


def _topic_matcher(topics: Iterable[str]) -> re.Pattern[str]:
    parts = [re.escape(t) for t in topics]
    parts = [re.sub(r"\\\{[^}]*\\\}", ".+", p) for p in parts]  # {parameter}: any text
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)")


def producer_of(name: str, declared: Declared) -> Service | None:
    """The service whose names include ``name``; else the one (only) whose names include its
    short form (two would be a guess)."""
    services = declared.services.values()
    for service in services:
        if name in service.names:
            return service
    short = [s for s in services if short_label(name) in s.names]
    return short[0] if len(short) == 1 else None


def consumer_of(group: str, declared: Declared) -> Service | None:
    """The service that lists ``group``; else, among those that list no groups, the one
    named ``group`` or the longest name ``group`` starts with (then ``-``, ``_`` or ``.``):
    ``order-history-service`` is order-history's, not order's."""
    services = declared.services.values()
    for service in services:
        if group in service.groups:
            return service
    best: tuple[int, Service] | None = None
    for service in services:
        if service.groups:
            continue
        for name in service.names:
            if group == name:
                return service
            if any(group.startswith(name + sep) for sep in "-_.") and (
                best is None or len(name) > best[0]
            ):
                best = (len(name), service)
    return best[1] if best is not None else None


def drift(graph: nx.DiGraph, declared: Declared, *, groups_read: bool = True) -> list[Finding]:
    """What differs between the observed ``graph`` and ``declared`` (see the module)."""
    found: list[Finding] = []
    seen_produces: set[tuple[str, str]] = set()  # (service, topic pattern matched)
    seen_consumes: set[tuple[str, str]] = set()
    topics_read = {a["name"] for _, a in graph.nodes(data=True) if a["kind"] == "topic"
                   and (a.get("count") or 0) > 0}  # fmt: skip
    for u, v, data in graph.edges(data=True):
        source, target = graph.nodes[u], graph.nodes[v]
        if data["kind"] == "produces" and source["kind"] == "service":
            service = producer_of(source["name"], declared)
            topic = target["name"]
            match = service and _declared_topic(topic, service.produces)
            if match:
                seen_produces.add((service.name, match))
            else:
                found.append(Finding("observed_not_declared", "produces", source["name"], topic))
        elif data["kind"] == "consumes":
            service = consumer_of(target["name"], declared)
            topic = source["name"]
            match = service and _declared_topic(topic, service.consumes)
            if match:
                seen_consumes.add((service.name, match))
            elif topic in topics_read:  # a group of a topic outside the slice: not judged
                found.append(Finding("observed_not_declared", "consumes", target["name"], topic))
    for service in declared.services.values():
        for topic in sorted(service.produces):
            if (service.name, topic) not in seen_produces and _in_slice(topic, topics_read):
                found.append(Finding("declared_not_observed", "produces", service.name, topic))
        for topic in sorted(service.consumes) if groups_read else ():
            if (service.name, topic) not in seen_consumes and _in_slice(topic, topics_read):
                found.append(Finding("declared_not_observed", "consumes", service.name, topic))
    if groups_read:
        consumed = {graph.nodes[u]["name"] for u, _, k in graph.edges(data="kind")
                    if k == "consumes"}  # fmt: skip
        for topic in sorted(topics_read - consumed):
            found.append(Finding("not_consumed", "", "", topic))
    return sorted(found, key=lambda f: (f.kind, f.edge, f.source, f.target))


def _declared_topic(topic: str, declared: frozenset[str]) -> str | None:
    """The declared topic (or pattern) that ``topic`` is, if any."""
    for pattern in sorted(declared):
        if _topic_matcher([pattern]).fullmatch(topic):
            return pattern
    return None


def _in_slice(pattern: str, topics_read: set[str]) -> bool:
    """A declared topic is judged only when the slice read it (else nothing was observed
    there: absence proves nothing)."""
    matcher = _topic_matcher([pattern])
    return any(matcher.fullmatch(t) for t in topics_read)
