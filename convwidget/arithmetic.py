"""PyTorch's output-size rules, one spatial dimension at a time.

Standard library only. Every function here agrees with PyTorch on every input,
including the inputs PyTorch refuses: those raise :class:`~convwidget.ShapeError`
with a sentence that says what is wrong, with the numbers, and a fix.

The rules (``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding,
``d`` dilation):

* convolution: ``⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1``; refused when the kernel's
  span ``d(k − 1) + 1`` is larger than the padded input ``n + 2p``;
* transposed convolution: ``(n − 1)s − 2p + d(k − 1) + output_padding + 1``;
  ``output_padding`` must be smaller than the stride or the dilation;
* pooling: as convolution, but ``ceil_mode`` rounds up and then drops a last
  window that would start in the right padding; padding may be at most half
  the kernel.
"""

from __future__ import annotations

import operator
from typing import Any

from .errors import ShapeError

__all__ = [
    "Padding",
    "as_tuple",
    "check_bool",
    "check_int",
    "conv_output_size",
    "conv_transpose_output_size",
    "effective_kernel",
    "pool_output_size",
    "resolve_padding",
    "same_padding",
    "whole",
]

#: An int, ``'same'``, ``'valid'``, or an explicit ``(left, right)`` pair.
Padding = int | str | tuple[int, int]


def whole(name: str, value: Any) -> int:
    """``value`` as an int: ints, and numpy or torch integers (anything with ``__index__``).

    Floats and strings are refused with a sentence, even ``3.0``: PyTorch refuses them too.

    >>> whole("stride", 2)
    2
    >>> whole("stride", 2.0)
    Traceback (most recent call last):
    ...
    TypeError: stride must be a whole number, got 2.0 (float); use e.g. stride=2
    """
    try:
        return operator.index(value)
    except TypeError:
        example = round(value) if isinstance(value, float) and value == value and abs(value) < 1e9 else 1
        raise TypeError(
            f"{name} must be a whole number, got {value!r} ({type(value).__name__}); "
            f"use e.g. {name}={max(example, 0)}"
        ) from None


def check_int(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int (numpy and torch integers too) if it is >= ``minimum``.

    >>> check_int("stride", 2, 1)
    2
    >>> check_int("stride", 0, 1)
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: stride must be positive, got stride=0; PyTorch refuses it
    """
    try:
        number = whole(name, value)
    except TypeError:
        raise TypeError(
            f"{name} must be a whole number, got {value!r} "
            f"({type(value).__name__}); use e.g. {name}={minimum}"
        ) from None
    if number < minimum:
        what = "positive" if minimum == 1 else f"at least {minimum}"
        raise ShapeError(f"{name} must be {what}, got {name}={number}; PyTorch refuses it")
    return number


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool if it is one (or a numpy bool, or 0/1), else raise.

    Python would take any non-empty string as true, so ``ceil_mode='no'`` would quietly
    mean ``ceil_mode=True``; a flag is refused unless it is clearly a yes or a no.

    >>> check_bool("ceil_mode", False)
    False
    >>> check_bool("ceil_mode", "no")
    Traceback (most recent call last):
    ...
    TypeError: ceil_mode must be True or False, got 'no' (str); use ceil_mode=True or ceil_mode=False
    """
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool" and callable(getattr(value, "item", None)):
        return bool(value)  # numpy.bool: not an int, but clearly a flag
    try:
        number = operator.index(value)  # ints, numpy and torch ints
    except TypeError:
        number = -1
    if number in (0, 1):
        return bool(number)
    raise TypeError(
        f"{name} must be True or False, got {value!r} ({type(value).__name__}); "
        f"use {name}=True or {name}=False"
    )


def effective_kernel(kernel_size: int, dilation: int = 1) -> int:
    """Number of input cells a dilated kernel spans: ``d·(k − 1) + 1``.

    >>> effective_kernel(3, dilation=2)
    5
    """
    return dilation * (kernel_size - 1) + 1


def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """PyTorch's ``(left, right)`` padding for ``padding='same'``.

    The total padding ``d·(k − 1)`` is split with the extra cell on the right,
    as ``torch.nn.Conv*d`` does (TensorFlow puts it on the same side, but
    computes it from the stride too; PyTorch refuses 'same' with a stride > 1).

    >>> same_padding(3)
    (1, 1)
    >>> same_padding(4)
    (1, 2)
    >>> same_padding(3, dilation=2)
    (2, 2)
    """
    k = check_int("kernel_size", kernel_size, 1)
    d = check_int("dilation", dilation, 1)
    total = d * (k - 1)
    return total // 2, total - total // 2


def resolve_padding(
    padding: Padding, kernel_size: int, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    """Turn a convolution's ``padding`` argument into ``(left, right)`` cells.

    >>> resolve_padding(2, kernel_size=5)
    (2, 2)
    >>> resolve_padding("same", kernel_size=4)
    (1, 2)
    >>> resolve_padding("valid", kernel_size=3)
    (0, 0)
    """
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            if stride != 1:
                raise ShapeError(
                    f"padding='same' needs stride=1, got stride={stride}: PyTorch refuses "
                    "'same' for strided convolutions (the output could not keep the "
                    "input's size); use stride=1, or an explicit padding such as "
                    f"padding={dilation * (kernel_size - 1) // 2}"
                )
            return same_padding(kernel_size, dilation)
        raise ShapeError(
            f"padding={padding!r} is not a padding PyTorch knows; use a number of "
            "cells, 'same' or 'valid'"
        )
    if isinstance(padding, tuple):
        left, right = padding
        return check_int("padding", left, 0), check_int("padding", right, 0)
    p = check_int("padding", padding, 0)
    return p, p


def _cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


def _padding_text(left: int, right: int) -> str:
    return f"2×padding {left}" if left == right else f"padding {left} + {right}"


def _check_span(n: int, left: int, right: int, k: int, d: int, what: str) -> None:
    """Refuse a kernel whose span is larger than the padded input, as PyTorch does."""
    span = effective_kernel(k, d)
    padded = n + left + right
    if span <= padded:
        return
    kernel = f"kernel_size={k}" + (f", dilation={d}" if d != 1 else "")
    need = -(-(span - n) // 2)
    fix = f"use padding >= {need}" if left == right else "use more padding"
    smaller = "a smaller kernel/dilation" if d != 1 else "a smaller kernel"
    raise ShapeError(
        f"{what} spans {_cells(span)} ({kernel}) but the padded input has {padded} "
        f"(input {n} + {_padding_text(left, right)}); {fix} or {smaller}"
    )


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: Padding = 0,
    dilation: int = 1,
) -> int:
    """Output size of ``torch.nn.Conv*d`` along one dimension.

    ``⌊(size + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``

    Parameters
    ----------
    size : int
        Input size along this dimension.
    kernel_size, stride, dilation : int
        As in ``torch.nn.Conv2d`` (for one dimension).
    padding : int, 'same', 'valid' or (left, right)
        Zero padding on each side, or PyTorch's padding strings.

    Raises
    ------
    ShapeError
        Where PyTorch refuses the setting: the kernel spans more cells than the
        padded input has, 'same' with a stride above 1, a non-positive stride.

    Examples
    --------
    >>> conv_output_size(32, kernel_size=3, stride=2, padding=1)
    16
    >>> conv_output_size(7, kernel_size=3, dilation=2)
    3
    >>> conv_output_size(5, kernel_size=4, padding="same")
    5
    >>> conv_output_size(3, kernel_size=4, padding=1, dilation=2)
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: kernel spans 7 cells (kernel_size=4, dilation=2) but the padded input has
        5 (input 3 + 2×padding 1); use padding >= 2 or a smaller kernel/dilation
    """
    n = check_int("size", size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    d = check_int("dilation", dilation, 1)
    left, right = resolve_padding(padding, k, s, d)
    _check_span(n, left, right, k, d, "kernel")
    return (n + left + right - effective_kernel(k, d)) // s + 1


def conv_transpose_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output size of ``torch.nn.ConvTranspose*d`` along one dimension.

    ``(size − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``

    Raises
    ------
    ShapeError
        ``output_padding`` not smaller than either the stride or the dilation,
        or an output size below 1 (too much padding).

    Examples
    --------
    >>> conv_transpose_output_size(16, kernel_size=3, stride=2, padding=1, output_padding=1)
    32
    >>> conv_transpose_output_size(2, kernel_size=3)
    4
    >>> conv_transpose_output_size(5, kernel_size=3, stride=2, output_padding=2)
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: output_padding=2 must be smaller than either stride (2) or dilation (1);
        use output_padding <= 1
    """
    n = check_int("size", size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    if isinstance(padding, str):
        raise ShapeError(
            f"padding={padding!r}: transposed convolutions take a number of cells, "
            "not 'same' or 'valid'"
        )
    p = check_int("padding", padding, 0)
    op = check_int("output_padding", output_padding, 0)
    d = check_int("dilation", dilation, 1)
    if op >= max(s, d):
        raise ShapeError(
            f"output_padding={op} must be smaller than either stride ({s}) or "
            f"dilation ({d}); use output_padding <= {max(s, d) - 1}"
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        full = (n - 1) * s + d * (k - 1) + op + 1
        raise ShapeError(
            f"output size would be {out}: (input {n} − 1)·stride {s} + dilation {d}·"
            f"(kernel {k} − 1) + output_padding {op} + 1 = {full} cells, minus "
            f"2×padding {p}; use padding <= {(full - 1) // 2}"
        )
    return out


def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output size of ``torch.nn.MaxPool*d`` / ``AvgPool*d`` along one dimension.

    ``⌊(size + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``, with
    ``⌈…⌉`` under ``ceil_mode``; but PyTorch then drops a last window that would
    start in the right padding (start ≥ size + padding). ``stride=None`` means
    ``kernel_size``. Average pooling has no dilation: leave it at 1.

    Raises
    ------
    ShapeError
        Padding above half the kernel, or an output size below 1.

    Examples
    --------
    >>> pool_output_size(32, kernel_size=2)
    16
    >>> pool_output_size(5, kernel_size=2, ceil_mode=True)
    3
    >>> pool_output_size(5, kernel_size=2, padding=1, ceil_mode=True)  # not ⌈5/2⌉ + 1
    3
    >>> pool_output_size(2, kernel_size=3)
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: output size would be 0: the window spans 3 cells (kernel_size=3) but the
        padded input has 2 (input 2 + 2×padding 0); use padding >= 1, a smaller kernel, or ceil_mode=True
    """
    n = check_int("size", size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = k if stride is None else check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    ceil_mode = check_bool("ceil_mode", ceil_mode)
    span = effective_kernel(k, d)
    if p > k // 2:
        # Pool.h checks both kW/2 >= pad and pad <= effective_kernel/2; with a
        # dilation >= 1 the first is the stricter.
        raise ShapeError(
            f"padding={p} is more than half the kernel (kernel_size={k}, so at most "
            f"{k // 2}): PyTorch refuses pooling windows that could lie mostly in the "
            f"padding; use padding <= {k // 2}"
        )
    out = _pool_out(n, span, s, p, ceil_mode)
    if out < 1:
        kernel = f"kernel_size={k}" + (f", dilation={d}" if d != 1 else "")
        need = -(-(span - n) // 2)
        fixes = []
        if 0 < need <= k // 2:
            fixes.append(f"padding >= {need}")
        fixes.append("a smaller kernel")
        if not ceil_mode and _pool_out(n, span, s, p, True) >= 1:
            fixes.append("ceil_mode=True")
        fix = ", ".join(fixes[:-1]) + (", or " if len(fixes) > 2 else " or ") + fixes[-1]
        raise ShapeError(
            f"output size would be {out}: the window spans {_cells(span)} ({kernel}) but "
            f"the padded input has {n + 2 * p} (input {n} + 2×padding {p}); use {fix}"
        )
    return out


def _pool_out(n: int, span: int, s: int, p: int, ceil_mode: bool) -> int:
    """Pooling output size without checks (aten's pooling_output_shape)."""
    out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start in the right padding: dropped
    return out


def pool_window_dropped(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
) -> bool:
    """Whether ``ceil_mode=True`` drops a last window that would start in the padding.

    This is where a plain ``⌈…⌉ + 1`` formula disagrees with PyTorch.

    >>> pool_window_dropped(5, kernel_size=2, padding=1)
    True
    >>> pool_window_dropped(5, kernel_size=2)
    False
    """
    k = check_int("kernel_size", kernel_size, 1)
    s = k if stride is None else check_int("stride", stride, 1)
    n = check_int("size", size, 0)
    p = check_int("padding", padding, 0)
    span = effective_kernel(k, check_int("dilation", dilation, 1))
    plain = (n + 2 * p - span + s - 1) // s + 1
    return plain != _pool_out(n, span, s, p, True)


def as_tuple(value: Any) -> tuple[Any, ...]:
    """A sequence (tuple, list, numpy array, torch.Size) as a tuple; anything else as ``(value,)``.

    >>> as_tuple(3), as_tuple([3, 5]), as_tuple("same")
    ((3,), (3, 5), ('same',))
    """
    if isinstance(value, (str, bytes)):
        return (value,)
    try:
        return tuple(value)
    except TypeError:  # a number (a 0-d array too)
        return (value,)


def per_dim(value: Any, ndim: int, name: str) -> tuple[Any, ...]:
    """Expand an int (or None) to ``ndim`` copies; check a tuple's length.

    >>> per_dim(3, 2, "kernel_size")
    (3, 3)
    >>> per_dim((3, 5), 2, "kernel_size")
    (3, 5)
    """
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and ndim > 1:
            return tuple(value) * ndim
        if len(value) != ndim:
            raise ShapeError(
                f"{name}={tuple(value)} has {len(value)} values but the layer has "
                f"{ndim} spatial dimension{'s' if ndim != 1 else ''}; give one value "
                f"or {ndim}"
            )
        return tuple(value)
    return (value,) * ndim
