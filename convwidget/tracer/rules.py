"""Shape rules: the output shape of a common call, answered without running PyTorch.

On the meta device PyTorch runs some ops through Python decompositions that import sympy
and ``torch._dynamo`` on first use (1-2 s) or cost ~0.5-9 ms each. For the common ops the
answer is one line of arithmetic: convolution and pooling come from convwidget's core,
linear, adaptive pooling and broadcasting arithmetic from their rules here. A rule answers
only when the inputs are plainly valid; otherwise it returns None and PyTorch runs (and
raises its own error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ..arithmetic import conv_output_size, conv_transpose_output_size, pool_output_size
from ..errors import ShapeError
from ..layers.spatial import onednn_transposed
from ..spec import LayerSpec
from .calls import CONV_NAMES, POOL_KIND, functional_call
from .report import Shape

__all__ = ["ADAPTIVE", "IGNORED", "NORMS", "RESHAPES", "SAME_SHAPE", "broadcast", "shape_rule"]

# Calls that neither change a shape nor deserve a row.
IGNORED = frozenset({
    "__get__", "__set__", "contiguous", "to", "float", "double", "half", "bfloat16", "type",
    "type_as", "detach", "detach_", "clone", "requires_grad_", "cpu", "cuda",
    "retain_grad", "__setstate__", "__reduce_ex__", "__deepcopy__",
})
RESHAPES = frozenset({"view", "reshape"})
# Elementwise activations and dropout keep the shape; on the meta device some of them run a
# Python decomposition (~0.5 ms each), so the tracer answers them with an empty tensor.
SAME_SHAPE = frozenset({
    "relu", "relu_", "relu6", "gelu", "silu", "sigmoid", "sigmoid_", "tanh", "tanh_",
    "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu", "celu_", "hardtanh",
    "hardtanh_", "hardswish", "hardsigmoid", "mish", "softplus", "prelu", "rrelu", "rrelu_",
    "dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "threshold", "threshold_", "logsigmoid", "softsign", "tanhshrink",
})
# Normalization keeps the shape too (~9 ms each on meta for batch_norm's decomposition); only
# answered this way inside the torch.nn layers, whose sizes the pre-hook has checked.
NORMS = frozenset({"batch_norm", "instance_norm", "group_norm", "layer_norm"})
# On the meta device these few common ops run Python decompositions that import
# torch._dynamo on first use (~1 s cold); their shape rule is simple enough to answer here.
ADAPTIVE = frozenset({"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
                      "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"})
_ELEMENTWISE2 = frozenset({"add", "__add__", "__radd__", "sub", "__sub__", "__rsub__", "mul",
                           "__mul__", "__rmul__", "add_", "__iadd__", "sub_", "__isub__",
                           "mul_", "__imul__"})

Rule = tuple[Shape, torch.dtype]


def broadcast(a: Sequence[int], b: Sequence[int]) -> Shape | None:
    """The broadcast shape of ``a`` and ``b``, None when they do not broadcast.

    >>> broadcast((2, 3, 1), (4,)), broadcast((2, 3), (4,))
    ((2, 3, 4), None)
    """
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _per_dim(value: Any, nd: int) -> tuple[Any, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(value) if len(value) == nd else tuple(value) * nd
    return (value,) * nd


def _pool_rule(call: dict[str, Any], x: torch.Tensor) -> Rule | None:
    nd = call["nd"]
    k, st = _per_dim(call["kernel_size"], nd), _per_dim(call["stride"], nd)
    dil = _per_dim(call.get("dilation", 1), nd)
    pads = _per_dim(call["padding"], nd)
    sizes = tuple(x.shape[-nd:])
    if call["kind"] == "avg_pool" and nd == 3 and any(n < kk for n, kk in zip(sizes, k, strict=False)):
        return None  # avg_pool3d refuses an input smaller than the kernel, padding or not
    ceil = bool(call.get("ceil_mode", False))
    out = tuple(pool_output_size(sizes[i], k[i], st[i], pads[i], dil[i], ceil) for i in range(nd))
    return (*x.shape[:-nd], *out), x.dtype


def _conv_rule(call: dict[str, Any], x: torch.Tensor, weight: Any) -> Rule | None:
    nd, pad = call["nd"], call["padding"]
    k, st = _per_dim(call["kernel_size"], nd), _per_dim(call["stride"], nd)
    dil = _per_dim(call.get("dilation", 1), nd)
    pads = (pad,) * nd if isinstance(pad, str) else _per_dim(pad, nd)
    sizes = tuple(x.shape[-nd:])
    if weight.dtype != x.dtype or x.shape[-nd - 1] != call["in_channels"] or (
            isinstance(pad, str) and any(v != 1 for v in st)):
        return None
    if call["kind"] == "conv":
        out = tuple(conv_output_size(sizes[i], k[i], st[i], pads[i], dil[i]) for i in range(nd))
    else:
        op = _per_dim(call.get("output_padding", 0), nd)
        out = _transposed_sizes(call, x, sizes, (k, st, pads, op, dil))
    if any(n < 0 for n in out) or (0 in out and call["kind"] == "conv"):
        return None
    return (*x.shape[:-nd - 1], call["out_channels"], *out), x.dtype


def _transposed_sizes(call: dict[str, Any], x: torch.Tensor, sizes: tuple[int, ...],
                      per_dim: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    """A transposed convolution's sizes; an output of exactly 0 is an empty tensor where torch
    takes its oneDNN path (``layers.spatial.onednn_transposed``) and refused elsewhere."""
    k, st, pads, op, dil = per_dim
    nd = len(sizes)
    raw = tuple((sizes[i] - 1) * st[i] - 2 * pads[i] + dil[i] * (k[i] - 1) + op[i] + 1
                for i in range(nd))
    if min(raw) == 0 and x.dtype == torch.float32:
        spec = LayerSpec.from_settings(
            kind="conv_transpose", kernel_size=k, stride=st, padding=pads, dilation=dil,
            output_padding=op, groups=call.get("groups", 1), ndim=nd)
        if onednn_transposed(spec, tuple(x.shape)):
            return raw
    return tuple(conv_transpose_output_size(sizes[i], k[i], st[i], pads[i], op[i], dil[i])
                 for i in range(nd))


def _conv_pool_rule(name: str, x: torch.Tensor, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Rule | None:
    """Convolution and pooling shapes by the arithmetic core (PyTorch's meta kernels for these
    import sympy on first use, ~1 s). Anything unusual or refused: None, and PyTorch decides."""
    try:
        call = functional_call(name, args, kwargs)
        if call is None:
            return None
        nd = call["nd"]
        if x.dim() not in (nd + 1, nd + 2) or any(n <= 0 for n in x.shape[-nd - 1:]):
            return None
        if kwargs.get("return_indices") or (call["kind"] == "max_pool" and len(args) > 6
                                            and args[6]):
            return None
        if call["kind"] in ("max_pool", "avg_pool"):
            return _pool_rule(call, x)
        return _conv_rule(call, x, args[1] if len(args) > 1 else kwargs.get("weight"))
    except ShapeError:
        # A setting PyTorch refuses on real tensors; its meta kernels let some through
        # (e.g. output_padding >= stride), so the core's refusal stands.
        raise
    except Exception:  # anything unexpected: let PyTorch say it
        return None


def _linear_rule(x: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Rule | None:
    w = args[1] if len(args) > 1 else kwargs.get("weight")
    if (isinstance(w, torch.Tensor) and w.dim() == 2 and x.dim() >= 1
            and x.shape[-1] == w.shape[1] and w.dtype == x.dtype):
        return (*x.shape[:-1], w.shape[0]), x.dtype
    return None


def _adaptive_rule(name: str, x: torch.Tensor, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Rule | None:
    nd = int(name[-2])
    size = args[1] if len(args) > 1 else kwargs.get("output_size")
    if kwargs.get("return_indices") or (len(args) > 2 and args[2]) or size is None:
        return None
    sizes = (size,) * nd if isinstance(size, int) else tuple(size)
    if x.dim() not in (nd + 1, nd + 2) or len(sizes) != nd or any(s <= 0 for s in x.shape[1:]):
        return None
    spatial = tuple(x.shape[-nd:][i] if s is None else int(s) for i, s in enumerate(sizes))
    return (*x.shape[:-nd], *spatial), x.dtype


def _interpolate_rule(x: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Rule | None:
    """``F.interpolate``: ``size``, else ``floor(size × scale_factor)`` per dim, as PyTorch
    computes it (its meta path for bilinear is a slow Python decomposition, ~15 ms)."""
    names = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
    bound = dict(zip(names, args[1:], strict=False)) | kwargs
    nd = x.dim() - 2
    size, scale = bound.get("size"), bound.get("scale_factor")
    if nd not in (1, 2, 3) or (size is None) == (scale is None) or any(n <= 0 for n in x.shape[2:]):
        return None
    if size is not None:
        if not isinstance(size, (int, list, tuple, torch.Size)):
            return None
        sizes = (size,) * nd if isinstance(size, int) else tuple(size)
        if len(sizes) != nd or not all(isinstance(n, int) and n > 0 for n in sizes):
            return None
        return (*x.shape[:2], *sizes), x.dtype
    if not isinstance(scale, (int, float, list, tuple)):
        return None
    scales = (scale,) * nd if isinstance(scale, (int, float)) else tuple(scale)
    if len(scales) != nd or not all(isinstance(f, (int, float)) and f > 0 for f in scales):
        return None
    out = tuple(math.floor(float(n) * float(f)) for n, f in zip(x.shape[2:], scales, strict=True))
    return ((*x.shape[:2], *out), x.dtype) if all(n > 0 for n in out) else None


def _elementwise_rule(name: str, x: torch.Tensor, y: Any) -> Rule | None:
    if not isinstance(y, (torch.Tensor, int, float, bool)):
        return None
    shape = broadcast(x.shape, y.shape if isinstance(y, torch.Tensor) else ())
    if shape is None:
        return None
    dtype = torch.result_type(x, y)
    inplace = name.endswith("_") or name.startswith("__i")
    if inplace and (shape != tuple(x.shape) or dtype != x.dtype):
        return None
    return shape, dtype


def shape_rule(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Rule | None:
    """(shape, dtype) for linear / adaptive pooling / conv / pool / broadcasting arithmetic
    when the inputs are plainly valid; None to let PyTorch run (and raise its own error).

    >>> x = torch.empty(1, 3, 32, 32, device="meta")
    >>> shape_rule("max_pool2d", (x, 2), {})
    ((1, 3, 16, 16), torch.float32)
    >>> shape_rule("add", (x, torch.empty(5, device="meta")), {}) is None
    True
    """
    if not args or not isinstance(args[0], torch.Tensor):
        return None
    x = args[0]
    if name == "linear":
        return _linear_rule(x, args, kwargs)
    if name in ADAPTIVE:
        return _adaptive_rule(name, x, args, kwargs)
    if name == "interpolate":
        return _interpolate_rule(x, args, kwargs)
    if name in POOL_KIND or name in CONV_NAMES:
        return _conv_pool_rule(name, x, args, kwargs)
    if name in _ELEMENTWISE2 and len(args) == 2 and not kwargs:
        return _elementwise_rule(name, x, args[1])
    return None
