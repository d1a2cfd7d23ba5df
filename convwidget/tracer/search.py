"""``input_size_range``: which input sizes give the same shape at the flatten step.

Each probe asks "does the model take this size, and what reaches the flatten step?": for a
plain ``nn.Sequential`` of torch.nn layers the core's arithmetic answers in microseconds a
layer, anything else is re-traced (light traces, no derivations). The search doubles its
step away from the given size, then bisects the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from ..errors import ShapeError
from ..layers import output_shape
from .calls import is_builtin, merged
from .report import Shape, SizeRange, TraceReport, fmt_shape
from .tracing import check_options, check_shape, trace

__all__ = ["input_size_range"]

Key = tuple[Shape | None, str]


def _flatten_key(report: TraceReport) -> Key:
    row = report.flatten_row
    if row is not None:
        return row.input_shape, "the flatten step"
    return report.output_shape, "the output"


def _chain_layers(model: nn.Module) -> list[nn.Module] | None:
    """The layers of a plain ``nn.Sequential`` of torch.nn layers, else None."""
    if type(model) is not nn.Sequential:
        return None
    layers: list[nn.Module] = []
    for m in model:
        if type(m) is nn.Sequential:
            inner = _chain_layers(m)
            if inner is None:
                return None
            layers.extend(inner)
        elif not is_builtin(m) or isinstance(m, LazyModuleMixin):
            return None
        else:
            layers.append(m)
    return layers


def _chain_key(layers: list[nn.Module], shape: Shape) -> Key | None:
    """The shape at a plain chain's flatten step by the core's arithmetic (microseconds a
    layer instead of a trace). None when the arithmetic cannot say or refuses: the caller
    then traces, so both paths always agree."""
    try:
        for m in layers:
            out = output_shape(m, shape)
            if isinstance(m, nn.Flatten) and merged(shape, out) is not None:
                return shape, "the flatten step"
            shape = out
        return shape, "the output"
    except Exception:  # ShapeError, or a layer the core does not know: trace instead
        return None


class _Probe:
    """Answers "is size n accepted along dim d, and what reaches the flatten step?", cached."""

    def __init__(self, model: nn.Module, shape: Shape, d: int, training: bool,
                 dtype: torch.dtype | None) -> None:
        self.model, self.shape, self.d = model, shape, d
        self.training, self.dtype = training, dtype
        self.chain = _chain_layers(model)
        self.cache: dict[int, tuple[bool, Key]] = {}

    def shape_at(self, n: int) -> Shape:
        return (*self.shape[:self.d], n, *self.shape[self.d + 1:])

    def __call__(self, n: int) -> tuple[bool, Key]:
        if n not in self.cache:
            shape = self.shape_at(n)
            fast = _chain_key(self.chain, shape) if self.chain is not None else None
            if fast is not None:
                self.cache[n] = (True, fast)
            else:
                r = trace(self.model, shape, training=self.training, dtype=self.dtype,
                          explain=False)
                self.cache[n] = (r.error is None, _flatten_key(r))
        return self.cache[n]

    def accepts(self, n: int) -> bool:
        return self(n)[0]


def _edge(same: _Same, size: int, step_sign: int, limit: int) -> int:
    """The last size from ``size`` in direction ``step_sign`` that is still ``same``."""
    good, step = size, 1
    while True:
        n = size + step_sign * step
        if n < 1 or n > limit or not same(n):
            break
        good, step = n, step * 2
    bad = max(1, min(limit, size + step_sign * step))
    if bad == good:
        return good
    lo, hi = sorted((good, bad))  # good and bad bracket the edge
    while hi - lo > 1:
        mid = (lo + hi) // 2
        # move the end that is on mid's side of the edge
        if (same(mid) == same(good)) == (good < bad):
            lo = mid
        else:
            hi = mid
    return lo if good < bad else hi


def _smallest(probe: _Probe, size: int) -> int:
    """The smallest size the layers accept (bisection: accepted sizes run up to ``size``)."""
    if probe.accepts(1):
        return 1
    lo, hi = 1, size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe.accepts(mid):
            hi = mid
        else:
            lo = mid
    return hi


class _Same:
    """True for a size that is accepted and gives ``key`` at the flatten step."""

    def __init__(self, probe: _Probe, key: Shape | None) -> None:
        self.probe, self.key = probe, key

    def __call__(self, n: int) -> bool:
        ok, (k, _) = self.probe(n)
        return ok and k == self.key


def input_size_range(model: nn.Module | str, input_shape: Sequence[int], dim: int = -1,
                     *, training: bool = False, dtype: torch.dtype | None = None,
                     limit: int = 1 << 14) -> SizeRange:
    """The input sizes along ``dim`` that give the same shape at the flatten step.

    Floor division in convolutions and pooling loses information: the forum CIFAR-10 net
    gives ``256 × 4 × 4`` for every input side from 32 to 39. Also reports the smallest size
    the layers accept. Only ``dim`` varies; the other dimensions stay as given. The search
    re-traces (light traces, no derivations) and bisects, assuming larger inputs never
    shrink the flatten shape (true for convolution and pooling chains).

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.MaxPool2d(2),
    ...                     nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    >>> r = input_size_range(net, (1, 3, 32, 32), dim=-1)
    >>> r.low, r.high, r.shape, r.smallest
    (32, 35, (1, 8, 8, 8), 4)
    """
    if isinstance(model, str):
        from ..pasted import read

        model = read(model).model
    shape = check_shape(input_shape)
    check_options(training, dtype)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be a whole number (which input dimension to vary), got {dim!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1 (the largest size to try), "
                         f"got {limit!r}")
    d = dim if dim >= 0 else len(shape) + dim
    if not 0 <= d < len(shape):
        raise ValueError(f"dim={dim} is outside the input shape {fmt_shape(shape)}")
    size = shape[d]
    probe = _Probe(model, shape, d, training, dtype)
    works, (key, at) = probe(size)
    if not works:
        raise ShapeError(f"the model does not accept input size {size} along dim {d}: "
                         f"{trace(model, shape, explain=False).error}")
    same = _Same(probe, key)
    smallest = _smallest(probe, size)
    # The flatten shape never shrinks as the input grows, so equal ends mean equal between:
    # adaptive pooling (same shape at every size) is settled in two probes.
    high = limit if size <= limit and same(limit) else _edge(same, size, +1, limit)
    low = smallest if same(smallest) else _edge(same, size, -1, limit)
    return SizeRange(dim=d, size=size, low=low, high=high, shape=key, smallest=smallest, at=at)
