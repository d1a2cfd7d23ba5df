"""``x.view(...)`` / ``x.reshape(...)`` of a pasted ``forward``, as a module."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ViewAs"]


class ViewAs(nn.Module):
    """``x.view(*shape)`` exactly as written in a pasted ``forward``.

    ``None`` in ``shape`` stands for ``x.size(i)`` at that position. Kept as
    written, including the classic bug: ``x.view(-1, N)`` with a wrong ``N``
    silently changes the batch size instead of failing, and the tracer flags it.

    >>> import torch
    >>> v = ViewAs(-1, 8)
    >>> v
    ViewAs(-1, 8)
    >>> v(torch.zeros(2, 4, 2, 2)).shape   # batch 2 became 4
    torch.Size([4, 8])
    >>> ViewAs(None, -1)(torch.zeros(2, 4, 2, 2)).shape
    torch.Size([2, 16])
    """

    __module__ = "convwidget.pasted"  # its public home, shown in reprs and pickles

    def __init__(self, *shape: int | None, method: str = "view") -> None:
        super().__init__()
        if method not in ("view", "reshape"):
            raise ValueError(f"method must be 'view' or 'reshape', not {method!r}")
        self.shape = tuple(shape)
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [x.size(i) if s is None else s for i, s in enumerate(self.shape)]
        return x.view(*shape) if self.method == "view" else x.reshape(*shape)

    def extra_repr(self) -> str:
        parts = [f"x.size({i})" if s is None else str(s) for i, s in enumerate(self.shape)]
        if self.method != "view":
            parts.append(f"method={self.method!r}")
        return ", ".join(parts)
