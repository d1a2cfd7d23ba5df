"""The one error class convwidget raises for shapes PyTorch refuses."""

from __future__ import annotations

__all__ = ["ShapeError"]


class ShapeError(ValueError):
    """A setting or input shape that PyTorch refuses.

    The message is a sentence a learner can act on: what is wrong, with the
    numbers, and a fix.

    >>> issubclass(ShapeError, ValueError)
    True
    """
