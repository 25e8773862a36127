"""The header tells the truth about the connection: "cannot connect" before the first
success, and no broker count while the cluster does not answer."""

from __future__ import annotations

from evtui.core.cluster import ConnectionState
from tests.tui.helpers import demo_app, kafka_app, settle, wait_for


def header(app) -> str:
    return str(app.query_one("#header").render())


async def test_a_wrong_port_says_cannot_connect_with_the_reason_never_reconnecting():
    app = kafka_app("127.0.0.1:1")  # nothing listens there: refused at once
    seen: list[str] = []

    def cannot_connect() -> bool:
        seen.append(app.header_state.connection)
        return "● cannot connect: " in header(app)

    async with app.run_test(size=(200, 30)) as pilot:
        assert await wait_for(pilot, cannot_connect, timeout=60), seen[-1]
        reason = app.poller.last_error
        assert reason and f"● cannot connect: {reason}" in header(app)
        assert "127.0.0.1:1" in reason
        assert "reconnecting" not in seen
        assert "broker" not in header(app)


async def test_the_broker_count_goes_while_the_cluster_does_not_answer():
    app = demo_app(seconds=5)
    async with app.run_test(size=(200, 30)) as pilot:
        await settle(pilot, app)
        assert await wait_for(pilot, lambda: "1 broker" in header(app))
        app.poller.stop()
        app.poller.state = ConnectionState.RECONNECTING  # what a poll that failed leaves
        assert await wait_for(pilot, lambda: "● reconnecting" in header(app))
        assert "broker" not in header(app)
