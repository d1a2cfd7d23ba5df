"""Pixels without Matplotlib artists: text coverage from FreeType, grids, outlines, PNG bytes.

The sliding-window picture is mostly static and made of whole-pixel cells, so it is composed
here with numpy, straight into an RGBA array, instead of through Matplotlib artists: a
``Text`` artist costs ~0.3 ms per glyph and a ``Rectangle`` per cell ~0.1 ms, while a cached
text mask or a broadcast block of cells costs microseconds. The PNG encoder writes that
array with zlib alone (no filtering): 1.8 ms a frame against 6.6 ms for Pillow.

Arrays are ``(height, width, 4)`` uint8 (an Agg buffer's layout); colours are RGB uint8
triples from :func:`rgb`. Nothing here knows what a convolution is.

>>> import numpy as np
>>> picture = np.full((20, 40, 4), 255, np.uint8)
>>> paste(picture, text_mask("3", 9.0, 100.0), rgb("#000000"), 20, 10)
>>> int(picture[..., 0].min()) < 128, encode_png(picture, 1)[:4] == b"\\x89PNG"
(True, True)
"""

from __future__ import annotations

import functools
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties, findfont, get_font

__all__ = [
    "TEXT_CACHE_BYTES", "draw_grid", "encode_png", "hatch", "line_mask", "outline", "paste", "rasterise",
    "rgb", "text_mask", "word_mask",
]

#: Bytes of cached text masks (per string, per word): a classroom session needs a few
#: hundred kilobytes; a long one, or many error messages, stops here.
TEXT_CACHE_BYTES = 8_000_000

_Mask = TypeVar("_Mask", np.ndarray, tuple[np.ndarray, int])


def _nbytes(value: np.ndarray | tuple[np.ndarray, int]) -> int:
    return (value[0] if isinstance(value, tuple) else value).nbytes + 100  # + the key and entry


def _byte_cache(fn: Callable[[str, float, float], _Mask]) -> Callable[[str, float, float], _Mask]:
    """Least-recently-used cache of ``fn``'s masks, bounded by :data:`TEXT_CACHE_BYTES`
    (a count of entries would let a few huge masks take any amount of memory)."""
    cache: OrderedDict[tuple[str, float, float], _Mask] = OrderedDict()
    size = 0
    lock = threading.Lock()  # an explorer may render ahead in another thread

    @functools.wraps(fn)
    def cached(text: str, size_pt: float, dpi: float) -> _Mask:
        nonlocal size
        key = (text, size_pt, dpi)
        with lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = fn(text, size_pt, dpi)
        with lock:
            if key not in cache:
                cache[key] = value
                size += _nbytes(value)
            while size > TEXT_CACHE_BYTES and len(cache) > 1:
                size -= _nbytes(cache.popitem(last=False)[1])
        return value

    cached.cache_bytes = lambda: size  # type: ignore[attr-defined]
    return cached


@functools.lru_cache(maxsize=256)
def rgb(color: str) -> np.ndarray:
    """A Matplotlib colour (``'#d55e00'``, ``'white'``) as an RGB uint8 triple (read-only)."""
    out = np.array([round(255 * v) for v in to_rgba(color)[:3]], np.uint8)
    out.setflags(write=False)
    return out


def rasterise(text: str, size_pt: float, dpi: float) -> tuple[np.ndarray, int]:
    """Anti-aliased coverage (uint8, rows x cols) of one line of text, and its baseline row.

    FreeType through Matplotlib's own font object: the same glyphs Matplotlib draws, at a
    fraction of the cost of drawing a ``Text`` artist.
    """
    font = get_font(findfont(FontProperties(family="DejaVu Sans")))
    font.clear()
    font.set_size(size_pt, dpi)
    font.set_text(text, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    mask = np.asarray(font.get_image()).copy()
    mask.setflags(write=False)
    # get_descent() is in 1/64 pixel; the bitmap rounds it down (measured on DejaVu Sans)
    return mask, mask.shape[0] - font.get_descent() // 64


@_byte_cache
def text_mask(text: str, size_pt: float, dpi: float) -> np.ndarray:
    """Coverage of one line of text, cached per string."""
    return rasterise(text, size_pt, dpi)[0]


@_byte_cache
def word_mask(word: str, size_pt: float, dpi: float) -> tuple[np.ndarray, int]:
    """Coverage of one word and its baseline row, cached per word."""
    return rasterise(word, size_pt, dpi)


def line_mask(text: str, size_pt: float, dpi: float) -> np.ndarray:
    """Coverage of a line that changes every step (a caption), from cached words: laying
    out a new string costs ~0.1 ms a glyph, a cached word nothing."""
    words = [word_mask(w, size_pt, dpi) for w in text.split(" ") if w]
    if not words:
        return np.zeros((1, 1), np.uint8)
    space = word_mask("a b", size_pt, dpi)[0].shape[1] - word_mask("ab", size_pt, dpi)[0].shape[1]
    above = max(base for _, base in words)
    below = max(m.shape[0] - base for m, base in words)
    width = sum(m.shape[1] for m, _ in words) + space * (len(words) - 1)
    out = np.zeros((above + below, width), np.uint8)
    x = 0
    for m, base in words:
        y = above - base
        region = out[y:y + m.shape[0], x:x + m.shape[1]]
        np.maximum(region, m, out=region)
        x += m.shape[1] + space
    return out


def draw_grid(bg: np.ndarray, y: int, x: int, codes: np.ndarray, table: np.ndarray, cell: int,
              hatches: dict[int, np.ndarray], line: np.ndarray, hatch_both: bool = False,
              faint: np.ndarray | None = None) -> None:
    """Cells of colour ``table[codes]``, ``cell`` pixels each, grid lines between, hatching.

    Cells are whole pixels, so each cell's colour is broadcast into a (rows, cell, cols,
    cell) view of the picture: no per-pixel indexing. ``hatches`` maps a code to the colour
    of its diagonal lines; ``line`` is the grid lines' colour (``faint`` lines for cells under
    8 pixels, default light grey; none under 3).
    """
    nr, nc = codes.shape
    ph, pw = bg.shape[:2]
    # cells that fit in the picture (huge grids are cut at the edge rather than failing)
    nr, nc = min(nr, (ph - y) // cell), min(nc, (pw - x) // cell)
    if nr <= 0 or nc <= 0:
        return
    codes = codes[:nr, :nc]
    region = bg[y:y + nr * cell, x:x + nc * cell, :3]
    blocks = region.reshape(nr, cell, nc, cell, 3)
    blocks[:] = table[codes][:, None, :, None, :]
    if hatches:
        _hatch_cells(blocks, codes, table, cell, hatches, hatch_both)
    if cell >= 3:
        color = line if cell >= 8 else (np.array([185, 185, 185], np.uint8) if faint is None else faint)
        full = bg[y:y + nr * cell + 1, x:x + nc * cell + 1, :3]
        full[::cell, :] = color
        full[:, ::cell] = color


def _hatch_cells(blocks: np.ndarray, codes: np.ndarray, table: np.ndarray, cell: int,
                 hatches: dict[int, np.ndarray], both: bool) -> None:
    """The same diagonal tile in every hatched cell (grid lines separate the cells anyway):
    touches only the hatched cells instead of testing every pixel."""
    yy, xx = np.ogrid[:cell, :cell]
    tile = (xx + yy) % 7 == 3
    if both:
        tile = tile | ((xx - yy) % 7 == 3)
    per_cell = blocks.transpose(0, 2, 1, 3, 4)  # (rows, cols, cell, cell, 3) view
    for code, color in hatches.items():
        cells = codes == code
        if cells.any():
            per_cell[cells] = np.where(tile[..., None], color, table[code])


def hatch(bg: np.ndarray, y0: int, x0: int, y1: int, x1: int, color: np.ndarray) -> None:
    """Diagonal lines over the rectangle ``[y0, y1) x [x0, x1)`` (a legend swatch)."""
    yy, xx = np.ogrid[y0:y1, x0:x1]
    bg[y0:y1, x0:x1, :3][(xx + yy) % 5 == 0] = color


def outline(bg: np.ndarray, y0: int, x0: int, y1: int, x1: int, color: np.ndarray, width: int,
            dash: int = 0) -> None:
    """A rectangle outline on pixel lines y0, y1 and x0, x1 (inclusive), optionally dashed."""
    ph, pw = bg.shape[:2]
    half = width // 2
    for (ya, yb, xa, xb, along) in (
        (y0 - half, y0 - half + width, x0, x1 + 1, "x"),
        (y1 - half, y1 - half + width, x0, x1 + 1, "x"),
        (y0, y1 + 1, x0 - half, x0 - half + width, "y"),
        (y0, y1 + 1, x1 - half, x1 - half + width, "y"),
    ):
        ya, yb, xa, xb = max(ya, 0), min(yb, ph), max(xa, 0), min(xb, pw)
        if ya >= yb or xa >= xb:
            continue
        seg = bg[ya:yb, xa:xb, :3]
        if not dash:
            seg[:] = color
            continue
        pos = np.arange(xa, xb) if along == "x" else np.arange(ya, yb)
        on = (pos // dash) % 2 == 0
        if along == "x":
            seg[:, on] = color
        else:
            seg[on, :] = color


def paste(bg: np.ndarray, mask: np.ndarray, color: np.ndarray, cx: float, cy: float) -> None:
    """Alpha-blend a text coverage mask, centred on array position (cx, cy)."""
    h, w = mask.shape
    y0, x0 = int(round(cy - h / 2)), int(round(cx - w / 2))
    ph, pw = bg.shape[:2]
    ya, xa = max(y0, 0), max(x0, 0)
    yb, xb = min(y0 + h, ph), min(x0 + w, pw)
    if ya >= yb or xa >= xb:
        return
    a = mask[ya - y0:yb - y0, xa - x0:xb - x0, None].astype(np.uint16)
    region = bg[ya:yb, xa:xb, :3]
    region[:] = (region * (255 - a) + color.astype(np.uint16) * a + 127) // 255


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgba: np.ndarray, level: int) -> bytes:
    """A PNG (RGBA, no filtering) straight from the Agg buffer with zlib: the picture is
    mostly flat colour, so this is about as small as Pillow's output and several times faster."""
    h, w = rgba.shape[:2]
    raw = np.empty((h, 1 + 4 * w), np.uint8)
    raw[:, 0] = 0  # filter type "none" for every row
    raw[:, 1:] = rgba.reshape(h, 4 * w)
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.data, level)) + _chunk(b"IEND", b""))
