"""Shape rules of the sliding-window layers: convolutions, pooling, padding layers.

Standard library only; see :mod:`convwidget.layers`.
"""

from __future__ import annotations

from typing import Any

from .. import arithmetic as ar
from ..errors import ShapeError
from ..formatting import DIM_NAMES, format_shape
from ..spec import LayerSpec
from .base import (
    Shape,
    batch_example,
    check_ndims,
    check_pad_mode,
    in_dim,
    is_uninitialized,
    layer_name,
    read_spec,
    spatial_n,
)

__all__ = ["adaptive_pool", "conv", "onednn_transposed", "pad_layer", "pool", "transposed_output"]


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
    spec = read_spec(layer)
    if not (name.startswith("Lazy") and is_uninitialized(layer)):
        spec.check_groups()
        _channels_check(layer, shape, spec.in_channels, "in_channels", n)
    if any(s == 0 for s in shape[-n:]) or shape[-(n + 1)] == 0:
        raise ShapeError(f"{layer_name(layer)} got an empty input {format_shape(shape)}")
    if spec.kind == "conv_transpose":
        out = _transposed_sizes(spec, shape, n)
    else:
        out = [_conv_size(spec, size, i, n) for i, size in enumerate(shape[-n:])]
    return shape[: -(n + 1)] + (spec.out_channels,) + tuple(out)


def _conv_size(spec: LayerSpec, size: int, i: int, n: int) -> int:
    """One dimension of a (not transposed) convolution, refusals named by dimension."""
    k, s, d, mode = spec.kernel_size[i], spec.stride[i], spec.dilation[i], spec.padding_mode
    try:
        if isinstance(spec.padding, str):
            pad = ar.resolve_padding(spec.padding, k, 1, d)
        else:
            pad = (spec.padding[i], spec.padding[i])
        if mode != "zeros":
            # F.pad(mode=...) first (a negative pad crops), then a conv with padding 0
            check_pad_mode(mode, size, pad)
            cropped = size + pad[0] + pad[1]
            if cropped < 1:
                raise ShapeError(
                    f"padding={pad[0]} with padding_mode={mode!r} crops the {size}-cell "
                    f"input to {cropped} cells; use padding >= {(2 - size) // 2}"
                )
            size, pad = cropped, (0, 0)
        return ar.conv_output_size(size, k, s, pad, d)
    except ShapeError as err:
        raise in_dim(err, i, n) from None


def transposed_output(spec: LayerSpec, shape: Shape) -> list[int]:
    """The spatial output sizes of a transposed convolution ``spec`` on ``shape`` (N, C, *sizes),
    with torch's rule for a size of exactly 0: oneDNN returns an empty tensor, the slow kernel
    refuses (:class:`~convwidget.errors.ShapeError`).

    >>> from convwidget.spec import LayerSpec
    >>> spec = LayerSpec.from_settings(kind="conv_transpose", kernel_size=4, stride=(2, 1), padding=(3, 0))
    >>> transposed_output(spec, (1, 1, 2, 1))
    [0, 4]
    """
    return _transposed_sizes(spec, shape, spec.ndim)


def _transposed_sizes(spec: LayerSpec, shape: Shape, n: int) -> list[int]:
    """The output sizes of a transposed convolution, with torch's rule for a size of exactly 0.

    An empty batch skips aten's checks (any size >= 0 comes back). Otherwise a size of 0
    is refused only by torch's slow kernel; the oneDNN kernel returns an empty tensor
    (see :func:`onednn_transposed`).
    """
    pads = spec.padding
    if isinstance(pads, str):
        raise ShapeError(f"padding={pads!r}: transposed convolutions take a number of "
                         "cells, not 'same' or 'valid'")
    empty_batch = len(shape) == n + 2 and shape[0] == 0
    out: list[int] = []
    zero: list[ShapeError] = []
    for i, size in enumerate(shape[-n:]):
        try:
            cells, refusal = _transposed_size(spec, size, i, pads[i], empty_batch)
        except ShapeError as err:
            raise in_dim(err, i, n) from None
        out.append(cells)
        if refusal is not None:
            zero.append(in_dim(refusal, i, n))
    if zero and not onednn_transposed(spec, shape):
        raise ShapeError(
            f"{zero[0]} (torch's slow kernel refuses an empty output; with a batch above 1, "
            "groups above 1 or a larger input it returns an empty tensor instead)") from None
    return out


def _transposed_size(spec: LayerSpec, size: int, i: int, p: int,
                     empty_batch: bool) -> tuple[int, ShapeError | None]:
    """One dimension of a transposed convolution: (size, None), or (0, the slow kernel's
    refusal) for a size of exactly 0 that only some of torch's kernels refuse."""
    k, s, d, op = spec.kernel_size[i], spec.stride[i], spec.dilation[i], spec.output_padding[i]
    raw = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    valid = min(k, s, d) >= 1 and p >= 0 and op >= 0
    if empty_batch and valid and raw >= 0:
        return raw, None  # an empty batch skips aten's output_padding and size checks
    try:
        return ar.conv_transpose_output_size(size, k, s, p, op, d), None
    except ShapeError as err:
        if raw == 0 and valid and op < max(s, d):
            return 0, err
        raise


def onednn_transposed(spec: LayerSpec, shape: Shape) -> bool:
    """Whether torch 2.13 runs this transposed convolution with oneDNN on a CPU.

    ``ConvParams::use_mkldnn`` in aten's ``Convolution.cpp``, for float32 on a CPU with
    oneDNN and more than one thread (torch's default on a multi-core machine): not when an
    ``output_padding`` reaches its stride; otherwise when groups > 1, or the kernel's last
    two sizes are both above 3, or the batch is above 1, or batch × channels × the first
    two spatial sizes exceed 20480 (a 1-d input is seen as ``(N, C, 1, L)``, its kernel as
    ``(1, k)``). The other kernel, ``slow_conv_transpose``, refuses an output size below 1;
    oneDNN returns a size of 0 as an empty tensor.

    >>> from convwidget.spec import LayerSpec
    >>> spec = LayerSpec.from_settings(kind="conv_transpose", kernel_size=3, padding=2)
    >>> onednn_transposed(spec, (1, 1, 2, 2)), onednn_transposed(spec, (2, 1, 2, 2))
    (False, True)
    """
    n = spec.ndim
    if any(op >= s for op, s in zip(spec.output_padding, spec.stride, strict=True)):
        return False
    batch = shape[0] if len(shape) == n + 2 else 1
    channels = shape[-(n + 1)]
    first_two = (1, *shape[-1:]) if n == 1 else shape[-n:][:2]
    kernel = (1, *spec.kernel_size)[-2:]
    return (spec.groups > 1 or min(kernel) > 3 or batch > 1
            or batch * channels * first_two[0] * first_two[1] > 20480)


def pool(layer: Any, shape: Shape, name: str) -> Shape:
    n = spatial_n(name)
    lp = name.startswith("LPPool")
    check_ndims(layer, shape, (n + 1, n + 2), batch_example(n))
    if any(s == 0 for s in shape[-(n + 1):]):
        raise ShapeError(
            f"{name} needs a non-empty input (channels and sizes above 0), got {format_shape(shape)}"
        )
    spec = read_spec(layer)
    avg3d = name in ("AvgPool3d", "LPPool3d")
    out = []
    for i, size in enumerate(shape[-n:]):
        k = spec.kernel_size[i]
        if avg3d and size < k:
            raise ShapeError(
                f"{DIM_NAMES[n][i]}: {name} needs each input size to be at least the "
                f"kernel (before padding): input {size} < kernel_size {k}; use a kernel "
                f"<= {size} or a larger input (avg_pool3d refuses it even with padding)"
            )
        try:
            out.append(ar.pool_output_size(
                size, k, spec.stride[i], 0 if lp else _fixed(spec.padding)[i],
                spec.dilation[i], spec.ceil_mode))
        except ShapeError as err:
            raise in_dim(err, i, n) from None
    return shape[:-n] + tuple(out)


def _fixed(padding: Any) -> tuple[int, ...]:
    """A pool's padding as numbers (a pool has no 'same' or 'valid')."""
    if isinstance(padding, str):
        raise ShapeError(f"padding={padding!r}: pooling layers take a number of cells, not "
                         "'same' or 'valid'")
    return tuple(padding)


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
