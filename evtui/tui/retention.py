"""A Textual cache that kept every removed widget's rendered lines (Textualize/textual#6665).

``StylesCache.get_inner_outer`` is an instance method under ``functools.lru_cache(1024)``:
the cache's keys hold the widget's ``StylesCache`` itself, so the last 1,024 of them
stay alive after their widgets are gone, each with the lines it last rendered (Textual
``Strip``s, each with seven small caches of derived strips). bench/soak found 500-700 of
them kept after two minutes of tab switches: a third of what every full garbage
collection walked. The answer does not depend on the instance (two colours in, two
styles out), so :func:`install` puts a method in its place that caches by the colours
alone. A Textual release whose method is not an ``lru_cache`` wrapper is left alone.
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
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
    """Cache by colours, not by ``StylesCache`` (idempotent); True if the method was replaced."""
    current = StylesCache.__dict__.get("get_inner_outer")
    if current is _get_inner_outer:
        return False
    if not hasattr(current, "cache_clear"):
        return False  # not the lru_cache'd method this works around
    current.cache_clear()  # let go of what it holds already
    StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign]
    return True
