"""The kernel taps of one window as a Matplotlib PolyCollection, coloured by cell role and theme.

A window of up to :data:`SEPARATE_TAPS` taps is one square a path (read back by
:meth:`~convwidget.drawing.WindowFigure.highlighted`); a bigger one is one compound path per
colour, so a 64×64 kernel costs about what a 3×3 one does.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.path import Path

from ..geometry import ROLES, Window
from .compose import COMBINED
from .palettes import PALETTES, TAP_ALPHA

__all__ = ["SEPARATE_TAPS", "retheme_taps", "set_taps", "tap_colors"]

_CLEAR = (0.0, 0.0, 0.0, 0.0)


@functools.lru_cache(maxsize=4)
def tap_colors(theme: str) -> tuple[list[Any], list[Any]]:
    """Face and edge colour of a tap square by the role code of its cell: taps outside the
    padded input get only the window's dotted outline, taps on padding or inserted zeros a
    paler face; translucent, and the indices under them are written again on top."""
    p = PALETTES[theme]
    tap, soft = to_rgba(p["tap"], TAP_ALPHA["tap"]), to_rgba(p["tap"], TAP_ALPHA["soft_tap"])
    edge = to_rgba(p["edge"])
    faces = [tap if r == "input" else _CLEAR if r in ("overhang", "cropped") else soft for r in ROLES]
    edges = [_CLEAR if r in ("overhang", "cropped") else edge for r in ROLES]
    return faces, edges


SEPARATE_TAPS = 256  # windows with more taps are drawn as one compound path per colour
_SQUARE_CODES = np.array([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], np.uint8)


def _axis_taps(window: Window) -> tuple[np.ndarray, np.ndarray]:
    """The window's row and column coordinates: its taps are their row-major product."""
    taps = window.taps
    first_row = taps[0][0]
    n_cols = next((i for i, t in enumerate(taps) if t[0] != first_row), len(taps))
    return (np.array([t[0] for t in taps[::n_cols]], np.int64),
            np.array([t[1] for t in taps[:n_cols]], np.int64))


def _role_codes(dim: Any, coords: np.ndarray) -> np.ndarray:
    return np.array([ROLES.index(dim.role(int(c))) for c in coords], np.intp)


def _runs(coords: np.ndarray, codes: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of neighbouring coordinates with one role: (first, last, role code)."""
    breaks = np.flatnonzero((np.diff(coords) != 1) | (np.diff(codes) != 0)) + 1
    starts, stops = np.concatenate(([0], breaks)), np.concatenate((breaks, [len(coords)])) - 1
    return [(int(coords[a]), int(coords[b]), int(codes[a]))
            for a, b in zip(starts, stops, strict=True)]


def set_taps(taps_artist: PolyCollection, window: Window, rows: Any, cols: Any,
             thin: bool, theme: str = "light") -> dict[str, int]:
    """A square per tap on the collection, coloured by its cell's role; returns taps per role.

    Up to :data:`SEPARATE_TAPS` taps, one square a path, in row-major order. Beyond, one
    compound path per colour (Agg draws a path in one call: a 64×64 kernel costs about what
    a 3×3 one does), of squares, or when cells are ``thin`` (under 8 pixels, where a tap's
    own edges cannot be told apart) of rectangles, one per run of same-role cells.
    """
    row_coords, col_coords = _axis_taps(window)
    row_codes, col_codes = _role_codes(rows, row_coords), _role_codes(cols, col_coords)
    codes = COMBINED[row_codes[:, None], col_codes[None, :]]
    counts = dict(zip(ROLES, np.bincount(codes.ravel(), minlength=len(ROLES)).tolist(), strict=True))
    faces, edges = tap_colors(theme)
    if codes.size <= SEPARATE_TAPS:
        taps_artist.set_verts([_cell_box(r, c) for r, c in window.taps])
        taps_artist.set_facecolor([faces[k] for k in codes.ravel()])
        taps_artist.set_edgecolor([edges[k] for k in codes.ravel()])
        return counts
    if thin:
        boxes = [((c0, r0), (c1, r1), int(COMBINED[rk, ck]))
                 for r0, r1, rk in _runs(row_coords, row_codes)
                 for c0, c1, ck in _runs(col_coords, col_codes)]
    else:
        rr, cc = np.broadcast_arrays(row_coords[:, None], col_coords[None, :])
        boxes = [((c, r), (c, r), k) for r, c, k in zip(rr.ravel().tolist(), cc.ravel().tolist(),
                                                          codes.ravel().tolist(), strict=True)]
    _set_compound(taps_artist, boxes, faces, edges)
    return counts


_Box = tuple[tuple[int, int], tuple[int, int], int]  # first (x, y) cell, last (x, y) cell, role code


def _set_compound(taps_artist: PolyCollection, boxes: list[_Box], faces: list[Any], edges: list[Any]) -> None:
    """One compound path per (face, edge) colour, of the cell rectangles (x0, y0)-(x1, y1)."""
    groups: dict[tuple[Any, Any], list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for first, last, k in boxes:
        groups.setdefault((faces[k], edges[k]), []).append((first, last))
    verts, path_codes = [], []
    for rects in groups.values():
        corners = np.array(rects, float)  # (n, 2 corners, (x, y))
        lo, hi = corners[:, 0, :] - 0.5, corners[:, 1, :] + 0.5
        closed = [lo, np.stack([hi[:, 0], lo[:, 1]], 1), hi, np.stack([lo[:, 0], hi[:, 1]], 1), lo]
        verts.append(np.stack(closed, 1).reshape(-1, 2))
        path_codes.append(np.tile(_SQUARE_CODES, len(rects)))
    # one code array per path, as Matplotlib takes it (its stub says one flat sequence)
    taps_artist.set_verts_and_codes(verts, path_codes)  # type: ignore[arg-type]
    taps_artist.set_facecolor([face for face, _ in groups])
    taps_artist.set_edgecolor([edge for _, edge in groups])


def _cell_box(r: int, c: int) -> list[tuple[float, float]]:
    return [(c - 0.5, r - 0.5), (c + 0.5, r - 0.5), (c + 0.5, r + 0.5), (c - 0.5, r + 0.5)]


def retheme_taps(taps_artist: PolyCollection, old: str, new: str) -> None:
    """Recolour the taps drawn in theme ``old`` for theme ``new`` (same squares, no new paths)."""
    if old == new:
        return
    (old_faces, old_edges), (new_faces, new_edges) = tap_colors(old), tap_colors(new)
    for get, put, before, after in (
        (taps_artist.get_facecolor, taps_artist.set_facecolor, old_faces, new_faces),
        (taps_artist.get_edgecolor, taps_artist.set_edgecolor, old_edges, new_edges),
    ):
        current = np.array(get(), float)
        if not len(current):
            continue
        changed = False
        for b, a in {tuple(b): tuple(a) for b, a in zip(before, after, strict=True) if b != a}.items():
            hit = np.all(np.abs(current - b) < 1e-6, axis=1)
            if hit.any():
                current[hit] = a
                changed = True
        if changed:
            put([tuple(c) for c in current.tolist()])
