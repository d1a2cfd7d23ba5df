"""Derivations of output sizes: PyTorch's formula with the user's numbers in it.

Standard library only. This module sits above :mod:`convwidget.layers` (which reads a
torch layer's settings and never imports this one), so :func:`explain` can take a layer
as well as sizes. :func:`explain` never raises for a setting PyTorch
refuses: the :class:`Explanation` carries the refusal sentence instead, so a
widget or a notebook can show it where the answer would be.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import arithmetic as ar
from .errors import ShapeError
from .formatting import DIM_NAMES, format_shape
from .layers import as_shape, layer_name, output_shape
from .layers.base import read_spec
from .spec import layer_kind

__all__ = ["DIM_NAMES", "KINDS", "DimExplanation", "Explanation", "explain", "explain_dim", "explain_layer"]

#: Layer kinds :func:`explain` knows by name, with their display names.
KINDS = {
    "conv": "Convolution",
    "conv_transpose": "Transposed convolution",
    "max_pool": "Max pooling",
    "avg_pool": "Average pooling",
}

@dataclass(frozen=True)
class DimExplanation:
    """How one spatial dimension's output size comes about.

    Numbers only; :attr:`text` and :attr:`latex` are built when asked for.

    >>> d = explain(32, 3, stride=2, padding=1).dims[0]
    >>> d.effective_kernel, d.padded_size, d.output
    (3, 34, 16)
    >>> d.text
    '⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16'
    """

    kind: str
    size: int
    kernel_size: int
    stride: int
    padding: tuple[int, int]
    dilation: int = 1
    output_padding: int = 0
    ceil_mode: bool = False
    output: int | None = None
    error: str | None = None
    dropped_last_window: bool = False
    name: str = ""

    @property
    def effective_kernel(self) -> int:
        """Cells the kernel spans: ``dilation·(kernel_size − 1) + 1``."""
        return ar.effective_kernel(self.kernel_size, self.dilation)

    @property
    def padded_size(self) -> int:
        """Input size plus the padding on both sides."""
        return self.size + self.padding[0] + self.padding[1]

    def _pad_terms(self) -> tuple[str, str]:
        left, right = self.padding
        if left == right:
            return f"2·{left}", rf"2 \cdot {left}"
        return f"{left} + {right}", f"{left} + {right}"

    @property
    def text(self) -> str:
        """The formula with the numbers in it, as one line of plain text."""
        n, k, s, d = self.size, self.kernel_size, self.stride, self.dilation
        pad, _ = self._pad_terms()
        result = "refused" if self.output is None else str(self.output)
        if self.kind == "conv_transpose":
            p = self.padding[0]
            return (
                f"({n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {self.output_padding} + 1"
                f" = {result}"
            )
        lo, hi = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        line = f"{lo}({n} + {pad} − {d}·({k} − 1) − 1) / {s}{hi} + 1"
        if self.dropped_last_window and self.output is not None:
            return f"{line} − 1 (last window dropped) = {result}"
        return f"{line} = {result}"

    @property
    def latex(self) -> str:
        """The formula with the numbers in it, as LaTeX (no ``$`` delimiters)."""
        n, k, s, d = self.size, self.kernel_size, self.stride, self.dilation
        _, pad = self._pad_terms()
        result = r"\text{refused}" if self.output is None else str(self.output)
        if self.kind == "conv_transpose":
            p = self.padding[0]
            return (
                rf"({n} - 1) \cdot {s} - 2 \cdot {p} + {d} \cdot ({k} - 1)"
                rf" + {self.output_padding} + 1 = {result}"
            )
        lo, hi = (r"\left\lceil", r"\right\rceil") if self.ceil_mode else (
            r"\left\lfloor", r"\right\rfloor")
        frac = rf"{lo} \frac{{{n} + {pad} - {d} \cdot ({k} - 1) - 1}}{{{s}}} {hi} + 1"
        if self.dropped_last_window and self.output is not None:
            return rf"{frac} - 1 = {result}"
        return rf"{frac} = {result}"

    @property
    def notes(self) -> list[str]:
        """Plain sentences naming the span, the padded size and any ceil correction."""
        span = self.effective_kernel
        out: list[str] = []
        if self.kind == "conv_transpose":
            stretched = (self.size - 1) * self.stride + 1
            implicit = span - 1 - self.padding[0]
            out.append(
                f"as a convolution: the input stretched to {stretched} cells "
                f"({self.stride - 1} zero{'s' if self.stride != 2 else ''} between "
                f"neighbours), {implicit} cell{'s' if implicit != 1 else ''} of implicit padding each side"
                + (f" and {self.output_padding} more at the end" if self.output_padding else "")
                + f", read by a {span}-cell kernel with stride 1"
            )
            if self.output == 0:
                out.append("an output of 0 cells: PyTorch returns an empty tensor here (its oneDNN "
                           "kernel); at batch 1 with groups 1, a small kernel and a small input its slow "
                           "kernel refuses it")
            return out
        if self.dilation != 1:
            out.append(
                f"the kernel spans {span} cells: dilation {self.dilation}·"
                f"(kernel {self.kernel_size} − 1) + 1"
            )
        else:
            out.append(f"the kernel spans {span} cells")
        left, right = self.padding
        pads = f"2×{left}" if left == right else f"{left} + {right}"
        out.append(f"the padded input has {self.padded_size} cells: {self.size} + {pads}")
        if self.dropped_last_window:
            last_start = self.output * self.stride if self.output is not None else 0
            out.append(
                f"ceil_mode rounds up to {(self.output or 0) + 1} windows, but the last "
                f"would start at cell {last_start} ≥ input {self.size} + padding "
                f"{left} = {self.size + left}, inside the right padding, so PyTorch drops it"
            )
        elif self.ceil_mode and self.output is not None:
            floor = (self.padded_size - span) // self.stride + 1
            if floor != self.output:
                out.append(
                    f"ceil_mode keeps a last window that hangs over the end "
                    f"({floor} windows fit entirely)"
                )
        return out


@dataclass(frozen=True)
class Explanation:
    """The derivation of a layer's output size, dimension by dimension.

    ``str()`` gives plain text for a terminal; Jupyter shows rendered math.

    >>> e = explain((32, 32), 3, stride=2, padding=1)
    >>> e.output_size
    (16, 16)
    >>> print(e)
    Convolution: input 32 × 32 → output 16 × 16
      height: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16
      width:  ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16
      (the kernel spans 3 cells; the padded input has 34 cells: 32 + 2×1)
    """

    title: str
    dims: tuple[DimExplanation, ...]
    error: str | None = None
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None

    @property
    def ok(self) -> bool:
        """True when PyTorch accepts the setting."""
        return self.error is None

    @property
    def output_size(self) -> tuple[int, ...] | None:
        """Spatial output size, or None where PyTorch refuses the setting."""
        if self.error is not None:
            return None
        if self.dims:
            return tuple(d.output for d in self.dims)  # type: ignore[misc]
        return self.output_shape

    def _sizes(self) -> tuple[str, str]:
        if self.input_shape is not None:
            before, after = self.input_shape, self.output_shape
        else:
            before, after = tuple(d.size for d in self.dims), self.output_size
        return format_shape(before, "times"), format_shape(after, "times", missing="refused")

    def __str__(self) -> str:
        before, after = self._sizes()
        lines = [f"{self.title}: input {before} → output {after}"]
        width = max((len(d.name) for d in self.dims), default=0) + 1
        for d in self.dims:
            lines.append(f"  {(d.name + ':').ljust(width)} {d.text}")
        notes = _shared_notes(self.dims)
        for group in notes:
            lines.append(f"  ({'; '.join(group)})")
        if self.error is not None:
            lines.append(f"  PyTorch refuses this: {self.error}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation {self._sizes()[0]} → {self._sizes()[1]}>"

    def latex(self) -> str:
        """All dimensions' formulas as one LaTeX ``aligned`` block (no ``$``)."""
        rows = [rf"\text{{{d.name}}} &: {d.latex}" for d in self.dims]
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$" if self.dims else f"$\\text{{{self.title}}}$"

    def _repr_html_(self) -> str:
        before, after = self._sizes()
        parts = [
            f"<div class='cw-explanation'><b>{html.escape(self.title)}</b>: input "
            f"{html.escape(before)} → output <b>{html.escape(after)}</b>"
        ]
        if self.dims:
            parts.append(f"<div>$${html.escape(self.latex())}$$</div>")
        for group in _shared_notes(self.dims):
            parts.append(f"<div><small>{html.escape('; '.join(group))}</small></div>")
        if self.error is not None:
            parts.append(
                "<style>.cw-refuses{color:#a34700} body[data-jp-theme-light='false'] .cw-refuses"
                "{color:#ffab66}</style><div class='cw-refuses'><b>PyTorch refuses this:</b> "
                f"{html.escape(self.error)}</div>"
            )
        parts.append("</div>")
        return "".join(parts)


def _shared_notes(dims: Sequence[DimExplanation]) -> list[list[str]]:
    """Notes of each dimension, printed once when all dimensions share them."""
    if not dims:
        return []
    groups = [d.notes for d in dims]
    if all(g == groups[0] for g in groups):
        return [groups[0]] if groups[0] else []
    return [[f"{d.name}: {n}" for n in d.notes] for d in dims if d.notes]




def _display_padding(padding: Any, k: int, d: int) -> tuple[int, int]:
    """(left, right) cells to show in a formula, even for a setting PyTorch refuses."""
    try:
        # the stride is left out: 'same' with a stride is refused, but its padding is shown
        return ar.resolve_padding(padding, k, 1, d)
    except (ShapeError, TypeError, ValueError):
        return (0, 0)


def _dim_output(kind: str, n: int, k: int, stride: int, padding: Any, d: int,
                output_padding: int, ceil_mode: bool) -> tuple[int, bool]:
    """One dimension's output size and whether ceil_mode dropped a window; raises ShapeError."""
    if kind == "conv":
        return ar.conv_output_size(n, k, stride, padding, d), False
    if kind == "conv_transpose":
        return ar.conv_transpose_output_size(n, k, stride, padding, output_padding, d), False
    if kind == "avg_pool" and d != 1:
        raise ShapeError(f"average pooling has no dilation, got dilation={d}; use 1")
    output = ar.pool_output_size(n, k, stride, padding, d, ceil_mode)
    return output, ceil_mode and ar.pool_window_dropped(n, k, stride, padding, d)


def explain_dim(
    kind: str,
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: ar.Padding = 0,
    dilation: int = 1,
    output_padding: int = 0,
    ceil_mode: bool = False,
    *,
    name: str = "",
) -> DimExplanation:
    """Explain one spatial dimension; PyTorch's refusal becomes the explanation's ``error``.

    ``stride=None`` means 1 for convolutions and ``kernel_size`` for pooling, as in PyTorch.

    Examples
    --------
    >>> d = explain_dim("max_pool", 5, 2, ceil_mode=True, name="width")
    >>> d.output, d.stride, d.text
    (3, 2, '⌈(5 + 2·0 − 1·(2 − 1) − 1) / 2⌉ + 1 = 3')
    >>> explain_dim("conv", 2, 5).error
    'kernel spans 5 cells (kernel_size=5) but the padded input has 2 (input 2 + 2×padding 0); use padding >=
        2 or a smaller kernel'
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(map(repr, KINDS))}")
    # numpy and torch integers become ints; a float or a string is refused with a sentence
    size, kernel_size, dilation, output_padding = (
        ar.whole(name, v) for name, v in (("size", size), ("kernel_size", kernel_size),
                                           ("dilation", dilation), ("output_padding", output_padding)))
    stride = None if stride is None else ar.whole("stride", stride)
    ceil_mode = ar.check_bool("ceil_mode", ceil_mode)
    pool = kind.endswith("pool")
    stride = (kernel_size if stride is None else stride) if pool else (1 if stride is None else stride)
    error = None
    output: int | None = None
    dropped = False
    try:
        output, dropped = _dim_output(kind, size, kernel_size, stride, padding, dilation,
                                      output_padding, ceil_mode)
    except ShapeError as err:
        error = str(err)
    return DimExplanation(
        kind=kind, size=size, kernel_size=kernel_size, stride=stride,
        padding=_display_padding(padding, kernel_size, dilation), dilation=dilation,
        output_padding=output_padding if kind == "conv_transpose" else 0,
        ceil_mode=ceil_mode and pool, output=output, error=error,
        dropped_last_window=dropped, name=name,
    )


def _per_dim_settings(ndim: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                      output_padding: Any) -> list[tuple[Any, ...]]:
    """Each spatial dimension's (kernel_size, stride, padding, dilation, output_padding)."""
    if isinstance(padding, tuple) and len(padding) == 2 and ndim == 1:
        padding = (padding,)  # an explicit (left, right) pair for one dimension
    pads = (padding,) * ndim if isinstance(padding, str) else ar.per_dim(padding, ndim, "padding")
    return list(zip(
        ar.per_dim(kernel_size, ndim, "kernel_size"), ar.per_dim(stride, ndim, "stride"), pads,
        ar.per_dim(dilation, ndim, "dilation"), ar.per_dim(output_padding, ndim, "output_padding"),
        strict=True,
    ))


def explain(
    size: Any,
    kernel_size: Any = None,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    kind: str = "conv",
    output_padding: Any = 0,
    ceil_mode: bool = False,
) -> Explanation:
    """Explain an output size: PyTorch's formula with your numbers in it.

    Call it with the arguments of :func:`~convwidget.conv_output_size` (ints, or
    one value per spatial dimension) and a ``kind``, or with a ``torch.nn`` layer
    and an input shape: ``explain(nn.Conv2d(3, 8, 3), (1, 3, 32, 32))``.

    Parameters
    ----------
    size : int, tuple of int, or a torch.nn layer
        Spatial input size(s); or a layer, in which case ``kernel_size`` is the
        full input shape.
    kind : {'conv', 'conv_transpose', 'max_pool', 'avg_pool'}
        Which rule to apply. ``stride=None`` means 1 for convolutions and
        ``kernel_size`` for pooling, as in PyTorch.

    Returns
    -------
    Explanation
        Never raises for a setting PyTorch refuses: ``.ok`` is False and
        ``.error`` holds the sentence.

    Examples
    --------
    >>> print(explain(5, 2, padding=1, kind="max_pool", ceil_mode=True))
    Max pooling: input 5 → output 3
      length: ⌈(5 + 2·1 − 1·(2 − 1) − 1) / 2⌉ + 1 − 1 (last window dropped) = 3
      (the kernel spans 2 cells; the padded input has 7 cells: 5 + 2×1; ceil_mode rounds up to 4 windows,
          but the last would start at cell 6 ≥ input 5 + padding 1 = 6, inside the right padding, so PyTorch
          drops it)
    >>> explain(3, 4, padding=1, dilation=2).error
    'kernel spans 7 cells (kernel_size=4, dilation=2) but the padded input has 5 (input 3 + 2×padding 1);
        use padding >= 2 or a smaller kernel/dilation'
    """
    if hasattr(size, "forward") and not isinstance(size, (int, tuple, list)):
        return explain_layer(size, kernel_size)
    if kernel_size is None:
        raise TypeError("explain() needs a kernel_size (or a torch layer and an input shape)")
    sizes = ar.as_tuple(size)
    ndim = len(sizes)
    if not 1 <= ndim <= 3:
        raise ValueError(f"explain() takes 1 to 3 spatial sizes, got {ndim}: {sizes}")
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(map(repr, KINDS))}")
    settings = _per_dim_settings(ndim, kernel_size, stride, padding, dilation, output_padding)
    dims = tuple(
        explain_dim(kind, n, k, s, p, d, op, ceil_mode, name=DIM_NAMES[ndim][i])
        for i, (n, (k, s, p, d, op)) in enumerate(zip(sizes, settings, strict=True))
    )
    return Explanation(title=KINDS[kind], dims=dims, error=_first_error(dims))


def _first_error(dims: Sequence[DimExplanation]) -> str | None:
    """The first refused dimension's sentence, prefixed by its name when there are several."""
    bad = next((d for d in dims if d.error is not None), None)
    if bad is None:
        return None
    return f"{bad.name}: {bad.error}" if len(dims) > 1 else bad.error


def _layer_dims(layer: Any, shape: tuple[int, ...]) -> tuple[DimExplanation, ...]:
    """Per-dimension explanations of a conv/pool layer (none for other layers)."""
    if layer_kind(layer) is None:
        return ()
    spec = read_spec(layer)
    n = spec.ndim
    if len(shape) < n + 1:
        return ()
    pad = spec.padding
    sizes = list(shape[-n:])
    pads: list[Any] = [pad] * n if isinstance(pad, str) else list(pad)
    if spec.padding_mode != "zeros" and not isinstance(pad, str):
        for i in range(n):
            if pads[i] < 0:  # F.pad crops first; the conv itself has no padding
                sizes[i], pads[i] = sizes[i] + 2 * pads[i], 0
    return tuple(
        explain_dim(spec.kind, sizes[i], spec.kernel_size[i], spec.stride[i], pads[i],
                    spec.dilation[i], spec.output_padding[i], spec.ceil_mode,
                    name=DIM_NAMES[n][i])
        for i in range(n)
    )


def explain_layer(layer: Any, input_shape: Sequence[int]) -> Explanation:
    """:func:`explain` for a torch layer and a full input shape.

    >>> import torch.nn as nn
    >>> print(explain_layer(nn.Conv2d(3, 8, 5, padding=2), (1, 3, 28, 28)))
    Conv2d: input 1 × 3 × 28 × 28 → output 1 × 8 × 28 × 28
      height: ⌊(28 + 2·2 − 1·(5 − 1) − 1) / 1⌋ + 1 = 28
      width:  ⌊(28 + 2·2 − 1·(5 − 1) − 1) / 1⌋ + 1 = 28
      (the kernel spans 5 cells; the padded input has 32 cells: 28 + 2×2)
    """
    shape = as_shape(input_shape)
    error = None
    try:
        out: tuple[int, ...] | None = output_shape(layer, shape)
    except ShapeError as err:
        out, error = None, str(err)
    dims = _layer_dims(layer, shape)
    if out is not None and dims:
        tail = out[-len(dims):]
        if any(d.output != o for d, o in zip(dims, tail, strict=True)):
            # torch shortcuts (an empty batch skips some checks): the layer's shape wins
            dims = tuple(replace(d, output=o, error=None) for d, o in zip(dims, tail, strict=True))
    return Explanation(title=layer_name(layer), dims=dims, error=error,
                       input_shape=shape, output_shape=out)
