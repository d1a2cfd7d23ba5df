"""The words of the sliding-window picture: titles, the note under the grids, the step caption.

Plain strings from a :class:`~convwidget.geometry.Geometry` (no pixels, no Matplotlib), so
they can be tested and reused by any face that shows the picture.

>>> from convwidget.geometry import layer_geometry
>>> g = layer_geometry("conv_transpose", (2, 2), kernel_size=3, stride=2)
>>> input_title(g)
'transposed convolution: input 2×2, stride 2, stretched to 3×3, padded to 7×7'
>>> output_title(g), note(g, dropped=False)
('output 5×5', 'equivalent conv: 1 zero(s) between input cells, implicit padding d(k−1)−p = 2')
"""

from __future__ import annotations

from ..formatting import format_shape
from ..geometry import Geometry, Window

__all__ = ["KIND_NAMES", "caption", "input_title", "legend_names", "note", "output_title", "plural"]

#: How the picture's titles name each layer kind.
KIND_NAMES = {"conv": "convolution", "conv_transpose": "transposed convolution",
              "max_pool": "max pooling", "avg_pool": "average pooling"}


def _per_dim_text(values: list[int]) -> str:
    """``2`` when every dimension agrees, else ``(2, 1)``."""
    if len(set(values)) == 1:
        return str(values[0])
    return format_shape(values)


def _padding_text(g: Geometry) -> str:
    pads = [d.padding for d in g.dims]
    if all(p[0] == p[1] for p in pads):
        return ",".join(str(p[0]) for p in pads) if len(set(pads)) > 1 else str(pads[0][0])
    if len(set(pads)) == 1:
        return f"{pads[0][0]} top/left, {pads[0][1]} bottom/right"
    return ", ".join(f"({a}, {b})" for a, b in pads)


def _stretch_text(g: Geometry) -> str:
    """A transposed convolution's two steps (notebook 04): the input stretched by the stride
    to ``(n − 1)·s + 1`` cells, then padded by ``d(k−1)−p`` each side (+ output_padding at the
    end), or cropped where that is negative."""
    stretched = [d.input_stop for d in g.dims]
    pads = [d.implicit_padding for d in g.dims]
    padded = [n + left + right for n, (left, right) in zip(stretched, pads, strict=True)]
    ends = [p for pair in pads for p in pair]
    verb = "padded" if min(ends) >= 0 else ("cropped" if max(ends) <= 0 else "padded and cropped")
    return (f"stretched to {format_shape(stretched, 'compact')}, "
            f"{verb} to {format_shape(padded, 'compact')}")


def input_title(g: Geometry) -> str:
    """The title above the input grid: the kind, the input size and the padding or stretch.

    >>> from convwidget.geometry import layer_geometry
    >>> input_title(layer_geometry("conv_transpose", (4, 4), kernel_size=2, stride=3, padding=3))
    'transposed convolution: input 4×4, stride 3, stretched to 10×10, cropped to 6×6'
    """
    size = format_shape(g.input_size, "compact")
    if g.kind == "conv_transpose":
        s = _per_dim_text([d.stride for d in g.dims])
        return f"{KIND_NAMES[g.kind]}: input {size}, stride {s}, {_stretch_text(g)}"
    return f"{KIND_NAMES[g.kind]}: input {size}, padding {_padding_text(g)}"


def output_title(g: Geometry) -> str:
    """The title of the output grid."""
    return f"output {format_shape(g.output_size, 'compact')}"


def note(g: Geometry, dropped: bool) -> str:
    """The line under the grids: a transposed conv as a conv, or what ``ceil_mode`` does."""
    if g.kind == "conv_transpose":
        zeros = _per_dim_text([d.stride - 1 for d in g.dims])
        pad = _per_dim_text([d.implicit_padding[0] for d in g.dims])
        text = f"equivalent conv: {zeros} zero(s) between input cells, implicit padding d(k−1)−p = {pad}"
        if any(d.output_padding for d in g.dims):
            text += f", output_padding {_per_dim_text([d.output_padding for d in g.dims])} bottom/right"
        return text
    if dropped:
        return "dashed: window PyTorch drops (ceil_mode; it would start in the right padding)"
    if any(d.ceil_mode and any(d.overhangs(i) for i in range(d.output)) for d in g.dims):
        return "ceil_mode: the last window reaches past the padded input; PyTorch clips it there"
    return ""


def legend_names(kind: str) -> dict[str, str]:
    """The legend's words for each cell role."""
    padding = {"max_pool": "padding (ignored by max)", "avg_pool": "padding"}.get(kind, "zero padding")
    return {
        "input": "input cell",
        "padding": padding,
        "zero": "inserted zero",
        "output_padding": "output_padding",
        "overhang": "outside (clipped)",
        "cropped": "cropped",
        "unread": "never read",
    }


_COUNTED = (("padding", "on padding"), ("zero", "on inserted zeros"),
            ("output_padding", "on output_padding"), ("overhang", "outside (clipped)"),
            ("cropped", "cropped"))


def plural(n: int, noun: str) -> str:
    """``'1 input cell'``, ``'4 input cells'``.

    >>> plural(1, "tap"), plural(0, "input cell")
    ('1 tap', '0 input cells')
    """
    return f"{n} {noun}{'s' * (n != 1)}"


def caption(g: Geometry, w: Window, counts: dict[str, int]) -> str:
    """The step caption: which output cell, and how many of its taps land on each role.

    Steps count from 1 (``step 1/25``), as the explorer's step counter does; the output cell
    is ``(row, col)`` from 0, as its row and column sliders are.

    >>> from convwidget.geometry import layer_geometry
    >>> g = layer_geometry("conv", (5, 5), kernel_size=3, padding=1)
    >>> caption(g, g.window(0), {"input": 4, "padding": 5, "zero": 0, "output_padding": 0,
    ...                          "overhang": 0, "cropped": 0})
    'step 1/25: output cell (0, 0) reads 9 taps: 4 input cells, 5 on padding'
    >>> one = layer_geometry("max_pool", (5, 5), kernel_size=1)
    >>> caption(one, one.window(0), {"input": 1, "padding": 0, "zero": 0, "output_padding": 0,
    ...                              "overhang": 0, "cropped": 0})
    'step 1/25: output cell (0, 0) reads 1 tap: 1 input cell'
    """
    cell = w.out_cell[-1] if g.ndim == 1 else w.out_cell
    parts = [plural(counts["input"], "input cell")]
    parts += [f"{counts[role]} {name}" for role, name in _COUNTED if counts[role]]
    if w.dropped:
        head = f"window {cell}: dropped by PyTorch (it would start in the right padding)"
    else:
        step = (w.step or 0) + 1
        head = f"step {step}/{g.n_steps}: output cell {cell} reads {plural(len(w.taps), 'tap')}"
    return f"{head}: " + ", ".join(parts)
