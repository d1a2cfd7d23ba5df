"""The sliding-window picture: built once, updated in place, a step in a few milliseconds.

:class:`WindowFigure` draws a :class:`~convwidget.geometry.Geometry`: the input grid with
its padding ring (grey, hatched), a transposed convolution's inserted zeros (white, "0") and
output_padding row (darker grey), the kernel taps of the current window (orange; dilation
holes left unfilled inside the window's outline), the output grid with the current cell lit
(orange too), and a line linking the two. A ``ceil_mode`` window that overhangs the padded
input draws its outside taps dashed; windows PyTorch drops are dashed vermilion on both grids.

It uses :class:`matplotlib.figure.Figure` directly (no pyplot, no backend, no global state):
render with :meth:`WindowFigure.to_png` and show the bytes in an ``ipywidgets.Image``.

How it stays fast: cells are a whole number of pixels, so the static picture (grids, hatching,
outlines, indices, titles, legend) is composed once per setting with numpy and written straight
into the Agg buffer; text is rasterised once per string with FreeType and cached (a Matplotlib
``Text`` costs ~0.3 ms per glyph here). Only the moving artists (taps, window outline, lit
cell, link line) go through Matplotlib on each step, in data coordinates of two invisible axes.

>>> from convwidget.geometry import layer_geometry
>>> fig = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1))
>>> fig.show_step(4)
>>> fig.highlighted()["out_cell"], fig.highlighted()["taps"][:2]
((1, 1), [(1, 1), (1, 2)])
>>> fig.caption
'step 5/9: output (1, 1) reads 9 taps: 9 on input'
>>> fig.to_png()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import functools
import struct
import textwrap
import zlib
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.patches import ConnectionPatch, Rectangle

from .geometry import ROLES, Geometry, Window, _combine

__all__ = ["PALETTE", "WindowFigure"]

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

_LABEL_MAX = 12  # cells a side up to which indices are written in cells
_MAX_CELL_PX = 44
_HATCH = {"padding": PALETTE["hatch"], "output_padding": "#5f5f5f"}
# role of a 2-D cell from the roles of its row and column
_COMBINED = np.array([[ROLES.index(_combine((a, b))) for b in ROLES] for a in ROLES], dtype=np.intp)


def _rgb(name_or_hex: str) -> np.ndarray:
    return np.array([round(255 * v) for v in to_rgba(PALETTE.get(name_or_hex, name_or_hex))[:3]], np.uint8)


def _rasterise(text: str, size_pt: float, dpi: float) -> tuple[np.ndarray, int]:
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


@functools.lru_cache(maxsize=4096)
def _text_mask(text: str, size_pt: float, dpi: float) -> np.ndarray:
    """Coverage of one line of text, cached per string."""
    return _rasterise(text, size_pt, dpi)[0]


@functools.lru_cache(maxsize=4096)
def _word_mask(word: str, size_pt: float, dpi: float) -> tuple[np.ndarray, int]:
    """Coverage of one word and its baseline row, cached per word."""
    return _rasterise(word, size_pt, dpi)


def _line_mask(text: str, size_pt: float, dpi: float) -> np.ndarray:
    """Coverage of a line that changes every step (the caption), from cached words: laying
    out a new string costs ~0.1 ms a glyph, a cached word nothing."""
    words = [_word_mask(w, size_pt, dpi) for w in text.split(" ") if w]
    if not words:
        return np.zeros((1, 1), np.uint8)
    space = _word_mask("a b", size_pt, dpi)[0].shape[1] - _word_mask("ab", size_pt, dpi)[0].shape[1]
    above = max(base for _, base in words)
    below = max(m.shape[0] - base for m, base in words)
    width = sum(m.shape[1] for m, _ in words) + space * (len(words) - 1)
    out = np.zeros((above + below, width), np.uint8)
    x = 0
    for m, base in words:
        y = above - base
        np.maximum(out[y:y + m.shape[0], x:x + m.shape[1]], m, out=out[y:y + m.shape[0], x:x + m.shape[1]])
        x += m.shape[1] + space
    return out


class WindowFigure:
    """A picture of a layer's sliding window, built once and updated in place.

    Parameters
    ----------
    geometry
        What to draw (from :func:`convwidget.geometry.layer_geometry`); None draws nothing
        until :meth:`set_geometry`.
    figsize, dpi
        Size of the picture (inches, dots per inch).
    caption
        Write the step caption (which output cell, how many taps on input/padding) into the
        picture. A widget may turn it off and show :attr:`caption` as text beside the picture.
    figure
        Draw into this existing Figure instead (e.g. one made by ipympl's
        ``%matplotlib widget``): the static picture becomes a figure image, artists are not
        "animated", and every update calls ``figure.canvas.draw_idle()``. By default a private
        Agg-backed Figure is used and nothing is shown until you call :meth:`to_png`.

    >>> from convwidget.geometry import layer_geometry
    >>> fig = WindowFigure(layer_geometry("max_pool", (5, 5), kernel_size=2, ceil_mode=True))
    >>> fig.n_steps, len(fig.to_png()) > 1000
    (9, True)
    """

    def __init__(
        self,
        geometry: Geometry | None = None,
        *,
        figsize: tuple[float, float] = (8.0, 4.0),
        dpi: float = 100.0,
        caption: bool = True,
        figure: Figure | None = None,
    ) -> None:
        self._interactive = figure is not None
        if figure is None:
            figure = Figure(figsize=figsize, dpi=dpi, facecolor="white")
            FigureCanvasAgg(figure)
        self.figure = figure
        self.show_caption = caption
        self.geometry: Geometry | None = None
        self.window: Window | None = None
        self.step: int = 0
        self.error: str | None = None
        self.caption: str = ""
        #: indices written in cells, ``{"input": [((row, col), text), ...], "output": [...]}``
        self.labels: dict[str, list[tuple[tuple[int, int], str]]] = {"input": [], "output": []}
        #: output cells drawn as ghosts: windows PyTorch drops (``ceil_mode``)
        self.dropped_cells: list[tuple[int, ...]] = []
        self._stacked = False
        self._cell = 1
        self._size = (0, 0)
        self._background = np.empty((0, 0, 4), np.uint8)
        self._bg_image: Any = None
        self._build_artists()
        if geometry is not None:
            self.set_geometry(geometry)
        else:
            self._compose_blank()

    # ------------------------------------------------------------------ building
    def _build_artists(self) -> None:
        fig = self.figure
        anim = not self._interactive
        self.ax_in = fig.add_axes((0.05, 0.2, 0.4, 0.7))
        self.ax_out = fig.add_axes((0.55, 0.2, 0.4, 0.7))
        for ax in (self.ax_in, self.ax_out):
            ax.set_axis_off()
            ax.set_autoscale_on(False)
        # the moving artists: the only things Matplotlib draws on a step
        self.taps = PolyCollection([], facecolors=PALETTE["tap"], edgecolors=PALETTE["edge"],
                                   linewidths=0.8, zorder=5, animated=anim)
        self.extent = Rectangle((0, 0), 1, 1, fill=False, edgecolor=PALETTE["edge"],
                                linewidth=2.2, zorder=6, animated=anim)
        self.lit = Rectangle((0, 0), 1, 1, facecolor=to_rgba(PALETTE["tap"], 0.7),
                             edgecolor=PALETTE["edge"], linewidth=2.2, zorder=6, animated=anim)
        self.ax_in.add_collection(self.taps)
        self.ax_in.add_patch(self.extent)
        self.ax_out.add_patch(self.lit)
        self.link = ConnectionPatch((0, 0), (0, 0), coordsA=self.ax_in.transData,
                                    coordsB=self.ax_out.transData, color=PALETTE["edge"],
                                    linewidth=1.2, alpha=0.7, zorder=7, animated=anim)
        fig.add_artist(self.link)
        self._moving = [self.taps, self.extent, self.lit, self.link]
        for artist in (self.taps, self.extent, self.lit):
            # windows stay on the grid; clipping at the axes edge would halve edge outlines
            artist.set_clip_on(False)

    # ------------------------------------------------------------------ public API
    @property
    def n_steps(self) -> int:
        """Number of output cells of the current geometry (0 when none or on error)."""
        if self.geometry is None or self.error is not None:
            return 0
        return self.geometry.n_steps

    def set_geometry(self, geometry: Geometry, step: int | None = None) -> None:
        """Draw a new layer setting, reusing every artist; shows ``step`` (default: the
        current step, clamped to the new output)."""
        self.geometry = geometry
        self.error = None
        for a in self._moving:
            a.set_visible(True)
        self._compose(geometry)
        if step is None:
            step = min(self.step, geometry.n_steps - 1)
        self.show_step(step)

    def show_step(self, step: int) -> None:
        """Move the window and the lit output cell to output cell number ``step``."""
        if self.geometry is None or self.error is not None:
            return
        self.step = step
        self.show_window(self.geometry.window(step))

    def show_window(self, window: Window) -> None:
        """Show any window of the current geometry, including one PyTorch drops
        (from :meth:`Geometry.dropped_windows`)."""
        g = self.geometry
        if g is None or self.error is not None:
            return
        self.window = window
        if g.ndim == 1:
            window = _window_2d(window)
        rows, cols = _rows_cols(g)
        # translucent, so the indices written in small grids stay readable under the window
        tap_rgba = to_rgba(PALETTE["tap"], 0.7)
        soft_rgba = to_rgba(PALETTE["tap"], 0.35)
        clear = (0.0, 0.0, 0.0, 0.0)
        edge = to_rgba(PALETTE["edge"])
        verts, faces, edges = [], [], []
        counts = dict.fromkeys(ROLES, 0)
        for r, c in window.taps:
            role = _combine((rows.role(r), cols.role(c)))
            counts[role] += 1
            verts.append(_cell_box(r, c))
            faces.append(tap_rgba if role == "input" else clear if role in ("overhang", "cropped") else soft_rgba)
            edges.append(clear if role in ("overhang", "cropped") else edge)  # outside: only the dotted outline
        self.taps.set_verts(verts)
        self.taps.set_facecolors(faces)
        self.taps.set_edgecolors(edges)
        (r0, c0), (r1, c1) = window.taps[0], window.taps[-1]
        self.extent.set_bounds(c0 - 0.5, r0 - 0.5, c1 - c0 + 1, r1 - r0 + 1)
        # dashed: PyTorch drops the window; dotted: it reaches past the padded input
        self.extent.set_linestyle("--" if window.dropped else ":" if window.overhang else "-")
        orow, ocol = window.out_cell
        self.lit.set_bounds(ocol - 0.5, orow - 0.5, 1, 1)
        self.lit.set_linestyle("--" if window.dropped else "-")
        if self._stacked:
            self.link.xy1 = ((c0 + c1) / 2, r1 + 0.5)
            self.link.xy2 = (ocol, orow - 0.5)
        else:
            # right edge of the window to left edge of the cell: crosses few labelled cells
            self.link.xy1 = (c1 + 0.5, (r0 + r1) / 2)
            self.link.xy2 = (ocol - 0.5, orow)
        self.caption = _caption(g, self.window, counts)
        if self._interactive:
            self._update_figure_image()
            self.figure.canvas.draw_idle()

    def show_error(self, message: str) -> None:
        """Replace the drawing by ``message`` (e.g. why PyTorch refuses the setting); the
        next :meth:`set_geometry` brings the drawing back."""
        self.error = message
        self.caption = ""
        for a in self._moving:
            a.set_visible(False)
        pw, ph = self._pixels()
        bg = np.full((ph, pw, 4), 255, np.uint8)
        lines = textwrap.wrap(message, 72) or [""]
        size = 11.0
        masks = [_text_mask(line, size, self.figure.dpi) for line in lines]
        line_h = max(m.shape[0] for m in masks) + 6
        box_w = min(pw - 20, max(m.shape[1] for m in masks) + 40)
        box_h = line_h * len(masks) + 30
        x0, y0 = (pw - box_w) // 2, max(0, (ph - box_h) // 2)
        bg[y0:y0 + box_h, x0:x0 + box_w, :3] = _rgb("error_bg")
        _outline(bg, y0, x0, y0 + box_h - 1, x0 + box_w - 1, _rgb("edge"), 2)
        for i, m in enumerate(masks):
            _paste(bg, m, _rgb("text"), x0 + 20 + m.shape[1] / 2, y0 + 15 + line_h * i + line_h / 2)
        self._background = bg
        if self._interactive:
            self._update_figure_image()
            self.figure.canvas.draw_idle()

    def highlighted(self) -> dict[str, Any]:
        """Read back from the artists which cells are lit (for tests and checks).

        Returns a dict: ``taps`` (grid cells ``(row, col)`` covered by tap squares, in
        drawing order), ``out_cell`` (the lit output cell) and ``extent`` (top-left and
        bottom-right grid cells of the window outline). 1-D layers use row 0.
        """
        taps = []
        for path in self.taps.get_paths():
            cx, cy = path.vertices[:4].mean(axis=0)
            taps.append((int(round(cy)), int(round(cx))))
        x, y = self.lit.get_xy()
        ex, ey = self.extent.get_xy()
        return {
            "taps": taps,
            "out_cell": (int(round(y + 0.5)), int(round(x + 0.5))),
            "extent": (
                (int(round(ey + 0.5)), int(round(ex + 0.5))),
                (int(round(ey + self.extent.get_height() - 0.5)),
                 int(round(ex + self.extent.get_width() - 0.5))),
            ),
        }

    # ------------------------------------------------------------------ rendering
    def render(self) -> np.ndarray:
        """Render the current frame into the Agg buffer and return it (``(h, w, 4)`` uint8,
        a view: copy it if you keep it past the next render).

        The static picture is copied into the buffer (no Matplotlib drawing), the caption
        pasted, and only the moving artists drawn by Matplotlib.
        """
        canvas = self.figure.canvas
        if self._interactive or not isinstance(canvas, FigureCanvasAgg):
            canvas.draw()
            return np.asarray(canvas.buffer_rgba())
        renderer = canvas.get_renderer()
        buf = np.asarray(renderer.buffer_rgba())
        if buf.shape != self._background.shape:
            # the figure was resized or its dpi changed: lay everything out again
            if self.error is not None:
                self.show_error(self.error)
            elif self.geometry is not None:
                self._compose(self.geometry)
            else:
                self._compose_blank()
        np.copyto(buf, self._background)
        if self.error is None and self.geometry is not None:
            if self.show_caption and self.caption:
                self._paste_caption(buf)
            for artist in self._moving:
                artist.draw(renderer)
        return buf

    def to_rgba(self) -> np.ndarray:
        """The current frame as an ``(height, width, 4)`` uint8 array (a copy)."""
        return self.render().copy()

    def to_png(self, compress_level: int = 1) -> bytes:
        """The current frame as PNG bytes (fast, low compression by default)."""
        return _encode_png(self.render(), compress_level)

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def close(self) -> None:
        """Drop the figure's artists (the Figure is not registered with pyplot)."""
        self.figure.clear()
        self._background = np.empty((0, 0, 4), np.uint8)

    # ------------------------------------------------------------------ composing
    def _px(self, value: float) -> int:
        """A length in pixels at 100 dpi, scaled to this figure's dpi."""
        return max(1, int(round(value * self.figure.dpi / 100)))

    def _pixels(self) -> tuple[int, int]:
        return int(round(self.figure.bbox.width)), int(round(self.figure.bbox.height))

    def _compose_blank(self) -> None:
        pw, ph = self._pixels()
        self._background = np.full((ph, pw, 4), 255, np.uint8)
        for a in self._moving:
            a.set_visible(False)

    def _compose(self, g: Geometry) -> None:
        """Lay out both grids and compose the static picture with numpy."""
        pw, ph = self._pixels()
        dpi = self.figure.dpi
        px = self._px
        rows, cols = _rows_cols(g)
        n_out_r, n_out_c = rows.n_windows, cols.n_windows  # includes dropped windows
        cell, (in_x, in_y), (out_x, out_y) = self._layout(
            pw, ph, rows.grid_size, cols.grid_size, n_out_r, n_out_c)
        self._cell = cell
        bg = np.full((ph, pw, 4), 255, np.uint8)

        # input grid
        codes = _COMBINED[np.array([ROLES.index(r) for r in rows.roles])[:, None],
                          np.array([ROLES.index(c) for c in cols.roles])[None, :]]
        table = np.stack([_rgb(r) for r in ROLES])
        hatch = {ROLES.index(r): _rgb(col) for r, col in _HATCH.items()}
        _draw_grid(bg, in_y, in_x, codes, table, cell, hatch)
        r0, c0 = rows.grid_start, cols.grid_start

        def box(ra: int, ca: int, rb: int, cb: int) -> tuple[int, int, int, int]:
            """Pixel rectangle of grid cells ra..rb-1, ca..cb-1 (array rows/cols)."""
            return (in_y + (ra - r0) * cell, in_x + (ca - c0) * cell,
                    in_y + (rb - r0) * cell, in_x + (cb - c0) * cell)

        pr, pc = rows.implicit_padding, cols.implicit_padding
        padded = box(-max(pr[0], 0), -max(pc[0], 0), rows.input_stop + max(pr[1], 0),
                     cols.input_stop + max(pc[1], 0))
        real = box(0, 0, rows.input_stop, cols.input_stop)
        if padded != real:
            _outline(bg, *padded, _rgb("grid"), px(1), dash=px(4))
        _outline(bg, *real, _rgb("input_border"), px(2))

        dropped = g.dropped_windows()
        if g.ndim == 1:
            dropped = tuple(_window_2d(w) for w in dropped)
        # one dropped window per edge keeps the input readable; all of them on the output
        for w in [w for w in dropped if min(w.out_cell) == 0][:2]:
            (ta, tb), (tc, td) = w.taps[0], w.taps[-1]
            _outline(bg, *box(ta, tb, tc + 1, td + 1), _rgb("edge"), px(2), dash=px(6))

        # output grid, with ghost cells for dropped windows
        out_codes = np.zeros((n_out_r, n_out_c), np.intp)
        out_codes[rows.output:, :] = 1
        out_codes[:, cols.output:] = 1
        out_table = np.stack([_rgb("output"), np.array([255, 255, 255], np.uint8)])
        _draw_grid(bg, out_y, out_x, out_codes, out_table, cell, {1: _rgb("#f0b48a")},
                   hatch_both=True)
        self.dropped_cells = [w.out_cell for w in dropped]
        for w in dropped:
            r, c = w.out_cell
            _outline(bg, out_y + r * cell, out_x + c * cell, out_y + (r + 1) * cell,
                     out_x + (c + 1) * cell, _rgb("edge"), px(1), dash=px(3))

        # indices in cells (small grids only: they are the values the torch panel feeds in)
        # index labels: font about 0.42 of a cell (at most 9.5 pt), written only when that is
        # at least 6.5 pixels tall, i.e. readable
        font_px = min(cell * 0.42, 9.5 * dpi / 72)
        size = font_px * 72 / dpi
        readable = font_px >= 6.5
        self.labels: dict[str, list[tuple[tuple[int, int], str]]] = {"input": [], "output": []}
        if max(rows.grid_size, cols.grid_size) <= _LABEL_MAX and readable:
            text_rgb, zero_rgb = _rgb("text"), _rgb("grid")
            for i, r in enumerate(range(rows.grid_start, rows.grid_stop)):
                for j, c in enumerate(range(cols.grid_start, cols.grid_stop)):
                    role = ROLES[codes[i, j]]
                    cy, cx = in_y + i * cell + (cell + 1) / 2, in_x + j * cell + (cell + 1) / 2
                    if role == "input":
                        index = str(rows.input_index(r) * cols.size + cols.input_index(c))
                        _paste(bg, _text_mask(index, size, dpi), text_rgb, cx, cy)
                        self.labels["input"].append(((r, c), index))
                    elif role == "zero":
                        _paste(bg, _text_mask("0", size, dpi), zero_rgb, cx, cy)
                        self.labels["input"].append(((r, c), "0"))
        if max(rows.output, cols.output) <= _LABEL_MAX and readable:
            for r in range(rows.output):
                for c in range(cols.output):
                    index = str(r * cols.output + c)
                    _paste(bg, _text_mask(index, size, dpi), _rgb("text"),
                           out_x + c * cell + (cell + 1) / 2, out_y + r * cell + (cell + 1) / 2)
                    self.labels["output"].append(((r, c), index))

        # titles above the grids, note and legend below
        in_w, in_h = cols.grid_size * cell, rows.grid_size * cell
        out_w = n_out_c * cell
        title = _text_mask(_input_title(g), 10.0, dpi)
        _paste(bg, title, _rgb("text"), np.clip(in_x + in_w / 2, title.shape[1] / 2 + 2, pw - title.shape[1] / 2 - 2),
               in_y - px(12))
        out_title_y = out_y + n_out_r * cell + px(13) if self._stacked else out_y - px(12)
        _paste(bg, _text_mask(_output_title(g), 10.0, dpi), _rgb("text"), out_x + out_w / 2, out_title_y)
        note = _note(g, bool(dropped))
        if note:
            _paste(bg, _text_mask(note, 9.0, dpi), _rgb("edge" if dropped else "text"), pw / 2, ph - px(34))
        self._draw_legend(bg, g, {ROLES[i] for i in np.unique(codes)}, bool(dropped), ph - px(12))
        self._caption_y = ph - px(56)
        self._background = bg

        # the axes the moving artists live in: data coordinates = grid coordinates, exactly
        # on the pixel lines composed above
        for ax, (x, y), (nr, nc), (ry, cx0) in (
            (self.ax_in, (in_x, in_y), (rows.grid_size, cols.grid_size), (r0, c0)),
            (self.ax_out, (out_x, out_y), (n_out_r, n_out_c), (0, 0)),
        ):
            w_px, h_px = nc * cell, nr * cell
            ax.set_position(((x + 0.5) / pw, (ph - y - 0.5 - h_px) / ph, w_px / pw, h_px / ph))
            ax.set_xlim(cx0 - 0.5, cx0 + nc - 0.5)
            ax.set_ylim(ry + nr - 0.5, ry - 0.5)
        self.extent.set_linewidth(2.2 if cell >= px(8) else 1.2)
        self.lit.set_linewidth(2.2)  # the lit cell must stand out even when cells are tiny
        self.taps.set_linewidth(0.8 if cell >= px(8) else 0.4)
        if self._interactive:
            self._update_figure_image()

    def _layout(self, pw: int, ph: int, grid_r: int, grid_c: int, out_r: int, out_c: int
                ) -> tuple[int, tuple[int, int], tuple[int, int]]:
        """Whole-pixel cells, the same size on both grids: side by side, or input above
        output when that gives bigger cells (wide, flat inputs; 1-D). Returns the cell size
        and the array (x, y) of each grid's top-left pixel."""
        px = self._px
        top, bottom, side, gap, title = px(30), px(72), px(12), px(56), px(26)
        avail_w, avail_h = pw - 2 * side, ph - top - bottom
        beside = min((avail_w - gap) / (grid_c + out_c), avail_h / max(grid_r, out_r))
        stacked = min(avail_w / max(grid_c, out_c), (avail_h - gap // 2 - title) / (grid_r + out_r))
        self._stacked = stacked > beside * 1.15
        cell = int(max(1, min(stacked if self._stacked else beside, px(_MAX_CELL_PX))))
        in_w, in_h, out_w, out_h = grid_c * cell, grid_r * cell, out_c * cell, out_r * cell
        if self._stacked:
            block = in_h + gap // 2 + title + out_h
            in_y = top + max(0, (avail_h - block) // 2)
            out_y = in_y + in_h + gap // 2  # output title goes below: the link stays clear
            return cell, (max(0, (pw - in_w) // 2), in_y), (max(0, (pw - out_w) // 2), out_y)
        left = max(0, (pw - (in_w + gap + out_w)) // 2)
        mid = top + avail_h // 2
        return cell, (left, max(0, mid - in_h // 2)), (left + in_w + gap, max(0, mid - out_h // 2))

    def _draw_legend(self, bg: np.ndarray, g: Geometry, present: set[str], dropped: bool, y: int) -> None:
        names = {
            "input": "input cell",
            "padding": {"max_pool": "padding (ignored by max)", "avg_pool": "padding"}.get(g.kind, "zero padding"),
            "zero": "inserted zero",
            "output_padding": "output_padding",
            "overhang": "outside (clipped)",
            "cropped": "cropped",
        }
        entries = [(r, names[r]) for r in ROLES if r in present] + [("tap", "kernel tap")]
        if dropped:
            entries.append(("dropped", "dropped by PyTorch"))
        dpi = self.figure.dpi
        masks = [_text_mask(label, 8.0, dpi) for _, label in entries]
        px = self._px
        sw, gap, sh = px(14), px(14), px(10)
        total = sum(sw + px(5) + m.shape[1] for m in masks) + gap * (len(masks) - 1)
        x = max(2, (bg.shape[1] - total) // 2)
        for (key, _), m in zip(entries, masks):
            y0, x0 = y - sh // 2, x
            if key == "dropped":
                _outline(bg, y0, x0, y0 + sh, x0 + sw, _rgb("edge"), px(1), dash=px(3))
            else:
                bg[y0:y0 + sh, x0:x0 + sw, :3] = _rgb(key)
                if key in _HATCH:
                    _hatch(bg, y0, x0, y0 + sh, x0 + sw, _rgb(_HATCH[key]))
                _outline(bg, y0, x0, y0 + sh, x0 + sw, _rgb("edge" if key == "tap" else "grid"), px(1))
            _paste(bg, m, _rgb("text"), x0 + sw + px(5) + m.shape[1] / 2, y)
            x += sw + px(5) + m.shape[1] + gap

    def _paste_caption(self, buf: np.ndarray) -> None:
        mask = _line_mask(self.caption, 10.0, self.figure.dpi)
        _paste(buf, mask, _rgb("text"), buf.shape[1] / 2, self._caption_y)

    def _update_figure_image(self) -> None:
        """Interactive figures: let the background artist paint the composed picture."""
        if self._bg_image is None:
            self._bg_image = _Background(self)
            self.figure.add_artist(self._bg_image)
        self._bg_image.stale = True


class _Background(Artist):
    """Paints a WindowFigure's composed picture (and caption) when a canvas draws the figure.

    For figures we do not render ourselves (``figure=``, e.g. ipympl's canvas): on an Agg
    renderer the pixels are copied straight into its buffer, before anything else is drawn
    (a full-figure image artist would be resampled on every draw: tens of milliseconds).
    """

    def __init__(self, owner: WindowFigure) -> None:
        super().__init__()
        self._owner = owner
        self.set_zorder(-100)

    def draw(self, renderer: Any) -> None:
        owner = self._owner
        bg = owner._background
        buffer = getattr(renderer, "buffer_rgba", None)
        if buffer is not None:
            buf = np.asarray(buffer())
            if buf.shape == bg.shape and buf.flags.writeable:
                np.copyto(buf, bg)
                if owner.show_caption and owner.caption and owner.error is None:
                    owner._paste_caption(buf)
                self.stale = False
                return
        # other renderers (or a resized canvas): draw it as an image, scaled to the figure
        picture = bg.copy()
        if owner.show_caption and owner.caption and owner.error is None:
            owner._paste_caption(picture)
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, picture[::-1])
        gc.restore()
        self.stale = False


# ---------------------------------------------------------------------- numpy drawing
def _draw_grid(bg: np.ndarray, y: int, x: int, codes: np.ndarray, table: np.ndarray, cell: int,
               hatch: dict[int, np.ndarray], hatch_both: bool = False) -> None:
    """Cells of colour ``table[codes]``, ``cell`` pixels each, grid lines between, hatching.

    Cells are whole pixels, so each cell's colour is broadcast into a (rows, cell, cols,
    cell) view of the picture: no per-pixel indexing.
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
    if hatch:
        # the same diagonal tile in every hatched cell (grid lines separate the cells anyway):
        # touches only the hatched cells instead of testing every pixel
        yy, xx = np.ogrid[:cell, :cell]
        tile = (xx + yy) % 7 == 3
        if hatch_both:
            tile = tile | ((xx - yy) % 7 == 3)
        per_cell = blocks.transpose(0, 2, 1, 3, 4)  # (rows, cols, cell, cell, 3) view
        for code, color in hatch.items():
            cells = codes == code
            if cells.any():
                image = np.where(tile[..., None], color, table[code])
                per_cell[cells] = image
    if cell >= 3:
        line = _rgb("grid") if cell >= 8 else np.array([185, 185, 185], np.uint8)
        full = bg[y:y + nr * cell + 1, x:x + nc * cell + 1, :3]
        full[::cell, :] = line
        full[:, ::cell] = line


def _hatch(bg: np.ndarray, y0: int, x0: int, y1: int, x1: int, color: np.ndarray) -> None:
    yy, xx = np.ogrid[y0:y1, x0:x1]
    bg[y0:y1, x0:x1, :3][(xx + yy) % 5 == 0] = color


def _outline(bg: np.ndarray, y0: int, x0: int, y1: int, x1: int, color: np.ndarray, width: int,
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
        if dash:
            pos = np.arange(xa, xb) if along == "x" else np.arange(ya, yb)
            on = (pos // dash) % 2 == 0
            if along == "x":
                seg[:, on] = color
            else:
                seg[on, :] = color
        else:
            seg[:] = color


def _paste(bg: np.ndarray, mask: np.ndarray, color: np.ndarray, cx: float, cy: float) -> None:
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


def _encode_png(rgba: np.ndarray, level: int) -> bytes:
    """A PNG (RGBA, no filtering) straight from the Agg buffer with zlib: the picture is
    mostly flat colour, so this is about as small as Pillow's output and several times faster."""
    h, w = rgba.shape[:2]
    raw = np.empty((h, 1 + 4 * w), np.uint8)
    raw[:, 0] = 0  # filter type "none" for every row
    raw[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


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


def _rows_cols(g: Geometry) -> tuple[Any, Any]:
    if g.ndim == 1:
        return _UnitDim(), g.dims[0]
    return g.dims[0], g.dims[1]


def _window_2d(w: Window) -> Window:
    """A 1-D window on row 0 of a one-row grid."""
    return Window(w.step, (0, *w.out_cell), tuple((0, *t) for t in w.taps),
                  tuple((0, *c) for c in w.inputs), w.dropped, w.overhang)


def _cell_box(r: int, c: int) -> list[tuple[float, float]]:
    return [(c - 0.5, r - 0.5), (c + 0.5, r - 0.5), (c + 0.5, r + 0.5), (c - 0.5, r + 0.5)]


def _per_dim_text(values: list[int]) -> str:
    """``2`` when every dimension agrees, else ``(2, 1)``."""
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(map(str, values)) + ")"


def _fmt(size: tuple[int, ...]) -> str:
    return "×".join(map(str, size))


def _input_title(g: Geometry) -> str:
    names = {"conv": "convolution", "conv_transpose": "transposed convolution",
             "max_pool": "max pooling", "avg_pool": "average pooling"}
    pads = [d.padding for d in g.dims]
    if all(p[0] == p[1] for p in pads):
        pad = ",".join(str(p[0]) for p in pads) if len(set(pads)) > 1 else str(pads[0][0])
    elif len(set(pads)) == 1:
        pad = f"{pads[0][0]} top/left, {pads[0][1]} bottom/right"
    else:
        pad = ", ".join(f"({a}, {b})" for a, b in pads)
    if g.kind == "conv_transpose":
        s = _per_dim_text([d.stride for d in g.dims])
        return f"{names[g.kind]}: input {_fmt(g.input_size)}, stride {s}, stretched to {_fmt(g.grid_shape)}"
    return f"{names[g.kind]}: input {_fmt(g.input_size)}, padding {pad}"


def _output_title(g: Geometry) -> str:
    return f"output {_fmt(g.output_size)}"


def _note(g: Geometry, dropped: bool) -> str:
    if g.kind == "conv_transpose":
        zeros = _per_dim_text([d.stride - 1 for d in g.dims])
        pad = _per_dim_text([d.implicit_padding[0] for d in g.dims])
        text = f"equivalent conv: {zeros} zero(s) between input cells, implicit padding d(k−1)−p = {pad}"
        if any(d.output_padding for d in g.dims):
            text += f", output_padding {_per_dim_text([d.output_padding for d in g.dims])} bottom/right"
        return text
    if dropped:
        return "dashed: window PyTorch drops (ceil_mode; it would start in the right padding)"
    if any(d.ceil_mode and any(d.overhangs(i) for i in range(d.output)) for d in g.dims):
        return "ceil_mode: the last window reaches past the padded input; PyTorch clips it there"
    return ""


def _caption(g: Geometry, w: Window, counts: dict[str, int]) -> str:
    cell = w.out_cell[-1] if g.ndim == 1 else w.out_cell
    n = len(w.taps)
    parts = [f"{counts['input']} on input"]
    for role, name in (("padding", "on padding"), ("zero", "on inserted zeros"),
                       ("output_padding", "on output_padding"), ("overhang", "outside (clipped)"),
                       ("cropped", "cropped")):
        if counts[role]:
            parts.append(f"{counts[role]} {name}")
    if w.dropped:
        head = f"window {cell}: dropped by PyTorch (it would start in the right padding)"
    else:
        head = f"step {w.step + 1}/{g.n_steps}: output {cell} reads {n} taps"  # type: ignore[operator]
    return f"{head}: " + ", ".join(parts)
