"""ValuesView: the channel picture with values, following an explorer's state.

An ipywidgets VBox that follows an :class:`~.state.ExplorerState` (its ``results`` and
``step`` traits): the input planes, the kernel stack of the followed output channel and the
output maps (:class:`convwidget.drawing.channels.ChannelPicture`), with the values PyTorch
computed (:func:`convwidget.torchlayers.run_values`, the real layer in float64) and the lit
cell's sum written out (:mod:`convwidget.cellmath`, which must agree with PyTorch: the line
says so). Controls: the output channel to follow (``cw-out-channel``), a kernel preset
(``cw-kernel-preset``) or a typed kernel (``cw-kernel-typed``, its sentence in
``cw-kernel-error``). The picture comes in both colourings (``cw-channels-picture`` and
``cw-channels-picture-dark``; a ``<style>`` inside shows the one of JupyterLab's theme), the
sum as text (``cw-cell-sum``), and why nothing is drawn in ``cw-channels-message``.

Bad input never raises here: a refused setting, a kernel of the wrong shape or an input too
big to write out gets a sentence, and the controls stay usable.

>>> from convwidget.explorer.state import ExplorerState
>>> state = ExplorerState(input_size=5, kernel_size=3, in_channels=2, out_channels=2)
>>> view = ValuesView(state)
>>> view.sum_text[:16], view.channel.max
('out 0 at (0, 0):', 1)
>>> state.step = 4
>>> view.sum_text[:16]
'out 0 at (1, 1):'
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..cellmath import KERNEL_PRESETS, format_number, parse_kernel, preset_weights, sample_input, weight_shape
from ..spec import LayerSpec
from .css import VIEW_CLASSES
from .state import ExplorerState, Results

__all__ = ["MAX_VALUES", "MAX_VALUES_OTHER", "TYPED", "VIEW_CLASSES", "ValuesView"]

#: Terms written out in the text line under the picture (a 3-channel 3 × 3 sum in full).
FULL_TERMS = 27
#: The typed kernel's entry in the preset menu.
TYPED = "typed kernel"
#: At most this many input values (channels × cells) are written out and drawn; at most
#: MAX_VALUES_OTHER weights and output values (the numbers are nested lists, built per change).
MAX_VALUES = 12_000
MAX_VALUES_OTHER = 60_000
_DARK = 'body[data-jp-theme-light="false"]'
_STYLE = (f"<style>.cw-values-view .cw-channels-picture-dark{{display:none}} "
          f"{_DARK} .cw-values-view .cw-channels-picture-dark{{display:block}} "
          f"{_DARK} .cw-values-view .cw-channels-picture{{display:none}} "
          # at its natural size (ipywidgets scale an image down to its box: numbers under 11 px);
          # a picture wider than the notebook scrolls sideways inside the view instead
          ".cw-values-view .cw-channels-picture, .cw-values-view .cw-channels-picture-dark"
          "{max-width:none;flex-shrink:0;align-self:flex-start;width:auto}"
          ".cw-values-view{overflow-x:auto}</style>")


def _styled(widget: Any, cls: str) -> Any:
    widget.add_class(cls)
    return widget


def bias_values(spec: LayerSpec) -> list[float] | None:
    """The bias the view uses: 1 for every output channel (None for a pool or ``bias=False``).

    >>> bias_values(LayerSpec.from_settings(out_channels=3))
    [1.0, 1.0, 1.0]
    """
    if spec.is_pool or not spec.bias:
        return None
    return [1.0] * spec.out_channels


class ValuesView(W.VBox):
    """The channel picture with PyTorch's values, following ``state``; see the module docstring.

    ``scale=1.5`` draws for a projector (settable: :attr:`scale`).
    """

    def __init__(self, state: ExplorerState, *, scale: float = 1.0, active: bool = True,
                 **kwargs: Any) -> None:
        self.state = state
        self._scale = scale
        self._active = bool(active)
        self._stale = False
        self.channel = _styled(W.IntSlider(0, min=0, max=0, description="output channel",
                                           style={"description_width": "100px"}, continuous_update=True),
                               "cw-out-channel")
        self.preset = _styled(W.Dropdown(options=[*KERNEL_PRESETS, TYPED], value="small integers",
                                         description="kernel", style={"description_width": "50px"}),
                              "cw-kernel-preset")
        self.typed = _styled(W.Text(value="1 0 -1; 2 0 -2; 1 0 -1", placeholder="1 0 -1; 2 0 -2; 1 0 -1",
                                    description="typed", continuous_update=False,
                                    style={"description_width": "50px"}), "cw-kernel-typed")
        self.typed_error = _styled(W.HTML(""), "cw-kernel-error")
        self.image = _styled(W.Image(format="png"), "cw-channels-picture")
        self.image_dark = _styled(W.Image(format="png"), "cw-channels-picture-dark")
        self.sum_line = _styled(W.HTML(""), "cw-cell-sum")
        self.message = _styled(W.HTML(""), "cw-channels-message")
        self.pictures: dict[str, Any] = {}
        self._shown: Any = None  # (pictures, cell) of the frame in the images
        self._inputs: tuple[Any, Any] = (None, None)  # (channels, size) and the sample input drawn
        self.sum_text = ""
        self.updates = 0  # full redraws (tests, benchmarks)
        self._busy = False
        super().__init__([_styled(W.HTML(_STYLE, layout=W.Layout(display="none")), "cw-values-style"),
                          _styled(W.HBox([self.channel, self.preset]), "cw-values-controls"),
                          _styled(W.HBox([self.typed, self.typed_error]), "cw-values-typed-row"),
                          self.message, self.image, self.image_dark, self.sum_line], **kwargs)
        self.add_class("cw-values-view")
        self.channel.observe(self._on_control, names="value")
        self.preset.observe(self._on_control, names="value")
        self.typed.observe(self._on_typed, names="value")
        state.observe(self._on_results, names="results")
        state.observe(self._on_step, names="step")
        self._on_results()

    # ------------------------------------------------------------------ public
    @property
    def scale(self) -> float:
        """1 for a screen, 1.5 for a projector; setting it redraws."""
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        self._scale = float(value)
        self._on_results()

    @property
    def active(self) -> bool:
        """Whether the view follows the state now. An inactive view (a folded panel) draws
        nothing: it notes that it is out of date and catches up once it is active again, so
        a slider does not pay for a picture nobody sees."""
        return self._active

    @active.setter
    def active(self, value: bool) -> None:
        self._active = bool(value)
        if self._active and self._stale:
            self._on_results()

    def clear(self) -> None:
        """Empty the pictures and the sum (a quiz hides its answer: nothing of it stays in the page)."""
        self.image.value = self.image_dark.value = b""
        self.sum_line.value, self.sum_text, self.pictures = "", "", {}
        self._stale = True

    def close(self) -> None:
        for name, handler in (("results", self._on_results), ("step", self._on_step)):
            with contextlib.suppress(ValueError):  # closed already: ipywidgets closes again when collected
                self.state.unobserve(handler, names=name)
        super().close()

    # ------------------------------------------------------------------ handlers
    def _guarded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as err:  # a callback's failure is shown as a sentence, never a traceback
            self._show_message(f"The values view could not draw this setting ({type(err).__name__}: {err}); "
                               "the calculator and PyTorch's answer above still hold.")

    def _on_results(self, change: dict[str, Any] | None = None) -> None:
        self._stale = not self._active
        if self._active:
            self._guarded(self._redraw)

    def _redraw(self) -> None:
        self._busy = True
        try:
            self._draw()
        finally:
            self._busy = False

    def _on_control(self, change: dict[str, Any]) -> None:
        if not self._busy:  # a slider clamped during a redraw is read by that redraw
            self._guarded(self._redraw)

    def _on_typed(self, change: dict[str, Any]) -> None:
        if self.preset.value != TYPED:
            self.preset.value = TYPED  # redraws through _on_control
        else:
            self._guarded(self._redraw)

    def _on_step(self, change: dict[str, Any]) -> None:
        if self._stale or not self._active:
            self._stale = True
            return
        self._guarded(self._show_frame)

    # ------------------------------------------------------------------ drawing
    def _show_message(self, text: str) -> None:
        self.message.value = f"<div style='max-width:560px'>{html.escape(text)}</div>"
        self.image.layout.display = self.image_dark.layout.display = "none"
        self.sum_line.value, self.sum_text, self.pictures = "", "", {}

    def _weights_controls(self, spec: LayerSpec) -> None:
        self.preset.disabled = self.typed.disabled = spec.is_pool
        self.typed_error.value = ""

    def _weights(self, spec: LayerSpec) -> Any:
        """The weights of the chosen preset, or of the typed kernel (its sentence if it is refused)."""
        self._weights_controls(spec)
        if spec.is_pool:
            return None
        if self.preset.value == TYPED:
            try:
                return preset_weights(TYPED, spec, kernel=parse_kernel(self.typed.value, spec.kernel_size))
            except ValueError as err:
                self.typed_error.value = html.escape(f"{err} (drawn with 'ones' meanwhile)")
                return preset_weights("ones", spec)
        return preset_weights(self.preset.value, spec)

    def _too_big(self, results: Results) -> str | None:
        spec, size = results.spec, results.input_size
        values = spec.in_channels * math.prod(size)
        if spec.ndim not in (1, 2):
            return f"The values view draws 1-D and 2-D layers, not {spec.torch_class}."
        from ..drawing.channels import MAX_SIDE

        after = "The calculator and PyTorch's shape above still hold."
        side = max(*size, *(results.output_size or ()))
        if side > MAX_SIDE:
            return (f"No picture: a grid of {side} cells a side is more than the channel picture draws "
                    f"({MAX_SIDE}); use a smaller input or a larger stride to see the values. " + after)
        if values > MAX_VALUES:
            shown = " × ".join(map(str, (spec.in_channels, *size)))
            return (f"No values drawn: the input holds {shown} = {values:,} values, more than this view "
                    f"writes out ({MAX_VALUES:,}); use fewer channels or a smaller input to see the numbers. "
                    + after)
        weights = 0 if spec.is_pool else math.prod(weight_shape(spec))
        channels = spec.in_channels if spec.is_pool else spec.out_channels
        outputs = channels * math.prod(results.output_size or ())
        for what, n, fix in (("weights", weights, "fewer channels or a smaller kernel"),
                             ("output values", outputs, "fewer channels, a smaller input or stride")):
            if n > MAX_VALUES_OTHER:
                return (f"No values drawn: the layer has {n:,} {what}, more than this view writes out "
                        f"({MAX_VALUES_OTHER:,}); use {fix} to see the numbers. " + after)
        return None

    def _draw(self) -> None:
        from ..drawing.channels import ChannelPicture  # numpy and matplotlib: with the first picture
        from ..torchlayers import run_values  # torch: imported when the first values are needed

        self.updates += 1
        results = self.state.results
        if results is None or results.problem or results.geometry is None:
            # a refusal is said once, beside PyTorch's words; an empty output, in the picture's place
            self._show_message("No values: PyTorch refuses this setting (the reason is beside "
                               "PyTorch's own message)." if results is None or results.problem else
                               "No values: the output is empty (the note in the picture's place says why).")
            return
        spec = results.spec
        n_out = spec.in_channels if spec.is_pool else spec.out_channels
        with self.channel.hold_trait_notifications():
            self.channel.max = max(n_out - 1, 0)
        why = self._too_big(results)
        if why:
            self._weights_controls(spec)
            self._show_message(why)
            return
        weights = self._weights(spec)
        inputs = self._sample_input(spec.in_channels, results.input_size)
        bias = bias_values(spec)
        torch_values = run_values(spec, inputs, weights, bias)
        outputs = torch_values.values
        self.message.value = "" if torch_values.ok else html.escape(f"PyTorch: {torch_values.error}")
        followed = min(self.channel.value, n_out - 1)
        light = ChannelPicture(spec, inputs, weights, bias, outputs, out_channel=followed, scale=self._scale)
        self.pictures = {"light": light, "dark": light.recoloured("dark")}
        self.image.layout.display = self.image_dark.layout.display = None
        self._show_frame()

    def _sample_input(self, channels: int, size: tuple[int, ...]) -> Any:
        """The sample input, kept while its shape stays (most settings leave the input alone)."""
        if self._inputs[0] != (channels, size):
            self._inputs = ((channels, size), sample_input(channels, size))
        return self._inputs[1]

    def _show_frame(self) -> None:
        geometry = self.state.geometry
        if not self.pictures or geometry is None:
            return
        cell = geometry.out_cell(min(self.state.step, geometry.n_steps - 1))
        if self._shown is not None and self._shown[0] is self.pictures and self._shown[1] == cell:
            return  # drawn already (a new setting that also moves the step notifies twice)
        self._shown = (self.pictures, cell)
        light = self.pictures["light"]
        self.image.value = light.png(cell)
        self.image_dark.value = self.pictures["dark"].png(cell)
        self.sum_text = light.sum_text(cell)
        ours, theirs = light.cell_sum(cell).value, light.torch_value(cell)
        if theirs is None:
            verdict = "PyTorch's value: not computed here (too big)"
        elif format_number(ours) == format_number(theirs):
            verdict = f"PyTorch's value: {format_number(theirs)} ✓ the same"
        else:  # pragma: no cover - cellmath and torch agree on every tested setting
            verdict = f"PyTorch's value: {format_number(theirs)} ✗ differs from the sum"
        lines = [f"<code>{html.escape(light.sum_text(cell, FULL_TERMS))}</code>"]
        s = light.cell_sum(cell)
        if s.kind == "conv_transpose":
            lines.append(html.escape(f"which input cell × which weight: {s.sources_text(FULL_TERMS)}"))
        lines.append(f"<span class='cw-muted'>{html.escape(verdict)}</span>")
        self.sum_line.value = "<br>".join(lines)
