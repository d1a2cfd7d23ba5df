"""The sliding-window picture: built once, updated in place, a step in a few milliseconds.

:class:`WindowFigure` draws a :class:`~convwidget.geometry.Geometry`: the input grid with
its padding ring (grey, hatched), a transposed convolution's inserted zeros (white, "0") and
output_padding row (darker grey), the kernel taps of the current window (orange; dilation
holes left unfilled inside the window's outline), the output grid with the current cell lit
(orange too), and a line linking the two. A ``ceil_mode`` window that overhangs the padded
input draws its outside taps dashed; windows PyTorch drops are dashed vermilion on both grids.

Two themes (``"light"``, ``"dark"``: :data:`~convwidget.drawing.palettes.PALETTES`) and a
presentation ``scale`` (1.5 for a projector: pixels, text and lines 1.5 times bigger). The
default size, 580 × 310 pixels at scale 1, is meant to be shown 1:1; every text in it is at
least 8 pt (11 px).

It uses :class:`matplotlib.figure.Figure` directly (no pyplot, no backend, no global state):
render with :meth:`WindowFigure.to_png` and show the bytes in an ``ipywidgets.Image``.

How it stays fast: cells are a whole number of pixels, so the static picture (grids, hatching,
outlines, indices, titles, legend) is composed once per setting with numpy
(:mod:`~convwidget.drawing.compose`, on the text and pixel primitives of
:mod:`~convwidget.drawing.raster`) and written straight into the Agg buffer. Only the moving
artists (taps, window outline, lit cell, link line) go through Matplotlib on each step, in
data coordinates of two invisible axes.

>>> from convwidget.geometry import layer_geometry
>>> fig = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1))
>>> fig.show_step(4)
>>> fig.highlighted()["out_cell"], fig.highlighted()["taps"][:2]
((1, 1), [(1, 1), (1, 2)])
>>> fig.caption
'step 5/9: output cell (1, 1) reads 9 taps: 9 input cells'
>>> fig.to_png()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
>>> light, dark = fig.to_png(), fig.to_png(theme="dark")  # the same frame in both themes
>>> light != dark, fig.theme
(True, 'light')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, Rectangle

from ..formatting import format_shape
from ..geometry import Geometry, Window, unread_indices, unread_reason
from .captions import caption
from .compose import Layout, color, compose, compose_error, filled, label_color, rows_cols, window_2d
from .overlays import Background, WindowLabels
from .palettes import PALETTES, TAP_ALPHA, check_theme
from .raster import encode_png, line_mask, paste, text_mask
from .taps import retheme_taps, set_taps

__all__ = ["DEFAULT_DPI", "DEFAULT_FIGSIZE", "MAX_WINDOW_TAPS", "WindowFigure", "window_too_big"]

#: The picture's size at scale 1: 580 × 310 pixels, shown 1:1 (no browser downscaling).
DEFAULT_FIGSIZE, DEFAULT_DPI = (5.8, 3.1), 100.0
_CAPTION_PT = 10.0

#: The most kernel taps one window may have to be drawn (a 256 × 256 kernel): a step costs
#: about 1.5 µs a tap in the geometry alone, and at one pixel a cell nobody sees the taps.
MAX_WINDOW_TAPS = 65_536


def window_too_big(g: Geometry) -> str | None:
    """Why the picture cannot show ``g`` (too many taps a window), or None.

    >>> from convwidget.geometry import layer_geometry
    >>> window_too_big(layer_geometry("conv", (2048, 2048), kernel_size=1000))
    'the window has 1,000,000 kernel taps (kernel 1000×1000); the picture draws at most 65,536 (256×256):
        use a smaller kernel, or convwidget.explain for the sizes alone'
    """
    taps = math.prod(g.kernel_size)
    if taps <= MAX_WINDOW_TAPS:
        return None
    return (f"the window has {taps:,} kernel taps (kernel {format_shape(g.kernel_size, 'compact')}); the "
            f"picture draws at most {MAX_WINDOW_TAPS:,} (256×256): use a smaller kernel, or "
            "convwidget.explain for the sizes alone")


class WindowFigure:
    """A picture of a layer's sliding window, built once and updated in place.

    Parameters
    ----------
    geometry
        What to draw (from :func:`convwidget.geometry.layer_geometry`); None draws nothing
        until :meth:`set_geometry`.
    figsize, dpi
        Size of the picture at scale 1 (inches, dots per inch): by default 580 × 310 pixels.
    caption
        Write the step caption (which output cell, how many taps on input/padding) into the
        picture. A widget may turn it off and show :attr:`caption` as text beside the picture.
    figure
        Draw into this existing Figure instead (e.g. one made by ipympl's
        ``%matplotlib widget``): the static picture becomes a figure image, artists are not
        "animated", and every update calls ``figure.canvas.draw_idle()``. By default a private
        Agg-backed Figure is used and nothing is shown until you call :meth:`to_png`.
    theme
        ``"light"`` or ``"dark"`` (dark cells on JupyterLab Dark's background, light text);
        :meth:`to_png` can render the other one of the same frame.
    scale
        Presentation scale: pixels, text and line widths times ``scale`` (1.5 for a projector).

    >>> from convwidget.geometry import layer_geometry
    >>> fig = WindowFigure(layer_geometry("max_pool", (5, 5), kernel_size=2, ceil_mode=True))
    >>> fig.n_steps, len(fig.to_png()) > 1000, fig.to_rgba().shape
    (9, True, (310, 580, 4))
    >>> fig.set_style(theme="dark", scale=1.5)
    >>> fig.theme, fig.to_rgba().shape
    ('dark', (465, 870, 4))
    """

    def __init__(
        self,
        geometry: Geometry | None = None,
        *,
        figsize: tuple[float, float] = DEFAULT_FIGSIZE,
        dpi: float = DEFAULT_DPI,
        caption: bool = True,
        figure: Figure | None = None,
        theme: str = "light",
        scale: float = 1.0,
    ) -> None:
        self.theme = check_theme(theme)
        self.scale = _check_scale(scale)
        self._interactive = figure is not None
        if figure is None:
            figure = Figure(figsize=figsize, dpi=dpi, facecolor=PALETTES[self.theme]["background"])
            FigureCanvasAgg(figure)
        self._base_dpi = float(figure.dpi)
        if self.scale != 1.0:
            figure.set_dpi(self._base_dpi * self.scale)
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
        self._layout: Layout | None = None
        self._caption_y = 0
        self._spots: dict[tuple[str, tuple[int, int]], tuple[str, float, float, str]] = {}
        self._label_pt = 0.0
        #: the composed static picture of what is shown, per theme (composed when first asked)
        self._pictures: dict[str, np.ndarray] = {}
        self._shape: tuple[int, ...] = (0, 0, 4)
        self._artist_theme = "light"
        self._extras_for: tuple[Any, Any] = (None, ((), ()))
        #: text of each output cell, row-major (e.g. PyTorch's values), or None: the cells' numbers
        self.output_labels: tuple[str, ...] | None = None
        self._bg_image: Any = None
        self._fg_labels: Any = None
        self._build_artists()
        self._style_artists(self.theme)
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
        self.taps = PolyCollection([], linewidths=0.8, zorder=5, animated=anim)
        self.extent = Rectangle((0, 0), 1, 1, fill=False, linewidth=2.2, zorder=6, animated=anim)
        self.lit = Rectangle((0, 0), 1, 1, linewidth=2.2, zorder=6, animated=anim)
        self.ax_in.add_collection(self.taps)
        self.ax_in.add_patch(self.extent)
        self.ax_out.add_patch(self.lit)
        self.link = ConnectionPatch((0, 0), (0, 0), coordsA=self.ax_in.transData,
                                    coordsB=self.ax_out.transData, linewidth=1.2, alpha=0.7, zorder=7,
                                    animated=anim)
        fig.add_artist(self.link)
        self._moving = [self.taps, self.extent, self.lit, self.link]
        for artist in (self.taps, self.extent, self.lit):
            # windows stay on the grid; clipping at the axes edge would halve edge outlines
            artist.set_clip_on(False)

    def _style_artists(self, theme: str) -> None:
        """Colour the moving artists for ``theme`` (the taps keep their squares)."""
        p = PALETTES[theme]
        self.extent.set_edgecolor(p["edge"])
        self.lit.set_facecolor(to_rgba(p["tap"], TAP_ALPHA["lit"]))
        self.lit.set_edgecolor(p["edge"])
        self.link.set_color(p["edge"])
        retheme_taps(self.taps, self._artist_theme, theme)
        self._artist_theme = theme

    # ------------------------------------------------------------------ public API
    @property
    def n_steps(self) -> int:
        """Number of output cells of the current geometry (0 when none or on error)."""
        if self.geometry is None or self.error is not None:
            return 0
        return self.geometry.n_steps

    @property
    def layout(self) -> Layout | None:
        """Where the grids sit in the picture (cell size, top-left pixels), or None."""
        return self._layout

    def set_style(self, theme: str | None = None, scale: float | None = None) -> None:
        """Change the theme and/or the presentation scale (None keeps it); the picture is
        composed again only when a value changes.

        >>> from convwidget.geometry import layer_geometry
        >>> fig = WindowFigure(layer_geometry("conv", 5, kernel_size=3))
        >>> fig.set_style(scale=2)
        >>> fig.to_rgba().shape
        (620, 1160, 4)
        """
        if theme is not None and check_theme(theme) != self.theme:
            self.theme = theme
            self._style_artists(theme)
            if not self._interactive:
                self.figure.set_facecolor(PALETTES[theme]["background"])
        if scale is not None and _check_scale(scale) != self.scale:
            self.scale = float(scale)
            self.figure.set_dpi(self._base_dpi * self.scale)
            self._recompose()
        elif self._interactive:
            self._update_figure_image()
            self.figure.canvas.draw_idle()

    def set_geometry(self, geometry: Geometry, step: int | None = None,
                     output_labels: Sequence[str] | None = None) -> None:
        """Draw a new layer setting, reusing every artist; shows ``step`` (default: the
        current step, clamped to the new output). ``output_labels``: what each output cell
        says, row-major (the explorer passes PyTorch's values); default: the cells' numbers."""
        self.geometry = geometry
        self.output_labels = None if output_labels is None else tuple(output_labels)
        refusal = window_too_big(geometry)
        if refusal is not None:
            self.show_error(refusal)
            return
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
            window = window_2d(window)
        thin = self._layout is not None and self._layout.cell < self._px(8)
        counts = set_taps(self.taps, window, *rows_cols(g), thin, self._artist_theme)
        (r0, c0), (r1, c1) = window.taps[0], window.taps[-1]
        self.extent.set_bounds(c0 - 0.5, r0 - 0.5, c1 - c0 + 1, r1 - r0 + 1)
        # dashed: PyTorch drops the window; dotted: it reaches past the padded input
        self.extent.set_linestyle("--" if window.dropped else ":" if window.overhang else "-")
        orow, ocol = window.out_cell
        self.lit.set_bounds(ocol - 0.5, orow - 0.5, 1, 1)
        self.lit.set_linestyle("--" if window.dropped else "-")
        if self._layout is not None and self._layout.stacked:
            self.link.xy1 = ((c0 + c1) / 2, r1 + 0.5)
            self.link.xy2 = (ocol, orow - 0.5)
        else:
            # right edge of the window to left edge of the cell: crosses few labelled cells
            self.link.xy1 = (c1 + 0.5, (r0 + r1) / 2)
            self.link.xy2 = (ocol - 0.5, orow)
        self.caption = caption(g, self.window, counts)
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
        self._spots = {}
        self._pictures = {}
        self._shape = (*self._pixels()[::-1], 4)
        if self._interactive:
            self._update_figure_image()
            self.figure.canvas.draw_idle()

    def highlighted(self) -> dict[str, Any]:
        """Read back from the artists which cells are lit (for tests and checks).

        Returns a dict: ``taps`` (grid cells ``(row, col)`` covered by tap squares, in
        drawing order: row-major, by colour beyond 256 taps), ``out_cell`` (the lit output
        cell) and ``extent`` (top-left and bottom-right grid cells of the window outline).
        1-D layers use row 0.
        """
        taps = []
        for path in self.taps.get_paths():
            vertices = np.asarray(path.vertices)
            for i in range(0, len(vertices), 5):  # rectangles: 4 corners and the closing point
                (x0, y0), (x1, y1) = vertices[i:i + 4].min(axis=0), vertices[i:i + 4].max(axis=0)
                taps += [(r, c) for r in range(int(round(y0 + 0.5)), int(round(y1 + 0.5)))
                         for c in range(int(round(x0 + 0.5)), int(round(x1 + 0.5)))]
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
    def render(self, theme: str | None = None) -> np.ndarray:
        """Render the current frame (in ``theme``, default the figure's) into the Agg buffer
        and return it (``(h, w, 4)`` uint8, a view: copy it if you keep it past the next render).

        The static picture is copied into the buffer (no Matplotlib drawing), the caption
        pasted, and only the moving artists drawn by Matplotlib; the indices under them are
        written again on top.
        """
        theme = self.theme if theme is None else check_theme(theme)
        canvas = self.figure.canvas
        if self._interactive or not isinstance(canvas, FigureCanvasAgg):
            return self._render_canvas(theme)
        renderer = canvas.get_renderer()
        buf = np.asarray(renderer.buffer_rgba())
        if buf.shape != self._shape:
            self._recompose()  # the figure was resized or its dpi changed: lay everything out again
        np.copyto(buf, self.picture(theme))
        if self.error is None and self.geometry is not None:
            if self.show_caption and self.caption:
                self._paste_caption(buf, theme)
            self._style_artists(theme)
            for artist in self._moving:
                artist.draw(renderer)
            self._paste_window_labels(buf, theme)
        return buf

    def _render_canvas(self, theme: str) -> np.ndarray:
        """Render through the canvas (an interactive figure): the canvas draws everything."""
        canvas = self.figure.canvas
        shown = self.theme
        self.theme = theme
        self._style_artists(theme)
        try:
            canvas.draw()
            # an interactive canvas (ipympl's) is an Agg canvas too; any other fails here, as in Matplotlib
            return np.asarray(cast(FigureCanvasAgg, canvas).buffer_rgba())
        finally:
            self.theme = shown
            self._style_artists(shown)

    def to_rgba(self, theme: str | None = None) -> np.ndarray:
        """The current frame as an ``(height, width, 4)`` uint8 array (a copy)."""
        return self.render(theme).copy()

    def to_png(self, compress_level: int = 1, theme: str | None = None) -> bytes:
        """The current frame as PNG bytes (fast, low compression by default), in ``theme``
        (default: the figure's); the other theme of the same frame costs one more render."""
        return encode_png(self.render(theme), compress_level)

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def close(self) -> None:
        """Take this picture's axes and artists off the figure and drop the composed picture
        (the Figure is not registered with pyplot). Safe to call twice, and while the
        interpreter shuts down (``Figure.clear`` re-creates axis artists, which then fails)."""
        for ax in (self.ax_in, self.ax_out):
            if ax in self.figure.axes:
                self.figure.delaxes(ax)
        for artist in (self.link, self._bg_image, self._fg_labels):
            if artist is not None and artist in self.figure.artists:
                artist.remove()
        self._bg_image = self._fg_labels = None
        self._pictures = {}

    # ------------------------------------------------------------------ composing
    def picture(self, theme: str | None = None) -> np.ndarray:
        """The composed static picture (grids, words, legend; no window) in ``theme``."""
        theme = self.theme if theme is None else check_theme(theme)
        bg = self._pictures.get(theme)
        if bg is None:
            pw, ph = self._shape[1], self._shape[0]
            dpi = self.figure.dpi
            if self.error is not None:
                bg = compose_error(self.error, pw, ph, dpi, theme)
            elif self.geometry is None:
                bg = filled(ph, pw, color("background", theme))
            else:
                bg = compose(self.geometry, pw, ph, dpi, theme, *self._extras(self.geometry),
                             self.output_labels).background
            self._pictures[theme] = bg
        return bg

    @property
    def _background(self) -> np.ndarray:
        return self.picture()

    def _extras(self, g: Geometry) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
        """The notes (why cells are never read) and the unread indices the picture adds to the
        geometry's own drawing."""
        if self._extras_for[0] != g:
            reason = unread_reason(g)
            self._extras_for = (g, ((reason,) if reason else (), unread_indices(g)))
        return self._extras_for[1]

    @property
    def notes(self) -> tuple[str, ...]:
        """Sentences the picture writes under the grids besides its own note (e.g. which input
        cells no window reads, and why)."""
        if self.geometry is None or self.error is not None:
            return ()
        return self._extras(self.geometry)[0]

    def _px(self, value: float) -> int:
        """A length in pixels at 100 dpi, scaled to this figure's dpi."""
        return max(1, int(round(value * self.figure.dpi / 100)))

    def _pixels(self) -> tuple[int, int]:
        return int(round(self.figure.bbox.width)), int(round(self.figure.bbox.height))

    def _recompose(self) -> None:
        if self.error is not None:
            self.show_error(self.error)
        elif self.geometry is not None:
            self._compose(self.geometry)
        else:
            self._compose_blank()

    def _compose_blank(self) -> None:
        self._pictures = {}
        self._spots = {}
        self._shape = (*self._pixels()[::-1], 4)
        for a in self._moving:
            a.set_visible(False)

    def _compose(self, g: Geometry) -> None:
        """Compose the static picture (numpy) and put the moving artists' axes on its grids."""
        pw, ph = self._pixels()
        picture = compose(g, pw, ph, self.figure.dpi, self.theme, *self._extras(g), self.output_labels)
        self._pictures = {self.theme: picture.background}
        self._shape = picture.background.shape
        self.labels = picture.labels
        self._spots, self._label_pt = picture.label_spots, picture.label_pt
        self.dropped_cells = picture.dropped_cells
        self._caption_y = picture.caption_y
        lay = self._layout = picture.layout
        rows, cols = rows_cols(g)
        # the axes the moving artists live in: data coordinates = grid coordinates, exactly
        # on the pixel lines composed above
        for ax, (x, y), (nr, nc), (ry, cx0) in (
            (self.ax_in, lay.input_xy, (rows.grid_size, cols.grid_size), (rows.grid_start, cols.grid_start)),
            (self.ax_out, lay.output_xy, (rows.n_windows, cols.n_windows), (0, 0)),
        ):
            w_px, h_px = nc * lay.cell, nr * lay.cell
            ax.set_position(((x + 0.5) / pw, (ph - y - 0.5 - h_px) / ph, w_px / pw, h_px / ph))
            ax.set_xlim(cx0 - 0.5, cx0 + nc - 0.5)
            ax.set_ylim(ry + nr - 0.5, ry - 0.5)
        thin = lay.cell < self._px(8)
        self.extent.set_linewidth(1.2 if thin else 2.2)
        self.lit.set_linewidth(2.2)  # the lit cell must stand out even when cells are tiny
        self.taps.set_linewidth(0.4 if thin else 0.8)
        if self._interactive:
            self._update_figure_image()

    def _paste_caption(self, buf: np.ndarray, theme: str) -> None:
        mask = line_mask(self.caption, _CAPTION_PT, self.figure.dpi)
        paste(buf, mask, color("text", theme), buf.shape[1] / 2, self._caption_y)

    def _paste_window_labels(self, buf: np.ndarray, theme: str) -> None:
        """Write the indices under the taps, in the lit cell and under the link line again, on
        top: under the translucent orange a digit would keep only 2:1 contrast."""
        if not self._spots or self.window is None or self.geometry is None:
            return
        w = window_2d(self.window) if self.geometry.ndim == 1 else self.window
        under = {("input", t) for t in w.taps} | {("output", w.out_cell)}
        for key in [*under, *self._crossed_by_link()]:
            spot = self._spots.get(cast(tuple[str, tuple[int, int]], key))
            if spot is not None:
                text, x, y, role = spot
                mask = text_mask(text, self._label_pt, self.figure.dpi)
                paste(buf, mask, label_color(theme, role, key in under), x, y)

    def _crossed_by_link(self) -> list[tuple[str, tuple[int, int]]]:
        """The labelled cells the line from the window to the lit cell passes over."""
        lay = self._layout
        if lay is None:
            return []
        ph = self._shape[0]
        (x0, y0), (x1, y1) = (self.ax_in.transData.transform(self.link.xy1),
                              self.ax_out.transData.transform(self.link.xy2))
        n = max(2, int(math.hypot(x1 - x0, y1 - y0) / max(1, lay.cell // 3)))
        xs, ys = np.linspace(x0, x1, n), ph - np.linspace(y0, y1, n)
        half = lay.cell / 2
        return [key for key, (_, x, y, _) in self._spots.items()
                if bool(np.any((np.abs(xs - x) < half) & (np.abs(ys - y) < half)))]

    def _update_figure_image(self) -> None:
        """Interactive figures: let the background artist paint the composed picture, and the
        foreground one the indices under the window."""
        if self._bg_image is None:
            self._bg_image = Background(self)
            self._fg_labels = WindowLabels(self)
            self.figure.add_artist(self._bg_image)
            self.figure.add_artist(self._fg_labels)
        self._bg_image.stale = True


def _check_scale(scale: Any) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.25 <= scale <= 4:
        raise ValueError(f"scale={scale!r} must be a number from 0.25 to 4 (1: normal, 1.5: a projector)")
    return float(scale)
