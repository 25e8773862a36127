"""GC pacing for the UI (see evtui.runtime)."""

import gc
import time

from evtui.runtime import PacedCollector


def test_paced_collector_takes_over_full_collections_and_gives_them_back():
    before = gc.get_threshold()
    collector = PacedCollector(idle_s=0.0, full_every_s=0.0)
    collector.start()
    try:
        assert gc.get_threshold()[2] > 1_000_000
        collector.tick()
        assert collector.full_collections == 1  # idle and due
    finally:
        collector.stop()
    assert gc.get_threshold() == before


def test_no_full_collection_while_the_user_types_unless_overdue():
    collector = PacedCollector(idle_s=60.0, full_every_s=0.0, full_max_s=3600.0)
    collector.input_seen()
    collector.tick()
    assert collector.full_collections == 0
    collector.full_max_s = 0.0
    time.sleep(0.01)
    collector.tick()
    assert collector.full_collections == 1
