"""Duplicate events (``duplicate_event``): the same event id (with its CloudEvents
source) at two offsets of a topic; the same record read twice is not one.
"""

from __future__ import annotations

from evtui.core.detectors.common import WARNING, Finding, KeyState, key_text, parse_ref, ref
from evtui.core.event import Event
from evtui.core.ids import EventIds


class DuplicateDetector:
    """The same event (by id; CloudEvents by source and id) at two offsets of a topic.

    The later copy is the duplicate: in one partition the later offset; across
    partitions (read in any order) the later record time, else the one read later.
    """

    def __init__(self, max_ids: int = 1_000_000) -> None:
        # (topic, source, id) -> (ref, hash of the bytes, record time, partition)
        self.seen = KeyState(max_ids)

    def offer(self, event: Event) -> list[Finding]:
        ids = event.ids
        if ids.event_id is None:
            return []
        identity = (event.topic, ids.source, ids.event_id)
        here, digest = ref(event), content_digest(event)
        first = self.seen.get(identity)
        if first is None:
            self.seen.put(identity, (here, digest, event.timestamp, event.partition))
            return []
        self.seen.move_to_end(identity)
        first_ref, first_digest, first_ms, first_partition = first
        if first_ref == here:
            return []  # the same record read again (a seek, a reconnect): not a duplicate
        if first_partition != event.partition and event.timestamp < first_ms:
            # this copy was written first: the one read before is the duplicate
            self.seen[identity] = (here, digest, event.timestamp, event.partition)
            return [self.make_finding(event, here, first_ref, digest == first_digest, ids)]
        return [self.make_finding(event, first_ref, here, digest == first_digest, ids)]

    @staticmethod
    def make_finding(
        event: Event, first_ref: str, later_ref: str, same: bool, ids: EventIds
    ) -> Finding:
        what = "byte for byte" if same else "with other content"
        cause = (
            "delivered twice: a producer retry without idempotence, or a replay"
            if same
            else "an id given to two different events"
        )
        name = ids.event_id if ids.source is None else f"{ids.source} {ids.event_id}"
        topic, partition, offset = parse_ref(later_ref)
        return Finding(
            "duplicate_event", WARNING, topic, partition, offset, key_text(event),
            (first_ref, later_ref),
            expected=f"event {name} once", seen=f"again at {later_ref}, {what}",
            explanation=f"the same event {what} at two offsets: {cause}",
        )  # fmt: skip


def content_digest(event: Event) -> int:
    return hash((event.key, event.value, event.headers))
