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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..geometry import ROLES, Geometry, Window, combine_roles
from .captions import input_title, legend_names, note, output_title
from .palettes import PALETTES
from .raster import draw_grid, hatch, outline, paste, rgb, text_mask

__all__ = [
    "COMBINED", "FILLS", "PALETTE", "PALETTES", "UNREAD", "Composed", "Layout", "color", "compose",
    "compose_error", "label_color", "rows_cols", "window_2d",
]

#: The light theme's colours (:data:`~convwidget.drawing.palettes.PALETTES` has both).
PALETTE: dict[str, str] = PALETTES["light"]

LABEL_MAX = 144  # cells in a grid up to which indices are written in them (if they fit)
MAX_CELL_PX = 44
#: the palette entry of each hatched role's lines
_HATCH = {"padding": "hatch", "output_padding": "output_padding_hatch", "unread": "unread_hatch"}
#: the smallest text in the picture: 8 pt, 11 px at 100 dpi and scale 1
MIN_TEXT_PT = 8.0
#: role code (index in ROLES) of a 2-D cell from the role codes of its row and column
COMBINED = np.array([[ROLES.index(combine_roles((a, b))) for b in ROLES] for a in ROLES],
                     dtype=np.intp)

Labels = dict[str, list[tuple[tuple[int, int], str]]]
#: where each index is written: ``(grid, cell) -> (text, x, y, role)``
Spots = dict[tuple[str, tuple[int, int]], tuple[str, float, float, str]]


def color(name: str, theme: str = "light") -> np.ndarray:
    """An entry of ``theme``'s palette (or any Matplotlib colour) as RGB uint8."""
    return rgb(PALETTES[theme].get(name, name))


def filled(ph: int, pw: int, rgb_color: np.ndarray) -> np.ndarray:
    """An opaque ``(ph, pw, 4)`` picture of one colour (filled as 32-bit words: a strided
    per-channel fill costs milliseconds)."""
    bg = np.empty((ph, pw, 4), np.uint8)
    bg.view(np.uint32)[:] = np.array([*rgb_color, 255], np.uint8).view(np.uint32)[0]
    return bg


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


def layout(pw: int, ph: int, grid: tuple[int, int], out: tuple[int, int], dpi: float,
           extra: int = 0) -> Layout:
    """Side by side, or input above output when that gives bigger cells (wide, flat
    inputs; 1-D). ``grid`` and ``out`` are (rows, cols) of the two grids; ``extra``: more
    room under the grids (at 100 dpi) for a second line of notes or legend."""
    px = scaler(dpi)
    (grid_r, grid_c), (out_r, out_c) = grid, out
    top, bottom, side, gap, title = px(30), px(72 + extra), px(12), px(56), px(26)
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
    #: where each index is written: ``(grid, cell) -> (text, x, y, role)``, for the figure to
    #: write it again over the translucent taps and lit cell (a digit under them loses contrast)
    label_spots: Spots = field(default_factory=dict)
    label_pt: float = 0.0  # the indices' font size


@dataclass(frozen=True)
class _Grids:
    """One composition's shared facts (so the helpers take one argument, not eight)."""

    g: Geometry
    rows: Any
    cols: Any
    lay: Layout
    dpi: float
    theme: str = "light"
    unread: tuple[tuple[int, ...], ...] = ()
    output_labels: tuple[str, ...] | None = None

    def px(self, value: float) -> int:
        """A length in pixels at 100 dpi, scaled to the picture's dpi."""
        return max(1, int(round(value * self.dpi / 100)))

    def c(self, name: str) -> np.ndarray:
        """A colour of this picture's theme."""
        return color(name, self.theme)

    def input_box(self, ra: int, ca: int, rb: int, cb: int) -> tuple[int, int, int, int]:
        """Pixel rectangle of input grid cells ra..rb-1, ca..cb-1 (grid coordinates)."""
        (x, y), cell = self.lay.input_xy, self.lay.cell
        r0, c0 = self.rows.grid_start, self.cols.grid_start
        return (y + (ra - r0) * cell, x + (ca - c0) * cell, y + (rb - r0) * cell, x + (cb - c0) * cell)


#: code of an input cell no window reads (after the geometry's roles)
UNREAD = len(ROLES)
#: every cell fill the input grid may use: the roles, then "unread"
FILLS = (*ROLES, "unread")


def compose(g: Geometry, pw: int, ph: int, dpi: float, theme: str = "light",
            notes: tuple[str, ...] = (), unread: tuple[tuple[int, ...], ...] = (),
            output_labels: tuple[str, ...] | None = None) -> Composed:
    """Lay out both grids of ``g`` in a ``pw`` x ``ph`` picture and compose it with numpy.

    ``notes``: sentences for the lines under the grids (besides the picture's own note);
    ``unread``: per dimension, the input indices no window reads
    (:func:`~convwidget.geometry.unread_indices`), shaded as never read;
    ``output_labels``: the text of each output cell, row-major (PyTorch's values), instead of
    the cells' numbers.
    """
    rows, cols = rows_cols(g)
    dropped = g.dropped_windows()
    if g.ndim == 1:
        unread = ((), *unread)
        dropped = tuple(window_2d(w) for w in dropped)
    legend = _legend_rows(g.kind, dpi, _present(rows, cols, any(unread)), bool(dropped), pw - scaler(dpi)(8))
    lines = _note_lines(dpi, [line for line in (note(g, bool(dropped)), *notes) if line], pw)
    raised = 15 * (len(legend) - 1)  # a second legend row lifts the notes and the caption
    lay = layout(pw, ph, (rows.grid_size, cols.grid_size), (rows.n_windows, cols.n_windows), dpi,
                 raised + 16 * max(0, len(lines) - 1))
    grids = _Grids(g, rows, cols, lay, dpi, theme, unread, output_labels)
    bg = filled(ph, pw, grids.c("background"))
    codes = _draw_input(bg, grids)
    # one dropped window per edge keeps the input readable; all of them on the output
    for w in [w for w in dropped if min(w.out_cell) == 0][:2]:
        (ta, tb), (tc, td) = w.taps[0], w.taps[-1]
        outline(bg, *grids.input_box(ta, tb, tc + 1, td + 1), grids.c("edge"), grids.px(2), dash=grids.px(6))
    _draw_output(bg, grids, dropped)
    spots, label_pt = _write_indices(bg, grids, codes)
    _draw_legend(bg, grids, legend)
    values = output_labels is not None and any(grid == "output" for grid, _ in spots)
    _write_words(bg, grids, lines, bool(dropped), raised, values)
    labels: Labels = {"input": [], "output": []}
    for (grid, cell), (text, *_) in spots.items():
        labels[grid].append((cell, text))
    return Composed(bg, lay, labels, [w.out_cell for w in dropped],
                    ph - grids.px(30 + 16 * len(lines) + raised), spots, label_pt)


def _edge_roles(dim: Any) -> set[int]:
    start, stop = dim.grid_start, dim.grid_stop
    if stop - start <= 4096:
        return {ROLES.index(dim.role(c)) for c in range(start, stop)}
    coords = [*range(start, start + 2048), *range(stop - 2048, stop)]
    return {ROLES.index(dim.role(c)) for c in coords}


def _present(rows: Any, cols: Any, unread: bool) -> set[str]:
    """The cell fills the input grid uses (for the legend; of a huge grid, its first and last
    2,048 cells a side, as many as can be seen)."""
    row_codes, col_codes = _edge_roles(rows), _edge_roles(cols)
    present = {ROLES[COMBINED[a, b]] for a in row_codes for b in col_codes}
    return present | {"unread"} if unread else present


def _draw_input(bg: np.ndarray, grids: _Grids) -> np.ndarray:
    """The input grid, its padded and real borders; returns each grid cell's fill code
    (a role code, or :data:`UNREAD`)."""
    rows, cols, px = grids.rows, grids.cols, grids.px
    x, y = grids.lay.input_xy
    ph, pw = bg.shape[:2]
    # only the cells that fit in the picture: a padding of 10**4 would otherwise ask for a
    # (20,008 × 20,008) array of codes, 3 GB, to draw 800 × 400 pixels
    codes = COMBINED[_role_codes(rows, _visible(rows.grid_size, y, grids.lay.cell, ph))[:, None],
                     _role_codes(cols, _visible(cols.grid_size, x, grids.lay.cell, pw))[None, :]]
    if any(grids.unread):
        never = [np.isin((np.arange(n) + dim.grid_start), [i * getattr(dim, "stretch", 1) for i in idx])
                 for n, dim, idx in zip(codes.shape, (rows, cols), grids.unread, strict=True)]
        codes[(never[0][:, None] | never[1][None, :]) & (codes == 0)] = UNREAD  # 0: "input"
    table = np.stack([grids.c(r) for r in FILLS])
    hatches = {FILLS.index(r): grids.c(col) for r, col in _HATCH.items()}
    draw_grid(bg, y, x, codes, table, grids.lay.cell, hatches, grids.c("grid"), faint=grids.c("faint_grid"))
    pr, pc = rows.implicit_padding, cols.implicit_padding
    padded = grids.input_box(-max(pr[0], 0), -max(pc[0], 0), rows.input_stop + max(pr[1], 0),
                             cols.input_stop + max(pc[1], 0))
    real = grids.input_box(0, 0, rows.input_stop, cols.input_stop)
    if padded != real:
        outline(bg, *padded, grids.c("grid"), px(1), dash=px(4))
    outline(bg, *real, grids.c("input_border"), px(2))
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
    out_table = np.stack([grids.c("output"), grids.c("ghost")])
    draw_grid(bg, y, x, out_codes, out_table, cell, {1: grids.c("ghost_hatch")}, grids.c("grid"),
              hatch_both=True, faint=grids.c("faint_grid"))
    for w in dropped:
        r, c = w.out_cell
        outline(bg, y + r * cell, x + c * cell, y + (r + 1) * cell, x + (c + 1) * cell, grids.c("edge"),
                grids.px(1), dash=grids.px(3))


def _index_spots(grids: _Grids, codes: np.ndarray) -> Spots:
    """The indices to write (small grids only: they are the values the torch panel feeds in)."""
    rows, cols, cell = grids.rows, grids.cols, grids.lay.cell
    spots: Spots = {}
    if rows.grid_size * cols.grid_size <= LABEL_MAX and codes.shape == (rows.grid_size, cols.grid_size):
        in_x, in_y = grids.lay.input_xy
        for i, r in enumerate(range(rows.grid_start, rows.grid_stop)):
            for j, c in enumerate(range(cols.grid_start, cols.grid_stop)):
                role = FILLS[codes[i, j]]
                if role in ("input", "unread"):
                    text = str(rows.input_index(r) * cols.size + cols.input_index(c))
                elif role == "zero":
                    text = "0"
                else:
                    continue
                spots["input", (r, c)] = (text, in_x + j * cell + (cell + 1) / 2,
                                          in_y + i * cell + (cell + 1) / 2, role)
    values = grids.output_labels
    if values is not None and len(values) != rows.output * cols.output:
        values = ()  # not this output's values: write none rather than wrong ones
    if rows.output * cols.output <= LABEL_MAX and values != ():
        out_x, out_y = grids.lay.output_xy
        for r in range(rows.output):
            for c in range(cols.output):
                k = r * cols.output + c
                spots["output", (r, c)] = (str(k) if values is None else values[k],
                                           out_x + c * cell + (cell + 1) / 2,
                                           out_y + r * cell + (cell + 1) / 2, "output")
    return spots


def _write_indices(bg: np.ndarray, grids: _Grids, codes: np.ndarray) -> tuple[Spots, float]:
    """Indices in cells, when they can be read: a font of half a cell (at most 9.5 pt), at
    least :data:`MIN_TEXT_PT` (11 px at 100 dpi), and the widest index inside its cell."""
    cell, dpi = grids.lay.cell, grids.dpi
    size = min(cell * 0.5 * 72 / dpi, 9.5)
    if size < MIN_TEXT_PT:
        return {}, 0.0
    spots = _index_spots(grids, codes)
    room = cell - grids.px(4)

    def widest(grid: str, pt: float) -> int:
        return max((text_mask(text, pt, dpi).shape[1] for (g, _), (text, *_) in spots.items() if g == grid),
                   default=0)

    if max(widest("input", size), widest("output", size)) > room:
        size = max(MIN_TEXT_PT, min(size, MIN_TEXT_PT))  # one smaller size for both grids
    for grid in ("input", "output"):  # a grid whose widest text still does not fit writes none
        if widest(grid, size) > room:
            for key in [key for key in spots if key[0] == grid]:
                del spots[key]
    if not spots:
        return {}, 0.0
    for text, x, y, role in spots.values():
        paste(bg, text_mask(text, size, dpi), grids.c("zero_text" if role == "zero" else "text"), x, y)
    return spots, size


def label_color(theme: str, role: str, under: bool) -> np.ndarray:
    """The colour of an index in a cell of ``role``, ``under`` a tap or the lit cell or not."""
    if role == "zero":
        return color("zero_tap_text" if under else "zero_text", theme)
    return color("tap_text" if under else "text", theme)


_NOTE_PT = 8.5


def wrap(text: str, size_pt: float, dpi: float, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels (a word longer than that on its own line)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        longer = f"{line} {word}" if line else word
        if line and text_mask(longer, size_pt, dpi).shape[1] > width:
            lines.append(line)
            line = word
        else:
            line = longer
    return [*lines, line]


def _note_lines(dpi: float, notes: list[str], pw: int) -> list[str]:
    """The notes wrapped to the picture's width, at most three lines (a note says what is
    unusual about the setting; the explorer's panels say the rest)."""
    lines = [line for note_text in notes for line in wrap(note_text, _NOTE_PT, dpi, pw - scaler(dpi)(8))]
    if len(lines) > 3:
        lines = [*lines[:2], lines[2] + " …"]
    return lines


def _fitted(text: str, dpi: float, width: int) -> np.ndarray:
    """A title at 10 pt, or smaller (down to :data:`MIN_TEXT_PT`) when it is wider than ``width``."""
    for size in (10.0, 9.0, MIN_TEXT_PT):
        mask = text_mask(text, size, dpi)
        if mask.shape[1] <= width:
            break
    return mask


def _write_words(bg: np.ndarray, grids: _Grids, lines: list[str], dropped: bool, raised: int,
                 values: bool = False) -> None:
    """Titles above the grids (the output's below it when stacked, or when the input's title
    reaches over it; it says when its cells hold PyTorch's values), the notes below both."""
    g, rows, cols, lay, px, dpi = grids.g, grids.rows, grids.cols, grids.lay, grids.px, grids.dpi
    ph, pw = bg.shape[:2]
    (in_x, in_y), (out_x, out_y), cell = lay.input_xy, lay.output_xy, lay.cell
    title = _fitted(input_title(g), dpi, pw - px(24))
    half = title.shape[1] / 2
    centre = float(np.clip(in_x + cols.grid_size * cell / 2, half + 2, pw - half - 2))
    in_title_y = in_y - px(12)
    paste(bg, title, grids.c("text"), centre, in_title_y)
    out_title = _fitted(output_title(g) + (": PyTorch's values" if values else ""), dpi, pw - px(8))
    out_title_y = out_y - px(12)
    reaches_over = (centre + title.shape[1] / 2 > out_x - px(4)
                    and abs(out_title_y - in_title_y) < title.shape[0] + px(2))
    if lay.stacked or reaches_over:
        out_title_y = out_y + rows.n_windows * cell + px(13)
    paste(bg, out_title, grids.c("text"), out_x + cols.n_windows * cell / 2, out_title_y)
    warn = dropped  # the first line is the ceil_mode warning when a window is dropped
    for i, line in enumerate(lines):
        paste(bg, text_mask(line, _NOTE_PT, dpi), grids.c("warn_text" if warn and i == 0 else "text"), pw / 2,
              ph - px(28 + 16 * (len(lines) - 1 - i) + raised))


_Entry = tuple[str, str, np.ndarray]  # palette key, label, label's text mask


def _legend_rows(kind: str, dpi: float, present: set[str], dropped: bool, width: int) -> list[list[_Entry]]:
    """The legend's entries (one per cell role in the picture, the kernel tap, dropped
    windows), in as many rows as it takes to fit ``width`` (one, nearly always)."""
    names = legend_names(kind)
    entries = [(r, names[r]) for r in FILLS if r in present] + [("tap", "kernel tap")]
    if dropped:
        entries.append(("dropped", "dropped by PyTorch"))
    px = scaler(dpi)
    rows: list[list[_Entry]] = [[]]
    used = 0
    for key, label in entries:
        m = text_mask(label, MIN_TEXT_PT, dpi)
        need = px(14 + 5 + 12) + m.shape[1]
        if rows[-1] and used + need > width:
            rows.append([])
            used = 0
        rows[-1].append((key, label, m))
        used += need
    return rows


def _draw_legend(bg: np.ndarray, grids: _Grids, rows: list[list[_Entry]]) -> None:
    """Each row centred, the last one at the bottom: a swatch (hatched like its cells) and a label."""
    px = grids.px
    sw, gap, sh = px(14), px(12), px(10)
    for n, row in enumerate(rows):
        y = bg.shape[0] - px(11 + 15 * (len(rows) - 1 - n))
        total = sum(sw + px(5) + m.shape[1] for *_, m in row) + gap * (len(row) - 1)
        x = max(2, (bg.shape[1] - total) // 2)
        for key, _, m in row:
            y0, x0 = y - sh // 2, x
            if key == "dropped":
                outline(bg, y0, x0, y0 + sh, x0 + sw, grids.c("edge"), px(1), dash=px(3))
            else:
                bg[y0:y0 + sh, x0:x0 + sw, :3] = grids.c(key)
                if key in _HATCH:
                    hatch(bg, y0, x0, y0 + sh, x0 + sw, grids.c(_HATCH[key]))
                outline(bg, y0, x0, y0 + sh, x0 + sw, grids.c("edge" if key == "tap" else "grid"), px(1))
            paste(bg, m, grids.c("text"), x0 + sw + px(5) + m.shape[1] / 2, y)
            x += sw + px(5) + m.shape[1] + gap


def compose_error(message: str, pw: int, ph: int, dpi: float, theme: str = "light") -> np.ndarray:
    """A picture with ``message`` in a box (why PyTorch refuses the setting), wrapped to fit."""
    px = scaler(dpi)
    bg = filled(ph, pw, color("background", theme))
    margin, pad = px(10), px(20)
    lines = wrap(" ".join(message.split()), 11.0, dpi, pw - 2 * (margin + pad))
    masks = [text_mask(line, 11.0, dpi) for line in lines]
    line_h = max(m.shape[0] for m in masks) + px(6)
    box_w = min(pw - 2 * margin, max(m.shape[1] for m in masks) + 2 * pad)
    box_h = min(ph, line_h * len(masks) + px(30))
    x0, y0 = (pw - box_w) // 2, max(0, (ph - box_h) // 2)
    bg[y0:y0 + box_h, x0:x0 + box_w, :3] = color("error_bg", theme)
    outline(bg, y0, x0, y0 + box_h - 1, x0 + box_w - 1, color("edge", theme), px(2))
    for i, m in enumerate(masks):
        paste(bg, m, color("text", theme), x0 + pad + m.shape[1] / 2, y0 + px(15) + line_h * i + line_h / 2)
    return bg
