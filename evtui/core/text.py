"""Small text helpers shared by the CLI and the screens. Pure: no Textual, no confluent-kafka."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str | None = None, shown: str | None = None) -> str:
    """``1 member``, ``2 members``, ``1,234 events``; ``plural_noun`` for irregular nouns,
    ``shown`` for a count already written another way (``1.2k``).

    >>> plural(1, "member"), plural(0, "group"), plural(2, "entry", "entries")
    ('1 member', '0 groups', '2 entries')
    >>> plural(1200, "row", shown="1.2k")
    '1.2k rows'
    """
    word = noun if count == 1 else (plural_noun or noun + "s")
    return f"{shown if shown is not None else format(count, ',')} {word}"
