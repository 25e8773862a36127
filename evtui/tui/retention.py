"""Two Textual caches that kept rendered lines alive longer than they are used.

The first kept every removed widget's rendered lines (Textualize/textual#6665).

``StylesCache.get_inner_outer`` is an instance method under ``functools.lru_cache(1024)``:
the cache's keys hold the widget's ``StylesCache`` itself, so the last 1,024 of them
stay alive after their widgets are gone, each with the lines it last rendered (Textual
``Strip``s, each with seven small caches of derived strips). bench/soak found 500-700 of
them kept after two minutes of tab switches: a third of what every full garbage
collection walked. The answer does not depend on the instance (two colours in, two
styles out), so :func:`install` puts a method in its place that caches by the colours
alone. A Textual release whose method is not an ``lru_cache`` wrapper is left alone.

The second made every line that is divided whole a reference cycle: ``Strip.divide``
caches its answer in the strip, and when the cut is the strip's own length the answer
is ``[self]``. Such a line is freed only by a full garbage collection, with its seven
caches, the lines derived from it and their segments: bench/soak found 650-720 of them
in each 3-second pass, most of the 20,000-39,000 objects a pass freed (and so most
of the pass). :func:`install` wraps ``divide`` so that the whole-strip answer is not
kept in the strip (a one-element list is as cheap to make as to look up); other cuts
stay cached as Textual caches them. Left alone when ``Strip`` has no such cache.

The third made every live line seven objects more for the collector: ``Strip.__init__``
creates its seven ``FIFOCache``s (crop, divide, style, ...) up front, and most lines
never use most of them. bench/soak found 19,000-21,000 of them among the 55,000-65,000
objects every full collection walked (and 98,000 of the 324,000 references it visited).
:func:`install` makes each cache appear on first use: the slot is read through a
descriptor that creates the same ``FIFOCache(maxsize)`` when it is empty. Checked against
a line Textual builds itself (same slots, same cache sizes, same other defaults); left
alone when they differ. The line's list of segments and the segments themselves are taken
off the collector's lists as the line is made (see ``native.line_untracker``; a segment
holds text, a shared style and control codes: nothing refers back to it): 7,000-10,000
more objects that every full collection walked. The line itself stays tracked: its caches
hold lines derived from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from types import MemberDescriptorType

from rich.segment import Segment
from textual._styles_cache import StylesCache
from textual.cache import FIFOCache
from textual.color import Color
from textual.strip import Strip
from textual.style import Style

from evtui.core import native

_untrack_line = native.line_untracker(Segment)


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """The inner and outer background styles (as Textual's method computes them)."""
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(
    self: StylesCache, base_background: Color, background: Color
) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def install() -> bool:
    """The three workarounds (idempotent); True if any was installed."""
    styles = _install_inner_outer()
    strips = _install_divide()
    lazy = _install_lazy_caches()
    return styles or strips or lazy


def _install_inner_outer() -> bool:
    """Cache by colours, not by ``StylesCache``; True if the method was replaced."""
    current = StylesCache.__dict__.get("get_inner_outer")
    if current is _get_inner_outer:
        return False
    if not hasattr(current, "cache_clear"):
        return False  # not the lru_cache'd method this works around
    current.cache_clear()  # let go of what it holds already
    StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign]
    return True


_textual_divide = Strip.divide


def _divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    strips = _textual_divide(self, cuts)
    if len(strips) == 1 and strips[0] is self:  # cached in self: a cycle
        cache = self._divide_cache._cache
        for key in [k for k, v in cache.items() if v is strips]:
            del cache[key]
        return [self]
    return strips


def _install_divide() -> bool:
    """Keep ``divide``'s whole-strip answer out of the strip; True if it was replaced."""
    if Strip.__dict__.get("divide") is _divide:
        return False
    probe = Strip([], 0)
    if not isinstance(getattr(probe, "_divide_cache", None), FIFOCache) or not isinstance(
        getattr(probe._divide_cache, "_cache", None), dict
    ):
        return False  # not the cache this works around
    Strip.divide = _divide  # type: ignore[method-assign]
    return True


class _LazyCache:
    """A ``Strip`` slot holding a ``FIFOCache`` that is created when first read."""

    __slots__ = ("maxsize", "slot")

    def __init__(self, slot: MemberDescriptorType, maxsize: int) -> None:
        self.slot = slot  # the slot's own member descriptor
        self.maxsize = maxsize

    def __get__(self, strip: Strip | None, owner: type | None = None) -> FIFOCache | _LazyCache:
        if strip is None:
            return self
        try:
            return self.slot.__get__(strip, owner)
        except AttributeError:
            cache = FIFOCache(self.maxsize)
            self.slot.__set__(strip, cache)
            return cache

    def __set__(self, strip: Strip, value: FIFOCache) -> None:
        self.slot.__set__(strip, value)


_ARGUMENTS = ("_segments", "_cell_length")
_MISSING = object()


def _plain_defaults(probe: Strip) -> tuple[dict[str, int], list[str]] | None:
    """The cache slots (with sizes) and the other slots of a line Textual made, if plain."""
    caches: dict[str, int] = {}
    others: list[str] = []
    for name in Strip.__slots__:
        value = getattr(probe, name, _MISSING)
        if isinstance(value, FIFOCache) and isinstance(getattr(value, "_maxsize", None), int):
            caches[name] = value._maxsize
        elif name in _ARGUMENTS:
            continue
        elif value is None:
            others.append(name)
        else:
            return None  # a default this does not know how to reproduce
    return caches, others


def _install_lazy_caches() -> bool:
    """Create each line's caches on first use; True if ``Strip`` was changed."""
    if isinstance(Strip.__dict__.get("_crop_cache"), _LazyCache):
        return False
    found = _plain_defaults(Strip([], 0))
    if found is None or not found[0]:
        return False
    caches, others = found
    textual_init = Strip.__init__

    def __init__(self: Strip, segments: Iterable[Segment], cell_length: int | None = None) -> None:
        line = list(segments)
        _untrack_line(line)
        self._segments = line
        self._cell_length = cell_length
        for name in others:
            setattr(self, name, None)

    for name, maxsize in caches.items():
        setattr(Strip, name, _LazyCache(Strip.__dict__[name], maxsize))
    Strip.__init__ = __init__  # type: ignore[method-assign]
    if _plain_defaults(Strip([], 0)) != found:  # not the same line: put Textual's back
        Strip.__init__ = textual_init  # type: ignore[method-assign]
        for name in caches:
            setattr(Strip, name, Strip.__dict__[name].slot)
        return False
    return True
