"""Reading the calls a forward makes: names, labels, tensors, settings, derivations.

Small pure helpers shared by the shape rules (:mod:`.rules`) and the function mode
(:mod:`.mode`): which namespace a torch function lives in, how a call is written back as
a line of Python (``x.view(-1, 1024)``), the tensors among its arguments, a functional
conv/pool call's settings, and the core's derivation for a conv/pool step.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from ..explanations import explain
from .report import Shape

__all__ = [
    "explain_functional",
    "explain_module",
    "first_tensor",
    "func_name",
    "functional_call",
    "base_name",
    "is_builtin",
    "own_forward",
    "torch_base",
    "label",
    "merged",
    "params_of",
    "product_text",
    "tensors",
]

BINARY = {"add": "+", "__add__": "+", "__radd__": "+", "sub": "-", "__sub__": "-",
          "__rsub__": "-", "mul": "*", "__mul__": "*", "__rmul__": "*", "div": "/",
          "true_divide": "/", "__truediv__": "/", "__rtruediv__": "/", "matmul": "@",
          "__matmul__": "@", "__rmatmul__": "@"}
INPLACE = {"add_": "+=", "__iadd__": "+=", "sub_": "-=", "__isub__": "-=", "mul_": "*=",
           "__imul__": "*=", "div_": "/=", "__itruediv__": "/="}
POOL_KIND = {"max_pool1d": "max_pool", "max_pool2d": "max_pool", "max_pool3d": "max_pool",
             "avg_pool1d": "avg_pool", "avg_pool2d": "avg_pool", "avg_pool3d": "avg_pool"}
CONV_NAMES = frozenset({"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d"})
_POOL_ARGS = {"max_pool": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
              "avg_pool": ("kernel_size", "stride", "padding", "ceil_mode")}
_CONV_ARGS = {"conv": ("weight", "bias", "stride", "padding", "dilation", "groups"),
              "conv_transpose": ("weight", "bias", "stride", "padding", "output_padding",
                                 "groups", "dilation")}
# Keyword arguments left out of a label when they hold PyTorch's default.
_DEFAULTS = {"dilation": 1, "padding": 0, "groups": 1, "output_padding": 0, "start_dim": 0,
             "end_dim": -1}


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)


def torch_base(module: nn.Module) -> type | None:
    """The first class in the module's MRO that PyTorch defines: the layer it is, for a
    subclass of a torch.nn layer too; None for the user's own modules (subclasses of
    ``nn.Module`` or of a container, whose forward is theirs).

    >>> class MyLinear(nn.Linear): pass
    >>> torch_base(MyLinear(2, 3)).__name__, torch_base(nn.Sequential()).__name__
    ('Linear', 'Sequential')
    >>> torch_base(type("Net", (nn.Sequential,), {})()) is None
    True
    """
    cls = type(module)
    if cls in _BASES:
        return _BASES[cls]
    _BASES[cls] = found = _find_base(cls)
    return found


# per class (weakly: parametrize makes a class per layer), asked for every call of every module
_BASES: weakref.WeakKeyDictionary[type, type | None] = weakref.WeakKeyDictionary()


def _find_base(cls: type) -> type | None:
    for base in cls.__mro__:
        if base.__module__ == "torch.nn.utils.parametrize" and base.__name__.startswith("Parametrized"):
            cls = base.__mro__[1]  # weight_norm's ParametrizedLinear is a Linear
        elif base.__module__.startswith("torch."):
            if base is nn.Module or (base is not cls and base in _CONTAINERS):
                return None
            return base
    return None


def is_builtin(module: nn.Module) -> bool:
    """True for a torch.nn layer or a subclass of one, False for the user's own modules."""
    return torch_base(module) is not None


def base_name(module: nn.Module) -> str:
    """The torch.nn class name a layer is (``'Linear'`` for a ``MyLinear(nn.Linear)``)."""
    base = torch_base(module)
    return (base or type(module)).__name__


def own_forward(module: nn.Module) -> bool:
    """True when a subclass of a torch.nn layer replaces the layer's ``forward``."""
    base = torch_base(module)
    return base is not None and getattr(type(module), "forward", None) is not getattr(base, "forward", None)


def func_name(func: Callable[..., Any]) -> tuple[str, str]:
    """(namespace, name): namespace 'x' for Tensor methods, 'F', 'torch' or ''.

    >>> import torch.nn.functional as F
    >>> func_name(F.max_pool2d), func_name(torch.Tensor.view), func_name(torch.flatten)
    (('F', 'max_pool2d'), ('x', 'view'), ('torch', 'flatten'))
    """
    try:
        return _NAMES[func]
    except (KeyError, TypeError):
        pass
    found = _func_name(func)
    with contextlib.suppress(TypeError):  # unhashable: asked again next time
        _NAMES[func] = found
    return found


_NAMES: dict[Any, tuple[str, str]] = {}  # asked for every call a forward makes


def _func_name(func: Callable[..., Any]) -> tuple[str, str]:
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


def _arg_words(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
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
    return parts


def label(ns: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The call written back as Python, tensors named x, y, z, w in order.

    >>> x = torch.empty(2, 8, device="meta")
    >>> label("x", "view", (x, -1, 4), {}), label("x", "__iadd__", (x, x), {})
    ('x.view(-1, 4)', 'x += y')
    >>> label("torch", "flatten", (x, 1), {"end_dim": -1})
    'torch.flatten(x, 1)'
    """
    parts = _arg_words(args, kwargs)
    if ns == "x" and name in BINARY and len(parts) == 2:
        return f"{parts[0]} {BINARY[name]} {parts[1]}"
    if ns == "x" and name in INPLACE and len(parts) == 2:
        return f"{parts[0]} {INPLACE[name]} {parts[1]}"
    if ns == "x" and name == "__getitem__":
        return f"{parts[0]}[…]"
    if ns == "x":
        return f"{parts[0]}.{name}({', '.join(parts[1:])})"
    text = f"{ns + '.' if ns else ''}{name}({', '.join(parts)})"
    return text if len(text) <= 48 else text[:46] + "…)"


def first_tensor(obj: Any) -> torch.Tensor | None:
    """The first tensor in ``obj`` (a tensor, or nested lists, tuples and dict values)."""
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = first_tensor(o)
            if t is not None:
                return t
    if isinstance(obj, dict):
        return first_tensor(list(obj.values()))
    return None


def tensors(args: Iterable[Any]) -> list[torch.Tensor]:
    """The tensors among ``args`` and one level of lists/tuples in them."""
    found = []
    for a in args:
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(t for t in a if isinstance(t, torch.Tensor))
    return found


def merged(in_shape: Shape, out_shape: Shape) -> tuple[int, Shape] | None:
    """If out merges consecutive dims of in (same number of values), (start, merged dims).

    >>> merged((1, 256, 4, 4), (1, 4096)), merged((1, 8), (2, 4))
    ((1, (256, 4, 4)), None)
    """
    if not out_shape or len(out_shape) >= len(in_shape) or math.prod(in_shape) != math.prod(out_shape):
        return None
    k = 0
    while k < len(out_shape) - 1 and in_shape[k] == out_shape[k]:
        k += 1
    tail = 0
    while tail < len(out_shape) - k - 1 and in_shape[-1 - tail] == out_shape[-1 - tail]:
        tail += 1
    dims = tuple(in_shape[k:len(in_shape) - tail])
    if math.prod(dims) != out_shape[k] or len(dims) < 2:
        return None
    return k, dims


def product_text(start: int, dims: Shape, ndim_in: int) -> str:
    """``'256 channels × 4 × 4'``: the merged dims, the first named when it is the channels.

    >>> product_text(1, (256, 4, 4), 4), product_text(2, (4, 4), 4)
    ('256 channels × 4 × 4', '4 × 4')
    """
    words = [str(d) for d in dims]
    if start == 1 and ndim_in >= 3:
        words[0] = f"{dims[0]} channels"
    return " × ".join(words)


def params_of(module: nn.Module) -> int:
    """The module's own parameter count (not its children's; lazy ones count 0)."""
    total = 0
    for p in module._parameters.values():
        if p is not None and not isinstance(p, (UninitializedParameter, UninitializedBuffer)):
            total += p.numel()
    return total


def explain_module(module: nn.Module, shape: Shape) -> Any:
    """The core's derivation for a conv/pool layer on ``shape``, else None."""
    if not isinstance(module, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                               nn.modules.pooling._AvgPoolNd)) or own_forward(module):
        return None  # a subclass with its own forward may pad or stride otherwise
    key = (type(module), module.extra_repr(), tuple(shape))
    if key in _EXPLAINED:
        return _EXPLAINED[key]
    try:
        found = explain(module, tuple(shape))
    except Exception:  # the core is optional here: a row without its derivation is fine
        found = None
    if len(_EXPLAINED) > 4096:
        _EXPLAINED.clear()
    _EXPLAINED[key] = found
    return found


# The core's derivations (frozen values) by layer type, settings and input shape: a network
# repeats its blocks, and a trace asks again at every slider move.
_EXPLAINED: dict[tuple[type, str, Shape], Any] = {}


def _pool_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    kind = POOL_KIND[name]
    names = _POOL_ARGS[kind]
    bound = dict(zip(names, args[1:], strict=False))
    bound.update({k: v for k, v in kwargs.items() if k in names})
    if "kernel_size" not in bound:
        return None
    bound["stride"] = bound.get("stride") or bound["kernel_size"]
    bound.setdefault("padding", 0)
    bound.setdefault("ceil_mode", False)
    if kind == "max_pool":
        bound.setdefault("dilation", 1)
    return {"kind": kind, "nd": int(name[-2]), **bound}


def _conv_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    kind = "conv_transpose" if name.startswith("conv_transpose") else "conv"
    bound = dict(zip(_CONV_ARGS[kind], args[1:], strict=False))
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


def functional_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """A functional conv/pool call's settings in PyTorch's names, or None.

    >>> x = torch.empty(1, 3, 8, 8, device="meta")
    >>> functional_call("max_pool2d", (x, 2), {})  # doctest: +NORMALIZE_WHITESPACE
    {'kind': 'max_pool', 'nd': 2, 'kernel_size': 2, 'stride': 2, 'padding': 0,
     'ceil_mode': False, 'dilation': 1}
    """
    if name in POOL_KIND:
        return _pool_call(name, args, kwargs)
    if name in CONV_NAMES:
        return _conv_call(name, args, kwargs)
    return None


def explain_functional(call: dict[str, Any], x: torch.Tensor) -> Any:
    """The core's derivation for a functional conv/pool call on ``x``, else None."""
    try:
        nd = call["nd"]
        return explain(tuple(x.shape[-nd:]), call["kernel_size"], call["stride"],
                       call["padding"], call.get("dilation", 1), kind=call["kind"],
                       output_padding=call.get("output_padding", 0),
                       ceil_mode=bool(call.get("ceil_mode", False)))
    except Exception:  # optional, as above
        return None
