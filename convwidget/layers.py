"""Output shapes of ``torch.nn`` layers, computed from their attributes.

No torch import and no tensor operation: a layer is read by its class name and
attributes (``kernel_size``, ``stride``, ...) and the shape comes from
:mod:`convwidget.arithmetic`. Every refusal PyTorch makes for a shape raises
:class:`~convwidget.ShapeError` with the numbers and a fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from . import arithmetic as ar
from .errors import ShapeError
from .formatting import DIM_NAMES, format_shape

__all__ = ["as_shape", "layer_kind", "layer_name", "output_shape", "spatial_settings"]

Shape = tuple[int, ...]

_ELEMENTWISE = {
    "Identity", "ReLU", "ReLU6", "LeakyReLU", "RReLU", "ELU", "SELU", "CELU", "GELU",
    "SiLU", "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Hardshrink", "Softshrink", "Softplus", "Softsign", "Tanhshrink", "Threshold",
    "LogSigmoid", "Dropout", "AlphaDropout",
}
_SOFTMAX = {"Softmax", "LogSoftmax", "Softmin"}


def layer_name(layer: Any) -> str:
    """The first torch.nn class name in the layer's MRO (so subclasses work).

    >>> import torch.nn as nn
    >>> class Mine(nn.Conv2d):
    ...     pass
    >>> layer_name(Mine(1, 1, 3)), layer_name(nn.ReLU())
    ('Conv2d', 'ReLU')
    """
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("torch.nn"):
            return cls.__name__
    return type(layer).__name__



def as_shape(input_shape: Sequence[int]) -> Shape:
    """An input shape as a tuple of ints, refused with a sentence when it is not one.

    >>> as_shape([1, 3, 32, 32])
    (1, 3, 32, 32)
    """
    try:
        shape = tuple(ar.whole("input_shape", s) for s in input_shape)
    except TypeError:
        raise TypeError(
            f"input_shape must be a sequence of whole numbers such as (1, 3, 32, 32), "
            f"got {input_shape!r}"
        ) from None
    if any(s < 0 for s in shape):
        raise ShapeError(f"input shape {shape} has a negative size")
    return shape


def _ndims(layer: Any, shape: Shape, allowed: Sequence[int], example: str) -> None:
    if len(shape) not in allowed:
        dims = " or ".join(f"{a}-D" for a in allowed)
        raise ShapeError(
            f"{layer_name(layer)} expects a {dims} input ({example}), got a {len(shape)}-D "
            f"shape {format_shape(shape)}"
        )


def _spatial_n(name: str) -> int:
    return int(name[-2]) if name[-2:-1].isdigit() else 0


def _batch_example(n: int) -> str:
    letters = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
    return f"(N, C, {letters}) or (C, {letters})"


def _channels_check(layer: Any, shape: Shape, expected: int, what: str, n: int) -> None:
    c = shape[-(n + 1)]
    if c != expected:
        cls = layer_name(layer)
        raise ShapeError(
            f"{cls} expects {expected} input channels ({what}={expected}) but the input "
            f"has {c} (shape {format_shape(shape)}); use {what}={c} or make the previous layer "
            f"output {expected} channels"
        )


def _conv(layer: Any, shape: Shape, name: str) -> Shape:
    n = _spatial_n(name)
    _ndims(layer, shape, (n + 1, n + 2), _batch_example(n))
    transposed = name.startswith("ConvTranspose") or name.startswith("LazyConvTranspose")
    lazy = name.startswith("Lazy") and _is_uninitialized(layer)
    if not lazy:
        _groups_check(layer)
        _channels_check(layer, shape, layer.in_channels, "in_channels", n)
    if any(s == 0 for s in shape[-n:]) or shape[-(n + 1)] == 0:
        raise ShapeError(f"{layer_name(layer)} got an empty input {format_shape(shape)}")
    sizes = shape[-n:]
    out = []
    mode = getattr(layer, "padding_mode", "zeros")
    for i, size in enumerate(sizes):
        k, s, d = layer.kernel_size[i], layer.stride[i], layer.dilation[i]
        try:
            if transposed:
                op = layer.output_padding[i]
                if len(shape) == n + 2 and shape[0] == 0 and op > 0:
                    # an empty batch skips aten's output_padding check
                    out.append((size - 1) * s - 2 * layer.padding[i] + d * (k - 1) + op + 1)
                    continue
                out.append(ar.conv_transpose_output_size(size, k, s, layer.padding[i], op, d))
                continue
            if isinstance(layer.padding, str):
                pad = ar.resolve_padding(layer.padding, k, 1, d)
            else:
                pad = (layer.padding[i], layer.padding[i])
            if mode != "zeros":
                # F.pad(mode=...) first (a negative pad crops), then a conv with padding 0
                _check_pad_mode(mode, size, pad)
                cropped = size + pad[0] + pad[1]
                if cropped < 1:
                    raise ShapeError(
                        f"padding={pad[0]} with padding_mode={mode!r} crops the {size}-cell "
                        f"input to {cropped} cells; use padding >= {(2 - size) // 2}"
                    )
                size = cropped
                pad = (0, 0)
            out.append(ar.conv_output_size(size, k, s, pad, d))
        except ShapeError as err:
            raise _in_dim(err, i, n) from None
    return shape[: -(n + 1)] + (layer.out_channels,) + tuple(out)


def _groups_check(layer: Any) -> None:
    g, ci, co = layer.groups, layer.in_channels, layer.out_channels
    if g < 1 or ci % g or co % g:
        common = [d for d in range(1, min(ci, co) + 1) if ci % d == 0 and co % d == 0]
        raise ShapeError(
            f"groups={g} must divide both in_channels={ci} and out_channels={co} (each "
            f"group is its own small convolution); use groups in {common}"
        )


def _check_pad_mode(mode: str, size: int, pad: tuple[int, int]) -> None:
    """F.pad's limits for the non-zero padding modes."""
    biggest = max(pad)
    if mode == "reflect" and biggest >= size:
        raise ShapeError(
            f"reflect padding of {biggest} needs an input larger than {biggest} cells, "
            f"got {size} (a reflection cannot repeat the edge cell); use padding <= "
            f"{size - 1}, or padding_mode='replicate' or 'zeros'"
        )
    if mode == "circular" and biggest > size:
        raise ShapeError(
            f"circular padding of {biggest} would wrap around the {size}-cell input more "
            f"than once; use padding <= {size}, or padding_mode='zeros'"
        )


def _in_dim(err: ShapeError, i: int, n: int) -> ShapeError:
    if n == 1:
        return err
    return ShapeError(f"{DIM_NAMES[n][i]}: {err}")


def _is_uninitialized(layer: Any) -> bool:
    check = getattr(layer, "has_uninitialized_params", None)
    return bool(check()) if callable(check) else False


def _pool_params(layer: Any, n: int) -> dict[str, Any]:
    stride = layer.stride if layer.stride not in (None, (), []) else layer.kernel_size
    return {
        "kernel_size": ar.per_dim(layer.kernel_size, n, "kernel_size"),
        "stride": ar.per_dim(stride, n, "stride"),
        "padding": ar.per_dim(getattr(layer, "padding", 0), n, "padding"),
        "dilation": ar.per_dim(getattr(layer, "dilation", 1), n, "dilation"),
    }


def _pool(layer: Any, shape: Shape, name: str) -> Shape:
    n = _spatial_n(name)
    lp = name.startswith("LPPool")
    _ndims(layer, shape, (n + 1, n + 2), _batch_example(n))
    if any(s == 0 for s in shape[-(n + 1):]):
        raise ShapeError(
            f"{name} needs a non-empty input (channels and sizes above 0), got {format_shape(shape)}"
        )
    prm = _pool_params(layer, n)
    avg3d = name in ("AvgPool3d", "LPPool3d")
    out = []
    for i, size in enumerate(shape[-n:]):
        k = prm["kernel_size"][i]
        if avg3d and size < k:
            raise ShapeError(
                f"{DIM_NAMES[n][i]}: {name} needs each input size to be at least the "
                f"kernel (before padding): input {size} < kernel_size {k}; use a kernel "
                f"<= {size} or a larger input (avg_pool3d refuses it even with padding)"
            )
        try:
            out.append(ar.pool_output_size(
                size, k, prm["stride"][i], 0 if lp else prm["padding"][i],
                prm["dilation"][i], bool(layer.ceil_mode)))
        except ShapeError as err:
            raise _in_dim(err, i, n) from None
    return shape[:-n] + tuple(out)


def _adaptive(layer: Any, shape: Shape, name: str) -> Shape:
    n = _spatial_n(name)
    raw = layer.output_size
    wanted = (raw,) * n if not isinstance(raw, (tuple, list)) else tuple(raw)
    if len(wanted) != n:
        raise ShapeError(
            f"{name}(output_size={tuple(raw)}) needs {n} output sizes, one per spatial "
            f"dimension, got {len(wanted)}"
        )
    if any(w is not None and w < 0 for w in wanted):
        raise ShapeError(f"{name}(output_size={raw}): output sizes must be >= 0")
    if name.startswith("AdaptiveAvgPool") and all(
            # strict=False: this shortcut comes before the dims check, the shape may be short
            (s if w is None else w) == 1 for s, w in zip(shape[-n:], wanted, strict=False)):
        # aten computes a global average as a mean over the last n dims, on any
        # input with enough dims (the tuple form needs one more, in Python;
        # the 1-d layer checks its dims first).
        enough = n if not isinstance(raw, (tuple, list)) else n + 1
        if (n >= 2 and len(shape) >= enough) or (n == 1 and len(shape) in (2, 3)):
            return shape[:-n] + (1,) * n
    _ndims(layer, shape, (n + 1, n + 2), _batch_example(n))
    # the max kernels check every non-batch dim, the average ones only the sizes
    checked = shape[1:] if name.startswith("AdaptiveMax") else shape[-n:]
    if any(s == 0 for s in checked):
        raise ShapeError(
            f"{name} needs non-empty channels and spatial sizes, got {format_shape(shape)}"
        )
    return shape[:-n] + tuple(s if w is None else w for s, w in zip(shape[-n:], wanted, strict=True))


def _linear(layer: Any, shape: Shape, name: str) -> Shape:
    if not shape:
        raise ShapeError("Linear needs at least a 1-D input, got a 0-D (scalar) shape ()")
    if name == "LazyLinear" and _is_uninitialized(layer):
        return shape[:-1] + (layer.out_features,)
    if shape[-1] != layer.in_features:
        raise ShapeError(
            f"Linear(in_features={layer.in_features}) receives {shape[-1]} features "
            f"(input shape {format_shape(shape)}); use nn.Linear({shape[-1]}, "
            f"{layer.out_features}), or nn.LazyLinear({layer.out_features}) to let "
            "PyTorch infer it"
        )
    return shape[:-1] + (layer.out_features,)


def _wrap_dim(dim: int, ndim: int, what: str) -> int:
    nd = max(ndim, 1)
    if not -nd <= dim < nd:
        raise ShapeError(
            f"{what}={dim} is out of range for a {ndim}-D input (valid: {-nd} to {nd - 1})"
        )
    return dim % nd


def _flatten(layer: Any, shape: Shape, name: str) -> Shape:
    start = _wrap_dim(layer.start_dim, len(shape), "start_dim")
    end = _wrap_dim(layer.end_dim, len(shape), "end_dim")
    if start > end:
        raise ShapeError(
            f"Flatten(start_dim={layer.start_dim}, end_dim={layer.end_dim}): start_dim "
            f"comes after end_dim for a {len(shape)}-D input"
        )
    if not shape:
        return (1,)
    return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]


def _unflatten(layer: Any, shape: Shape, name: str) -> Shape:
    dim = _wrap_dim(layer.dim, len(shape), "dim")
    sizes = tuple(layer.unflattened_size)
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1:
        raise ShapeError(f"Unflatten sizes {sizes} may contain at most one -1")
    total = shape[dim]
    if sizes.count(-1) == 1:
        if known == 0 or total % known:
            raise ShapeError(
                f"Unflatten{sizes} cannot split dimension {dim} of size {total}: "
                f"{total} is not a multiple of {known}"
            )
        sizes = tuple(total // known if s == -1 else s for s in sizes)
    elif known != total:
        raise ShapeError(
            f"Unflatten sizes {sizes} multiply to {known}, not to the {total} cells "
            f"of dimension {dim} (input {format_shape(shape)})"
        )
    return shape[:dim] + sizes + shape[dim + 1:]


def _batchnorm(layer: Any, shape: Shape, name: str) -> Shape:
    allowed = {"BatchNorm1d": (2, 3), "BatchNorm2d": (4,), "BatchNorm3d": (5,)}[name]
    _ndims(layer, shape, allowed, "(N, C, ...)")
    # F.batch_norm normalises by the batch (and checks it) in training, and in
    # eval() too when the layer keeps no running statistics.
    by_batch = layer.training or not layer.track_running_stats
    if by_batch and shape[0] * math.prod(shape[2:]) == 1:
        raise ShapeError(
            f"{name} normalises each channel over the batch, so it needs more than 1 "
            f"value per channel, got input {format_shape(shape)}; use a batch of 2 or more"
            + (", or call model.eval()" if layer.track_running_stats else "")
        )
    if math.prod(shape) == 0:
        return shape  # aten returns an empty input unchanged
    if (layer.track_running_stats or layer.affine) and shape[1] != layer.num_features:
        raise ShapeError(
            f"{name}({layer.num_features}) gets {shape[1]} channels (input "
            f"{format_shape(shape)}); use nn.{name}({shape[1]})"
        )
    return shape


def _instancenorm(layer: Any, shape: Shape, name: str) -> Shape:
    n = _spatial_n(name)
    _ndims(layer, shape, (n + 1, n + 2), _batch_example(n))
    c = shape[-(n + 1)]
    if layer.affine and len(shape) == n + 2 and shape[0] == 0:
        raise ShapeError(f"{name}(affine=True) cannot normalise an empty batch {format_shape(shape)}")
    if (layer.affine or layer.track_running_stats) and c != layer.num_features and (
            math.prod(shape) > 0):
        # its weight or running statistics hold num_features values
        raise ShapeError(
            f"{name}({layer.num_features}) gets {c} channels (input {format_shape(shape)}, "
            f"channels at dimension {len(shape) - n - 1}); use nn.{name}({c}, ...)"
        )
    if (layer.training or not layer.track_running_stats) and math.prod(shape[-n:]) == 1:
        raise ShapeError(
            f"{name} needs more than 1 spatial value per channel, got input {format_shape(shape)}"
        )
    return shape


def _layernorm(layer: Any, shape: Shape, name: str) -> Shape:
    norm = tuple(layer.normalized_shape)
    if shape[len(shape) - len(norm):] != norm or len(shape) < len(norm):
        raise ShapeError(
            f"LayerNorm({list(norm)}) needs the input to end in {format_shape(norm)}, got "
            f"{format_shape(shape)}; use nn.LayerNorm({list(shape[-len(norm):]) if norm else []})"
        )
    return shape


def _groupnorm(layer: Any, shape: Shape, name: str) -> Shape:
    if len(shape) < 2:
        raise ShapeError(f"GroupNorm expects an (N, C, ...) input, got {format_shape(shape)}")
    if shape[1] != layer.num_channels:
        raise ShapeError(
            f"GroupNorm({layer.num_groups}, {layer.num_channels}) gets {shape[1]} channels "
            f"(input {format_shape(shape)}); use num_channels={shape[1]}"
        )
    if shape[0] * shape[1] // layer.num_groups * math.prod(shape[2:]) == 1:
        raise ShapeError(
            f"GroupNorm({layer.num_groups}, {layer.num_channels}) on {format_shape(shape)} "
            "normalises groups of a single value; PyTorch needs more than 1 value per "
            "group: use fewer groups, a larger input or a batch of 2 or more"
        )
    return shape


def _upsample(layer: Any, shape: Shape, name: str) -> Shape:
    # F.interpolate's argument checks come before any shape check
    if layer.size is None and not layer.scale_factor:
        raise ShapeError(f"{name} needs either size or scale_factor (a non-zero one)")
    if layer.size is not None and layer.scale_factor:
        raise ShapeError(f"{name} takes only one of size or scale_factor, got both")
    if getattr(layer, "align_corners", None) is not None and layer.mode not in (
            "linear", "bilinear", "bicubic", "trilinear"):
        raise ShapeError(
            f"align_corners only goes with the interpolating modes (linear, bilinear, "
            f"bicubic, trilinear), not mode={layer.mode!r}; leave align_corners=None"
        )
    modes = {"linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}
    allowed = modes.get(layer.mode, (3, 4, 5))
    _ndims(layer, shape, allowed, f"(N, C, ...) for mode={layer.mode!r}")
    n = len(shape) - 2
    if layer.size is not None:
        sizes = tuple(ar.per_dim(layer.size, n, "size"))
    else:
        scales = ar.per_dim(layer.scale_factor, n, "scale_factor")
        sizes = tuple(int(math.floor(float(s) * f)) for s, f in zip(shape[2:], scales, strict=True))
    if shape[1] == 0:
        raise ShapeError(f"{name} needs at least one channel, got {format_shape(shape)}")
    if min(shape[2:]) < 1 or min(sizes) < 1:
        raise ShapeError(
            f"{name} turns the spatial size {format_shape(shape[2:])} into {format_shape(sizes)}; "
            "PyTorch needs every input and output size above 0: use a larger "
            "scale_factor or input"
        )
    return shape[:2] + sizes


def _pixel_shuffle(layer: Any, shape: Shape, name: str) -> Shape:
    if len(shape) < 3:
        raise ShapeError(f"{name} expects at least a 3-D (C, H, W) input, got {format_shape(shape)}")
    c, h, w = shape[-3:]
    if name == "PixelShuffle":
        r = layer.upscale_factor
        if c % (r * r):
            raise ShapeError(
                f"PixelShuffle({r}) needs the channels to be a multiple of {r}² = {r * r}, "
                f"got {c}; make the previous layer output {(c // (r * r) + 1) * r * r} channels"
            )
        return shape[:-3] + (c // (r * r), h * r, w * r)
    r = layer.downscale_factor
    for what, size in (("height", h), ("width", w)):
        if size % r:
            raise ShapeError(
                f"PixelUnshuffle({r}) needs the {what} to be a multiple of {r}, got {size}"
            )
    if math.prod(shape) == 0:
        return shape  # aten returns an empty input unchanged
    return shape[:-3] + (c * r * r, h // r, w // r)


def _padlayer(layer: Any, shape: Shape, name: str) -> Shape:
    pads = tuple(layer.padding)
    n = len(pads) // 2
    mode = "reflect" if name.startswith("Reflection") else (
        "circular" if name.startswith("Circular") else (
            "replicate" if name.startswith("Replication") else "zeros"))
    if mode == "zeros":
        if len(shape) < n:
            raise ShapeError(
                f"{name} pads the last {n} dimensions; the input {format_shape(shape)} has {len(shape)}"
            )
    else:
        _ndims(layer, shape, (n + 1, n + 2), "(N, C, ...) or (C, ...)")
        if mode != "circular" and any(s == 0 for s in shape[-(n + 1):]):
            raise ShapeError(f"{name} needs non-empty channels and sizes, got {format_shape(shape)}")
    out = list(shape)
    for i in range(n):
        left, right = pads[2 * i], pads[2 * i + 1]
        axis = len(shape) - 1 - i
        size = shape[axis]
        if mode == "zeros" and size + min(left, 0) + min(right, 0) < 0:
            raise ShapeError(
                f"{name}{pads} crops {-min(left, 0) - min(right, 0)} cells from dimension "
                f"{axis}, which has only {size}"
            )
        if mode in ("reflect", "circular"):
            _check_pad_mode(mode, size, (left, right))
        out[axis] = size + left + right
        if out[axis] < 0:
            raise ShapeError(f"{name}{pads} leaves dimension {axis} with {out[axis]} cells")
    if mode in ("reflect", "replicate") and all(o == 0 for o in out[-n:]):
        # their kernels refuse an output with no cells at all
        raise ShapeError(f"{name}{pads} leaves the input {format_shape(shape)} with no cells")
    return tuple(out)


def _softmax(layer: Any, shape: Shape, name: str) -> Shape:
    if layer.dim is not None:
        _wrap_dim(layer.dim, len(shape), "dim")
    return shape


def _sequential(layer: Any, shape: Shape, name: str) -> Shape:
    for child_name, child in layer.named_children():
        try:
            shape = output_shape(child, shape)
        except ShapeError as err:
            raise ShapeError(f"layer {child_name} ({layer_name(child)}): {err}") from None
    return shape


def _dropout1d(layer: Any, shape: Shape, name: str) -> Shape:
    _ndims(layer, shape, (2, 3), "(N, C, L) or (C, L)")
    return shape


def _feature_dropout(layer: Any, shape: Shape, name: str) -> Shape:
    # aten returns early (no check) outside training, for p of 0 or 1 and for an
    # empty input; Dropout3d adds a batch dimension to anything not 5-D first.
    dims = len(shape) + (name == "Dropout3d" and len(shape) != 5)
    active = layer.training and 0 < layer.p < 1 and math.prod(shape) > 0
    if active and dims < 2:
        raise ShapeError(
            f"{name} in training mode drops whole channels, so it needs at least a 2-D "
            f"input, got {format_shape(shape)}; use nn.Dropout for a 1-D input"
        )
    return shape


def _rule(name: str) -> Callable[[Any, Shape, str], Shape] | None:
    if name in _ELEMENTWISE:
        return lambda layer, shape, name: shape
    table: dict[str, Callable[[Any, Shape, str], Shape]] = {
        "Linear": _linear, "LazyLinear": _linear, "Flatten": _flatten,
        "Unflatten": _unflatten, "LayerNorm": _layernorm, "GroupNorm": _groupnorm,
        "Upsample": _upsample, "UpsamplingNearest2d": _upsample,
        "UpsamplingBilinear2d": _upsample, "PixelShuffle": _pixel_shuffle,
        "PixelUnshuffle": _pixel_shuffle, "Sequential": _sequential,
        "Dropout1d": _dropout1d, "Dropout2d": _feature_dropout,
        "Dropout3d": _feature_dropout, "FeatureAlphaDropout": _feature_dropout,
        "BatchNorm1d": _batchnorm, "BatchNorm2d": _batchnorm, "BatchNorm3d": _batchnorm,
    }
    if name in table:
        return table[name]
    if name in _SOFTMAX:
        return _softmax
    stem = name.removeprefix("Lazy")
    if stem[:-2] in ("Conv", "ConvTranspose"):
        return _conv
    if stem[:-2] in ("MaxPool", "AvgPool", "LPPool"):
        return _pool
    if stem[:-2] in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        return _adaptive
    if name[:-2] == "InstanceNorm":
        return _instancenorm
    if name.endswith(("Pad1d", "Pad2d", "Pad3d")):
        return _padlayer
    return None


def output_shape(layer: Any, input_shape: Sequence[int]) -> Shape:
    """Output shape of a ``torch.nn`` layer for an input shape, by arithmetic alone.

    The layer's attributes are read and PyTorch's rules applied; no tensor is
    created and no operation is run, not even on the meta device. A
    ``torch.nn.Sequential`` is followed layer by layer.

    Parameters
    ----------
    layer : torch.nn.Module
        Conv/ConvTranspose/MaxPool/AvgPool/AdaptivePool/LPPool (1-3 d), Linear,
        Flatten, Unflatten, Upsample, PixelShuffle/Unshuffle, padding layers,
        norms, dropouts, activations, or a Sequential of them.
    input_shape : sequence of int
        Batched or unbatched, as PyTorch accepts it.

    Raises
    ------
    ShapeError
        Wherever PyTorch would refuse, with the reason and a fix.
    TypeError
        For a layer convwidget does not know.

    Examples
    --------
    >>> import torch.nn as nn
    >>> output_shape(nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1), (8, 3, 32, 32))
    (8, 16, 16, 16)
    >>> output_shape(nn.MaxPool2d(2, ceil_mode=True), (3, 5, 5))
    (3, 3, 3)
    >>> output_shape(nn.Linear(4096, 10), (8, 2048))
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: Linear(in_features=4096) receives 2048 features (input shape (8, 2048));
        use nn.Linear(2048, 10), or nn.LazyLinear(10) to let PyTorch infer it
    """
    shape = as_shape(input_shape)
    name = layer_name(layer)
    rule = _rule(name)
    if rule is None:
        raise TypeError(
            f"convwidget does not know the shape rule of {type(layer).__name__}; "
            "convwidget.trace(model, input_shape) follows any model on the meta device"
        )
    return rule(layer, shape, name)


def layer_kind(layer: Any) -> str | None:
    """The :func:`~convwidget.explain` kind of a layer, or None.

    >>> import torch.nn as nn
    >>> layer_kind(nn.ConvTranspose2d(1, 1, 3)), layer_kind(nn.ReLU())
    ('conv_transpose', None)
    """
    stem = layer_name(layer).removeprefix("Lazy")[:-2]
    return {"Conv": "conv", "ConvTranspose": "conv_transpose", "MaxPool": "max_pool",
            "AvgPool": "avg_pool", "LPPool": "avg_pool"}.get(stem)


def spatial_settings(layer: Any) -> dict[str, Any]:
    """A conv/pool layer's per-dimension settings, with PyTorch's parameter names.

    >>> import torch.nn as nn
    >>> spatial_settings(nn.MaxPool2d(3, stride=2, padding=1))["stride"]
    (2, 2)
    """
    kind = layer_kind(layer)
    if kind is None:
        raise TypeError(f"{layer_name(layer)} is not a convolution or pooling layer")
    n = _spatial_n(layer_name(layer))
    if kind.endswith("pool"):
        prm = _pool_params(layer, n)
        if layer_name(layer).startswith("LPPool"):
            prm["padding"] = (0,) * n
        prm["ceil_mode"] = bool(layer.ceil_mode)
        return prm
    padding = layer.padding if isinstance(layer.padding, str) else tuple(layer.padding)
    out = {"kernel_size": tuple(layer.kernel_size), "stride": tuple(layer.stride),
           "padding": padding, "dilation": tuple(layer.dilation)}
    if kind == "conv_transpose":
        out["output_padding"] = tuple(layer.output_padding)
    return out
