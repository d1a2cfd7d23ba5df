"""Whole-model shape tracing: "which in_features does my Linear need?".

``trace(model, input_shape)`` runs the model's own ``forward`` on the meta device, where
tensors have shapes but no data, so a VGG-16 at batch 32 traces in milliseconds and
allocates no activations. The user's model is neither moved nor copied: its parameters and
buffers are swapped for meta stand-ins for the duration of the call
(``torch.func.functional_call``) and restored afterwards, with every hook we add removed and
every module's train/eval flag put back, in ``finally``.

The work flows collect -> record -> report:

* module forward pre-hooks and hooks give one row per leaf module (``Conv2d``,
  ``MaxPool2d``, ...), with its qualified name;
* a ``TorchFunctionMode`` sees the functional calls a ``forward`` makes itself
  (``F.max_pool2d``, ``torch.flatten``, ``x.view``, ``x + y``) and gives them rows too;
* where a Linear's ``in_features``, a convolution's ``in_channels`` or a norm layer's
  ``num_features`` disagrees with what arrives, the pre-hook records the value the data
  needs and hands the layer an input of the shape it expects, so the trace goes on and
  one run reports every problem;
* ``x.view(-1, N)`` with a wrong ``N`` silently changes the batch size: that row is
  flagged and the trace continues as if ``x.flatten(1)`` had been written;
* convolution and pooling shapes come from convwidget's arithmetic core, and linear,
  adaptive pooling, activations, norms and broadcasting arithmetic from their one-line
  shape rules; everything else runs PyTorch's own meta kernels. (Those kernels import
  sympy and ``torch._dynamo`` on first use, 1-2 s; the common ops never pay it.)

>>> import torch.nn as nn
>>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(100, 10))
>>> report = trace(model, (1, 3, 32, 32))
>>> report.ok
False
>>> report.linear_in_features
{'3': 1800}
>>> print(report.problems[0].fix)
nn.Linear(1800, 10)  # 8 channels × 15 × 15 after 1 (MaxPool2d)
"""

from __future__ import annotations

import argparse
import html
import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter
from torch.overrides import TorchFunctionMode

from .errors import ShapeError

__all__ = [
    "Problem",
    "Row",
    "SizeRange",
    "TraceReport",
    "input_size_range",
    "main_trace",
    "trace",
    "warm_up",
]

Shape = tuple[int, ...]


# ----------------------------------------------------------------------------- values


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


@dataclass
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


@dataclass(frozen=True)
class SizeRange:
    """Input sizes along one dimension that give the same shape at the flatten step.

    ``low..high`` (inclusive) all give ``shape`` where the trace meets its first flatten
    (or, for a model with no flatten, at its output); ``smallest`` is the smallest size
    the layers accept at all (None if even ``size`` fails).

    >>> r = SizeRange(dim=3, size=32, low=32, high=39, shape=(1, 256, 4, 4), smallest=8)
    >>> print(r)
    input sizes 32..39 along dim 3 all give [1, 256, 4, 4] at the flatten step; the smallest size the layers accept is 8
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
                f"{_fmt(self.shape)} at {self.at}; the smallest size the layers accept is "
                f"{self.smallest}")


# ----------------------------------------------------------------------------- report


@dataclass
class TraceReport:
    """The result of :func:`trace`: rows, problems, the in_features every Linear needs.

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
        """Input sizes along ``dim`` that give the same flatten shape; see :func:`input_size_range`."""
        return input_size_range(self._model, self.input_shape, dim=dim, **self._options)

    # -- plain text
    def __str__(self) -> str:
        head = ["#", "step", "type", "input", "output", "params", "arithmetic"]
        body = []
        for r in self.rows:
            mark = "!" if r.problem else ("*" if r.flatten else " ")
            arith = r.derivation
            if r.needed:
                need = ", ".join(f"needs {k}={v}" for k, v in r.needed.items())
                arith = f"{need}; {arith}" if arith else need
            body.append([f"{mark}{r.index}", r.name, r.op,
                         " & ".join(_fmt(s) for s in r.input_shapes[:2]),
                         _fmt(r.output_shape), f"{r.params:,}" if r.params else "", arith])
        widths = [max(len(str(c)) for c in col) for col in zip(head, *body)] if body else [
            len(h) for h in head]
        lines = [f"{self.model_name} traced on input {_fmt(self.input_shape)} (meta device)"]
        for cells in [head, *body]:
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip())
        lines.append(f"output {_fmt(self.output_shape)}; {self.total_params:,} parameters")
        if self.linear_in_features:
            lines.append("Linear in_features needed: " + ", ".join(
                f"{k}={v}" for k, v in self.linear_in_features.items()))
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            for i, p in enumerate(self.problems, 1):
                lines.append(f"{i}. " + str(p).replace("\n", "\n   "))
        elif self.ok:
            lines.append("ok: every layer agrees with the shapes it receives")
        return "\n".join(lines)

    # -- Jupyter
    def _repr_html_(self) -> str:
        return report_html(self)


def _fmt(shape: Sequence[int] | None) -> str:
    return "—" if shape is None else "[" + ", ".join(str(int(s)) for s in shape) + "]"


_CSS = """<style>
.cw-trace table{border-collapse:collapse;font-family:monospace;font-size:12px}
.cw-trace td,.cw-trace th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left;white-space:nowrap}
.cw-trace tr.cw-flatten td{background:#fff3b0;font-weight:bold}
.cw-trace tr.cw-linear td{background:#dbeafe}
.cw-trace tr.cw-problem td:first-child{border-left:5px solid #c0392b;color:#c0392b}
.cw-trace tr.cw-problem:not(.cw-flatten):not(.cw-linear) td{background:#fde2e2}
.cw-trace tr.cw-selected td{outline:2px solid #555}
.cw-trace .cw-problems pre{background:#f6f6f6;padding:4px;margin:2px 0 8px 0}
</style>"""


def report_html(report: TraceReport, *, selected: int | None = None) -> str:
    """The report as an HTML table (used by ``_repr_html_`` and by ModelExplorer)."""
    e = html.escape
    out = [_CSS, '<div class="cw-trace">',
           f"<div><b>{e(report.model_name)}</b> on input {e(_fmt(report.input_shape))}"
           f" → {e(_fmt(report.output_shape))}, {report.total_params:,} parameters</div>",
           "<table><thead><tr><th>#</th><th>step</th><th>type</th><th>input</th><th>output</th>"
           "<th>params</th><th>arithmetic</th></tr></thead><tbody>"]
    for r in report.rows:
        classes = []
        if r.flatten:
            classes.append("cw-flatten")
        if r.needed or r.op in ("Linear", "LazyLinear"):
            classes.append("cw-linear")
        if r.problem:
            classes.append("cw-problem")
        if selected is not None and r.index == selected:
            classes.append("cw-selected")
        arith = e(r.derivation)
        if r.flatten:
            arith = f"flatten: {e(r.flatten)}"
        if r.needed:
            need = ", ".join(f"needs {k}={v}" for k, v in r.needed.items())
            arith = f"<b>⚠ {e(need)}</b>" + (f"<br>{arith}" if arith else "")
        elif r.op in ("Linear", "LazyLinear") and r.input_shape:
            arith = f"in_features {r.input_shape[-1]}" + (f"<br>{arith}" if arith else "")
        mark = "⚠" if r.problem else ""
        out.append(f'<tr class="{" ".join(classes)}"><td>{mark}{r.index}</td>'
                   f"<td>{e(r.name)}</td><td>{e(r.op)}</td>"
                   f"<td>{e(' & '.join(_fmt(s) for s in r.input_shapes[:2]))}</td>"
                   f"<td>{e(_fmt(r.output_shape))}</td><td>{f'{r.params:,}' if r.params else '—'}</td>"
                   f"<td>{arith}</td></tr>")
    out.append("</tbody></table>")
    if report.linear_in_features:
        items = ", ".join(f"<code>{e(k)}</code>: <b>{v}</b>"
                          for k, v in report.linear_in_features.items())
        out.append(f'<div class="cw-answer">Linear in_features needed: {items}</div>')
    for note in report.notes:
        out.append(f"<div>note: {e(note)}</div>")
    if report.problems:
        out.append('<div class="cw-problems"><b>⚠ problems</b><ol>')
        for p in report.problems:
            code = "\n".join(x for x in (p.fix, p.alternative) if x)
            out.append(f"<li>{e(p.message)}" + (f"<pre>{e(code)}</pre>" if code else "")
                       + "</li>")
        out.append("</ol></div>")
    elif report.ok:
        out.append("<div>✓ every layer agrees with the shapes it receives</div>")
    out.append("</div>")
    return "".join(out)


# ----------------------------------------------------------------------------- helpers

_IGNORED = frozenset({
    "__get__", "__set__", "contiguous", "to", "float", "double", "half", "bfloat16", "type",
    "type_as", "detach", "detach_", "clone", "requires_grad_", "cpu", "cuda",
    "retain_grad", "__setstate__", "__reduce_ex__", "__deepcopy__",
})
_BINARY = {"add": "+", "__add__": "+", "__radd__": "+", "sub": "-", "__sub__": "-",
           "__rsub__": "-", "mul": "*", "__mul__": "*", "__rmul__": "*", "div": "/",
           "true_divide": "/", "__truediv__": "/", "__rtruediv__": "/", "matmul": "@",
           "__matmul__": "@", "__rmatmul__": "@"}
_INPLACE = {"add_": "+=", "__iadd__": "+=", "sub_": "-=", "__isub__": "-=", "mul_": "*=",
            "__imul__": "*=", "div_": "/=", "__itruediv__": "/="}
_RESHAPES = frozenset({"view", "reshape"})
# Elementwise activations and dropout keep the shape; on the meta device some of them run a
# Python decomposition (~0.5 ms each), so the tracer answers them with an empty tensor.
_SAME_SHAPE = frozenset({
    "relu", "relu_", "relu6", "gelu", "silu", "sigmoid", "sigmoid_", "tanh", "tanh_",
    "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu", "celu_", "hardtanh",
    "hardtanh_", "hardswish", "hardsigmoid", "mish", "softplus", "prelu", "rrelu", "rrelu_",
    "dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "threshold", "threshold_", "logsigmoid", "softsign", "tanhshrink",
})
# Normalization keeps the shape too (~9 ms each on meta for batch_norm's decomposition); only
# answered this way inside the torch.nn layers, whose sizes the pre-hook has checked.
_NORMS = frozenset({"batch_norm", "instance_norm", "group_norm", "layer_norm"})
# On the meta device these few common ops run Python decompositions that import
# torch._dynamo on first use (~1 s cold); their shape rule is simple enough to answer here.
_ADAPTIVE = frozenset({"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
                       "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"})
_ELEMENTWISE2 = frozenset({"add", "__add__", "__radd__", "sub", "__sub__", "__rsub__", "mul",
                           "__mul__", "__rmul__", "add_", "__iadd__", "sub_", "__isub__",
                           "mul_", "__imul__"})


_CONV_NAMES = frozenset({"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                         "conv_transpose3d"})


def _conv_pool_rule(name: str, x: torch.Tensor, args: tuple,
                    kwargs: dict) -> tuple[Shape, torch.dtype] | None:
    """Convolution and pooling shapes by the arithmetic core (PyTorch's meta kernels for these
    import sympy on first use, ~1 s). Anything unusual or refused: None, and PyTorch decides."""
    try:
        from .arithmetic import (conv_output_size, conv_transpose_output_size,
                                 pool_output_size)
        call = _functional_call(name, args, kwargs)
        if call is None:
            return None
        nd = call["nd"]
        if x.dim() not in (nd + 1, nd + 2) or any(n <= 0 for n in x.shape[-nd - 1:]):
            return None
        if kwargs.get("return_indices") or (call["kind"] == "max_pool" and len(args) > 6
                                            and args[6]):
            return None

        def each(value: Any) -> tuple:
            if isinstance(value, (list, tuple)):
                return tuple(value) if len(value) == nd else tuple(value) * nd
            return (value,) * nd

        k, st, pad = each(call["kernel_size"]), each(call["stride"]), call["padding"]
        dil = each(call.get("dilation", 1))
        pads = (pad,) * nd if isinstance(pad, str) else each(pad)
        sizes = tuple(x.shape[-nd:])
        channels = x.shape[-nd - 1]
        if call["kind"] == "avg_pool" and nd == 3 and any(n < kk for n, kk in zip(x.shape[-3:], k)):
            return None  # avg_pool3d refuses an input smaller than the kernel, padding or not
        if call["kind"] in ("max_pool", "avg_pool"):
            out = tuple(pool_output_size(sizes[i], k[i], st[i], pads[i], dil[i],
                                         bool(call.get("ceil_mode", False)))
                        for i in range(nd))
            return (*x.shape[:-nd], *out), x.dtype
        weight = args[1] if len(args) > 1 else kwargs.get("weight")
        if weight.dtype != x.dtype or channels != call["in_channels"] or (
                isinstance(pad, str) and any(v != 1 for v in st)):
            return None
        if call["kind"] == "conv":
            out = tuple(conv_output_size(sizes[i], k[i], st[i], pads[i], dil[i])
                        for i in range(nd))
        else:
            op = each(call.get("output_padding", 0))
            out = tuple(conv_transpose_output_size(sizes[i], k[i], st[i], pads[i], op[i],
                                                   dil[i]) for i in range(nd))
        if any(n <= 0 for n in out):
            return None
        return (*x.shape[:-nd - 1], call["out_channels"], *out), x.dtype
    except ShapeError:
        # A setting PyTorch refuses on real tensors; its meta kernels let some through
        # (e.g. output_padding >= stride), so the core's refusal stands.
        raise
    except Exception:  # anything unexpected: let PyTorch say it
        return None


def _broadcast(a: Sequence[int], b: Sequence[int]) -> Shape | None:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _shape_rule(name: str, args: tuple, kwargs: dict) -> tuple[Shape, torch.dtype] | None:
    """(shape, dtype) for linear / adaptive pooling / broadcasting arithmetic when the inputs
    are plainly valid; None to let PyTorch run (and raise its own error) otherwise."""
    if not args or not isinstance(args[0], torch.Tensor):
        return None
    x = args[0]
    if name == "linear":
        w = args[1] if len(args) > 1 else kwargs.get("weight")
        if (isinstance(w, torch.Tensor) and w.dim() == 2 and x.dim() >= 1
                and x.shape[-1] == w.shape[1] and w.dtype == x.dtype):
            return (*x.shape[:-1], w.shape[0]), x.dtype
        return None
    if name in _ADAPTIVE:
        nd = int(name[-2])
        size = args[1] if len(args) > 1 else kwargs.get("output_size")
        if kwargs.get("return_indices") or (len(args) > 2 and args[2]) or size is None:
            return None
        sizes = (size,) * nd if isinstance(size, int) else tuple(size)
        if (x.dim() not in (nd + 1, nd + 2) or len(sizes) != nd
                or any(s <= 0 for s in x.shape[1:])):
            return None
        spatial = tuple(x.shape[-nd:][i] if s is None else int(s) for i, s in enumerate(sizes))
        return (*x.shape[:-nd], *spatial), x.dtype
    if name in _POOL_KIND or name in _CONV_NAMES:
        return _conv_pool_rule(name, x, args, kwargs)
    if name in _ELEMENTWISE2 and len(args) == 2 and not kwargs:
        y = args[1]
        other = y.shape if isinstance(y, torch.Tensor) else ()
        if not isinstance(y, (torch.Tensor, int, float, bool)):
            return None
        shape = _broadcast(x.shape, other)
        if shape is None:
            return None
        dtype = torch.result_type(x, y)
        inplace = name.endswith("_") or name.startswith("__i")
        if inplace and (shape != tuple(x.shape) or dtype != x.dtype):
            return None
        return shape, dtype
    return None
_POOL_KIND = {"max_pool1d": "max_pool", "max_pool2d": "max_pool", "max_pool3d": "max_pool",
              "avg_pool1d": "avg_pool", "avg_pool2d": "avg_pool", "avg_pool3d": "avg_pool"}
_POOL_ARGS = {"max_pool": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
              "avg_pool": ("kernel_size", "stride", "padding", "ceil_mode")}
_CONV_ARGS = {"conv": ("weight", "bias", "stride", "padding", "dilation", "groups"),
              "conv_transpose": ("weight", "bias", "stride", "padding", "output_padding",
                                 "groups", "dilation")}


def _is_builtin(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.")


def _func_name(func: Callable) -> tuple[str, str]:
    """(namespace, name): namespace 'x' for Tensor methods, 'F', 'torch' or ''."""
    name = getattr(func, "__name__", None) or str(func)
    qual = getattr(func, "__qualname__", "") or ""
    mod = getattr(func, "__module__", None) or ""
    if qual.startswith(("TensorBase.", "Tensor.", "_TensorBase.")) or mod == "torch._tensor":
        return "x", name
    if mod.startswith("torch.nn.functional") or mod == "torch._C._nn":
        return "F", name
    if mod.startswith("torch") or qual.startswith("_VariableFunctionsClass"):
        return "torch", name
    return "", name


def _lit(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return repr(value)
    if isinstance(value, (tuple, list, torch.Size)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return repr(tuple(value)) if not isinstance(value, list) else repr(list(value))
    return None


_DEFAULTS = {"dilation": 1, "padding": 0, "groups": 1, "output_padding": 0, "start_dim": 0,
             "end_dim": -1}


def _label(ns: str, name: str, args: tuple, kwargs: dict) -> str:
    tensor_names = iter("xyzw")
    parts = []
    for a in args:
        if isinstance(a, torch.Tensor):
            parts.append(next(tensor_names, "t"))
        elif isinstance(a, (list, tuple)) and a and all(isinstance(t, torch.Tensor) for t in a):
            parts.append("[" + ", ".join(next(tensor_names, "t") for _ in a) + "]")
        else:
            parts.append(_lit(a) or "…")
    parts += [f"{k}={_lit(v) or '…'}" for k, v in kwargs.items()
              if v is not None and v is not False and _DEFAULTS.get(k, object()) != v]
    if ns == "x" and name in _BINARY and len(parts) == 2:
        return f"{parts[0]} {_BINARY[name]} {parts[1]}"
    if ns == "x" and name in _INPLACE and len(parts) == 2:
        return f"{parts[0]} {_INPLACE[name]} {parts[1]}"
    if ns == "x" and name == "__getitem__":
        return f"{parts[0]}[…]"
    if ns == "x":
        return f"{parts[0]}.{name}({', '.join(parts[1:])})"
    text = f"{ns + '.' if ns else ''}{name}({', '.join(parts)})"
    return text if len(text) <= 48 else text[:46] + "…)"


def _first_tensor(obj: Any) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values()))
    return None


def _tensors(args: Iterable[Any]) -> list[torch.Tensor]:
    found = []
    for a in args:
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(t for t in a if isinstance(t, torch.Tensor))
    return found


def _merged(in_shape: Shape, out_shape: Shape) -> tuple[int, Shape] | None:
    """If out merges consecutive dims of in (same number of values), (start, merged dims)."""
    if len(out_shape) >= len(in_shape) or math.prod(in_shape) != math.prod(out_shape):
        return None
    if not out_shape:
        return None
    k = 0
    while k < len(out_shape) - 1 and in_shape[k] == out_shape[k]:
        k += 1
    tail = 0
    while (tail < len(out_shape) - k - 1 and in_shape[-1 - tail] == out_shape[-1 - tail]):
        tail += 1
    merged = tuple(in_shape[k:len(in_shape) - tail])
    if math.prod(merged) != out_shape[k] or len(merged) < 2:
        return None
    return k, merged


def _product_text(start: int, dims: Shape, ndim_in: int, with_channels: bool = True) -> str:
    words = [str(d) for d in dims]
    if with_channels and start == 1 and ndim_in >= 3:
        words[0] = f"{dims[0]} channels"
    return " × ".join(words)


def _explain_module(module: nn.Module, shape: Shape) -> Any:
    if not isinstance(module, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                               nn.modules.pooling._AvgPoolNd)):
        return None
    try:
        from . import explain
        return explain(module, tuple(shape))
    except Exception:  # the core is optional here: a row without its derivation is fine
        return None


def _functional_call(name: str, args: tuple, kwargs: dict) -> dict[str, Any] | None:
    """A functional conv/pool call's settings in PyTorch's names, or None."""
    if name in _POOL_KIND:
        kind = _POOL_KIND[name]
        names = _POOL_ARGS[kind]
        bound = dict(zip(names, args[1:]))
        bound.update({k: v for k, v in kwargs.items() if k in names})
        if "kernel_size" not in bound:
            return None
        bound["stride"] = bound.get("stride") or bound["kernel_size"]
        bound.setdefault("padding", 0)
        bound.setdefault("ceil_mode", False)
        if kind == "max_pool":
            bound.setdefault("dilation", 1)
        return {"kind": kind, "nd": int(name[-2]), **bound}
    if name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d"):
        kind = "conv_transpose" if name.startswith("conv_transpose") else "conv"
        bound = dict(zip(_CONV_ARGS[kind], args[1:]))
        bound.update({k: v for k, v in kwargs.items() if k in _CONV_ARGS[kind]})
        weight = bound.pop("weight", None)
        bound.pop("bias", None)
        if not isinstance(weight, torch.Tensor):
            return None
        groups = int(bound.get("groups", 1))
        if kind == "conv":
            chans = {"in_channels": weight.shape[1] * groups, "out_channels": weight.shape[0]}
        else:
            chans = {"in_channels": weight.shape[0], "out_channels": weight.shape[1] * groups}
        return {"kind": kind, "nd": int(name[-2]), "kernel_size": tuple(weight.shape[2:]),
                "stride": 1, "padding": 0, "dilation": 1, "groups": groups, **chans,
                **({"output_padding": 0} if kind == "conv_transpose" else {}), **bound}
    return None


def _explain_functional(call: dict[str, Any], x: torch.Tensor) -> Any:
    try:
        from . import explain
        nd = call["nd"]
        return explain(tuple(x.shape[-nd:]), call["kernel_size"], call["stride"],
                       call["padding"], call.get("dilation", 1), kind=call["kind"],
                       output_padding=call.get("output_padding", 0),
                       ceil_mode=bool(call.get("ceil_mode", False)))
    except Exception:  # optional, as above
        return None


def _params_of(module: nn.Module) -> int:
    total = 0
    for p in module._parameters.values():
        if p is not None and not isinstance(p, (UninitializedParameter, UninitializedBuffer)):
            total += p.numel()
    return total


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class _Frame:
    module: nn.Module
    name: str
    rows_at_entry: int
    input_shapes: tuple[Shape, ...]
    source: int | None
    needed: dict[str, int]
    problem: Problem | None
    lazy: bool


# ----------------------------------------------------------------------------- the tracer


class _Tracer(TorchFunctionMode):
    def __init__(self, names: dict[int, str], batch: int | None, explain: bool) -> None:
        super().__init__()
        self.names = names
        self.batch = batch
        self.explain = explain
        self.rows: list[Row] = []
        self.stack: list[_Frame] = []
        self.producer: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []  # keeps ids unique while the trace runs
        self.problems: list[Problem] = []
        self.linear_in: dict[str, int] = {}
        self.paused = 0

    # -- provenance
    def _mark(self, tensor: Any, index: int | None) -> None:
        t = _first_tensor(tensor)
        if t is not None and index is not None:
            self.producer[id(t)] = index
            self.keep.append(t)

    def _source(self, tensor: Any) -> int | None:
        t = _first_tensor(tensor)
        return None if t is None else self.producer.get(id(t))

    def _origin(self, index: int | None) -> str:
        if index is None:
            return "the input"
        r = self.rows[index]
        return f"{r.name} ({r.op})" if r.is_module else r.name

    def _flatten_origin(self, index: int | None, value: int) -> str:
        """How ``value`` features arose: '256 channels × 4 × 4 after conv_layer.17 (MaxPool2d)'."""
        seen = 0
        while index is not None and seen < 64:
            r = self.rows[index]
            if r.output_shape is None or not r.output_shape or r.output_shape[-1] != value:
                return ""
            if r.flatten_dims is not None and len(r.output_shape) == r.flatten_start + 1:
                text = _product_text(r.flatten_start, r.flatten_dims, len(r.input_shape or ()))
                return f"{text} after {self._origin(r.source)}"
            index = r.source
            seen += 1
        return ""

    def _where(self) -> str:
        return self.stack[-1].name if self.stack else ""

    def _empty(self, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
        self.paused += 1
        try:
            return torch.empty(tuple(shape), dtype=like.dtype, device="meta")
        finally:
            self.paused -= 1

    # -- module hooks
    def pre_hook(self, module: nn.Module, args: tuple) -> tuple | None:
        x = _first_tensor(args)
        frame = _Frame(module, self.names.get(id(module), type(module).__name__),
                       len(self.rows), tuple(tuple(t.shape) for t in _tensors(args)[:2]),
                       self._source(args), {}, None,
                       isinstance(module, LazyModuleMixin) and module.has_uninitialized_params())
        self.stack.append(frame)
        if x is None or not _is_builtin(module):
            return None
        fixed = self._check(module, frame, x)
        if fixed is None:
            return None
        return (fixed, *args[1:])

    def _check(self, module: nn.Module, frame: _Frame, x: torch.Tensor) -> torch.Tensor | None:
        """Compare a layer's setting with its input; on a mismatch record it and return an
        input of the expected shape so the trace continues as if the layer were fixed."""
        shape = tuple(x.shape)
        name, kind = frame.name, type(module).__name__
        if isinstance(module, nn.Linear) and shape:
            got = shape[-1]
            self.linear_in.setdefault(name, got)
            if frame.lazy or got == module.in_features:
                return None
            frame.needed = {"in_features": got}
            origin = self._flatten_origin(frame.source, got)
            bias = "" if module.bias is not None else ", bias=False"
            if origin:
                msg = (f"{name} ({kind}) has in_features={module.in_features} but its input "
                       f"provides {got} features: {origin}.")
                fix = f"nn.Linear({got}, {module.out_features}{bias})  # {origin}"
            elif len(shape) > 2:
                per = math.prod(shape[1:])
                msg = (f"{name} ({kind}) has in_features={module.in_features} but receives "
                       f"{_fmt(shape)} from {self._origin(frame.source)}: a Linear acts on the "
                       f"last dimension only ({got}). To use all "
                       f"{' × '.join(map(str, shape[1:]))} = {per} values of each sample, "
                       f"flatten first.")
                fix = (f"nn.Flatten(), nn.Linear({per}, {module.out_features}{bias})  "
                       f"# or nn.Linear({got}, {module.out_features}) to act on the last "
                       f"dimension")
            else:
                msg = (f"{name} ({kind}) has in_features={module.in_features} but receives "
                       f"{got} features from {self._origin(frame.source)}.")
                fix = f"nn.Linear({got}, {module.out_features}{bias})"
            frame.problem = Problem(
                name, msg, fix,
                f"# or let PyTorch infer it on the first batch: "
                f"nn.LazyLinear({module.out_features}{bias})")
            self.problems.append(frame.problem)
            return self._empty((*shape[:-1], module.in_features), x)
        if isinstance(module, nn.modules.conv._ConvNd) and not frame.lazy:
            nd = len(module.kernel_size)
            if len(shape) not in (nd + 1, nd + 2):
                return None  # PyTorch's own error says it best; caught in trace()
            c_dim = len(shape) - nd - 1
            got = shape[c_dim]
            if got == module.in_channels:
                return None
            frame.needed = {"in_channels": got}
            args = module.extra_repr().split(", ", 1)
            fix = f"nn.{kind}({got}, {args[1] if len(args) > 1 else ''})"
            frame.problem = Problem(
                name, f"{name} ({kind}) has in_channels={module.in_channels} but receives "
                      f"{got} channels from {self._origin(frame.source)} (input {_fmt(shape)}).",
                fix, f"# or nn.Lazy{kind}({module.out_channels}, ...) infers in_channels")
            self.problems.append(frame.problem)
            fixed = list(shape)
            fixed[c_dim] = module.in_channels
            return self._empty(fixed, x)
        norm_c = None
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not frame.lazy:
            norm_c, attr = module.num_features, "num_features"
        elif isinstance(module, nn.GroupNorm):
            norm_c, attr = module.num_channels, "num_channels"
        if norm_c is not None and len(shape) >= 2:
            got = shape[1]
            if got == norm_c:
                return None
            frame.needed = {attr: got}
            args = module.extra_repr().split(", ", 1)
            if isinstance(module, nn.GroupNorm):
                fix = f"nn.GroupNorm({module.num_groups}, {got})"
            else:
                fix = f"nn.{kind}({got}{', ' + args[1] if len(args) > 1 else ''})"
            frame.problem = Problem(
                name, f"{name} ({kind}) has {attr}={norm_c} but receives {got} channels from "
                      f"{self._origin(frame.source)} (input {_fmt(shape)}).", fix)
            self.problems.append(frame.problem)
            return None  # a fixed norm layer keeps the shape: let what arrived pass on
        if isinstance(module, nn.LayerNorm):
            want = tuple(module.normalized_shape)
            if shape[-len(want):] == want:
                return None
            got_t = shape[-len(want):]
            frame.needed = {"normalized_shape": got_t[-1]} if len(got_t) == 1 else {}
            frame.problem = Problem(
                name, f"{name} (LayerNorm) normalizes over {list(want)} but the last "
                      f"dimension(s) of its input are {list(got_t)}.",
                f"nn.LayerNorm({got_t[0] if len(got_t) == 1 else list(got_t)})")
            self.problems.append(frame.problem)
            return None
        return None

    def hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        frame = self.stack.pop()
        out = _first_tensor(output)
        if len(self.rows) == frame.rows_at_entry:
            out_shape = tuple(out.shape) if out is not None else None
            row = Row(len(self.rows), frame.name, type(module).__name__, True,
                      frame.input_shapes, out_shape, _params_of(module),
                      needed=frame.needed, problem=frame.problem, source=frame.source,
                      module=module)
            if self.explain and frame.input_shapes:
                row.explanation = _explain_module(module, frame.input_shapes[0])
            self._add_flatten(row)
            self.rows.append(row)
            self._mark(output, row.index)
        elif out is not None and self.rows:
            # a container: its output comes from its last recorded step
            if self._source(output) is None:
                self._mark(output, len(self.rows) - 1)

    def _add_flatten(self, row: Row) -> None:
        if row.input_shape is None or row.output_shape is None:
            return
        m = _merged(row.input_shape, row.output_shape)
        if m is not None:
            row.flatten_start, row.flatten_dims = m
            text = _product_text(m[0], m[1], len(row.input_shape))
            row.flatten = f"{text} = {math.prod(m[1])}"

    # -- functional calls
    def __torch_function__(self, func: Callable, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.lazy:
            args, kwargs = self._lazy_standins(frame, args, kwargs)
        ns, name = _func_name(func)
        recording = frame is None or not _is_builtin(frame.module)
        if not recording and name in _NORMS and args and isinstance(args[0], torch.Tensor):
            return self._empty(args[0].shape, args[0])
        if not recording or name in _IGNORED:
            if name in _SAME_SHAPE and args and isinstance(args[0], torch.Tensor):
                return self._same_shape(name, args, kwargs)
            out = self._run(func, name, args, kwargs)
            if isinstance(out, torch.Tensor) and id(out) not in self.producer:
                src = self._source(_tensors(args)[:1])
                if src is not None:
                    self._mark(out, src)
            return out
        ins = _tensors(args)
        if not ins:
            return func(*args, **kwargs)
        x = ins[0]
        in_shapes = tuple(tuple(t.shape) for t in ins[:2])
        label = _label(ns, name, args, kwargs)
        where = frame.name if frame is not None else ""
        row_name = f"{where}: {label}" if where else label
        problem = None
        batch_fix = (ns in ("x", "torch") and name in _RESHAPES and self.batch is not None
                     and x.dim() >= 2 and x.shape[0] == self.batch)
        try:
            if name in _SAME_SHAPE and isinstance(args[0], torch.Tensor):
                out = self._same_shape(name, args, kwargs)
            else:
                out = self._run(func, name, args, kwargs)
        except Exception as err:
            if not batch_fix:
                raise
            out = None
            cause = str(err).split("\n")[0]
        t = _first_tensor(out)
        if batch_fix and (t is None or (t.dim() == 2 and t.shape[0] != x.shape[0])):
            per = math.prod(x.shape[1:])
            dims = _product_text(1, tuple(x.shape[1:]), x.dim())
            if t is None:
                what = f"fails ({cause})"
            else:
                what = (f"turns the batch of {x.shape[0]} into a batch of {t.shape[0]} "
                        f"rows of {t.shape[1]}")
            problem = Problem(
                row_name,
                f"{label} in {where + '.' if where else ''}forward {what}: each sample has {dims} = "
                f"{per} values. The -1 belongs in the feature dimension, not the batch "
                f"dimension; the rest of this trace goes on as if the batch were kept.",
                f"x = x.flatten(1)  # or x.view(x.size(0), -1): {dims} = {per} per sample")
            self.problems.append(problem)
            out = t = self._empty((x.shape[0], per), x)
        if t is None:
            return out
        op = f"{'Tensor' if ns == 'x' else ns}.{name}" if ns else name
        row = Row(len(self.rows), row_name, op, False, in_shapes, tuple(t.shape),
                  problem=problem, source=self._source(x))
        if self.explain and ns in ("F", "torch"):
            row.call = _functional_call(name, args, kwargs)
            if row.call is not None:
                row.explanation = _explain_functional(row.call, x)
        self._add_flatten(row)
        self.rows.append(row)
        self._mark(t, row.index)
        return out

    def _run(self, func: Callable, name: str, args: tuple, kwargs: dict) -> Any:
        rule = _shape_rule(name, args, kwargs)
        if rule is None:
            return func(*args, **kwargs)
        shape, dtype = rule
        if name.endswith("_") or name.startswith("__i"):
            return args[0]
        self.paused += 1
        try:
            return torch.empty(shape, dtype=dtype, device="meta")
        finally:
            self.paused -= 1

    def _same_shape(self, name: str, args: tuple, kwargs: dict) -> torch.Tensor:
        x = args[0]
        if name.endswith("_") or kwargs.get("inplace") is True or (
                name.startswith(("dropout", "alpha", "feature")) and len(args) > 3
                and args[3] is True) or (name in ("relu", "relu6", "leaky_relu", "elu",
                                                 "hardtanh", "selu", "celu", "threshold")
                                         and len(args) > 1 and args[-1] is True):
            return x
        return self._empty(x.shape, x)

    def _lazy_standins(self, frame: _Frame, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Meta tensors in place of a Lazy layer's uninitialized weights, shaped from its input."""
        lazy_types = (UninitializedParameter, UninitializedBuffer)
        if not any(isinstance(a, lazy_types) for a in (*args, *kwargs.values())):
            return args, kwargs
        module = frame.module
        x = _first_tensor(args)
        shape = tuple(x.shape)
        if isinstance(module, nn.Linear):
            w = (module.out_features, shape[-1])
        elif isinstance(module, nn.modules.conv._ConvNd):
            nd = len(module.kernel_size)
            c = shape[len(shape) - nd - 1]
            if module.transposed:
                w = (c, module.out_channels // module.groups, *module.kernel_size)
            else:
                w = (module.out_channels, c // module.groups, *module.kernel_size)
        else:  # lazy norm layers: per-channel vectors
            w = (shape[1],)
        if isinstance(module, nn.Linear):
            bias: tuple[int, ...] = (module.out_features,)
        elif isinstance(module, nn.modules.conv._ConvNd):
            bias = (module.out_channels,)
        else:
            bias = w

        def swap(a: Any, first: list[bool]) -> Any:
            if isinstance(a, lazy_types):
                s = w if first[0] else bias
                first[0] = False
                return self._empty(s, x)
            return a

        first = [True]
        new_args = tuple(swap(a, first) for a in args)
        new_kwargs = {k: swap(v, first) for k, v in kwargs.items()}
        return new_args, new_kwargs


# ----------------------------------------------------------------------------- entry points

_warm_lock = threading.Lock()
_warmed = False


def warm_up(background: bool = False) -> threading.Thread | None:
    """Pay the one-off costs of a first trace now (a tiny trace), once per process.

    They are small: the tracer answers convolution, pooling, linear, adaptive pooling,
    activations, normalization and broadcasting arithmetic itself, which spares most
    models PyTorch's Python meta kernels, whose first use imports sympy and
    ``torch._dynamo`` (1-2 s here). Ops outside that list still pay it once.

    With ``background=True`` the work runs in a daemon thread, returned so callers may join.

    >>> warm_up()
    """
    def run() -> None:
        global _warmed
        with _warm_lock:
            if _warmed:
                return
            tiny = nn.Sequential(nn.Conv2d(1, 1, 3, device="meta"), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Flatten(), nn.Linear(1, 1, device="meta"))
            trace(tiny, (1, 1, 4, 4))
            _warmed = True
    if background:
        thread = threading.Thread(target=run, name="convwidget-warm-up", daemon=True)
        thread.start()
        return thread
    run()
    return None


def _check_shape(input_shape: Any) -> Shape:
    try:
        shape = tuple(int(s) for s in input_shape)
        bad = any(s < 0 for s in shape) or any(
            float(a) != int(a) for a in input_shape)
    except (TypeError, ValueError):
        shape, bad = (), True
    if bad or not shape:
        raise ValueError(f"input_shape must be a sequence of non-negative whole numbers like "
                         f"(1, 3, 32, 32), got {input_shape!r}")
    return shape


def trace(model: nn.Module | str, input_shape: Sequence[int], *, training: bool = False,
          dtype: torch.dtype | None = None, explain: bool = True) -> TraceReport:
    """Trace ``model`` on an input of ``input_shape`` without touching its weights.

    Parameters
    ----------
    model : an ``nn.Module`` (left exactly as it was: parameters, buffers, device, dtype,
        train/eval flags, hooks), or pasted PyTorch text (see ``convwidget.parse``).
    input_shape : the full input shape, batch first, e.g. ``(1, 3, 32, 32)``.
    training : trace the training-mode path (default: eval mode, as for inference).
    dtype : the input's dtype (default: ``torch.long`` when the first layer is an
        ``nn.Embedding``, else the model's first floating parameter's, else float32).
    explain : attach ``convwidget.explain`` derivations to conv/pool rows.

    Returns
    -------
    TraceReport, with ``rows``, ``problems``, ``linear_in_features``, ``ok``.

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 24 * 24, 10))
    >>> r = trace(net, (2, 1, 28, 28))
    >>> r.ok, r.output_shape, r.linear_in_features
    (True, (2, 10), {'3': 2304})
    >>> r.flatten_row.flatten
    '4 channels × 24 × 24 = 2304'
    """
    notes: list[str] = []
    if isinstance(model, str):
        from .pasted import parse
        model = parse(model)
    if not isinstance(model, nn.Module):
        raise TypeError(f"trace() needs a torch.nn.Module or pasted PyTorch text, got "
                        f"{type(model).__name__}")
    notes.extend(getattr(model, "convwidget_notes", None) or [])
    shape = _check_shape(input_shape)

    first_leaf = next((m for m in model.modules() if not m._modules), None)
    if dtype is None and isinstance(first_leaf, (nn.Embedding, nn.EmbeddingBag)):
        dtype = torch.long  # token ids
    if dtype is None:
        dtype = next((p.dtype for p in model.parameters()
                      if not isinstance(p, UninitializedParameter) and p.is_floating_point()),
                     torch.float32)
    names = {id(m): n for n, m in model.named_modules()}
    names[id(model)] = ""
    standins: dict[str, torch.Tensor] = {}
    for n, t in (*model.named_parameters(), *model.named_buffers()):
        if not isinstance(t, (UninitializedParameter, UninitializedBuffer)):
            standins[n] = torch.empty(t.shape, dtype=t.dtype, device="meta")
    total = sum(p.numel() for p in model.parameters()
                if not isinstance(p, UninitializedParameter))
    tracer = _Tracer(names, shape[0] if len(shape) >= 2 else None, explain)
    modules = list(model.modules())
    modes = [m.training for m in modules]
    handles = []
    lazy_hooks: list[tuple[nn.Module, dict, dict]] = []
    output_shape = None
    error = None
    try:
        for m in modules:
            m.training = training
            if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params():
                # Its own pre-hook would materialize real weights in the user's model:
                # set it aside (the dicts are restored as they were, order included).
                hook_id = m._initialize_hook.id
                saved = (dict(m._forward_pre_hooks), dict(m._forward_pre_hooks_with_kwargs))
                lazy_hooks.append((m, *saved))
                m._forward_pre_hooks.pop(hook_id, None)
                m._forward_pre_hooks_with_kwargs.pop(hook_id, None)
            handles.append(m.register_forward_pre_hook(tracer.pre_hook))
            handles.append(m.register_forward_hook(tracer.hook))
        x = torch.empty(shape, dtype=dtype, device="meta")
        try:
            with torch.no_grad(), tracer:
                out = functional_call(model, standins, (x,))
            t = _first_tensor(out)
            output_shape = tuple(t.shape) if t is not None else None
        except _Stop as stop:
            error = stop.problem.message
            tracer.problems.append(stop.problem)
        except Exception as err:  # the model's own failure: report it with context
            problem = _failure(tracer, err)
            error = problem.message
            tracer.problems.append(problem)
    finally:
        for h in handles:
            h.remove()
        for m, pre, pre_kw in lazy_hooks:
            m._forward_pre_hooks.clear()
            m._forward_pre_hooks.update(pre)
            m._forward_pre_hooks_with_kwargs.clear()
            m._forward_pre_hooks_with_kwargs.update(pre_kw)
        for m, mode in zip(modules, modes):
            m.training = mode
    return TraceReport(
        model_name=type(model).__name__, input_shape=shape, rows=tracer.rows,
        output_shape=output_shape, linear_in_features=tracer.linear_in,
        problems=tracer.problems, error=error, notes=notes, total_params=total,
        _model=model, _options={"training": training, "dtype": dtype})


def _failure(tracer: _Tracer, err: Exception) -> Problem:
    cause = str(err).strip().split("\n")[0]
    if not tracer.stack:
        return Problem("forward", f"the forward pass failed: {cause}")
    frame = tracer.stack[-1]
    kind = type(frame.module).__name__
    shape = frame.input_shapes[0] if frame.input_shapes else None
    explanation = None
    if shape is not None and _is_builtin(frame.module):
        explanation = _explain_module(frame.module, shape)
    reason = getattr(explanation, "error", None) or cause
    where = f"{frame.name} ({kind})" if frame.name else kind
    after = (f"; the steps before it are listed above (up to "
             f"{tracer.rows[-1].name})" if tracer.rows else "")
    return Problem(frame.name or kind,
                   f"{where} cannot take input {_fmt(shape)}: {reason}{after}.")


# ----------------------------------------------------------------------------- input sizes


def _flatten_key(report: TraceReport) -> tuple[Shape | None, str]:
    row = report.flatten_row
    if row is not None:
        return row.input_shape, "the flatten step"
    return report.output_shape, "the output"


def input_size_range(model: nn.Module | str, input_shape: Sequence[int], dim: int = -1,
                     *, training: bool = False, dtype: torch.dtype | None = None,
                     limit: int = 1 << 14) -> SizeRange:
    """The input sizes along ``dim`` that give the same shape at the flatten step.

    Floor division in convolutions and pooling loses information: the forum CIFAR-10 net
    gives ``256 × 4 × 4`` for every input side from 32 to 39. Also reports the smallest size
    the layers accept. Only ``dim`` varies; the other dimensions stay as given. The search
    re-traces (light traces, no derivations) and bisects, assuming larger inputs never
    shrink the flatten shape (true for convolution and pooling chains).

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.MaxPool2d(2),
    ...                     nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    >>> r = input_size_range(net, (1, 3, 32, 32), dim=-1)
    >>> r.low, r.high, r.shape, r.smallest
    (32, 35, (1, 8, 8, 8), 4)
    """
    if isinstance(model, str):
        from .pasted import parse
        model = parse(model)
    shape = list(_check_shape(input_shape))
    d = dim if dim >= 0 else len(shape) + dim
    if not 0 <= d < len(shape):
        raise ValueError(f"dim={dim} is outside the input shape {_fmt(shape)}")
    size = shape[d]
    cache: dict[int, tuple[bool, Shape | None]] = {}
    at = ["the flatten step"]

    chain = _chain_layers(model)

    def probe(n: int) -> tuple[bool, Shape | None]:
        if n not in cache:
            shape[d] = n
            fast = _chain_key(chain, tuple(shape)) if chain is not None else None
            if fast is not None:
                key, where = fast
            else:
                r = trace(model, tuple(shape), training=training, dtype=dtype, explain=False)
                key, where = _flatten_key(r)
                if r.error is not None:
                    cache[n] = (False, key)
                    return cache[n]
            cache[n] = (True, key)
            if n == size:
                at[0] = where
        return cache[n]

    works, key = probe(size)
    if not works:
        raise ShapeError(f"the model does not accept input size {size} along dim {d}: "
                         f"{trace(model, tuple(_with(shape, d, size)), explain=False).error}")

    def same(n: int) -> bool:
        ok, k = probe(n)
        return ok and k == key

    def edge(step_sign: int) -> int:
        good, step = size, 1
        while True:
            n = size + step_sign * step
            if n < 1 or n > limit or not same(n):
                break
            good, step = n, step * 2
        bad = max(1, min(limit, size + step_sign * step))
        if bad == good:
            return good
        lo, hi = sorted((good, bad))  # good and bad bracket the edge
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if same(mid) == same(good):
                if good < bad:
                    lo = mid
                else:
                    hi = mid
            else:
                if good < bad:
                    hi = mid
                else:
                    lo = mid
        return lo if good < bad else hi

    lo, hi = 1, size  # smallest accepted size: bisect on "the layers accept it"
    if probe(1)[0]:
        smallest = 1
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if probe(mid)[0]:
                hi = mid
            else:
                lo = mid
        smallest = hi
    # The flatten shape never shrinks as the input grows, so equal ends mean equal between:
    # adaptive pooling (same shape at every size) is settled in two probes.
    high = limit if size <= limit and same(limit) else edge(+1)
    low = smallest if same(smallest) else edge(-1)
    return SizeRange(dim=d, size=size, low=low, high=high, shape=key, smallest=smallest,
                     at=at[0])


def _chain_layers(model: nn.Module) -> list[nn.Module] | None:
    """The layers of a plain ``nn.Sequential`` of torch.nn layers, else None."""
    if type(model) is not nn.Sequential:
        return None
    layers: list[nn.Module] = []
    for m in model:
        if type(m) is nn.Sequential:
            inner = _chain_layers(m)
            if inner is None:
                return None
            layers.extend(inner)
        elif not _is_builtin(m) or isinstance(m, LazyModuleMixin):
            return None
        else:
            layers.append(m)
    return layers


def _chain_key(layers: list[nn.Module], shape: Shape) -> tuple[Shape, str] | None:
    """The shape at a plain chain's flatten step by the core's arithmetic (microseconds a
    layer instead of a trace). None when the arithmetic cannot say or refuses: the caller
    then traces, so both paths always agree."""
    try:
        from .layers import output_shape
        for m in layers:
            if isinstance(m, nn.Flatten):
                out = output_shape(m, shape)
                if _merged(shape, out) is not None:
                    return shape, "the flatten step"
                shape = out
                continue
            shape = output_shape(m, shape)
        return shape, "the output"
    except Exception:  # ShapeError, or a layer the core does not know: trace instead
        return None


def _with(shape: list[int], d: int, n: int) -> list[int]:
    s = list(shape)
    s[d] = n
    return s


# ----------------------------------------------------------------------------- command line


def main_trace(argv_or_args: Sequence[str] | argparse.Namespace | None = None) -> int:
    """``python -m convwidget trace FILE --input 1,3,32,32``: print the trace of a model.

    FILE is pasted PyTorch text, ``-`` for standard input, or ``package.module:ClassName``
    for an importable class built with no arguments. Exit status 0 when the model is
    consistent, 1 when the report lists problems, 2 for bad input (a sentence on stderr).
    """
    if isinstance(argv_or_args, argparse.Namespace):
        args = argv_or_args
    else:
        parser = argparse.ArgumentParser(
            prog="convwidget trace",
            description="Trace a model's shapes on the meta device and say which "
                        "in_features each Linear needs.")
        parser.add_argument("file", metavar="FILE",
                            help="pasted PyTorch text, '-' for stdin, or package.module:Class")
        parser.add_argument("--input", required=True,
                            help="input shape, batch first, e.g. 1,3,32,32")
        parser.add_argument("--sizes", action="store_true",
                            help="also print which input sizes (last dimension) give the "
                                 "same shape at the flatten step")
        try:
            args = parser.parse_args(list(argv_or_args) if argv_or_args is not None else None)
        except SystemExit as exc:
            return int(exc.code or 0)
    spec = getattr(args, "model", None) or getattr(args, "file", None)
    given = getattr(args, "input", None)
    text = ",".join(map(str, given)) if isinstance(given, (tuple, list)) else str(given or "")
    try:
        shape = _check_shape([s for s in text.replace("x", ",").replace("×", ",").split(",")
                              if s.strip()])
    except ValueError:
        print(f"convwidget trace: --input must be the input shape as comma-separated whole "
              f"numbers, batch first, e.g. --input 1,3,32,32 (got {text!r})", file=sys.stderr)
        return 2
    try:
        from .pasted import load_model
        model = load_model(spec)
    except (ValueError, ImportError, OSError, AttributeError, TypeError, SyntaxError) as err:
        print(f"convwidget trace: cannot load a model from {spec!r}: {err}", file=sys.stderr)
        return 2
    try:
        report = trace(model, shape)
    except (ValueError, TypeError) as err:
        print(f"convwidget trace: {err}", file=sys.stderr)
        return 2
    print(report)
    if getattr(args, "sizes", False) and report.error is None:
        try:
            print(report.input_size_range(dim=-1))
        except (ValueError, TypeError) as err:
            print(f"convwidget trace: {err}", file=sys.stderr)
    return 0 if report.ok else 1
