"""Every place evtui reads or writes on disk, in one module.

``EVTUI_STATE_DIR`` and ``EVTUI_CONFIG`` override the user's directories (the test
suite points them at a temporary folder, so it never writes into a real home).
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """``$EVTUI_STATE_DIR``, else the user's state directory (replay checkpoints, exports)."""
    given = os.environ.get("EVTUI_STATE_DIR")
    if given:
        return Path(given).expanduser()
    from platformdirs import user_state_path

    return user_state_path("evtui")


def config_dir() -> Path:
    """The user's evtui configuration directory (config.toml, plugins/)."""
    from platformdirs import user_config_path

    return user_config_path("evtui")
