"""ConvExplorer: sliders that drive the calculator, the sliding-window picture and real PyTorch.

ipywidgets only: this module translates control values into calls to the core
(:func:`convwidget.explain`, :func:`convwidget.geometry.layer_geometry`), to the
figure of :mod:`convwidget.drawing` (built once, updated in place) and to
:mod:`convwidget.torchlayers` (the real ``torch.nn`` layer). It draws nothing
itself.

Every widget carries a ``cw-*`` CSS class so a browser test can find it; the
list is :data:`CSS_CLASSES`.

>>> from convwidget import ConvExplorer
>>> explorer = ConvExplorer(kind="conv", input_size=(32, 32), kernel_size=3, stride=2, padding=1)
>>> explorer.output_size
(16, 16)
>>> explorer.set(stride=1).output_size
(32, 32)
>>> explorer.set(kernel_size=40, padding=0).output_size is None
True
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import math
import os
import re
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W

from .errors import ShapeError
from .explanations import Explanation, explain
from .geometry import Geometry, layer_geometry
from .torchlayers import KINDS, LayerSpec, TorchResult, _pair, run_layer

__all__ = ["CSS_CLASSES", "ConvExplorer"]

KIND_LABELS = (
    ("convolution (nn.Conv2d)", "conv"),
    ("transposed convolution (nn.ConvTranspose2d)", "conv_transpose"),
    ("max pool (nn.MaxPool2d)", "max_pool"),
    ("average pool (nn.AvgPool2d)", "avg_pool"),
)

SETTING_NAMES = (
    "kind", "input_size", "kernel_size", "stride", "padding", "dilation", "output_padding",
    "ceil_mode", "count_include_pad", "in_channels", "out_channels", "groups",
)

#: What ConvExplorer() starts with: PyTorch's defaults, and a small input to watch.
DEFAULTS: dict[str, Any] = {
    "kind": "conv", "input_size": (7, 7), "kernel_size": (3, 3), "padding": 0, "dilation": 1,
    "output_padding": 0, "ceil_mode": False, "count_include_pad": True,
    "in_channels": 1, "out_channels": 1, "groups": 1,
}

# Okabe-Ito colours: told apart with the common colour-vision deficiencies; never the only cue.
OK_COLOUR = "#009E73"
BAD_COLOUR = "#D55E00"
NOTE_COLOUR = "#0072B2"

#: Largest output (cells) whose values the PyTorch panel prints.
MAX_VALUE_CELLS = 144

#: CSS class -> what the widget is and the text it shows (also written to widget_classes.md).
CSS_CLASSES: dict[str, str] = {
    "cw-explorer": "root VBox of the whole app",
    "cw-title": "HTML: one-line title 'ConvExplorer — move a slider: ...'",
    "cw-controls": "VBox holding every setting control (one HBox row per setting)",
    "cw-input-row": "HBox: input H, W sliders and their 'H = W' checkbox (likewise cw-kernel-row, "
                    "cw-stride-row, cw-padding-row, cw-dilation-row, cw-output-padding-row)",
    "cw-kernel-row": "HBox: kernel row", "cw-stride-row": "HBox: stride row",
    "cw-padding-row": "HBox: padding row", "cw-dilation-row": "HBox: dilation row",
    "cw-output-padding-row": "HBox: output_padding row (transposed convolution only)",
    "cw-flags": "HBox: ceil_mode and count_include_pad checkboxes",
    "cw-channels": "HBox: in_channels, out_channels, groups",
    "cw-panels": "HBox: animation panel beside the calculator panel",
    "cw-calculator-title": "HTML 'Calculator'",
    "cw-player": "HBox: Play button and step slider",
    "cw-cell": "HBox: row and col sliders",
    "cw-kind": "Dropdown: layer kind; values 'conv', 'conv_transpose', 'max_pool', 'avg_pool'",
    "cw-input-h": "IntSlider: input height",
    "cw-input-w": "IntSlider: input width (disabled, follows height while cw-input-square is ticked)",
    "cw-input-square": "Checkbox 'H = W' for the input size",
    "cw-kernel-h": "IntSlider: kernel height",
    "cw-kernel-w": "IntSlider: kernel width",
    "cw-kernel-square": "Checkbox 'H = W' for the kernel",
    "cw-stride": "IntSlider: stride (height; also class cw-stride-h)",
    "cw-stride-w": "IntSlider: stride width",
    "cw-stride-square": "Checkbox 'H = W' for the stride",
    "cw-padding-mode": "Dropdown: 'number', 'same', 'valid' (convolution only)",
    "cw-padding": "IntSlider: padding (height; also class cw-padding-h); max = kernel//2 for pooling",
    "cw-padding-w": "IntSlider: padding width",
    "cw-padding-square": "Checkbox 'H = W' for the padding",
    "cw-dilation": "IntSlider: dilation (height; also class cw-dilation-h); hidden for average pool",
    "cw-dilation-w": "IntSlider: dilation width",
    "cw-dilation-square": "Checkbox 'H = W' for the dilation",
    "cw-output-padding": "IntSlider: output_padding (height; also cw-output-padding-h); "
                         "transposed convolution only; max = max(stride, dilation) - 1",
    "cw-output-padding-w": "IntSlider: output_padding width",
    "cw-output-padding-square": "Checkbox 'H = W' for output_padding",
    "cw-ceil-mode": "Checkbox: ceil_mode (pooling only)",
    "cw-count-include-pad": "Checkbox: count_include_pad (average pool only)",
    "cw-in-channels": "BoundedIntText: in_channels",
    "cw-out-channels": "BoundedIntText: out_channels (convolutions only)",
    "cw-groups": "BoundedIntText: groups (convolutions only)",
    "cw-calculator": "VBox: the calculator panel",
    "cw-output-size": "HTML: 'Output: 16 × 16' (height × width), or 'Output: refused' for a "
                      "setting PyTorch refuses",
    "cw-formula": "HTMLMath: per-dimension derivation in LaTeX (\\( ... \\)), or the refusal sentence",
    "cw-formula-text": "HTML: the same derivation as plain text, e.g. "
                       "'height: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16'",
    "cw-params": "HTML: 'Parameters: 10 = 1·1·3·3 weights + 1 bias' (0 for pooling)",
    "cw-receptive-field": "HTML: 'Receptive field: 3 × 3 input cells per output cell ...'",
    "cw-animation": "VBox: the animation panel",
    "cw-picture": "Image (PNG bytes of the figure; on a refused setting it shows the explanation); "
                  "hidden in live mode",
    "cw-picture-live": "ipympl Canvas with the same figure, only with ConvExplorer(live=True) or "
                       "when %matplotlib widget is active (then cw-picture is hidden)",
    "cw-picture-error": "HTML: the refusal explanation shown in place of the picture (hidden otherwise)",
    "cw-play": "Play: walks cw-step across the output cells (jslink'd to cw-step)",
    "cw-step": "IntSlider: output cell number (row-major), 0 .. cells-1",
    "cw-row": "IntSlider: output row of the current cell",
    "cw-col": "IntSlider: output column of the current cell",
    "cw-step-label": "HTML: 'output cell (r, c) reads input rows a–b, cols c–d'",
    "cw-torch-panel": "HTML: 'Real PyTorch' panel: the nn code, input and output torch.Size, "
                      "'✓ agrees with the calculator' (or '✗ ... PyTorch says ..., calculator says ...'); "
                      "when refused: PyTorch's own error message beside convwidget's explanation "
                      "('✓ both refuse'); the output values (channel 0) for outputs of at most 144 cells",
    "cw-export": "HBox: export row",
    "cw-export-gif": "Button 'Export GIF'",
    "cw-export-html": "Button 'Export HTML player'",
    "cw-export-progress": "IntProgress: frames rendered while exporting (hidden when idle)",
    "cw-export-link": "HTML: link to the written file and a data-URI download link, or an error sentence",
    "cw-error": "HTML: an unexpected exception inside a callback, shown as text (hidden when none)",
}


def _style(widget: W.Widget, *classes: str) -> W.Widget:
    for cls in classes:
        widget.add_class(cls)
    return widget


class _PairControl:
    """Two IntSliders (height, width) and an 'H = W' checkbox that links them."""

    def __init__(self, name: str, label: str, lo: int, hi: int, value: int, width_desc: str = "W") -> None:
        style = {"description_width": "88px"}
        layout = W.Layout(width="300px")
        self.name = name
        self.h = _style(W.IntSlider(value=value, min=lo, max=hi, description=f"{label} H",
                                    tooltip=f"{label} height",
                                    style=style, layout=layout, continuous_update=True),
                        f"cw-{name}", f"cw-{name}-h")
        if name in ("input", "kernel"):
            self.h.remove_class(f"cw-{name}")
        self.w = _style(W.IntSlider(value=value, min=lo, max=hi, description=width_desc,
                                    tooltip=f"{label} width",
                                    style={"description_width": "24px"}, layout=W.Layout(width="232px"),
                                    disabled=True, continuous_update=True),
                        f"cw-{name}-w")
        self.square = _style(W.Checkbox(value=True, description="H = W", indent=False,
                                        layout=W.Layout(width="70px")),
                             f"cw-{name}-square")
        self.row = _style(W.HBox([self.h, self.w, self.square]), f"cw-{name}-row")

    @property
    def widgets(self) -> tuple[W.Widget, ...]:
        return (self.h, self.w, self.square)

    @property
    def value(self) -> tuple[int, int]:
        return (self.h.value, self.w.value)

    def set_max(self, hi_h: int, hi_w: int | None = None) -> None:
        self.h.max = hi_h
        self.w.max = hi_h if hi_w is None else hi_w

    def set_value(self, value: tuple[int, int]) -> None:
        """Scripted value: widen the sliders if needed, untick 'H = W' if the dims differ."""
        h, w = value
        for slider, v in ((self.h, h), (self.w, w)):
            if v > slider.max:
                slider.max = v
            if v < slider.min:
                slider.min = v
        self.square.value = h == w
        self.w.disabled = self.square.value
        self.h.value = h
        self.w.value = w

    def follow(self) -> None:
        """Keep width equal to height while linked."""
        self.w.disabled = self.square.value
        if self.square.value:
            if self.w.max < self.h.value:
                self.w.max = self.h.value
            self.w.value = self.h.value


def _ipympl_active() -> bool:
    """True when the user chose ipympl (``%matplotlib widget``); the backend is not resolved."""
    import matplotlib

    backend = str(dict.__getitem__(matplotlib.rcParams, "backend")).lower()
    return "ipympl" in backend or backend == "widget"


def _ipympl_canvas() -> tuple[W.DOMWidget, Any]:
    """A Figure on ipympl's live canvas widget, made without pyplot (no global figure).

    Importing ipympl switches Matplotlib's backend (and pyplot's, closing its figures), so
    ConvExplorer only uses ipympl once the user has chosen it (``%matplotlib widget``).
    """
    import sys

    if "ipympl" not in sys.modules and not _ipympl_active():
        raise ValueError(
            "ConvExplorer(live=True) draws on ipympl's canvas: run `%matplotlib widget` first "
            "(after `pip install ipympl`), or use live=False for the PNG picture"
        )
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    except ImportError as err:
        raise ImportError(
            "ConvExplorer(live=True) draws on ipympl's canvas; install it with "
            "`pip install ipympl`, or use live=False for the PNG picture"
        ) from err
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, 4.0), dpi=100.0, facecolor="white")
    canvas = Canvas(figure)
    with warnings.catch_warnings():
        # ipympl's own Toolbar(canvas) call trips a traitlets deprecation: not the user's concern
        warnings.simplefilter("ignore", DeprecationWarning)
        FigureManager(canvas, 0)  # the toolbar and the messages ipympl's frontend expects
    canvas.header_visible = False
    canvas.add_class("cw-picture-live")
    return canvas, figure


def _fmt(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.4g}"


def _times(values: tuple[int, ...] | None) -> str:
    return "—" if values is None else " × ".join(str(v) for v in values)


class ConvExplorer(W.VBox):
    """Sliders that drive the calculator, the sliding-window animation and the real PyTorch layer.

    Parameters are PyTorch's names (ints or per-dimension ``(height, width)``
    pairs): ``kind`` (``"conv"``, ``"conv_transpose"``, ``"max_pool"``,
    ``"avg_pool"``), ``input_size``, ``kernel_size``, ``stride`` (pool default:
    the kernel size), ``padding`` (a number, a pair, ``'same'`` or ``'valid'``),
    ``dilation``, ``output_padding``, ``ceil_mode``, ``count_include_pad``,
    ``in_channels``, ``out_channels``, ``groups``.

    Display it as a cell's value. Scripted use: :attr:`settings`,
    :meth:`set`, :attr:`output_size`.

    >>> e = ConvExplorer(kind="max_pool", input_size=5, kernel_size=2, ceil_mode=True)
    >>> e.output_size, e.settings["stride"]
    ((3, 3), (2, 2))
    >>> "✓" in e.torch_panel.value
    True
    """

    #: How many rendered frames (PNG bytes) to keep, so revisited settings and steps are instant.
    frame_cache_size = 256
    #: Render the moved slider's next notch (and the next step) while the kernel is idle.
    prefetch = True
    #: Seconds of quiet after a change before prefetching starts (a drag keeps it from starting).
    prefetch_delay = 0.05

    def __init__(self, *, live: bool | None = None, **settings: Any) -> None:
        from .drawing import WindowFigure  # matplotlib: imported with the widget, never by the core

        if live is None:
            live = _ipympl_active()
        self.live = bool(live)
        self._quiet = 0
        self._explanation: Explanation | None = None
        self._geometry: Geometry | None = None
        self._torch: TorchResult | None = None
        self._output_size: tuple[int, ...] | None = None
        self._error_text: str | None = None
        self.live_canvas: W.DOMWidget | None = None
        if self.live:
            self.live_canvas, figure = _ipympl_canvas()
            self._figure = WindowFigure(figure=figure)
        else:
            self._figure = WindowFigure()
        self._frames: OrderedDict[Any, bytes] = OrderedDict()
        self._wanted: tuple[Geometry, int] | str | None = None
        self._prefetch_queue: list[tuple[Geometry, int]] = []
        self._prefetch_handle: asyncio.TimerHandle | None = None
        self.prefetched = 0  # frames rendered ahead of time (for tests and benchmarks)
        self._build_controls()
        self._build_panels()
        super().__init__(
            [
                _style(W.HTML("<b>ConvExplorer</b> — move a slider: the formula, the sliding "
                              "window and PyTorch's own answer follow."), "cw-title"),
                self.controls,
                _style(W.HBox([self.animation_panel, self.calculator_panel],
                              layout=W.Layout(flex_flow="row wrap", align_items="flex-start")),
                       "cw-panels"),
                self.torch_panel,
                self.export_row,
                self.error_box,
            ]
        )
        self.add_class("cw-explorer")
        self._connect()
        with self._quietly():
            self._update_visibility()
            self._apply_bounds()
        self._apply(self._normalise({**DEFAULTS, **settings}, initial=True))

    # ------------------------------------------------------------------ building
    def _build_controls(self) -> None:
        desc = {"description_width": "88px"}
        self.kind = _style(W.Dropdown(options=KIND_LABELS, value="conv", description="layer",
                                      style=desc, layout=W.Layout(width="440px")), "cw-kind")
        self.input = _PairControl("input", "input", 1, 64, 8)
        self.kernel = _PairControl("kernel", "kernel", 1, 11, 3)
        self.stride = _PairControl("stride", "stride", 1, 6, 1)
        self.padding_mode = _style(W.Dropdown(options=("number", "same", "valid"), value="number",
                                              description="padding is", style=desc,
                                              layout=W.Layout(width="220px")), "cw-padding-mode")
        self.padding = _PairControl("padding", "padding", 0, 10, 0)
        self.dilation = _PairControl("dilation", "dilation", 1, 5, 1)
        self.output_padding = _PairControl("output-padding", "out pad", 0, 0, 0)
        self.ceil_mode = _style(W.Checkbox(value=False, description="ceil_mode", indent=False),
                                "cw-ceil-mode")
        self.count_include_pad = _style(W.Checkbox(value=True, description="count_include_pad",
                                                   indent=False), "cw-count-include-pad")
        small = {"description_width": "90px"}
        self.in_channels = _style(W.BoundedIntText(value=1, min=1, max=4096, description="in_channels",
                                                   style=small, layout=W.Layout(width="170px")), "cw-in-channels")
        self.out_channels = _style(W.BoundedIntText(value=1, min=1, max=4096, description="out_channels",
                                                    style=small, layout=W.Layout(width="170px")), "cw-out-channels")
        self.groups = _style(W.BoundedIntText(value=1, min=1, max=4096, description="groups",
                                              style=small, layout=W.Layout(width="170px")), "cw-groups")
        self.pairs = (self.input, self.kernel, self.stride, self.padding, self.dilation,
                      self.output_padding)
        self.flags_row = _style(W.HBox([self.ceil_mode, self.count_include_pad]), "cw-flags")
        self.channels_row = _style(W.HBox([self.in_channels, self.out_channels, self.groups]),
                                   "cw-channels")
        self.controls = _style(W.VBox(
            [self.kind, self.input.row, self.kernel.row, self.stride.row, self.padding_mode,
             self.padding.row, self.dilation.row, self.output_padding.row, self.flags_row,
             self.channels_row]), "cw-controls")

    def _build_panels(self) -> None:
        self.output_label = _style(W.HTML(), "cw-output-size")
        self.formula = _style(W.HTMLMath(), "cw-formula")
        self.formula_text = _style(W.HTML(), "cw-formula-text")
        self.params = _style(W.HTML(), "cw-params")
        self.receptive = _style(W.HTML(), "cw-receptive-field")
        self.calculator_panel = _style(W.VBox(
            [_style(W.HTML("<b>Calculator</b>"), "cw-calculator-title"), self.output_label, self.formula, self.formula_text,
             self.params, self.receptive], layout=W.Layout(min_width="320px", max_width="560px",
                                                            padding="0 0 0 12px")), "cw-calculator")

        self.picture = _style(W.Image(format="png", layout=W.Layout(max_width="560px")), "cw-picture")
        self.picture_error = _style(W.HTML(layout=W.Layout(display="none", max_width="520px")),
                                    "cw-picture-error")
        self.play = _style(W.Play(value=0, min=0, max=0, interval=400, description="play",
                                  show_repeat=True), "cw-play")
        self.step = _style(W.IntSlider(value=0, min=0, max=0, description="output cell",
                                       style={"description_width": "80px"},
                                       layout=W.Layout(width="340px")), "cw-step")
        # Linked in the browser, so Play walks the slider without a kernel round trip per frame.
        self.play_link = W.jslink((self.play, "value"), (self.step, "value"))
        self.row = _style(W.IntSlider(value=0, min=0, max=0, description="row",
                                      style={"description_width": "30px"},
                                      layout=W.Layout(width="200px")), "cw-row")
        self.col = _style(W.IntSlider(value=0, min=0, max=0, description="col",
                                      style={"description_width": "30px"},
                                      layout=W.Layout(width="200px")), "cw-col")
        self.step_label = _style(W.HTML(), "cw-step-label")
        if self.live_canvas is not None:
            self.picture.layout.display = "none"  # the live canvas shows the figure instead
        live = [self.live_canvas] if self.live_canvas is not None else []
        self.animation_panel = _style(W.VBox(
            [*live, self.picture, self.picture_error, _style(W.HBox([self.play, self.step]), "cw-player"),
             _style(W.HBox([self.row, self.col]), "cw-cell"), self.step_label]), "cw-animation")

        self.torch_panel = _style(W.HTML(), "cw-torch-panel")

        self.export_gif = _style(W.Button(description="Export GIF", icon="film",
                                          tooltip="render the animation to a GIF file"), "cw-export-gif")
        self.export_html = _style(W.Button(description="Export HTML player", icon="code",
                                           tooltip="write a self-contained HTML/JS player"),
                                  "cw-export-html")
        self.export_progress = _style(W.IntProgress(value=0, min=0, max=1, description="frames",
                                                    layout=W.Layout(display="none")), "cw-export-progress")
        self.export_link = _style(W.HTML(), "cw-export-link")
        self.export_row = _style(W.HBox([self.export_gif, self.export_html, self.export_progress,
                                         self.export_link]), "cw-export")
        self.error_box = _style(W.HTML(layout=W.Layout(display="none")), "cw-error")

    def _setting_widgets(self) -> Iterator[W.Widget]:
        yield self.kind
        yield self.padding_mode
        for pair in self.pairs:
            yield from pair.widgets
        yield from (self.ceil_mode, self.count_include_pad, self.in_channels, self.out_channels,
                    self.groups)

    def _connect(self) -> None:
        for widget in self._setting_widgets():
            widget.observe(self._on_setting, names="value")
        self.step.observe(self._on_step, names="value")
        self.row.observe(self._on_cell, names="value")
        self.col.observe(self._on_cell, names="value")
        self.export_gif.on_click(self._on_export_gif)
        self.export_html.on_click(self._on_export_html)

    # ------------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Changes made inside do not trigger updates (the caller refreshes once)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """No exception escapes a callback: it is shown as text and the widget stays usable."""
        try:
            yield
        except Exception as err:  # noqa: BLE001 - a UI callback must never raise into the frontend
            where = traceback.extract_tb(err.__traceback__)[-1]
            self._error_text = f"{type(err).__name__}: {err}"
            self.error_box.value = (
                f"<span style='color:{BAD_COLOUR}'>✗ Internal error (please report it): "
                f"{html.escape(self._error_text)} (at {html.escape(os.path.basename(where.filename))}:"
                f"{where.lineno})</span>")
            self.error_box.layout.display = ""

    def _clear_error(self) -> None:
        if self._error_text is not None:
            self._error_text = None
            self.error_box.value = ""
            self.error_box.layout.display = "none"

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """Batch the state messages of every widget (one message each on exit)."""
        with contextlib.ExitStack() as stack:
            for widget in (*self._setting_widgets(), self.step, self.row, self.col, self.play,
                           self.picture, self.picture_error, self.output_label, self.formula,
                           self.formula_text, self.params, self.receptive, self.torch_panel,
                           self.step_label):
                stack.enter_context(widget.hold_sync())
            yield

    # ------------------------------------------------------------------ settings
    @property
    def settings(self) -> dict[str, Any]:
        """The current settings in PyTorch's names; ``ConvExplorer(**settings)`` rebuilds them.

        Settings the current kind lacks take their neutral value (e.g. ``dilation=(1, 1)``
        for an average pool, ``output_padding=(0, 0)`` unless transposed).
        """
        spec = self._spec()
        return {
            "kind": spec.kind,
            "input_size": self.input.value,
            "kernel_size": spec.kernel_size,
            "stride": spec.stride,
            "padding": spec.padding,
            "dilation": spec.dilation,
            "output_padding": spec.output_padding,
            "ceil_mode": spec.ceil_mode,
            "count_include_pad": spec.count_include_pad,
            "in_channels": spec.in_channels,
            "out_channels": spec.out_channels,
            "groups": spec.groups,
        }

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        except Exception:  # noqa: BLE001 - repr must work even half-built
            return f"<{type(self).__name__}>"
        return f"{type(self).__name__}({args}) -> output_size={self.output_size!r}"

    @property
    def output_size(self) -> tuple[int, ...] | None:
        """The current output (height, width), or None for a setting PyTorch refuses."""
        return self._output_size

    @property
    def explanation(self) -> Explanation | None:
        """The core's :class:`~convwidget.Explanation` for the current setting."""
        return self._explanation

    @property
    def torch_result(self) -> TorchResult | None:
        """What the real PyTorch layer answered for the current setting."""
        return self._torch

    @property
    def figure(self) -> Any:
        """The :class:`convwidget.drawing.WindowFigure` behind the picture (showing what it shows)."""
        self._sync_figure()
        return self._figure

    def _spec(self) -> LayerSpec:
        kind = self.kind.value
        mode = self.padding_mode.value
        padding: Any = self.padding.value if kind != "conv" or mode == "number" else mode
        return LayerSpec(
            kind=kind,
            kernel_size=self.kernel.value,
            stride=self.stride.value,
            padding=padding,
            dilation=(1, 1) if kind == "avg_pool" else self.dilation.value,
            output_padding=self.output_padding.value if kind == "conv_transpose" else (0, 0),
            ceil_mode=self.ceil_mode.value if kind in ("max_pool", "avg_pool") else False,
            count_include_pad=self.count_include_pad.value if kind == "avg_pool" else True,
            in_channels=self.in_channels.value,
            out_channels=(self.out_channels.value if kind in ("conv", "conv_transpose")
                          else self.in_channels.value),
            groups=self.groups.value if kind in ("conv", "conv_transpose") else 1,
        )

    def _normalise(self, changes: dict[str, Any], initial: bool = False) -> dict[str, Any]:
        unknown = set(changes) - set(SETTING_NAMES)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(sorted(unknown))}; ConvExplorer takes "
                f"{', '.join(SETTING_NAMES)}")
        out: dict[str, Any] = {}
        kind = changes.get("kind", self.kind.value)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
        out["kind"] = kind
        for name in ("input_size", "kernel_size", "stride", "dilation", "output_padding"):
            if changes.get(name) is not None:
                out[name] = _pair(name, changes[name])
                least = 0 if name == "output_padding" else 1
                if min(out[name]) < least:
                    raise ValueError(f"{name} must be at least {least} in each dimension, not "
                                     f"{changes[name]!r}")
        if initial and changes.get("stride") is None:
            # PyTorch's default: 1 for convolutions, the kernel size for pooling
            out["stride"] = out["kernel_size"] if kind in ("max_pool", "avg_pool") else (1, 1)
        if "padding" in changes:
            p = changes["padding"]
            if isinstance(p, str):
                if p not in ("same", "valid"):
                    raise ValueError(f"padding must be a number, a pair, 'same' or 'valid', not {p!r}")
                if kind != "conv":
                    raise ValueError(f"padding={p!r} is only for convolutions (kind='conv'); "
                                     "use a number")
                out["padding"] = p
            else:
                out["padding"] = _pair("padding", p)
                if min(out["padding"]) < 0:
                    raise ValueError(f"padding must be at least 0 in each dimension, not {p!r}")
        for name in ("ceil_mode", "count_include_pad"):
            if name in changes:
                out[name] = bool(changes[name])
        for name in ("in_channels", "out_channels", "groups"):
            if name in changes:
                value = changes[name]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{name} must be a positive int, not {value!r}")
                out[name] = value
        return out

    @classmethod
    def from_layer(cls, layer: Any, input_size: Any) -> "ConvExplorer":
        """A ConvExplorer showing a ``torch.nn`` Conv2d / ConvTranspose2d / MaxPool2d /
        AvgPool2d layer on an input of ``input_size`` ((H, W), or a full NCHW / CHW shape).

        >>> from torch import nn
        >>> ConvExplorer.from_layer(nn.MaxPool2d(2), (1, 3, 8, 8)).output_size
        (4, 4)
        """
        from .torchlayers import settings_from_layer

        size = tuple(input_size)
        if len(size) not in (2, 3, 4):
            raise ValueError(f"input_size={input_size!r}: give (H, W), (C, H, W) or (N, C, H, W)")
        settings = settings_from_layer(layer)
        if len(size) > 2 and settings["kind"] in ("max_pool", "avg_pool"):
            settings["in_channels"] = size[-3]
        return cls(input_size=size[-2:], **settings)

    def set(self, **changes: Any) -> "ConvExplorer":
        """Move the controls to ``changes`` (PyTorch's names) and update every panel once.

        Returns when every panel shows the new setting (the explorer itself, for chaining).
        A scripted value outside a slider's range widens the slider, so a setting PyTorch
        refuses can be shown and explained.

        >>> ConvExplorer(input_size=7).set(kernel_size=3, stride=2).output_size
        (3, 3)
        """
        self._apply(self._normalise(changes))
        return self

    def _apply(self, s: dict[str, Any]) -> None:
        self._cancel_prefetch()
        with self._held(), self._quietly():
            self.kind.value = s["kind"]
            self._update_visibility()
            if "padding" in s:
                if isinstance(s["padding"], str):
                    self.padding_mode.value = s["padding"]
                else:
                    self.padding_mode.value = "number"
            controls = {"input_size": self.input, "kernel_size": self.kernel, "stride": self.stride,
                        "dilation": self.dilation}
            for name, pair in controls.items():
                if name in s:
                    pair.set_value(s[name])
            # set() moves only the controls it names: bounds must not clamp the others
            # (a refused combination is then shown and explained, as for any scripted value)
            padding = s["padding"] if "padding" in s else self.padding.value
            output_padding = s.get("output_padding", self.output_padding.value)
            self._apply_bounds()
            if not isinstance(padding, str):
                self.padding.set_value(padding)
            self.output_padding.set_value(output_padding)
            for name in ("ceil_mode", "count_include_pad", "in_channels", "out_channels", "groups"):
                if name in s:
                    widget = getattr(self, name)
                    if isinstance(widget, W.BoundedIntText) and s[name] > widget.max:
                        widget.max = s[name]
                    widget.value = s[name]
            self._update_visibility()
            self._refresh()

    # ------------------------------------------------------------------ reactions
    def _on_setting(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._cancel_prefetch()
        with self._guard(), self._held(), self._quietly():
            for pair in self.pairs:
                pair.follow()
            self._update_visibility()
            self._apply_bounds()
            self._refresh()
        with self._guard():
            self._schedule_prefetch(change)

    def _update_visibility(self) -> None:
        kind = self.kind.value
        conv_like = kind in ("conv", "conv_transpose")
        pool = not conv_like

        def show(widget: W.Widget, visible: bool) -> None:
            widget.layout.display = "" if visible else "none"

        show(self.padding_mode, kind == "conv")
        show(self.output_padding.row, kind == "conv_transpose")
        show(self.dilation.row, kind != "avg_pool")
        show(self.ceil_mode, pool)
        show(self.count_include_pad, kind == "avg_pool")
        show(self.out_channels, conv_like)
        show(self.groups, conv_like)
        if kind != "conv" and self.padding_mode.value != "number":
            self.padding_mode.value = "number"
        numeric = kind != "conv" or self.padding_mode.value == "number"
        self.padding.h.disabled = not numeric
        self.padding.square.disabled = not numeric
        self.padding.w.disabled = not numeric or self.padding.square.value

    def _apply_bounds(self) -> None:
        """Slider ranges that keep a learner away from settings PyTorch refuses, where that helps."""
        kind = self.kind.value
        kh, kw = self.kernel.value
        if kind in ("max_pool", "avg_pool"):
            # PyTorch: pad should be at most half of the kernel (Pool.h) and of the effective kernel
            self.padding.set_max(kh // 2, kw // 2)
        else:
            self.padding.set_max(max(10, self.padding.h.value), max(10, self.padding.w.value))
        (sh, sw), (dh, dw) = self.stride.value, self.dilation.value
        self.output_padding.set_max(max(sh, dh) - 1, max(sw, dw) - 1)
        numeric = kind != "conv" or self.padding_mode.value == "number"
        self.padding.w.disabled = not numeric or self.padding.square.value

    def _on_step(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._cancel_prefetch()
        with self._guard(), self._quietly():
            self._show_step()
        with self._guard():
            self._schedule_prefetch(change)

    def _on_cell(self, change: dict[str, Any]) -> None:
        if self._quiet or self._geometry is None:
            return
        with self._guard(), self._quietly():
            self.step.value = self._geometry.step_of((self.row.value, self.col.value))
            self._show_step()

    # ------------------------------------------------------------------ prefetch
    def _neighbours(self, change: dict[str, Any]) -> list[tuple[Geometry, int]]:
        """Frames a learner is likely to ask for next: the moved slider one notch on
        (the same way first), or the next animation step."""
        owner = change["owner"]
        geometry = self._geometry
        if owner is self.step:
            if geometry is None:
                return []
            return [(geometry, (self.step.value + 1) % geometry.n_steps)]
        pair = next((p for p in self.pairs if owner in (p.h, p.w)), None)
        if pair is None or owner.disabled or self.padding_mode.value != "number" and pair is self.padding:
            return []
        name = {"input": "input_size", "kernel": "kernel_size", "output-padding": "output_padding"
                }.get(pair.name, pair.name)
        delta = 1 if (change["new"] or 0) >= (change["old"] or 0) else -1
        settings = self.settings
        frames = []
        for d in (delta, -delta):
            value = owner.value + d
            if not owner.min <= value <= owner.max:
                continue
            h, w = settings[name] if not isinstance(settings[name], str) else (0, 0)
            moved = (value, value) if pair.square.value else ((value, w) if owner is pair.h else (h, value))
            trial = {**settings, name: moved}
            size = trial.pop("input_size")
            try:
                spec = LayerSpec.from_settings(**trial)
            except ValueError:
                continue
            if self._channel_error(spec) is not None:
                continue
            g, _ = self._geometry_for(spec, size)
            if g is not None:
                frames.append((g, min(self.step.value, g.n_steps - 1)))
        return frames

    def _schedule_prefetch(self, change: dict[str, Any]) -> None:
        """While the kernel is idle, render the likely next frames into the frame cache.

        Only inside a running event loop (a Jupyter kernel); one frame per loop turn, so a
        message from the browser waits for at most one frame. Off with ``prefetch = False``.
        """
        if not self.prefetch or self.live:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # plain Python, tests: nothing runs in the background
        queue = [key for key in self._neighbours(change) if key not in self._frames]
        if queue:
            self._prefetch_queue = queue
            self._prefetch_handle = loop.call_later(self.prefetch_delay, self._prefetch_one)

    def _prefetch_one(self) -> None:
        self._prefetch_handle = None
        if not self._prefetch_queue:
            return
        geometry, step = self._prefetch_queue.pop(0)
        with self._guard():
            if (geometry, step) not in self._frames:
                fig = self._figure
                if fig.error is not None or fig.geometry != geometry:
                    fig.set_geometry(geometry, step=step)
                else:
                    fig.show_step(step)
                self._remember((geometry, step), fig.to_png())
                self.prefetched += 1
                # the figure now differs from the picture; _sync_figure puts it back when needed
        if self._prefetch_queue:
            self._prefetch_handle = asyncio.get_running_loop().call_later(0.005, self._prefetch_one)

    def _cancel_prefetch(self) -> None:
        self._prefetch_queue = []
        if self._prefetch_handle is not None:
            self._prefetch_handle.cancel()
            self._prefetch_handle = None

    # ------------------------------------------------------------------ the update
    def _refresh(self) -> None:
        """Recompute every panel from the controls (one pass; called once per change)."""
        self._clear_error()
        spec = self._spec()
        size = self.input.value
        with self._guard():
            self._update_calculator(spec, size)
        with self._guard():
            self._update_torch(spec, size)
        with self._guard():
            self._update_picture(spec, size)

    def _channel_error(self, spec: LayerSpec) -> str | None:
        if spec.kind not in ("conv", "conv_transpose"):
            return None
        for name in ("in_channels", "out_channels"):
            n = getattr(spec, name)
            if n % spec.groups:
                fits = [g for g in range(1, min(spec.in_channels, spec.out_channels) + 1)
                        if spec.in_channels % g == 0 and spec.out_channels % g == 0]
                return (f"{name}={n} is not divisible by groups={spec.groups}: each group needs "
                        f"the same number of channels; use groups in {fits}")
        return None

    def _update_calculator(self, spec: LayerSpec, size: tuple[int, int]) -> None:
        kwargs: dict[str, Any] = {"kind": spec.kind}
        if spec.kind == "conv_transpose":
            kwargs["output_padding"] = spec.output_padding
        if spec.kind in ("max_pool", "avg_pool"):
            kwargs["ceil_mode"] = spec.ceil_mode
        expl = explain(size, spec.kernel_size, spec.stride, spec.padding, spec.dilation, **kwargs)
        self._explanation = expl
        channel_error = self._channel_error(spec)
        self._output_size = None if channel_error else expl.output_size
        names = ("height", "width")
        if expl.output_size is not None and channel_error is None:
            self.output_label.value = (f"<b style='font-size:1.2em'>Output: "
                                       f"{_times(expl.output_size)}</b> (height × width)")
        else:
            self.output_label.value = ("<b style='font-size:1.2em'>Output: refused</b> "
                                       "— PyTorch refuses this setting")
        math_lines, text_lines = [], []
        for name, dim in zip(names, expl.dims):
            math_lines.append(f"<div>{name}: \\({dim.latex}\\)</div>")
            text_lines.append(f"<div>{name}: {html.escape(dim.text)}</div>")
        problem = expl.error or channel_error
        if problem:
            sentence = (f"<div style='color:{BAD_COLOUR}'>✗ {html.escape(problem)}</div>")
            math_lines.append(sentence)
        self.formula.value = "".join(math_lines)
        self.formula_text.value = "".join(text_lines)
        self.params.value = self._params_html(spec)
        self.receptive.value = self._receptive_html(spec)

    def _params_html(self, spec: LayerSpec) -> str:
        if spec.kind in ("max_pool", "avg_pool"):
            return "Parameters: 0 (pooling learns nothing)"
        kh, kw = spec.kernel_size
        g = spec.groups
        if spec.kind == "conv":
            a, b = spec.out_channels, spec.in_channels
            names = "out_channels · in_channels/groups · kH · kW"
        else:
            a, b = spec.in_channels, spec.out_channels
            names = "in_channels · out_channels/groups · kH · kW"
        weights = a * (b // g) * kh * kw
        total = weights + spec.out_channels
        return (f"Parameters: <b>{total}</b> = {a}·{b // g}·{kh}·{kw} weights + "
                f"{spec.out_channels} bias <span style='color:#555'>({names} + out_channels)</span>")

    def _receptive_html(self, spec: LayerSpec) -> str:
        eff = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel_size, spec.dilation))
        if spec.kind == "conv_transpose":
            # Count the real input cells a window meets on the stretched grid: taps at j·d,
            # input cells every s; the pattern repeats with period s.
            cells = tuple(
                max(sum(1 for j in range(k) if (o + j * d) % s == 0) for o in range(s))
                for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation))
            return (f"Receptive field: a window spans {_times(eff)} cells of the stretched input "
                    f"and meets at most {_times(cells)} real input cells")
        holes = "" if spec.dilation == (1, 1) else f", {_times(spec.kernel_size)} taps with dilation holes"
        return f"Receptive field: {_times(eff)} input cells per output cell{holes}"

    def _update_torch(self, spec: LayerSpec, size: tuple[int, int]) -> None:
        result = run_layer(spec, size, max_cells=MAX_VALUE_CELLS)
        self._torch = result
        self.torch_panel.value = self._torch_html(result)

    def _torch_html(self, result: TorchResult, highlight: tuple[int, ...] | None = None) -> str:
        code = html.escape(result.code)
        ours = self._output_size
        head = (f"<b>Real PyTorch</b> &nbsp;<code>{code}</code><br>"
                f"<span style='color:#555'>input: cell indices 0…{math.prod(result.input_shape[2:]) - 1}"
                f"{self._value_meaning(result.spec)}</span><br>")
        if result.ok:
            shape = ", ".join(map(str, result.output_shape or ()))
            in_shape = ", ".join(map(str, result.input_shape))
            if ours is not None and tuple(result.spatial or ()) == tuple(ours):
                verdict = (f"<span style='color:{OK_COLOUR}'>✓ agrees with the calculator "
                           f"({_times(ours)})</span>")
            else:
                verdict = (f"<span style='color:{BAD_COLOUR}'>✗ disagrees: PyTorch says "
                           f"{_times(result.spatial)}, the calculator says "
                           f"{'refused' if ours is None else _times(ours)}</span>")
            body = (f"torch.Size([{in_shape}]) → <b>torch.Size([{shape}])</b> {verdict}")
            if result.parameter_count is not None and result.spec.kind in ("conv", "conv_transpose"):
                body += f"<br>parameters: {result.parameter_count} (sum of p.numel())"
            if not result.computed:
                body += (f"<br><span style='color:#555'>not computed here ({result.macs:,} "
                         "multiply-adds, too slow for a slider): the shape is the same layer's on "
                         "the meta device, the spatial checks a one-channel twin's on the CPU</span>")
            if result.values is not None:
                body += self._values_table(result.values, highlight)
            return head + body
        problem = (self._explanation.error if self._explanation is not None else None) \
            or self._channel_error(result.spec)
        if ours is None:
            verdict = f"<span style='color:{OK_COLOUR}'>✓ both refuse</span>"
        else:
            verdict = (f"<span style='color:{BAD_COLOUR}'>✗ disagrees: PyTorch refuses, the "
                       f"calculator says {_times(ours)}</span>")
        return head + (
            f"<div style='display:flex;gap:16px;flex-wrap:wrap'>"
            f"<div style='flex:1;min-width:240px'><b>PyTorch refuses</b> ({html.escape(result.error_type or '')}):"
            f"<br><code style='white-space:pre-wrap'>{html.escape(result.error or '')}</code></div>"
            f"<div style='flex:1;min-width:240px'><b>convwidget explains</b>:<br>"
            f"{html.escape(problem or '(no explanation)')}</div></div>{verdict}")

    @staticmethod
    def _value_meaning(spec: LayerSpec) -> str:
        """What each output value is, for the index input (so a learner can check one by hand)."""
        if spec.kind in ("conv", "conv_transpose"):
            per_group = spec.in_channels // max(spec.groups, 1)
            times = "" if per_group == 1 else f", times {per_group} input channels per group"
            return f", weight = 1, bias = 0: each value is the sum of the indices in the window{times}"
        if spec.kind == "max_pool":
            return ", each value is the largest index in the window (padding never wins)"
        if spec.count_include_pad:
            return ", each value is the window's sum divided by its size, padding counted as 0s"
        return ", each value is the mean of the input cells in the window (padding not counted)"

    @staticmethod
    def _values_table(values: list[list[float]], highlight: tuple[int, ...] | None) -> str:
        rows = []
        for r, row in enumerate(values):
            cells = []
            for c, v in enumerate(row):
                lit = highlight is not None and (r, c) == tuple(highlight)
                style = (f"background:{NOTE_COLOUR};color:white;font-weight:bold" if lit else "")
                cells.append(f"<td style='padding:1px 5px;text-align:right;{style}'>{_fmt(v)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return ("<div style='margin-top:4px'>output values (channel 0):"
                "<table style='border-collapse:collapse;font-family:monospace;font-size:0.9em'>"
                + "".join(rows) + "</table></div>")

    @staticmethod
    def _geometry_for(spec: LayerSpec, size: tuple[int, int]) -> tuple[Geometry | None, str | None]:
        """The window geometry of a setting, or None and the core's sentence if it is refused."""
        try:
            return layer_geometry(
                spec.kind, size, spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                output_padding=spec.output_padding if spec.kind == "conv_transpose" else 0,
                ceil_mode=spec.ceil_mode if spec.kind in ("max_pool", "avg_pool") else False,
            ), None
        except ShapeError as err:
            return None, str(err)

    def _update_picture(self, spec: LayerSpec, size: tuple[int, int]) -> None:
        problem = (self._explanation.error if self._explanation else None) or self._channel_error(spec)
        geometry = None
        if problem is None:
            geometry, problem = self._geometry_for(spec, size)
        self._geometry = geometry
        if geometry is None:
            problem = problem or "PyTorch refuses this setting"
            self._wanted = problem
            if self.live:
                self._sync_figure()
            else:
                png = self._frames.get(problem)
                if png is None:
                    self._sync_figure()
                    png = self._remember(problem, self._figure.to_png())
                self.picture.value = png
            self.picture_error.value = (
                f"<div style='border:2px dashed {BAD_COLOUR};padding:6px'>"
                f"<b>Nothing to draw: PyTorch refuses this setting.</b> {html.escape(problem)}</div>")
            self.picture_error.layout.display = ""
            for w in (self.step, self.row, self.col, self.play):
                w.disabled = True
            self.step_label.value = ""
            return
        self.picture_error.layout.display = "none"
        oh, ow = geometry.output_size
        self.step.max = geometry.n_steps - 1
        self.play.max = geometry.n_steps - 1
        self.row.max = oh - 1
        self.col.max = ow - 1
        for w in (self.step, self.row, self.col, self.play):
            w.disabled = False
        self._show_step()

    def _frame(self, geometry: Geometry, step: int) -> bytes:
        """PNG of ``step`` of ``geometry``; recently seen frames come from a small cache.

        On a cache hit the figure is not touched; :meth:`_sync_figure` brings it up to
        date when someone looks at it (:attr:`figure`) or the next frame is drawn.
        """
        self._wanted = (geometry, step)
        key = (geometry, step)
        png = self._frames.get(key)
        if png is not None:
            self._frames.move_to_end(key)
            return png
        self._sync_figure()
        return self._remember(key, self._figure.to_png())

    def _sync_figure(self) -> None:
        """Make the figure show what the picture shows."""
        fig = self._figure
        wanted = self._wanted
        if isinstance(wanted, str):
            if fig.error != wanted:
                fig.show_error(wanted)
        elif wanted is not None:
            geometry, step = wanted
            if fig.error is not None or fig.geometry != geometry:
                fig.set_geometry(geometry, step=step)
            elif fig.step != step:
                fig.show_step(step)

    def _remember(self, key: Any, png: bytes) -> bytes:
        self._frames[key] = png
        if len(self._frames) > self.frame_cache_size:
            self._frames.popitem(last=False)
        return png

    def _show_step(self) -> None:
        geometry = self._geometry
        if geometry is None:
            return
        step = min(self.step.value, geometry.n_steps - 1)
        r, c = geometry.out_cell(step)
        self.row.value, self.col.value = r, c
        if self.live:
            self._wanted = (geometry, step)
            self._sync_figure()  # the ipympl canvas redraws itself (draw_idle)
        else:
            self.picture.value = self._frame(geometry, step)
        window = geometry.window(step)
        if window.inputs:
            rows = [i[0] for i in window.inputs]
            cols = [i[1] for i in window.inputs]
            reads = (f"reads {len(window.inputs)} input cells, rows {min(rows)}–{max(rows)}, "
                     f"cols {min(cols)}–{max(cols)}")
        else:
            reads = "reads only padding/zeros"
        value = ""
        t = self._torch
        if t is not None and t.values is not None:
            value = f"; PyTorch's value there: <b>{_fmt(t.values[r][c])}</b>"
            self.torch_panel.value = self._torch_html(t, (r, c))
        self.step_label.value = f"output cell ({r}, {c}) {reads}{value}"

    # ------------------------------------------------------------------ export
    def _export_name(self, ext: str) -> str:
        s = self.settings
        pad = s["padding"] if isinstance(s["padding"], str) else "x".join(map(str, s["padding"]))
        stem = (f"convwidget_{s['kind']}_{'x'.join(map(str, s['input_size']))}"
                f"_k{'x'.join(map(str, s['kernel_size']))}_s{'x'.join(map(str, s['stride']))}"
                f"_p{pad}_d{'x'.join(map(str, s['dilation']))}")
        return re.sub(r"[^A-Za-z0-9_.-]", "", stem) + "." + ext

    def _export(self, ext: str, write: Callable[..., Any]) -> None:
        if self._geometry is None:
            self.export_link.value = "Nothing to export: PyTorch refuses this setting."
            return
        path = os.path.abspath(self._export_name(ext))
        bar = self.export_progress
        bar.value, bar.max = 0, max(self._geometry.n_steps, 1)
        bar.layout.display = ""

        def progress(done: int, total: int) -> None:
            bar.max = max(total, 1)
            bar.value = done

        try:
            result = write(self._geometry, path, progress=progress)
        finally:
            bar.layout.display = "none"
        note = ""
        if hasattr(result, "note") and result.note:
            note = f" <i>{html.escape(str(result.note))}</i>"
        size = os.path.getsize(path)
        link = f"<a href='{html.escape(os.path.basename(path))}' target='_blank'>{html.escape(os.path.basename(path))}</a>"
        if size <= 8 * 2**20:
            mime = "image/gif" if ext == "gif" else "text/html"
            with open(path, "rb") as fh:
                data = base64.b64encode(fh.read()).decode("ascii")
            link += (f" · <a download='{html.escape(os.path.basename(path))}' "
                     f"href='data:{mime};base64,{data}'>download</a>")
        self.export_link.value = f"wrote {link} ({size / 1024:.0f} KiB){note}"

    def _on_export_gif(self, _button: W.Button) -> None:
        with self._guard():
            from .export import to_gif
            self._export("gif", to_gif)

    def _on_export_html(self, _button: W.Button) -> None:
        with self._guard():
            from .export import to_html
            self._export("html", to_html)
