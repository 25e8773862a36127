"""The offset commits of ``__consumer_offsets``: one record parsed, and a thinned history.

Where the cluster lets evtui read ``__consumer_offsets``, each commit record says
which group committed which offset of a partition, and when. :func:`parse_commit`
reads one record (anything else is None); :class:`CommitLog` counts the commits
per partition and keeps a history thinned to a bound. ``core.lag`` turns that
history into samples at past times. Pure: no Kafka client.
"""

from __future__ import annotations

Commit = tuple[str, str, int, int | None]  # group, topic, partition, offset (None: deleted)


def parse_commit(key: bytes | None, value: bytes | None) -> Commit | None:
    """An offset commit record of ``__consumer_offsets``, or None for anything else.

    Key versions 0 and 1 are offset commits: group, topic (int16-length
    strings) and partition (int32); other versions are group metadata. Every
    value version starts with an int16 version and the int64 offset; a
    tombstone (no value) deletes the group's offset. Malformed records: None.
    """
    if not key or len(key) < 2 or int.from_bytes(key[:2], "big") not in (0, 1):
        return None
    try:
        group, at = _string(key, 2)
        topic, at = _string(key, at)
        if len(key) < at + 4:
            return None
        partition = int.from_bytes(key[at : at + 4], "big", signed=True)
    except (UnicodeDecodeError, ValueError):
        return None
    if value is None:
        return group, topic, partition, None
    if len(value) < 10:
        return None
    return group, topic, partition, int.from_bytes(value[2:10], "big", signed=True)


def _string(data: bytes, at: int) -> tuple[str, int]:
    if len(data) < at + 2:
        raise ValueError("truncated")
    size = int.from_bytes(data[at : at + 2], "big", signed=True)
    end = at + 2 + size
    if size < 0 or len(data) < end:
        raise ValueError("truncated")
    return data[at + 2 : end].decode("utf-8"), end


class CommitLog:
    """Per (group, topic, partition): the commits seen, counted, with a thinned history.

    The history keeps at most ``max_history`` (time, offset) commits per
    partition; when full, every other commit of the older half goes, so the
    whole window stays covered. At most ``max_keys`` partitions are tracked
    (the rest are counted in ``ignored``).
    """

    def __init__(self, max_keys: int = 200_000, max_history: int = 32) -> None:
        self.max_keys = max_keys
        self.max_history = max_history
        self._count: dict[tuple[str, str, int], int] = {}
        self._history: dict[tuple[str, str, int], list[tuple[int, int | None]]] = {}
        self.ignored = 0  # commits not tracked: more keys than max_keys

    def add(self, commit: Commit, taken_ms: int) -> None:
        group, topic, partition, offset = commit
        key = (group, topic, partition)
        count = self._count.get(key, 0)
        if not count and len(self._count) >= self.max_keys:
            self.ignored += 1
            return
        self._count[key] = count + 1
        history = self._history.setdefault(key, [])
        history.append((taken_ms, offset))
        if len(history) > self.max_history:
            half = len(history) // 2
            history[:half] = history[:half:2]

    def commits(self, group: str, topic: str, partition: int) -> int:
        return self._count.get((group, topic, partition), 0)

    def last_ms(self, group: str, topic: str, partition: int) -> int | None:
        history = self._history.get((group, topic, partition))
        return history[-1][0] if history else None

    def history(self, group: str, topic: str, partition: int) -> list[tuple[int, int | None]]:
        """(time ms, offset) of the commits kept, oldest first (a copy)."""
        return list(self._history.get((group, topic, partition), ()))
