"""Shape rules of the sliding-window layers: convolutions, pooling, padding layers.

Standard library only; see :mod:`convwidget.layers`.
"""

from __future__ import annotations

from typing import Any

from .. import arithmetic as ar
from ..errors import ShapeError
from ..formatting import DIM_NAMES, format_shape
from .base import (
    Shape,
    batch_example,
    check_ndims,
    check_pad_mode,
    in_dim,
    is_uninitialized,
    layer_name,
    spatial_n,
)

__all__ = ["adaptive_pool", "conv", "pad_layer", "pool", "pool_params"]

def _channels_check(layer: Any, shape: Shape, expected: int, what: str, n: int) -> None:
    c = shape[-(n + 1)]
    if c != expected:
        cls = layer_name(layer)
        raise ShapeError(
            f"{cls} expects {expected} input channels ({what}={expected}) but the input "
            f"has {c} (shape {format_shape(shape)}); use {what}={c} or make the previous layer "
            f"output {expected} channels"
        )


def conv(layer: Any, shape: Shape, name: str) -> Shape:
    n = spatial_n(name)
    check_ndims(layer, shape, (n + 1, n + 2), batch_example(n))
    transposed = name.startswith("ConvTranspose") or name.startswith("LazyConvTranspose")
    lazy = name.startswith("Lazy") and is_uninitialized(layer)
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
                check_pad_mode(mode, size, pad)
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
            raise in_dim(err, i, n) from None
    return shape[: -(n + 1)] + (layer.out_channels,) + tuple(out)


def _groups_check(layer: Any) -> None:
    g, ci, co = layer.groups, layer.in_channels, layer.out_channels
    if g < 1 or ci % g or co % g:
        common = [d for d in range(1, min(ci, co) + 1) if ci % d == 0 and co % d == 0]
        raise ShapeError(
            f"groups={g} must divide both in_channels={ci} and out_channels={co} (each "
            f"group is its own small convolution); use groups in {common}"
        )


def pool_params(layer: Any, n: int) -> dict[str, Any]:
    stride = layer.stride if layer.stride not in (None, (), []) else layer.kernel_size
    return {
        "kernel_size": ar.per_dim(layer.kernel_size, n, "kernel_size"),
        "stride": ar.per_dim(stride, n, "stride"),
        "padding": ar.per_dim(getattr(layer, "padding", 0), n, "padding"),
        "dilation": ar.per_dim(getattr(layer, "dilation", 1), n, "dilation"),
    }


def pool(layer: Any, shape: Shape, name: str) -> Shape:
    n = spatial_n(name)
    lp = name.startswith("LPPool")
    check_ndims(layer, shape, (n + 1, n + 2), batch_example(n))
    if any(s == 0 for s in shape[-(n + 1):]):
        raise ShapeError(
            f"{name} needs a non-empty input (channels and sizes above 0), got {format_shape(shape)}"
        )
    prm = pool_params(layer, n)
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
            raise in_dim(err, i, n) from None
    return shape[:-n] + tuple(out)


def adaptive_pool(layer: Any, shape: Shape, name: str) -> Shape:
    n = spatial_n(name)
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
    check_ndims(layer, shape, (n + 1, n + 2), batch_example(n))
    # the max kernels check every non-batch dim, the average ones only the sizes
    checked = shape[1:] if name.startswith("AdaptiveMax") else shape[-n:]
    if any(s == 0 for s in checked):
        raise ShapeError(
            f"{name} needs non-empty channels and spatial sizes, got {format_shape(shape)}"
        )
    return shape[:-n] + tuple(s if w is None else w for s, w in zip(shape[-n:], wanted, strict=True))


def pad_layer(layer: Any, shape: Shape, name: str) -> Shape:
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
        check_ndims(layer, shape, (n + 1, n + 2), "(N, C, ...) or (C, ...)")
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
            check_pad_mode(mode, size, (left, right))
        out[axis] = size + left + right
        if out[axis] < 0:
            raise ShapeError(f"{name}{pads} leaves dimension {axis} with {out[axis]} cells")
    if mode in ("reflect", "replicate") and all(o == 0 for o in out[-n:]):
        # their kernels refuse an output with no cells at all
        raise ShapeError(f"{name}{pads} leaves the input {format_shape(shape)} with no cells")
    return tuple(out)
