"""Protobuf schemas given as ``.proto`` text, made into descriptors without compiled classes.

The registry hands out ``.proto`` text (and the texts it imports, as references).
They are compiled by protoc itself, the reference parser, shipped in the
``grpcio-tools`` wheel: it reads every corner of the language (options, nested
and extension types, ``map``, ``oneof``, the well-known types) exactly as the
producer's build did. It runs in a child process, so a crash or a hang there is
a decode problem of that schema, never evtui's. Why not the registry's own
descriptors (``?format=serialized``): Confluent's registry sends them base64,
Apicurio's ccompat API as raw bytes in a JSON string, so neither can be relied on.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path, PurePosixPath

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor

MAIN = "evtui_registry_schema.proto"
PROTOC_TIMEOUT_S = 30.0


class ProtoError(Exception):
    """A schema protoc does not compile (the reason is protoc's first lines)."""


def compile_files(main: str, imports: dict[str, str]) -> descriptor_pb2.FileDescriptorSet:
    """The descriptors of ``main`` (text) and everything it imports (name -> text)."""
    with tempfile.TemporaryDirectory(prefix="evtui-proto-") as tmp:
        root = Path(tmp)
        for name, text in {**imports, MAIN: main}.items():
            path = PurePosixPath(name)
            if path.is_absolute() or ".." in path.parts:
                raise ProtoError(f"reference name {name!r} is not a relative path")
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        out = root / "set.pb"
        include = resources.files("grpc_tools") / "_proto"
        command = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{root}",
            f"-I{include}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            MAIN,
        ]
        try:
            done = subprocess.run(
                command, cwd=root, capture_output=True, text=True, timeout=PROTOC_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise ProtoError(f"protoc took over {PROTOC_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0 or not out.exists():
            lines = (done.stderr or done.stdout or "protoc failed").strip().splitlines()
            raise ProtoError("; ".join(lines[:3])[:300])
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
        return fds


class ProtoSchema:
    """A compiled schema: messages found by the wire format's indexes, read to JSON-like."""

    def __init__(self, main: str, imports: dict[str, str]) -> None:
        fds = compile_files(main, imports)
        self.pool = descriptor_pool.DescriptorPool()
        self.file: descriptor_pb2.FileDescriptorProto | None = None
        for fd in fds.file:  # dependencies come first
            self.pool.Add(fd)
            if fd.name == MAIN:
                self.file = fd
        if self.file is None:
            raise ProtoError("protoc gave no descriptor for the schema")
        self._classes: dict[tuple[int, ...], tuple[str, type]] = {}

    def message(self, indexes: list[int]) -> tuple[str, type]:
        """(full name, message class) of the message the indexes name."""
        key = tuple(indexes)
        found = self._classes.get(key)
        if found is None:
            name = self._full_name(indexes)
            desc: Descriptor = self.pool.FindMessageTypeByName(name)
            found = (name, message_factory.GetMessageClass(desc))
            self._classes[key] = found
        return found

    def _full_name(self, indexes: list[int]) -> str:
        assert self.file is not None
        messages = self.file.message_type
        names = []
        for index in indexes:
            if index >= len(messages):
                raise ProtoError(f"message index {index} out of range ({len(messages)} there)")
            names.append(messages[index].name)
            messages = messages[index].nested_type
        package = self.file.package
        return ".".join([package, *names] if package else names)

    def read(self, indexes: list[int], payload: bytes) -> tuple[str, dict]:
        """(message name, the message as the proto3 JSON mapping, field names as declared)."""
        name, cls = self.message(indexes)
        msg = cls()
        msg.ParseFromString(payload)
        return name, json_format.MessageToDict(
            msg,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
