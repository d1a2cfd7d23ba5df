"""What a trace found: the values (Problem, Row, SizeRange, TraceReport) and their text and HTML.

Nothing here imports torch: the values hold shapes as tuples of ints, and the module a row
belongs to only as an opaque reference for the explorers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..formatting import format_shape

if TYPE_CHECKING:
    from ..drawing.netpicture import NetPicture

__all__ = ["Problem", "Row", "Shape", "SizeRange", "TraceReport", "fmt_shape", "report_html"]

Shape = tuple[int, ...]


def fmt_shape(shape: Sequence[int] | None) -> str:
    """A traced shape as torch prints it, ``[1, 3, 32, 32]``, or a dash for no shape.

    >>> fmt_shape((1, 3, 32, 32)), fmt_shape(None)
    ('[1, 3, 32, 32]', '—')
    """
    return format_shape(shape, "list")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the model: a sentence, and the line of code that fixes it.

    ``step`` is the row's name, ``fix`` a line of Python (may be empty when there is no
    single-line fix), ``alternative`` an optional second way (e.g. ``nn.LazyLinear``).

    >>> p = Problem("fc", "fc (Linear) has in_features=10 but receives 20.", "nn.Linear(20, 5)")
    >>> print(p)
    fc (Linear) has in_features=10 but receives 20.
        nn.Linear(20, 5)
    """

    step: str
    message: str
    fix: str = ""
    alternative: str = ""

    def __str__(self) -> str:
        lines = [self.message]
        if self.fix:
            lines.append(f"    {self.fix}")
        if self.alternative:
            lines.append(f"    {self.alternative}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Row:
    """One step of the forward pass (a leaf module call, or a functional call in a forward).

    Attributes
    ----------
    index : position in execution order.
    name : qualified module name (``'conv_layer.17'``) or, for a functional call,
        the call with the module whose ``forward`` made it (``'layer1.0: x += y'``).
    op : the layer type (``'MaxPool2d'``) or the call (``'x.view(-1, 1024)'``).
    is_module : True for a module row.
    input_shapes : the shapes that arrived (the first tensor argument first).
    output_shape : the shape produced (None if the step failed).
    params : parameter count of the module row (its own parameters).
    explanation : ``convwidget.explain`` of a conv/pool step, else None.
    flatten : for a step that merges dimensions, the product spelled out
        (``'256 × 4 × 4 = 4096'``), else None.
    needed : for a layer whose setting disagrees with its input, the value needed,
        e.g. ``{'in_features': 4096}``.
    problem : the Problem found at this step, if any.
    source : index of the row that produced this step's (first) input, None for the
        model's input.
    """

    index: int
    name: str
    op: str
    is_module: bool
    input_shapes: tuple[Shape, ...]
    output_shape: Shape | None
    params: int = 0
    explanation: Any = None
    flatten: str | None = None
    flatten_dims: Shape | None = None
    flatten_start: int = 0
    needed: dict[str, int] = field(default_factory=dict)
    problem: Problem | None = None
    source: int | None = None
    module: Any = field(default=None, repr=False, compare=False)
    call: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """For a functional conv/pool row: its kind and settings in PyTorch's names."""

    @property
    def input_shape(self) -> Shape | None:
        """The first input's shape."""
        return self.input_shapes[0] if self.input_shapes else None

    @property
    def derivation(self) -> str:
        """One line of arithmetic for this row (conv/pool per-dimension formula, or the
        flatten product), '' when there is none."""
        if self.flatten:
            return self.flatten
        exp = self.explanation
        if exp is not None:
            try:
                texts = [d.text for d in exp.dims]
                if len(texts) > 1 and len(set(texts)) == 1:
                    return f"{texts[0]} (each of {len(texts)} dims)"
                return "; ".join(texts)
            except Exception:  # the core's Explanation changed shape: show nothing
                return ""
        return ""

    @property
    def needs(self) -> str:
        """``'needs in_features=4096'`` for a layer whose setting disagrees, else ''."""
        return ", ".join(f"needs {k}={v}" for k, v in self.needed.items())


@dataclass(frozen=True)
class SizeRange:
    """Input sizes along one dimension that give the same shape at the flatten step.

    ``low..high`` (inclusive) all give ``shape`` where the trace meets its first flatten
    (or, for a model with no flatten, at its output); ``smallest`` is the smallest size
    the layers accept at all (None if even ``size`` fails).

    >>> r = SizeRange(dim=3, size=32, low=32, high=39, shape=(1, 256, 4, 4), smallest=8)
    >>> print(r)  # doctest: +NORMALIZE_WHITESPACE
    input sizes 32..39 along dim 3 all give [1, 256, 4, 4] at the flatten step;
    the smallest size the layers accept is 8
    """

    dim: int
    size: int
    low: int
    high: int
    shape: Shape | None
    smallest: int | None
    at: str = "the flatten step"

    def __str__(self) -> str:
        return (f"input sizes {self.low}..{self.high} along dim {self.dim} all give "
                f"{fmt_shape(self.shape)} at {self.at}; the smallest size the layers accept is "
                f"{self.smallest}")


@dataclass(frozen=True)
class TraceReport:
    """The result of :func:`~convwidget.trace`: rows, problems, the in_features every Linear needs.

    ``str(report)`` is an aligned plain-text table; in Jupyter the report shows as an
    HTML table (``_repr_html_``) with the flatten step highlighted.
    """

    model_name: str
    input_shape: Shape
    rows: list[Row]
    output_shape: Shape | None
    linear_in_features: dict[str, int]
    problems: list[Problem]
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    total_params: int = 0
    _model: Any = field(default=None, repr=False, compare=False)
    _options: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the forward pass ran through and nothing disagreed."""
        return self.error is None and not self.problems

    @property
    def flatten_row(self) -> Row | None:
        """The first step that merges dimensions (``nn.Flatten``, ``torch.flatten``, ``view``)."""
        return next((r for r in self.rows if r.flatten), None)

    def input_size_range(self, dim: int = -1) -> SizeRange:
        """Input sizes along ``dim`` that give the same flatten shape; see
        :func:`~convwidget.input_size_range`."""
        from .search import input_size_range  # the search re-traces: it sits above the report

        return input_size_range(self._model, self.input_shape, dim=dim, **self._options)

    def plot(self, *, per_row: int | None = None, dpi: float = 100) -> NetPicture:
        """The net as a picture: the stack of feature maps, the flatten spelled out, problems
        in the error colour with their fix (see :class:`~convwidget.drawing.netpicture.NetPicture`;
        export with ``.to_png()``, ``.to_svg()``, ``.savefig(path)``; Jupyter shows it).

        >>> report = TraceReport("Net", (1, 3, 8, 8), [], (1, 3, 8, 8), {}, [])
        >>> report.plot().shape_labels
        ['[3, 8, 8]']
        """
        from ..drawing.netpicture import NetPicture  # Matplotlib only when a picture is asked for

        return NetPicture(self, per_row=per_row, dpi=dpi)

    def __repr__(self) -> str:
        n = len(self.problems)
        state = "ok" if self.ok else (f"{n} problem{'s' * (n != 1)}" if n else "the forward failed")
        return (f"<TraceReport {self.model_name} {fmt_shape(self.input_shape)} → "
                f"{fmt_shape(self.output_shape)}: {len(self.rows)} step{'s' * (len(self.rows) != 1)}, "
                f"{self.total_params:,} parameters, "
                f"{state}>")

    def __str__(self) -> str:
        return report_text(self)

    def _repr_html_(self) -> str:
        return report_html(self)


# ----------------------------------------------------------------------------- plain text

_HEAD = ("#", "step", "type", "input", "output", "params", "arithmetic")


def _text_cells(r: Row) -> list[str]:
    mark = "!" if r.problem else ("*" if r.flatten else " ")
    arith = r.derivation
    if r.needed:
        arith = f"{r.needs}; {arith}" if arith else r.needs
    return [f"{mark}{r.index}", r.name, r.op, " & ".join(fmt_shape(s) for s in r.input_shapes[:2]),
            fmt_shape(r.output_shape), f"{r.params:,}" if r.params else "", arith]


def _text_footer(report: TraceReport) -> list[str]:
    lines = [f"output {fmt_shape(report.output_shape)}; {report.total_params:,} parameters"]
    if report.linear_in_features:
        lines.append("Linear in_features needed: " + ", ".join(
            f"{k}={v}" for k, v in report.linear_in_features.items()))
    lines.extend(f"note: {note}" for note in report.notes)
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s):")
        for i, p in enumerate(report.problems, 1):
            lines.append(f"{i}. " + str(p).replace("\n", "\n   "))
    elif report.ok:
        lines.append("ok: every layer agrees with the shapes it receives")
    return lines


def report_text(report: TraceReport) -> str:
    """The report as an aligned plain-text table (``str(report)``; the command line prints it).

    >>> report = TraceReport("Net", (1, 4), [Row(0, "0", "Linear", True, ((1, 4),), (1, 2), 10)],
    ...                      (1, 2), {"0": 4}, [], total_params=10)
    >>> print(report_text(report))
    Net traced on input [1, 4] (meta device)
    #   step  type    input   output  params  arithmetic
     0  0     Linear  [1, 4]  [1, 2]  10
    output [1, 2]; 10 parameters
    Linear in_features needed: 0=4
    ok: every layer agrees with the shapes it receives
    """
    body = [_text_cells(r) for r in report.rows]
    widths = [max(len(c) for c in col) for col in zip(_HEAD, *body, strict=True)]
    lines = [f"{report.model_name} traced on input {fmt_shape(report.input_shape)} (meta device)"]
    for cells in [_HEAD, *body]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return "\n".join(lines + _text_footer(report))


# ----------------------------------------------------------------------------- HTML

# Tinted rows set their own text colour (>= 4.5:1 on the tint), and JupyterLab Dark
# (body[data-jp-theme-light="false"]) gets dark tints with light text: readable in both themes.
_DARK = 'body[data-jp-theme-light="false"]'
_CSS = f"""<style>
.cw-trace table{{border-collapse:collapse;font-family:monospace;font-size:12px}}
.cw-trace td,.cw-trace th{{border-bottom:1px solid var(--jp-border-color2,#ddd);padding:2px 8px;
text-align:left;white-space:nowrap}}
.cw-trace tr.cw-flatten td{{background:#fff3b0;color:#1a1a1a;font-weight:bold}}
.cw-trace tr.cw-linear td{{background:#dbeafe;color:#1a1a1a}}
.cw-trace tr.cw-problem:not(.cw-flatten):not(.cw-linear) td{{background:#fde2e2;color:#1a1a1a}}
.cw-trace tr.cw-problem td:first-child{{border-left:5px solid #c0392b;color:#a52a1c}}
.cw-trace tr.cw-selected td{{outline:2px solid var(--jp-ui-font-color2,#555)}}
.cw-trace .cw-problems pre{{background:var(--jp-layout-color2,#f6f6f6);color:var(--jp-ui-font-color1,#1a1a1a);
padding:4px;margin:2px 0 8px 0}}
{_DARK} .cw-trace tr.cw-flatten td{{background:#4a4413;color:#f7f7f7}}
{_DARK} .cw-trace tr.cw-linear td{{background:#1e3a5f;color:#f0f0f0}}
{_DARK} .cw-trace tr.cw-problem:not(.cw-flatten):not(.cw-linear) td{{background:#4a1f1f;color:#f0f0f0}}
{_DARK} .cw-trace tr.cw-problem td:first-child{{color:#ff9e8a}}
</style>"""

_LINEAR_OPS = ("Linear", "LazyLinear")


def _row_classes(r: Row, selected: int | None) -> str:
    classes = []
    if r.flatten:
        classes.append("cw-flatten")
    if r.needed or r.op in _LINEAR_OPS:
        classes.append("cw-linear")
    if r.problem:
        classes.append("cw-problem")
    if selected is not None and r.index == selected:
        classes.append("cw-selected")
    return " ".join(classes)


def _row_arithmetic_html(r: Row) -> str:
    arith = f"flatten: {html.escape(r.flatten)}" if r.flatten else html.escape(r.derivation)
    if r.needed:
        return f"<b>⚠ {html.escape(r.needs)}</b>" + (f"<br>{arith}" if arith else "")
    if r.op in _LINEAR_OPS and r.input_shape:
        return f"in_features {r.input_shape[-1]}" + (f"<br>{arith}" if arith else "")
    return arith


def _row_html(r: Row, selected: int | None) -> str:
    e = html.escape
    mark = "⚠" if r.problem else ""
    return (f'<tr class="{_row_classes(r, selected)}"><td>{mark}{r.index}</td>'
            f"<td>{e(r.name)}</td><td>{e(r.op)}</td>"
            f"<td>{e(' & '.join(fmt_shape(s) for s in r.input_shapes[:2]))}</td>"
            f"<td>{e(fmt_shape(r.output_shape))}</td><td>{f'{r.params:,}' if r.params else '—'}</td>"
            f"<td>{_row_arithmetic_html(r)}</td></tr>")


def _footer_html(report: TraceReport) -> list[str]:
    e = html.escape
    out = []
    if report.linear_in_features:
        items = ", ".join(f"<code>{e(k)}</code>: <b>{v}</b>"
                          for k, v in report.linear_in_features.items())
        out.append(f'<div class="cw-answer">Linear in_features needed: {items}</div>')
    out.extend(f"<div>note: {e(note)}</div>" for note in report.notes)
    if report.problems:
        out.append('<div class="cw-problems"><b>⚠ problems</b><ol>')
        for p in report.problems:
            code = "\n".join(x for x in (p.fix, p.alternative) if x)
            out.append(f"<li>{e(p.message)}" + (f"<pre>{e(code)}</pre>" if code else "") + "</li>")
        out.append("</ol></div>")
    elif report.ok:
        out.append("<div>✓ every layer agrees with the shapes it receives</div>")
    return out


def report_html(report: TraceReport, *, selected: int | None = None) -> str:
    """The report as an HTML table (used by ``_repr_html_`` and by ModelExplorer).

    ``selected`` outlines the row with that index.

    >>> report = TraceReport("Net", (1, 4), [], (1, 4), {}, [])
    >>> "✓ every layer agrees" in report_html(report)
    True
    """
    e = html.escape
    out = [_CSS, '<div class="cw-trace">',
           f"<div><b>{e(report.model_name)}</b> on input {e(fmt_shape(report.input_shape))}"
           f" → {e(fmt_shape(report.output_shape))}, {report.total_params:,} parameters</div>",
           "<table><thead><tr><th>#</th><th>step</th><th>type</th><th>input</th><th>output</th>"
           "<th>params</th><th>arithmetic</th></tr></thead><tbody>"]
    out.extend(_row_html(r, selected) for r in report.rows)
    out.append("</tbody></table>")
    out.extend(_footer_html(report))
    out.append("</div>")
    return "".join(out)
