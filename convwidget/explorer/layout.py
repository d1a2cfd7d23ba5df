"""The explorer on one screen: two columns, the long panels folded, and projector mode.

The target is JupyterLab at 1366 x 768 with its file browser open: about 930 x 620 px for a
cell's output. The left column (340 px) holds the controls and the formula; the right one the
picture at its natural size (about 580 x 310 px), the player and PyTorch's verdict. When the
output area is narrower (or in projector mode), the right column wraps below the left.
Long panels fold open on demand (:meth:`ScreenLayout.add_foldout`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W

from .controls import _style
from .state import ExplorerState, Results
from .theme import PRESENTATION_SCALE

__all__ = ["LEFT_WIDTH", "RIGHT_WIDTH", "ScreenLayout", "columns", "presentation_button", "scale_widths"]

#: The left column's width in CSS pixels (the controls' rows are made to fit it).
LEFT_WIDTH = 330
#: The right column's width: the picture's natural width (580 px at scale 1) and its margins.
RIGHT_WIDTH = 584


def columns(left: Sequence[W.Widget], right: Sequence[W.Widget]) -> W.HBox:
    """The two columns side by side (``cw-panels``), wrapping when the page is narrow.

    >>> box = columns([W.HTML("a")], [W.HTML("b")])
    >>> [c._dom_classes for c in box.children]
    [('cw-left',), ('cw-right',)]
    """
    left_box = _style(W.VBox(list(left), layout=W.Layout(width=f"{LEFT_WIDTH}px", flex="0 0 auto")),
                      "cw-left")
    # as wide as the picture even when a refusal hides it: its sentence stays beside the controls
    right_box = _style(W.VBox(list(right), layout=W.Layout(flex="1 1 auto", width=f"{RIGHT_WIDTH}px")),
                       "cw-right")
    return _style(W.HBox([left_box, right_box], layout=W.Layout(
        flex_flow="row wrap", align_items="flex-start", grid_gap="0 8px")), "cw-panels")


def scale_widths(root: W.Widget, scale: float, base: dict[int, dict[str, str]]) -> None:
    """Set every pixel width under ``root`` (layout widths, description widths) to ``scale``
    times its first value, remembered in ``base``: the controls grow with their text.

    >>> box = W.HBox([W.IntSlider(layout=W.Layout(width="100px"), style={"description_width": "40px"})])
    >>> base = {}
    >>> scale_widths(box, 1.5, base)
    >>> box.children[0].layout.width, box.children[0].style.description_width
    ('150px', '60px')
    >>> scale_widths(box, 1, base)
    >>> box.children[0].layout.width
    '100px'
    """
    stack = [root]
    while stack:
        widget = stack.pop()
        stack.extend(getattr(widget, "children", ()))
        parts = (("layout", "width"), ("layout", "min_width"), ("style", "description_width"))
        first = base.setdefault(id(widget), {
            f"{part}.{name}": value for part, name in parts
            if isinstance(value := getattr(getattr(widget, part, None), name, None), str)
            and value.endswith("px")})
        for key, value in first.items():
            part, name = key.split(".")
            setattr(getattr(widget, part), name, f"{round(float(value[:-2]) * scale)}px")


def presentation_button() -> W.ToggleButton:
    """The 'Projector' toggle (``cw-presentation``)."""
    return _style(W.ToggleButton(
        value=False, description="Projector", icon="desktop",
        tooltip="projector mode: bigger text, thicker lines, a bigger picture",
        layout=W.Layout(width="auto", min_width="112px")), "cw-presentation")


class ScreenLayout:
    """The folded panels and projector mode of :class:`~.app.ConvExplorer` (a mixin)."""

    foldouts: W.Accordion
    presentation_button: W.ToggleButton
    picture_panel: Any
    values_view: Any
    ahead: Any  # ExplorerAhead or None
    state: ExplorerState
    _concealed: bool
    _shown: tuple[Results | None, int]
    main: W.HBox
    _base_widths: dict[int, dict[str, str]]

    def add_foldout(self, title: str, widget: W.Widget) -> W.Widget:
        """Append ``widget`` as a section titled ``title`` to the folded panels (closed until
        clicked); returns ``widget``.

        >>> from convwidget import ConvExplorer
        >>> e = ConvExplorer(input_size=5)
        >>> _ = e.add_foldout("Notes", W.HTML("my notes"))
        >>> e.foldouts.titles[-1], e.foldouts.selected_index is None
        ('Notes', True)
        """
        accordion = self.foldouts
        accordion.children = (*accordion.children, widget)
        accordion.set_title(len(accordion.children) - 1, str(title))
        return widget

    @property
    def presentation(self) -> bool:
        """Projector mode: text 1.5 times bigger, thicker lines, a bigger picture; settable.

        >>> from convwidget import ConvExplorer
        >>> e = ConvExplorer(input_size=5, presentation=True)
        >>> e.presentation, e.figure.to_png()[16:24] == e.picture_png()[16:24]
        (True, True)
        """
        return bool(self.presentation_button.value)

    @presentation.setter
    def presentation(self, value: bool) -> None:
        self.presentation_button.value = bool(value)

    def _on_presentation(self, change: dict[str, Any]) -> None:
        """Projector mode on or off: bigger text (CSS on the root) and a bigger picture."""
        with self._guard():
            on = bool(change["new"])
            root: Any = self
            (root.add_class if on else root.remove_class)("cw-presentation-on")
            scale = PRESENTATION_SCALE if on else 1.0
            if on or hasattr(self, "_base_widths"):
                scale_widths(self.main, scale, self.__dict__.setdefault("_base_widths", {}))
            self.picture_panel.set_scale(scale)
            self.values_view.scale = scale  # drawn again only while its section is open
            if self.ahead is not None:
                self.ahead.set_scale(scale)
            self._shown = (None, -1)  # drawn again at the new size
            if not self._concealed and self.state.results is not None:
                self._show_step(self.state.results, self.state.step)

    def _rescale_controls(self) -> None:
        """The controls took the widths of another ``ndim``: projector mode scales those (its
        remembered widths of the sliders are the new ones)."""
        base = self.__dict__.get("_base_widths")
        if base is None:
            return  # projector mode was never on: the widths are the controls' own
        for pair in self.setting_controls.pairs:
            for widget in (*pair.widgets, pair.d):
                base.pop(id(widget), None)
        scale_widths(self.main, PRESENTATION_SCALE if self.presentation else 1.0, base)

    # provided by the explorer (ConvExplorer's methods)
    _guard: Callable[[], contextlib.AbstractContextManager[None]]
    _show_step: Callable[[Results, int], None]
    setting_controls: Any  # the explorer's Controls
