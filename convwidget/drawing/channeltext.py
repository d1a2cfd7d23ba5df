"""The channel picture's words: a cell's value as written, the parameter count, a band's count of
shown channels, the line under the lit cell's sum, and how many terms of the sum fit a line.

Strings only (no pixels): :class:`~.channels.ChannelPicture` rasterises them.

>>> from convwidget.spec import LayerSpec
>>> cell_label(2.5), shown_text(range(2, 8), 10)
('2.5', ' (channels 2–7 shown)')
"""

from __future__ import annotations

from ..cellmath import CellSum, format_number
from ..spec import LayerSpec

__all__ = ["cell_label", "detail_text", "fitting_terms", "parameter_text", "shown_text"]

#: DejaVu Sans advance widths (em) of the characters a sum is written with; others count 0.65.
_ADVANCE = {**dict.fromkeys("0123456789", 0.636), " ": 0.318, "+": 0.838, "=": 0.838, "÷": 0.838,
            "-": 0.361, "·": 0.318, "(": 0.39, ")": 0.39, ",": 0.318, ".": 0.318, ":": 0.337, "…": 1.0,
            "i": 0.278, "l": 0.278, "t": 0.392, "r": 0.411, "f": 0.352, "m": 0.974}


def cell_label(value: float) -> str:
    """A value as written in a cell: whole numbers as they are, others to one decimal.

    >>> cell_label(12.0), cell_label(-0.5), cell_label(2 / 3), cell_label(float("-inf"))
    ('12', '-0.5', '0.7', '-∞')
    """
    if value != value or abs(value) == float("inf") or value == int(value):
        return format_number(value)
    return f"{value:.1f}"


def parameter_text(spec: LayerSpec) -> str:
    """The parameter count as the picture builds it: weights per kernel stack × stacks + bias.

    >>> parameter_text(LayerSpec.from_settings(kernel_size=3, in_channels=4, out_channels=6, groups=2))
    'parameters: (4/2 · 3·3) weights × 6 output channels + 6 bias = 114'
    """
    if spec.is_pool:
        return "parameters: 0 (a pool has no weights: each channel is pooled alone)"
    k = "·".join(map(str, spec.kernel_size))
    bias = spec.out_channels if spec.bias else 0
    if spec.kind == "conv":
        stack = f"({spec.in_channels}/{spec.groups} · {k}) weights × {spec.out_channels} output channels"
    else:
        stack = f"({spec.out_channels}/{spec.groups} · {k}) weights × {spec.in_channels} input channels"
    return f"parameters: {stack} + {bias} bias = {spec.parameter_count():,}"


def shown_text(channels: range, n: int) -> str:
    """A band title's note of which channels are drawn, when not all ``n`` are (else empty)."""
    return f" (channels {channels.start}–{channels.stop - 1} shown)" if n > len(channels) else ""


def fitting_terms(s: CellSum, out_channel: int, room_em: float) -> int:
    """The most terms (at most 12, at least 2) whose written-out sum fits ``room_em`` em, from
    DejaVu Sans' advance widths (measuring rasterised candidates cost a frame's budget).

    >>> from convwidget.cellmath import Term
    >>> s = CellSum("max_pool", 0, (0, 0), tuple(Term(0, (0, i), 9.0, 1.0, (0, i)) for i in range(9)),
    ...             0.0, 9.0)
    >>> fitting_terms(s, 0, 40.0), fitting_terms(s, 0, 10.0)
    (9, 2)
    """
    for n in range(min(max(len(s.terms), 2), 12), 1, -1):
        text = f"out {out_channel} at {s.cell}: {s.formula_text(n)}"
        if sum(_ADVANCE.get(ch, 0.65) for ch in text) <= room_em:
            return n
    return 2


def detail_text(spec: LayerSpec, s: CellSum, per_group_in: int, divisor_override: int | None = None) -> str:
    """The line under the sum: the divisor, the winner or the padding taps.

    >>> from convwidget.cellmath import Term
    >>> spec = LayerSpec.from_settings(kernel_size=1, in_channels=2, out_channels=1)
    >>> detail_text(spec, CellSum("conv", 0, (0, 0), (Term(0, (0, 0), 1.0, 1.0, (0, 0)),), 0.0, 1.0), 2)
    '1 products over 2 input channels'
    """
    if s.kind == "avg_pool":
        real, divisor = len(s.terms), s.divisor or 0
        if divisor_override:
            return f"÷ {s.divisor}: divisor_override (the window has {real} real cells)"
        if spec.count_include_pad:
            return (f"÷ {s.divisor}: the window's {s.divisor} cells, {divisor - real} of them padding "
                    "(count_include_pad=True)")
        return f"÷ {s.divisor}: only the {real} real cells (count_include_pad=False)"
    if s.kind == "max_pool":
        if s.winner is None:
            return "the window holds only padding (-inf): the value is -inf"
        return (f"winner: input cell {s.winner} (filled dark); padding is -inf and never wins"
                + (f"; {s.padding_taps} taps on padding" if s.padding_taps else ""))
    if s.kind == "conv_transpose":
        return (f"{len(s.terms)} input cell × weight products land on this cell "
                "(each input cell scatters its kernel)")
    pad = f"; {s.padding_taps} taps on zero padding add 0" if s.padding_taps else ""
    many = "s" * (per_group_in != 1)
    return f"{len(s.terms)} products over {per_group_in} input channel{many}{pad}"
