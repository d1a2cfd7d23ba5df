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
'step 5/9: output (1, 1) reads 9 taps: 9 on input'
>>> fig.to_png()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, Rectangle
from matplotlib.path import Path

from ..formatting import format_shape
from ..geometry import ROLES, Geometry, Window
from .captions import caption
from .compose import COMBINED, PALETTE, Layout, color, compose, compose_error, rows_cols, window_2d
from .raster import encode_png, line_mask, paste

__all__ = ["MAX_WINDOW_TAPS", "WindowFigure", "window_too_big"]

_CLEAR = (0.0, 0.0, 0.0, 0.0)

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
        self._layout: Layout | None = None
        self._caption_y = 0
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
        counts = _set_taps(self.taps, window, *rows_cols(g), thin)
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
        pw, ph = self._pixels()
        bg = compose_error(message, pw, ph, self.figure.dpi)
        self._background = bg
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
    def render(self) -> np.ndarray:
        """Render the current frame into the Agg buffer and return it (``(h, w, 4)`` uint8,
        a view: copy it if you keep it past the next render).

        The static picture is copied into the buffer (no Matplotlib drawing), the caption
        pasted, and only the moving artists drawn by Matplotlib.
        """
        canvas = self.figure.canvas
        if self._interactive or not isinstance(canvas, FigureCanvasAgg):
            canvas.draw()
            # an interactive canvas (ipympl's) is an Agg canvas too; any other fails here, as in Matplotlib
            return np.asarray(cast(FigureCanvasAgg, canvas).buffer_rgba())
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
        return encode_png(self.render(), compress_level)

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def close(self) -> None:
        """Take this picture's axes and artists off the figure and drop the composed picture
        (the Figure is not registered with pyplot). Safe to call twice, and while the
        interpreter shuts down (``Figure.clear`` re-creates axis artists, which then fails)."""
        for ax in (self.ax_in, self.ax_out):
            if ax in self.figure.axes:
                self.figure.delaxes(ax)
        for artist in (self.link, self._bg_image):
            if artist is not None and artist in self.figure.artists:
                artist.remove()
        self._bg_image = None
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
        """Compose the static picture (numpy) and put the moving artists' axes on its grids."""
        pw, ph = self._pixels()
        picture = compose(g, pw, ph, self.figure.dpi)
        self._background = picture.background
        self.labels = picture.labels
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

    def _paste_caption(self, buf: np.ndarray) -> None:
        mask = line_mask(self.caption, 10.0, self.figure.dpi)
        paste(buf, mask, color("text"), buf.shape[1] / 2, self._caption_y)

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


# translucent, so the indices written in small grids stay readable under the window
_TAP = to_rgba(PALETTE["tap"], 0.7)
_SOFT_TAP = to_rgba(PALETTE["tap"], 0.35)
_EDGE = to_rgba(PALETTE["edge"])


# face and edge colour of a tap square by the role code of its cell: taps outside the padded
# input get only the window's dotted outline, taps on padding or inserted zeros a paler face
_FACES = [_TAP if r == "input" else _CLEAR if r in ("overhang", "cropped") else _SOFT_TAP for r in ROLES]
_EDGES = [_CLEAR if r in ("overhang", "cropped") else _EDGE for r in ROLES]
_SEPARATE_TAPS = 256  # windows with more taps are drawn as one compound path per colour
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


def _set_taps(taps_artist: PolyCollection, window: Window, rows: Any, cols: Any,
              thin: bool) -> dict[str, int]:
    """A square per tap on the collection, coloured by its cell's role; returns taps per role.

    Up to :data:`_SEPARATE_TAPS` taps, one square a path, in row-major order. Beyond, one
    compound path per colour (Agg draws a path in one call: a 64×64 kernel costs about what
    a 3×3 one does), of squares, or when cells are ``thin`` (under 8 pixels, where a tap's
    own edges cannot be told apart) of rectangles, one per run of same-role cells.
    """
    row_coords, col_coords = _axis_taps(window)
    row_codes, col_codes = _role_codes(rows, row_coords), _role_codes(cols, col_coords)
    codes = COMBINED[row_codes[:, None], col_codes[None, :]]
    counts = dict(zip(ROLES, np.bincount(codes.ravel(), minlength=len(ROLES)).tolist(), strict=True))
    if codes.size <= _SEPARATE_TAPS:
        taps_artist.set_verts([_cell_box(r, c) for r, c in window.taps])
        taps_artist.set_facecolor([_FACES[k] for k in codes.ravel()])
        taps_artist.set_edgecolor([_EDGES[k] for k in codes.ravel()])
        return counts
    if thin:
        boxes = [((c0, r0), (c1, r1), int(COMBINED[rk, ck]))
                 for r0, r1, rk in _runs(row_coords, row_codes)
                 for c0, c1, ck in _runs(col_coords, col_codes)]
    else:
        rr, cc = np.broadcast_arrays(row_coords[:, None], col_coords[None, :])
        boxes = [((c, r), (c, r), k) for r, c, k in zip(rr.ravel().tolist(), cc.ravel().tolist(),
                                                          codes.ravel().tolist(), strict=True)]
    _set_compound(taps_artist, boxes)
    return counts


_Box = tuple[tuple[int, int], tuple[int, int], int]  # first (x, y) cell, last (x, y) cell, role code


def _set_compound(taps_artist: PolyCollection, boxes: list[_Box]) -> None:
    """One compound path per (face, edge) colour, of the cell rectangles (x0, y0)-(x1, y1)."""
    groups: dict[tuple[Any, Any], list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for first, last, k in boxes:
        groups.setdefault((_FACES[k], _EDGES[k]), []).append((first, last))
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
