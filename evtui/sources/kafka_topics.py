"""Which topics a read names: plain names and ``^regex`` patterns (librdkafka's rule),
matched against a cluster's topic list (the demo applies the same rules to its own).

Imports no Kafka client: naming rules only, shared by every source that reads topics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from evtui.errors import UsageError

# ACLs hide a topic one may not describe: the broker answers "not authorized" for it
# whether it exists or not
HIDDEN = " (or it does not exist: the broker does not tell)"


def is_pattern(name: str) -> bool:
    """Topic arguments starting with ``^`` are regular expressions (librdkafka's rule)."""
    return name.startswith("^")


def match_topics(
    requested: Sequence[str], available: Iterable[str], *, include_internal: bool = False
) -> tuple[list[str], list[str]]:
    """Topics to read, and the requested plain names that do not exist."""
    available = sorted(available)
    chosen: list[str] = []
    missing: list[str] = []
    for name in requested:
        if is_pattern(name):
            try:
                pattern = re.compile(name)
            except re.error as exc:
                raise UsageError(f"invalid topic pattern '{name}': {exc}") from None
            internal_ok = include_internal or name.startswith("^_")
            chosen += [
                t
                for t in available
                if pattern.search(t) and (internal_ok or not t.startswith("__"))
            ]
        elif name in available:
            chosen.append(name)
        else:
            missing.append(name)
    return list(dict.fromkeys(chosen)), missing


def suggest(name: str, available: Iterable[str]) -> str:
    """`` (did you mean ...?)`` with the closest names in ``available``, or nothing."""
    import difflib

    close = difflib.get_close_matches(name, list(available), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""
