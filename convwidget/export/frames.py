"""Frames of an export: which steps, drawn by a WindowFigure, quantised to one palette.

See :mod:`convwidget.export`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..drawing import WindowFigure, window_too_big
from ..geometry import Geometry, Window

__all__ = ["Plan", "Source", "check_source", "figure_for", "frame_steps", "palette_image", "render_frames",
           "rgb_image", "suggested_name"]

Source = Geometry | WindowFigure


def frame_steps(n_steps: int, max_frames: int) -> tuple[int, ...]:
    """The steps to show, at most ``max_frames``, evenly spaced, first and last kept.

    >>> frame_steps(5, 10)
    (0, 1, 2, 3, 4)
    >>> frame_steps(10, 4)
    (0, 3, 6, 9)
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got max_frames={max_frames}")
    if n_steps <= max_frames:
        return tuple(range(n_steps))
    if max_frames == 1:
        steps: tuple[int, ...] = (0,)
    else:
        steps = tuple(round(i * (n_steps - 1) / (max_frames - 1)) for i in range(max_frames))
    return steps


@dataclass(frozen=True)
class Plan:
    """Which frames to draw, and the notes saying what was left out or capped."""

    steps: tuple[int, ...]
    dropped: tuple[Window, ...]
    frames_note: str | None  # with a "{what}" for the GIF or the player
    dpi_note: str | None

    def note(self, what: str, frames_note: str | None = None) -> str | None:
        """The notes, joined; ``frames_note`` replaces the plan's own (a player cut to size)."""
        first = frames_note or (self.frames_note.format(what=what) if self.frames_note else None)
        return "; ".join(n for n in (first, self.dpi_note) if n) or None


@contextmanager
def figure_for(source: Source, figsize: tuple[float, float], dpi: float,
               theme: str = "light") -> Iterator[WindowFigure]:
    """A WindowFigure for ``source`` drawing in ``theme``; a caller's figure gets its step and
    theme back afterwards."""
    if isinstance(source, WindowFigure):
        step, window, shown = source.step, source.window, source.theme
        source.set_style(theme=theme)
        try:
            yield source
        finally:
            source.set_style(theme=shown)
            if window is not None and window.step is None:
                source.show_window(window)
            else:
                source.show_step(step)
        return
    fig = WindowFigure(source, figsize=figsize, dpi=dpi, theme=theme)
    try:
        yield fig
    finally:
        fig.close()


def suggested_name(g: Geometry, suffix: str) -> str:
    """A file name saying what the animation shows (for a browser download).

    >>> from convwidget.geometry import layer_geometry
    >>> suggested_name(layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1), ".gif")
    'conv_5x5_k3_s2_p1.gif'
    >>> suggested_name(layer_geometry("max_pool", (7,), kernel_size=2, ceil_mode=True), ".html")
    'max_pool_7_k2_s2_ceil.html'
    """
    def axes(values: Any) -> str:
        return "x".join(str(v) for v in values) if len(set(values)) > 1 else str(values[0])

    parts = [g.kind, "x".join(str(n) for n in g.input_size), f"k{axes(g.kernel_size)}",
             f"s{axes([d.stride for d in g.dims])}"]
    pads = [d.padding[0] for d in g.dims]
    if any(pads):
        parts.append(f"p{axes(pads)}")
    if any(d.dilation != 1 for d in g.dims):
        parts.append(f"d{axes([d.dilation for d in g.dims])}")
    if any(d.output_padding for d in g.dims):
        parts.append(f"op{axes([d.output_padding for d in g.dims])}")
    if any(d.ceil_mode for d in g.dims):
        parts.append("ceil")
    return "_".join(parts) + suffix


def check_source(source: Any) -> Geometry:
    if isinstance(source, WindowFigure):
        if source.geometry is None or source.error is not None:
            raise ValueError("the figure shows no layer (no geometry, or an error): nothing to animate")
        return source.geometry
    if not isinstance(source, Geometry):
        raise TypeError(f"source must be a Geometry or a WindowFigure, got {type(source).__name__}")
    refusal = window_too_big(source)
    if refusal is not None:
        raise ValueError(f"nothing to animate: {refusal}")
    return source


def render_frames(fig: WindowFigure, steps: Sequence[int], dropped: Sequence[Window]) -> Iterator[Any]:
    """Show each step (then each dropped window) and yield the rendered RGBA buffer."""
    for step in steps:
        fig.show_step(step)
        yield fig.render()
    for window in dropped:
        fig.show_window(window)
        yield fig.render()


def rgb_image(buf: Any) -> Any:
    from PIL import Image

    h, w = buf.shape[:2]
    return Image.frombuffer("RGBA", (w, h), buf, "raw", "RGBA", 0, 1).convert("RGB")


def palette_image(fig: WindowFigure, steps: Sequence[int], dropped: Sequence[Window]) -> Any:
    """One palette for all frames, from a few sample frames (first, middle, last, dropped)."""
    from PIL import Image

    picks = sorted({steps[0], steps[len(steps) // 2], steps[-1]})
    samples = [rgb_image(b) for b in render_frames(fig, picks, dropped[:1])]
    w, h = samples[0].size
    sheet = Image.new("RGB", (w, h * len(samples)))
    for i, im in enumerate(samples):
        sheet.paste(im, (0, i * h))
    return sheet.quantize(colors=255, method=Image.Quantize.FASTOCTREE)
