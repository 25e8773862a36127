"""Render the app's main screens to SVG (see scripts/screenshots)."""

from __future__ import annotations

import sys
from pathlib import Path

from textual._doc import take_svg_screenshot

from evtui.tui.testing import after, demo_app

SIZE = (160, 40)
SCREENS = {
    "overview": ("1",),
    "tail": (),
    "tail-filtered": ("e", *'topic == "payments"', "enter", "k", "k", "k"),
    "detail": ("k", "enter"),
    "help": ("question_mark",),
    "trace": ("k", "k", "k", "T"),
    "lag": ("3",),
    "violations": ("4", "j", "enter"),
    "flow": ("5", "l", "l", "l", "l", "l", "l", "l"),  # the cursor on a hop: its evidence
}
# seconds of simulated history: the stopped group is stopped by then; more faults to show
LONGER = {"lag": 90.0, "violations": 40.0, "overview": 90.0, "narrow": 40.0, "flow": 90.0}
NARROW = (80, 24)  # a classic terminal: layouts by priority
SCREENS["narrow"] = ("4", "j", "enter")  # the violations' findings at 80x24, badge in view
SIZES = {"narrow": NARROW}
# the demo through an in-memory schema registry: an Avro order's detail, with its schema
SCREENS["detail-avro"] = ("e", *'topic == "orders"', "enter", "k", "k", "enter")
REGISTRY = {"detail-avro": "mock://screenshots"}


def main(out: Path, names: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names or list(SCREENS):
        if name not in SCREENS:
            sys.exit(f"screenshots: unknown screen '{name}' (known: {', '.join(SCREENS)})")
        app = demo_app(seconds=LONGER.get(name, 20.0), registry=REGISTRY.get(name))
        svg = take_svg_screenshot(
            app=app, terminal_size=SIZES.get(name, SIZE), run_before=after(app, *SCREENS[name])
        )
        svg = svg.replace("<title>evtui</title>", f"<title>evtui: {name}</title>")
        (out / f"{name}.svg").write_text(svg)
        print(f"screenshots/{name}.svg")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
