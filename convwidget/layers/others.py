"""Shape rules of the other layers: Linear, Flatten/Unflatten, norms, Upsample, PixelShuffle,
Softmax and the dropouts.

Standard library only; see :mod:`convwidget.layers`.
"""

from __future__ import annotations

import math
from typing import Any

from .. import arithmetic as ar
from ..errors import ShapeError
from ..formatting import format_shape
from .base import Shape, batch_example, check_ndims, is_uninitialized, spatial_n, wrap_dim

__all__ = [
    "batchnorm", "dropout1d", "feature_dropout", "flatten", "groupnorm", "instancenorm", "layernorm",
    "linear", "pixel_shuffle", "softmax", "unflatten", "upsample",
]

def linear(layer: Any, shape: Shape, name: str) -> Shape:
    if not shape:
        raise ShapeError("Linear needs at least a 1-D input, got a 0-D (scalar) shape ()")
    if name == "LazyLinear" and is_uninitialized(layer):
        return shape[:-1] + (layer.out_features,)
    if shape[-1] != layer.in_features:
        raise ShapeError(
            f"Linear(in_features={layer.in_features}) receives {shape[-1]} features "
            f"(input shape {format_shape(shape)}); use nn.Linear({shape[-1]}, "
            f"{layer.out_features}), or nn.LazyLinear({layer.out_features}) to let "
            "PyTorch infer it"
        )
    return shape[:-1] + (layer.out_features,)


def flatten(layer: Any, shape: Shape, name: str) -> Shape:
    start = wrap_dim(layer.start_dim, len(shape), "start_dim")
    end = wrap_dim(layer.end_dim, len(shape), "end_dim")
    if start > end:
        raise ShapeError(
            f"Flatten(start_dim={layer.start_dim}, end_dim={layer.end_dim}): start_dim "
            f"comes after end_dim for a {len(shape)}-D input"
        )
    if not shape:
        return (1,)
    return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]


def unflatten(layer: Any, shape: Shape, name: str) -> Shape:
    dim = wrap_dim(layer.dim, len(shape), "dim")
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


def batchnorm(layer: Any, shape: Shape, name: str) -> Shape:
    allowed = {"BatchNorm1d": (2, 3), "BatchNorm2d": (4,), "BatchNorm3d": (5,)}[name]
    check_ndims(layer, shape, allowed, "(N, C, ...)")
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


def instancenorm(layer: Any, shape: Shape, name: str) -> Shape:
    n = spatial_n(name)
    check_ndims(layer, shape, (n + 1, n + 2), batch_example(n))
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


def layernorm(layer: Any, shape: Shape, name: str) -> Shape:
    norm = tuple(layer.normalized_shape)
    if shape[len(shape) - len(norm):] != norm or len(shape) < len(norm):
        raise ShapeError(
            f"LayerNorm({list(norm)}) needs the input to end in {format_shape(norm)}, got "
            f"{format_shape(shape)}; use nn.LayerNorm({list(shape[-len(norm):]) if norm else []})"
        )
    return shape


def groupnorm(layer: Any, shape: Shape, name: str) -> Shape:
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


def upsample(layer: Any, shape: Shape, name: str) -> Shape:
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
    check_ndims(layer, shape, allowed, f"(N, C, ...) for mode={layer.mode!r}")
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


def pixel_shuffle(layer: Any, shape: Shape, name: str) -> Shape:
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


def softmax(layer: Any, shape: Shape, name: str) -> Shape:
    if layer.dim is not None:
        wrap_dim(layer.dim, len(shape), "dim")
    return shape


def dropout1d(layer: Any, shape: Shape, name: str) -> Shape:
    check_ndims(layer, shape, (2, 3), "(N, C, L) or (C, L)")
    return shape


def feature_dropout(layer: Any, shape: Shape, name: str) -> Shape:
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
