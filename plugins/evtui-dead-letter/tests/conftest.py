from __future__ import annotations

import pytest

from evtui.core.ordering import set_plugin_detectors


@pytest.fixture
def plugin_detectors():
    """The plugin's detector set as evtui sets it after loading plugins; reset after."""
    from evtui_dead_letter import KIND, DeadLetterDetector

    set_plugin_detectors([((KIND,), DeadLetterDetector)])
    yield
    set_plugin_detectors(())
