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
once; :meth:`NetPicture.update` moves them in place after a size change.

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

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure

from .raster import encode_png, line_mask, rgb

if TYPE_CHECKING:
    from matplotlib.text import Text

    from ..tracer.report import Problem, Row, TraceReport

__all__ = ["COLORS", "THEMES", "NetPicture", "Step", "TEXT_COLORS", "THEME_COLORS", "contrast", "steps_of"]

#: The pages a picture is drawn for (:meth:`NetPicture.to_png`).
THEMES = ("light", "dark")

#: Okabe–Ito box colours by kind of step (colour-blind safe); text is never drawn on them.
COLORS: dict[str, str] = {
    "input": "#56b4e9",  # sky blue
    "conv": "#0072b2",  # blue
    "pool": "#009e73",  # bluish green
    "flatten": "#f0e442",  # yellow
    "linear": "#e69f00",  # orange
    "other": "#cc79a7",  # reddish purple
    "error": "#d55e00",  # vermilion
}
#: Text colours on the white page, each >= 4.5:1 (see :func:`contrast`).
TEXT_COLORS: dict[str, str] = {"text": "#1a1a1a", "name": "#555555", "error": "#a33b00",
                               "flatten": "#1a1a1a"}
_PAGE = "#ffffff"
#: Page, ink and line colours of each theme (box colours, :data:`COLORS`, are the same in both).
#: Dark is JupyterLab Dark's page (``--jp-layout-color0``); every ink >= 4.5:1 on its page.
THEME_COLORS: dict[str, dict[str, str]] = {
    "light": {**TEXT_COLORS, "page": _PAGE, "band": "#fbf5b9", "edge": "#1a1a1a", "arrow": "#555555"},
    "dark": {"text": "#e8e8e8", "name": "#b8b8b8", "error": "#ff9e66", "flatten": "#f7f7f7",
             "page": "#111111", "band": "#4a4413", "edge": "#111111", "arrow": "#a8a8a8"},
}
_CELL_IN = 1.3  # inches per step along a row
_MIN_COLUMNS = 7
_ROOM_STEP = 0.25  # data units: the height reserved for boxes grows in these steps
_INDENT = "\u00a0" * 6  # no-break spaces: the pasted words keep the footer's indent
_LINE_UNITS = 0.13  # one line of label text under a box
_FLATTEN_BAND = "#fbf5b9"  # pale yellow behind the flatten's product (text on it: 17:1)

_PASS_THROUGH = re.compile(r"relu|elu|gelu|silu|sigmoid|tanh|softmax|swish|mish|norm|dropout|identity|"
                           r"add|mul|\+=|\+ |hardtanh|prelu|contiguous|clone", re.IGNORECASE)
_SHORT = (("BatchNorm", "BN"), ("InstanceNorm", "IN"), ("GroupNorm", "GN"), ("LayerNorm", "LN"),
          ("Dropout", "Drop"), ("Tensor.add_", "skip"), ("Tensor.add", "skip"), ("LeakyReLU", "LReLU"),
          ("adaptive_avg_pool", "AdaptiveAvgPool"), ("adaptive_max_pool", "AdaptiveMaxPool"),
          ("max_pool", "MaxPool"), ("avg_pool", "AvgPool"), ("relu", "ReLU"), ("dropout", "Drop"),
          ("AdaptiveAvgPool", "AdaptAvgPool"), ("AdaptiveMaxPool", "AdaptMaxPool"))


@dataclass(frozen=True)
class Step:
    """One box: the rows it stands for, the map's shape without the batch, its kind.

    ``op`` is the box's title (``'Conv2d+BN+ReLU'``), ``flatten`` the spelled-out flatten
    (``'256 × 4 × 4 → 4096'``) or '', ``fix`` the first line of a problem's fix or ''.
    """

    name: str
    op: str
    dims: tuple[int, ...]
    kind: str
    flatten: str = ""
    fix: str = ""
    message: str = ""
    failed: bool = False
    """The step raised: ``dims`` is what it received, and there is no output."""

    @property
    def label(self) -> str:
        """``'[C, H, W]'``: the shape without the batch (``'no output'`` for a failed step)."""
        return "no output" if self.failed else "[" + ", ".join(str(d) for d in self.dims) + "]"


def _short(op: str) -> str:
    op = re.sub(r"\d[dD]$", "", op.removeprefix("F.").removeprefix("torch."))
    for long, short in _SHORT:
        if op.startswith(long) or op.endswith(long):
            op = op.replace(long, short)
    return op


def _clip(text: str, most: int, from_end: bool = True) -> str:
    """``text`` cut to ``most`` characters with an ellipsis: a call keeps its start, a dotted
    module name its end (``'…layer4.0.downsample.0'``)."""
    if len(text) <= most:
        return text
    return text[:most - 1] + "…" if from_end else "…" + text[1 - most:]


def _kind(row: Row) -> str:
    op = row.op.lower()
    if row.problem is not None or row.output_shape is None:
        return "error"
    if row.flatten:
        return "flatten"
    if "linear" in op:
        return "linear"
    if "conv" in op:
        return "conv"
    return "pool" if "pool" in op else "other"


def _merges(row: Row, previous: Step | None) -> bool:
    """A shape-keeping activation/norm/dropout (or functional add) joins the box before it."""
    if previous is None or row.problem is not None or row.flatten or row.output_shape is None:
        return False
    keeps = row.input_shape == row.output_shape and tuple(row.output_shape[1:]) == previous.dims
    return keeps and bool(_PASS_THROUGH.search(row.op) or not row.is_module)


def _flatten_text(row: Row) -> str:
    dims = row.flatten_dims or ()
    out = row.output_shape[-1] if row.output_shape else math.prod(dims)
    return " × ".join(str(d) for d in dims) + f" → {out}"


def _fix_line(problem: Problem | None) -> tuple[str, str]:
    if problem is None:
        return "", ""
    fix = problem.fix.split("  #")[0].strip() or problem.alternative.strip()
    return fix or "see the problem below", problem.message


def _step(row: Row) -> Step:
    dims = tuple(row.output_shape[1:]) if row.output_shape else tuple(row.input_shape or ())[1:]
    fix, message = _fix_line(row.problem)
    op = "flatten" if row.flatten else _short(row.op)
    return Step(row.name, op, dims, _kind(row), _flatten_text(row) if row.flatten else "", fix, message,
                failed=row.output_shape is None)


def steps_of(report: TraceReport) -> list[Step]:
    """The boxes of ``report``: its input, then one per step, shape-keeping steps merged.

    >>> from convwidget.tracer.report import Row, TraceReport
    >>> rows = [Row(0, "c", "Conv2d", True, ((1, 1, 5, 5),), (1, 2, 3, 3)),
    ...         Row(1, "b", "BatchNorm2d", True, ((1, 2, 3, 3),), (1, 2, 3, 3)),
    ...         Row(2, "r", "ReLU", True, ((1, 2, 3, 3),), (1, 2, 3, 3))]
    >>> [(s.op, s.label) for s in steps_of(TraceReport("N", (1, 1, 5, 5), rows, (1, 2, 3, 3), {}, []))]
    [('input', '[1, 5, 5]'), ('Conv+BN+ReLU', '[2, 3, 3]')]
    """
    steps = [Step("input", "input", tuple(report.input_shape[1:]), "input")]
    for row in report.rows:
        if _merges(row, steps[-1]):
            last = steps[-1]
            op = last.op if last.kind == "input" else f"{last.op}+{_short(row.op)}"
            steps[-1] = Step(last.name, op, last.dims, last.kind, last.flatten, last.fix, last.message)
        else:
            steps.append(_step(row))
    drawn = {s.name for s in steps}
    for problem in report.problems:  # a step that raised has no row: its box ends the picture
        if problem.step not in drawn:
            fix, message = _fix_line(problem)
            steps.append(Step(problem.step, "fails here", steps[-1].dims, "error", "", fix, message, True))
    return steps


# ----------------------------------------------------------------------------- geometry


def _size(n: int) -> float:
    """Data units for a side of ``n`` cells: log scale, so 224 and 7 both read."""
    return 0.08 + 0.13 * math.log2(max(n, 1))


def _box(step: Step) -> tuple[float, float, float]:
    """(thickness by channels, height, oblique depth) of a step's box."""
    dims = step.dims
    if len(dims) <= 1:  # a vector: a thin bar as tall as its length
        return 0.05, _size(dims[0] if dims else 1) * 0.8, 0.0
    channels = dims[0]
    thick = 0.04 + 0.035 * math.log2(channels + 1)
    # the oblique depth is capped so that a box stays inside its column (8000 samples, say)
    if len(dims) == 2:  # a 1-D map: a flat strip as long as its length
        return thick, 0.12, min(_size(dims[1]) * 0.45, (0.85 - thick) / 0.75)
    return thick, _size(dims[-2]), min(_size(dims[-1]) * 0.5, (0.85 - thick) / 0.75)


def _shade(color: str, amount: float) -> str:
    """Mix ``color`` with white (amount > 0) or black (amount < 0)."""
    r, g, b = to_rgb(color)
    target = 1.0 if amount > 0 else 0.0
    a = abs(amount)
    return to_hex((r + (target - r) * a, g + (target - g) * a, b + (target - b) * a))


def _cuboid(x: float, yc: float, thick: float, height: float, depth: float) -> list[np.ndarray]:
    """Front, top and side faces of a box whose front's left edge is at x, centred on yc."""
    dx, dy = depth * 0.75, depth * 0.55
    y0, y1 = yc - height / 2, yc + height / 2
    front = np.array([(x, y0), (x + thick, y0), (x + thick, y1), (x, y1)])
    top = np.array([(x, y1), (x + thick, y1), (x + thick + dx, y1 + dy), (x + dx, y1 + dy)])
    side = np.array([(x + thick, y0), (x + thick + dx, y0 + dy), (x + thick + dx, y1 + dy), (x + thick, y1)])
    return [front, top, side]


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two colours.

    >>> round(contrast("#000000", "#ffffff"), 1)
    21.0
    """
    def lum(c: str) -> float:
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in to_rgb(c)]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class _Layout:
    per_row: int
    rows: int
    lane: float  # data units per row of boxes
    box_room: float


def _per_row(n: int, per_row: int | None) -> int:
    """Boxes per row: as asked, else rows of at most 8 (10 for big nets), balanced."""
    if per_row is not None:
        return per_row
    most = 10 if n > 30 else 8
    return math.ceil(n / math.ceil(n / most))


def _layout(steps: Sequence[Step], per_row: int) -> _Layout:
    rows = max(1, math.ceil(len(steps) / per_row))
    needed = max(_box(s)[1] + _box(s)[2] * 0.55 for s in steps) + 0.16
    # in steps of _ROOM_STEP: a size slider rarely moves the rows, and the picture is a function
    # of the report alone (back at a size, the same bytes)
    box_room = math.ceil(needed / _ROOM_STEP - 1e-9) * _ROOM_STEP
    lines = 5 if any(s.fix for s in steps) else 4
    return _Layout(per_row, rows, box_room + (lines + 0.6) * _LINE_UNITS, box_room)


def _title(report: TraceReport) -> str:
    def dims(shape: Sequence[int] | None) -> str:
        return "[" + ", ".join(str(d) for d in shape[1:]) + "]" if shape else "(failed)"

    batch = report.input_shape[0] if report.input_shape else 1
    problems = len(report.problems)
    verdict = ("every layer agrees" if report.ok
               else f"{problems} problem{'s' * (problems != 1)} (vermilion, ⚠)")
    return (f"{report.model_name}: {dims(report.input_shape)} → {dims(report.output_shape)}; {verdict}\n"
            f"shapes without the batch ({batch}); activation, norm and dropout steps merged into the "
            f"box before them\nblue: convolution · green: pooling · yellow: flatten · orange: Linear · "
            f"sky blue: input")


# ----------------------------------------------------------------------------- the figure

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
        self.figure = Figure(dpi=dpi, facecolor=_PAGE)
        FigureCanvasAgg(self.figure)
        self.steps: list[Step] = []
        self._theme = "light"
        self._built_for: tuple[int, int] | None = None
        self.update(report)

    # ------------------------------------------------------------------ building and updating

    def update(self, report: TraceReport) -> None:
        """Redraw for a new report (e.g. after the input size changed): artists are moved and
        re-labelled in place when the number of boxes is unchanged, rebuilt otherwise."""
        self.report = report
        self.steps = steps_of(report)
        per_row = _per_row(len(self.steps), self._per_row_arg)
        chars = int(max(per_row, _MIN_COLUMNS) * _CELL_IN * 72 / 5.0)  # ~5 pt a character
        footer = self._footer_lines(report, chars)
        if self._built_for != (len(self.steps), per_row):
            self._build(len(self.steps))
            self._built_for = (len(self.steps), per_row)
        self._lay = _layout(self.steps, per_row)
        self._place(self._lay, report, footer)

    def _set_theme(self, theme: str) -> None:
        """Recolour the page, lines and words for ``theme`` (the boxes keep their colours)."""
        if theme == self._theme:
            return
        self._theme = theme
        c = THEME_COLORS[theme]
        self.figure.set_facecolor(c["page"])
        self._arrows.set_color(c["arrow"])
        self._heads.set_color(c["arrow"])
        for key, _, color in _LINES:
            for text in self._texts[key]:
                text.set_color(c[color])
        self._title.set_color(c["text"])
        self._footer.set_color(c["error"])
        self._place_steps(self._lay)

    def _build(self, n: int) -> None:
        fig = self.figure
        fig.clear()
        self._frame: tuple[float, ...] = ()
        self._ax = ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        c = THEME_COLORS[self._theme]
        self._faces = PolyCollection([], linewidths=0.6, edgecolors=c["edge"])
        self._arrows = LineCollection([], colors=c["arrow"], linewidths=1.0)
        ax.add_collection(self._faces)
        ax.add_collection(self._arrows)
        (self._heads,) = ax.plot([], [], ">", color=c["arrow"], markersize=4, linestyle="none")
        # hidden: draw() pastes cached masks instead (see there); savefig shows them
        self._texts = {key: [ax.text(0, 0, "", fontsize=size, color=c[color], ha="center",
                                     va="top", clip_on=False, visible=False) for _ in range(n)]
                       for key, size, color in _LINES}
        self._title = fig.text(0.01, 0.99, "", fontsize=9, color=c["text"], va="top",
                               linespacing=1.3, visible=False)
        self._footer = fig.text(0.01, 0.01, "", fontsize=8, color=c["error"], va="bottom",
                                linespacing=1.3, visible=False)

    @staticmethod
    def _footer_lines(report: TraceReport, width: int) -> list[str]:
        import textwrap

        lines: list[str] = []
        for i, p in enumerate(report.problems, 1):
            lines += textwrap.wrap(f"⚠ {i}. {p.message}", width, subsequent_indent=_INDENT)
            if p.fix:
                lines.append(f"{_INDENT}fix: {p.fix}")
        return lines

    def _place(self, lay: _Layout, report: TraceReport, footer: list[str]) -> None:
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
        self._title.set_text(_title(report))
        self._footer.set_text("\n".join(footer))
        self._place_steps(lay)

    def _place_steps(self, lay: _Layout) -> None:
        c = THEME_COLORS[self._theme]
        polys: list[np.ndarray] = []
        bands: list[np.ndarray] = []
        faces: list[str] = []
        edges: list[str] = []
        widths: list[float] = []
        ends: list[tuple[float, float, float, int]] = []  # right edge, left edge, centre y, row
        for i, step in enumerate(self.steps):
            row, col = divmod(i, lay.per_row)
            thick, height, depth = _box(step)
            width = thick + depth * 0.75
            x = col + 0.5 - width / 2
            top = -row * lay.lane
            yc = top - lay.box_room / 2 - depth * 0.55 / 2
            polys += _cuboid(x, yc, thick, height, depth)
            base = COLORS[step.kind]
            faces += [base, _shade(base, 0.45), _shade(base, -0.25)]
            error = step.kind == "error"  # told by a thick dark outline too, not by colour alone
            edges += [c["error"] if error else c["edge"]] * 3
            widths += [2.0 if error else 0.6] * 3
            ends.append((x + width, x, yc, row))
            label_top = top - lay.box_room
            self._label(i, step, col + 0.5, label_top)
            if step.flatten:  # a band behind the product, so the answer to "why 4096?" stands out
                y0, y1 = label_top - 4 * _LINE_UNITS + 0.005, label_top - 3 * _LINE_UNITS + 0.01
                x0, x1 = col + 0.02, col + 0.98
                bands.append(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
        # the bands after the boxes: polygon 3 * i is the front of box i
        self._faces.set_verts(polys + bands)
        faces += [c["band"]] * len(bands)
        edges += [c["band"]] * len(bands)
        widths += [0.0] * len(bands)
        self._faces.set_facecolor(faces)
        self._faces.set_edgecolor(edges)
        self._faces.set_linewidth(widths)
        self._place_arrows(ends)

    def _label(self, i: int, step: Step, x: float, y: float) -> None:
        values = {"name": _clip(step.name, 22, from_end="(" in step.name), "op": _clip(step.op, 22),
                  "shape": step.label, "flatten": step.flatten, "fix": f"⚠ {step.fix}" if step.fix else ""}
        for k, (key, _, _) in enumerate(_LINES):
            text = self._texts[key][i]
            text.set_text(values[key])
            text.set_position((x, y - k * _LINE_UNITS))

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
        self._arrows.set_segments(segments)
        self._heads.set_data(heads_x, heads_y)

    # ------------------------------------------------------------------ reading it back

    @property
    def shape_labels(self) -> list[str]:
        """The ``[C, H, W]`` labels drawn, one per box, in order."""
        return [t.get_text() for t in self._texts["shape"]]

    @property
    def flatten_text(self) -> str:
        """The first flatten drawn (``'256 × 4 × 4 → 4096'``), or ''."""
        return next((s.flatten for s in self.steps if s.flatten), "")

    @property
    def texts(self) -> list[str]:
        """Every text drawn (title, labels, fixes, footer), for searching."""
        out = [self._title.get_text(), self._footer.get_text()]
        for key, _, _ in _LINES:
            out += [t.get_text() for t in self._texts[key]]
        return [t for t in out if t]

    # ------------------------------------------------------------------ export

    def draw(self) -> np.ndarray:
        """Render; the RGBA pixels, ``(height, width, 4)`` uint8 (the canvas's own buffer:
        valid until the next draw; copy it to keep it).

        Agg draws the boxes and arrows; the words are pasted from cached FreeType masks
        (:mod:`~convwidget.drawing.raster`), because a ``Text`` artist costs ~3 ms each on
        Agg and ResNet-50 has 240 of them. :meth:`savefig` and :meth:`to_svg` use the
        artists themselves.
        """
        canvas = self.figure.canvas
        canvas.draw()  # the Text artists are hidden: Agg draws boxes and arrows only
        pixels = np.asarray(canvas.buffer_rgba())  # type: ignore[attr-defined]
        for t in self._all_texts():
            if t.get_text():
                _paste_text(pixels, t, self.figure.dpi, THEME_COLORS[self._theme]["page"])
        return pixels

    def _all_texts(self) -> list[Text]:
        return [self._title, self._footer, *(t for texts in self._texts.values() for t in texts)]

    def to_png(self, level: int = 1, theme: str = "light") -> bytes:
        """The picture as PNG bytes (zlib level ``level``), for a light or a dark page.

        ``theme="dark"`` draws on JupyterLab Dark's page with light ink (:data:`THEME_COLORS`);
        the boxes keep their Okabe–Ito colours, so the legend holds in both.
        """
        if theme not in THEMES:
            raise ValueError(f"theme={theme!r}: choose one of {', '.join(map(repr, THEMES))}")
        self._set_theme(theme)
        return encode_png(self.draw(), level)

    def to_svg(self) -> str:
        """The picture as SVG text (words kept as text, so they can be searched and copied)."""
        buffer = BytesIO()
        self.savefig(buffer, format="svg")
        return buffer.getvalue().decode("utf-8")

    def savefig(self, path: str | PathLike[str] | BytesIO, **kwargs: Any) -> None:
        """Save to ``path``; the format follows the suffix (``.png``, ``.svg``, ``.pdf``) or
        ``format=``. Keyword arguments go to :meth:`matplotlib.figure.Figure.savefig`."""
        kwargs.setdefault("facecolor", THEME_COLORS[self._theme]["page"])
        texts = self._all_texts()
        for t in texts:
            t.set_visible(True)
        try:
            with rc_context({"svg.fonttype": "none"}):
                self.figure.savefig(path, **kwargs)
        finally:
            for t in texts:
                t.set_visible(False)

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def __repr__(self) -> str:
        return (f"<NetPicture of {self.report.model_name}: {len(self.steps)} boxes, "
                f"flatten {self.flatten_text or 'none'}>")


@functools.lru_cache(maxsize=4096)
def _ink(text: str, size: float, dpi: float, color: str, page: str = _PAGE) -> np.ndarray:
    """A label as an RGB patch of ``color`` ink on ``page``, cached (built from raster's cached words)."""
    mask = line_mask(text, size, dpi).astype(np.int32)[..., None]
    ink, paper = rgb(color).astype(np.int32), rgb(page).astype(np.int32)
    patch = (paper * 255 + mask * (ink - paper) + 127) // 255
    return patch.astype(np.uint8)


def _paste_text(pixels: np.ndarray, text: Text, dpi: float, page: str = _PAGE) -> None:
    """Paste a Text artist's lines where Agg would have drawn them. Dark ink on a light page:
    the darker of page and patch is the blend (light ink on a dark page: the lighter), exact on
    the page and close on the flatten band, and one numpy call a label (the labels of ResNet-50
    take ~3 ms, not ~30)."""
    x, y = text.get_transform().transform(text.get_position())
    lines = text.get_text().split("\n")
    size = float(text.get_fontsize())
    color = to_hex(text.get_color())
    patches = [_ink(line, size, dpi, color, page) for line in lines]
    blend = np.minimum if rgb(page).sum() > 3 * 127 else np.maximum
    step = size * dpi / 72 * 1.3  # the title's and footer's linespacing
    top = pixels.shape[0] - y  # array rows grow downwards
    if text.get_verticalalignment() == "bottom":
        top -= step * len(lines)
    centred = text.get_horizontalalignment() == "center"
    ph, pw = pixels.shape[:2]
    for k, patch in enumerate(patches):
        h, w = patch.shape[:2]
        y0, x0 = int(round(top + k * step)), int(round(x - w / 2 if centred else x))
        ya, xa, yb, xb = max(y0, 0), max(x0, 0), min(y0 + h, ph), min(x0 + w, pw)
        if ya < yb and xa < xb:
            region = pixels[ya:yb, xa:xb, :3]
            blend(region, patch[ya - y0:yb - y0, xa - x0:xb - x0], out=region)
