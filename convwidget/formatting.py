"""How shapes and sizes are written, in one place.

Standard library only. Messages and titles quote shapes in a few styles: the
tuple a learner would type, the list torch prints for ``tensor.shape``, and the
``32 × 32`` of a picture's title. Every module asks :func:`format_shape` rather
than joining numbers itself, so a shape reads the same in every message.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

__all__ = ["DIM_NAMES", "STYLES", "format_shape"]

#: The names of the spatial dimensions of a 1-, 2- and 3-d layer, as messages write them.
DIM_NAMES: dict[int, tuple[str, ...]] = {
    1: ("length",),
    2: ("height", "width"),
    3: ("depth", "height", "width"),
}

#: The styles :func:`format_shape` knows: (opening, separator, closing).
STYLES: dict[str, tuple[str, str, str]] = {
    "tuple": ("(", ", ", ")"),  # (8, 3, 32, 32): what a learner types
    "list": ("[", ", ", "]"),  # [8, 3, 32, 32]: torch.Size's look, for traced shapes
    "times": ("", " × ", ""),  # 32 × 32: sizes in prose and explanations
    "compact": ("", "×", ""),  # 32×32: titles in a picture, where space is short
}


def format_shape(shape: Sequence[int] | None, style: str = "tuple", missing: str = "—") -> str:
    """Write a shape (or a spatial size) in one of the :data:`STYLES`.

    Parameters
    ----------
    shape
        Whole numbers (ints, or anything with ``__index__`` such as numpy integers);
        None writes ``missing`` (a shape that does not exist, e.g. a refused layer's output).
    style
        ``'tuple'`` ``(8, 3, 32, 32)``, ``'list'`` ``[8, 3, 32, 32]``, ``'times'``
        ``8 × 3 × 32 × 32`` or ``'compact'`` ``8×3×32×32``.
    missing
        The text for ``shape=None``.

    Examples
    --------
    >>> format_shape((8, 3, 32, 32))
    '(8, 3, 32, 32)'
    >>> format_shape((16, 16), "times"), format_shape((5, 7), "compact")
    ('16 × 16', '5×7')
    >>> format_shape([1, 10], "list"), format_shape(None, "list")
    ('[1, 10]', '—')
    >>> format_shape((1,), "tuple")
    '(1)'
    """
    if shape is None:
        return missing
    try:
        opening, sep, closing = STYLES[style]
    except KeyError:
        raise ValueError(
            f"style={style!r} is not a shape style; use one of {', '.join(map(repr, STYLES))}"
        ) from None
    return opening + sep.join(str(operator.index(s)) for s in shape) + closing
