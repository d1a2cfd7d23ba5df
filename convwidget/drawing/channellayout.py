"""Where the channel picture puts things: which channels each band shows, the cell size, and the
top-left pixel of every plane, kernel and text row.

Numbers only (no pixels, no colours), computed once per setting and shared by both colourings.

>>> from convwidget.spec import LayerSpec
>>> spec = LayerSpec.from_settings(kernel_size=3, in_channels=4, out_channels=4, groups=2)
>>> groups = ChannelGroups.of(spec, out_channel=3)
>>> groups.first_in, groups.per_group_in, groups.group_of_output(1)
(2, 2, 0)
>>> layout = ChannelLayout.build(spec, groups, n_in=4, in_hw=(6, 6), out_hw=(4, 4), n_out=4, out_channel=3)
>>> layout.width, layout.cell, layout.band_in.channels, len(layout.band_out.xy)
(580, 22, range(0, 4), 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cellmath import padding_pairs
from ..spec import LayerSpec

__all__ = ["MAX_SHOWN", "MAX_SIDE", "PICTURE_WIDTH", "Band", "ChannelGroups", "ChannelLayout", "as_2d",
           "shown_range"]

#: The picture's width at scale 1 (the explorer's right column), in pixels.
PICTURE_WIDTH = 580
#: At most this many planes (or maps) a band; the others are counted in the band's title.
MAX_SHOWN = 6
MAX_CELL, MIN_CELL, MAX_HEIGHT = 26, 1, 500
#: The longest side (cells) of an input or output grid the picture draws.
MAX_SIDE = 200


def as_2d(nested: Any, ndim: int, depth: int) -> Any:
    """1-D planes as one-row 2-D planes (``depth`` list levels above the spatial ones).

    >>> as_2d([[1, 2, 3]], 1, 1)
    [[[1, 2, 3]]]
    """
    if ndim == 2:
        return nested
    if depth == 0:
        return [nested]
    return [as_2d(n, ndim, depth - 1) for n in nested]


def shown_range(n: int, focus: int, count: int, most: int = MAX_SHOWN) -> range:
    """At most ``most`` indices of ``n``, starting so that ``focus .. focus+count`` shows.

    >>> shown_range(4, 3, 1), shown_range(10, 8, 2)
    (range(0, 4), range(4, 10))
    """
    if n <= most:
        return range(n)
    start = min(max(focus - max((most - count) // 2, 0), 0), n - most)
    return range(start, start + most)


@dataclass(frozen=True)
class Band:
    """One row of grids: where each sits (x, y of its top-left pixel) and its cells."""

    channels: range
    shapes: tuple[tuple[int, int], ...]
    xy: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ChannelGroups:
    """The followed output channel's group: its index, its first input channel and how many
    input channels it reads (a pool: the channel itself)."""

    spec: LayerSpec
    group: int
    first_in: int
    per_group_in: int

    @classmethod
    def of(cls, spec: LayerSpec, out_channel: int) -> ChannelGroups:
        if spec.is_pool:
            return cls(spec, out_channel, out_channel, 1)
        g = max(spec.groups, 1)
        per_group_in = spec.in_channels // g
        group = out_channel // (spec.out_channels // g)
        return cls(spec, group, group * per_group_in, per_group_in)

    def reads(self, c: int) -> bool:
        """Whether the followed output channel reads input channel ``c``."""
        return self.first_in <= c < self.first_in + self.per_group_in

    def group_of_input(self, c: int) -> int:
        return c if self.spec.is_pool else c // max(self.per_group_in, 1)

    def group_of_output(self, c: int) -> int:
        if self.spec.is_pool:
            return c
        return c // max(self.spec.out_channels // max(self.spec.groups, 1), 1)


def padding_ring(spec: LayerSpec) -> tuple[tuple[int, int], tuple[int, int]]:
    """(top, bottom), (left, right) padding cells drawn around each input plane.

    A transposed convolution's padding crops its output instead: no ring.
    """
    if spec.kind == "conv_transpose":
        return (0, 0), (0, 0)
    pairs = padding_pairs(spec)
    return ((0, 0), pairs[0]) if spec.ndim == 1 else (pairs[0], pairs[1])


@dataclass(frozen=True)
class ChannelLayout:
    """Pixels of one setting's picture: the page width, the cell size, the bands of input planes
    and output maps, the rows of the kernel band, the titles and the text under the bands."""

    scale: float
    width: int
    cell: int
    pads: tuple[tuple[int, int], tuple[int, int]]
    band_in: Band
    band_out: Band
    in_top: int
    kernel_y: int
    kernel_shape: tuple[int, int]
    out_title_y: int
    text_y: int
    page_height: int  # room for two notes; the page is cropped to those made

    def px(self, value: float) -> int:
        """``value`` pixels at scale 1, at this layout's scale (at least 1)."""
        return max(1, int(round(value * self.scale)))

    @classmethod
    def build(cls, spec: LayerSpec, groups: ChannelGroups, *, n_in: int, in_hw: tuple[int, int],
              out_hw: tuple[int, int], n_out: int, out_channel: int, scale: float = 1.0) -> ChannelLayout:
        """The layout of ``n_in`` input planes of ``in_hw`` cells and ``n_out`` maps of ``out_hw``,
        the followed output channel's group (``groups``) and ``out_channel`` kept in view."""
        def px(value: float) -> int:
            return max(1, int(round(value * scale)))

        (h_in, w_in), (h_out, w_out) = in_hw, out_hw
        kh, kw = (1, spec.kernel_size[0]) if spec.ndim == 1 else spec.kernel_size
        has_kernels = not spec.is_pool
        pads = padding_ring(spec)
        (pt, pb), (pl, pr) = pads
        slot_in = max(w_in + pl + pr, kw if has_kernels else 0)
        gap, margin, width = px(12), px(8), px(PICTURE_WIDTH)
        avail = width - 2 * margin
        # as many planes a band as fit at one pixel a cell (a plane wider than that is cut)
        ins = shown_range(n_in, groups.first_in, groups.per_group_in,
                          max(1, min(MAX_SHOWN, (avail + gap) // (slot_in + gap))))
        outs = shown_range(n_out, out_channel, 1, max(1, min(MAX_SHOWN, (avail + gap) // (w_out + gap))))
        fit_w = min((avail - gap * (len(ins) - 1)) / (len(ins) * slot_in),
                    (avail - gap * (len(outs) - 1)) / (len(outs) * w_out))
        text_rows = 10 if has_kernels else 9
        rows = h_in + pt + pb + h_out + (kh if has_kernels else 0)
        fit_h = (px(MAX_HEIGHT) - text_rows * px(18)) / rows
        c = int(max(min(fit_w, fit_h, px(MAX_CELL)), MIN_CELL))
        title, label = px(20), px(16)
        in_top = y = margin + title + label
        xy_in = tuple((margin + i * (slot_in * c + gap) + pl * c, y + pt * c) for i in range(len(ins)))
        band_in = Band(ins, ((h_in, w_in),) * len(ins), xy_in)
        y += (h_in + pt + pb) * c + px(10)
        kernel_y = y + title
        out_title_y = kernel_y + label + kh * c + px(10) if has_kernels else kernel_y
        y = out_title_y + title + label
        band_out = Band(outs, ((h_out, w_out),) * len(outs),
                        tuple((margin + i * (w_out * c + gap), y) for i in range(len(outs))))
        text_y = y + h_out * c + px(14)
        return cls(scale, width, c, pads, band_in, band_out, in_top, kernel_y, (kh, kw), out_title_y, text_y,
                   text_y + 5 * px(19) + margin)
