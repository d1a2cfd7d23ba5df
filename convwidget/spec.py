"""One layer's settings, in one place: kinds, normalisation, validation, reading a layer.

Standard library only (no torch, numpy, matplotlib or ipywidgets): every face asks this
module what a layer's settings are. :class:`LayerSpec` is the value; it is built from
keyword settings (:meth:`LayerSpec.from_settings`, checked, with a sentence naming the
parameter, the value and the fix) or read from a ``torch.nn`` layer
(:meth:`LayerSpec.from_layer`, duck-typed on attribute names and class names, so
subclasses and 1-, 2- and 3-D layers work without importing torch).

>>> spec = LayerSpec.from_settings(kind="conv", kernel_size=3, in_channels=3, out_channels=8)
>>> spec.kernel_size, spec.stride, spec.torch_class
((3, 3), (1, 1), 'Conv2d')
>>> spec.parameter_count()
224
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, fields
from typing import Any

from .errors import ShapeError

__all__ = [
    "KINDS",
    "KIND_LABELS",
    "LayerSpec",
    "groups_hint",
    "groups_problem",
    "layer_kind",
    "normalise_setting",
    "torch_class_name",
]

#: The layer kinds convwidget's explorer shows, in PyTorch's order of appearance.
KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")

#: (dropdown label, kind) for the explorer's layer menu; the label names the 2-D class.
KIND_LABELS = (
    ("convolution (nn.Conv2d)", "conv"),
    ("transposed convolution (nn.ConvTranspose2d)", "conv_transpose"),
    ("max pool (nn.MaxPool2d)", "max_pool"),
    ("average pool (nn.AvgPool2d)", "avg_pool"),
)

#: The stem of the torch.nn class name per kind (``Conv`` + ``2d``).
_STEMS = {"conv": "Conv", "conv_transpose": "ConvTranspose", "max_pool": "MaxPool",
          "avg_pool": "AvgPool"}
_KIND_OF_STEM = {**{stem: kind for kind, stem in _STEMS.items()}, "LPPool": "avg_pool"}
_CLASS_RE = re.compile(r"^(?:Lazy)?(Conv|ConvTranspose|MaxPool|AvgPool|LPPool)([123])d$")
_DIM_WORDS = {1: "a 1-tuple (length,)", 2: "a pair of ints (height, width)",
              3: "a triple of ints (depth, height, width)"}
_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

Size = tuple[int, ...]
PaddingValue = Size | str

#: At most this many divisors are listed in the "use groups in [...]" hint.
GROUPS_HINT_MAX = 12


def torch_class_name(kind: str, ndim: int = 2) -> str:
    """The ``torch.nn`` class name of ``kind`` in ``ndim`` spatial dimensions.

    >>> torch_class_name("conv_transpose", 1), torch_class_name("max_pool", 3)
    ('ConvTranspose1d', 'MaxPool3d')
    """
    if kind not in _STEMS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    if ndim not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3, not {ndim!r}")
    return f"{_STEMS[kind]}{ndim}d"


def _is_bool(value: Any) -> bool:
    """True for ``bool`` and numpy's boolean scalar (without importing numpy)."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


def _int(name: str, value: Any) -> int:
    """An int (numpy ints too, via ``operator.index``); bool and floats are refused."""
    if _is_bool(value):
        raise ValueError(f"{name} must be an int, not {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an int, not {value!r}") from None


def _per_dim(name: str, value: Any, ndim: int = 2) -> Size:
    """Normalise an int or an ``ndim``-sequence of ints, naming the parameter if it is bad.

    >>> _per_dim("stride", 2), _per_dim("stride", (1, 3)), _per_dim("stride", [4], 3)
    ((2, 2), (1, 3), (4, 4, 4))
    """
    bad = f"{name} must be an int or {_DIM_WORDS.get(ndim, f'{ndim} ints')}, not {value!r}"
    if isinstance(value, (str, bytes)):
        raise ValueError(bad)
    try:
        return (_int(name, value),) * ndim
    except ValueError:
        if not hasattr(value, "__iter__"):
            raise ValueError(bad) from None
    items = tuple(value)
    if len(items) == 1:
        items = items * ndim
    if len(items) != ndim:
        raise ValueError(bad)
    try:
        return tuple(_int(name, v) for v in items)
    except ValueError:
        raise ValueError(bad) from None


def _padding(value: Any, ndim: int = 2) -> PaddingValue:
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise ValueError(f"padding must be a number, a pair, 'same' or 'valid', not {value!r}")
        return value
    return _per_dim("padding", value, ndim)


def _pair(name: str, value: Any) -> Size:
    """Normalise an int or a 2-sequence to a (height, width) pair (kept for old imports)."""
    return _per_dim(name, value, 2)


def _flag(name: str, value: Any) -> bool:
    """A real boolean: ``ceil_mode='no'`` must not be taken as True."""
    if _is_bool(value):
        return bool(value)
    raise ValueError(f"{name} must be True or False, not {value!r}")


def _at_least(name: str, value: Size, least: int, given: Any) -> None:
    if min(value, default=least) < least:
        raise ValueError(f"{name} must be at least {least} in each dimension, not {given!r}")


_MINIMUM = {"input_size": 1, "kernel_size": 1, "stride": 1, "dilation": 1, "padding": 0,
            "output_padding": 0}


def normalise_setting(name: str, value: Any, ndim: int = 2) -> Any:
    """One setting, checked and normalised alone (per-dim tuple, int, bool or padding string).

    The rules :meth:`LayerSpec.from_settings` applies, one name at a time (``input_size``
    too), for widgets that validate each trait as it changes.

    >>> normalise_setting("stride", 2), normalise_setting("padding", "same")
    ((2, 2), 'same')
    >>> normalise_setting("input_size", (0, 4))
    Traceback (most recent call last):
    ...
    ValueError: input_size must be at least 1 in each dimension, not (0, 4)
    """
    if name in ("kind",):
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {value!r}")
        return value
    if name in ("ceil_mode", "count_include_pad", "bias"):
        return _flag(name, value)
    if name in ("in_channels", "out_channels", "groups"):
        n = _int(name, value)
        if n < 1:
            raise ValueError(f"{name} must be a positive int, not {value!r}")
        return n
    if name not in _MINIMUM:
        raise ValueError(f"unknown setting {name!r}; use {', '.join(('kind', *_MINIMUM))}")
    if name == "input_size" and ndim > 1 and isinstance(value, (tuple, list)) and len(value) == 1:
        raise ValueError(
            f"input_size={tuple(value)!r} has 1 value but the layer has {ndim} spatial dimensions; "
            f"give {ndim} sizes (e.g. {(1,) * (ndim - 1) + tuple(value)!r} for a strip) or one int "
            "for a square")
    out = _padding(value, ndim) if name == "padding" else _per_dim(name, value, ndim)
    if not isinstance(out, str):
        _at_least(name, out, _MINIMUM[name], value)
    return out


def _divisors(n: int) -> list[int]:
    """The divisors of ``n`` >= 1, ascending, in O(sqrt(n)) steps."""
    small, large = [], []
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            small.append(d)
            if d != n // d:
                large.append(n // d)
    return small + large[::-1]


def groups_hint(in_channels: int, out_channels: int, limit: int = GROUPS_HINT_MAX) -> str:
    """The values of ``groups`` that divide both channel counts, listed briefly.

    Cheap even for 10**9 channels: the divisors of their gcd, at most ``limit`` shown.

    >>> groups_hint(4, 6)
    '[1, 2]'
    >>> groups_hint(10**9, 10**9, limit=4)
    '[1, 2, 4, 5, ..., 1000000000] (100 values)'
    """
    g = math.gcd(max(in_channels, 0), max(out_channels, 0))
    if g < 1:
        return "[1]"
    found = _divisors(g)
    if len(found) <= limit:
        return str(found)
    return f"[{', '.join(map(str, found[:limit]))}, ..., {found[-1]}] ({len(found)} values)"


def groups_problem(in_channels: int, out_channels: int, groups: int) -> str | None:
    """The sentence PyTorch's groups rule earns, or None when ``groups`` fits.

    >>> print(groups_problem(3, 6, 2))  # doctest: +NORMALIZE_WHITESPACE
    in_channels=3 is not divisible by groups=2: each group is its own small convolution,
    so groups must divide both in_channels=3 and out_channels=6; use groups in [1, 3]
    >>> groups_problem(4, 6, 2) is None
    True
    """
    if groups >= 1 and in_channels % groups == 0 and out_channels % groups == 0:
        return None
    if groups < 1:
        head = f"groups={groups} must be at least 1"
    else:
        name, n = (("in_channels", in_channels) if in_channels % groups
                   else ("out_channels", out_channels))
        head = f"{name}={n} is not divisible by groups={groups}"
    return (f"{head}: each group is its own small convolution, so groups must divide both "
            f"in_channels={in_channels} and out_channels={out_channels}; use groups in "
            f"{groups_hint(in_channels, out_channels)}")


def _kind_of(layer: Any) -> tuple[str, int, bool]:
    """(kind, ndim, is_lp_pool) from the first torch-like class name in the layer's MRO."""
    for cls in type(layer).__mro__:
        m = _CLASS_RE.match(cls.__name__)
        if m:
            return _KIND_OF_STEM[m.group(1)], int(m.group(2)), m.group(1) == "LPPool"
    names = "Conv, ConvTranspose, MaxPool, AvgPool or LPPool (1d, 2d or 3d)"
    raise ValueError(f"convwidget reads {names} layers, not {type(layer).__name__}")


def layer_kind(layer: Any) -> str | None:
    """The kind of a conv/pool layer, read from the class names in its MRO; None for others.

    An ``LPPool`` is an ``'avg_pool'`` (its window is an average of powers).

    >>> from torch import nn
    >>> layer_kind(nn.LazyConvTranspose1d(4, 3)), layer_kind(nn.LPPool2d(2, 3)), layer_kind(nn.ReLU())
    ('conv_transpose', 'avg_pool', None)
    """
    try:
        return _kind_of(layer)[0]
    except ValueError:
        return None


@dataclass(frozen=True)
class LayerSpec:
    """One convolution or pooling layer's settings, in PyTorch's parameter names.

    Per-dimension values are tuples of the layer's length (``ndim``: 1, 2 or 3);
    ``padding`` may also be ``'same'`` or ``'valid'``. Settings a kind lacks keep
    their neutral value (``dilation`` of an average pool is 1s, ``groups`` of a pool 1).
    ``in_channels`` is 0 for a Lazy layer before its first forward. ``norm_type`` is set
    only for an ``LPPool`` (kind ``'avg_pool'``, no padding).

    >>> LayerSpec.from_settings(kind="max_pool", kernel_size=2).stride
    (2, 2)
    """

    kind: str = "conv"
    kernel_size: Size = (3, 3)
    stride: Size = (1, 1)
    padding: PaddingValue = (0, 0)
    dilation: Size = (1, 1)
    output_padding: Size = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    padding_mode: str = "zeros"
    bias: bool = True
    norm_type: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {self.kind!r}")

    # ------------------------------------------------------------------ building
    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The keyword names :meth:`from_settings` takes.

        >>> LayerSpec.setting_names()[:3]
        ('kind', 'kernel_size', 'stride')
        """
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_settings(cls, *, ndim: int = 2, **settings: Any) -> LayerSpec:
        """Build from keyword settings in PyTorch's names (ints or per-dim tuples), checked.

        A pool without ``stride`` takes the kernel size as its stride, as in PyTorch.
        Unknown names, wrong types and values below PyTorch's minimum are refused with a
        sentence; combinations PyTorch refuses (e.g. ``groups`` that do not divide the
        channels) are kept, so their refusal can be shown and explained.

        >>> LayerSpec.from_settings(kernel_size=(3, 5), padding="same").padding
        'same'
        >>> LayerSpec.from_settings(stride=0)
        Traceback (most recent call last):
        ...
        ValueError: stride must be at least 1 in each dimension, not 0
        """
        unknown = set(settings) - set(cls.setting_names())
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}; "
                             f"use {', '.join(sorted(cls.setting_names()))}")
        kind = settings.get("kind", "conv")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
        sizes = _sizes(settings, kind, ndim)
        counts: dict[str, Any] = {name: _int(name, settings.get(name, 1))
                                  for name in ("in_channels", "out_channels", "groups")}
        for name, n in counts.items():
            if n < 1:
                raise ValueError(f"{name} must be a positive int, not {settings[name]!r}")
        mode = settings.get("padding_mode", "zeros")
        if mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, "
                             f"not {mode!r}")
        norm = settings.get("norm_type")
        return cls(kind=kind, **sizes, **counts, padding_mode=mode,
                   ceil_mode=_flag("ceil_mode", settings.get("ceil_mode", False)),
                   count_include_pad=_flag("count_include_pad", settings.get("count_include_pad", True)),
                   bias=_flag("bias", settings.get("bias", True)),
                   norm_type=None if norm is None else float(norm))

    @classmethod
    def from_layer(cls, layer: Any) -> LayerSpec:
        """Read a conv/pool layer's settings by attribute and class names (no torch import).

        Works for subclasses of the ``torch.nn`` classes, for 1-, 2- and 3-D layers
        (per-dimension tuples of that length) and for Lazy layers (``in_channels`` 0 until
        the first forward).

        >>> from torch import nn
        >>> LayerSpec.from_layer(nn.MaxPool1d(3, stride=2)).kernel_size
        (3,)
        >>> s = LayerSpec.from_layer(nn.Conv2d(3, 8, 5, stride=2, padding=2, bias=False))
        >>> s.kind, s.stride, s.padding, s.in_channels, s.bias
        ('conv', (2, 2), (2, 2), 3, False)
        """
        kind, n, lp = _kind_of(layer)
        kernel = _per_dim("kernel_size", layer.kernel_size, n)
        stride = getattr(layer, "stride", None)
        raw_padding = 0 if lp else getattr(layer, "padding", 0)
        values: dict[str, Any] = {
            "kind": kind, "kernel_size": kernel,
            "stride": kernel if stride in (None, (), []) else _per_dim("stride", stride, n),
            "padding": raw_padding if isinstance(raw_padding, str) else _per_dim("padding", raw_padding, n),
            "dilation": _per_dim("dilation", getattr(layer, "dilation", 1), n),
            "output_padding": _per_dim("output_padding", getattr(layer, "output_padding", 0), n),
        }
        if kind.endswith("pool"):
            values.update(ceil_mode=bool(layer.ceil_mode),
                          count_include_pad=bool(getattr(layer, "count_include_pad", True)),
                          norm_type=float(layer.norm_type) if lp else None)
        else:
            values.update(in_channels=int(layer.in_channels), out_channels=int(layer.out_channels),
                          groups=int(layer.groups), bias=getattr(layer, "bias", None) is not None,
                          padding_mode=str(getattr(layer, "padding_mode", "zeros")))
        return cls(**values)

    # ------------------------------------------------------------------ reading
    @property
    def ndim(self) -> int:
        """The number of spatial dimensions (1, 2 or 3)."""
        return len(self.kernel_size)

    @property
    def is_pool(self) -> bool:
        return self.kind in ("max_pool", "avg_pool")

    @property
    def torch_class(self) -> str:
        """The ``torch.nn`` class name, e.g. ``'Conv2d'`` or ``'LPPool1d'``."""
        if self.norm_type is not None:
            return f"LPPool{self.ndim}d"
        return torch_class_name(self.kind, self.ndim)

    def settings(self) -> dict[str, Any]:
        """The settings this kind has, in PyTorch's names (what ``ConvExplorer`` takes).

        >>> LayerSpec.from_settings(kind="max_pool", kernel_size=2).settings()
        {'kind': 'max_pool', 'kernel_size': (2, 2), 'stride': (2, 2), 'padding': (0, 0), \
'dilation': (1, 1), 'ceil_mode': False}
        """
        out: dict[str, Any] = {"kind": self.kind, "kernel_size": self.kernel_size,
                               "stride": self.stride, "padding": self.padding}
        if self.kind != "avg_pool":
            out["dilation"] = self.dilation
        if self.kind == "conv_transpose":
            out["output_padding"] = self.output_padding
        if self.is_pool:
            out["ceil_mode"] = self.ceil_mode
        else:
            out.update(in_channels=self.in_channels, out_channels=self.out_channels,
                       groups=self.groups)
        if self.kind == "avg_pool":
            out["count_include_pad"] = self.count_include_pad
        return out

    def groups_problem(self) -> str | None:
        """PyTorch's groups rule for this layer: the sentence, or None (pools: always None).

        >>> LayerSpec.from_settings(in_channels=4, out_channels=6, groups=4).groups_problem().split(":")[0]
        'out_channels=6 is not divisible by groups=4'
        """
        if self.is_pool or self.in_channels == 0:
            return None
        return groups_problem(self.in_channels, self.out_channels, self.groups)

    def check_groups(self) -> None:
        """Raise :class:`~convwidget.ShapeError` with :meth:`groups_problem`'s sentence, if any.

        >>> LayerSpec.from_settings(in_channels=3, out_channels=6, groups=2).check_groups()
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convwidget.errors.ShapeError: in_channels=3 is not divisible by groups=2: ...[1, 3]
        """
        problem = self.groups_problem()
        if problem:
            raise ShapeError(problem)

    def parameter_count(self) -> int:
        """Learnable parameters of the layer as PyTorch builds it (weights + bias, if any).

        >>> LayerSpec.from_settings(kernel_size=3, in_channels=3, out_channels=8).parameter_count()
        224
        """
        if self.is_pool:
            return 0
        k = math.prod(self.kernel_size)
        groups = max(self.groups, 1)
        if self.kind == "conv":
            weights = self.out_channels * (self.in_channels // groups) * k
        else:
            weights = self.in_channels * (self.out_channels // groups) * k
        return weights + (self.out_channels if self.bias else 0)


def explorer_spec(layer: Any) -> LayerSpec:
    """The settings of a layer that ConvExplorer can show (a 2-D conv, transposed conv, max or
    average pool), or a ``ValueError`` that says what to use instead.

    >>> class Conv2d:  # duck-typed: any object with torch's attribute names
    ...     in_channels, out_channels, kernel_size, stride, padding = 3, 8, (3, 3), (1, 1), (1, 1)
    ...     dilation, groups, padding_mode, transposed, output_padding = (1, 1), 1, "zeros", False, (0, 0)
    >>> explorer_spec(Conv2d()).kernel_size
    (3, 3)
    """
    spec = LayerSpec.from_layer(layer)
    if spec.ndim != 2 or spec.norm_type is not None:
        raise ValueError(
            f"ConvExplorer shows Conv2d, ConvTranspose2d, MaxPool2d and AvgPool2d layers, not "
            f"{type(layer).__name__} ({spec.torch_class}); use convwidget.explain or "
            "convwidget.trace for it")
    return spec


def _sizes(settings: dict[str, Any], kind: str, ndim: int) -> dict[str, Any]:
    """The per-dimension settings of :meth:`LayerSpec.from_settings`, normalised and checked."""
    kernel = _per_dim("kernel_size", settings.get("kernel_size", 3), ndim)
    stride_value = settings.get("stride")
    if stride_value is None:
        stride_value = kernel if kind in ("max_pool", "avg_pool") else 1
    out: dict[str, Any] = {
        "kernel_size": kernel,
        "stride": _per_dim("stride", stride_value, ndim),
        "padding": _padding(settings.get("padding", 0), ndim),
        "dilation": _per_dim("dilation", settings.get("dilation", 1), ndim),
        "output_padding": _per_dim("output_padding", settings.get("output_padding", 0), ndim),
    }
    for name in ("kernel_size", "stride", "dilation"):
        _at_least(name, out[name], 1, settings.get(name, stride_value))
    _at_least("output_padding", out["output_padding"], 0, settings.get("output_padding"))
    if not isinstance(out["padding"], str):
        _at_least("padding", out["padding"], 0, settings.get("padding"))
    return out
