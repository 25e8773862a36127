"""Fuzzing budgets: small in CI, larger on demand.

    EVTUI_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/fuzz -p no:cacheprovider

runs every fuzz test with that many examples (the default is 200 each, a few
seconds in all). No exception may escape but evtui's documented error type
(``evtui.errors.EvtuiError``), and decoding or identity extraction never raise.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "evtui-fuzz",
    max_examples=int(os.environ.get("EVTUI_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("evtui-fuzz")
