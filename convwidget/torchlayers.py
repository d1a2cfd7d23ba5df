"""Settings -> a real ``torch.nn`` layer, run on an input that makes the arithmetic visible.

This is the only module of convwidget that builds torch layers from settings and
runs them. The input holds each cell's index (row-major, ``0 .. H*W-1``) in every
channel; a convolution gets a weight of ones and a bias of zero, so every output
value is the sum of the input indices its window covers (times the channels per
group), a max pool shows the largest index in its window and an average pool
their mean. PyTorch is the oracle: whatever it answers, or the message it
refuses with, is what the widget shows beside convwidget's own arithmetic.
:func:`run_values` runs the same layer in float64 on given input values, weights and bias
and returns every output channel (the channel picture's numbers, which
:mod:`convwidget.cellmath` writes out cell by cell).

The layer runs with one intra-op thread, switched around the call and restored
after: with both cores of a small machine busy, torch's default thread pool made
a tiny convolution hundreds of times slower.

>>> from convwidget.torchlayers import LayerSpec, run_layer
>>> spec = LayerSpec.from_settings(kind="conv", kernel_size=3, padding=1)
>>> result = run_layer(spec, (4, 4))
>>> result.output_shape
(1, 1, 4, 4)
>>> result.values[0]
[10.0, 18.0, 24.0, 18.0]
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import torch
from torch import nn

from .spec import KINDS, LayerSpec, _per_dim, explorer_spec  # re-exported: LayerSpec lived here first

__all__ = [
    "KINDS",  # from .spec
    "LayerSpec",  # from .spec
    "settings_from_layer",
    "TorchResult",
    "MAX_ELEMENTS",
    "MAX_MACS",
    "build_layer",
    "layer_code",
    "layer_elements",
    "layer_macs",
    "one_thread",
    "run_layer",
    "run_values",
    "TorchValues",
]

Pair = tuple[int, ...]
PaddingValue = Pair | str


def _arg(value: PaddingValue | Pair) -> Any:
    """Pass a symmetric tuple to torch as one int, as people write it."""
    if isinstance(value, tuple) and value and len(set(value)) == 1:
        return value[0]
    return value


def _extras(spec: LayerSpec) -> dict[str, Any]:
    """The keyword arguments beyond kernel_size/stride/padding that differ from torch's defaults,
    in the order a learner writes them."""
    ones, zeros = (1,) * spec.ndim, (0,) * spec.ndim
    out: dict[str, Any] = {}
    if spec.kind == "conv_transpose" and spec.output_padding != zeros:
        out["output_padding"] = _arg(spec.output_padding)
    if spec.kind in ("conv", "conv_transpose") and spec.groups != 1:
        out["groups"] = spec.groups
    if spec.kind != "avg_pool" and spec.dilation != ones:
        out["dilation"] = _arg(spec.dilation)
    if spec.kind in ("conv", "conv_transpose"):
        if not spec.bias:
            out["bias"] = False
        if spec.padding_mode != "zeros":
            out["padding_mode"] = spec.padding_mode
    if spec.is_pool and spec.ceil_mode:
        out["ceil_mode"] = True
    if spec.kind == "avg_pool" and not spec.count_include_pad:
        out["count_include_pad"] = False
    return out


def layer_code(spec: LayerSpec) -> str:
    """The ``torch.nn`` expression that builds ``spec``'s layer, as a learner would write it.

    >>> layer_code(LayerSpec.from_settings(kernel_size=3, padding=1))
    'nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=1)'
    >>> layer_code(LayerSpec.from_settings(kind="max_pool", kernel_size=2, ceil_mode=True))
    'nn.MaxPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True)'
    """
    head = f"nn.{spec.torch_class}("
    if not spec.is_pool:
        head += f"{spec.in_channels}, {spec.out_channels}, "
    keywords = {"kernel_size": _arg(spec.kernel_size), "stride": _arg(spec.stride),
                "padding": _arg(spec.padding), **_extras(spec)}
    return head + ", ".join(f"{k}={v!r}" for k, v in keywords.items()) + ")"


def build_layer(spec: LayerSpec, device: str | None = None) -> nn.Module:
    """Build the real ``torch.nn`` layer for ``spec``, in eval mode, weights ones and bias zero.

    Raises whatever torch raises for settings it refuses at construction
    (e.g. ``in_channels must be divisible by groups``). ``device="meta"`` builds it
    without memory or initialisation (for shapes only).

    >>> build_layer(LayerSpec.from_settings(kind="avg_pool", kernel_size=2))
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    """
    # Symmetric tuples go in as one int, as in layer_code (so the reprs agree).
    k, s, p = (_arg(v) for v in (spec.kernel_size, spec.stride, spec.padding))
    cls = getattr(nn, spec.torch_class)
    if isinstance(p, str) and spec.kind != "conv":
        # torch raises a bare TypeError deep inside; say it the way a learner can act on.
        raise ValueError(
            f"{spec.torch_class} takes a numeric padding, not padding={p!r}; use a number"
            + (" (padding='valid' is padding=0)" if spec.kind == "conv_transpose" else ""))
    layer: nn.Module
    if spec.is_pool:
        if spec.norm_type is not None:
            layer = cls(spec.norm_type, k, stride=s, ceil_mode=spec.ceil_mode)
        else:
            layer = cls(k, stride=s, padding=p, **_extras(spec))
    else:
        layer = cls(spec.in_channels, spec.out_channels, k, stride=s, padding=p,
                    device=device, **_extras(spec))
    with torch.no_grad():
        for name, param in layer.named_parameters():
            param.fill_(1.0 if name == "weight" else 0.0)
    return layer.eval()


@dataclass(frozen=True)
class TorchResult:
    """What PyTorch said about one setting.

    ``output_shape`` is the full NCHW shape, or None when PyTorch refused, in
    which case ``error`` holds its own message (first line, as raised).
    ``values`` holds channel 0 of the output as nested lists (one level per spatial
    dimension) when the output
    has at most ``max_cells`` cells. ``computed`` is False when the layer was too
    big to run here (``macs`` multiply-adds, or too many elements): the shape then comes
    from the same layer on the meta device, the spatial checks from a one-channel twin on
    the CPU; ``twin_checked`` is False when even the twin was beyond the budget (then only
    the meta device's checks ran).
    """

    spec: LayerSpec
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None
    values: Any
    error: str | None
    error_type: str | None
    parameter_count: int | None
    code: str
    macs: int = 0
    computed: bool = True
    twin_checked: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def spatial(self) -> tuple[int, ...] | None:
        """The output's spatial sizes (height, width for 2-D), or None if PyTorch refused."""
        return None if self.output_shape is None else self.output_shape[2:]


class one_thread:
    """Context manager: torch runs on one intra-op thread inside, the old count restored after.

    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with one_thread():
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """

    def __enter__(self) -> one_thread:
        self._before = torch.get_num_threads()
        if self._before != 1:
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if torch.get_num_threads() != self._before:
            torch.set_num_threads(self._before)


_LAYERS: OrderedDict[LayerSpec, nn.Module] = OrderedDict()
_INPUTS: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()
_CACHE_SIZE = 64
#: At most this many bytes of parameters (layers) and of inputs are kept between calls.
CACHE_BYTES = 64 * 2**20


def _nbytes(value: nn.Module | torch.Tensor) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    return sum(p.numel() * p.element_size() for p in value.parameters())


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value``, then forget the oldest entries beyond the count and byte bounds."""
    cache[key] = value
    total = sum(_nbytes(v) for v in cache.values())
    while len(cache) > 1 and (len(cache) > _CACHE_SIZE or total > CACHE_BYTES):
        _, old = cache.popitem(last=False)
        total -= _nbytes(old)


def _cached_layer(spec: LayerSpec) -> nn.Module:
    layer = _LAYERS.get(spec)
    if layer is None:
        layer = build_layer(spec)
        _remember(_LAYERS, spec, layer)
    else:
        _LAYERS.move_to_end(spec)
    return layer


def index_input(channels: int, *sizes: int) -> torch.Tensor:
    """A (1, channels, *sizes) float tensor holding each cell's row-major index.

    >>> index_input(1, 2, 3)
    tensor([[[[0., 1., 2.],
              [3., 4., 5.]]]])
    >>> index_input(2, 3)
    tensor([[[0., 1., 2.],
             [0., 1., 2.]]])
    """
    key = (channels, *sizes)
    x = _INPUTS.get(key)
    if x is None:
        x = torch.arange(math.prod(sizes), dtype=torch.float32).reshape(1, 1, *sizes)
        x = x.expand(1, channels, *sizes).contiguous()
        _remember(_INPUTS, key, x)
    return x


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0] if len(text) > 600 else text


#: Above this many multiply-adds a layer is not computed on the CPU (a 256-channel conv
#: would take seconds per slider move); see :func:`run_layer`.
MAX_MACS = 20_000_000
#: Above this many tensor elements (input and output, 4 bytes each) a layer is not computed.
MAX_ELEMENTS = 4_000_000


def _output_bound(spec: LayerSpec, input_size: Sequence[int]) -> int:
    """An upper bound of the output cells, from the arithmetic alone (nothing allocated)."""
    cells = 1
    for i, n in enumerate(input_size):
        k, s, d = spec.kernel_size[i], spec.stride[i], spec.dilation[i]
        if spec.kind == "conv_transpose":
            cells *= max((n - 1) * s + d * (k - 1) + spec.output_padding[i] + 1, 1)
        elif isinstance(spec.padding, str):
            cells *= n + d * (k - 1)
        else:
            cells *= max(n + 2 * spec.padding[i], 1)
    return cells


def layer_macs(spec: LayerSpec, input_size: Sequence[int]) -> int:
    """Multiply-adds to run ``spec`` on ``input_size`` (an upper bound: stride 1, no cropping).

    >>> layer_macs(LayerSpec.from_settings(kernel_size=3, in_channels=4, out_channels=8), (10, 10))
    28800
    >>> layer_macs(LayerSpec.from_settings(kernel_size=3, padding=10**4), (8, 8)) > MAX_MACS
    True
    """
    window = math.prod(spec.kernel_size)
    groups = max(spec.groups, 1)
    if spec.kind == "conv":
        per_cell = spec.out_channels * (spec.in_channels // groups)
    elif spec.kind == "conv_transpose":
        per_cell = spec.in_channels * (spec.out_channels // groups)
        return per_cell * window * math.prod(input_size)  # each input cell scatters a window
    else:
        per_cell = spec.in_channels
    return per_cell * window * _output_bound(spec, input_size)


def layer_elements(spec: LayerSpec, input_size: Sequence[int]) -> int:
    """Tensor elements of the input and the output (an upper bound), before anything is made.

    >>> layer_elements(LayerSpec.from_settings(kernel_size=3, in_channels=2, out_channels=4), (10, 10))
    600
    """
    out_channels = spec.in_channels if spec.is_pool else spec.out_channels
    return spec.in_channels * math.prod(input_size) + out_channels * _output_bound(spec, input_size)


def _within(spec: LayerSpec, size: Sequence[int], max_macs: int) -> bool:
    return layer_macs(spec, size) <= max_macs and layer_elements(spec, size) <= MAX_ELEMENTS


_META_WARM: list[threading.Thread] = []


def warm_meta() -> threading.Thread:
    """Pay PyTorch's one-off cost of the meta device now, in a thread, once per process.

    The first layer run on the meta device imports sympy (about a second here); without this
    it would land on the first slider move past the compute budget, whose shape comes from
    the meta device. Later calls return the same thread. Not a daemon: a process that ends
    meanwhile waits for it (at most that second), because killing a thread inside torch at
    exit aborts the process ("terminate called without an active exception").
    """
    if not _META_WARM:
        def run() -> None:
            with torch.no_grad():
                nn.Conv2d(1, 1, 1, device="meta")(torch.empty(1, 1, 1, 1, device="meta"))
                nn.MaxPool2d(1)(torch.empty(1, 1, 1, 1, device="meta"))

        thread = threading.Thread(target=run, name="convwidget-meta-warm-up", daemon=False)
        _META_WARM.append(thread)
        thread.start()
    return _META_WARM[0]


def run_layer(spec: LayerSpec, input_size: Sequence[int], *, max_cells: int = 144,
              max_macs: int = MAX_MACS) -> TorchResult:
    """Build ``spec``'s layer, run it on an index input of ``input_size``, report.

    ``input_size`` has one size per spatial dimension of the layer ((H, W) for 2-D).

    Never raises for a setting PyTorch refuses: the result carries PyTorch's
    message. Layers and inputs are cached, so a slider dragged back and forth
    does not rebuild them. A layer of more than ``max_macs`` multiply-adds is
    not computed: its shape comes from the same layer on the meta device and
    the spatial checks (which meta kernels partly skip, e.g. ``output_padding``)
    from a one-channel twin with the same spatial settings, run on the CPU.

    >>> r = run_layer(LayerSpec.from_settings(kind="conv", kernel_size=5), (3, 3))
    >>> r.output_shape is None, r.error_type
    (True, 'RuntimeError')
    >>> big = run_layer(LayerSpec.from_settings(kernel_size=3, in_channels=256, out_channels=256), (56, 56))
    >>> big.output_shape, big.computed, big.parameter_count
    ((1, 256, 54, 54), False, 590080)
    """
    warm_meta()
    sizes = _per_dim("input_size", tuple(input_size), spec.ndim)
    code = layer_code(spec)
    shape = (1, spec.in_channels, *sizes)
    empty = min(sizes) < 1
    macs = 0 if empty else layer_macs(spec, sizes)
    twin = replace(spec, in_channels=1, out_channels=1, groups=1)
    computed = not empty and _within(spec, sizes, max_macs)
    checked = computed or (not empty and _within(twin, sizes, max_macs))
    try:
        if empty:
            raise ValueError(f"input_size must be at least {'×'.join('1' * len(sizes))}, "
                             f"not {'×'.join(map(str, sizes))}")
        with one_thread(), torch.no_grad(), warnings.catch_warnings():
            # e.g. padding='same' with an even kernel warns about a padded copy: not the learner's concern.
            warnings.simplefilter("ignore")
            if computed:
                layer = _cached_layer(spec)
                y = layer(index_input(spec.in_channels, *sizes))
            else:
                layer = build_layer(spec, device="meta")  # channel/group checks, the shape
                if checked:
                    _cached_layer(twin)(index_input(1, *sizes))  # spatial checks, for real
                y = layer(torch.empty(shape, device="meta"))
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        return TorchResult(spec, shape, None, None, _first_line(err), type(err).__name__,
                           None, code, macs, computed, checked)
    out_shape = tuple(int(n) for n in y.shape)
    values = None
    if computed and math.prod(y.shape[2:]) <= max_cells:
        values = y[0, 0].tolist()
    params = sum(p.numel() for p in layer.parameters())
    return TorchResult(spec, shape, out_shape, values, None, None, params, code, macs, computed,
                       checked)


@dataclass(frozen=True)
class TorchValues:
    """The real layer's output for given input values, weights and bias (float64).

    ``values`` holds every output channel as nested lists (``[C_out][*output_size]``), or is
    None when PyTorch refused (``error`` is its message) or the layer is beyond the budget
    (``error`` says so, with the numbers).
    """

    spec: LayerSpec
    values: Any
    output_shape: tuple[int, ...] | None
    error: str | None = None
    computed: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


_VALUE_LAYERS: OrderedDict[LayerSpec, nn.Module] = OrderedDict()


def _value_layer(spec: LayerSpec, divisor_override: int | None) -> nn.Module:
    if divisor_override is not None:
        if spec.kind != "avg_pool" or spec.ndim == 1:
            raise ValueError("divisor_override is a setting of AvgPool2d and AvgPool3d, "
                             f"not {spec.torch_class}")
        pool = build_layer(spec)
        cast(nn.AvgPool2d, pool).divisor_override = divisor_override  # read by forward, like a constructor's
        return pool
    layer = _VALUE_LAYERS.get(spec)
    if layer is None:
        layer = build_layer(spec).to(torch.float64)
        _remember(_VALUE_LAYERS, spec, layer)
    else:
        _VALUE_LAYERS.move_to_end(spec)
    return layer


def _set_parameters(layer: nn.Module, spec: LayerSpec, weights: Any, bias: Any) -> None:
    conv = cast(nn.Conv2d, layer)  # any _ConvNd: weight and an optional bias
    weight, bias_param = conv.weight, conv.bias
    w = torch.as_tensor(weights, dtype=torch.float64)
    if tuple(w.shape) != tuple(weight.shape):
        raise ValueError(f"weights have shape {tuple(w.shape)} but {layer_code(spec)} has weights of shape "
                         f"{tuple(weight.shape)}; give one kernel per (output, input-per-group) channel pair")
    weight.copy_(w)
    if bias_param is not None:
        b = torch.zeros(spec.out_channels, dtype=torch.float64) if bias is None else torch.as_tensor(
            bias, dtype=torch.float64)
        if tuple(b.shape) != (spec.out_channels,):
            raise ValueError(f"bias has shape {tuple(b.shape)} but the layer has {spec.out_channels} "
                             "output channels; give one bias per output channel")
        bias_param.copy_(b)


def run_values(spec: LayerSpec, inputs: Any, weights: Any = None, bias: Any = None, *,
               divisor_override: int | None = None, max_macs: int = MAX_MACS) -> TorchValues:
    """Run ``spec``'s real layer (float64) on ``inputs`` with ``weights`` and ``bias``: all channels.

    ``inputs`` is ``[C_in][*input_size]`` (nested lists or a tensor); ``weights`` and
    ``bias`` are in PyTorch's layout (see :mod:`convwidget.cellmath`), ignored by pools;
    ``bias=None`` is a zero bias. Never raises for a setting PyTorch refuses or a layer
    beyond :data:`MAX_MACS` / :data:`MAX_ELEMENTS`: the result says why there are no values.

    >>> spec = LayerSpec.from_settings(kernel_size=2, in_channels=1, out_channels=2)
    >>> r = run_values(spec, [[[1, 2, 3], [4, 5, 6]]], [[[[1, 0], [0, 0]]], [[[0, 0], [0, 1]]]], [0, 10])
    >>> r.values, r.output_shape
    ([[[1.0, 2.0]], [[15.0, 16.0]]], (1, 2, 1, 2))
    >>> run_values(spec, [[[1, 2], [3, 4]]], [[[[1, 0]]]]).error.split(" but ")[0]
    'weights have shape (1, 1, 1, 2)'
    """
    try:
        x = torch.as_tensor(inputs, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        return TorchValues(spec, None, None, f"inputs are not a grid of numbers: {_first_line(err)}", False)
    sizes = tuple(int(n) for n in x.shape[1:])
    if x.ndim != spec.ndim + 1 or min(sizes, default=0) < 1:
        return TorchValues(spec, None, None, f"inputs have shape {tuple(x.shape)}; {spec.torch_class} takes "
                           f"[channels, {', '.join(['size'] * spec.ndim)}] with every size at least 1", False)
    if not _within(spec, sizes, max_macs):
        return TorchValues(spec, None, None, (
            f"not computed here: {layer_macs(spec, sizes):,} multiply-adds and "
            f"{layer_elements(spec, sizes):,} tensor elements, beyond this page's budget of "
            f"{max_macs:,} and {MAX_ELEMENTS:,}; use fewer channels or a smaller input"), False)
    try:
        with one_thread(), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. 'same' with an even kernel: not the learner's concern
            layer = _value_layer(spec, divisor_override)
            if not spec.is_pool:
                _set_parameters(layer, spec, weights, bias)
            y = layer(x[None])
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        return TorchValues(spec, None, None, _first_line(err), True)
    return TorchValues(spec, y[0].tolist(), tuple(int(n) for n in y.shape))


def settings_from_layer(layer: nn.Module) -> dict[str, Any]:
    """The settings (PyTorch's names) of a 2-d conv/pool layer, for ``ConvExplorer(**settings)``.

    Read by :meth:`convwidget.spec.LayerSpec.from_layer`; other dimensions are refused
    with a sentence (the explorer draws two).

    >>> from torch import nn
    >>> s = settings_from_layer(nn.Conv2d(3, 8, 5, stride=2, padding=2))
    >>> s["kind"], s["kernel_size"], s["stride"], s["padding"], s["in_channels"]
    ('conv', (5, 5), (2, 2), (2, 2), 3)
    >>> settings_from_layer(nn.MaxPool2d(2))["stride"]
    (2, 2)
    """
    return explorer_spec(layer).settings()
