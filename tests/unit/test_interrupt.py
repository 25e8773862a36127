"""Ctrl-C first asks Kafka work to stop, then interrupts (evtui.commands.interrupt)."""

from __future__ import annotations

import signal
import threading

import pytest

from evtui.commands.interrupt import ctrl_c_calls


def test_the_first_ctrl_c_asks_to_stop_and_the_second_interrupts() -> None:
    stopped = threading.Event()
    with ctrl_c_calls(stopped.set) as ctrl_c:
        signal.raise_signal(signal.SIGINT)
        assert stopped.is_set() and ctrl_c.requested
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_handler_before_is_back_after_the_block() -> None:
    with ctrl_c_calls(lambda: None) as ctrl_c:
        pass
    assert not ctrl_c.requested
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_off_the_main_thread_nothing_changes() -> None:
    seen: list[object] = []

    def work() -> None:
        with ctrl_c_calls(lambda: None) as ctrl_c:
            seen.append(signal.getsignal(signal.SIGINT))
        seen.append(ctrl_c.requested)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler, False]
