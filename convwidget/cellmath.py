"""What one output cell computes: its terms, its divisor or winner, its value (standard library only).

PyTorch's own rules, written out so a learner can read them with the numbers: a convolution
cell is ``Σ input × weight + bias`` over its group's input channels and the kernel taps that
land on the input (zero padding adds nothing; ``reflect``/``replicate``/``circular`` padding
reads a real cell); a transposed convolution cell collects every input cell × kernel tap that
lands on it; a max pool cell is its window's first largest value in window order (the padding
is ``-inf``); an average pool cell is its window's sum divided by PyTorch's divisor (the
window clipped to input + padding, then ``count_include_pad`` chooses between that size and
the real cells, unless ``divisor_override`` is given).

Values are nested lists in PyTorch's layout, as ``Tensor.tolist()`` gives them: inputs
``[C_in][H][W]``; weights ``[C_out][C_in/groups][kH][kW]`` for a convolution and
``[C_in][C_out/groups][kH][kW]`` for a transposed one; bias ``[C_out]`` or None. Any number
of spatial dimensions works (1-D strips, 3-D volumes).

>>> from convwidget.spec import LayerSpec
>>> spec = LayerSpec.from_settings(kernel_size=2)
>>> x = [[[1, 2, 3], [4, 5, 6]]]
>>> s = cell_terms(spec, x, preset_weights("ones", spec), [0.5], 0, (0, 1))
>>> s.value, s.formula_text()
(16.5, '2·1 + 3·1 + 5·1 + 6·1 + 0.5 = 16.5')
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .arithmetic import same_padding
from .spec import LayerSpec

__all__ = [
    "KERNEL_PRESETS", "MAX_INDEX_TERMS", "CellSum", "Term", "cell_terms", "format_number", "index_values",
    "layer_values", "output_size",
    "padding_pairs", "parse_kernel", "preset_weights", "sample_input", "weight_shape",
]

Nested = Any  # nested lists of numbers, one level per dimension
Cell = tuple[int, ...]

#: Terms written out in full up to this many; longer sums keep the first and last few.
FORMULA_TERMS = 9


class Term(NamedTuple):
    """One input value × one weight of a cell's sum (pools: weight 1, the cell in the window)."""

    in_channel: int
    input_index: Cell
    input_value: float
    weight: float
    kernel_index: Cell


@dataclass(frozen=True)
class CellSum:
    """One output cell's arithmetic, as PyTorch computes it.

    ``terms`` are the products that are added (conv: only taps on the input; zero padding
    adds nothing and is counted in ``padding_taps``); ``bias`` is 0 without one;
    ``divisor`` is the average pool's divisor (None otherwise); ``winner`` the max pool's
    winning input cell (None if the window holds only padding, where the value is ``-inf``).
    """

    kind: str
    out_channel: int
    cell: Cell
    terms: tuple[Term, ...]
    bias: float
    value: float
    padding_taps: int = 0
    divisor: int | None = None
    winner: Cell | None = None
    winner_channel: int | None = None

    def formula_text(self, max_terms: int = FORMULA_TERMS) -> str:
        """The sum with its numbers, e.g. ``'2·1 + 3·0 + 0 = 2'``; long sums elided with the count.

        >>> CellSum("avg_pool", 0, (0, 0), (Term(0, (0, 0), 4.0, 1.0, (0, 0)),), 0.0, 1.0,
        ...         divisor=4).formula_text()
        '(4) ÷ 4 = 1'
        """
        value = format_number(self.value)
        if self.kind == "max_pool":
            return f"max({_joined([format_number(t.input_value) for t in self.terms], max_terms)}) = {value}"
        if self.kind == "avg_pool":
            inner = _joined([format_number(t.input_value) for t in self.terms], max_terms, " + ")
            return f"({inner or '0'}) ÷ {self.divisor} = {value}"
        products = [f"{_factor(t.input_value)}·{_factor(t.weight)}" for t in self.terms]
        inner = _joined(products, max_terms, " + ")
        sign = "-" if self.bias < 0 else "+"
        return f"{inner or '0'} {sign} {format_number(abs(self.bias))} = {value}"


    def sources_text(self, max_terms: int = FORMULA_TERMS) -> str:
        """Which input cell meets which kernel tap, term by term (a transposed convolution's
        scatter read backwards), e.g. ``'in 0 (1, 1) × w(2, 2), in 0 (1, 2) × w(2, 0)'``.

        >>> term = Term(0, (0, 1), 5.0, 2.0, (1, 0))
        >>> CellSum("conv_transpose", 0, (1, 1), (term,), 0.0, 10.0).sources_text()
        'in 0 (0, 1) × w(1, 0)'
        """
        items = [f"in {t.in_channel} {_cell(t.input_index)} × w{_cell(t.kernel_index)}" for t in self.terms]
        return _joined(items, max_terms) or "no input cell lands here"


def _cell(index: Cell) -> str:
    return f"({', '.join(map(str, index))})"


def _joined(items: list[str], max_terms: int, sep: str = ", ") -> str:
    if len(items) <= max_terms:
        return sep.join(items)
    head, tail = max_terms // 2, max(max_terms // 2 - 1, 1)
    hidden = len(items) - head - tail
    return sep.join([*items[:head], f"… ({hidden} more terms, {len(items)} in all) …", *items[-tail:]])


def _factor(value: float) -> str:
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text


def format_number(value: float) -> str:
    """A value as a learner writes it: ``3`` not ``3.0``, at most 4 significant decimals.

    >>> format_number(3.0), format_number(-0.5), format_number(2 / 3), format_number(float("-inf"))
    ('3', '-0.5', '0.6667', '-∞')
    """
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


# ---------------------------------------------------------------- sizes and padding
def padding_pairs(spec: LayerSpec) -> tuple[tuple[int, int], ...]:
    """(before, after) padding per dimension, ``'same'`` split as PyTorch does (extra after).

    >>> padding_pairs(LayerSpec.from_settings(kernel_size=4, padding="same"))
    ((1, 2), (1, 2))
    """
    if spec.padding == "same":
        return tuple(same_padding(k, d) for k, d in zip(spec.kernel_size, spec.dilation, strict=True))
    if spec.padding == "valid":
        return ((0, 0),) * spec.ndim
    assert not isinstance(spec.padding, str)
    return tuple((p, p) for p in spec.padding)


def _pool_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start in the right padding: PyTorch drops it
    return out


def output_size(spec: LayerSpec, input_size: Sequence[int]) -> tuple[int, ...]:
    """The output's spatial sizes by PyTorch's rules (may be < 1 where PyTorch refuses).

    >>> output_size(LayerSpec.from_settings(kind="max_pool", kernel_size=2, ceil_mode=True), (5, 5))
    (3, 3)
    """
    pads = padding_pairs(spec)
    out = []
    for i, n in enumerate(input_size):
        k, s, d, (pl, pr) = spec.kernel_size[i], spec.stride[i], spec.dilation[i], pads[i]
        if spec.kind == "conv":
            out.append((n + pl + pr - d * (k - 1) - 1) // s + 1)
        elif spec.kind == "conv_transpose":
            out.append((n - 1) * s - 2 * pl + d * (k - 1) + spec.output_padding[i] + 1)
        else:
            out.append(_pool_size(n, k, s, pl, d, spec.ceil_mode))
    return tuple(out)


# ---------------------------------------------------------------- nested lists
def _shape(nested: Nested) -> tuple[int, ...]:
    shape = []
    while isinstance(nested, (list, tuple)):
        shape.append(len(nested))
        if not nested:
            break
        nested = nested[0]
    return tuple(shape)


def _at(nested: Nested, index: Sequence[int]) -> float:
    for i in index:
        nested = nested[i]
    return float(nested)


def _build(shape: Sequence[int], fn: Callable[[Cell], float]) -> Nested:
    """Nested lists of ``shape`` holding ``fn(index)``."""
    def level(prefix: Cell, depth: int) -> Nested:
        if depth == len(shape):
            return fn(prefix)
        return [level((*prefix, i), depth + 1) for i in range(shape[depth])]

    return level((), 0)


def weight_shape(spec: LayerSpec) -> tuple[int, ...]:
    """PyTorch's weight shape for ``spec`` (conv ``[C_out, C_in/g, *k]``, transposed ``[C_in, C_out/g, *k]``).

    >>> weight_shape(LayerSpec.from_settings(kind="conv_transpose", in_channels=4, out_channels=6, groups=2))
    (4, 3, 3, 3)
    """
    g = max(spec.groups, 1)
    if spec.kind == "conv_transpose":
        return (spec.in_channels, spec.out_channels // g, *spec.kernel_size)
    return (spec.out_channels, spec.in_channels // g, *spec.kernel_size)


def sample_input(channels: int, input_size: Sequence[int]) -> Nested:
    """Small integers 0..9 in a fixed pseudo-random pattern, different per channel: sums stay readable.

    >>> sample_input(2, (2, 3))
    [[[3, 0, 7], [4, 1, 8]], [[6, 3, 0], [7, 4, 1]]]
    """
    def value(index: Cell) -> float:
        flat = 0
        for n, i in zip(input_size, index[1:], strict=True):
            flat = flat * n + i
        return (7 * flat + 3 * index[0] + 3) % 10

    return _build((channels, *input_size), lambda idx: int(value(idx)))


# ---------------------------------------------------------------- kernels
def _ones(kernel: Sequence[int], seed: int) -> Nested:
    return _build(kernel, lambda idx: 1)


def _sobel(kernel: Sequence[int], seed: int) -> Nested:
    """A Sobel-like x-derivative: binomial smoothing along all but the last dimension."""
    def value(idx: Cell) -> int:
        k = kernel[-1]
        diff = (k - 1) // 2 - idx[-1] if k % 2 else (k - 1) - 2 * idx[-1]
        smooth = math.prod(math.comb(n - 1, i) for n, i in zip(kernel[:-1], idx[:-1], strict=True))
        return diff * smooth

    return _build(kernel, value)


def _small(kernel: Sequence[int], seed: int) -> Nested:
    def value(idx: Cell) -> int:
        flat = 0
        for n, i in zip(kernel, idx, strict=True):
            flat = flat * n + i
        return (3 * flat + 2 * seed + 1) % 5 - 2

    return _build(kernel, value)


def _centre(kernel: Sequence[int], seed: int) -> Nested:
    return _build(kernel, lambda idx: int(all(i == (k - 1) // 2 for i, k in zip(idx, kernel, strict=True))))


#: Kernel presets: name -> f(kernel_size, seed) giving one kernel as nested lists.
#: ``seed`` tells the kernels of a stack apart where the preset varies ("small integers").
KERNEL_PRESETS: dict[str, Callable[[Sequence[int], int], Nested]] = {
    "ones": _ones,
    "edge (Sobel x)": _sobel,
    "small integers": _small,
    "identity (centre 1)": _centre,
}


def preset_weights(name: str, spec: LayerSpec, kernel: Nested | None = None) -> Nested:
    """The whole weight tensor (PyTorch's layout) with every kernel from preset ``name``.

    ``kernel`` (nested lists of ``spec.kernel_size``, e.g. from :func:`parse_kernel`) is used
    for every kernel instead when given.

    >>> spec = LayerSpec.from_settings(kernel_size=3, in_channels=2, out_channels=2, groups=2)
    >>> preset_weights("edge (Sobel x)", spec)[1][0]
    [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    """
    if name not in KERNEL_PRESETS and kernel is None:
        raise ValueError(f"unknown kernel preset {name!r}; use one of {', '.join(map(repr, KERNEL_PRESETS))}")
    shape = weight_shape(spec)

    def one(a: int, b: int) -> Nested:
        return kernel if kernel is not None else KERNEL_PRESETS[name](spec.kernel_size, a * shape[1] + b)

    return [[one(a, b) for b in range(shape[1])] for a in range(shape[0])]


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_kernel(text: str, kernel_size: Sequence[int]) -> list[Any]:
    """A typed kernel: rows separated by ``;`` or new lines, numbers by spaces or commas.

    >>> parse_kernel("1 0 -1; 2 0 -2; 1 0 -1", (3, 3))
    [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]
    >>> parse_kernel("1 2; 3 4", (3, 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the typed kernel has 2 rows but kernel_size is 3 × 3; type 3 rows of 3 numbers, ...
    """
    want = " × ".join(map(str, kernel_size))
    if len(kernel_size) == 3:
        raise ValueError("a 3-D kernel cannot be typed here; choose a preset")
    rows_wanted, cols = (1, kernel_size[0]) if len(kernel_size) == 1 else tuple(kernel_size)
    hint = (f"type {rows_wanted} row{'s' if rows_wanted != 1 else ''} of {cols} "
            f"number{'s' if cols != 1 else ''}" + (", rows separated by ';'" if rows_wanted > 1 else ""))
    rows = [r for r in re.split(r"[;\n]", text.strip()) if r.strip()]
    if not rows:
        raise ValueError(f"the typed kernel is empty; {hint}")
    if len(rows) != rows_wanted:
        raise ValueError(f"the typed kernel has {len(rows)} row{'s' if len(rows) != 1 else ''} but "
                         f"kernel_size is {want}; {hint}")
    out = []
    for r, row in enumerate(rows, 1):
        words = [w for w in re.split(r"[\s,]+", row.strip()) if w]
        bad = [w for w in words if not _NUMBER.match(w)]
        if bad:
            raise ValueError(f"{bad[0]!r} in row {r} of the typed kernel is not a number; {hint}")
        if len(words) != cols:
            raise ValueError(f"row {r} of the typed kernel has {len(words)} number"
                             f"{'s' if len(words) != 1 else ''} but kernel_size is {want}; {hint}")
        out.append([float(w) for w in words])
    return out[0] if len(kernel_size) == 1 else out


# ---------------------------------------------------------------- one cell
def _check(spec: LayerSpec, inputs: Nested, out_channel: int, cell: Cell) -> tuple[int, ...]:
    if spec.norm_type is not None:
        raise ValueError(f"{spec.torch_class} is a power average; cellmath writes out Conv, "
                         "ConvTranspose, MaxPool and AvgPool cells")
    problem = spec.groups_problem()
    if problem:
        raise ValueError(problem)
    shape = _shape(inputs)
    if len(shape) != spec.ndim + 1:
        raise ValueError(f"inputs must be nested lists [channels, *{spec.ndim} sizes], got shape {shape}")
    sizes = shape[1:]
    out = output_size(spec, sizes)
    if len(cell) != spec.ndim or not all(0 <= c < n for c, n in zip(cell, out, strict=True)):
        raise ValueError(f"output cell {tuple(cell)} is outside the output {out}")
    channels = shape[0] if spec.is_pool else spec.out_channels  # a pool keeps every input channel
    if not 0 <= out_channel < channels:
        raise ValueError(f"out_channel={out_channel} is outside 0..{channels - 1}")
    return sizes


def _source(pos: int, n: int, mode: str) -> int | None:
    """The input cell a padded position reads (None: a zero)."""
    if 0 <= pos < n:
        return pos
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(pos, 0), n - 1)
    if mode == "circular":
        return pos % n
    return -pos if pos < 0 else 2 * (n - 1) - pos  # reflect


def _window_taps(spec: LayerSpec, sizes: Sequence[int], cell: Cell,
                 mode: str) -> list[tuple[Cell, Cell | None]]:
    """(kernel index, input cell or None) per tap of the window of ``cell``, in row-major tap order."""
    pads = padding_pairs(spec)
    per_dim = []
    for i, (o, n) in enumerate(zip(cell, sizes, strict=True)):
        start = o * spec.stride[i] - pads[i][0]
        per_dim.append([(k, _source(start + k * spec.dilation[i], n, mode))
                        for k in range(spec.kernel_size[i])])
    taps: list[tuple[Cell, Cell | None]] = []
    for combo in itertools.product(*per_dim):
        src = tuple(s for _, s in combo if s is not None)
        taps.append((tuple(k for k, _ in combo), src if len(src) == len(combo) else None))
    return taps


def _conv(spec: LayerSpec, inputs: Nested, weights: Nested, oc: int, cell: Cell,
          sizes: Sequence[int]) -> tuple[list[Term], int]:
    per_group_out = spec.out_channels // spec.groups
    per_group_in = spec.in_channels // spec.groups
    first = (oc // per_group_out) * per_group_in
    terms, padded = [], 0
    taps = _window_taps(spec, sizes, cell, spec.padding_mode)
    for j in range(per_group_in):
        plane, kernels = inputs[first + j], weights[oc][j]
        for k, src in taps:
            if src is None:
                padded += 1
                continue
            terms.append(Term(first + j, src, _at(plane, src), _at(kernels, k), k))
    return terms, padded


def _transposed(spec: LayerSpec, inputs: Nested, weights: Nested, oc: int, cell: Cell,
                sizes: Sequence[int]) -> list[Term]:
    per_group_out = spec.out_channels // spec.groups
    per_group_in = spec.in_channels // spec.groups
    group, within = divmod(oc, per_group_out)
    pads = padding_pairs(spec)
    per_dim = []  # (kernel index, input index) pairs whose scatter lands on `cell`, per dimension
    for i, (o, n) in enumerate(zip(cell, sizes, strict=True)):
        hits = []
        for k in range(spec.kernel_size[i]):
            t = o + pads[i][0] - k * spec.dilation[i]
            if t % spec.stride[i] == 0 and 0 <= t // spec.stride[i] < n:
                hits.append((k, t // spec.stride[i]))
        per_dim.append(hits)
    terms = []
    for j in range(group * per_group_in, (group + 1) * per_group_in):
        for combo in itertools.product(*per_dim):
            taps, src = tuple(c[0] for c in combo), tuple(c[1] for c in combo)
            terms.append(Term(j, src, _at(inputs[j], src), _at(weights[j][within], taps), taps))
    return terms


def _max_pool(spec: LayerSpec, inputs: Nested, c: int, cell: Cell, sizes: Sequence[int]) -> CellSum:
    terms = [Term(c, src, _at(inputs[c], src), 1.0, k)
             for k, src in _window_taps(spec, sizes, cell, "zeros") if src is not None]
    best: Term | None = None
    for t in terms:  # PyTorch's rule: the first largest in window order wins (NaN always wins)
        if best is None or t.input_value > best.input_value or math.isnan(t.input_value):
            best = t
            if math.isnan(t.input_value):
                break
    value = best.input_value if best is not None else -math.inf
    padded = math.prod(spec.kernel_size) - len(terms)
    return CellSum("max_pool", c, cell, tuple(terms), 0.0, value, padded,
                   winner=None if best is None else best.input_index,
                   winner_channel=None if best is None else c)


def _avg_divisor(spec: LayerSpec, sizes: Sequence[int], cell: Cell, real: int,
                 divisor_override: int | None) -> int:
    """PyTorch's divisor: the window clipped to input + padding, or the real cells only."""
    if divisor_override:
        return divisor_override
    if not spec.count_include_pad:
        return real
    pads = padding_pairs(spec)
    size = 1
    for i, (o, n) in enumerate(zip(cell, sizes, strict=True)):
        start = o * spec.stride[i] - pads[i][0]
        end = min(start + spec.kernel_size[i], n + pads[i][0])
        size *= end - start
    return size


def _avg_pool(spec: LayerSpec, inputs: Nested, c: int, cell: Cell, sizes: Sequence[int],
              divisor_override: int | None) -> CellSum:
    taps = _window_taps(spec, sizes, cell, "zeros")
    terms = [Term(c, src, _at(inputs[c], src), 1.0, k) for k, src in taps if src is not None]
    divisor = _avg_divisor(spec, sizes, cell, len(terms), divisor_override)
    total = sum(t.input_value for t in terms)
    value = total / divisor if divisor else 0.0
    return CellSum("avg_pool", c, cell, tuple(terms), 0.0, value, len(taps) - len(terms), divisor=divisor)


def cell_terms(spec: LayerSpec, inputs: Nested, weights: Nested | None, bias: Sequence[float] | None,
               out_channel: int, cell: Sequence[int], *, divisor_override: int | None = None) -> CellSum:
    """The terms, bias, divisor or winner and value of output cell ``cell`` of ``out_channel``.

    Pools ignore ``weights`` and ``bias`` (pass None); a pool's channel is its input channel.

    >>> spec = LayerSpec.from_settings(kind="avg_pool", kernel_size=2, padding=1, count_include_pad=False)
    >>> x = [[[1, 2], [3, 4]]]
    >>> cell_terms(spec, x, None, None, 0, (0, 0)).formula_text()
    '(1) ÷ 1 = 1'
    >>> cell_terms(LayerSpec.from_settings(kind="max_pool", kernel_size=2), x, None, None, 0, (0, 0)).winner
    (1, 1)
    """
    cell = tuple(cell)
    sizes = _check(spec, inputs, out_channel, cell)
    if spec.kind == "max_pool":
        return _max_pool(spec, inputs, out_channel, cell, sizes)
    if spec.kind == "avg_pool":
        return _avg_pool(spec, inputs, out_channel, cell, sizes, divisor_override)
    if weights is None:
        raise ValueError(f"a {spec.torch_class} cell needs weights of shape {weight_shape(spec)}")
    b = float(bias[out_channel]) if bias is not None and spec.bias else 0.0
    padded = 0
    if spec.kind == "conv":
        terms, padded = _conv(spec, inputs, weights, out_channel, cell, sizes)
    else:
        terms = _transposed(spec, inputs, weights, out_channel, cell, sizes)
    value = math.fsum(t.input_value * t.weight for t in terms) + b
    return CellSum(spec.kind, out_channel, cell, tuple(terms), b, value, padded)


def layer_values(spec: LayerSpec, inputs: Nested, weights: Nested | None, bias: Sequence[float] | None,
                 *, divisor_override: int | None = None) -> Nested:
    """Every output value, ``[C_out][*output_size]``, cell by cell (small layers: for checking).

    >>> layer_values(LayerSpec.from_settings(kind="max_pool", kernel_size=2), [[[1, 5], [3, 4]]], None, None)
    [[[5.0]]]
    """
    sizes = _shape(inputs)[1:]
    channels = len(inputs) if spec.is_pool else spec.out_channels
    out = output_size(spec, sizes)
    def channel(c: int) -> Nested:
        return _build(out, lambda cell: cell_terms(spec, inputs, weights, bias, c, cell,
                                                   divisor_override=divisor_override).value)

    return [channel(c) for c in range(channels)]


#: :func:`index_values` answers only while cells × taps stay within this (a slider's budget).
MAX_INDEX_TERMS = 20_000


def index_values(spec: LayerSpec, input_size: Sequence[int], max_cells: int = 144) -> list[float] | None:
    """Output channel 0 of what the explorer's PyTorch panel runs (every input channel holds
    the cells' row-major indices, a weight of ones, a bias of zero), row-major; None when the
    output has more than ``max_cells`` cells or the sums more than :data:`MAX_INDEX_TERMS` terms.

    All channels hold the same indices and every weight is 1, so a convolution's cell is
    ``in_channels / groups`` times its one-channel sum; a pool works per channel.

    >>> index_values(LayerSpec.from_settings(kernel_size=3, stride=2, padding=1), (5, 5))
    [12.0, 27.0, 24.0, 63.0, 108.0, 81.0, 72.0, 117.0, 84.0]
    >>> index_values(LayerSpec.from_settings(kernel_size=2, in_channels=4, out_channels=2, groups=2), (2, 2))
    [12.0]
    """
    out = output_size(spec, input_size)
    cells = math.prod(out)
    if cells > max_cells or cells * math.prod(spec.kernel_size) > MAX_INDEX_TERMS:
        return None
    one = dataclasses.replace(spec, in_channels=1, out_channels=1, groups=1)
    inputs = [_build(tuple(input_size), lambda idx: _flat(idx, input_size))]
    weights = None if spec.is_pool else [[_build(tuple(spec.kernel_size), lambda idx: 1)]]
    bias = None if spec.is_pool else [0.0]
    factor = 1 if spec.is_pool else spec.in_channels // spec.groups
    return [factor * cell_terms(one, inputs, weights, bias, 0, cell).value
            for cell in itertools.product(*(range(n) for n in out))]


def _flat(index: Cell, sizes: Sequence[int]) -> int:
    flat = 0
    for size, i in zip(sizes, index, strict=True):
        flat = flat * size + i
    return flat

