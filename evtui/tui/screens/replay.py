"""Replay a slice chosen in the tail: the plan, the target, a confirmation, progress, the report.

The plan and the copy run in threads through the backend (the same code as
``evtui replay``); this screen only shows their results. Closing the screen
while a copy runs stops it after the current batch; it stays resumable with
``evtui replay --resume ID --execute``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, ProgressBar, Select, Static

from evtui.core.replay import PARTITIONINGS, ReplayPlan, Selection, parse_rate, render_plan
from evtui.errors import EvtuiError

if TYPE_CHECKING:
    from evtui.application.replay import Copier, ReplayReport, ReplayRequest

Planner = Callable[[Selection, "ReplayRequest"], ReplayPlan]
# the selection, the request, a callback given the copier, and the id of the plan shown
Runner = Callable[
    [Selection, "ReplayRequest", Callable[["Copier"], None], str | None], "ReplayReport"
]


class ReplayScreen(ModalScreen[None]):
    """Escape closes (and stops a copy in progress, resumably)."""

    BINDINGS = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    ReplayScreen { align: center middle; }
    ReplayScreen > Vertical {
        width: 90%; max-width: 130; height: auto; max-height: 95%; padding: 0 2;
        border: thick $accent; background: $surface;
    }
    ReplayScreen .replay-title { text-style: bold; }
    ReplayScreen .replay-row { height: auto; }
    ReplayScreen .replay-row > * { margin-right: 2; }
    ReplayScreen #replay-target { width: 50; }
    ReplayScreen #replay-rate { width: 18; }
    ReplayScreen #replay-partitioning { width: 22; }
    ReplayScreen #replay-plan { height: auto; max-height: 16; color: $text; }
    ReplayScreen #replay-error { color: $error; }
    ReplayScreen #replay-report { height: auto; }
    """

    def __init__(self, selection: Selection, planner: Planner, runner: Runner) -> None:
        super().__init__()
        self.selection = selection
        self.planner, self.runner = planner, runner
        self.plan: ReplayPlan | None = None
        self.copier: Copier | None = None
        self.report: ReplayReport | None = None
        self.running = False
        self._plan_asked = 0  # the latest plan request (older answers are dropped)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                f"Replay {self.selection.describe()}", classes="replay-title", markup=False
            )
            with Horizontal(classes="replay-row"):
                yield Input(placeholder="target topic", id="replay-target")
                yield Select(
                    [(p, p) for p in PARTITIONINGS], value="same", allow_blank=False,
                    id="replay-partitioning",
                )  # fmt: skip
                yield Input(placeholder="rate (records/s)", id="replay-rate")
            with Horizontal(classes="replay-row"):
                yield Checkbox("keep timestamps", id="replay-keep-timestamps")
                yield Checkbox("create the topic", id="replay-create-topic")
                yield Button("Plan", id="replay-plan-button")
                yield Button("Replay", id="replay-go", variant="warning", disabled=True)
                yield Button("Close", id="replay-close")
            yield Static(
                "Type the target topic, then Plan (nothing is written).",
                id="replay-plan",
                markup=False,
            )
            yield Static("", id="replay-error", markup=False)
            yield ProgressBar(id="replay-progress", show_eta=True)
            yield Static("", id="replay-report", markup=False)

    def on_mount(self) -> None:
        self.query_one("#replay-progress", ProgressBar).display = False
        self.query_one("#replay-target", Input).focus()

    # -- the request ---------------------------------------------------------------------

    def request(self) -> ReplayRequest:
        """What the fields ask for; refusals speak of the fields, not of CLI options."""
        from evtui.application.replay import DIALOG_WORDS, ReplayRequest

        rate_text = self.query_one("#replay-rate", Input).value.strip()
        return ReplayRequest(
            target_topic=self.query_one("#replay-target", Input).value.strip(),
            filter=self.selection.filter,
            rate=parse_rate(rate_text, option="rate") if rate_text else None,
            words=DIALOG_WORDS,
            partitioning=str(self.query_one("#replay-partitioning", Select).value),
            keep_timestamps=self.query_one("#replay-keep-timestamps", Checkbox).value,
            create_topic=self.query_one("#replay-create-topic", Checkbox).value,
        )

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._invalidate()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._invalidate()

    def on_checkbox_changed(self, _event: Checkbox.Changed) -> None:
        self._invalidate()

    def _invalidate(self) -> None:
        """Options changed: the plan shown is no longer the one a Replay would run."""
        if self.running or self.report is not None:
            return
        self.plan = None
        self.query_one("#replay-go", Button).disabled = True

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_plan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "replay-plan-button": self.action_plan,
            "replay-go": self.action_go,
            "replay-close": self.action_close,
        }
        actions[event.button.id or ""]()

    # -- plan ----------------------------------------------------------------------------

    def action_plan(self) -> None:
        if self.running or self.report is not None:
            return
        try:
            request = self.request()
            if not request.target_topic:
                raise EvtuiError("type the topic to write to")
        except EvtuiError as exc:
            self._error(str(exc))
            return
        self._error("")
        self._plan_asked += 1
        asked = self._plan_asked
        self.query_one("#replay-plan", Static).update("Planning: counting the slice…")
        threading.Thread(target=self._plan, args=(request, asked), daemon=True).start()

    def _plan(self, request: ReplayRequest, asked: int) -> None:
        try:
            plan = self.planner(self.selection, request)
        except EvtuiError as exc:
            self._from_thread(self._planned, None, str(exc), asked)
        except Exception as exc:  # shown, never raised into the UI
            self._from_thread(self._planned, None, f"{type(exc).__name__}: {exc}", asked)
        else:
            self._from_thread(self._planned, plan, None, asked)

    def _planned(self, plan: ReplayPlan | None, error: str | None, asked: int) -> None:
        if asked != self._plan_asked or not self.is_attached:
            return
        self.plan = plan
        if plan is None:
            self.query_one("#replay-plan", Static).update("")
            self._error(error or "")
            return
        self.query_one("#replay-plan", Static).update(render_plan(plan))
        self.query_one("#replay-go", Button).disabled = not plan.records
        if not plan.records:
            self._error("Nothing to replay: the slice is empty.")

    # -- copy ----------------------------------------------------------------------------

    def action_go(self) -> None:
        if self.plan is None or self.running or self.report is not None:
            return
        self.running = True
        self.query_one("#replay-go", Button).disabled = True
        self.query_one("#replay-plan-button", Button).disabled = True
        bar = self.query_one("#replay-progress", ProgressBar)
        bar.display = True
        bar.update(total=self.plan.records or None, progress=0)
        request = self.request()
        replay_id = self.plan.replay_id  # the copy is the plan shown: one id for both
        threading.Thread(target=self._copy, args=(request, replay_id), daemon=True).start()

    def _copy(self, request: ReplayRequest, replay_id: str) -> None:
        try:
            report = self.runner(self.selection, request, self._started, replay_id)
        except EvtuiError as exc:
            self._from_thread(self._copied, None, str(exc))
        except Exception as exc:  # shown, never raised into the UI
            self._from_thread(self._copied, None, f"{type(exc).__name__}: {exc}")
        else:
            self._from_thread(self._copied, report, None)

    def _started(self, copier: Copier) -> None:
        self.copier = copier
        copier.progress = lambda report: self._from_thread(self._progress, report)

    def _progress(self, report: ReplayReport) -> None:
        if self.is_attached:
            written = report.written
            self.query_one("#replay-progress", ProgressBar).update(progress=written)

    def _copied(self, report: ReplayReport | None, error: str | None) -> None:
        self.running = False
        self.report = report
        if not self.is_attached:
            return
        if report is None:
            self._error(error or "")
            return
        from evtui.application.replay import render_report

        self.query_one("#replay-progress", ProgressBar).update(progress=report.written)
        text = render_report(report)
        problem = report.error or ("stopped" if report.interrupted else None)
        if problem:
            text += f"\n⚠ {problem}: resume with evtui replay --resume {report.replay_id} --execute"
        self.query_one("#replay-report", Static).update(text)

    # -- helpers -------------------------------------------------------------------------

    def _error(self, text: str) -> None:
        self.query_one("#replay-error", Static).update(text)

    def _from_thread(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app has closed
            self.app.call_from_thread(callback, *args)

    def action_close(self) -> None:
        if self.running and self.copier is not None:
            self.copier.stop_requested = True
            self.notify("Replay stopped after the current batch; it can be resumed.")
        self.dismiss(None)
