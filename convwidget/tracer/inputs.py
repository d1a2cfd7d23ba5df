"""What a trace runs the model on: one input shape, several, or keyword inputs.

``trace(model, (1, 3, 32, 32))`` runs ``model(x)``; ``trace(model, [(1, 3, 32, 32), (1, 10)])``
runs ``model(x, y)``; ``trace(model, inputs={"x": (1, 3, 32, 32)})`` runs ``model(x=x)`` (both
may be given). Every shape is checked before anything is allocated. The batch is the first
size of the first input; a second pass at another batch size changes it in every input
whose first size is that batch.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .report import Shape, fmt_shape

__all__ = ["MAX_ELEMENTS", "Inputs", "check_shape", "check_size", "read_inputs"]

# The largest input a trace takes, in elements and along any dimension: meta tensors hold no
# data, but PyTorch computes their sizes in bytes as int64, so 2**48 leaves the layers room to
# grow the activations 8,000-fold (float64) before that overflows.
MAX_ELEMENTS = 2**48


def _whole(value: Any) -> int:
    """An int, a numpy integer, or a float with no fraction, as an int; else ValueError."""
    try:
        return operator.index(value)
    except TypeError:
        number = float(value)
        if number != int(number):
            raise ValueError(value) from None
        return int(number)


def check_shape(input_shape: Any) -> Shape:
    """``input_shape`` as a tuple of ints, or ValueError with a sentence.

    >>> check_shape([1, 3, 32.0, 32])
    (1, 3, 32, 32)
    """
    try:
        shape = tuple(_whole(s) for s in input_shape)
        bad = isinstance(input_shape, str) or any(s < 0 for s in shape)
    except (TypeError, ValueError, OverflowError):
        shape, bad = (), True
    if bad or not shape:
        raise ValueError(f"input_shape must be a sequence of non-negative whole numbers like "
                         f"(1, 3, 32, 32), got {input_shape!r}")
    return shape


def check_size(shape: Shape) -> None:
    """Refuse, before anything is allocated, a shape whose size PyTorch cannot represent."""
    big = next((i for i, n in enumerate(shape) if n > MAX_ELEMENTS), None)
    # PyTorch's strides multiply the sizes with a 0 counted as 1: an empty tensor overflows too
    count = math.prod(max(n, 1) for n in shape)
    if big is None and count <= MAX_ELEMENTS:
        return
    if big is not None:
        what = f"{shape[big]:,} along dim {big}"
    elif 0 in shape:
        what = f"nonzero sizes {' × '.join(str(n) for n in shape if n)} = {count:,} (its strides)"
    else:
        what = f"{' × '.join(map(str, shape))} = {count:,} elements"
    raise ValueError(f"input_shape {fmt_shape(shape)} has {what}, more than the 2**48 = "
                     f"{MAX_ELEMENTS:,} elements a trace takes (PyTorch's size arithmetic "
                     f"overflows beyond that, even on the meta device); use a smaller shape")


@dataclass(frozen=True)
class Inputs:
    """The shapes of a forward's positional (``args``) and keyword (``kwargs``) inputs.

    >>> ins = read_inputs([(2, 3, 8, 8), (2, 5)], {"mask": (8, 8)})
    >>> ins.batch, ins.with_batch(3).args, ins.with_batch(3).kwargs
    (2, ((3, 3, 8, 8), (3, 5)), {'mask': (8, 8)})
    >>> ins.label()
    '[2, 3, 8, 8] & [2, 5] & mask=[8, 8]'
    """

    args: tuple[Shape, ...]
    kwargs: dict[str, Shape] = field(default_factory=dict)

    @property
    def first(self) -> Shape:
        """The first input's shape (the one the report is named by)."""
        return self.args[0] if self.args else next(iter(self.kwargs.values()))

    @property
    def batch(self) -> int | None:
        """The batch size: the first input's first size, None for an input of one dimension."""
        return self.first[0] if len(self.first) >= 2 else None

    def with_batch(self, batch: int) -> Inputs:
        """The same inputs with every batch-first size set to ``batch``."""
        old = self.batch

        def swap(s: Shape) -> Shape:
            return (batch, *s[1:]) if len(s) >= 2 and s[0] == old else s

        return replace(self, args=tuple(swap(s) for s in self.args),
                       kwargs={k: swap(s) for k, s in self.kwargs.items()})

    def tensors(self, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
        """Meta tensors of these shapes (no data: nothing is allocated)."""
        args = tuple(torch.empty(s, dtype=dtype, device="meta") for s in self.args)
        return args, {k: torch.empty(s, dtype=dtype, device="meta") for k, s in self.kwargs.items()}

    def label(self) -> str:
        """The shapes as the report prints them."""
        return " & ".join([fmt_shape(s) for s in self.args]
                          + [f"{k}={fmt_shape(s)}" for k, s in self.kwargs.items()])


def _is_shape_list(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(v, (list, tuple, torch.Size)) for v in value))


def read_inputs(input_shape: Any, inputs: Mapping[str, Any] | None = None) -> Inputs:
    """The checked shapes: ``input_shape`` one shape or a list of shapes (positional
    inputs, None for none), ``inputs`` keyword inputs by name.

    >>> read_inputs((1, 3, 32, 32)).args
    ((1, 3, 32, 32),)
    >>> read_inputs(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: input_shape must be a sequence of non-negative whole numbers like (1, 3, 32, 32) ...
    """
    if input_shape is None:
        args: tuple[Shape, ...] = ()
    elif _is_shape_list(input_shape):
        args = tuple(check_shape(s) for s in input_shape)
    else:
        args = (check_shape(input_shape),)
    if inputs is not None and not isinstance(inputs, Mapping):
        raise TypeError(f'inputs must be a dict of keyword input shapes such as '
                        f'{{"x": (1, 3, 32, 32)}}, got {type(inputs).__name__}')
    kwargs = {str(k): check_shape(v) for k, v in (inputs or {}).items()}
    if not args and not kwargs:
        raise ValueError("input_shape must be a sequence of non-negative whole numbers like "
                         "(1, 3, 32, 32) (a list of them for a forward that takes several inputs, "
                         "or inputs={'name': shape} for keyword inputs), got None")
    for s in (*args, *kwargs.values()):
        check_size(s)
    return Inputs(args, kwargs)
