"""One way to put styled pieces of text side by side (Rich only, no Textual).

Pieces were once glued with a leading ``"  "`` inside each styled piece. On a
terminal that looks fine, but anything that reads the text back run by run
(the SVG screenshots, where every styled run is its own ``<text>`` and a run of
spaces alone is left out, screen readers, text extraction) loses those spaces:
``connected0 ev/s in``, ``1,737 events checked27 warnings``. Here pieces never
carry their separators: each is stripped, empty ones are dropped, and the
separator is a visible mark of its own, so no two words ever meet at a run
boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.style import StyleType
from rich.text import Text

SEP = " · "
SEP_STYLE = "#6c6c6c"

Piece = str | tuple[str, StyleType] | Text | None


def _as_text(piece: Piece) -> Text | None:
    if piece is None:
        return None
    if isinstance(piece, Text):
        text = piece.copy()
    elif isinstance(piece, tuple):
        text = Text(piece[0].strip(), style=piece[1])
    else:
        text = Text(piece.strip())
    return text if text.plain.strip() else None


def joined(pieces: Iterable[Piece], sep: str = SEP, sep_style: StyleType = SEP_STYLE) -> Text:
    """The non-empty ``pieces`` with ``sep`` between them (``Text`` pieces keep their padding)."""
    out = Text()
    first = True
    for piece in pieces:
        text = _as_text(piece)
        if text is None:
            continue
        if not first:
            out.append(sep, style=sep_style)
        out.append_text(text)
        first = False
    return out


def fitted(
    pieces: Sequence[tuple[int, Piece]],
    width: int,
    sep: str = SEP,
    sep_style: StyleType = SEP_STYLE,
) -> Text:
    """``joined`` in at most ``width`` cells: pieces of the lowest priority (the highest
    number) go first, in order of appearance from the end; what is left in order.
    A line still too long is cut with ``…``."""
    kept = [(priority, piece) for priority, piece in pieces if _as_text(piece) is not None]
    while len(kept) > 1:
        text = joined((p for _, p in kept), sep, sep_style)
        if cell_len(text.plain) <= width:
            return text
        lowest = max(priority for priority, _ in kept)
        drop = max(i for i, (priority, _) in enumerate(kept) if priority == lowest)
        if lowest == min(priority for priority, _ in kept):
            break  # only pieces of the highest priority are left: cut instead
        del kept[drop]
    text = joined((p for _, p in kept), sep, sep_style)
    if width > 0 and cell_len(text.plain) > width:
        text.truncate(width, overflow="ellipsis")
    return text
