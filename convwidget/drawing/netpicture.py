"""The whole net as a picture: the classic stack of feature maps, one box per step.

"How did we arrive at 4096?" in one look: every step of a :class:`~convwidget.TraceReport`
is drawn as a box sized by its map's height × width (log scale, so 224 and 7 both read),
as thick as its channels, labelled ``[C, H, W]`` (the batch is left out, said once in the
title). Activation, norm, dropout and other shape-keeping steps merge into the box before
them, so ResNet-50 stays legible; boxes wrap into rows. The flatten is written out
(``256 × 4 × 4 → 4096``) and flows into the first ``Linear``; a step with a problem is drawn
in the error colour with its fix beside it.

Matplotlib only, and no pyplot: the figure is a plain :class:`~matplotlib.figure.Figure`
on an Agg canvas, so nothing is left open and no backend is chosen. The artists are built
once; :meth:`NetPicture.update` moves them in place after a size change. A frame is drawn
once, as palette indices (:mod:`~convwidget.drawing.netpalette`): the light and the dark PNG
share its pixels and differ in their palette. What is drawn (the boxes, their words, the rows)
is :mod:`~convwidget.drawing.netsteps`.

>>> from convwidget.tracer.report import Row, TraceReport
>>> rows = [Row(0, "conv", "Conv2d", True, ((1, 3, 8, 8),), (1, 4, 6, 6), 112),
...         Row(1, "relu", "ReLU", True, ((1, 4, 6, 6),), (1, 4, 6, 6)),
...         Row(2, "flat", "Flatten", True, ((1, 4, 6, 6),), (1, 144), flatten="4 × 6 × 6 = 144",
...             flatten_dims=(4, 6, 6), flatten_start=1)]
>>> picture = NetPicture(TraceReport("Net", (1, 3, 8, 8), rows, (1, 144), {}, []))
>>> picture.shape_labels, picture.flatten_text
(['[3, 8, 8]', '[4, 6, 6]', '[144]'], '4 × 6 × 6 → 144')
>>> picture.to_png()[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

import textwrap
from io import BytesIO
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from .netpalette import (
    BAND,
    COLORS,
    TEXT_COLORS,
    THEME_COLORS,
    THEMES,
    contrast,
    face_colors,
    geometry_indices,
    idat,
    indexed_png,
    rgba_palette,
    scanlines,
    text_indices,
)
from .netsteps import (
    LINE_UNITS,
    Layout,
    Step,
    box_size,
    boxes_per_row,
    clip,
    cuboid,
    layout_of,
    steps_of,
    title_of,
)

if TYPE_CHECKING:
    from matplotlib.text import Text

    from ..tracer.report import TraceReport

__all__ = ["COLORS", "THEMES", "NetPicture", "Step", "TEXT_COLORS", "THEME_COLORS", "contrast", "steps_of"]

_CELL_IN = 1.3  # inches per step along a row
_MIN_COLUMNS = 7
_INDENT = "\u00a0" * 6  # no-break spaces: the pasted words keep the footer's indent
_REFERENCE = "light"  # the artists keep this theme's colours: Agg draws the boxes in them
_LINES = (("name", 7.0, "name"), ("op", 8.0, "text"), ("shape", 9.0, "text"), ("flatten", 9.0, "flatten"),
          ("fix", 8.0, "error"))


class NetPicture:
    """The picture of a traced net; ``report.plot()`` makes one.

    Parameters
    ----------
    report : the :class:`~convwidget.TraceReport` to draw.
    per_row : boxes per row before wrapping (default: 8, or 10 for nets of more than 30 boxes).
    dpi : resolution of :meth:`to_png` and ``_repr_png_``.

    Attributes
    ----------
    figure : the Matplotlib figure (not registered with pyplot: nothing to close).
    steps : the boxes drawn (:class:`Step`).

    >>> from convwidget.tracer.report import TraceReport
    >>> NetPicture(TraceReport("Empty", (1, 3, 4, 4), [], (1, 3, 4, 4), {}, [])).shape_labels
    ['[3, 4, 4]']
    """

    def __init__(self, report: TraceReport, *, per_row: int | None = None, dpi: float = 100) -> None:
        if per_row is not None and (not isinstance(per_row, int) or per_row < 1):
            raise ValueError(f"per_row={per_row!r} must be a whole number >= 1, e.g. per_row=8")
        self._per_row_arg = per_row
        self.figure = Figure(dpi=dpi, facecolor=THEME_COLORS[_REFERENCE]["page"])
        FigureCanvasAgg(self.figure)
        self.steps: list[Step] = []
        self._theme = "light"
        self._built_for: tuple[int, int] | None = None
        self._words: dict[str, list[str]] = {}
        self._anchors = np.zeros((0, 2))  # (x, top) of each box's words, data units
        self._edge_inks: list[str] = []  # 'edge' or 'error', one per face polygon
        self._synced = False  # the label artists hold the words (only savefig needs them)
        self._indices: np.ndarray | None = None  # this frame's palette indices, drawn on demand
        self._lines = np.zeros((0, 1), np.uint8)  # the same, as PNG scanlines (_indices is a view)
        self._idat: dict[int, bytes] = {}  # its compressed pixels, by zlib level
        self._renderers: dict[tuple[int, int, float], RendererAgg] = {}
        self.update(report)

    # ------------------------------------------------------------------ building and updating

    def update(self, report: TraceReport) -> None:
        """Redraw for a new report (e.g. after the input size changed): artists are moved and
        re-labelled in place when the number of boxes is unchanged, rebuilt otherwise."""
        self.report = report
        self.steps = steps_of(report)
        per_row = boxes_per_row(len(self.steps), self._per_row_arg)
        chars = int(max(per_row, _MIN_COLUMNS) * _CELL_IN * 72 / 5.0)  # ~5 pt a character
        footer = self._footer_lines(report, chars)
        if self._built_for != (len(self.steps), per_row):
            self._build(len(self.steps))
            self._built_for = (len(self.steps), per_row)
        self._lay = layout_of(self.steps, per_row)
        self._place(self._lay, report, footer)
        self._indices, self._idat, self._synced = None, {}, False

    def _build(self, n: int) -> None:
        fig = self.figure
        fig.clear()
        self._frame: tuple[float, ...] = ()
        self._ax = ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        c = THEME_COLORS[_REFERENCE]
        self._faces = PolyCollection([], linewidths=0.6, edgecolors=c["edge"])
        # hidden: the bands are painted into the indices (see _frame_indices); savefig shows them
        self._bands = PolyCollection([], linewidths=0.0, facecolors=c["band"], visible=False)
        self._arrows = LineCollection([], colors=c["arrow"], linewidths=1.0)
        for collection in (self._faces, self._bands, self._arrows):
            ax.add_collection(collection)
        (self._heads,) = ax.plot([], [], ">", color=c["arrow"], markersize=4, linestyle="none")
        # hidden: the words are pasted from cached masks instead; savefig shows them
        self._texts = {key: [ax.text(0, 0, "", fontsize=size, color=c[color], ha="center",
                                     va="top", clip_on=False, visible=False) for _ in range(n)]
                       for key, size, color in _LINES}
        self._title = fig.text(0.01, 0.99, "", fontsize=9, color=c["text"], va="top",
                               linespacing=1.3, visible=False)
        self._footer = fig.text(0.01, 0.01, "", fontsize=8, color=c["error"], va="bottom",
                                linespacing=1.3, visible=False)

    @staticmethod
    def _footer_lines(report: TraceReport, width: int) -> list[str]:
        lines: list[str] = []
        for i, p in enumerate(report.problems, 1):
            lines += textwrap.wrap(f"⚠ {i}. {p.message}", width, subsequent_indent=_INDENT)
            if p.fix:
                lines.append(f"{_INDENT}fix: {p.fix}")
        return lines

    def _place(self, lay: Layout, report: TraceReport, footer: list[str]) -> None:
        columns = max(lay.per_row, _MIN_COLUMNS)  # a short net keeps room for the title
        width_in = columns * _CELL_IN
        plot_in = lay.rows * lay.lane * _CELL_IN
        head_in, foot_in = 0.7, (0.17 * len(footer) + 0.12 if footer else 0.05)
        height_in = head_in + plot_in + foot_in
        frame = (width_in, height_in, foot_in, plot_in, lay.per_row, lay.rows * lay.lane)
        if frame != self._frame:  # moving the axes invalidates every transform: only if needed
            self._frame = frame
            self.figure.set_size_inches(width_in, height_in)
            self._ax.set_position((0.0, foot_in / height_in, 1.0, plot_in / height_in))
            self._ax.set_xlim(0, columns)
            self._ax.set_ylim(-lay.rows * lay.lane, 0)
        self._title.set_text(title_of(report))
        self._footer.set_text("\n".join(footer))
        self._place_steps(lay)

    def _place_steps(self, lay: Layout) -> None:
        polys: list[np.ndarray] = []
        bands: list[np.ndarray] = []
        faces: list[str] = []
        widths: list[float] = []
        self._edge_inks = []
        anchors: list[tuple[float, float]] = []
        ends: list[tuple[float, float, float, int]] = []  # right edge, left edge, centre y, row
        for i, step in enumerate(self.steps):
            row, col = divmod(i, lay.per_row)
            thick, height, depth = box_size(step)
            width = thick + depth * 0.75
            x = col + 0.5 - width / 2
            top = -row * lay.lane
            yc = top - lay.box_room / 2 - depth * 0.55 / 2
            polys += cuboid(x, yc, thick, height, depth)
            faces += face_colors(step.kind)
            error = step.kind == "error"  # told by a thick dark outline too, not by colour alone
            self._edge_inks += ["error" if error else "edge"] * 3
            widths += [2.0 if error else 0.6] * 3
            ends.append((x + width, x, yc, row))
            label_top = top - lay.box_room
            anchors.append((col + 0.5, label_top))
            if step.flatten:  # a band behind the product, so the answer to "why 4096?" stands out
                y0, y1 = label_top - 4 * LINE_UNITS + 0.005, label_top - 3 * LINE_UNITS + 0.01
                x0, x1 = col + 0.02, col + 0.98
                bands.append(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
        self._polys = np.array(polys).reshape(-1, 4, 2)
        self._faces.set_verts(self._polys)  # type: ignore[arg-type]  # an array: Matplotlib's fast path
        self._faces.set_facecolor(faces)
        self._faces.set_edgecolor(self._edge_colors(_REFERENCE))
        self._faces.set_linewidth(widths)
        self._band_xy = np.array(bands).reshape(-1, 4, 2)
        self._bands.set_verts(self._band_xy)  # type: ignore[arg-type]
        self._anchors = np.array(anchors)
        self._words = self._label_words()
        self._place_arrows(ends)

    def _label_words(self) -> dict[str, list[str]]:
        steps = self.steps
        return {"name": [clip(s.name, 22, from_end="(" in s.name) for s in steps],
                "op": [clip(s.op, 22) for s in steps], "shape": [s.label for s in steps],
                "flatten": [s.flatten for s in steps], "fix": [f"⚠ {s.fix}" if s.fix else "" for s in steps]}

    def _edge_colors(self, theme: str) -> list[str]:
        c = THEME_COLORS[theme]
        return [c[ink] for ink in self._edge_inks]

    def _place_arrows(self, ends: list[tuple[float, float, float, int]]) -> None:
        segments, heads_x, heads_y = [], [], []
        for (right, _, y, row), (_, left, y2, row2) in zip(ends, ends[1:], strict=False):
            if row == row2:
                segments.append([(right + 0.03, y), (left - 0.05, y)])
                heads_x.append(left - 0.05)
                heads_y.append(y)
            else:  # the row wraps: a stub out of this box, one into the next
                segments += [[(right + 0.03, y), (right + 0.12, y)], [(left - 0.15, y2), (left - 0.05, y2)]]
                heads_x += [right + 0.12, left - 0.05]
                heads_y += [y, y2]
        self._segments = np.array(segments).reshape(-1, 2, 2)
        self._arrows.set_segments(self._segments)  # type: ignore[arg-type]
        self._heads.set_data(heads_x, heads_y)

    def _sync_texts(self) -> None:
        """Put the words into the label artists (for savefig and for reading them back)."""
        if self._synced:
            return
        for k, (key, _, _) in enumerate(_LINES):
            for text, word, (x, y) in zip(self._texts[key], self._words[key], self._anchors, strict=True):
                text.set_text(word)
                text.set_position((x, y - k * LINE_UNITS))
        self._synced = True

    def _style(self, theme: str) -> None:
        """Colour the artists for ``theme`` (savefig); the boxes keep their colours."""
        c = THEME_COLORS[theme]
        self._faces.set_edgecolor(self._edge_colors(theme))
        self._bands.set_facecolor(c["band"])
        self._arrows.set_color(c["arrow"])
        self._heads.set_color(c["arrow"])
        for key, _, color in _LINES:
            for text in self._texts[key]:
                text.set_color(c[color])
        self._title.set_color(c["text"])
        self._footer.set_color(c["error"])

    # ------------------------------------------------------------------ reading it back

    @property
    def shape_labels(self) -> list[str]:
        """The ``[C, H, W]`` labels drawn, one per box, in order."""
        return list(self._words["shape"])

    @property
    def flatten_text(self) -> str:
        """The first flatten drawn (``'256 × 4 × 4 → 4096'``), or ''."""
        return next((s.flatten for s in self.steps if s.flatten), "")

    @property
    def texts(self) -> list[str]:
        """Every text drawn (title, labels, fixes, footer), for searching."""
        out = [self._title.get_text(), self._footer.get_text()]
        for key, _, _ in _LINES:
            out += self._words[key]
        return [t for t in out if t]

    def label_artists(self, key: str) -> list[Text]:
        """The label artists of one line under the boxes (``'name'``, ``'op'``, ``'shape'``,
        ``'flatten'``, ``'fix'``), holding this frame's words."""
        self._sync_texts()
        return self._texts[key]

    # ------------------------------------------------------------------ export

    def _frame_indices(self) -> np.ndarray:
        """This frame as palette indices (drawn once a frame, whatever the themes asked)."""
        if self._indices is None:
            renderer = self._renderer()
            height, width = int(renderer.height), int(renderer.width)
            self._lines = scanlines(height, width)
            indices = self._lines[:, 1:]
            for group, rects in zip(((self._faces,), (self._arrows, self._heads)),
                                    self._geometry_rects(height, width), strict=True):
                renderer.clear()  # a transparent page: geometry_indices knows it
                for artist in group:  # not the figure, with its ~300 hidden texts
                    artist.draw(renderer)
                rgba = np.asarray(renderer.buffer_rgba())
                geometry_indices(rgba, rects, indices, arrows=group[0] is self._arrows)
            self._paint_bands(indices)
            self._paint_words(indices)
            self._indices = indices
        return self._indices

    def _renderer(self) -> RendererAgg:
        """An Agg renderer of the figure's size, kept for the last two sizes: making one for a
        1300 x 1900 picture costs ~10 ms, and a slider often moves back and forth across a
        change of height (the canvas itself keeps one only)."""
        width, height = (int(v) for v in self.figure.bbox.size)
        key = (width, height, self.figure.dpi)
        renderer = self._renderers.pop(key, None) or RendererAgg(width, height, self.figure.dpi)
        self._renderers[key] = renderer  # the most recent last
        while len(self._renderers) > 2:
            del self._renderers[next(iter(self._renderers))]
        return renderer

    def _geometry_rects(self, height: int, width: int) -> tuple[list[_Rect], list[_Rect]]:
        """Pixel rectangles (row0, row1, col0, col1) holding every box, and every arrow: the
        rest of the canvas is page, and reading it would be most of the cost."""
        to_pixels = self._ax.transData.transform
        boxes = to_pixels(self._polys.reshape(-1, 2)).reshape(-1, 12, 2)  # 3 faces x 4 corners
        arrows = to_pixels(self._segments.reshape(-1, 2)).reshape(-1, 2, 2)
        # half an error outline (2 pt) or an arrow head (4 pt and its edge), and anti-aliasing
        return (_rects(boxes, 1.5 * self.figure.dpi / 72 + 2, height, width),
                _rects(arrows, 3.0 * self.figure.dpi / 72 + 2, height, width))

    def _paint_bands(self, indices: np.ndarray) -> None:
        height = indices.shape[0]
        for corners in self._band_xy:
            (x0, y0), (x1, y1) = self._ax.transData.transform(corners[[0, 2]])
            indices[int(round(height - y1)):int(round(height - y0)), int(round(x0)):int(round(x1))] = BAND

    def _paint_words(self, indices: np.ndarray) -> None:
        """Paste every word from its cached mask where Agg would have drawn it (a ``Text``
        artist costs ~3 ms on Agg and ResNet-50 has 240 of them; a pasted mask microseconds)."""
        height = indices.shape[0]
        dpi = self.figure.dpi
        for k, (key, size, ink) in enumerate(_LINES):
            if len(self._anchors):
                xy = self._ax.transData.transform(self._anchors - (0.0, k * LINE_UNITS))
                for word, (x, y) in zip(self._words[key], xy, strict=True):
                    if word:
                        _paste(indices, text_indices(word, size, dpi, ink), height - y, x, centred=True)
        for text, ink in ((self._title, "text"), (self._footer, "error")):
            lines = text.get_text().split("\n") if text.get_text() else []
            size = float(text.get_fontsize())
            step = size * dpi / 72 * 1.3  # their linespacing
            x, y = text.get_transform().transform(text.get_position())
            top = height - y - (step * len(lines) if text.get_verticalalignment() == "bottom" else 0)
            for n, line in enumerate(lines):
                _paste(indices, text_indices(line, size, dpi, ink), top + n * step, x, centred=False)

    def draw(self) -> np.ndarray:
        """Render; the RGBA pixels of the current theme, ``(height, width, 4)`` uint8 (a new array).

        Agg draws the boxes and arrows; the words are pasted from cached FreeType masks
        (:mod:`~convwidget.drawing.raster`). :meth:`savefig` and :meth:`to_svg` use the
        artists themselves.
        """
        return rgba_palette(self._theme)[self._frame_indices()]

    def to_png(self, level: int = 1, theme: str = "light") -> bytes:
        """The picture as PNG bytes (zlib level ``level``), for a light or a dark page.

        ``theme="dark"`` draws on JupyterLab Dark's page with light ink (:data:`THEME_COLORS`);
        the boxes keep their Okabe–Ito colours, so the legend holds in both. Both themes share
        one frame's pixels: the second costs its palette only.
        """
        if theme not in THEMES:
            raise ValueError(f"theme={theme!r}: choose one of {', '.join(map(repr, THEMES))}")
        self._theme = theme
        indices = self._frame_indices()
        if level not in self._idat:
            self._idat[level] = idat(self._lines, level)
        return indexed_png((indices.shape[1], indices.shape[0]), self._idat[level], theme)

    def to_svg(self) -> str:
        """The picture as SVG text (words kept as text, so they can be searched and copied)."""
        buffer = BytesIO()
        self.savefig(buffer, format="svg")
        return buffer.getvalue().decode("utf-8")

    def savefig(self, path: str | PathLike[str] | BytesIO, **kwargs: Any) -> None:
        """Save to ``path``; the format follows the suffix (``.png``, ``.svg``, ``.pdf``) or
        ``format=``. Keyword arguments go to :meth:`matplotlib.figure.Figure.savefig`."""
        kwargs.setdefault("facecolor", THEME_COLORS[self._theme]["page"])
        self._sync_texts()
        self._style(self._theme)
        shown = [*self._all_texts(), self._bands]
        for artist in shown:
            artist.set_visible(True)
        try:
            with rc_context({"svg.fonttype": "none"}):
                self.figure.savefig(path, **kwargs)
        finally:
            for artist in shown:
                artist.set_visible(False)
            self._style(_REFERENCE)

    def _all_texts(self) -> list[Text]:
        return [self._title, self._footer, *(t for texts in self._texts.values() for t in texts)]

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def __repr__(self) -> str:
        return (f"<NetPicture of {self.report.model_name}: {len(self.steps)} boxes, "
                f"flatten {self.flatten_text or 'none'}>")


_Rect = tuple[int, int, int, int]


def _rects(shapes: np.ndarray, margin: float, height: int, width: int) -> list[_Rect]:
    """The pixel rectangle (row0, row1, col0, col1) around each shape's points (shapes x points
    x 2, pixel coordinates from the bottom), ``margin`` pixels wider, inside the canvas."""
    low, high = shapes.min(axis=1) - margin, shapes.max(axis=1) + margin
    rows = np.clip(np.stack([height - high[:, 1], height - low[:, 1] + 1]), 0, height).astype(int)
    cols = np.clip(np.stack([low[:, 0], high[:, 0] + 1]), 0, width).astype(int)
    return list(zip(*rows.tolist(), *cols.tolist(), strict=True))


def _paste(indices: np.ndarray, patch: np.ndarray, top: float, x: float, centred: bool) -> None:
    """Paste a word's indices with its top at row ``top``, centred on or starting at column
    ``x``: the words' entries come after every other, so the maximum is the word where it has ink."""
    h, w = patch.shape
    y0, x0 = int(round(top)), int(round(x - w / 2 if centred else x))
    ph, pw = indices.shape
    ya, xa, yb, xb = max(y0, 0), max(x0, 0), min(y0 + h, ph), min(x0 + w, pw)
    if ya < yb and xa < xb:
        region = indices[ya:yb, xa:xb]
        np.maximum(region, patch[ya - y0:yb - y0, xa - x0:xb - x0], out=region)
