"""A one-line question (topics, seek position, filter) with inline validation."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

Validator = Callable[[str], str | None]  # returns an error message, or None when valid


class PromptScreen(ModalScreen[str | None]):
    """Enter submits (when valid), Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 80%; max-width: 100; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    PromptScreen .prompt-title { text-style: bold; }
    PromptScreen .prompt-hint { color: $text-muted; }
    PromptScreen .prompt-error { color: $error; }
    """

    def __init__(
        self, title: str, hint: str, value: str = "", validate: Validator | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="prompt-title", markup=False)
            yield Input(value=self.value, id="prompt-input")
            yield Static(self.hint, classes="prompt-hint", markup=False)
            yield Static("", id="prompt-error", classes="prompt-error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.validate(event.value) if self.validate else None
        if error:
            self.query_one("#prompt-error", Static).update(error)
            return
        self.dismiss(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)
