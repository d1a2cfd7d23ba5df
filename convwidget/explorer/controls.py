"""The controls: sliders, dropdowns and checkboxes that move an :class:`ExplorerState`.

A control change is read together with its neighbours (the 'H = W' box, the padding
mode), clamped to the ranges PyTorch accepts where that helps a learner (a pool's padding
at most half its kernel, ``output_padding`` below ``max(stride, dilation)``) and sent to the
state in one :meth:`~ExplorerState.set`: one recomputation per move. The state's changes
(from a script, a link, the browser) come back to the controls, which widen a slider to
show a scripted value rather than clamp it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W

from ..arithmetic import same_padding
from ..geometry import DimGeometry, Geometry
from ..spec import KIND_LABELS, LayerSpec
from .state import ExplorerState, axis_names, compute

__all__ = ["SPEEDS", "Controls", "PairControl", "Player", "bounds", "button", "button_width",
           "interval_ms", "kind_labels", "padding_readout"]

_DESC = {"description_width": "56px"}
#: Play speeds offered (steps a second); 2.5 is the old fixed 400 ms a step.
SPEEDS = (("1 step/s", 1.0), ("2.5 steps/s", 2.5), ("5 steps/s", 5.0), ("10 steps/s", 10.0),
          ("25 steps/s", 25.0), ("50 steps/s", 50.0))


def _style(widget: W.Widget, *classes: str) -> W.Widget:
    for cls in classes:
        widget.add_class(cls)
    return widget


def button_width(description: str, icon: str = "") -> int:
    """Pixels a button needs for its whole label (about 8 px a character at 13 px, the icon,
    the padding); ipywidgets' default 148 px cuts 'Export HTML player' to 'Export HTML …'.

    >>> button_width("Export HTML player", icon="code")
    200
    """
    return 8 * len(description) + (20 if icon else 0) + 36


def button(description: str, css: str, tooltip: str = "", icon: str = "", style: str = "") -> W.Button:
    """A Button whose label is never cut: it grows with its text, from a width that fits it."""
    return _style(W.Button(description=description, tooltip=tooltip, icon=icon, button_style=style,
                           layout=W.Layout(width="auto",
                                           min_width=f"{button_width(description, icon)}px")), css)


def interval_ms(steps_per_second: float) -> int:
    """The Play widget's interval for a speed (at least 20 ms: a browser frame or two).

    >>> interval_ms(2.5), interval_ms(50), interval_ms(1000)
    (400, 20, 20)
    """
    return max(20, round(1000 / steps_per_second))


def _dims(value: Any, ndim: int = 2) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * ndim


class PairControl:
    """Sliders for one per-dimension setting on one compact row (about 330 px: the explorer's
    left column): height, width and an 'H = W' checkbox that links them (2-D); one slider
    (1-D, the length); height, width, 'H = W' and a depth slider ``D`` (3-D)."""

    def __init__(self, name: str, label: str, lo: int, hi: int, value: int) -> None:
        self.name = name
        self.label = label
        self.ndim = 2
        self.h = _style(W.IntSlider(value=value, min=lo, max=hi, description=label,
                                    tooltip=f"{label} height (H)", style=_DESC,
                                    layout=W.Layout(width="160px"), continuous_update=True),
                        f"cw-{name}", f"cw-{name}-h")
        if name in ("input", "kernel"):
            self.h.remove_class(f"cw-{name}")
        self.w = _style(W.IntSlider(value=value, min=lo, max=hi, description="W",
                                    tooltip=f"{label} width", style={"description_width": "14px"},
                                    layout=W.Layout(width="90px"), disabled=True,
                                    continuous_update=True), f"cw-{name}-w")
        self.square = _style(W.Checkbox(value=True, description="H = W", indent=False,
                                        layout=W.Layout(width="66px")), f"cw-{name}-square")
        # 3-D only: the depth, first as in PyTorch's (D, H, W), with the setting's name
        self.d = _style(W.IntSlider(value=value, min=lo, max=hi, description=label,
                                    tooltip=f"{label} depth (D)", style=_DESC,
                                    layout=W.Layout(width="134px", display="none"),
                                    continuous_update=True), f"cw-{name}-d")
        self.row = _style(W.HBox([self.d, self.h, self.w, self.square]), f"cw-{name}-row")

    @property
    def widgets(self) -> tuple[W.Widget, ...]:
        """The 2-D widgets (height, width, 'H = W'); the depth slider ``d`` is apart."""
        return (self.h, self.w, self.square)

    @property
    def sliders(self) -> tuple[W.IntSlider, ...]:
        """The sliders of the current dimensions, in PyTorch's order ((D,) H, W; 1-D: one)."""
        return {1: (self.h,), 2: (self.h, self.w), 3: (self.d, self.h, self.w)}[self.ndim]

    def set_ndim(self, ndim: int) -> None:
        """Show the sliders of ``ndim`` dimensions: 1-D one slider (no 'H = W' box); 3-D depth,
        height and width, each free (no 'H = W' box: three sliders fill the ~330 px row)."""
        if ndim == self.ndim:
            return
        self.ndim = ndim
        _assign(self.h, "tooltip", f"{self.label} (length)" if ndim == 1 else f"{self.label} height (H)")
        _assign(self.h, "description", "H" if ndim == 3 else self.label)
        _assign(self.h.style, "description_width", "14px" if ndim == 3 else _DESC["description_width"])
        _assign(self.h.layout, "width", {1: "230px", 2: "160px", 3: "98px"}[ndim])
        _assign(self.w.layout, "width", "98px" if ndim == 3 else "90px")
        _assign(self.d.layout, "width", "134px")  # every width anew: projector mode scales them
        _assign(self.square.layout, "width", "66px")
        for widget, shown in ((self.w, ndim > 1), (self.square, ndim == 2), (self.d, ndim == 3)):
            _assign(widget.layout, "display", "" if shown else "none")

    @property
    def linked(self) -> bool:
        """Width follows height: 'H = W' is ticked (2-D only)."""
        return bool(self.square.value) and self.ndim == 2

    @property
    def value(self) -> tuple[int, ...]:
        """The setting as the controls show it ((D,) H, W); width follows height while 'H = W'."""
        h = self.h.value
        w = h if self.linked else self.w.value
        return {1: (h,), 2: (h, w), 3: (self.d.value, h, w)}[self.ndim]

    def show(self, value: tuple[int, ...], hi: tuple[int, ...]) -> None:
        """Show ``value`` with maxima ``hi`` (widened to the value: a scripted value is shown)."""
        for slider, v, top in zip(self.sliders, value, hi, strict=True):
            _assign(slider, "max", max(top, v, slider.min))
            if v < slider.min:
                slider.min = v
            _assign(slider, "value", v)
        if self.ndim > 1 and value[-2] != value[-1]:
            _assign(self.square, "value", False)
        _assign(self.w, "disabled", self.linked)


def kind_labels(ndim: int) -> tuple[tuple[str, str], ...]:
    """The layer dropdown's options, naming the ``torch.nn`` class of ``ndim`` dimensions.

    >>> kind_labels(1)[0]
    ('convolution (nn.Conv1d)', 'conv')
    """
    return tuple((label.replace("2d)", f"{ndim}d)"), kind) for label, kind in KIND_LABELS)


def _assign(widget: W.Widget, name: str, value: Any) -> None:
    """Set a trait only if it differs (a slider change costs validation even when equal)."""
    if getattr(widget, name) != value:
        setattr(widget, name, value)


def bounds(spec: LayerSpec, padding: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Slider maxima that keep a learner away from settings PyTorch refuses, where that helps
    (one per dimension of ``spec``).

    >>> bounds(LayerSpec.from_settings(kind="max_pool", kernel_size=5), (0, 0))["padding"]
    (2, 2)
    >>> bounds(LayerSpec.from_settings(ndim=1, kind="conv_transpose", stride=3), (0,))["output-padding"]
    (2,)
    """
    n = spec.ndim
    if spec.is_pool:
        # PyTorch: pad should be at most half of the kernel (Pool.h)
        pad = tuple(k // 2 for k in spec.kernel_size)
    else:
        pad = tuple(max(10, p) for p in _dims(padding, n))
    return {"input": (64,) * n, "kernel": (11,) * n, "stride": (6,) * n, "padding": pad,
            "dilation": (5,) * n,
            "output-padding": tuple(max(s, d) - 1 for s, d in zip(spec.stride, spec.dilation, strict=True))}


_SETTING_OF = {"input": "input_size", "kernel": "kernel_size", "stride": "stride",
               "padding": "padding", "dilation": "dilation", "output-padding": "output_padding"}


def padding_readout(padding: Any, kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> str:
    """What PyTorch pads on each side for ``padding='same'`` or ``'valid'`` ('' for numbers).

    >>> padding_readout("same", (3, 4), (1, 1))
    "padding 'same' = height 1 before, 1 after · width 1 before, 2 after"
    >>> padding_readout("valid", (3, 3), (1, 1))
    "padding 'valid' = 0 on every side"
    """
    if padding == "valid":
        return "padding 'valid' = 0 on every side"
    if padding != "same":
        return ""
    sides = (same_padding(k, d) for k, d in zip(kernel_size, dilation, strict=True))
    return "padding 'same' = " + " · ".join(
        f"{name} {before} before, {after} after"
        for name, (before, after) in zip(axis_names(len(kernel_size)), sides, strict=True))



class Controls:
    """Every setting control of one explorer, kept in step with its :class:`ExplorerState`."""

    def __init__(self, state: ExplorerState, on_error: Callable[[BaseException], None],
                 on_moved: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.state = state
        self._shown_kind: tuple[str, str, bool, int] | None = None
        self._labels_ndim = 2
        self._on_error = on_error
        self._on_moved = on_moved
        self._quiet = 0
        self.kind = _style(W.Dropdown(options=KIND_LABELS, value="conv", description="layer",
                                      style=_DESC, layout=W.Layout(width="316px")), "cw-kind")
        self.input = PairControl("input", "input", 1, 64, 8)
        self.kernel = PairControl("kernel", "kernel", 1, 11, 3)
        self.stride = PairControl("stride", "stride", 1, 6, 1)
        self.padding_mode = _style(W.Dropdown(options=("number", "same", "valid"), value="number",
                                              description="padding is",
                                              style={"description_width": "72px"},
                                              layout=W.Layout(width="200px")), "cw-padding-mode")
        self.padding = PairControl("padding", "padding", 0, 10, 0)
        # 'same'/'valid': what PyTorch really pads on each side, in place of the sliders
        self.padding_readout = _style(W.HTML(layout=W.Layout(display="none", width="316px")),
                                      "cw-padding-readout")
        self.padding.row.children = (*self.padding.row.children, self.padding_readout)
        self.dilation = PairControl("dilation", "dilation", 1, 5, 1)
        self.output_padding = PairControl("output-padding", "out pad", 0, 0, 0)
        self.ceil_mode = _style(W.Checkbox(value=False, description="ceil_mode", indent=False),
                                "cw-ceil-mode")
        self.count_include_pad = _style(W.Checkbox(value=True, description="count_include_pad",
                                                   indent=False), "cw-count-include-pad")
        self.in_channels, self.out_channels, self.groups = (
            _style(W.BoundedIntText(value=1, min=1, max=4096, description=name,
                                    style={"description_width": "initial"},
                                    layout=W.Layout(width=width)), f"cw-{name.replace('_', '-')}")
            for name, width in (("in_channels", "150px"), ("out_channels", "160px"),
                                ("groups", "110px")))
        self.pairs = (self.input, self.kernel, self.stride, self.padding, self.dilation,
                      self.output_padding)
        self.flags_row = _style(W.HBox([self.ceil_mode, self.count_include_pad]), "cw-flags")
        # wraps: groups on a second line, so each box shows a 4-digit count in the 330 px column
        self.channels_row = _style(W.HBox([self.in_channels, self.out_channels, self.groups],
                                          layout=W.Layout(flex_flow="row wrap")), "cw-channels")
        self.box = _style(W.VBox(
            [self.kind, self.input.row, self.kernel.row, self.stride.row, self.padding_mode,
             self.padding.row, self.dilation.row, self.output_padding.row, self.flags_row,
             self.channels_row]), "cw-controls")
        self.show_state()
        for widget in self.widgets():
            widget.observe(self._on_control, names="value")
        state.observe(self._on_state, names="results")  # once per recomputation

    def widgets(self) -> Iterator[W.Widget]:
        """Every setting control (not the rows and boxes around them)."""
        yield self.kind
        yield self.padding_mode
        for pair in self.pairs:
            yield from (*pair.widgets, pair.d)
        yield from (self.ceil_mode, self.count_include_pad, self.in_channels, self.out_channels,
                    self.groups)

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Control changes made inside are not sent to the state."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    # ------------------------------------------------------------------ controls -> state
    def read(self) -> dict[str, Any]:
        """The settings the controls show, clamped to the learner's bounds."""
        kind = self.kind.value
        numeric = kind != "conv" or self.padding_mode.value == "number"
        padding: Any = self.padding.value if numeric else self.padding_mode.value
        values = {"kind": kind, "ndim": self.state.ndim, "input_size": self.input.value,
                  "kernel_size": self.kernel.value,
                  "stride": self.stride.value, "padding": padding, "dilation": self.dilation.value,
                  "output_padding": self.output_padding.value, "ceil_mode": self.ceil_mode.value,
                  "count_include_pad": self.count_include_pad.value,
                  "in_channels": self.in_channels.value, "out_channels": self.out_channels.value,
                  "groups": self.groups.value}
        spec = LayerSpec.from_settings(**{k: v for k, v in values.items() if k != "input_size"})
        hi = bounds(spec, (0,) * spec.ndim)
        values["output_padding"] = tuple(min(v, m) for v, m in zip(values["output_padding"],
                                                                    hi["output-padding"], strict=True))
        if numeric and spec.is_pool:
            values["padding"] = tuple(min(v, m) for v, m in zip(padding, hi["padding"], strict=True))
        return values

    def _on_control(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        try:
            self.state.set(**self.read())
        except Exception as err:  # noqa: BLE001 - a UI callback must never raise into the frontend
            self._on_error(err)
            self.show_state()  # the controls go back to what the state holds
            return
        if self._on_moved is not None:
            self._on_moved(change)

    # ------------------------------------------------------------------ state -> controls
    def _on_state(self, change: dict[str, Any]) -> None:
        self.show_state()

    def show_state(self) -> None:
        """Move every control to the state's settings (nothing is sent back)."""
        s = self.state.settings
        spec = self.state.spec
        assert spec is not None  # computed when the state was made
        n = spec.ndim
        hi = bounds(spec, s["padding"] if not isinstance(s["padding"], str) else (0,) * n)
        with self.quietly():
            if self._labels_ndim != n:  # the dropdown names nn.Conv1d ... in 1-D
                self._labels_ndim = n
                self.kind.options = kind_labels(n)
            _assign(self.kind, "value", s["kind"])
            for pair in self.pairs:
                pair.set_ndim(n)
                value = getattr(self.state, _SETTING_OF[pair.name])  # kept even where the kind lacks it
                if not isinstance(value, str):
                    pair.show(_dims(value, n), hi[pair.name])
            _assign(self.padding_mode, "value",
                    s["padding"] if isinstance(s["padding"], str) else "number")
            _assign(self.padding_readout, "value", padding_readout(s["padding"], s["kernel_size"],
                                                                    s["dilation"]))
            for name in ("ceil_mode", "count_include_pad", "in_channels", "out_channels", "groups"):
                widget = getattr(self, name)
                value = getattr(self.state, name)
                if isinstance(widget, W.BoundedIntText) and value > widget.max:
                    widget.max = value
                _assign(widget, "value", value)
            self._show_kind(s["kind"], self.padding_mode.value, self.padding.square.value, n)

    def _show_kind(self, kind: str, mode: str, square: bool, ndim: int = 2) -> None:
        """Show the controls ``kind`` has; the padding sliders only for a numeric padding."""
        if self._shown_kind == (kind, mode, square, ndim):
            return  # layouts are widgets too: untouched unless something changed
        self._shown_kind = (kind, mode, square, ndim)
        conv_like = kind in ("conv", "conv_transpose")

        def show(widget: W.Widget, visible: bool) -> None:
            _assign(widget.layout, "display", "" if visible else "none")

        show(self.padding_mode, kind == "conv")
        show(self.output_padding.row, kind == "conv_transpose")
        show(self.dilation.row, kind != "avg_pool")
        show(self.ceil_mode, not conv_like)
        show(self.count_include_pad, kind == "avg_pool")
        show(self.out_channels, conv_like)
        show(self.groups, conv_like)
        numeric = mode == "number"
        # a string padding: the readout says the real numbers, in place of the sliders
        for widget in (*self.padding.widgets, self.padding.d):
            shown = widget in self.padding.sliders or (widget is self.padding.square and ndim == 2)
            show(widget, numeric and shown)
        show(self.padding_readout, not numeric)
        _assign(self.padding.h, "disabled", not numeric)
        _assign(self.padding.square, "disabled", not numeric)
        _assign(self.padding.w, "disabled", not numeric or self.padding.linked)

    # ------------------------------------------------------------------ prefetch
    def neighbours(self, change: dict[str, Any], step: int) -> list[tuple[Geometry, int, Any]]:
        """Frames a learner is likely to ask for next: the moved slider one notch on
        (the same way first)."""
        owner = change["owner"]
        pair = next((p for p in self.pairs if owner in p.sliders), None)
        if pair is None or owner.disabled or (pair is self.padding and self.padding_mode.value != "number"):
            return []
        name = _SETTING_OF[pair.name]
        delta = 1 if (change["new"] or 0) >= (change["old"] or 0) else -1
        settings = self.state.settings
        frames = []
        for d in (delta, -delta):
            value = owner.value + d
            if not owner.min <= value <= owner.max:
                continue
            moved = list(settings[name])
            for i, slider in enumerate(pair.sliders):
                linked = pair.linked and slider in (pair.h, pair.w) and owner is pair.h
                if slider is owner or linked:
                    moved[i] = value
            trial = {**settings, name: tuple(moved)}
            size = trial.pop("input_size")
            try:
                results = compute(LayerSpec.from_settings(**trial), size, run_torch=False)
            except ValueError:
                continue
            geometry = results.geometry
            # the picture's key: geometry, step, the output cells' values (3-D: not prefetched)
            if geometry is not None and results.depth is None:
                frames.append((geometry, min(step, geometry.n_steps - 1), results.cell_values))
        return frames


class Player:
    """Play button, output-cell slider, row and column sliders and the lit cell's sentence."""

    def __init__(self) -> None:
        self.play = _style(W.Play(value=0, min=0, max=0, interval=400, description="play",
                                  show_repeat=True), "cw-play")
        # No readout: the counter beside it counts from 1, as the picture's "step 1/9" does.
        self.step = _style(W.IntSlider(value=0, min=0, max=0, description="step", readout=False,
                                       style={"description_width": "34px"},
                                       layout=W.Layout(width="180px")), "cw-step")
        self.counter = _style(W.HTML(layout=W.Layout(width="92px")), "cw-step-counter")
        self.speed = _style(W.Dropdown(options=SPEEDS, value=2.5, tooltip="Play speed",
                                       layout=W.Layout(width="112px")), "cw-speed")
        self.speed.observe(self._on_speed, names="value")
        # Linked in the browser, so Play walks the slider without a kernel round trip per frame.
        self.link = W.jslink((self.play, "value"), (self.step, "value"))
        self.row = _style(W.IntSlider(value=0, min=0, max=0, description="row",
                                      style={"description_width": "30px"},
                                      layout=W.Layout(width="200px")), "cw-row")
        self.col = _style(W.IntSlider(value=0, min=0, max=0, description="col",
                                      style={"description_width": "30px"},
                                      layout=W.Layout(width="200px")), "cw-col")
        # 3-D: the output depth slice the picture shows (hidden otherwise)
        self.depth = _style(W.IntSlider(value=0, min=0, max=0, description="depth",
                                        style={"description_width": "40px"},
                                        layout=W.Layout(width="170px", display="none")), "cw-depth")
        self.label = _style(W.HTML(), "cw-step-label")
        self.player_row = _style(W.HBox([self.play, self.step, self.counter, self.speed]), "cw-player")
        self.cell_row = _style(W.HBox([self.depth, self.row, self.col]), "cw-cell")

    @property
    def sliders(self) -> tuple[W.Widget, ...]:
        return (self.step, self.row, self.col, self.play, self.depth)

    def _on_speed(self, change: dict[str, Any]) -> None:
        self.play.interval = interval_ms(change["new"])

    def show_counter(self, step: int, n_steps: int) -> None:
        """'step 1/9': the step counted from 1, as the picture counts it."""
        _assign(self.counter, "value", f"step {step + 1}/{n_steps}" if n_steps else "")

    def show(self, geometry: Geometry | None, step: int,
             depth: tuple[DimGeometry, int] | None = None) -> None:
        """Ranges from the geometry, the lit cell at ``step``; disabled when nothing is drawn.
        ``depth``: 3-D, the depth's geometry and the output depth slice shown."""
        if geometry is None:
            for w in self.sliders:
                w.disabled = True
            self.label.value = ""
            self.show_counter(0, 0)
            return
        # 1-D: the step is the output cell (no row and column sliders)
        _assign(self.cell_row.layout, "display", "none" if geometry.ndim == 1 else "")
        _assign(self.depth.layout, "display", "none" if depth is None else "")
        if depth is not None:
            _assign(self.depth, "max", max(depth[0].output - 1, 0))
            _assign(self.depth, "disabled", False)
            _assign(self.depth, "value", depth[1])
        oh, ow = (1, *geometry.output_size)[-2:]
        r, c = (0, *geometry.out_cell(step))[-2:]
        last = geometry.n_steps - 1
        # Play too: the browser's Play -> step link copies Play's value over the step when a view
        # first renders, so a step set before display (a link's step=3) must be Play's as well
        for w, top, value in ((self.step, last, step), (self.play, last, step),
                              (self.row, oh - 1, r), (self.col, ow - 1, c)):
            _assign(w, "max", top)
            _assign(w, "disabled", False)
            if value is not None:
                _assign(w, "value", value)
        self.show_counter(step, geometry.n_steps)
