"""The sliding-window picture (Matplotlib only): built once, updated in place.

Rooms, from the pixels up:

- :mod:`~convwidget.drawing.raster`: FreeType text masks and their caches, whole-pixel grids,
  hatching, outlines, alpha pasting and the PNG encoder (the fast path that beats Pillow);
  knows nothing of convolutions.
- :mod:`~convwidget.drawing.palettes`: the light and dark colourings and their contrast checks.
- :mod:`~convwidget.drawing.captions`: the picture's words (titles, note, step caption).
- :mod:`~convwidget.drawing.compose`: the static picture of a geometry, composed with numpy,
  and its layout.
- :mod:`~convwidget.drawing.taps`: the kernel taps of one window as a Matplotlib collection.
- :mod:`~convwidget.drawing.overlays`: what an interactive canvas draws besides the moving artists.
- :mod:`~convwidget.drawing.figure`: :class:`WindowFigure`, the Matplotlib figure whose few
  moving artists are drawn on top of the composed picture on each step.

>>> from convwidget.drawing import WindowFigure
>>> from convwidget.geometry import layer_geometry
>>> WindowFigure(layer_geometry("conv", 5, kernel_size=3)).n_steps
3
"""

from __future__ import annotations

from .compose import PALETTE
from .figure import DEFAULT_DPI, DEFAULT_FIGSIZE, MAX_WINDOW_TAPS, WindowFigure, window_too_big
from .palettes import PALETTES, THEMES

__all__ = [
    "DEFAULT_DPI", "DEFAULT_FIGSIZE", "MAX_WINDOW_TAPS", "PALETTE", "PALETTES", "THEMES", "WindowFigure",
    "window_too_big",
]
