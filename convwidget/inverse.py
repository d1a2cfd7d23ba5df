"""Working backwards: which settings give a wanted size, and what a stack sees.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from . import arithmetic as ar
from .errors import ShapeError
from .layers.base import read_spec
from .spec import layer_kind

__all__ = [
    "ReceptiveField",
    "Setting",
    "conv_transpose_output_sizes",
    "receptive_field",
    "solve",
]


#: The largest stride :func:`conv_transpose_output_sizes` lists the output sizes of (one each).
MAX_STRIDE_LISTED = 10_000


class Setting(NamedTuple):
    """One (kernel_size, stride, padding, dilation) combination."""

    kernel_size: int
    stride: int
    padding: int
    dilation: int


def solve(
    size: int,
    target: int,
    *,
    kind: str = "conv",
    kernel_sizes: Iterable[int] = range(1, 12),
    strides: Iterable[int] = range(1, 6),
    paddings: Iterable[int] = range(0, 6),
    dilations: Iterable[int] = range(1, 5),
    ceil_mode: bool = False,
) -> list[Setting]:
    """Every setting within the bounds that turns ``size`` into ``target``.

    Simplest first: no dilation before dilation, then small strides, small
    kernels and little padding. Settings PyTorch would refuse are left out.

    Parameters
    ----------
    size, target : int
        Input size and wanted output size along one dimension.
    kind : {'conv', 'conv_transpose', 'max_pool', 'avg_pool'}
        For ``conv_transpose`` the settings need ``output_padding``; use
        :func:`conv_transpose_output_sizes` for that.

    Examples
    --------
    >>> solve(32, 16)[:3]
    [Setting(kernel_size=1, stride=2, padding=0, dilation=1), Setting(kernel_size=2, stride=2, padding=0,
        dilation=1), Setting(kernel_size=3, stride=2, padding=1, dilation=1)]
    >>> solve(32, 16, kind="max_pool", kernel_sizes=range(2, 12))[0]
    Setting(kernel_size=2, stride=2, padding=0, dilation=1)
    """
    if kind not in ("conv", "conv_transpose", "max_pool", "avg_pool"):
        raise ValueError(f"kind={kind!r} is not one of 'conv', 'conv_transpose', "
                         "'max_pool', 'avg_pool'")
    n = ar.check_int("size", size, 1)
    want = ar.check_int("target", target, 1)
    ceil_mode = ar.check_bool("ceil_mode", ceil_mode)
    ks = [ar.check_int("kernel_sizes", k, 1) for k in kernel_sizes]
    ss = [ar.check_int("strides", s, 1) for s in strides]
    ps = [ar.check_int("paddings", p, 0) for p in paddings]
    ds = [1] if kind == "avg_pool" else [ar.check_int("dilations", d, 1) for d in dilations]
    found: list[Setting] = []
    for d in ds:
        for k in ks:
            if kind == "conv_transpose":
                found += _transposed_matches(n, want, k, d, ps, ss)
            else:
                found += _direct_matches(n, want, k, d, ps, ss, kind, ceil_mode)
    found.sort(key=lambda c: (c.dilation, c.stride, c.kernel_size, c.padding))
    return found


# Plain loops with the formulas inlined: no checks or explanations per candidate
# (see benchmarks/bench_core.py).
def _transposed_matches(n: int, want: int, k: int, d: int, ps: list[int], ss: list[int]) -> list[Setting]:
    span = d * (k - 1) + 1
    return [Setting(k, s, p, d) for p in ps for s in ss if (n - 1) * s - 2 * p + span == want]


def _direct_matches(n: int, want: int, k: int, d: int, ps: list[int], ss: list[int], kind: str,
                    ceil_mode: bool) -> list[Setting]:
    span = d * (k - 1) + 1
    found = []
    for p in ps:
        padded = n + 2 * p
        if padded < span or (kind != "conv" and p > k // 2):
            continue
        for s in ss:
            if kind == "conv" or not ceil_mode:
                out = (padded - span) // s + 1
            else:
                out = (padded - span + s - 1) // s + 1
                if (out - 1) * s >= n + p:
                    out -= 1  # the last window would start in the right padding
            if out == want:
                found.append(Setting(k, s, p, d))
    return found


def conv_transpose_output_sizes(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> dict[int, int]:
    """The output sizes a transposed convolution can produce, and how.

    A strided convolution maps several input sizes to one output size, so its
    transpose can give any of them back: ``ConvTranspose*d(...)(x,
    output_size=...)`` accepts each of these sizes. The dict maps each to the
    ``output_padding`` that gives it.

    Examples
    --------
    >>> conv_transpose_output_sizes(3, kernel_size=3, stride=2, padding=1)
    {5: 0, 6: 1}
    >>> conv_transpose_output_sizes(4, kernel_size=3)
    {6: 0}
    """
    s = ar.check_int("stride", stride, 1)
    d = ar.check_int("dilation", dilation, 1)
    if s > MAX_STRIDE_LISTED:
        raise ShapeError(
            f"stride={s} gives {s:,} possible output sizes, one per output_padding; this list stops "
            f"at stride {MAX_STRIDE_LISTED:,}: use conv_transpose_output_size(size, kernel_size, "
            "stride, padding, output_padding) for the one you need"
        )
    out = {}
    # PyTorch's output_size= accepts min_size .. min_size + stride - 1.
    for op in range(s):
        try:
            out[ar.conv_transpose_output_size(size, kernel_size, s, padding, op, d)] = op
        except ShapeError:
            continue
    if not out:
        # let the refusal explain itself
        ar.conv_transpose_output_size(size, kernel_size, s, padding, 0, d)
    return out


class ReceptiveField(NamedTuple):
    """What one output cell after a layer sees of the network's input.

    ``receptive_field`` is its size in input cells, ``jump`` the distance in
    input cells between neighbouring output cells (the product of strides) and
    ``start`` the input index at the centre of the first output cell's window
    (negative where that window starts in the padding).
    """

    name: str
    receptive_field: int
    jump: int
    start: float


def _as_step(layer: Any, index: int) -> tuple[str, int, int, int, int] | None:
    """(name, kernel, stride, padding, dilation) of a layer along its first dim."""
    if isinstance(layer, (tuple, list)):
        if not 1 <= len(layer) <= 4:
            raise ShapeError(
                f"layer {index} is {tuple(layer)!r}: give (kernel_size, stride, padding, dilation), "
                "the last three optional"
            )
        k, s, p, d = (tuple(layer) + (1, 0, 1)[len(layer) - 1:])[:4]
        return (f"layer {index}", ar.check_int("kernel_size", k, 1), ar.check_int("stride", s, 1),
                ar.check_int("padding", p, 0), ar.check_int("dilation", d, 1))
    kind = layer_kind(layer)
    if kind is None or kind == "conv_transpose":
        return None
    spec = read_spec(layer)
    pad = spec.padding
    if isinstance(pad, str):
        pad = ar.resolve_padding(pad, spec.kernel_size[0], 1, spec.dilation[0])
    return (type(layer).__name__, spec.kernel_size[0], spec.stride[0], pad[0], spec.dilation[0])


def receptive_field(layers: Sequence[Any]) -> list[ReceptiveField]:
    """Receptive field and jump after each layer of a stack (one dimension).

    Layers are ``torch.nn`` conv/pool layers (others, such as activations, are
    passed through) or ``(kernel_size, stride, padding, dilation)`` tuples.

    Examples
    --------
    >>> [r.receptive_field for r in receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 0)])]
    [3, 5, 6]
    >>> receptive_field([(3, 2, 1), (3, 2, 1)])[-1]
    ReceptiveField(name='layer 1', receptive_field=7, jump=4, start=0.0)
    """
    rf, jump, start = 1, 1, 0.0
    out = []
    for i, layer in enumerate(layers):
        step = _as_step(layer, i)
        if step is None:
            continue
        name, k, s, p, d = step
        span = d * (k - 1) + 1
        start += ((span - 1) / 2 - p) * jump
        rf += (span - 1) * jump
        jump *= s
        out.append(ReceptiveField(name, rf, jump, start))
    return out
