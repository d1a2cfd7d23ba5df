"""The channel picture's pixel work, with numpy: pages, planes of shaded cells with their values,
hatched padding and text blended only where it has ink.

Every function here writes the same bytes as the plain per-pixel way (tests compare whole
pictures) with fewer numpy calls and fewer bytes touched:

* a plane with values is one cell-sized tile per distinct value (shade, grid lines, number),
  gathered into place (:func:`plane_values`, :func:`paint_plane`);
* text is blended where its coverage is not zero (:func:`inked`, :func:`blend`): a gather and a
  scatter of those bytes, found once and reused by both colourings;
* the padding ring's hatching is five slice copies of one pattern row (:func:`hatched`).

>>> import numpy as np
>>> page = blank(4, 6, "#ffffff").copy()
>>> where, a = inked(np.full((1, 2), 255, np.uint8), 1, 2, 6)
>>> blend(page, where, a, np.array([0, 0, 0], np.uint8))
>>> page[1, 1:5, 0].tolist()
[255, 0, 0, 255]
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .raster import rgb

__all__ = ["INK_CACHE_BYTES", "PlaneValues", "blank", "blend", "hatched", "inked", "paint_plane",
           "placed_ink", "plane_values", "shades"]

#: Bytes of cached text ink (byte offsets and coverage per string, size and page width): the
#: labels and titles of a few settings; a long session stops here.
INK_CACHE_BYTES = 4_000_000
_ink_cache: OrderedDict[tuple[Any, ...], _Ink] = OrderedDict()
_ink_bytes = 0
_ink_lock = threading.Lock()  # an explorer may render ahead in another thread


@functools.lru_cache(maxsize=8)
def blank(height: int, width: int, colour: str) -> np.ndarray:
    """A read-only page of ``colour``: a copy of it is cheaper than filling a new one."""
    page = np.empty((height, width, 3), np.uint8)
    page[:] = rgb(colour)
    page.setflags(write=False)
    return page


def hatched(y0: int, x0: int, y1: int, x1: int, fill: np.ndarray, line: np.ndarray) -> np.ndarray:
    """A ``fill`` tile of the page's rectangle [y0, y1) x [x0, x1) with ``line`` where the page's
    ``(x + y) % 5 == 0``: every row is a shifted slice of one pattern row (five slice copies,
    not a test per pixel).

    >>> tile = hatched(0, 0, 3, 6, np.array([9, 9, 9], np.uint8), np.array([1, 1, 1], np.uint8))
    >>> tile[..., 0].tolist()
    [[1, 9, 9, 9, 9, 1], [9, 9, 9, 9, 1, 9], [9, 9, 9, 1, 9, 9]]
    """
    h, w = y1 - y0, x1 - x0
    pattern = np.empty((w + 5, 3), np.uint8)
    pattern[:] = fill
    pattern[-(x0 + y0) % 5::5] = line
    tile = np.empty((h, w, 3), np.uint8)
    for r in range(min(5, h)):
        tile[r::5] = pattern[r:r + w]
    return tile


def inked(mask: np.ndarray, y: int, x: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The covered pixels of ``mask`` placed at (y, x) on a page ``width`` pixels wide: their
    byte indices ``(n, 3)`` into the flat page and their coverage (uint16 ``(n, 3)``)."""
    rows, cols = np.nonzero(mask)
    where = ((y + rows) * width + x + cols)[:, None] * 3 + np.arange(3)
    return where, np.repeat(mask[rows, cols][:, None].astype(np.uint16), 3, axis=1)


class _Ink(NamedTuple):
    where: np.ndarray  # byte offsets from the text's top-left corner, on a page of a given width
    a: np.ndarray
    h: int
    w: int


def placed_ink(key: tuple[Any, ...], mask: Callable[[], np.ndarray], y: int, x: int,
               shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`inked` for the text ``mask()`` with its top-left corner at (y, x) on a page of
    ``shape``, clipped to the page. ``key`` names the text (string, size): a text met before, on a
    page as wide, is its cached ink moved into place (one addition; no rasterising, no search
    for its ink), so the labels and titles a new setting shares with the last cost little.

    >>> ink = placed_ink(("-", 1.0), lambda: np.full((1, 2), 255, np.uint8), 1, 2, (4, 6, 3))
    >>> again = placed_ink(("-", 1.0), lambda: np.zeros((0, 0), np.uint8), 0, 0, (4, 6, 3))  # cached
    >>> ink[0].tolist(), again[0].tolist()
    ([[24, 25, 26], [27, 28, 29]], [[0, 1, 2], [3, 4, 5]])
    """
    global _ink_bytes
    height, width = shape[0], shape[1]
    full = (*key, width)
    with _ink_lock:
        cached = _ink_cache.get(full)
        if cached is not None:
            _ink_cache.move_to_end(full)
    if cached is None:
        m = mask()
        cached = _Ink(*inked(m, 0, 0, width), *m.shape)
        with _ink_lock:
            _ink_cache[full] = cached
            _ink_bytes += cached.where.nbytes + cached.a.nbytes
            while _ink_bytes > INK_CACHE_BYTES and len(_ink_cache) > 1:
                old = _ink_cache.popitem(last=False)[1]
                _ink_bytes -= old.where.nbytes + old.a.nbytes
    if y >= 0 and x >= 0 and y + cached.h <= height and x + cached.w <= width:
        return cached.where + (y * width + x) * 3, cached.a
    m = mask()  # cut at the page's edge
    ya, xa, yb, xb = max(y, 0), max(x, 0), min(y + m.shape[0], height), min(x + m.shape[1], width)
    return inked(m[ya - y:max(yb, ya) - y, xa - x:max(xb, xa) - x], ya, xa, width)


def blend(page: np.ndarray, where: np.ndarray, a: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour`` into the page's bytes ``where`` by coverage ``a`` (from :func:`inked`),
    with :func:`~.raster.paste`'s arithmetic; the pixels under no glyph are not touched (a
    gather and a scatter of the inked bytes: several times faster than blending the box)."""
    if not page.flags.c_contiguous:  # pragma: no cover - pages are made contiguous
        raise ValueError("text is blended into a contiguous page only")
    flat = page.reshape(-1)
    flat.put(where, (flat.take(where) * (255 - a) + colour.astype(np.uint16) * a + 127) // 255)


def shades(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """A plane's values as floats and their shade: 0 for the smallest finite value, 1 for the
    largest (0 everywhere when they are all equal; -inf 0, +inf and NaN 1 or 0 as clipped).

    >>> shades([[1, 3], [2, 3]])[1].tolist()
    [[0.0, 1.0], [0.5, 1.0]]
    """
    arr = np.asarray(values, dtype=float)
    ok = np.isfinite(arr)
    finite = arr if ok.all() else arr[ok]
    span = (finite.max() - finite.min()) if finite.size else 0.0
    if span == 0:
        return arr, np.zeros_like(arr)
    t = np.clip((arr - finite.min()) / span, 0, 1)
    return arr, t if finite is arr else np.nan_to_num(t)


class PlaneValues(NamedTuple):
    """A plane's values as tiles: which tile each cell shows, each tile's shade (0..1, ``(n, 1)``)
    and its text coverage (uint16 ``(n, c, c, 1)``)."""

    which: np.ndarray
    shade: np.ndarray
    cover: np.ndarray
    widest: int  # the widest label's width in pixels (it is left out if it is wider than a cell)


def plane_values(arr: np.ndarray, t: np.ndarray, cell: int,
                 mask_of: Callable[[float], np.ndarray]) -> PlaneValues:
    """One cell-sized tile per distinct value of ``arr``: its shade (from ``t``) and its text
    ``mask_of(value)``, centred (a text bigger than a cell is left out)."""
    c = cell
    values, first, index = np.unique(arr, return_index=True, return_inverse=True)
    tiles = np.zeros((len(values), c, c), np.uint8)
    widest = 0
    for i, v in enumerate(values):
        mask = mask_of(float(v))
        h, w = mask.shape
        widest = max(widest, w)
        if h <= c and w <= c:
            y0, x0 = (c - h + 1) // 2, (c - w + 1) // 2
            tiles[i, y0:y0 + h, x0:x0 + w] = mask
    return PlaneValues(index.reshape(arr.shape), t.reshape(-1)[first][:, None],
                       tiles[..., None].astype(np.uint16), widest)


def paint_plane(page: np.ndarray, y: int, x: int, t: np.ndarray, written: PlaneValues | None, cell: int,
                lo: np.ndarray, hi: np.ndarray, grid: np.ndarray, text: np.ndarray) -> tuple[int, int]:
    """Cells of a plane at (x, y), shaded from ``lo`` (t = 0) to ``hi`` (t = 1), grid lines in
    ``grid`` (cells of 5 px or more), values in ``text`` if ``written``; returns the rows and
    columns of cells drawn (a plane wider or taller than the page is cut at its edge).

    >>> page = blank(12, 12, "#ffffff").copy()
    >>> white, black = rgb("#ffffff"), rgb("#000000")
    >>> paint_plane(page, 1, 1, shades([[0, 1]])[1][..., None], None, 5, white, black, black, black)
    (1, 2)
    >>> page[3, 3:10, 0].tolist()
    [255, 255, 255, 0, 0, 0, 0]
    """
    c = cell
    nr, nc = min(t.shape[0], (page.shape[0] - y) // c), min(t.shape[1], (page.shape[1] - x) // c)
    if nr <= 0 or nc <= 0:
        return 0, 0
    region = page[y:y + nr * c, x:x + nc * c, :3]
    full = page[y:y + nr * c + 1, x:x + nc * c + 1, :3]
    if written is None:
        fill = (lo * (1 - t[:nr, :nc]) + hi * t[:nr, :nc]).round().astype(np.uint8)
        # contiguous: faster than broadcasting
        region[:] = np.repeat(np.repeat(fill, c, axis=0), c, axis=1)
        if c >= 5:
            full[::c, :] = grid
            full[:, ::c] = grid
        return nr, nc
    # one tile per distinct value (its shade, its grid lines, its number), gathered into place
    tiles = np.empty((len(written.shade), c, c, 3), np.uint8)
    tiles[:] = (lo * (1 - written.shade) + hi * written.shade).round().astype(np.uint8)[:, None, None]
    tiles[:, 0], tiles[:, :, 0] = grid, grid
    ink = text.astype(np.uint16) * written.cover
    tiles = ((tiles * (255 - written.cover) + ink + 127) // 255).astype(np.uint8)
    region.reshape(nr, c, nc, c, 3)[:] = tiles[written.which[:nr, :nc]].transpose(0, 2, 1, 3, 4)
    full[nr * c:, :] = grid
    full[:, nc * c:] = grid
    return nr, nc
