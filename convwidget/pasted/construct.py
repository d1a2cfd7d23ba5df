"""The one place that calls a ``torch.nn`` constructor, with literal arguments, on the meta device."""

from __future__ import annotations

import contextlib
import inspect
import sys
import warnings
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .limits import MAX_REPEAT, PasteError

__all__ = ["build_layer", "cost", "nn_class"]

# torch.nn classes that are not layers one can build from literals.
DENIED = {"Module", "Container", "DataParallel", "ParameterList", "ParameterDict", "ModuleDict"}

# RNN, LSTM and GRU take (*args, **kwargs) and hand them to RNNBase(mode, ...).
_RNN_PARAMETERS = ("input_size", "hidden_size", "num_layers")


def nn_class(name: str) -> type[nn.Module] | None:
    """The public ``torch.nn`` layer class called ``name``, or None.

    >>> nn_class("Conv2d"), nn_class("Module"), nn_class("functional")
    (<class 'torch.nn.modules.conv.Conv2d'>, None, None)
    """
    if not name or name.startswith("_") or name in DENIED:
        return None
    cls = getattr(nn, name, None)
    if isinstance(cls, type) and issubclass(cls, nn.Module):
        return cls
    return None


_SIGNATURES: dict[type, inspect.Signature | None] = {}


def _signature(cls: type[nn.Module]) -> inspect.Signature | None:
    """The constructor's signature (cached: inspect.signature is slow next to building)."""
    if cls not in _SIGNATURES:
        try:
            _SIGNATURES[cls] = inspect.signature(cls)
        except (TypeError, ValueError):  # pragma: no cover - all torch.nn classes have one
            _SIGNATURES[cls] = None
    return _SIGNATURES[cls]


def _named(cls: type[nn.Module], args: list, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every argument by its parameter name, positional, keyword or default
    (nn.Transformer(512, 8, 10**6), nn.LSTM(10, 20, 10**9), nn.LSTM(10, 20, num_layers=10**9))."""
    named = dict(kwargs)
    if issubclass(cls, nn.RNNBase):
        named.update(zip(_RNN_PARAMETERS, args, strict=False))
        return named
    sig = _signature(cls)
    with contextlib.suppress(TypeError):  # torch will refuse the call with its own message
        if sig is not None:
            bound = sig.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            named.update(bound.arguments)
    return named


def _loops(name: str) -> bool:
    return "layers" in name or name == "cutoffs"


_MAY_LOOP: dict[type, bool] = {}


def _may_loop(cls: type[nn.Module]) -> bool:
    """Whether a constructor has an argument that makes it loop (cached per class)."""
    if cls not in _MAY_LOOP:
        sig = _signature(cls)
        _MAY_LOOP[cls] = issubclass(cls, nn.RNNBase) or sig is None or any(
            _loops(p) for p in sig.parameters)
    return _MAY_LOOP[cls]


def repeats(cls: type[nn.Module], args: list, kwargs: dict[str, Any]) -> int:
    """How many layers the constructor builds in a loop: the sum of its ``*layers`` arguments
    (num_layers, num_encoder_layers, ...), given by position, keyword or default, and one
    per cutoff of nn.AdaptiveLogSoftmaxWithLoss."""
    if not _may_loop(cls) and not any(_loops(k) for k in kwargs):
        return 0
    named = _named(cls, args, kwargs)
    loops = [v for k, v in named.items() if "layers" in k]
    cutoffs = named.get("cutoffs")
    n = len(cutoffs) if isinstance(cutoffs, (list, tuple)) else 0
    return n + sum(v for v in loops if isinstance(v, int) and not isinstance(v, bool) and v > 0)


def cost(cls: type[nn.Module], args: list, kwargs: dict[str, Any], line: int) -> int:
    """The work of building the layer, in layers: refuses a constructor loop over
    MAX_REPEAT layers before anything is built. A Transformer layer (ten modules, deep-copied)
    costs as much as forty simple layers; an RNN layer holds only weights."""
    n = repeats(cls, args, kwargs)
    if n > MAX_REPEAT:
        raise PasteError(f"refused nn.{cls.__name__}(...): more than {MAX_REPEAT} layers ({n}); "
                         "parse builds at most that many per layer", line, fatal=True)
    return 1 + n * (40 if "Transformer" in cls.__name__ else 1)


class _SkipMetaNormal(TorchFunctionMode):
    """Skips ``normal_`` (and nn.init's ``*normal_``) on meta tensors while a layer is built:
    it changes nothing there (a meta tensor has no values), yet torch's first meta
    ``normal_`` imports torch._dynamo, 4 to 7 seconds for a first nn.Embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped = False

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__name__", "").endswith("normal_"):
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor) and tensor.is_meta:
                self.skipped = True
                return tensor
        return func(*args, **kwargs)


_NORMAL_FREE: set[type] = set()  # classes seen building without a meta normal_


def _init_guard(cls: type[nn.Module]) -> Any:
    """The mode, unless it cannot help: torch._dynamo is already imported, or the class
    built once without a meta normal_ (the mode slows building by about half)."""
    if cls in _NORMAL_FREE or "torch._dynamo" in sys.modules:
        return contextlib.nullcontext()
    return _SkipMetaNormal()


def build_layer(cls: type[nn.Module], args: list, kwargs: dict[str, Any], line: int,
                notes: list[str] | None = None) -> nn.Module:
    """Construct a torch.nn layer on the meta device (no weight memory). What torch warns
    while building it becomes a note (warnings would point at this module, not the paste).

    >>> build_layer(nn.Linear, [100000, 100000], {}, 1).weight.device
    device(type='meta')
    >>> build_layer(nn.LSTM, [10, 20], {"num_layers": 10**9}, 3)
    Traceback (most recent call last):
    ...
    convwidget.pasted.PasteError: line 3: refused nn.LSTM(...): more than 200 layers (1000000000); ...
    >>> notes = []
    >>> _ = build_layer(nn.LSTM, [10, 20], {"dropout": 0.5}, 4, notes)
    >>> print(notes[0])  # doctest: +ELLIPSIS
    torch warned about nn.LSTM on line 4: dropout option adds dropout after all but last recurrent layer...
    """
    cost(cls, args, kwargs, line)
    sig = _signature(cls)
    params = sig.parameters if sig else {}
    if "device" in params or issubclass(cls, nn.RNNBase):
        kwargs = {**kwargs, "device": "meta"}
    try:
        with warnings.catch_warnings(record=True) as caught, _init_guard(cls) as guard:
            warnings.simplefilter("always")
            layer = cls(*args, **kwargs)
    except Exception as err:  # torch's own refusal of the arguments
        shown = ", ".join([repr(a) for a in args]
                          + [f"{k}={v!r}" for k, v in kwargs.items() if k != "device"])
        raise PasteError(f"torch refused nn.{cls.__name__}({shown}): {err}", line) from err
    if isinstance(guard, _SkipMetaNormal) and not guard.skipped:
        _NORMAL_FREE.add(cls)
    if notes is not None:
        notes.extend(f"torch warned about nn.{cls.__name__} on line {line}: {w.message}"
                     for w in caught)
    return layer
