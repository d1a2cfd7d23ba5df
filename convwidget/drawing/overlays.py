"""What an interactive canvas (ipympl's) draws of a WindowFigure besides the moving artists.

A figure we render ourselves copies its composed picture into the Agg buffer and pastes the
indices under the window directly (:meth:`WindowFigure.render`); a figure drawn by someone
else's canvas gets these two artists instead: the composed picture first, the indices last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.artist import Artist

if TYPE_CHECKING:
    from .figure import WindowFigure

__all__ = ["Background", "WindowLabels"]


class Background(Artist):
    """Paints a WindowFigure's composed picture (and caption) when a canvas draws the figure.

    For figures we do not render ourselves (``figure=``, e.g. ipympl's canvas): on an Agg
    renderer the pixels are copied straight into its buffer, before anything else is drawn
    (a full-figure image artist would be resampled on every draw: tens of milliseconds).
    """

    def __init__(self, owner: WindowFigure) -> None:
        super().__init__()
        self._owner = owner
        self.set_zorder(-100)

    def draw(self, renderer: Any) -> None:
        owner = self._owner
        bg = owner.picture()
        buffer = getattr(renderer, "buffer_rgba", None)
        if buffer is not None:
            buf = np.asarray(buffer())
            if buf.shape == bg.shape and buf.flags.writeable:
                np.copyto(buf, bg)
                if owner.show_caption and owner.caption and owner.error is None:
                    owner._paste_caption(buf, owner.theme)
                self.stale = False
                return
        # other renderers (or a resized canvas): draw it as an image, scaled to the figure
        picture = bg.copy()
        if owner.show_caption and owner.caption and owner.error is None:
            owner._paste_caption(picture, owner.theme)
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, picture[::-1])
        gc.restore()
        self.stale = False


class WindowLabels(Artist):
    """Interactive figures: the indices under the window, written over the taps (Agg only)."""

    def __init__(self, owner: WindowFigure) -> None:
        super().__init__()
        self._owner = owner
        self.set_zorder(100)

    def draw(self, renderer: Any) -> None:
        buffer = getattr(renderer, "buffer_rgba", None)
        owner = self._owner
        if buffer is not None and owner.error is None:
            buf = np.asarray(buffer())
            if buf.flags.writeable and buf.shape == owner.picture().shape:
                owner._paste_window_labels(buf, owner.theme)
        self.stale = False
