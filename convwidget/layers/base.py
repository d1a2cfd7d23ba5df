"""What every shape rule shares: the layer's torch name, the input shape, dimension checks.

Standard library only; see :mod:`convwidget.layers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import arithmetic as ar
from ..errors import ShapeError
from ..formatting import DIM_NAMES, format_shape
from ..spec import LayerSpec

__all__ = [
    "Shape", "as_shape", "batch_example", "check_ndims", "check_pad_mode", "in_dim", "is_uninitialized",
    "layer_name", "read_spec", "spatial_n", "wrap_dim",
]

Shape = tuple[int, ...]


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


def read_spec(layer: Any) -> LayerSpec:
    """A conv/pool layer's settings, read by :meth:`~convwidget.spec.LayerSpec.from_layer`.

    Settings no torch layer can hold (a layer whose attributes were changed by hand) are
    refused as :class:`~convwidget.ShapeError`, the shape rules' one error.

    >>> import torch.nn as nn
    >>> read_spec(nn.AvgPool1d(3)).stride
    (3,)
    """
    try:
        return LayerSpec.from_layer(layer)
    except ShapeError:
        raise
    except ValueError as err:
        raise ShapeError(f"{layer_name(layer)}: {err}") from None


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


def check_ndims(layer: Any, shape: Shape, allowed: Sequence[int], example: str) -> None:
    if len(shape) not in allowed:
        dims = " or ".join(f"{a}-D" for a in allowed)
        raise ShapeError(
            f"{layer_name(layer)} expects a {dims} input ({example}), got a {len(shape)}-D "
            f"shape {format_shape(shape)}"
        )


def spatial_n(name: str) -> int:
    return int(name[-2]) if name[-2:-1].isdigit() else 0


def batch_example(n: int) -> str:
    letters = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
    return f"(N, C, {letters}) or (C, {letters})"


def is_uninitialized(layer: Any) -> bool:
    check = getattr(layer, "has_uninitialized_params", None)
    return bool(check()) if callable(check) else False


def wrap_dim(dim: int, ndim: int, what: str) -> int:
    nd = max(ndim, 1)
    if not -nd <= dim < nd:
        raise ShapeError(
            f"{what}={dim} is out of range for a {ndim}-D input (valid: {-nd} to {nd - 1})"
        )
    return dim % nd


def check_pad_mode(mode: str, size: int, pad: tuple[int, int]) -> None:
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


def in_dim(err: ShapeError, i: int, n: int) -> ShapeError:
    if n == 1:
        return err
    return ShapeError(f"{DIM_NAMES[n][i]}: {err}")
