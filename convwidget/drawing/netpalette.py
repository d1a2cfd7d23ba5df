"""The net picture's colours, and the picture as palette indices: one image, two palettes.

The net picture is drawn once as a uint8 image whose pixels name *what* is there ("the name
ink at 7/15 coverage on the page", "an edge over the conv box's top face at 40 %"), not its
colour. Each theme turns every name into a colour (:func:`palette`), so the light and the dark
PNG are the same compressed pixels with a different ``PLTE`` chunk (:func:`indexed_png`):
the second theme costs a few hundred bytes, not a second render and a second deflate, and
8-bit pixels deflate four times faster than RGBA.

Words come as cached FreeType coverage masks, quantised to 15 levels (:func:`text_indices`).
Boxes and arrows are drawn by Agg on a transparent canvas in the light theme's colours, and
each pixel's exact RGBA is matched to its nearest entry (:func:`geometry_indices`, a hashed
table of the colours seen, so a frame costs a few numpy passes).

>>> len(ENTRIES) <= 256, contrast(THEME_COLORS["dark"]["text"], THEME_COLORS["dark"]["page"]) > 4.5
(True, True)
>>> palette("dark")[PAGE].tolist(), palette("light")[PAGE].tolist()
([17, 17, 17], [255, 255, 255])
"""

from __future__ import annotations

import functools
import struct
import threading
import zlib
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import to_hex, to_rgb

from .raster import line_mask

__all__ = ["BAND", "COLORS", "ENTRIES", "PAGE", "SHADES", "TEXT_COLORS", "THEMES", "THEME_COLORS", "contrast",
           "face_colors", "geometry_indices", "idat", "indexed_png", "palette", "scanlines", "shade",
           "text_indices"]

#: The pages a picture is drawn for.
THEMES = ("light", "dark")

#: Okabe–Ito box colours by kind of step (colour-blind safe); text is never drawn on them.
COLORS: dict[str, str] = {
    "input": "#56b4e9",  # sky blue
    "conv": "#0072b2",  # blue
    "pool": "#009e73",  # bluish green
    "flatten": "#f0e442",  # yellow
    "linear": "#e69f00",  # orange
    "other": "#cc79a7",  # reddish purple
    "error": "#d55e00",  # vermilion
}
#: Text colours on the white page, each >= 4.5:1 (see :func:`contrast`).
TEXT_COLORS: dict[str, str] = {"text": "#1a1a1a", "name": "#555555", "error": "#a33b00",
                               "flatten": "#1a1a1a"}
_PAGE = "#ffffff"
_FLATTEN_BAND = "#fbf5b9"  # pale yellow behind the flatten's product (text on it: 17:1)
#: Page, ink and line colours of each theme (box colours, :data:`COLORS`, are the same in both).
#: Dark is JupyterLab Dark's page (``--jp-layout-color0``); every ink >= 4.5:1 on its page.
THEME_COLORS: dict[str, dict[str, str]] = {
    "light": {**TEXT_COLORS, "page": _PAGE, "band": _FLATTEN_BAND, "edge": "#1a1a1a", "arrow": "#555555"},
    "dark": {"text": "#e8e8e8", "name": "#b8b8b8", "error": "#ff9e66", "flatten": "#f7f7f7",
             "page": "#111111", "band": "#4a4413", "edge": "#111111", "arrow": "#a8a8a8"},
}
#: A box's front, top and side: its colour mixed with white (> 0) or black (< 0).
SHADES = (0.0, 0.45, -0.25)


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two colours.

    >>> round(contrast("#000000", "#ffffff"), 1)
    21.0
    """
    def lum(c: str) -> float:
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in to_rgb(c)]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@functools.lru_cache(maxsize=64)
def shade(color: str, amount: float) -> str:
    """Mix ``color`` with white (amount > 0) or black (amount < 0)."""
    r, g, b = to_rgb(color)
    target = 1.0 if amount > 0 else 0.0
    a = abs(amount)
    return to_hex((r + (target - r) * a, g + (target - g) * a, b + (target - b) * a))


def face_colors(kind: str) -> list[str]:
    """Front, top and side colours of a box of ``kind``."""
    return [shade(COLORS[kind], a) for a in SHADES]


# ----------------------------------------------------------------------------- the entries
# An entry is (ink, base, q): ink at coverage q over base. A name of THEME_COLORS is the
# theme's colour; a hex colour (a box face) is the same in both themes.

_LEVELS = 15  # coverage levels of a word's pixel (0 = no ink)
_OVER_FACE = (0.2, 0.4, 0.6, 0.8)  # an outline's anti-aliased pixels over a box face
_OVER_PAGE = tuple(k / 8 for k in range(1, 9))  # an outline's or arrow's pixels over the page


def _entries() -> tuple[list[tuple[str, str, float]], int, dict[str, int]]:
    entries = [("page", "page", 1.0)]
    entries += [(f, f, 1.0) for kind in COLORS for f in face_colors(kind)]
    for kind in COLORS:
        ink = "error" if kind == "error" else "edge"
        entries += [(ink, f, q) for f in face_colors(kind) for q in _OVER_FACE]
    entries += [(ink, "page", q) for ink in ("edge", "error", "arrow") for q in _OVER_PAGE]
    geometry = len(entries)
    entries.append(("band", "band", 1.0))
    first: dict[str, int] = {}
    for ink in ("text", "name", "error", "flatten"):  # words last: pasted with np.maximum, on top
        first[ink] = len(entries)
        entries += [(ink, "band" if ink == "flatten" else "page", k / _LEVELS) for k in range(1, _LEVELS + 1)]
    return entries, geometry, first


ENTRIES, _GEOMETRY, _FIRST = _entries()
PAGE = 0
BAND = _GEOMETRY


def _colour(name: str, theme: str) -> np.ndarray:
    return np.array(to_rgb(THEME_COLORS[theme].get(name, name))) * 255


@functools.cache
def palette(theme: str) -> np.ndarray:
    """The RGB uint8 colour of every entry in ``theme`` (read-only, ``(len(ENTRIES), 3)``)."""
    out = np.array([np.round(q * _colour(ink, theme) + (1 - q) * _colour(base, theme))
                    for ink, base, q in ENTRIES], np.uint8)
    out.setflags(write=False)
    return out


@functools.cache
def rgba_palette(theme: str) -> np.ndarray:
    """:func:`palette` with an opaque alpha, for turning indices into an Agg-like buffer."""
    out = np.concatenate([palette(theme), np.full((len(ENTRIES), 1), 255, np.uint8)], axis=1)
    out.setflags(write=False)
    return out


# ----------------------------------------------------------------------------- words


@functools.lru_cache(maxsize=4096)
def text_indices(text: str, size: float, dpi: float, ink: str) -> np.ndarray:
    """One line of ``text`` in ``ink`` as entry indices, 0 where there is no ink (cached)."""
    levels = (line_mask(text, size, dpi).astype(np.uint16) * _LEVELS + 127) // 255
    out = np.where(levels > 0, levels + (_FIRST[ink] - 1), 0).astype(np.uint8)
    out.setflags(write=False)
    return out


# ----------------------------------------------------------------------------- boxes and arrows


def _looks(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """How colours with straight ``alpha`` (0..1) look over white and over black (n x 6)."""
    a = alpha[:, None]
    return np.concatenate([rgb * a + 255 * (1 - a), rgb * a], axis=1)


def _reference() -> np.ndarray:
    """What Agg draws for each geometry entry: the light theme's inks, on a transparent page."""
    rgb, alpha = [], []
    for ink, base, q in ENTRIES[:_GEOMETRY]:
        if base == "page":
            rgb.append(_colour(ink, "light"))
            alpha.append(0.0 if ink == "page" else q)
        else:
            rgb.append(q * _colour(ink, "light") + (1 - q) * _colour(base, "light"))
            alpha.append(1.0)
    return _looks(np.array(rgb), np.array(alpha))


_REFERENCE = _reference()


class _Matcher:
    """Exact RGBA colours (uint32, little-endian) to their nearest entry among ``allowed`` (how
    they look over white and over black), through a table hashed by Fibonacci hashing: a
    colour seen before costs a look-up, and two colours rarely share a slot."""

    def __init__(self, allowed: list[int], bits: int) -> None:
        self.allowed = np.array(allowed, np.uint8)
        self.reference = _REFERENCE[allowed]
        self.shift = np.uint32(32 - bits)
        self.colour = np.zeros(1 << bits, np.uint32)  # colour 0 hashes to slot 0, the page's: right
        self.index = np.zeros(1 << bits, np.uint8)
        self.lock = threading.Lock()

    def nearest(self, colours: np.ndarray) -> np.ndarray:
        channels = colours[:, None].view(np.uint8).reshape(-1, 4).astype(float)
        looks = _looks(channels[:, :3], channels[:, 3] / 255)
        distance = ((looks[:, None, :] - self.reference[None, :, :]) ** 2).sum(axis=-1)
        return self.allowed[distance.argmin(axis=1)]

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        slots = (pixels * _MULTIPLIER) >> self.shift
        out = self.index[slots]
        missing = self.colour[slots] != pixels
        if missing.any():
            colours, inverse = np.unique(pixels[missing], return_inverse=True)
            near = self.nearest(colours)
            out[missing] = near[inverse.ravel()]
            where = (colours * _MULTIPLIER) >> self.shift
            self.index[where] = near
            self.colour[where] = colours
        return out


_MULTIPLIER = np.uint32(0x9E3779B1)
# boxes and arrows are matched apart (drawn apart): the anti-aliased rim of a box, a mix of its
# outline and face, is never taken for an arrow (which is light grey on the dark page)
_BOXES = _Matcher([i for i, (ink, _, _) in enumerate(ENTRIES[:_GEOMETRY]) if ink != "arrow"], 20)
_ARROWS = _Matcher([i for i, (ink, _, _) in enumerate(ENTRIES[:_GEOMETRY]) if ink in ("arrow", "page")], 14)


def scanlines(height: int, width: int) -> np.ndarray:
    """A blank frame as PNG scanlines, ``(height, 1 + width)`` uint8 zeros: each row's filter
    byte (0, none) then its indices. Paint into ``[:, 1:]``; :func:`idat` takes it whole."""
    return np.zeros((height, 1 + width), np.uint8)


def geometry_indices(rgba: np.ndarray, rects: Sequence[tuple[int, int, int, int]], out: np.ndarray,
                     arrows: bool = False) -> None:
    """Write into ``out`` (uint8, rows x cols, page = 0) the entries of an Agg RGBA buffer of
    boxes (or of ``arrows``: painted over what is there) drawn in the light theme's colours on
    a transparent page; only the ``rects`` (row0, row1, col0, col1) are read, the rest is page.

    Every pixel's entry is its exact colour's nearest, however full the table is: the same
    buffer gives the same indices.
    """
    words = np.ascontiguousarray(rgba).view("<u4")[..., 0].astype(np.uint32, copy=False)
    match = _ARROWS if arrows else _BOXES
    with match.lock:
        for r0, r1, c0, c1 in rects:
            found = match(words[r0:r1, c0:c1])
            if arrows:
                np.copyto(out[r0:r1, c0:c1], found, where=found != PAGE)
            else:
                out[r0:r1, c0:c1] = found


# ----------------------------------------------------------------------------- PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def idat(lines: np.ndarray, level: int) -> bytes:
    """The ``IDAT`` chunk of an 8-bit indexed image from its :func:`scanlines`: shared by both themes."""
    return _chunk(b"IDAT", zlib.compress(np.ascontiguousarray(lines).data, level))


def indexed_png(size: tuple[int, int], pixels: bytes, theme: str) -> bytes:
    """A PNG of ``size`` (width, height) from an :func:`idat` chunk, coloured by ``theme``."""
    header = struct.pack(">IIBBBBB", size[0], size[1], 8, 3, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", palette(theme).tobytes())
            + pixels + _chunk(b"IEND", b""))
