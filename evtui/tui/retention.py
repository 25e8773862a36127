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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.cache import FIFOCache
from textual.color import Color
from textual.strip import Strip
from textual.style import Style


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """The inner and outer background styles (as Textual's method computes them)."""
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(
    self: StylesCache, base_background: Color, background: Color
) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def install() -> bool:
    """Both workarounds (idempotent); True if either method was replaced."""
    styles = _install_inner_outer()
    strips = _install_divide()
    return styles or strips


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
