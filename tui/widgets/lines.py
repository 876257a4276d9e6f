"""Drawn lines kept between frames as flat tuples, turned into a fresh Strip for each draw."""

from __future__ import annotations

from collections.abc import Iterable

from rich.segment import Segment
from textual.strip import Strip

Line = tuple
"""One drawn line: text, style, text, style, … of its segments, in one tuple."""

# Why not keep the Strips themselves: Textual hangs the copies it derives from a Strip while
# drawing it (cropped, styled, divided) in caches on that Strip, the divided one in a cycle with
# itself. A kept Strip thus grows into dozens of objects that every full collection walks, and
# once dropped (a row changed, the thread left) they are garbage only a full collection frees.
# A Line is one object; the Strip made from it lives as long as Textual keeps it on screen.


def keep(segments: Iterable[Segment]) -> Line:
    """The line drawn by `segments` (rendered text: no control codes), in the form kept."""
    return tuple(part for text, style, _control in segments for part in (text, style))


def draw(line: Line, width: int) -> Strip:
    """A new Strip of `line`, which is `width` cells wide."""
    parts = iter(line)
    return Strip([Segment(text, style) for text, style in zip(parts, parts)], width)


def text_of(line: Line) -> str:
    """The line's text, without styles."""
    return "".join(line[::2])
