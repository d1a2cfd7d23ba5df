"""What the frames ahead show for a ConvExplorer (issue 14): :class:`ExplorerFrames` draws the
picture and the texts in view (the output size, the formula, PyTorch's verdict from the real
layer, the lit cell) of the setting a set of control values means, and
:class:`ExplorerAhead` / :func:`attach` put a :class:`~.ahead.FrameAhead` in place of the
explorer's own picture, watching its controls.

:mod:`.ahead` knows nothing of convolutions (keys, neighbours, the byte budget, the page);
this module knows nothing of the page.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets as W

from ..geometry import Geometry
from .ahead import FrameAhead, Values
from .panels import shown_texts
from .state import SETTING_NAMES, Results, compute, spec_for

__all__ = ["DEFAULT_BASE", "ExplorerAhead", "ExplorerFrames", "attach", "settings_of"]


# ---------------------------------------------------------------------- the explorer's frames
_PER_DIM = ("input_size", "kernel_size", "stride", "padding", "dilation", "output_padding")


def settings_of(values: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The settings control ``values`` mean, on top of ``base`` (``ExplorerState.settings``).

    Names: a setting's own name (``"stride"``: both dimensions; ``"kind"``, ``"ceil_mode"``
    ...), ``"<setting>_h"`` / ``"<setting>_w"`` for one dimension, ``"<setting>_square"``
    (the 'H = W' box: the width follows the height), ``"padding_mode"`` (``"number"``,
    ``"same"``, ``"valid"``); other names (``"step"``) are not settings.

    >>> base = {"kernel_size": (3, 3), "padding": (0, 0), "stride": (1, 1)}
    >>> s = settings_of({"kernel_size_h": 5, "kernel_size_square": True, "stride": 2}, base)
    >>> s["kernel_size"], s["stride"]
    ((5, 5), (2, 2))
    >>> settings_of({"padding_h": 1, "padding_w": 2, "padding_mode": "same"}, base)["padding"]
    'same'
    """
    settings = dict(base)
    for name in SETTING_NAMES:
        if name in values:
            value = values[name]
            settings[name] = (value, value) if name in _PER_DIM and isinstance(value, int) else value
        elif name in _PER_DIM and f"{name}_h" in values:
            old = base[name] if isinstance(base[name], tuple) else (0, 0)
            h = values[f"{name}_h"]
            w = h if values.get(f"{name}_square") else values.get(f"{name}_w", old[1])
            settings[name] = (h, w)
    mode = values.get("padding_mode", "number")
    if mode != "number" and settings.get("kind", "conv") == "conv":
        settings["padding"] = mode
    return settings


class ExplorerFrames:
    """``render(values, theme)`` for :class:`FrameAhead` from an explorer's settings: the
    setting :func:`settings_of` reads from the values (on top of ``base()``), drawn at the
    step ``values["step"]`` (clamped to the output) on a figure of its own.

    >>> frames = ExplorerFrames(lambda: {**DEFAULT_BASE, "input_size": (5, 5)})
    >>> frames.geometry({"kernel_size": 3, "step": 20})[0].output_size, frames.geometry(
    ...     {"kernel_size": 3, "step": 20})[1]
    ((3, 3), 8)
    >>> frames({"kernel_size": 9}, "light") is None  # PyTorch refuses it: nothing drawn
    True
    """

    def __init__(self, base: Callable[[], Mapping[str, Any]], scale: float = 1.0,
                 applies: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
                 run_torch: bool = True) -> None:
        self.base = base
        self.scale = scale
        self.applies = applies  # which values are settings here (e.g. not a hidden row's)
        self.run_torch = run_torch  # the texts carry PyTorch's verdict (as the explorer's do)
        self._figure: Any = None
        # settings -> (geometry or None, the output cells' values the picture writes)
        self._geometries: OrderedDict[str, tuple[Geometry | None, Any]] = OrderedDict()
        # settings -> the results the texts are written from (PyTorch run: the real layer)
        self._results: OrderedDict[str, Results | None] = OrderedDict()
        self._lock = threading.RLock()  # one figure, renders from two kernel threads

    def geometry(self, values: Mapping[str, Any]) -> tuple[Geometry | None, int]:
        """The geometry ``values`` mean (None: refused or too big to draw) and the step."""
        geometry, step, _ = self.drawing(values)
        return geometry, step

    def drawing(self, values: Mapping[str, Any]) -> tuple[Geometry | None, int, Any]:
        """The geometry, the step and the output cells' values (what the explorer's picture
        writes in them, ``Results.cell_values``) that ``values`` mean."""
        return self._entry(values)

    def texts(self, values: Mapping[str, Any]) -> dict[str, str]:
        """What the explorer's texts in view say for ``values`` (:func:`.panels.shown_texts`:
        the headline, the formula, PyTorch's verdict from the real layer run here, the lit
        cell); empty for a setting whose settings cannot be made (nothing is sent for it).

        >>> texts = ExplorerFrames(lambda: DEFAULT_BASE).texts({"kernel_size": 5})
        >>> texts["output"][:34], "torch.Size([1, 1, 3, 3])" in texts["torch"]
        ("<b style='font-size:1.2em'>Output:", True)
        """
        settings, key = self._settings(values)
        with self._lock:
            if key not in self._results:
                self._results[key] = self._compute(settings, self.run_torch)
                if len(self._results) > self.results_kept:
                    self._results.popitem(last=False)
            results = self._results[key]
        if results is None:
            return {}
        step = int(values.get("step", 0))
        if results.geometry is not None:
            step = max(0, min(step, results.geometry.n_steps - 1))
        return shown_texts(results, step)

    #: Results kept for the texts (each may hold PyTorch's output values: a few hundred kB
    #: at most); the neighbours of one setting are about 40.
    results_kept = 64

    def _settings(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        settings = settings_of(values if self.applies is None else self.applies(values), self.base())
        return settings, repr(sorted(settings.items()))

    @staticmethod
    def _compute(settings: Mapping[str, Any], run_torch: bool) -> Results | None:
        settings = dict(settings)
        size = settings.pop("input_size")
        try:
            return compute(spec_for(settings), size, run_torch=run_torch)
        except (ValueError, TypeError):
            return None

    def _entry(self, values: Mapping[str, Any]) -> tuple[Geometry | None, int, Any]:
        settings, key = self._settings(values)
        with self._lock:
            if key not in self._geometries:
                results = self._compute(settings, run_torch=False)
                drawn = results is not None and results.picture_limit is None
                self._geometries[key] = ((results.geometry, results.cell_values) if drawn and results
                                         else (None, None))
                if len(self._geometries) > 512:
                    self._geometries.popitem(last=False)
            geometry, labels = self._geometries[key]
        step = 0 if geometry is None else max(0, min(int(values.get("step", 0)), geometry.n_steps - 1))
        return geometry, step, labels

    def __call__(self, values: Mapping[str, Any], theme: str) -> bytes | None:
        with self._lock:
            return self._render(values, theme)

    def _render(self, values: Mapping[str, Any], theme: str) -> bytes | None:
        geometry, step, labels = self.drawing(values)
        if geometry is None:
            return None
        if self._figure is None:
            from ..drawing import WindowFigure  # matplotlib: imported with the first frame

            self._figure = WindowFigure(scale=self.scale)
        fig = self._figure
        if fig.error is not None or fig.geometry != geometry or fig.output_labels != labels:
            fig.set_geometry(geometry, step=step, output_labels=labels)  # as the explorer's Picture
        elif fig.step != step:
            fig.show_step(step)
        return bytes(fig.to_png(theme=theme))

    def context(self, names: Iterable[str]) -> str:
        """The settings no control in ``names`` gives (a :attr:`FrameAhead.context`)."""
        names = set(names)
        covered = {n for n in SETTING_NAMES
                   if n in names or f"{n}_h" in names or (n == "padding" and "padding_mode" in names)}
        rest = {n: v for n, v in self.base().items() if n not in covered}
        text = repr(sorted(rest.items())) + f"@{self.scale}"
        return hashlib.sha1(text.encode()).hexdigest()[:12]  # short: it starts every key

    def close(self) -> None:
        if self._figure is not None:
            self._figure.close()
            self._figure = None


#: PyTorch's defaults as ``ExplorerState.settings`` gives them (for examples and harnesses).
DEFAULT_BASE: dict[str, Any] = {
    "kind": "conv", "ndim": 2, "input_size": (7, 7), "kernel_size": (3, 3), "stride": (1, 1),
    "padding": (0, 0), "dilation": (1, 1), "output_padding": (0, 0), "ceil_mode": False,
    "count_include_pad": True, "in_channels": 1, "out_channels": 1, "groups": 1,
}


# ---------------------------------------------------------------------- the seam for ConvExplorer
_PAIR_SETTINGS = {"input": "input_size", "kernel": "kernel_size", "stride": "stride",
                  "padding": "padding", "dilation": "dilation", "output-padding": "output_padding"}
_SCALARS = ("kind", "padding_mode", "ceil_mode", "count_include_pad", "in_channels",
            "out_channels", "groups")


def _shown(widget: W.Widget) -> bool:
    return getattr(widget.layout, "display", None) != "none"


class ExplorerAhead:
    """:class:`FrameAhead` for an explorer: its :class:`~.controls.Controls` (every control is
    watched, so a dropdown or box changed in the page makes the picture wait for the kernel),
    the Play step of its :class:`~.controls.Player` (sent ahead), frames drawn from its
    state's settings.

    Call :meth:`confirm` after the explorer has shown a change (the controls show the state);
    put :attr:`widget` where the picture goes. A frame is the setting the controls' values
    mean (:func:`settings_of`) with the rows the kind hides left at the state's values.
    """

    def __init__(self, state: Any, controls: Any, player: Any, scale: float = 1.0,
                 **kwargs: Any) -> None:
        self.state = state
        self.controls = controls
        self.watched: dict[str, W.Widget] = {name: getattr(controls, name) for name in _SCALARS}
        for pair in controls.pairs:
            setting = _PAIR_SETTINGS[pair.name]
            self.watched.update({f"{setting}_h": pair.h, f"{setting}_w": pair.w,
                                 f"{setting}_square": pair.square})
        self.watched["step"] = player.step
        self.frames = ExplorerFrames(lambda: state.settings, scale=scale, applies=self._applies,
                                     run_torch=state.run_torch)
        self.widget = FrameAhead(self.frames, skip_disabled=True, describe=self.frames.texts, **kwargs)
        #: text widgets that move with the frames (name -> widget; ``frames.texts`` names)
        self.targets: dict[str, W.Widget] = {}
        self.widget.ranges = self._ranges
        self.widget.watch(self.watched, sweep="step")

    def _hidden_settings(self) -> set[str]:
        return {_PAIR_SETTINGS[p.name] for p in self.controls.pairs if not _shown(p.row)}

    def _applies(self, values: Mapping[str, Any]) -> dict[str, Any]:
        hidden = self._hidden_settings()
        return {n: v for n, v in values.items() if n.rsplit("_", 1)[0] not in hidden}

    def _ranges(self) -> dict[str, tuple[int, int]]:
        """The sliders a learner can move now: shown, enabled, on a shown row."""
        ranges = {}
        for pair in self.controls.pairs:
            if not _shown(pair.row):
                continue
            setting = _PAIR_SETTINGS[pair.name]
            for end, slider in (("h", pair.h), ("w", pair.w)):
                if _shown(slider) and not slider.disabled and slider.min < slider.max:
                    ranges[f"{setting}_{end}"] = (int(slider.min), int(slider.max))
        return ranges

    def values(self) -> Values:
        return {name: widget.value for name, widget in self.watched.items()}

    def set_targets(self, targets: Mapping[str, W.Widget]) -> None:
        """Text widgets the page fills with the shown frame's texts (names as
        :meth:`ExplorerFrames.texts` gives them): a held frame's, or the kernel's values."""
        self.targets = dict(targets)
        self.widget.targets = {name: w.model_id for name, w in self.targets.items()}

    def _texts(self) -> dict[str, str]:
        return {name: w.value for name, w in self.targets.items()}

    def confirm(self) -> None:
        """The explorer shows the controls' setting: its frame first, then the neighbours (a
        few ms later: rapid changes render only the last, see :meth:`FrameAhead.request`)."""
        values = self.values()
        with self.widget.turn():
            self.widget.set_context(self.frames.context(values))
            self.widget.request(values, self._texts())

    def show(self, drawn: bool) -> None:
        """After the explorer showed a change: the picture (``drawn``), or nothing where the
        explorer puts a refusal or a note instead; a drawn one is confirmed (its frame, then
        the neighbours)."""
        display = "" if drawn else "none"
        if self.widget.layout.display != display:
            self.widget.layout.display = display
        if drawn:
            self.confirm()
        else:  # confirmed too (nothing to draw): the page stops waiting for this setting
            values = self.values()
            with self.widget.turn():
                self.widget.set_context(self.frames.context(values))
                self.widget.confirm(values, b"", b"", self._texts())

    def set_scale(self, scale: float) -> None:
        """Draw at ``scale`` (projector mode): the frames held so far belong to another context."""
        if scale != self.frames.scale:
            with self.frames._lock:
                self.frames.close()  # the next frame builds a figure at the new scale
                self.frames.scale = scale

    def close(self) -> None:
        self.widget.close()
        self.frames.close()


def attach(explorer: Any) -> ExplorerAhead:
    """Frames ahead in place of a ConvExplorer's PNG picture (``ConvExplorer(ahead=True)``):
    the explorer's refusal and note boxes stay; its own picture and idle prefetch rest while
    the setting is 2-D (a 1-D or 3-D one shows the explorer's own picture)."""
    panel = explorer.picture_panel
    ahead = ExplorerAhead(explorer.state, explorer.setting_controls, explorer.player, scale=panel.scale)
    panel.prefetch = False
    # the texts in view move with the frame: the headline, the formula, PyTorch's verdict (the
    # real layer, run for each frame sent ahead) and the lit cell
    ahead.set_targets({"output": explorer.output_label, "formula": explorer.formula,
                       "torch": explorer.torch_panel, "step": explorer.step_label})
    ahead.widget.add_class("cw-picture-ahead")
    for image in panel.images:  # kept for 1-D and 3-D settings, which the explorer draws itself
        image.layout.display = "none"
    explorer.animation_panel.children = (ahead.widget, *explorer.animation_panel.children)
    return ahead
