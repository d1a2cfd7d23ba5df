"""The sliding-window picture: Matplotlib artists built once, updated in place.

:class:`WindowFigure` draws a :class:`~convwidget.geometry.Geometry`: the input grid with
its padding ring (grey, hatched), a transposed convolution's inserted zeros (white, "0") and
output_padding row (darker grey), the kernel taps of the current window (orange; dilation
holes left unfilled inside the window's outline), the output grid with the current cell lit
(orange too), and a line linking the two. A ``ceil_mode`` window that overhangs the padded
input draws its outside taps dashed; windows PyTorch drops are dashed vermilion on both grids.

It uses :class:`matplotlib.figure.Figure` directly (no pyplot, no backend, no global state):
render with :meth:`WindowFigure.to_png` and show the bytes in an ``ipywidgets.Image``. A step
only redraws the moving artists over a cached background (blitting), so a step costs a few
milliseconds; :meth:`WindowFigure.set_geometry` moves and re-sizes the existing artists.

>>> from convwidget.geometry import layer_geometry
>>> fig = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1))
>>> fig.show_step(4)
>>> fig.highlighted()["out_cell"], fig.highlighted()["taps"][:2]
((1, 1), [(1, 1), (1, 2)])
>>> fig.to_png()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, Patch, PathPatch, Rectangle
from matplotlib.path import Path

from .geometry import ROLES, Geometry, Window

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
    "text": "#1a1a1a",
}

_LABEL_MAX = 12  # cells a side up to which indices are written in cells (text is slow)
_MAX_CELL_PX = 44.0


def _rgba_table() -> np.ndarray:
    return np.array([to_rgba(PALETTE[r]) for r in ROLES], dtype=np.float32)


class WindowFigure:
    """A picture of a layer's sliding window, built once and updated in place.

    Parameters
    ----------
    geometry
        What to draw (from :func:`convwidget.geometry.layer_geometry`); None draws nothing
        until :meth:`set_geometry`.
    figsize, dpi
        Size of the picture (inches, dots per inch).
    figure
        Draw into this existing Figure instead (e.g. one made by ipympl's
        ``%matplotlib widget``); artists are then not "animated" and every update calls
        ``figure.canvas.draw_idle()``. By default a private Agg-backed Figure is used and
        nothing is shown until you call :meth:`to_png`.

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
        figure: Figure | None = None,
    ) -> None:
        self._interactive = figure is not None
        if figure is None:
            figure = Figure(figsize=figsize, dpi=dpi, facecolor="white")
            FigureCanvasAgg(figure)
        self.figure = figure
        self._animated = not self._interactive
        self._rgba = _rgba_table()
        self.geometry: Geometry | None = None
        self.window: Window | None = None
        self.step: int = 0
        self.error: str | None = None
        self._background: Any = None
        self._needs_full_draw = True
        self._legend_key: tuple[str, ...] | None = None
        self._legend: Any = None
        self._stacked = False
        self._build_artists()
        if geometry is not None:
            self.set_geometry(geometry)
        else:
            self._set_axes_visible(False)

    # ------------------------------------------------------------------ building
    def _build_artists(self) -> None:
        fig = self.figure
        anim = self._animated
        self.ax_in = fig.add_axes((0.05, 0.2, 0.4, 0.7))
        self.ax_out = fig.add_axes((0.55, 0.2, 0.4, 0.7))
        for ax in (self.ax_in, self.ax_out):
            ax.set_axis_off()
            ax.set_autoscale_on(False)
        blank = np.zeros((1, 1, 4), dtype=np.float32)
        kw = dict(interpolation="nearest", resample=False, origin="upper", aspect="auto", zorder=1)
        self.in_image = self.ax_in.imshow(blank, **kw)
        self.out_image = self.ax_out.imshow(blank, **kw)
        self.in_hatch = PathPatch(
            Path([(0, 0)]), facecolor="none", edgecolor=PALETTE["grid"], linewidth=0,
            hatch="///", zorder=1.5,
        )
        self.ax_in.add_patch(self.in_hatch)
        grid_kw = dict(colors=PALETTE["grid"], linewidths=0.6, zorder=2)
        self.in_lines = LineCollection([], **grid_kw)
        self.out_lines = LineCollection([], **grid_kw)
        self.ax_in.add_collection(self.in_lines)
        self.ax_out.add_collection(self.out_lines)
        self.in_border = Rectangle((0, 0), 1, 1, fill=False, edgecolor=PALETTE["input_border"],
                                   linewidth=2.0, zorder=3)
        self.padded_border = Rectangle((0, 0), 1, 1, fill=False, edgecolor=PALETTE["grid"],
                                       linewidth=1.2, linestyle=(0, (4, 2)), zorder=3)
        self.ax_in.add_patch(self.in_border)
        self.ax_in.add_patch(self.padded_border)
        dropped_kw = dict(facecolors="none", edgecolors=PALETTE["edge"], linewidths=1.6,
                          linestyles="--", zorder=4)
        self.in_dropped = PolyCollection([], **dropped_kw)
        self.out_dropped = PolyCollection([], hatch="xx", **dropped_kw)
        self.ax_in.add_collection(self.in_dropped)
        self.ax_out.add_collection(self.out_dropped)
        self.in_labels: list[Any] = []
        self.out_labels: list[Any] = []
        self.note = fig.text(0.5, 0.085, "", ha="center", va="center", fontsize=9,
                             color=PALETTE["edge"])
        self.error_text = fig.text(0.5, 0.5, "", ha="center", va="center", fontsize=11,
                                   color=PALETTE["text"], visible=False,
                                   bbox=dict(boxstyle="round,pad=0.8", facecolor="#fff4e0",
                                             edgecolor=PALETTE["edge"]))
        # moving artists (drawn over the cached background on every step)
        self.taps = PolyCollection([], facecolors=PALETTE["tap"], edgecolors=PALETTE["edge"],
                                   linewidths=0.8, zorder=5, animated=anim)
        self.extent = Rectangle((0, 0), 1, 1, fill=False, edgecolor=PALETTE["edge"],
                                linewidth=2.2, zorder=6, animated=anim)
        self.lit = Rectangle((0, 0), 1, 1, facecolor=to_rgba(PALETTE["tap"], 0.7), edgecolor=PALETTE["edge"],
                             linewidth=2.2, zorder=6, animated=anim)
        self.ax_in.add_collection(self.taps)
        self.ax_in.add_patch(self.extent)
        self.ax_out.add_patch(self.lit)
        self.link = ConnectionPatch((0, 0), (0, 0), coordsA=self.ax_in.transData,
                                    coordsB=self.ax_out.transData, color=PALETTE["edge"],
                                    linewidth=1.2, alpha=0.7, zorder=7, animated=anim)
        fig.add_artist(self.link)
        self.caption = fig.text(0.5, 0.14, "", ha="center", va="center", fontsize=10,
                                color=PALETTE["text"], animated=anim)
        self._moving = [self.taps, self.extent, self.lit, self.link, self.caption]

    def _set_axes_visible(self, visible: bool) -> None:
        for ax in (self.ax_in, self.ax_out):
            ax.set_visible(visible)
        for a in (self.link, self.caption, self.note):
            a.set_visible(visible)
        if self._legend is not None:
            self._legend.set_visible(visible)

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
        self.error_text.set_visible(False)
        self._set_axes_visible(True)
        rows, cols = _rows_cols(geometry)
        n_grid_r, n_grid_c = rows.grid_size, cols.grid_size
        n_out_r, n_out_c = rows.n_windows, cols.n_windows  # includes dropped windows
        cell = self._layout(n_grid_r, n_grid_c, n_out_r, n_out_c)

        # input grid: role colours as one image
        codes = np.array([ROLES.index(r) for r in _grid_roles(geometry)], dtype=np.intp)
        self.in_image.set_data(self._rgba[codes.reshape(n_grid_r, n_grid_c)])
        r0, c0 = rows.grid_start, cols.grid_start
        x0, x1 = c0 - 0.5, c0 + n_grid_c - 0.5
        y0, y1 = r0 - 0.5, r0 + n_grid_r - 0.5
        self.in_image.set_extent((x0, x1, y1, y0))
        self.ax_in.set_xlim(x0, x1)
        self.ax_in.set_ylim(y1, y0)
        lw = 0.0 if cell < 3 else (0.35 if cell < 8 else 0.7)
        self.in_lines.set_segments(_grid_segments(x0, x1, y0, y1))
        self.in_lines.set_linewidth(lw)
        # real input and padded edge outlines
        pr, pc = rows.implicit_padding, cols.implicit_padding
        self.in_border.set_bounds(-0.5, -0.5, cols.input_stop, rows.input_stop)
        pad_x0, pad_x1 = -max(pc[0], 0) - 0.5, cols.input_stop + max(pc[1], 0) - 0.5
        pad_y0, pad_y1 = -max(pr[0], 0) - 0.5, rows.input_stop + max(pr[1], 0) - 0.5
        self.padded_border.set_bounds(pad_x0, pad_y0, pad_x1 - pad_x0, pad_y1 - pad_y0)
        has_pad = (pad_x0, pad_x1, pad_y0, pad_y1) != (-0.5, cols.input_stop - 0.5, -0.5, rows.input_stop - 0.5)
        self.padded_border.set_visible(has_pad)
        self.in_hatch.set_visible(has_pad)
        if has_pad:
            self.in_hatch.set_path(_ring(pad_x0, pad_x1, pad_y0, pad_y1,
                                         -0.5, cols.input_stop - 0.5, -0.5, rows.input_stop - 0.5))

        # output grid, with ghost cells for dropped windows
        out = np.zeros((n_out_r, n_out_c, 4), dtype=np.float32)
        out[: rows.output, : cols.output] = to_rgba(PALETTE["output"])
        self.out_image.set_data(out)
        ox1, oy1 = n_out_c - 0.5, n_out_r - 0.5
        self.out_image.set_extent((-0.5, ox1, oy1, -0.5))
        self.ax_out.set_xlim(-0.5, ox1)
        self.ax_out.set_ylim(oy1, -0.5)
        self.out_lines.set_segments(_grid_segments(-0.5, cols.output - 0.5, -0.5, rows.output - 0.5))
        self.out_lines.set_linewidth(lw)

        dropped = geometry.dropped_windows()
        if geometry.ndim == 1:
            dropped = tuple(Window(w.step, (0, *w.out_cell), tuple((0, *t) for t in w.taps),
                                   w.inputs, w.dropped, w.overhang) for w in dropped)
        if dropped:
            # one representative dropped window per dimension keeps the picture readable
            shown = [w for w in dropped if sum(i > 0 for i in w.out_cell) <= 1 and min(w.out_cell) == 0][:2]
            self.in_dropped.set_verts([_window_box(w, rows, cols) for w in shown])
            self.out_dropped.set_verts([_cell_box(*w.out_cell) for w in dropped])
        else:
            self.in_dropped.set_verts([])
            self.out_dropped.set_verts([])
        self.note.set_text(_note(geometry, bool(dropped)))
        self.note.set_color(PALETTE["edge"] if dropped else PALETTE["text"])
        for coll in (self.in_dropped, self.out_dropped):
            coll.set_visible(bool(dropped))

        self._set_labels(geometry, rows, cols, cell)
        self.ax_in.set_title(_input_title(geometry), fontsize=10, color=PALETTE["text"])
        self.ax_out.set_title(_output_title(geometry), fontsize=10, color=PALETTE["text"])
        self._set_legend(geometry, bool(dropped))
        self._needs_full_draw = True
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
        if g is None:
            return
        self.window = window
        if g.ndim == 1:
            window = Window(window.step, (0, *window.out_cell), tuple((0, *t) for t in window.taps),
                            tuple((0, *c) for c in window.inputs), window.dropped, window.overhang)
        rows, cols = _rows_cols(g)
        verts = []
        faces = []
        styles = []
        # translucent, so the indices written in small grids stay readable under the window
        tap_rgba = to_rgba(PALETTE["tap"], 0.7)
        soft_rgba = to_rgba(PALETTE["tap"], 0.35)
        counts = {"input": 0, "padding": 0, "zero": 0, "output_padding": 0, "overhang": 0, "cropped": 0}
        for r, c in window.taps:
            role = _role2(rows, cols, r, c)
            counts[role] += 1
            verts.append(_cell_box(r, c))
            if role == "input":
                faces.append(tap_rgba)
                styles.append("solid")
            elif role in ("overhang", "cropped"):
                faces.append((0.0, 0.0, 0.0, 0.0))
                styles.append("--")
            else:
                faces.append(soft_rgba)
                styles.append("solid")
        self.taps.set_verts(verts)
        self.taps.set_facecolors(faces)
        self.taps.set_linestyles(styles)
        (r0, c0), (r1, c1) = window.taps[0], window.taps[-1]
        self.extent.set_bounds(c0 - 0.5, r0 - 0.5, c1 - c0 + 1, r1 - r0 + 1)
        self.extent.set_linestyle("--" if window.dropped else "-")
        orow, ocol = window.out_cell
        self.lit.set_xy((ocol - 0.5, orow - 0.5))
        self.lit.set_width(1)
        self.lit.set_height(1)
        self.lit.set_linestyle("--" if window.dropped else "-")
        # from the window's right edge to the output cell's left edge: the line crosses
        # as few labelled cells as possible
        if self._stacked:
            self.link.xy1 = ((c0 + c1) / 2, r1 + 0.5)
            self.link.xy2 = (ocol, orow - 0.5)
        else:
            self.link.xy1 = (c1 + 0.5, (r0 + r1) / 2)
            self.link.xy2 = (ocol - 0.5, orow)
        self.caption.set_text(_caption(g, window, counts))
        if self._interactive:
            self.figure.canvas.draw_idle()

    def show_error(self, message: str) -> None:
        """Replace the drawing by ``message`` (e.g. why PyTorch refuses the setting)."""
        self.error = message
        self._set_axes_visible(False)
        self.error_text.set_text(textwrap.fill(message, 70))
        self.error_text.set_visible(True)
        self._needs_full_draw = True
        if self._interactive:
            self.figure.canvas.draw_idle()

    def highlighted(self) -> dict[str, Any]:
        """Read back from the artists which cells are lit (for tests and checks).

        Returns a dict: ``taps`` (grid cells ``(row, col)`` covered by tap squares, in
        drawing order), ``out_cell`` (the lit output cell) and ``extent`` (top-left and
        bottom-right grid cells of the window outline). 1-D layers use row 0.
        """
        taps = []
        for path in self.taps.get_paths():
            (cx, cy) = path.vertices[:4].mean(axis=0)
            taps.append((int(round(cy)), int(round(cx))))
        x, y = self.lit.get_xy()
        ex, ey = self.extent.get_xy()
        return {
            "taps": taps,
            "out_cell": (int(round(y + 0.5)), int(round(x + 0.5))),
            "extent": (
                (int(round(ey + 0.5)), int(round(ex + 0.5))),
                (int(round(ey + self.extent.get_height() - 0.5)), int(round(ex + self.extent.get_width() - 0.5))),
            ),
        }

    # ------------------------------------------------------------------ rendering
    def render(self) -> memoryview:
        """Render the current state into the Agg buffer and return it (RGBA rows).

        A full draw happens only after :meth:`set_geometry` / :meth:`show_error`; a step
        restores the cached background and draws the moving artists over it.
        """
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            raise TypeError("render() needs the Agg canvas WindowFigure makes; draw interactive figures with their canvas")
        if self._needs_full_draw or self._background is None:
            canvas.draw()  # animated artists are skipped: this is the background
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self._needs_full_draw = False
        else:
            canvas.restore_region(self._background)
        if self.error is None and self.geometry is not None:
            renderer = canvas.get_renderer()
            for artist in self._moving:
                artist.draw(renderer)
        return canvas.buffer_rgba()

    def to_rgba(self) -> np.ndarray:
        """The current frame as an ``(height, width, 4)`` uint8 array (a copy)."""
        return np.array(self.render(), copy=True)

    def to_png(self, compress_level: int = 1) -> bytes:
        """The current frame as PNG bytes (fast, low compression by default)."""
        from PIL import Image  # matplotlib depends on Pillow

        buf = self.render()
        h, w = buf.shape[:2]
        image = Image.frombuffer("RGBA", (w, h), buf, "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.save(out, format="png", compress_level=compress_level)
        return out.getvalue()

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def close(self) -> None:
        """Drop the figure's artists (the Figure is not registered with pyplot)."""
        self.figure.clear()
        self._background = None

    # ------------------------------------------------------------------ helpers
    def _layout(self, grid_r: int, grid_c: int, out_r: int, out_c: int) -> float:
        """Place both axes so cells are square and the same size on both grids: side by side,
        or input above output when that gives bigger cells (wide, flat inputs; 1-D)."""
        pw, ph = self.figure.bbox.width, self.figure.bbox.height
        top, bottom, side, gap, title = 30.0, 70.0, 12.0, 56.0, 26.0
        avail_w, avail_h = pw - 2 * side, ph - top - bottom
        beside = min((avail_w - gap) / (grid_c + out_c), avail_h / max(grid_r, out_r))
        stacked = min(avail_w / max(grid_c, out_c), (avail_h - gap / 2 - title) / (grid_r + out_r))
        self._stacked = stacked > beside * 1.15
        cell = min(stacked if self._stacked else beside, _MAX_CELL_PX)
        in_w, in_h, out_w, out_h = grid_c * cell, grid_r * cell, out_c * cell, out_r * cell
        if self._stacked:
            block = in_h + gap / 2 + title + out_h
            in_y = bottom + (avail_h + block) / 2 - in_h
            out_y = bottom + (avail_h - block) / 2
            self.ax_in.set_position(((pw - in_w) / 2 / pw, in_y / ph, in_w / pw, in_h / ph))
            self.ax_out.set_position(((pw - out_w) / 2 / pw, out_y / ph, out_w / pw, out_h / ph))
        else:
            left = (pw - (in_w + gap + out_w)) / 2
            mid = bottom + avail_h / 2
            self.ax_in.set_position((left / pw, (mid - in_h / 2) / ph, in_w / pw, in_h / ph))
            self.ax_out.set_position(((left + in_w + gap) / pw, (mid - out_h / 2) / ph, out_w / pw, out_h / ph))
        return cell

    def _set_labels(self, g: Geometry, rows: Any, cols: Any, cell: float) -> None:
        dpi = self.figure.dpi
        size = max(4.0, min(9.0, cell * 0.34 * 72 / dpi))
        in_items: list[tuple[float, float, str, str]] = []
        out_items: list[tuple[float, float, str, str]] = []
        if max(rows.grid_size, cols.grid_size) <= _LABEL_MAX and cell >= 12:
            width = cols.size
            for r in range(rows.grid_start, rows.grid_stop):
                for c in range(cols.grid_start, cols.grid_stop):
                    role = _role2(rows, cols, r, c)
                    if role == "input":
                        i, j = rows.input_index(r) if g.ndim == 2 else 0, cols.input_index(c)
                        in_items.append((c, r, str(i * width + j), PALETTE["text"]))
                    elif role == "zero":
                        in_items.append((c, r, "0", PALETTE["grid"]))
        if max(rows.output, cols.output) <= _LABEL_MAX and cell >= 12:
            for r in range(rows.output):
                for c in range(cols.output):
                    out_items.append((c, r, str(r * cols.output + c), PALETTE["text"]))
        _place(self.ax_in, self.in_labels, in_items, size)
        _place(self.ax_out, self.out_labels, out_items, size)

    def _set_legend(self, g: Geometry, dropped: bool) -> None:
        present = set(_grid_roles(g))
        order = ["input", "padding", "zero", "output_padding", "overhang", "cropped"]
        names = {
            "input": "input cell",
            "padding": "padding (max pool: ignored)" if g.kind == "max_pool" else "zero padding",
            "zero": "inserted zero (stride)",
            "output_padding": "output_padding",
            "overhang": "beyond padded input (clipped)",
            "cropped": "cropped (padding > kernel reach)",
        }
        key = tuple(r for r in order if r in present) + (("dropped",) if dropped else ())
        if key == self._legend_key:
            return
        if self._legend is not None:
            self._legend.remove()
        handles = []
        for role in key:
            if role == "dropped":
                handles.append(Patch(facecolor="none", edgecolor=PALETTE["edge"], linestyle="--",
                                     label="dropped by PyTorch"))
                continue
            hatch = "///" if role in ("padding", "output_padding") else None
            handles.append(Patch(facecolor=PALETTE[role], edgecolor=PALETTE["grid"], hatch=hatch,
                                 label=names[role]))
        handles.append(Patch(facecolor=PALETTE["tap"], edgecolor=PALETTE["edge"], label="kernel tap"))
        self._legend = self.figure.legend(handles=handles, loc="lower center", ncol=len(handles),
                                          fontsize=8, frameon=False, handlelength=1.4,
                                          columnspacing=1.2, bbox_to_anchor=(0.5, 0.0))
        self._legend_key = key


# ---------------------------------------------------------------------- module helpers
class _UnitDim:
    """A stand-in row dimension for 1-D layers."""

    grid_start, grid_stop, grid_size = 0, 1, 1
    size = output = n_windows = input_stop = 1
    implicit_padding = (0, 0)

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


def _role2(rows: Any, cols: Any, r: int, c: int) -> str:
    from .geometry import _combine

    return _combine([rows.role(r), cols.role(c)])


def _grid_roles(g: Geometry) -> list[str]:
    from .geometry import _combine

    rows, cols = _rows_cols(g)
    col_roles = [cols.role(c) for c in range(cols.grid_start, cols.grid_stop)]
    out = []
    for r in range(rows.grid_start, rows.grid_stop):
        rr = rows.role(r)
        out.extend(_combine((rr, cr)) for cr in col_roles)
    return out


def _grid_segments(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    xs = np.arange(x0, x1 + 0.5)
    ys = np.arange(y0, y1 + 0.5)
    v = np.stack([np.stack([xs, np.full_like(xs, y0)], 1), np.stack([xs, np.full_like(xs, y1)], 1)], 1)
    h = np.stack([np.stack([np.full_like(ys, x0), ys], 1), np.stack([np.full_like(ys, x1), ys], 1)], 1)
    return np.concatenate([v, h])


def _ring(ox0: float, ox1: float, oy0: float, oy1: float,
          ix0: float, ix1: float, iy0: float, iy1: float) -> Path:
    """A rectangle with a rectangular hole (the padding ring), for hatching."""
    outer = [(ox0, oy0), (ox1, oy0), (ox1, oy1), (ox0, oy1), (ox0, oy0)]
    inner = [(ix0, iy0), (ix0, iy1), (ix1, iy1), (ix1, iy0), (ix0, iy0)]
    codes = [Path.MOVETO] + [Path.LINETO] * 3 + [Path.CLOSEPOLY]
    return Path(outer + inner, codes + codes)


def _cell_box(r: int, c: int) -> list[tuple[float, float]]:
    return [(c - 0.5, r - 0.5), (c + 0.5, r - 0.5), (c + 0.5, r + 0.5), (c - 0.5, r + 0.5)]


def _window_box(w: Window, rows: Any, cols: Any) -> list[tuple[float, float]]:
    (r0, c0), (r1, c1) = w.taps[0], w.taps[-1]
    return [(c0 - 0.5, r0 - 0.5), (c1 + 0.5, r0 - 0.5), (c1 + 0.5, r1 + 0.5), (c0 - 0.5, r1 + 0.5)]


def _place(ax: Any, pool: list[Any], items: list[tuple[float, float, str, str]], size: float) -> None:
    """Reuse Text artists from ``pool`` for ``items``; hide the rest."""
    while len(pool) < len(items):
        pool.append(ax.text(0, 0, "", ha="center", va="center", zorder=4.5, clip_on=True))
    for text, (x, y, s, color) in zip(pool, items):
        text.set_position((x, y))
        text.set_text(s)
        text.set_color(color)
        text.set_fontsize(size)
        text.set_visible(True)
    for text in pool[len(items):]:
        text.set_visible(False)


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
