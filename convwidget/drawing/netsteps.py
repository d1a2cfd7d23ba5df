"""The net picture's content: one box per step of a trace, its size, and where it goes.

Standard library and numpy only: which rows become boxes (shape-keeping activation, norm and
dropout steps merge into the box before them), the words under each box, a box's size in data
units (log scale, so 224 and 7 both read), its three faces, and the rows the boxes wrap into.
:mod:`~convwidget.drawing.netpicture` draws them.

>>> from convwidget.tracer.report import Row, TraceReport
>>> rows = [Row(0, "c", "Conv2d", True, ((1, 1, 5, 5),), (1, 2, 3, 3))]
>>> [s.label for s in steps_of(TraceReport("N", (1, 1, 5, 5), rows, (1, 2, 3, 3), {}, []))]
['[1, 5, 5]', '[2, 3, 3]']
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..tracer.report import Problem, Row, TraceReport

__all__ = ["LINE_UNITS", "Layout", "Step", "box_size", "boxes_per_row", "clip", "cuboid", "layout_of",
           "steps_of", "title_of"]

ROOM_STEP = 0.25  # data units: the height reserved for boxes grows in these steps
LINE_UNITS = 0.13  # one line of label text under a box

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


@functools.lru_cache(maxsize=1024)
def _short(op: str) -> str:
    op = re.sub(r"\d[dD]$", "", op.removeprefix("F.").removeprefix("torch."))
    for long, short in _SHORT:
        if op.startswith(long) or op.endswith(long):
            op = op.replace(long, short)
    return op


def clip(text: str, most: int, from_end: bool = True) -> str:
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


def box_size(step: Step) -> tuple[float, float, float]:
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



# ----------------------------------------------------------------------------- geometry


def cuboid(x: float, yc: float, thick: float, height: float, depth: float) -> list[np.ndarray]:
    """Front, top and side faces of a box whose front's left edge is at x, centred on yc."""
    dx, dy = depth * 0.75, depth * 0.55
    y0, y1 = yc - height / 2, yc + height / 2
    front = np.array([(x, y0), (x + thick, y0), (x + thick, y1), (x, y1)])
    top = np.array([(x, y1), (x + thick, y1), (x + thick + dx, y1 + dy), (x + dx, y1 + dy)])
    side = np.array([(x + thick, y0), (x + thick + dx, y0 + dy), (x + thick + dx, y1 + dy), (x + thick, y1)])
    return [front, top, side]


@dataclass(frozen=True)
class Layout:
    """Where the boxes go: ``per_row`` columns, ``rows`` rows of ``lane`` data units each, the
    top ``box_room`` of a lane for the boxes, the rest for their words."""

    per_row: int
    rows: int
    lane: float  # data units per row of boxes
    box_room: float


def boxes_per_row(n: int, per_row: int | None) -> int:
    """Boxes per row: as asked, else rows of at most 8 (10 for big nets), balanced."""
    if per_row is not None:
        return per_row
    most = 10 if n > 30 else 8
    return math.ceil(n / math.ceil(n / most))


def layout_of(steps: Sequence[Step], per_row: int) -> Layout:
    """The rows for ``steps``, room for the tallest box, and a line for a fix if one has any."""
    rows = max(1, math.ceil(len(steps) / per_row))
    needed = max(box_size(s)[1] + box_size(s)[2] * 0.55 for s in steps) + 0.16
    # in steps of ROOM_STEP: a size slider rarely moves the rows, and the picture is a function
    # of the report alone (back at a size, the same bytes)
    box_room = math.ceil(needed / ROOM_STEP - 1e-9) * ROOM_STEP
    lines = 5 if any(s.fix for s in steps) else 4
    return Layout(per_row, rows, box_room + (lines + 0.6) * LINE_UNITS, box_room)


def title_of(report: TraceReport) -> str:
    """The picture's three title lines: input -> output and the verdict, what is merged, the legend."""
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


