"""Everything about one event: metadata, identity, headers, key and the payload."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from evtui.core import decode as fmt
from evtui.core.event import Event
from evtui.core.output import dumps, event_to_json, hex_dump, key_summary
from evtui.core.positions import format_ms
from evtui.core.text import one_line
from evtui.tui.widgets.footer import Footer

PRETTY_LIMIT = 512 * 1024  # larger payloads are shown as text, not highlighted


def export_dir() -> Path:
    from evtui.paths import state_dir

    return state_dir() / "events"


def event_json_text(event: Event) -> str:
    return json.dumps(event_to_json(event), indent=2, ensure_ascii=False)


def _meta(event: Event) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    decoded = event.decoded
    ids = event.ids
    rows = [
        ("ref", event.ref),
        ("time", f"{format_ms(event.timestamp)} ({event.ts_type.label})"),
        ("key", key_summary(event.key)),
        ("size", f"{event.size:,} bytes"),
        ("format", f"{decoded.format} (decoder {decoded.decoder})"),
        ("schema id", None if decoded.schema_id is None else str(decoded.schema_id)),
        ("schema", None if decoded.schema is None else decoded.schema.describe()),
        ("event type", ids.event_type),
        ("event id", ids.event_id),
        ("correlation id", ids.correlation_id),
        ("causation ids", ", ".join(ids.causation_ids) or None),
        ("trace / span", "/".join(x for x in (ids.trace_id, ids.span_id) if x) or None),
        ("service", ids.service),
        ("source", ids.source),
    ]
    for name, value in rows:
        if value is not None:
            table.add_row(name, Text(value))
    if decoded.error:
        table.add_row(Text("decode error", style="bold red"), Text(decoded.error, style="red"))
    return table


def _headers(event: Event) -> RenderableType:
    if not event.headers:
        return Text("(no headers)", style="#8a8a8a")
    table = Table(show_edge=False, box=None, padding=(0, 2), header_style="bold")
    table.add_column("HEADER", no_wrap=True)
    table.add_column("VALUE")
    for name, value in event.headers:
        table.add_row(Text(one_line(name)), _header_value(value))  # data, not markup
    return table


def _header_value(value: bytes | None) -> Text:
    if value is None:
        return Text("<null>", style="#8a8a8a")
    try:
        return Text(one_line(value.decode()))
    except UnicodeDecodeError:
        return Text("0x" + value.hex(), style="magenta")


def payload(event: Event, as_hex: bool) -> RenderableType:
    data = event.value
    if data is None:
        return Text("<null> (a tombstone)", style="#8a8a8a")
    decoded = event.decoded
    if as_hex or isinstance(decoded.value, bytes):
        return Text(hex_dump(data), style="magenta")
    if decoded.format == fmt.JSON and len(data) <= PRETTY_LIMIT:
        pretty = json.dumps(decoded.value, indent=2, ensure_ascii=False)
        return Syntax(pretty, "json", theme="ansi_dark", word_wrap=True)
    if decoded.format == fmt.JSON:
        return Text(dumps(decoded.value))
    return Text(str(decoded.value))


def schema_section(event: Event) -> RenderableType:
    """The registry schema the value was written with (nothing when there is none)."""
    schema = event.decoded.schema
    if schema is None:
        return Text("")
    title = Text(f"Schema id {event.decoded.schema_id}: {schema.describe()}")
    title.stylize("bold underline")
    lexer = {"AVRO": "json", "JSON": "json", "PROTOBUF": "protobuf"}.get(schema.schema_type)
    text = schema.text
    if lexer == "json":
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            lexer = None
    body = Syntax(text, lexer, theme="ansi_dark", word_wrap=True) if lexer else Text(text)
    return Group(Text(""), title, body)


class DetailScreen(Screen):
    """Opened with Enter on a tail row; Escape goes back to where you were."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("c", "copy", "Copy JSON"),
        Binding("x", "toggle_hex", "Hex / decoded"),
        Binding("j,down", "scroll_down", "Down", show=False),
        Binding("k,up", "scroll_up", "Up", show=False),
    ]

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        self.as_hex = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(id="detail-title", markup=False)
            yield Static(id="detail-meta", markup=False)
            yield Static(id="detail-headers", markup=False)
            yield Static(id="detail-value", markup=False)
            yield Static(id="detail-schema", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        event = self.event
        self.query_one("#detail-title", Static).update(
            Text(f"Event {event.ref}", style="bold #5fafff")
        )
        self.query_one("#detail-meta", Static).update(_meta(event))
        self.query_one("#detail-headers", Static).update(
            Group(Text(f"Headers ({len(event.headers)})", style="bold underline"), _headers(event))
        )
        self._show_value()
        schema = self.query_one("#detail-schema", Static)
        schema.display = event.decoded.schema is not None  # no room taken by nothing
        schema.update(schema_section(event))
        self.query_one("#detail", VerticalScroll).focus()

    def _show_value(self) -> None:
        event = self.event
        size = 0 if event.value is None else len(event.value)
        title = Text(f"Value ({size:,} bytes, {'hex' if self.as_hex else event.decoded.format})")
        title.stylize("bold underline")
        self.query_one("#detail-value", Static).update(Group(title, payload(event, self.as_hex)))

    def action_toggle_hex(self) -> None:
        self.as_hex = not self.as_hex
        self._show_value()

    def action_scroll_down(self) -> None:
        self.query_one("#detail", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#detail", VerticalScroll).scroll_up()

    def action_copy(self) -> None:
        """To the clipboard (OSC 52, where the terminal allows it) and always to a file."""
        text = event_json_text(self.event)
        self.app.copy_to_clipboard(text)
        try:
            folder = export_dir()
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{self.event.topic}-{self.event.partition}-{self.event.offset}.json"
            path = folder / name.replace("/", "_")
            path.write_text(text + "\n")
        except OSError as exc:
            self.notify(f"Copied to the clipboard; saving a file failed: {exc}", severity="warning")
            return
        self.notify(f"Copied as JSON to the clipboard (if the terminal allows) and saved to {path}")
