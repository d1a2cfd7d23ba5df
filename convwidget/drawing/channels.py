"""The channel picture: input planes, the kernel stack of one output channel, the output maps.

What a convolution computes, drawn with numpy (as :mod:`~convwidget.drawing.compose` draws the
sliding window): one band of input planes, one small grid per input channel, coloured by
group; under the planes of the selected output channel's group, the kernels that make it
(``in_channels/groups`` of them, in the group's colour); then the output maps, the selected
one outlined. Values are written in the cells when they fit; the lit output cell, its window in
the input planes and the kernel taps it used are orange; a max pool's winner is filled dark
vermilion. Under the bands, the lit cell's sum with its numbers (the same numbers PyTorch
returns), an average pool's divisor with what it counts, and the parameter count.

:class:`ChannelPicture` is built once per setting (the static bands) and gives a frame per lit
cell (:meth:`ChannelPicture.frame`): an animation step redraws only the window and the text.

>>> from convwidget.cellmath import preset_weights, sample_input
>>> from convwidget.spec import LayerSpec
>>> spec = LayerSpec.from_settings(kernel_size=3, in_channels=2, out_channels=2, groups=2)
>>> x = sample_input(2, (5, 5))
>>> w = preset_weights("ones", spec)
>>> pic = ChannelPicture(spec, x, w, [0.0, 0.0], None, out_channel=1)
>>> pic.frame((0, 0)).shape[1], pic.sum_text((0, 0))
(580, 'out 1 at (0, 0): 6·1 + 3·1 + 0·1 + 1·1 + 8·1 + 5·1 + 6·1 + 3·1 + 0·1 + 0 = 32')
"""

from __future__ import annotations

import copy
import functools
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..cellmath import CellSum, cell_terms, format_number, output_size, padding_pairs
from ..spec import LayerSpec
from .palettes import PALETTES, check_theme, contrast
from .raster import line_mask, outline, paste, rgb, text_mask

__all__ = [
    "CHANNEL_PALETTES", "GROUP_COLOURS", "MAX_SHOWN", "MAX_SIDE", "PICTURE_WIDTH", "ChannelPicture",
    "cell_label",
    "contrast",  # from .palettes
    "encode_rgb_png", "parameter_text", "text_pairs",
]

#: The picture's width at scale 1 (the explorer's right column), in pixels.
PICTURE_WIDTH = 580
#: At most this many planes (or maps) a band; the others are counted in the band's title.
MAX_SHOWN = 6
#: Font sizes in pixels at scale 1 (the brief's floor is 11 px).
VALUE_PX, LABEL_PX, TITLE_PX = 11, 11, 13
MAX_CELL, MIN_CELL, MAX_HEIGHT = 26, 1, 500
#: The longest side (cells) of an input or output grid the picture draws.
MAX_SIDE = 200

#: Per group (cycled): (fill for the smallest value, fill for the largest, stroke and label).
#: Okabe–Ito hues without the orange and vermilion the window and the winner use.
GROUP_COLOURS: dict[str, list[tuple[str, str, str]]] = {
    "light": [("#e3f1fa", "#92cdee", "#0072b2"), ("#dff3ea", "#8fd3b8", "#00795a"),
              ("#f8e6f0", "#e3a6c8", "#a0457a"), ("#fbf8d5", "#ede07a", "#6e6400"),
              ("#e9e6f8", "#b3abeb", "#5a4fb0"), ("#eeeeee", "#c4c4c4", "#555555")],
    "dark": [("#13242f", "#1d5a80", "#56b4e9"), ("#0f2a22", "#0e5e46", "#3fbf8f"),
             ("#2b1a24", "#6a3556", "#d58ab5"), ("#29270e", "#5e5812", "#e0d44a"),
             ("#1e1b3a", "#3d3680", "#a99ff5"), ("#222222", "#4a4a4a", "#bdbdbd")],
}

#: The picture's other colours per theme (background and text follow the sliding-window picture's).
CHANNEL_PALETTES: dict[str, dict[str, str]] = {
    "light": {"background": "#ffffff", "text": "#1a1a1a", "muted": "#555555", "tap": "#e69f00",
              "tap_text": "#1a1a1a", "edge": "#d55e00", "winner": "#b34700", "winner_text": "#ffffff",
              "grid": "#7f7f7f", "unused": "#d9d9d9",
              "ring": "#f4f4f4", "hatch": "#c8c8c8"},
    "dark": {"background": "#111111", "text": "#ececec", "muted": "#b0b0b0", "tap": "#e69f00",
             "tap_text": "#111111", "edge": "#e8711a", "winner": "#b34700", "winner_text": "#ffffff",
             "grid": "#6b6b6b", "unused": "#2e2e2e",
             "ring": "#1a1a1a", "hatch": "#3a3a3a"},
}
# the page's background and text are the sliding-window picture's (one place for them)
for _theme, _colours in CHANNEL_PALETTES.items():
    _colours.update({k: PALETTES[_theme][k] for k in ("background", "text")})


def text_pairs(theme: str) -> list[tuple[str, str, str]]:
    """Every (text colour, fill, what) this picture draws in ``theme``, for the contrast test."""
    p = CHANNEL_PALETTES[theme]
    pairs = [(p["text"], p["background"], "titles, sum, parameters"), (p["muted"], p["background"], "notes"),
             (p["tap_text"], p["tap"], "a value under the window"),
             (p["winner_text"], p["winner"], "the max pool's winner"),
             (p["text"], p["unused"], "a kernel tap that met padding (or no input cell)")]
    for lo, hi, stroke in GROUP_COLOURS[theme]:
        pairs += [(p["text"], lo, "a value, smallest fill"), (p["text"], hi, "a value, largest fill"),
                  (stroke, p["background"], "a plane's label")]
    return pairs


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


#: DejaVu Sans advance widths (em) of the characters a sum is written with; others count 0.65.
_ADVANCE = {**dict.fromkeys("0123456789", 0.636), " ": 0.318, "+": 0.838, "=": 0.838, "÷": 0.838,
            "-": 0.361, "·": 0.318, "(": 0.39, ")": 0.39, ",": 0.318, ".": 0.318, ":": 0.337, "…": 1.0,
            "i": 0.278, "l": 0.278, "t": 0.392, "r": 0.411, "f": 0.352, "m": 0.974}


@functools.lru_cache(maxsize=8)
def _blank(height: int, width: int, colour: str) -> np.ndarray:
    """A read-only page of ``colour``: a copy of it is cheaper than filling a new one."""
    page = np.empty((height, width, 3), np.uint8)
    page[:] = rgb(colour)
    page.setflags(write=False)
    return page


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_rgb_png(rgb_array: np.ndarray, level: int = 1) -> bytes:
    """A PNG of an ``(h, w, 3)`` uint8 array, each row 'Sub'-filtered (difference to the pixel on
    the left), compressed with zlib.

    >>> encode_rgb_png(np.zeros((2, 3, 3), np.uint8))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    h, w = rgb_array.shape[:2]
    flat = rgb_array.reshape(h, 3 * w)
    raw = np.empty((h, 1 + 3 * w), np.uint8)
    raw[:, 0] = 1  # filter type 1, "Sub"
    raw[:, 1:4] = flat[:, :3]
    np.subtract(flat[:, 3:], flat[:, :-3], out=raw[:, 4:])  # uint8 arithmetic wraps, as PNG wants
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.data, level)) + _chunk(b"IEND", b""))


def _shown(channels: range, n: int) -> str:
    return f" (channels {channels.start}–{channels.stop - 1} shown)" if n > len(channels) else ""


def _as_2d(nested: Any, ndim: int, depth: int) -> Any:
    """1-D planes as one-row 2-D planes (``depth`` list levels above the spatial ones)."""
    if ndim == 2:
        return nested
    if depth == 0:
        return [nested]
    return [_as_2d(n, ndim, depth - 1) for n in nested]


def _range(n: int, focus: int, count: int, most: int = MAX_SHOWN) -> range:
    """At most ``most`` indices of ``n``, starting so that ``focus .. focus+count`` shows."""
    if n <= most:
        return range(n)
    start = min(max(focus - max((most - count) // 2, 0), 0), n - most)
    return range(start, start + most)


def _hatched(y0: int, x0: int, y1: int, x1: int, fill: np.ndarray, line: np.ndarray) -> np.ndarray:
    """A ``fill`` tile of the page's rectangle [y0, y1) x [x0, x1) with ``line`` where the page's
    ``(x + y) % 5 == 0``: every row is a shifted slice of one pattern row (five slice copies,
    not a test per pixel)."""
    h, w = y1 - y0, x1 - x0
    pattern = np.empty((w + 5, 3), np.uint8)
    pattern[:] = fill
    pattern[-(x0 + y0) % 5::5] = line
    tile = np.empty((h, w, 3), np.uint8)
    for r in range(min(5, h)):
        tile[r::5] = pattern[r:r + w]
    return tile


class _Written(NamedTuple):
    """A plane's values as tiles: tile of each cell, each tile's shade (0..1) and text coverage."""

    which: np.ndarray
    shade: np.ndarray
    cover: np.ndarray


def _inked(mask: np.ndarray, y: int, x: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The covered pixels of ``mask`` placed at (y, x) on a page ``width`` pixels wide: their
    byte indices ``(n, 3)`` into the flat page and their coverage (uint16 ``(n, 3)``)."""
    rows, cols = np.nonzero(mask)
    where = ((y + rows) * width + x + cols)[:, None] * 3 + np.arange(3)
    return where, np.repeat(mask[rows, cols][:, None].astype(np.uint16), 3, axis=1)


def _blend(bg: np.ndarray, where: np.ndarray, a: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour`` into the page's bytes ``where`` by coverage ``a`` (from :func:`_inked`),
    with :func:`~.raster.paste`'s arithmetic; the pixels under no glyph are not touched (a
    gather and a scatter of the inked pixels: several times faster than blending the box)."""
    if not bg.flags.c_contiguous:  # pragma: no cover - pages are made contiguous
        raise ValueError("text is blended into a contiguous page only")
    flat = bg.reshape(-1)
    flat.put(where, (flat.take(where) * (255 - a) + colour.astype(np.uint16) * a + 127) // 255)


@dataclass(frozen=True)
class _Band:
    """One row of grids: where each sits (x, y of its top-left pixel) and its cells."""

    channels: range
    shapes: tuple[tuple[int, int], ...]
    xy: tuple[tuple[int, int], ...]


class ChannelPicture:
    """The channel picture of one setting, drawn once; :meth:`frame` lights one output cell.

    Parameters
    ----------
    spec : the layer (2-D, or 1-D drawn as strips).
    inputs, weights, bias : the numbers, nested lists in PyTorch's layout (pools: None).
    outputs : PyTorch's output ``[C_out][*output_size]`` (from
        :func:`convwidget.torchlayers.run_values`), or None when it was not computed (then
        the output cells carry no values and the sum line still shows cellmath's).
    out_channel : the output channel followed.
    theme, scale : ``'light'`` or ``'dark'``; 1.5 for a projector.
    """

    def __init__(self, spec: LayerSpec, inputs: Any, weights: Any, bias: Sequence[float] | None,
                 outputs: Any, *, out_channel: int = 0, theme: str = "light", scale: float = 1.0,
                 divisor_override: int | None = None) -> None:
        if spec.ndim not in (1, 2):
            raise ValueError(f"the channel picture draws 1-D and 2-D layers, not {spec.torch_class}; "
                             "pick a depth slice")
        check_theme(theme)
        self.spec, self.scale, self.theme = spec, scale, theme
        self.inputs, self.weights, self.bias = inputs, weights, bias
        self.divisor_override = divisor_override
        self.in2d = _as_2d(inputs, spec.ndim, 1)
        self.out_size = output_size(spec, [len(inputs[0])] if spec.ndim == 1 else
                                    [len(inputs[0]), len(inputs[0][0])])
        self.n_out = len(inputs) if spec.is_pool else spec.out_channels
        if not 0 <= out_channel < self.n_out:
            raise ValueError(f"out_channel={out_channel} is outside 0..{self.n_out - 1}")
        self.out_channel = out_channel
        side = max(*self.inputs_size, *self.out_size)
        if side > MAX_SIDE:
            raise ValueError(f"the channel picture draws grids of up to {MAX_SIDE} cells a side, not {side}; "
                             "use a smaller input (or stride)")
        self.outputs = None if outputs is None else _as_2d(outputs, spec.ndim, 1)
        self._group_inputs()
        self._layout()
        self._shared: dict[Any, Any] = {}  # what both colourings share (shades, text coverage, fits)
        self._sums: dict[Any, Any] = {}  # the last cells' sums and sum lines (both colourings, the view)
        self._paint(theme)

    def _paint(self, theme: str) -> None:
        self.theme = theme
        self.colours = {k: rgb(v) for k, v in CHANNEL_PALETTES[theme].items()}
        self.groups = [tuple(rgb(c) for c in trio) for trio in GROUP_COLOURS[theme]]
        self.notes: list[str] = []
        self.kernel_xy: dict[int, tuple[int, int]] = {}
        self.last_sum = ""  # the sum line of the last frame
        self._ring_tiles: dict[tuple[int, int], np.ndarray] = {}
        self._lit_tiles: dict[tuple[str, str, str, int, int], np.ndarray] = {}
        self.height = self.page_height
        self.background = self._draw_static()

    def recoloured(self, theme: str) -> ChannelPicture:
        """The same picture in the other colouring, sharing everything that is not a colour.

        >>> from convwidget.cellmath import sample_input
        >>> from convwidget.spec import LayerSpec
        >>> pool = LayerSpec.from_settings(kind="max_pool", kernel_size=2)
        >>> light = ChannelPicture(pool, sample_input(1, (4, 4)), None, None, [[[8, 7], [9, 8]]])
        >>> dark = light.recoloured("dark")
        >>> dark.theme, dark.background.shape == light.background.shape, dark.sum_text((0, 0))
        ('dark', True, 'out 0 at (0, 0): max(3, 0, 1, 8) = 8')
        """
        check_theme(theme)
        twin = copy.copy(self)
        twin._paint(theme)
        return twin

    # ------------------------------------------------------------------ structure
    def px(self, value: float) -> int:
        return max(1, int(round(value * self.scale)))

    def _group_inputs(self) -> None:
        spec, oc = self.spec, self.out_channel
        if spec.is_pool:
            self.group, self.first_in, self.per_group_in = oc, oc, 1
            return
        g = max(spec.groups, 1)
        self.per_group_in = spec.in_channels // g
        self.group = oc // (spec.out_channels // g)
        self.first_in = self.group * self.per_group_in

    def group_of_input(self, c: int) -> int:
        return c if self.spec.is_pool else c // max(self.per_group_in, 1)

    def group_of_output(self, c: int) -> int:
        if self.spec.is_pool:
            return c
        return c // max(self.spec.out_channels // max(self.spec.groups, 1), 1)

    def kernel(self, c: int) -> Any:
        """The kernel (2-D nested lists) that input channel ``c`` meets for the followed output."""
        spec, w = self.spec, self.weights
        if spec.kind == "conv":
            k = w[self.out_channel][c - self.first_in]
        else:
            k = w[c][self.out_channel - self.group * (spec.out_channels // spec.groups)]
        return _as_2d(k, spec.ndim, 0)

    def _ring(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(top, bottom), (left, right) padding cells drawn around each input plane.

        A transposed convolution's padding crops its output instead: no ring.
        """
        if self.spec.kind == "conv_transpose":
            return (0, 0), (0, 0)
        pairs = padding_pairs(self.spec)
        return ((0, 0), pairs[0]) if self.spec.ndim == 1 else (pairs[0], pairs[1])

    def _layout(self) -> None:
        spec, px = self.spec, self.px
        h_in, w_in = len(self.in2d[0]), len(self.in2d[0][0])
        h_out, w_out = (1, *self.out_size) if spec.ndim == 1 else self.out_size
        kh, kw = (1, spec.kernel_size[0]) if spec.ndim == 1 else spec.kernel_size
        has_kernels = not spec.is_pool
        (pt, pb), (pl, pr) = self.pads = self._ring()
        slot_in = max(w_in + pl + pr, kw if has_kernels else 0)
        gap, margin = px(12), px(8)
        self.width = px(PICTURE_WIDTH)
        avail = self.width - 2 * margin
        # as many planes a band as fit at one pixel a cell (a plane wider than that is cut)
        self.ins = _range(len(self.inputs), self.first_in, self.per_group_in,
                          max(1, min(MAX_SHOWN, (avail + gap) // (slot_in + gap))))
        fit_out = (avail + gap) // (w_out + gap)
        self.outs = _range(self.n_out, self.out_channel, 1, max(1, min(MAX_SHOWN, fit_out)))
        fit_w = min((avail - gap * (len(self.ins) - 1)) / (len(self.ins) * slot_in),
                    (avail - gap * (len(self.outs) - 1)) / (len(self.outs) * w_out))
        text_rows = 10 if has_kernels else 9
        rows = h_in + pt + pb + h_out + (kh if has_kernels else 0)
        fit_h = (px(MAX_HEIGHT) - text_rows * px(18)) / rows
        self.cell = int(max(min(fit_w, fit_h, px(MAX_CELL)), MIN_CELL))
        c, title, label = self.cell, px(20), px(16)
        y = margin + title + label
        self.in_top = y
        self.band_in = _Band(self.ins, ((h_in, w_in),) * len(self.ins),
                             tuple((margin + i * (slot_in * c + gap) + pl * c, y + pt * c)
                                   for i in range(len(self.ins))))
        y += (h_in + pt + pb) * c + px(10)
        self.kernel_y = y + title
        y = self.kernel_y + label + kh * c + px(10) if has_kernels else self.kernel_y
        self.out_title_y = y
        y += title + label
        self.band_out = _Band(self.outs, ((h_out, w_out),) * len(self.outs),
                              tuple((margin + i * (w_out * c + gap), y) for i in range(len(self.outs))))
        self.text_y = y + h_out * c + px(14)
        self.page_height = self.text_y + 5 * px(19) + margin  # room for two notes; cropped to those made
        self.kernel_shape = (kh, kw)

    # ------------------------------------------------------------------ drawing helpers
    def _text(self, bg: np.ndarray, text: str, x: int, y: int, size: int, color: str | np.ndarray,
              words: bool = False, changing: bool = False) -> None:
        """Text with its top-left corner at (x, y), blended where it has ink. Where the ink is,
        is found once and shared by both colourings: for the picture's life (static text) or
        for the last cells (a frame's ``changing`` lines: the sum and its detail)."""
        col = self.colours[color] if isinstance(color, str) else color
        key = ("text", text, x, y, size, words)
        if changing:
            inked = self._remembered(key, lambda: self._ink(bg.shape, text, x, y, size, words))
        else:
            inked = self._shared.get(key)
            if inked is None:
                inked = self._shared[key] = self._ink(bg.shape, text, x, y, size, words)
        _blend(bg, inked[0], inked[1], col)

    def _ink(self, shape: tuple[int, ...], text: str, x: int, y: int, size: int,
             words: bool) -> tuple[np.ndarray, np.ndarray]:
        """Where :meth:`_text` inks a page of ``shape`` (paste()'s placement and clipping)."""
        size_px = size * self.scale
        mask = line_mask(text, size_px, 72.0) if words else text_mask(text, size_px, 72.0)
        h, w = mask.shape
        y0, x0 = int(round(y + h / 2 - h / 2)), int(round(x + w / 2 - w / 2))
        ya, xa, yb, xb = max(y0, 0), max(x0, 0), min(y0 + h, shape[0]), min(x0 + w, shape[1])
        return _inked(mask[ya - y0:max(yb, ya) - y0, xa - x0:max(xb, xa) - x0], ya, xa, shape[1])

    def _fits(self, band: str, planes: Any) -> bool:
        """Whether every value of ``planes`` (nested lists) fits in a cell, written at VALUE_PX."""
        if band in self._shared:
            return bool(self._shared[band])
        self._shared[band] = fits = self._measure_fit(planes)
        return fits

    def _measure_fit(self, planes: Any) -> bool:
        if self.cell < self.px(VALUE_PX) + 3:
            return False
        values = np.unique(np.asarray(planes, dtype=float))
        labels = {cell_label(float(v)) for v in values}
        widest = max((text_mask(s, VALUE_PX * self.scale, 72.0).shape[1] for s in labels), default=0)
        return widest <= self.cell - 3

    def _shading(self, x: int, y: int, values: Any, write: bool) -> tuple[np.ndarray, _Written | None]:
        """A plane's shade (0 smallest .. 1 largest value) and its values' text: the same in both
        colourings, so computed once per plane and shared with :meth:`recoloured`."""
        key = (x, y)
        if key not in self._shared:
            arr = np.asarray(values, dtype=float)
            finite = arr[np.isfinite(arr)]
            span = (finite.max() - finite.min()) if finite.size else 0.0
            t = np.zeros_like(arr) if span == 0 else np.nan_to_num(np.clip((arr - finite.min()) / span, 0, 1))
            self._shared[key] = (t[..., None], self._written(arr, t) if write else None)
        return self._shared[key]

    def _written(self, arr: np.ndarray, t: np.ndarray) -> _Written:
        """A plane with values as one cell-sized tile per distinct value: which tile each cell
        shows, each tile's shade and its text coverage (uint16 ``(n, c, c, 1)``)."""
        c = self.cell
        values, first, index = np.unique(arr, return_index=True, return_inverse=True)
        tiles = np.zeros((len(values), c, c), np.uint8)
        for i, v in enumerate(values):
            mask = text_mask(cell_label(float(v)), VALUE_PX * self.scale, 72.0)
            h, w = mask.shape
            if h <= c and w <= c:
                y0, x0 = (c - h + 1) // 2, (c - w + 1) // 2
                tiles[i, y0:y0 + h, x0:x0 + w] = mask
        return _Written(index.reshape(arr.shape), t.reshape(-1)[first][:, None],
                        tiles[..., None].astype(np.uint16))

    def _grid(self, bg: np.ndarray, x: int, y: int, values: Any, group: int, write: bool,
              stroke_px: int) -> None:
        """One plane: cells shaded by value in the group's colours, values written if asked."""
        lo, hi, stroke = self.groups[group % len(self.groups)]
        t, written = self._shading(x, y, values, write)
        c, grid = self.cell, self.colours["grid"]
        # cells that fit in the picture (a plane wider than the page is cut at its edge)
        nr, nc = min(t.shape[0], (bg.shape[0] - y) // c), min(t.shape[1], (bg.shape[1] - x) // c)
        if nr <= 0 or nc <= 0:
            return
        region = bg[y:y + nr * c, x:x + nc * c, :3]
        full = bg[y:y + nr * c + 1, x:x + nc * c + 1, :3]
        if written is None:
            fill = (lo * (1 - t[:nr, :nc]) + hi * t[:nr, :nc]).round().astype(np.uint8)
            # contiguous: faster than broadcasting
            region[:] = np.repeat(np.repeat(fill, c, axis=0), c, axis=1)
            if c >= 5:
                full[::c, :] = grid
                full[:, ::c] = grid
        else:  # one tile per distinct value (its shade, its grid lines, its number), gathered into place
            tiles = np.empty((len(written.shade), c, c, 3), np.uint8)
            tiles[:] = (lo * (1 - written.shade) + hi * written.shade).round().astype(np.uint8)[:, None, None]
            tiles[:, 0], tiles[:, :, 0] = grid, grid
            ink = self.colours["text"].astype(np.uint16) * written.cover
            tiles = ((tiles * (255 - written.cover) + ink + 127) // 255).astype(np.uint8)
            region.reshape(nr, c, nc, c, 3)[:] = tiles[written.which[:nr, :nc]].transpose(0, 2, 1, 3, 4)
            full[nr * c:, :] = grid
            full[:, nc * c:] = grid
        outline(bg, y, x, y + nr * c, x + nc * c, stroke, stroke_px)

    def _lit(self, bg: np.ndarray, x: int, y: int, r: int, k: int, fill: str, ink: str = "",
             value: float | None = None) -> None:
        """Cell (r, k) of the grid at (x, y) filled with colour ``fill``, ``value`` written on it
        in ``ink`` (if given): the cell's inside comes from a tile made once per look (a frame
        lights dozens of cells with a few distinct values)."""
        c = self.cell
        top, left = y + r * c, x + k * c
        inside = bg[top + 1:top + c, left + 1:left + c, :3]
        if value is None:
            inside[:] = self.colours[fill]
            return
        mask = text_mask(cell_label(float(value)), VALUE_PX * self.scale, 72.0)
        h, w = mask.shape
        # paste()'s placement of the text, relative to the cell's inside
        y0 = int(round(top + c / 2 + 0.5 - h / 2)) - top - 1
        x0 = int(round(left + c / 2 + 0.5 - w / 2)) - left - 1
        if min(y0, x0) < 0 or y0 + h > c - 1 or x0 + w > c - 1:  # the text spills over the cell
            inside[:] = self.colours[fill]
            paste(bg, mask, self.colours[ink], left + c / 2 + 0.5, top + c / 2 + 0.5)
            return
        key = (fill, ink, cell_label(float(value)), y0, x0)
        tile = self._lit_tiles.get(key)
        if tile is None:
            tile = np.empty((c - 1, c - 1, 3), np.uint8)
            tile[:] = self.colours[fill]
            paste(tile, mask, self.colours[ink], x0 + w / 2, y0 + h / 2)
            self._lit_tiles[key] = tile
        inside[:] = tile

    # ------------------------------------------------------------------ the static bands
    def _draw_static(self) -> np.ndarray:
        bg = _blank(self.height, self.width, CHANNEL_PALETTES[self.theme]["background"]).copy()
        self._draw_inputs(bg)
        if not self.spec.is_pool:
            self._draw_kernels(bg)
        else:
            self._text(bg, f"{self.spec.torch_class}: no weights; output channel c pools input channel c "
                       "alone", self.px(8), self.kernel_y - self.px(18), LABEL_PX, "muted", words=True)
        self._draw_outputs(bg)
        self._text(bg, parameter_text(self.spec), self.px(8), self.text_y + 2 * self.px(19), TITLE_PX - 1,
                   "text")
        self.height = self.text_y + (3 + len(self.notes)) * self.px(19) + self.px(8)
        return np.ascontiguousarray(bg[:self.height])

    def _band_title(self, bg: np.ndarray, y: int, text: str) -> None:
        self._text(bg, text, self.px(8), y, TITLE_PX, "text")

    def _draw_inputs(self, bg: np.ndarray) -> None:
        spec, band = self.spec, self.band_in
        n = len(self.inputs)
        more = _shown(band.channels, n)
        size = "×".join(map(str, self.inputs_size))
        colour = "colour = group" if not spec.is_pool else "colour = channel"
        self._band_title(bg, self.in_top - self.px(36), f"input: {n} channel{'s' * (n != 1)} × {size}"
                         f"{more}; {colour}")
        values = [self.in2d[c] for c in band.channels]
        self.write_in = self._fits("fits in", values)
        for (x, y), c in zip(band.xy, band.channels, strict=True):
            group = self.group_of_input(c)
            mine = self.first_in <= c < self.first_in + self.per_group_in
            self._padding_ring(bg, x, y)
            self._grid(bg, x, y, self.in2d[c], group, self.write_in, self.px(3 if mine else 1))
            stroke = self.groups[group % len(self.groups)][2]
            wide = self.cell * len(self.in2d[0][0]) > self.px(80)
            label = f"in {c}" + (f" (group {group})" if spec.groups > 1 and wide else "")
            left = x - self.pads[1][0] * self.cell
            self._text(bg, label, left, self.in_top - self.px(16), LABEL_PX, stroke)

    def _padding_ring(self, bg: np.ndarray, x: int, y: int) -> None:
        (pt, pb), (pl, pr) = self.pads
        if not (pt or pb or pl or pr):
            return
        c = self.cell
        h, w = len(self.in2d[0]), len(self.in2d[0][0])
        y0, x0, y1, x1 = y - pt * c, x - pl * c, y + (h + pb) * c, x + (w + pr) * c
        tile = self._ring_tiles.get((y1 - y0, x1 - x0))
        if tile is None:  # the planes are the same size: the hatched tile is made once
            self._ring_tiles[(y1 - y0, x1 - x0)] = tile = _hatched(y0, x0, y1, x1, self.colours["ring"],
                                                                   self.colours["hatch"])
        bg[y0:y1, x0:x1] = tile
        outline(bg, y0, x0, y1, x1, self.colours["grid"], 1, dash=self.px(4))

    @property
    def inputs_size(self) -> tuple[int, ...]:
        first = self.inputs[0]
        return (len(first),) if self.spec.ndim == 1 else (len(first), len(first[0]))

    def _draw_kernels(self, bg: np.ndarray) -> None:
        spec = self.spec
        k = "×".join(map(str, spec.kernel_size))
        self._band_title(bg, self.kernel_y - self.px(20),
                         f"kernels of output channel {self.out_channel}: {self.per_group_in} "
                         f"(= in_channels/groups = {spec.in_channels}/{spec.groups}), each {k}")
        mine = [(xy, c) for xy, c in zip(self.band_in.xy, self.band_in.channels, strict=True)
                if self.first_in <= c < self.first_in + self.per_group_in]
        kernels = [self.kernel(c) for _, c in mine]
        self.write_k = self._fits("fits kernels", kernels)
        for ((x, _), c), kern in zip(mine, kernels, strict=True):
            x -= self.pads[1][0] * self.cell  # under the padded plane's left edge
            y = self.kernel_y + self.px(16)
            self.kernel_xy[c] = (x, y)
            self._grid(bg, x, y, kern, self.group, self.write_k, self.px(2))
            stroke = self.groups[self.group % len(self.groups)][2]
            self._text(bg, f"× in {c}", x, self.kernel_y, LABEL_PX, stroke)

    def _draw_outputs(self, bg: np.ndarray) -> None:
        band, n = self.band_out, self.n_out
        more = _shown(band.channels, n)
        size = "×".join(map(str, self.out_size))
        bias = "" if self.spec.is_pool else " + bias"
        what = {"max_pool": "max of the window", "avg_pool": "mean of the window"}.get(
            self.spec.kind, f"Σ input × weight{bias}")
        self._band_title(bg, self.out_title_y,
                         f"output: {n} channel{'s' * (n != 1)} × {size}{more}; each cell = {what}")
        if self.outputs is None:
            self.write_out = False
            self.notes.append("output values not computed here (too big for this page)")
        else:
            self.write_out = self._fits("fits out", [self.outputs[c] for c in band.channels])
        for (x, y), c in zip(band.xy, band.channels, strict=True):
            values = self.outputs[c] if self.outputs is not None else np.zeros(band.shapes[0])
            selected = c == self.out_channel
            group = self.group_of_output(c)
            self._grid(bg, x, y, values, group, self.write_out, self.px(3 if selected else 1))
            if selected:
                outline(bg, y - self.px(3), x - self.px(3), y + band.shapes[0][0] * self.cell + self.px(3),
                        x + band.shapes[0][1] * self.cell + self.px(3), self.colours["edge"], self.px(2))
            self._text(bg, f"out {c}" + (" ◀" if selected else ""), x, y - self.px(16), LABEL_PX,
                       self.groups[group % 6][2], words=True)
        if not (self.write_in and self.write_out):
            self.notes.append(f"values not written: cells of {self.cell} px are too small")

    # ------------------------------------------------------------------ a frame
    def cell_sum(self, cell: Sequence[int]) -> CellSum:
        """cellmath's arithmetic of output cell ``cell`` of the followed channel."""
        return self._remembered(("sum", tuple(cell)), lambda: cell_terms(
            self.spec, self.inputs, self.weights, self.bias, self.out_channel, tuple(cell),
            divisor_override=self.divisor_override))

    def _remembered(self, key: Any, make: Any) -> Any:
        """``make()``, kept for the last cells: a frame in each colouring and the view's sum line
        ask for the same cell's sum."""
        if key not in self._sums:
            if len(self._sums) >= 64:
                self._sums.clear()
            self._sums[key] = make()
        return self._sums[key]

    def torch_value(self, cell: Sequence[int]) -> float | None:
        """PyTorch's value at ``cell`` of the followed channel (None if not computed)."""
        if self.outputs is None:
            return None
        r, k = (0, cell[0]) if self.spec.ndim == 1 else cell
        return float(self.outputs[self.out_channel][r][k])

    def _fitting_terms(self, s: CellSum) -> int:
        """The most terms (at most 12, at least 2) whose written-out sum fits the picture's width,
        from DejaVu Sans' advance widths (measuring rasterised candidates cost a frame's budget)."""
        room = (self.width - self.px(16)) / ((TITLE_PX - 1) * self.scale)  # in em
        for n in range(min(max(len(s.terms), 2), 12), 1, -1):
            text = f"out {self.out_channel} at {s.cell}: {s.formula_text(n)}"
            if sum(_ADVANCE.get(ch, 0.65) for ch in text) <= room:
                return n
        return 2

    def sum_text(self, cell: Sequence[int], max_terms: int | None = None, s: CellSum | None = None) -> str:
        """The lit cell's sum with its numbers; the value is PyTorch's when it was computed."""
        s = s or self.cell_sum(cell)
        text = s.formula_text() if max_terms is None else s.formula_text(max_terms)
        value = self.torch_value(cell)
        if value is not None and format_number(value) != format_number(s.value):  # pragma: no cover
            text += f" (PyTorch: {format_number(value)})"
        return f"out {self.out_channel} at {tuple(cell)}: {text}"

    def detail_text(self, s: CellSum) -> str:
        """The line under the sum: the divisor, the winner or the padding taps."""
        if s.kind == "avg_pool":
            real, divisor = len(s.terms), s.divisor or 0
            if self.divisor_override:
                return f"÷ {s.divisor}: divisor_override (the window has {real} real cells)"
            if self.spec.count_include_pad:
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
        many = "s" * (self.per_group_in != 1)
        return f"{len(s.terms)} products over {self.per_group_in} input channel{many}{pad}"

    def frame(self, cell: Sequence[int]) -> np.ndarray:
        """The picture with output cell ``cell`` (of the followed channel) lit."""
        s = self.cell_sum(cell)
        bg = self.background.copy()
        self._light_inputs(bg, s)
        self._light_output(bg, tuple(cell))
        y, step = self.text_y, self.px(19)
        self.last_sum = self._remembered(("line", tuple(cell)),
                                         lambda: self.sum_text(cell, self._fitting_terms(s), s))
        self._text(bg, self.last_sum, self.px(8), y, TITLE_PX - 1, "text", words=True, changing=True)
        self._text(bg, self.detail_text(s), self.px(8), y + step, LABEL_PX + 1, "muted", words=True,
                   changing=True)
        for i, note in enumerate(self.notes):
            self._text(bg, note, self.px(8), y + (3 + i) * step, LABEL_PX, "muted")
        return bg

    def png(self, cell: Sequence[int], level: int = 1) -> bytes:
        """:meth:`frame` as PNG bytes (RGB, PNG's 'Sub' filter: flat runs of colour become zeros,
        which zlib packs several times faster than the unfiltered bytes)."""
        return encode_rgb_png(self.frame(cell), level)

    def _light_inputs(self, bg: np.ndarray, s: CellSum) -> None:
        where = dict(zip(self.band_in.channels, self.band_in.xy, strict=True))
        boxes: dict[int, list[int]] = {}
        for t in s.terms:
            if t.in_channel not in where:
                continue
            x, y = where[t.in_channel]
            r, k = (0, t.input_index[0]) if self.spec.ndim == 1 else t.input_index
            winner = s.winner == t.input_index
            self._lit(bg, x, y, r, k, "winner" if winner else "tap", "winner_text" if winner else "tap_text",
                      t.input_value if self.write_in else None)
            box = boxes.setdefault(t.in_channel, [r, k, r, k])
            box[:] = [min(box[0], r), min(box[1], k), max(box[2], r), max(box[3], k)]
        self._grey_unused_taps(bg, s)
        c = self.cell
        window = self._window_box(s.cell)
        for ch in range(self.first_in, self.first_in + self.per_group_in):
            if ch not in where or (window is None and ch not in boxes):
                continue
            x, y = where[ch]
            r0, k0, r1, k1 = window or boxes[ch]
            outline(bg, y + r0 * c, x + k0 * c, y + (r1 + 1) * c, x + (k1 + 1) * c, self.colours["edge"],
                    self.px(2))

    def _window_box(self, cell: tuple[int, ...]) -> tuple[int, int, int, int] | None:
        """(first row, first col, last row, last col) of the window, padding included, clipped to
        the drawn ring; None for a transposed convolution (its box is the input cells it reads)."""
        spec = self.spec
        if spec.kind == "conv_transpose":
            return None
        h, w = len(self.in2d[0]), len(self.in2d[0][0])
        dims = [(0, 1, 1, 1, (0, 0), 1)] if spec.ndim == 1 else []
        for i, o in enumerate(cell):
            dims.append((o, spec.stride[i], spec.kernel_size[i], spec.dilation[i], self.pads[len(dims)],
                         (h, w)[len(dims)]))
        out = []
        for o, st, k, d, (before, after), n in dims:
            first = o * st - before
            out.append((max(first, -before), min(first + d * (k - 1), n + after - 1)))
        (r0, r1), (k0, k1) = out
        return r0, k0, r1, k1

    def _grey_unused_taps(self, bg: np.ndarray, s: CellSum) -> None:
        """Kernel taps this cell does not use (on zero padding; transposed: no input lands) go grey."""
        if self.spec.is_pool:
            return
        kh, kw = self.kernel_shape
        for ch, (kx, ky) in self.kernel_xy.items():
            used = {t.kernel_index for t in s.terms if t.in_channel == ch}
            kernel = self.kernel(ch)
            for kr in range(kh):
                for kk in range(kw):
                    if ((kk,) if self.spec.ndim == 1 else (kr, kk)) in used:
                        continue
                    self._lit(bg, kx, ky, kr, kk, "unused", "text", kernel[kr][kk] if self.write_k else None)

    def _light_output(self, bg: np.ndarray, cell: tuple[int, ...]) -> None:
        where = dict(zip(self.band_out.channels, self.band_out.xy, strict=True))
        if self.out_channel not in where:
            return
        x, y = where[self.out_channel]
        r, k = (0, cell[0]) if self.spec.ndim == 1 else cell
        value = self.torch_value(cell)
        self._lit(bg, x, y, r, k, "tap", "tap_text", value if self.write_out else None)
        c = self.cell
        outline(bg, y + r * c, x + k * c, y + (r + 1) * c, x + (k + 1) * c, self.colours["edge"], self.px(2))

    def output_labels(self) -> dict[tuple[int, int, int], str]:
        """(channel, row, col) -> the text written in each drawn output cell (empty if none)."""
        if not self.write_out or self.outputs is None:
            return {}
        return {(c, r, k): cell_label(float(v)) for c in self.band_out.channels
                for r, row in enumerate(self.outputs[c]) for k, v in enumerate(row)}
