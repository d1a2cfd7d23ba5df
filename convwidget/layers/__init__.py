"""Output shapes of ``torch.nn`` layers, computed from their attributes.

No torch import and no tensor operation: a layer is read by its class name and
attributes (``kernel_size``, ``stride``, ...) and the shape comes from
:mod:`convwidget.arithmetic`. Every refusal PyTorch makes for a shape raises
:class:`~convwidget.ShapeError` with the numbers and a fix.

Rooms: :mod:`~convwidget.layers.base` (the layer's torch name, the input shape, shared
checks), :mod:`~convwidget.layers.spatial` (convolutions, pooling, padding layers) and
:mod:`~convwidget.layers.others` (Linear, Flatten, norms, Upsample, ...); this module picks
the rule for a layer (:func:`output_shape`). A conv/pool layer's settings are read by
:meth:`convwidget.spec.LayerSpec.from_layer` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import spec
from ..errors import ShapeError
from .base import Shape, as_shape, layer_name, read_spec
from .others import (
    batchnorm,
    dropout1d,
    feature_dropout,
    flatten,
    groupnorm,
    instancenorm,
    layernorm,
    linear,
    pixel_shuffle,
    softmax,
    unflatten,
    upsample,
)
from .spatial import adaptive_pool, conv, pad_layer, pool

__all__ = ["as_shape", "layer_kind", "layer_name", "output_shape", "spatial_settings"]

_ELEMENTWISE = {
    "Identity", "ReLU", "ReLU6", "LeakyReLU", "RReLU", "ELU", "SELU", "CELU", "GELU",
    "SiLU", "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Hardshrink", "Softshrink", "Softplus", "Softsign", "Tanhshrink", "Threshold",
    "LogSigmoid", "Dropout", "AlphaDropout",
}


_SOFTMAX = {"Softmax", "LogSoftmax", "Softmin"}


def _sequential(layer: Any, shape: Shape, name: str) -> Shape:
    for child_name, child in layer.named_children():
        try:
            shape = output_shape(child, shape)
        except ShapeError as err:
            raise ShapeError(f"layer {child_name} ({layer_name(child)}): {err}") from None
    return shape


def _rule(name: str) -> Callable[[Any, Shape, str], Shape] | None:
    if name in _ELEMENTWISE:
        return lambda layer, shape, name: shape
    table: dict[str, Callable[[Any, Shape, str], Shape]] = {
        "Linear": linear, "LazyLinear": linear, "Flatten": flatten,
        "Unflatten": unflatten, "LayerNorm": layernorm, "GroupNorm": groupnorm,
        "Upsample": upsample, "UpsamplingNearest2d": upsample,
        "UpsamplingBilinear2d": upsample, "PixelShuffle": pixel_shuffle,
        "PixelUnshuffle": pixel_shuffle, "Sequential": _sequential,
        "Dropout1d": dropout1d, "Dropout2d": feature_dropout,
        "Dropout3d": feature_dropout, "FeatureAlphaDropout": feature_dropout,
        "BatchNorm1d": batchnorm, "BatchNorm2d": batchnorm, "BatchNorm3d": batchnorm,
    }
    if name in table:
        return table[name]
    if name in _SOFTMAX:
        return softmax
    stem = name.removeprefix("Lazy")
    if stem[:-2] in ("Conv", "ConvTranspose"):
        return conv
    if stem[:-2] in ("MaxPool", "AvgPool", "LPPool"):
        return pool
    if stem[:-2] in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        return adaptive_pool
    if name[:-2] == "InstanceNorm":
        return instancenorm
    if name.endswith(("Pad1d", "Pad2d", "Pad3d")):
        return pad_layer
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
    """The :func:`~convwidget.explain` kind of a layer, or None (read by :mod:`convwidget.spec`).

    >>> import torch.nn as nn
    >>> layer_kind(nn.ConvTranspose2d(1, 1, 3)), layer_kind(nn.ReLU())
    ('conv_transpose', None)
    """
    return spec.layer_kind(layer)


def spatial_settings(layer: Any) -> dict[str, Any]:
    """A conv/pool layer's per-dimension settings, with PyTorch's parameter names.

    Read by :meth:`convwidget.spec.LayerSpec.from_layer`; a layer that is neither a
    convolution nor a pooling layer raises ``TypeError``.

    >>> import torch.nn as nn
    >>> spatial_settings(nn.MaxPool2d(3, stride=2, padding=1))["stride"]
    (2, 2)
    >>> spatial_settings(nn.ConvTranspose1d(1, 1, 3, output_padding=0))
    {'kernel_size': (3,), 'stride': (1,), 'padding': (0,), 'dilation': (1,), 'output_padding': (0,)}
    """
    if spec.layer_kind(layer) is None:
        raise TypeError(f"{layer_name(layer)} is not a convolution or pooling layer")
    s = read_spec(layer)
    out: dict[str, Any] = {"kernel_size": s.kernel_size, "stride": s.stride, "padding": s.padding,
                           "dilation": s.dilation}
    if s.kind == "conv_transpose":
        out["output_padding"] = s.output_padding
    if s.is_pool:
        out["ceil_mode"] = s.ceil_mode
    return out
