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
Its parts, one job a module: where things go (:mod:`.channellayout`), the colours
(:mod:`.channelstyle`), the words (:mod:`.channeltext`), the pixel work (:mod:`.channelpixels`)
and the PNG bytes (:mod:`.rgbpng`); their names used elsewhere are importable from here.

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
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..cellmath import CellSum, cell_terms, format_number, output_size
from ..spec import LayerSpec
from .channellayout import MAX_SHOWN, MAX_SIDE, PICTURE_WIDTH, ChannelGroups, ChannelLayout, as_2d
from .channelpixels import PlaneValues, blank, blend, hatched, paint_plane, placed_ink, plane_values, shades
from .channelstyle import CHANNEL_PALETTES, GROUP_COLOURS, LABEL_PX, TITLE_PX, VALUE_PX, contrast, text_pairs
from .channeltext import cell_label, detail_text, fitting_terms, parameter_text, shown_text
from .palettes import check_theme
from .raster import line_mask, outline, paste, rgb, text_mask
from .rgbpng import encode_rgb_png

__all__ = [
    "CHANNEL_PALETTES", "GROUP_COLOURS", "LABEL_PX", "MAX_SHOWN", "MAX_SIDE", "PICTURE_WIDTH", "TITLE_PX",
    "VALUE_PX", "ChannelPicture", "cell_label", "contrast", "encode_rgb_png", "parameter_text", "text_pairs",
]


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
        self.in2d = as_2d(inputs, spec.ndim, 1)
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
        self.outputs = None if outputs is None else as_2d(outputs, spec.ndim, 1)
        self.grouping = g = ChannelGroups.of(spec, out_channel)
        self.group, self.first_in, self.per_group_in = g.group, g.first_in, g.per_group_in
        out_hw = (1, *self.out_size) if spec.ndim == 1 else self.out_size
        self.layout = L = ChannelLayout.build(
            spec, g, n_in=len(inputs), in_hw=(len(self.in2d[0]), len(self.in2d[0][0])),
            out_hw=(out_hw[0], out_hw[1]), n_out=self.n_out, out_channel=out_channel, scale=scale)
        self.width, self.cell, self.band_in, self.band_out = L.width, L.cell, L.band_in, L.band_out
        self.pads, self.kernel_shape = L.pads, L.kernel_shape
        self._shared: dict[Any, Any] = {}  # what both colourings share (shades, text coverage, fits)
        self._sums: dict[Any, Any] = {}  # the last cells' sums and sum lines (both colourings, the view)
        self._masks: dict[str, np.ndarray] = {}  # the values' text, by label
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
        self.height = self.layout.page_height
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
        return self.layout.px(value)

    def group_of_input(self, c: int) -> int:
        return self.grouping.group_of_input(c)

    def group_of_output(self, c: int) -> int:
        return self.grouping.group_of_output(c)

    def kernel(self, c: int) -> Any:
        """The kernel (2-D nested lists) that input channel ``c`` meets for the followed output."""
        spec, w = self.spec, self.weights
        if spec.kind == "conv":
            k = w[self.out_channel][c - self.first_in]
        else:
            k = w[c][self.out_channel - self.group * (spec.out_channels // spec.groups)]
        return as_2d(k, spec.ndim, 0)

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
        blend(bg, inked[0], inked[1], col)

    def _ink(self, shape: tuple[int, ...], text: str, x: int, y: int, size: int,
             words: bool) -> tuple[np.ndarray, np.ndarray]:
        """Where :meth:`_text` inks a page of ``shape`` (paste()'s placement and clipping)."""
        size_px = size * self.scale
        rasterise = line_mask if words else text_mask
        return placed_ink((text, size_px, words), lambda: rasterise(text, size_px, 72.0), y, x, shape)

    def _fits(self, band: str, planes: Sequence[Any], xys: Sequence[tuple[int, int]]) -> bool:
        """Whether every value of ``planes`` (nested lists, drawn at ``xys``) fits in a cell,
        written at VALUE_PX; the planes' shades and value tiles are made on the way (once for
        both colourings)."""
        if band in self._shared:
            return bool(self._shared[band])
        fits = self.cell >= self.px(VALUE_PX) + 3
        if fits:
            made = {xy: self._planes(values) for xy, values in zip(xys, planes, strict=True)}
            fits = max((written.widest for _, written in made.values()), default=0) <= self.cell - 3
            self._shared.update({xy: (t, written if fits else None) for xy, (t, written) in made.items()})
        self._shared[band] = fits
        return fits

    def _planes(self, values: Any) -> tuple[np.ndarray, PlaneValues]:
        arr, t = shades(values)
        return t[..., None], plane_values(arr, t, self.cell, self._value_mask)

    def _value_mask(self, value: float) -> np.ndarray:
        """``value`` as written in a cell (its coverage), kept by label for the picture's planes."""
        label = cell_label(value)
        mask = self._masks.get(label)
        if mask is None:
            mask = self._masks[label] = text_mask(label, VALUE_PX * self.scale, 72.0)
        return mask

    def _shading(self, x: int, y: int, values: Any) -> tuple[np.ndarray, PlaneValues | None]:
        """A plane's shade (0 smallest .. 1 largest value) and its values as tiles (None: not
        written): the same in both colourings, so made once per plane (here or by :meth:`_fits`)
        and shared with :meth:`recoloured`."""
        key = (x, y)
        if key not in self._shared:
            self._shared[key] = (shades(values)[1][..., None], None)
        return self._shared[key]

    def _grid(self, bg: np.ndarray, x: int, y: int, values: Any, group: int, stroke_px: int) -> None:
        """One plane: cells shaded by value in the group's colours, values written if they fit."""
        lo, hi, stroke = self.groups[group % len(self.groups)]
        t, written = self._shading(x, y, values)
        colours = self.colours
        nr, nc = paint_plane(bg, y, x, t, written, self.cell, lo, hi, colours["grid"], colours["text"])
        if nr and nc:
            outline(bg, y, x, y + nr * self.cell, x + nc * self.cell, stroke, stroke_px)

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
        mask = self._value_mask(float(value))
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
        bg = blank(self.height, self.width, CHANNEL_PALETTES[self.theme]["background"]).copy()
        self._draw_inputs(bg)
        if not self.spec.is_pool:
            self._draw_kernels(bg)
        else:
            self._text(bg, f"{self.spec.torch_class}: no weights; output channel c pools input channel c "
                       "alone", self.px(8), self.layout.kernel_y - self.px(18), LABEL_PX, "muted", words=True)
        self._draw_outputs(bg)
        text_y = self.layout.text_y
        self._text(bg, parameter_text(self.spec), self.px(8), text_y + 2 * self.px(19), TITLE_PX - 1, "text")
        self.height = text_y + (3 + len(self.notes)) * self.px(19) + self.px(8)
        return np.ascontiguousarray(bg[:self.height])

    def _band_title(self, bg: np.ndarray, y: int, text: str) -> None:
        self._text(bg, text, self.px(8), y, TITLE_PX, "text")

    def _draw_inputs(self, bg: np.ndarray) -> None:
        spec, band = self.spec, self.band_in
        n = len(self.inputs)
        more = shown_text(band.channels, n)
        size = "×".join(map(str, self.inputs_size))
        colour = "colour = group" if not spec.is_pool else "colour = channel"
        self._band_title(bg, self.layout.in_top - self.px(36), f"input: {n} channel{'s' * (n != 1)} × {size}"
                         f"{more}; {colour}")
        values = [self.in2d[c] for c in band.channels]
        self.write_in = self._fits("fits in", values, band.xy)
        for (x, y), c in zip(band.xy, band.channels, strict=True):
            group = self.group_of_input(c)
            mine = self.first_in <= c < self.first_in + self.per_group_in
            self._padding_ring(bg, x, y)
            self._grid(bg, x, y, self.in2d[c], group, self.px(3 if mine else 1))
            stroke = self.groups[group % len(self.groups)][2]
            wide = self.cell * len(self.in2d[0][0]) > self.px(80)
            label = f"in {c}" + (f" (group {group})" if spec.groups > 1 and wide else "")
            left = x - self.pads[1][0] * self.cell
            self._text(bg, label, left, self.layout.in_top - self.px(16), LABEL_PX, stroke)

    def _padding_ring(self, bg: np.ndarray, x: int, y: int) -> None:
        (pt, pb), (pl, pr) = self.pads
        if not (pt or pb or pl or pr):
            return
        c = self.cell
        h, w = len(self.in2d[0]), len(self.in2d[0][0])
        y0, x0, y1, x1 = y - pt * c, x - pl * c, y + (h + pb) * c, x + (w + pr) * c
        tile = self._ring_tiles.get((y1 - y0, x1 - x0))
        if tile is None:  # the planes are the same size: the hatched tile is made once
            self._ring_tiles[(y1 - y0, x1 - x0)] = tile = hatched(y0, x0, y1, x1, self.colours["ring"],
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
        self._band_title(bg, self.layout.kernel_y - self.px(20),
                         f"kernels of output channel {self.out_channel}: {self.per_group_in} "
                         f"(= in_channels/groups = {spec.in_channels}/{spec.groups}), each {k}")
        mine = [(xy, c) for xy, c in zip(self.band_in.xy, self.band_in.channels, strict=True)
                if self.first_in <= c < self.first_in + self.per_group_in]
        kernels = [self.kernel(c) for _, c in mine]
        # under the padded plane's left edge
        xys = [(x - self.pads[1][0] * self.cell, self.layout.kernel_y + self.px(16)) for (x, _), _ in mine]
        self.write_k = self._fits("fits kernels", kernels, xys)
        for (x, y), (_, c), kern in zip(xys, mine, kernels, strict=True):
            self.kernel_xy[c] = (x, y)
            self._grid(bg, x, y, kern, self.group, self.px(2))
            stroke = self.groups[self.group % len(self.groups)][2]
            self._text(bg, f"× in {c}", x, self.layout.kernel_y, LABEL_PX, stroke)

    def _draw_outputs(self, bg: np.ndarray) -> None:
        band, n = self.band_out, self.n_out
        more = shown_text(band.channels, n)
        size = "×".join(map(str, self.out_size))
        bias = "" if self.spec.is_pool else " + bias"
        what = {"max_pool": "max of the window", "avg_pool": "mean of the window"}.get(
            self.spec.kind, f"Σ input × weight{bias}")
        self._band_title(bg, self.layout.out_title_y,
                         f"output: {n} channel{'s' * (n != 1)} × {size}{more}; each cell = {what}")
        if self.outputs is None:
            self.write_out = False
            self.notes.append("output values not computed here (too big for this page)")
        else:
            self.write_out = self._fits("fits out", [self.outputs[c] for c in band.channels], band.xy)
        for (x, y), c in zip(band.xy, band.channels, strict=True):
            values = self.outputs[c] if self.outputs is not None else np.zeros(band.shapes[0])
            selected = c == self.out_channel
            group = self.group_of_output(c)
            self._grid(bg, x, y, values, group, self.px(3 if selected else 1))
            if selected:
                outline(bg, y - self.px(3), x - self.px(3), y + band.shapes[0][0] * self.cell + self.px(3),
                        x + band.shapes[0][1] * self.cell + self.px(3), self.colours["edge"], self.px(2))
            self._text(bg, f"out {c}" + (" ◀" if selected else ""), x, y - self.px(16), LABEL_PX,
                       self.groups[group % 6][2], words=True)
        unwritten = [side for side, written in (("input", self.write_in),
                                                ("output", self.write_out or self.outputs is None))
                     if not written]  # an output not computed has its own note above
        if unwritten:
            self.notes.append(f"{' and '.join(unwritten)} values not written: "
                              f"cells of {self.cell} px are too small for them")

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
        """The most terms (2..12) whose written-out sum fits the picture's width."""
        return fitting_terms(s, self.out_channel, (self.width - self.px(16)) / ((TITLE_PX - 1) * self.scale))

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
        return detail_text(self.spec, s, self.per_group_in, self.divisor_override)

    def frame(self, cell: Sequence[int]) -> np.ndarray:
        """The picture with output cell ``cell`` (of the followed channel) lit."""
        s = self.cell_sum(cell)
        bg = self.background.copy()
        self._light_inputs(bg, s)
        self._light_output(bg, tuple(cell))
        y, step = self.layout.text_y, self.px(19)
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
