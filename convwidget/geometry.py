"""Which input cells each output cell reads: the data every picture is drawn from.

Standard library only (part of the core). Sizes come from :mod:`convwidget.arithmetic`;
this module adds *where* each window sits.

Coordinates
-----------
Every dimension has a *grid*: the cells a picture draws. A grid coordinate is an input
index for convolution and pooling (padding cells are negative or ``>= size``), and an index
into the *stretched* input for transposed convolution (input cell ``i`` sits at ``i *
stride``, the ``stride - 1`` cells between are inserted zeros, and the implicit padding
``dilation * (kernel_size - 1) - padding`` is negative or past the end). A transposed
convolution is drawn as the direct convolution it equals (Dumoulin & Visin, "A guide to
convolution arithmetic for deep learning"): stride 1 over the stretched, padded input.

>>> g = layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1)
>>> g.output_size, g.n_steps
((3, 3), 9)
>>> w = g.window(1)
>>> w.out_cell, w.taps[:3]
((0, 1), ((-1, 1), (-1, 2), (-1, 3)))
>>> g.cell_role((-1, 1)), g.cell_role((0, 1))
('padding', 'input')
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .arithmetic import (
    as_tuple,
    check_bool,
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    same_padding,
)
from .errors import ShapeError

__all__ = [
    "KINDS", "ROLES", "DimGeometry", "Geometry", "Window", "combine_roles", "layer_geometry", "unread_cells",
    "unread_indices", "unread_reason",
]

KINDS: tuple[str, ...] = ("conv", "conv_transpose", "max_pool", "avg_pool")

#: What a grid cell is. ``input``: a real input cell. ``padding``: zero padding (for max
#: pooling: ignored, PyTorch pads with -inf). ``zero``: a zero inserted between input cells
#: by a transposed convolution's stride. ``output_padding``: the extra implicit padding
#: ``output_padding`` adds on the bottom/right of a transposed convolution. ``overhang``:
#: beyond the padded input, reached only by a ``ceil_mode`` pooling window (PyTorch clips
#: the window there). ``cropped``: a stretched cell cut off because ``padding`` exceeds
#: ``dilation * (kernel_size - 1)`` (transposed convolution only).
ROLES: tuple[str, ...] = ("input", "padding", "zero", "output_padding", "overhang", "cropped")

Cell = tuple[int, ...]
IntOrTuple = int | Sequence[int]
Padding = int | str | Sequence[int]


@dataclass(frozen=True)
class DimGeometry:
    """One spatial dimension of a layer's sliding window.

    Attributes
    ----------
    kind, size, kernel_size, stride, dilation, output_padding, ceil_mode
        The settings, PyTorch's names (``size`` is the input size).
    padding
        ``(left, right)`` padding as the user gave it (``'same'`` resolved).
    output
        PyTorch's output size in this dimension.
    grid_start, grid_stop
        The grid coordinates drawn, ``range(grid_start, grid_stop)``.
    first_tap
        Grid coordinate of the first tap of window 0.
    window_stride
        How far the window moves per output cell, in grid cells (1 for transposed).
    stretch
        Grid distance between neighbouring input cells (``stride`` for transposed, else 1).
    dropped
        Index of the window a ``ceil_mode`` pool drops because it would start in the
        right padding, or None.

    >>> d = layer_geometry("max_pool", (5,), kernel_size=2, stride=2, ceil_mode=True).dims[0]
    >>> d.output, d.taps(2), d.role(5)
    (3, (4, 5), 'overhang')
    """

    kind: str
    size: int
    kernel_size: int
    stride: int
    dilation: int
    padding: tuple[int, int]
    output_padding: int
    ceil_mode: bool
    output: int
    grid_start: int
    grid_stop: int
    first_tap: int
    window_stride: int
    stretch: int
    dropped: int | None

    @property
    def effective_kernel(self) -> int:
        """Cells the window spans: ``dilation * (kernel_size - 1) + 1``."""
        return self.dilation * (self.kernel_size - 1) + 1

    @property
    def implicit_padding(self) -> tuple[int, int]:
        """Padding of the grid the window slides over, ``(left, right)``.

        For a transposed convolution: ``dilation * (kernel_size - 1) - padding`` on each side
        plus ``output_padding`` on the right (negative means cells are cropped). Otherwise the
        padding itself.
        """
        if self.kind == "conv_transpose":
            p = self.dilation * (self.kernel_size - 1) - self.padding[0]
            return (p, p + self.output_padding)
        return self.padding

    @property
    def n_windows(self) -> int:
        """Output cells plus the window PyTorch drops (if any)."""
        return self.output + (self.dropped is not None)

    @property
    def grid_size(self) -> int:
        return self.grid_stop - self.grid_start

    @property
    def input_stop(self) -> int:
        """One past the grid coordinate of the last input cell."""
        return (self.size - 1) * self.stretch + 1

    def taps(self, index: int) -> tuple[int, ...]:
        """Grid coordinates read by output index ``index`` (the kernel taps, holes skipped)."""
        start = self.first_tap + index * self.window_stride
        return tuple(start + j * self.dilation for j in range(self.kernel_size))

    def role(self, coord: int) -> str:
        """What grid cell ``coord`` is: one of :data:`ROLES`."""
        if self.kind == "conv_transpose":
            left, right = self.implicit_padding
            if coord < -left or coord >= self.input_stop + right:
                return "cropped"
            if 0 <= coord < self.input_stop:
                return "input" if coord % self.stretch == 0 else "zero"
            if coord < 0 or coord < self.input_stop + max(left, 0):
                return "padding"
            return "output_padding"
        if 0 <= coord < self.size:
            return "input"
        if -self.padding[0] <= coord < self.size + self.padding[1]:
            return "padding"
        return "overhang"

    @property
    def roles(self) -> tuple[str, ...]:
        """:meth:`role` of every drawn grid cell, ``grid_start`` first."""
        return tuple(self.role(c) for c in range(self.grid_start, self.grid_stop))

    def input_index(self, coord: int) -> int | None:
        """The input index at grid coordinate ``coord``, or None if it is not an input cell."""
        if self.role(coord) != "input":
            return None
        return coord // self.stretch

    def overhangs(self, index: int) -> bool:
        """True if window ``index`` reaches past the padded input (``ceil_mode`` only)."""
        return any(self.role(c) == "overhang" for c in self.taps(index))


_PRIORITY = {"cropped": 0, "overhang": 1, "output_padding": 2, "padding": 3, "zero": 4}


def combine_roles(roles: Sequence[str]) -> str:
    """The role of a cell from the roles of its coordinates, one per dimension.

    >>> combine_roles(("input", "padding")), combine_roles(("zero", "overhang"))
    ('padding', 'overhang')
    """
    if all(r == "input" for r in roles):
        return "input"
    return min((r for r in roles if r != "input"), key=_PRIORITY.__getitem__)


@dataclass(frozen=True)
class Window:
    """One position of the sliding window.

    Attributes
    ----------
    step
        Row-major index of the output cell, or None for a window PyTorch drops.
    out_cell
        The output cell (for a dropped window: the index it would have had).
    taps
        Grid cells the kernel taps read, row-major, including padding, inserted zeros and
        overhang (dilation holes are not taps).
    inputs
        The real input cells among the taps, as input indices.
    dropped
        True for a ``ceil_mode`` window PyTorch drops (it would start in the right padding).
    overhang
        True if the window reaches past the padded input (``ceil_mode``; PyTorch clips it).
    """

    step: int | None
    out_cell: Cell
    taps: tuple[Cell, ...]
    inputs: tuple[Cell, ...]
    dropped: bool = False
    overhang: bool = False

    @property
    def start(self) -> Cell:
        """Grid cell of the window's first (top-left) tap."""
        return self.taps[0]


@dataclass(frozen=True)
class Geometry:
    """Where every window of a layer sits on its (padded or stretched) input grid.

    Build with :func:`layer_geometry`. Dimensions are ``(height, width)`` or ``(width,)``.

    >>> g = layer_geometry("conv", (4,), kernel_size=3, dilation=2, padding=1)
    >>> g.output_size, g.window(0).taps, g.window(0).inputs
    ((2,), ((-1,), (1,), (3,)), ((1,), (3,)))
    """

    kind: str
    dims: tuple[DimGeometry, ...]

    @property
    def ndim(self) -> int:
        return len(self.dims)

    @property
    def input_size(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dims)

    @property
    def output_size(self) -> tuple[int, ...]:
        return tuple(d.output for d in self.dims)

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(d.kernel_size for d in self.dims)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        return tuple(d.effective_kernel for d in self.dims)

    @property
    def n_steps(self) -> int:
        """Number of output cells (the animation's steps)."""
        return math.prod(self.output_size)

    @property
    def grid_start(self) -> Cell:
        """Grid coordinate of the drawn grid's top-left cell."""
        return tuple(d.grid_start for d in self.dims)

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return tuple(d.grid_size for d in self.dims)

    @property
    def has_dropped(self) -> bool:
        return any(d.dropped is not None for d in self.dims)

    def cell_role(self, cell: Cell) -> str:
        """What grid cell ``cell`` is: one of :data:`ROLES`."""
        self._check_cell(cell, "grid cell")
        return combine_roles([d.role(c) for d, c in zip(self.dims, cell, strict=True)])

    def _check_cell(self, cell: Cell, what: str) -> None:
        if len(cell) != self.ndim:
            raise IndexError(
                f"{what} {tuple(cell)} has {len(cell)} coordinates; this layer has {self.ndim} "
                f"spatial dimension{'s' if self.ndim != 1 else ''}"
            )

    def out_cell(self, step: int) -> Cell:
        """The output cell of ``step`` (row-major)."""
        if not 0 <= step < self.n_steps:
            raise IndexError(f"step {step} is out of range: this layer has {self.n_steps} output cells")
        cell = []
        for d in reversed(self.dims):
            step, i = divmod(step, d.output)
            cell.append(i)
        return tuple(reversed(cell))

    def step_of(self, out_cell: Cell) -> int:
        """The step (row-major index) of output cell ``out_cell``."""
        self._check_cell(out_cell, "output cell")
        step = 0
        for d, i in zip(self.dims, out_cell, strict=True):
            if not 0 <= i < d.output:
                raise IndexError(f"output cell {tuple(out_cell)} is outside the output {self.output_size}")
            step = step * d.output + i
        return step

    def _window(self, out_cell: Cell, step: int | None) -> Window:
        per_dim = [d.taps(i) for d, i in zip(self.dims, out_cell, strict=True)]
        taps = tuple(itertools.product(*per_dim))
        # a tap is on the input exactly when each of its coordinates is: filter per dimension
        # (k roles a dimension, not k**ndim), then combine; row-major order as ``taps``
        inputs = tuple(itertools.product(*(
            [c // d.stretch for c in coords if d.role(c) == "input"]  # input_index
            for d, coords in zip(self.dims, per_dim, strict=True)
        )))
        dropped = any(d.dropped is not None and i == d.dropped
                      for d, i in zip(self.dims, out_cell, strict=True))
        overhang = any(d.overhangs(i) for d, i in zip(self.dims, out_cell, strict=True))
        return Window(step, tuple(out_cell), taps, inputs, dropped, overhang)

    def window(self, step: int) -> Window:
        """The window that output cell number ``step`` (row-major) reads."""
        return self._window(self.out_cell(step), step)

    def windows(self) -> Iterator[Window]:
        """Every output cell's window, in step order."""
        for step in range(self.n_steps):
            yield self.window(step)

    def dropped_windows(self) -> tuple[Window, ...]:
        """Windows a ``ceil_mode`` pool computes the size for but PyTorch drops.

        >>> g = layer_geometry("max_pool", (5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)
        >>> g.output_size, [w.out_cell for w in g.dropped_windows()][:2]
        ((3, 3), [(0, 3), (1, 3)])
        """
        cells = {
            cell
            for k, dim in enumerate(self.dims)
            if dim.dropped is not None
            for cell in itertools.product(*(
                [dim.dropped] if j == k else range(other.n_windows) for j, other in enumerate(self.dims)
            ))
        }
        return tuple(self._window(cell, None) for cell in sorted(cells))


def _whole(name: str, value: Any, shown: Any) -> int:
    """``value`` as an int (numpy and torch integers too); never a bool, a float or a string."""
    if not isinstance(value, (bool, float, str)):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise ShapeError(f"{name}={shown!r} must be whole numbers; {value!r} is a {type(value).__name__}")


def _per_dim(name: str, value: Any, ndim: int) -> tuple[int, ...]:
    values = as_tuple(value)
    if len(values) == 1 and values[0] is value:  # one number for every dimension
        return (_whole(name, value, value),) * ndim
    if len(values) != ndim:
        raise ShapeError(
            f"{name}={value!r} must be one integer or {ndim} integers, one per spatial dimension "
            f"of the input"
        )
    return tuple(_whole(name, v, value) for v in values)


def _dim(
    kind: str,
    size: int,
    k: int,
    s: int,
    pad: int | str,
    d: int,
    op: int,
    ceil_mode: bool,
) -> DimGeometry:
    if kind == "conv":
        out = conv_output_size(size, k, s, pad, d)
        if pad == "same":
            left, right = same_padding(k, d)
        elif pad == "valid":
            left = right = 0
        else:
            left = right = int(pad)
        return DimGeometry(
            kind, size, k, s, d, (left, right), 0, False, out,
            grid_start=-left, grid_stop=size + right, first_tap=-left,
            window_stride=s, stretch=1, dropped=None,
        )
    if isinstance(pad, str):
        raise ShapeError(
            f"padding={pad!r} is only for convolutions (nn.Conv*d); "
            f"{'transposed convolution' if kind == 'conv_transpose' else 'pooling'} takes an integer padding"
        )
    if kind == "conv_transpose":
        out = conv_transpose_output_size(size, k, s, pad, op, d)
        implicit = d * (k - 1) - pad
        stop = (size - 1) * s + 1
        return DimGeometry(
            kind, size, k, s, d, (pad, pad), op, False, out,
            grid_start=min(-implicit, 0), grid_stop=max(stop + implicit + op, stop),
            first_tap=-implicit, window_stride=1, stretch=s, dropped=None,
        )
    # pooling: max pool with dilation, avg pool without
    out = pool_output_size(size, k, s, pad, d, ceil_mode)
    eff = d * (k - 1) + 1
    dropped = None
    if ceil_mode:
        # ceil_mode counts a window for a partial tail; PyTorch then drops it again when
        # it would start in the right padding ((out - 1) * stride >= size + padding).
        raw = -(-(size + 2 * pad - eff) // s) + 1
        if raw > out:
            dropped = out
    n_windows = out + (dropped is not None)
    last = -pad + (n_windows - 1) * s + eff
    return DimGeometry(
        kind, size, k, s, d, (pad, pad), 0, ceil_mode, out,
        grid_start=-pad, grid_stop=max(size + pad, last), first_tap=-pad,
        window_stride=s, stretch=1, dropped=dropped,
    )


def layer_geometry(
    kind: str,
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
    ceil_mode: bool = False,
) -> Geometry:
    """The sliding-window geometry of a layer, from PyTorch's parameter names.

    Parameters
    ----------
    kind
        ``"conv"``, ``"conv_transpose"``, ``"max_pool"`` or ``"avg_pool"``.
    input_size
        Spatial input size, ``(height, width)`` or ``(width,)`` (an int means 1-D).
    kernel_size, stride, dilation, output_padding
        An int, or one int per dimension. ``stride=None`` is PyTorch's default for the kind
        (1 for convolutions, ``kernel_size`` for pooling).
    padding
        An int, one int per dimension, or ``'same'``/``'valid'`` (convolution only).
    ceil_mode
        Pooling only.

    Raises
    ------
    ShapeError
        For a setting PyTorch refuses, with the reason and a fix.

    >>> g = layer_geometry("conv_transpose", (3, 3), kernel_size=3, stride=2, padding=1, output_padding=1)
    >>> g.output_size, g.grid_shape, g.dims[0].implicit_padding
    ((6, 6), (8, 8), (1, 2))
    >>> g.dims[0].roles
    ('padding', 'input', 'zero', 'input', 'zero', 'input', 'padding', 'output_padding')
    >>> layer_geometry("conv", (2, 2), kernel_size=5)
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: ...
    """
    if kind not in KINDS:
        raise ShapeError(
            f"kind={kind!r} is not a layer kind convwidget draws; use one of {', '.join(map(repr, KINDS))}"
        )
    ceil_mode = check_bool("ceil_mode", ceil_mode)
    sizes = _input_sizes(input_size)
    ndim = len(sizes)
    ks = _per_dim("kernel_size", kernel_size, ndim)
    if stride is None:
        stride = ks if kind in ("max_pool", "avg_pool") else 1
    ss = _per_dim("stride", stride, ndim)
    ds = _per_dim("dilation", dilation, ndim)
    ops = _per_dim("output_padding", output_padding, ndim)
    ps = _paddings(padding, ndim)
    _check_kind_settings(kind, dilation, ds, output_padding, ops, ceil_mode)
    dims = tuple(
        _dim(kind, n, k, s, p, d, op, ceil_mode)
        for n, k, s, p, d, op in zip(sizes, ks, ss, ps, ds, ops, strict=True)
    )
    return Geometry(kind, dims)


def _input_sizes(input_size: Any) -> tuple[int, ...]:
    """One or two input sizes (an int, numpy integer or a sequence of them)."""
    shown = input_size
    sizes = as_tuple(input_size)
    if len(sizes) not in (1, 2):
        raise ShapeError(
            f"input_size={shown!r} has {len(sizes)} dimensions; convwidget draws 1-D (width,) "
            f"or 2-D (height, width) inputs"
        )
    return tuple(_whole("input_size", n, shown) for n in sizes)


def _paddings(padding: Any, ndim: int) -> tuple[int | str, ...]:
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ShapeError(f"padding={padding!r} is not understood; use an integer, 'same' or 'valid'")
        return (padding,) * ndim
    return _per_dim("padding", padding, ndim)


def _check_kind_settings(kind: str, dilation: Any, ds: tuple[int, ...], output_padding: Any,
                         ops: tuple[int, ...], ceil_mode: bool) -> None:
    """Settings a kind of layer does not have, refused with the parameter's name."""
    if kind == "avg_pool" and any(d != 1 for d in ds):
        raise ShapeError(
            f"dilation={dilation!r}: average pooling (nn.AvgPool*d) has no dilation; use dilation=1"
        )
    if kind != "conv_transpose" and any(ops):
        raise ShapeError(
            f"output_padding={output_padding!r} only exists for transposed convolution; use output_padding=0"
        )
    if ceil_mode and kind not in ("max_pool", "avg_pool"):
        raise ShapeError("ceil_mode is a pooling setting; use ceil_mode=False for convolutions")


# ---------------------------------------------------------------------- cells no window reads
def _read_mask(d: DimGeometry) -> bytearray:
    """1 for each grid coordinate some real window taps (``grid_start`` first): one slice per
    kernel tap, every window at once."""
    marks = bytearray(d.grid_size)
    for j in range(d.kernel_size):
        start = d.first_tap + j * d.dilation - d.grid_start
        hits = range(start, start + (d.output - 1) * d.window_stride + 1, d.window_stride)
        marks[hits.start:hits.stop:hits.step] = b"\x01" * len(hits)
    return marks


def unread_indices(g: Geometry) -> tuple[tuple[int, ...], ...]:
    """Per dimension, the input indices no window reads (a cell is unread when any of its
    coordinates is: the windows are every combination of the per-dimension windows).

    >>> unread_indices(layer_geometry("conv", (7, 5), kernel_size=2, stride=3))
    ((2, 5, 6), (2,))
    """
    out = []
    for d in g.dims:
        marks = _read_mask(d)
        out.append(tuple(i for i in range(d.size) if not marks[i * d.stretch - d.grid_start]))
    return tuple(out)


def unread_cells(g: Geometry) -> frozenset[Cell]:
    """The real input cells no window reads: a stride longer than the window's span, the rows
    and columns the floor of the output size leaves over, dilation holes no window covers, a
    transposed convolution's padding cropping more than ``dilation·(kernel_size − 1)``.

    >>> sorted(unread_cells(layer_geometry("max_pool", (5,), kernel_size=2)))
    [(4,)]
    >>> unread_cells(layer_geometry("conv", (5, 5), kernel_size=3, padding=1))
    frozenset()
    """
    per_dim = [set(idx) for idx in unread_indices(g)]
    if not any(per_dim):
        return frozenset()
    return frozenset(
        cell for cell in itertools.product(*(range(d.size) for d in g.dims))
        if any(c in unread for c, unread in zip(cell, per_dim, strict=True))
    )


def _index_list(indices: Sequence[int]) -> str:
    """``5–6``, ``1, 4, 7``; long lists cut with their count."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts = [str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs]
    if len(parts) > 5:
        return ", ".join(parts[:4]) + f", … ({len(indices)} in all)"
    return ", ".join(parts)


def _axis_names(g: Geometry, k: int) -> tuple[str, str]:
    if g.ndim == 1:
        return "cell", "cells"
    return ("row", "rows") if k == 0 else ("column", "columns")


def _unread_causes(d: DimGeometry, unread: Sequence[int], axis: str) -> list[str]:
    """Why each of ``unread`` is skipped, one clause per cause, with the layer's numbers."""
    ws, eff = d.window_stride, d.effective_kernel
    first, last = d.first_tap, d.first_tap + (d.output - 1) * ws + eff - 1
    coords = [i * d.stretch for i in unread]
    causes = []
    inside = [c for c in coords if first <= c <= last]
    spanned = [c for c in inside if (c - first) % ws < eff]
    if len(spanned) < len(inside):
        span = f"{eff} = {d.dilation}·({d.kernel_size} − 1) + 1" if d.dilation > 1 else str(eff)
        causes.append(f"stride {d.stride} > window span {span}")
    if spanned:
        causes.append(f"they sit in dilation holes (dilation {d.dilation}) that stride {d.stride} "
                      "never fills")
    if d.kind == "conv_transpose" and len(inside) < len(coords):
        causes.append(f"padding {d.padding[0]} is more than dilation·(kernel_size − 1) = "
                      f"{d.dilation * (d.kernel_size - 1)}, so the edge is cropped")
    elif any(c > last for c in coords):
        if d.ceil_mode:
            causes.append(f"the last window ends at {axis} {last}")
        else:
            pads = f"2·{d.padding[0]}" if d.padding[0] == d.padding[1] else f"{d.padding[0]} + {d.padding[1]}"
            left = d.size + sum(d.padding) - eff - (d.output - 1) * d.stride
            causes.append(f"the output size rounds down: ({d.size} + {pads} − {eff}) mod {d.stride} = {left} "
                          f"left over after the last window (ends at {axis} {last})")
    return causes


def unread_reason(g: Geometry) -> str | None:
    """One sentence saying which input cells no window reads and why, with the numbers; None
    when every input cell is read.

    >>> print(unread_reason(layer_geometry("conv", (6,), kernel_size=3, stride=2)))
    cell 5 is never read: the output size rounds down: (6 + 2·0 − 3) mod 2 = 1 left over after
    the last window (ends at 4)
    >>> print(unread_reason(layer_geometry("max_pool", (7, 7), kernel_size=2, stride=3)))
    rows and columns 2, 5–6 are never read: stride 3 > window span 2; the output size rounds
    down: (7 + 2·0 − 2) mod 3 = 2 left over after the last window (ends at 4)
    >>> print(unread_reason(layer_geometry("conv", (7, 6), kernel_size=3, stride=2, dilation=2)))
    rows and columns 1, 3, 5 are never read: they sit in dilation holes (dilation 2) that stride 2
    never fills; columns also: the output size rounds down: (6 + 2·0 − 5) mod 2 = 1 left over
    after the last window (ends at 4)
    >>> unread_reason(layer_geometry("conv", (5, 5), kernel_size=3)) is None
    True
    """
    per_dim = unread_indices(g)
    clauses = []
    for k, (d, unread) in enumerate(zip(g.dims, per_dim, strict=True)):
        if unread:
            one, many = _axis_names(g, k)
            what = f"{one} {unread[0]}" if len(unread) == 1 else f"{many} {_index_list(unread)}"
            causes = [c.replace(f"at {one} ", "at ") for c in _unread_causes(d, unread, one)]
            clauses.append((what, len(unread), causes))
    if not clauses:
        return None
    if len(clauses) == 2 and clauses[0][2][0] == clauses[1][2][0]:  # the same first reason: one sentence
        (rows, _, row_causes), (cols, _, col_causes) = clauses
        same = per_dim[0] == per_dim[1]
        what = f"rows and columns {_index_list(per_dim[0])}" if same else f"{rows} and {cols}"
        shared = [c for c in row_causes if c in col_causes]
        more = [(axis, [c for c in causes if c not in shared])
                for axis, causes in (("rows", row_causes), ("columns", col_causes))]
        extra = "".join(f"; {axis} also: {'; '.join(causes)}" for axis, causes in more if causes)
        return f"{what} are never read: {'; '.join(shared)}{extra}"
    return "; ".join(f"{what} {'is' if n == 1 else 'are'} never read: {'; '.join(causes)}"
                     for what, n, causes in clauses)
