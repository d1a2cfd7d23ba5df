"""The static sliding-window picture, composed with numpy: grids, outlines, indices, words.

:func:`compose` turns a :class:`~convwidget.geometry.Geometry` and a picture size into an RGBA
array and the facts a figure needs to put its moving artists on top (the cell size, where
each grid sits, which cells carry an index). No Matplotlib artist is made here; the figure
(:mod:`convwidget.drawing.figure`) copies the array into its canvas and draws only the taps,
the window outline, the lit cell and the link line on each step.

>>> from convwidget.geometry import layer_geometry
>>> picture = compose(layer_geometry("conv", (5, 5), kernel_size=3), 800, 400, 100.0)
>>> picture.background.shape, picture.layout.cell, picture.labels["output"][:2]
((400, 800, 4), 44, [((0, 0), '0'), ((0, 1), '1')])
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry import ROLES, Geometry, Window, combine_roles
from .captions import input_title, legend_names, note, output_title
from .raster import draw_grid, hatch, outline, paste, rgb, text_mask

__all__ = ["COMBINED", "PALETTE", "Composed", "Layout", "compose", "compose_error", "rows_cols", "window_2d"]

#: Okabe–Ito based colours (readable with the common colour-vision deficiencies); roles are
#: also told apart by hatching, outlines and line styles, not by colour alone.
PALETTE: dict[str, str] = {
    "input": "#bfe2f6",  # light sky blue
    "padding": "#dcdcdc",  # light grey, hatched
    "zero": "#ffffff",  # inserted zeros: white, labelled "0" when small
    "output_padding": "#a9a9a9",  # darker grey, hatched
    "overhang": "#ffffff",  # outside the padded input: white, beyond the dashed edge
    "cropped": "#f2f2f2",
    "output": "#bde6d6",  # light bluish green
    "tap": "#e69f00",  # orange: the window and the output cell it makes
    "edge": "#d55e00",  # vermilion: window outline, dropped windows
    "input_border": "#0072b2",  # blue: the real input's border
    "grid": "#7f7f7f",
    "hatch": "#8f8f8f",
    "text": "#1a1a1a",
    "error_bg": "#fff4e0",
}

LABEL_MAX = 12  # cells a side up to which indices are written in cells
MAX_CELL_PX = 44
_HATCH = {"padding": PALETTE["hatch"], "output_padding": "#5f5f5f"}
#: role code (index in ROLES) of a 2-D cell from the role codes of its row and column
COMBINED = np.array([[ROLES.index(combine_roles((a, b))) for b in ROLES] for a in ROLES],
                     dtype=np.intp)

Labels = dict[str, list[tuple[tuple[int, int], str]]]


def color(name: str) -> np.ndarray:
    """A :data:`PALETTE` entry (or any Matplotlib colour) as RGB uint8."""
    return rgb(PALETTE.get(name, name))


def scaler(dpi: float) -> Callable[[float], int]:
    """Lengths given in pixels at 100 dpi, scaled to ``dpi`` (at least one pixel)."""
    return lambda value: max(1, int(round(value * dpi / 100)))


# ---------------------------------------------------------------------- geometry helpers
class _UnitDim:
    """A stand-in row dimension for 1-D layers."""

    grid_start, grid_stop, grid_size = 0, 1, 1
    size = output = n_windows = input_stop = 1
    implicit_padding = (0, 0)
    roles = ("input",)

    @staticmethod
    def role(coord: int) -> str:
        return "input"

    @staticmethod
    def input_index(coord: int) -> int:
        return 0


def rows_cols(g: Geometry) -> tuple[Any, Any]:
    """The row and column dimensions of the picture (a 1-D layer is one row)."""
    if g.ndim == 1:
        return _UnitDim(), g.dims[0]
    return g.dims[0], g.dims[1]


def window_2d(w: Window) -> Window:
    """A 1-D window on row 0 of a one-row grid."""
    return Window(w.step, (0, *w.out_cell), tuple((0, *t) for t in w.taps),
                  tuple((0, *c) for c in w.inputs), w.dropped, w.overhang)


# ---------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """Whole-pixel cells, the same size on both grids, and each grid's top-left pixel."""

    cell: int
    input_xy: tuple[int, int]
    output_xy: tuple[int, int]
    stacked: bool  # input above output (else side by side)


def layout(pw: int, ph: int, grid: tuple[int, int], out: tuple[int, int], dpi: float) -> Layout:
    """Side by side, or input above output when that gives bigger cells (wide, flat
    inputs; 1-D). ``grid`` and ``out`` are (rows, cols) of the two grids."""
    px = scaler(dpi)
    (grid_r, grid_c), (out_r, out_c) = grid, out
    top, bottom, side, gap, title = px(30), px(72), px(12), px(56), px(26)
    avail_w, avail_h = pw - 2 * side, ph - top - bottom
    beside = min((avail_w - gap) / (grid_c + out_c), avail_h / max(grid_r, out_r))
    over = min(avail_w / max(grid_c, out_c), (avail_h - gap // 2 - title) / (grid_r + out_r))
    stacked = over > beside * 1.15
    cell = int(max(1, min(over if stacked else beside, px(MAX_CELL_PX))))
    in_w, in_h, out_w, out_h = grid_c * cell, grid_r * cell, out_c * cell, out_r * cell
    if stacked:
        block = in_h + gap // 2 + title + out_h
        in_y = top + max(0, (avail_h - block) // 2)
        out_y = in_y + in_h + gap // 2  # output title goes below: the link stays clear
        return Layout(cell, (max(0, (pw - in_w) // 2), in_y), (max(0, (pw - out_w) // 2), out_y), True)
    left = max(0, (pw - (in_w + gap + out_w)) // 2)
    mid = top + avail_h // 2
    return Layout(cell, (left, max(0, mid - in_h // 2)), (left + in_w + gap, max(0, mid - out_h // 2)),
                  False)


# ---------------------------------------------------------------------- composing
@dataclass
class Composed:
    """A composed static picture and what the figure needs to draw on top of it."""

    background: np.ndarray  # (height, width, 4) uint8
    layout: Layout
    labels: Labels  # indices written in cells: {"input": [((row, col), text), ...], "output": [...]}
    dropped_cells: list[tuple[int, ...]]  # output cells drawn as ghosts (ceil_mode drops them)
    caption_y: int  # the row the step caption is centred on


@dataclass(frozen=True)
class _Grids:
    """One composition's shared facts (so the helpers take one argument, not eight)."""

    g: Geometry
    rows: Any
    cols: Any
    lay: Layout
    dpi: float

    def px(self, value: float) -> int:
        """A length in pixels at 100 dpi, scaled to the picture's dpi."""
        return max(1, int(round(value * self.dpi / 100)))

    def input_box(self, ra: int, ca: int, rb: int, cb: int) -> tuple[int, int, int, int]:
        """Pixel rectangle of input grid cells ra..rb-1, ca..cb-1 (grid coordinates)."""
        (x, y), cell = self.lay.input_xy, self.lay.cell
        r0, c0 = self.rows.grid_start, self.cols.grid_start
        return (y + (ra - r0) * cell, x + (ca - c0) * cell, y + (rb - r0) * cell, x + (cb - c0) * cell)


def compose(g: Geometry, pw: int, ph: int, dpi: float) -> Composed:
    """Lay out both grids of ``g`` in a ``pw`` x ``ph`` picture and compose it with numpy."""
    rows, cols = rows_cols(g)
    lay = layout(pw, ph, (rows.grid_size, cols.grid_size), (rows.n_windows, cols.n_windows), dpi)
    grids = _Grids(g, rows, cols, lay, dpi)
    bg = np.full((ph, pw, 4), 255, np.uint8)
    codes = _draw_input(bg, grids)
    dropped = g.dropped_windows()
    if g.ndim == 1:
        dropped = tuple(window_2d(w) for w in dropped)
    # one dropped window per edge keeps the input readable; all of them on the output
    for w in [w for w in dropped if min(w.out_cell) == 0][:2]:
        (ta, tb), (tc, td) = w.taps[0], w.taps[-1]
        outline(bg, *grids.input_box(ta, tb, tc + 1, td + 1), color("edge"), grids.px(2), dash=grids.px(6))
    _draw_output(bg, grids, dropped)
    labels = _write_indices(bg, grids, codes)
    _write_words(bg, grids, bool(dropped))
    _draw_legend(bg, grids, {ROLES[i] for i in np.unique(codes)}, bool(dropped), ph - grids.px(12))
    return Composed(bg, lay, labels, [w.out_cell for w in dropped], ph - grids.px(56))


def _draw_input(bg: np.ndarray, grids: _Grids) -> np.ndarray:
    """The input grid, its padded and real borders; returns each grid cell's role code."""
    rows, cols, px = grids.rows, grids.cols, grids.px
    x, y = grids.lay.input_xy
    ph, pw = bg.shape[:2]
    # only the cells that fit in the picture: a padding of 10**4 would otherwise ask for a
    # (20,008 × 20,008) array of codes, 3 GB, to draw 800 × 400 pixels
    codes = COMBINED[_role_codes(rows, _visible(rows.grid_size, y, grids.lay.cell, ph))[:, None],
                     _role_codes(cols, _visible(cols.grid_size, x, grids.lay.cell, pw))[None, :]]
    table = np.stack([color(r) for r in ROLES])
    hatches = {ROLES.index(r): color(col) for r, col in _HATCH.items()}
    draw_grid(bg, y, x, codes, table, grids.lay.cell, hatches, color("grid"))
    pr, pc = rows.implicit_padding, cols.implicit_padding
    padded = grids.input_box(-max(pr[0], 0), -max(pc[0], 0), rows.input_stop + max(pr[1], 0),
                             cols.input_stop + max(pc[1], 0))
    real = grids.input_box(0, 0, rows.input_stop, cols.input_stop)
    if padded != real:
        outline(bg, *padded, color("grid"), px(1), dash=px(4))
    outline(bg, *real, color("input_border"), px(2))
    return codes


def _visible(n: int, start: int, cell: int, limit: int) -> int:
    """How many of ``n`` cells of ``cell`` pixels, from pixel ``start``, reach into ``limit``."""
    return max(0, min(n, -(-(limit - start) // cell)))


def _role_codes(dim: Any, n: int) -> np.ndarray:
    """The role codes of a dimension's first ``n`` grid cells."""
    start = dim.grid_start
    return np.array([ROLES.index(dim.role(c)) for c in range(start, start + n)], np.intp)


def _draw_output(bg: np.ndarray, grids: _Grids, dropped: tuple[Window, ...]) -> None:
    """The output grid, with hatched ghost cells for the windows PyTorch drops."""
    rows, cols, cell = grids.rows, grids.cols, grids.lay.cell
    x, y = grids.lay.output_xy
    ph, pw = bg.shape[:2]
    shown = (_visible(rows.n_windows, y, cell, ph), _visible(cols.n_windows, x, cell, pw))
    out_codes = np.zeros(shown, np.intp)
    out_codes[rows.output:, :] = 1
    out_codes[:, cols.output:] = 1
    out_table = np.stack([color("output"), np.array([255, 255, 255], np.uint8)])
    draw_grid(bg, y, x, out_codes, out_table, cell, {1: color("#f0b48a")}, color("grid"), hatch_both=True)
    for w in dropped:
        r, c = w.out_cell
        outline(bg, y + r * cell, x + c * cell, y + (r + 1) * cell, x + (c + 1) * cell, color("edge"),
                grids.px(1), dash=grids.px(3))


def _write_indices(bg: np.ndarray, grids: _Grids, codes: np.ndarray) -> Labels:
    """Indices in cells (small grids only: they are the values the torch panel feeds in).

    The font is about 0.42 of a cell (at most 9.5 pt), written only when that is at least
    6.5 pixels tall, i.e. readable.
    """
    rows, cols, cell, dpi = grids.rows, grids.cols, grids.lay.cell, grids.dpi
    font_px = min(cell * 0.42, 9.5 * dpi / 72)
    size = font_px * 72 / dpi
    labels: Labels = {"input": [], "output": []}
    if font_px < 6.5:
        return labels
    if max(rows.grid_size, cols.grid_size) <= LABEL_MAX and codes.shape == (rows.grid_size, cols.grid_size):
        in_x, in_y = grids.lay.input_xy
        for i, r in enumerate(range(rows.grid_start, rows.grid_stop)):
            for j, c in enumerate(range(cols.grid_start, cols.grid_stop)):
                role = ROLES[codes[i, j]]
                if role not in ("input", "zero"):
                    continue
                index = str(rows.input_index(r) * cols.size + cols.input_index(c)) if role == "input" else "0"
                paste(bg, text_mask(index, size, dpi), color("text" if role == "input" else "grid"),
                      in_x + j * cell + (cell + 1) / 2, in_y + i * cell + (cell + 1) / 2)
                labels["input"].append(((r, c), index))
    if max(rows.output, cols.output) <= LABEL_MAX:
        out_x, out_y = grids.lay.output_xy
        for r in range(rows.output):
            for c in range(cols.output):
                index = str(r * cols.output + c)
                paste(bg, text_mask(index, size, dpi), color("text"),
                      out_x + c * cell + (cell + 1) / 2, out_y + r * cell + (cell + 1) / 2)
                labels["output"].append(((r, c), index))
    return labels


def _write_words(bg: np.ndarray, grids: _Grids, dropped: bool) -> None:
    """Titles above the grids (the output's below it when stacked), the note below both."""
    g, rows, cols, lay, px, dpi = grids.g, grids.rows, grids.cols, grids.lay, grids.px, grids.dpi
    ph, pw = bg.shape[:2]
    (in_x, in_y), (out_x, out_y), cell = lay.input_xy, lay.output_xy, lay.cell
    title = text_mask(input_title(g), 10.0, dpi)
    centre = np.clip(in_x + cols.grid_size * cell / 2, title.shape[1] / 2 + 2, pw - title.shape[1] / 2 - 2)
    paste(bg, title, color("text"), float(centre), in_y - px(12))
    out_title_y = out_y + rows.n_windows * cell + px(13) if lay.stacked else out_y - px(12)
    paste(bg, text_mask(output_title(g), 10.0, dpi), color("text"), out_x + cols.n_windows * cell / 2,
          out_title_y)
    line = note(g, dropped)
    if line:
        paste(bg, text_mask(line, 9.0, dpi), color("edge" if dropped else "text"), pw / 2, ph - px(34))


def _draw_legend(bg: np.ndarray, grids: _Grids, present: set[str], dropped: bool, y: int) -> None:
    """One swatch and label per cell role in the picture, the kernel tap, dropped windows."""
    names = legend_names(grids.g.kind)
    entries = [(r, names[r]) for r in ROLES if r in present] + [("tap", "kernel tap")]
    if dropped:
        entries.append(("dropped", "dropped by PyTorch"))
    masks = [text_mask(label, 8.0, grids.dpi) for _, label in entries]
    px = grids.px
    sw, gap, sh = px(14), px(14), px(10)
    total = sum(sw + px(5) + m.shape[1] for m in masks) + gap * (len(masks) - 1)
    x = max(2, (bg.shape[1] - total) // 2)
    for (key, _), m in zip(entries, masks, strict=True):
        y0, x0 = y - sh // 2, x
        if key == "dropped":
            outline(bg, y0, x0, y0 + sh, x0 + sw, color("edge"), px(1), dash=px(3))
        else:
            bg[y0:y0 + sh, x0:x0 + sw, :3] = color(key)
            if key in _HATCH:
                hatch(bg, y0, x0, y0 + sh, x0 + sw, color(_HATCH[key]))
            outline(bg, y0, x0, y0 + sh, x0 + sw, color("edge" if key == "tap" else "grid"), px(1))
        paste(bg, m, color("text"), x0 + sw + px(5) + m.shape[1] / 2, y)
        x += sw + px(5) + m.shape[1] + gap


def compose_error(message: str, pw: int, ph: int, dpi: float) -> np.ndarray:
    """A white picture with ``message`` in a box (why PyTorch refuses the setting)."""
    bg = np.full((ph, pw, 4), 255, np.uint8)
    lines = textwrap.wrap(message, 72) or [""]
    masks = [text_mask(line, 11.0, dpi) for line in lines]
    line_h = max(m.shape[0] for m in masks) + 6
    box_w = min(pw - 20, max(m.shape[1] for m in masks) + 40)
    box_h = line_h * len(masks) + 30
    x0, y0 = (pw - box_w) // 2, max(0, (ph - box_h) // 2)
    bg[y0:y0 + box_h, x0:x0 + box_w, :3] = color("error_bg")
    outline(bg, y0, x0, y0 + box_h - 1, x0 + box_w - 1, color("edge"), 2)
    for i, m in enumerate(masks):
        paste(bg, m, color("text"), x0 + 20 + m.shape[1] / 2, y0 + 15 + line_h * i + line_h / 2)
    return bg
