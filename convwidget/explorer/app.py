"""ConvExplorer: controls, calculator, picture and PyTorch panel around one ExplorerState.

The explorer is composed: an :class:`~.state.ExplorerState` holds the settings and the
results; :class:`~.controls.Controls` move it; the panels (:mod:`.panels`) and the picture
(:mod:`.picture`) follow its ``results`` trait, each redrawn once per change. Every widget
carries a ``cw-*`` CSS class (:data:`CSS_CLASSES`) so a browser test can find it.

One screen (about 930 x 620 px, JupyterLab at 1366 x 768 with its file browser open): the
controls and the formula on the left, the picture at its natural size with the player and
PyTorch's verdict on the right; the long panels fold open on demand (an Accordion, see
:meth:`ConvExplorer.add_foldout`). Colours follow JupyterLab's theme (:mod:`.theme`);
``presentation=True`` (or the Projector button) makes text and picture 1.5 times bigger.

>>> from convwidget import ConvExplorer
>>> explorer = ConvExplorer(kind="conv", input_size=(32, 32), kernel_size=3, stride=2, padding=1)
>>> explorer.output_size
(16, 16)
>>> explorer.set(stride=1).output_size
(32, 32)
>>> explorer.set(kernel_size=40, padding=0).output_size is None
True
>>> explorer.state.stride
1
"""

from __future__ import annotations

import contextlib
import html
import os
import sys
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import ipywidgets as W

from ..explanations import Explanation
from ..geometry import Geometry
from . import panels
from .controls import Controls, Player, _style, button
from .css import CSS_CLASSES
from .dims import explorer_layer_spec, layer_input
from .exporting import export_link, export_name
from .layout import ScreenLayout, columns, presentation_button
from .picture import Picture, ipympl_active
from .quizmode import ExplorerQuiz, QuizAccess
from .state import ExplorerState, Results
from .theme import STYLE, span
from .valuesview import ValuesView

__all__ = ["CSS_CLASSES", "ConvExplorer"]

_TITLE = "<b>ConvExplorer</b> — move a slider: the formula, the window and PyTorch follow."
_QUIZ_TITLE = ("<b>ConvExplorer quiz</b> — predict the output size, then check it: the formula, "
               "the picture and PyTorch's own answer appear with your answer.")


class ConvExplorer(QuizAccess, ScreenLayout, W.VBox):
    """Sliders that drive the calculator, the sliding-window animation and the real PyTorch layer.

    Parameters are PyTorch's names (ints or per-dimension ``(height, width)``
    pairs): ``kind`` (``"conv"``, ``"conv_transpose"``, ``"max_pool"``,
    ``"avg_pool"``), ``input_size``, ``kernel_size``, ``stride`` (pool default:
    the kernel size), ``padding`` (a number, a pair, ``'same'`` or ``'valid'``),
    ``dilation``, ``output_padding``, ``ceil_mode``, ``count_include_pad``,
    ``in_channels``, ``out_channels``, ``groups``; ``ndim`` (1, 2 or 3 spatial dimensions, read
    from ``input_size``: ``(n,)`` is a 1-D strip and ``nn.Conv1d``..., ``(d, h, w)`` a 3-D volume
    shown one output depth slice at a time; an int is 2-D). ``presentation=True``: projector mode
    (text and picture 1.5 times bigger; the Projector button toggles it).

    ``ahead=True`` (the default): the pictures of the settings one or two notches away, and
    the animation's next steps, are held in the browser (:attr:`ahead`, see
    :mod:`convwidget.explorer.ahead`), so a slider moves the picture and the output size at
    once, before the kernel answers, on Binder too. ``ahead=False``: every picture comes
    from the kernel (an ``ipywidgets.Image``), for a front end without anywidget.
    :meth:`picture_png` is the picture shown, either way.

    Display it as a cell's value. Scripted use: :attr:`settings`, :meth:`set`,
    :attr:`output_size`; :attr:`state` is the :class:`ExplorerState` to link or observe.

    >>> e = ConvExplorer(kind="max_pool", input_size=5, kernel_size=2, ceil_mode=True)
    >>> e.output_size, e.settings["stride"]
    ((3, 3), (2, 2))
    >>> "✓" in e.torch_panel.value
    True
    """

    def __init__(self, *, live: bool | None = None, quiz: bool = False, level: str = "padding_stride",
                 seed: int | None = None, presentation: bool = False, ahead: bool = True,
                 **settings: Any) -> None:
        session = None
        if quiz:  # the question's setting first: a bad level builds nothing
            from ..quiz import QuizSession
            from .quizmode import explorer_settings

            session = QuizSession(level, seed)
            settings = {**settings, **explorer_settings(session.question)}
        self._concealed = False
        self.quiz: ExplorerQuiz | None = None
        self.state = ExplorerState(**settings)  # validated first: a bad setting builds nothing
        self.live = bool(ipympl_active() if live is None else live)
        self._error_text: str | None = None
        self._moving_player = False
        self._ndim_shown = self.state.ndim
        self._shown: tuple[Results | None, int] = (None, -1)
        self.error_box = _style(W.HTML(layout=W.Layout(display="none")), "cw-error")
        self.picture_panel = Picture(self.live, on_error=self._show_error)
        self.setting_controls = Controls(self.state, on_error=self._show_error, on_moved=self._on_moved)
        self.player = Player()
        self._build_panels()
        self.ahead: Any = None
        # frames held in the browser (anywidget): drawn for 2-D settings; 1-D and 3-D: our PNGs
        # (attached when the setting first becomes 2-D)
        self._ahead_wanted = bool(ahead and not quiz and not self.live)
        self._attach_ahead()
        if session is not None:
            self.quiz = ExplorerQuiz(self, session, on_error=self._show_error)
        self.presentation_button = presentation_button()
        header = _style(W.HBox([_style(W.HTML(_QUIZ_TITLE if session else _TITLE), "cw-title"),
                                self.presentation_button],
                               layout=W.Layout(justify_content="space-between", align_items="center")),
                        "cw-header")
        super().__init__([
            _style(W.HTML(STYLE, layout=W.Layout(display="none")), "cw-style"),
            header,
            *([self.quiz.box] if self.quiz else []),
            self.main, self.foldouts, self.error_box])
        self.add_class("cw-explorer")
        self.foldouts.observe(self._on_foldout, names="selected_index")
        self.presentation_button.observe(self._on_presentation, names="value")
        self.presentation_button.value = bool(presentation)
        self.state.observe(self._on_results, names="results")
        self.state.observe(self._on_step, names="step")
        self.state.observe(self._on_depth, names="depth")
        self.player.depth.observe(self._on_depth_slider, names="value")
        self.player.step.observe(self._on_step_slider, names="value")
        self.player.row.observe(self._on_cell, names="value")
        self.player.col.observe(self._on_cell, names="value")
        self.export_gif.on_click(self._on_export_gif)
        self.export_html.on_click(self._on_export_html)
        if self.quiz is not None:
            self.quiz.ask(self.quiz.question)  # hidden before anything is drawn
        else:
            self._on_results()

    # ------------------------------------------------------------------ building
    def _build_panels(self) -> None:
        c = self.setting_controls
        self.controls = c.box
        for name in ("kind", "input", "kernel", "stride", "padding_mode", "padding", "dilation",
                     "output_padding", "ceil_mode", "count_include_pad", "in_channels",
                     "out_channels", "groups", "pairs"):
            setattr(self, name, getattr(c, name))
        p = self.player
        self.play, self.step, self.row, self.col, self.step_label = p.play, p.step, p.row, p.col, p.label
        self.step_counter, self.speed = p.counter, p.speed
        self.play_link = p.link
        self.picture = self.picture_panel.image
        self.picture_dark = self.picture_panel.image_dark
        self.picture_error = self.picture_panel.error
        self.live_canvas = self.picture_panel.canvas
        self.output_label = _style(W.HTML(), "cw-output-size")
        self.formula = _style(W.HTMLMath(), "cw-formula")
        self.formula_text = _style(W.HTML(), "cw-formula-text")
        self.params = _style(W.HTML(), "cw-params")
        self.receptive = _style(W.HTML(), "cw-receptive-field")
        self.calculator_panel = _style(W.VBox(
            [_style(W.HTML("<b>Calculator</b>"), "cw-calculator-title"), self.output_label,
             self.formula]), "cw-calculator")
        # 3-D: which input depth slices the shown output depth slice reads (hidden otherwise)
        self.depth_label = _style(W.HTML(layout=W.Layout(display="none")), "cw-depth-caption")
        self.animation_panel = _style(W.VBox(
            [self.depth_label, *self.picture_panel.widgets, p.player_row, p.cell_row, p.label]),
            "cw-animation")
        self.torch_panel = _style(W.HTML(), "cw-torch-panel")
        self.values_panel = _style(W.HTML(), "cw-torch-values")
        self.export_gif = button("Export GIF", "cw-export-gif", icon="film",
                                 tooltip="the animation as a GIF, downloaded by your browser")
        self.export_html = button("Export HTML player", "cw-export-html", icon="code",
                                  tooltip="a self-contained HTML/JS player, downloaded by your browser")
        self.export_progress = _style(W.IntProgress(value=0, min=0, max=1, description="frames",
                                                    layout=W.Layout(display="none")), "cw-export-progress")
        self.export_link = _style(W.HTML(), "cw-export-link")
        self.export_row = _style(W.VBox([W.HBox([self.export_gif, self.export_html, self.export_progress]),
                                         self.export_link]), "cw-export")
        self.export_row.children[0].add_class("cw-export-buttons")
        self.main = columns([self.controls, self.calculator_panel], [self.animation_panel, self.torch_panel])
        self.foldouts = _style(W.Accordion(selected_index=None), "cw-foldouts")
        # drawn only while its section is open (see _on_foldout): a slider pays nothing for it folded
        self.values_view = ValuesView(self.state, active=False)
        self.add_foldout("Channels, values and the lit cell's sum", self.values_view)
        self.add_foldout("Values PyTorch computed", self.values_panel)
        self.add_foldout("Parameters and receptive field", _style(W.VBox(
            [self.params, self.receptive, self.formula_text]), "cw-details"))
        self.add_foldout("Export", self.export_row)

    # ------------------------------------------------------------------ errors
    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """No exception escapes a callback: it is shown as text and the widget stays usable."""
        try:
            yield
        except Exception as err:  # noqa: BLE001 - a UI callback must never raise into the frontend
            self._show_error(err)

    def _show_error(self, err: BaseException) -> None:
        if isinstance(err, ValueError):  # a refused setting: its sentence, not an internal error
            self._error_text = str(err)
            shown = f"✗ {html.escape(self._error_text)}"
        else:
            where = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
            self._error_text = f"{type(err).__name__}: {err}"
            at = f" (at {os.path.basename(where.filename)}:{where.lineno})" if where else ""
            shown = f"✗ Internal error (please report it): {html.escape(self._error_text + at)}"
        self.error_box.value = span("bad", shown)
        self.error_box.layout.display = ""

    def _clear_error(self) -> None:
        if self._error_text is not None:
            self._error_text = None
            self.error_box.value = ""
            self.error_box.layout.display = "none"

    # ------------------------------------------------------------------ reactions
    def _held(self) -> contextlib.ExitStack:
        """Batch the state messages of every panel widget (one message each on exit), in the
        order a learner looks: the output size, the picture and the verdict first (the browser
        works through the messages in turn; the folded panels, MathJax and slider ranges last)."""
        stack = contextlib.ExitStack()
        first_seen = (self.output_label, self.picture, self.picture_error, self.torch_panel,
                      self.step_counter, self.step_label, self.picture_dark, self.formula,
                      *self.player.sliders, self.depth_label, self.formula_text, self.params,
                      self.receptive, self.values_panel)
        for widget in reversed(first_seen):  # an ExitStack sends the last one entered first
            stack.enter_context(widget.hold_sync())
        return stack

    def _attach_ahead(self) -> None:
        if self._ahead_wanted and self.ahead is None and self.state.ndim == 2:
            from .aheadframes import attach

            self.ahead = attach(self)

    def _on_results(self, change: dict[str, Any] | None = None) -> None:
        """Every panel from the new results: once per change of the settings."""
        if self.state.ndim != self._ndim_shown:
            self._ndim_shown = self.state.ndim
            self._rescale_controls()
            self._attach_ahead()
        if self._concealed:
            return  # a quiz question: nothing shown until it is answered
        results = self.state.results
        assert results is not None  # computed when the state was made
        self._clear_error()
        self.picture_panel.cancel()
        with self._held():
            with self._guard():
                self._show_calculator(results)
            with self._guard():
                self._show_step(results, self.state.step)

    def _show_calculator(self, results: Results) -> None:
        self.output_label.value = panels.output_html(results)
        self.formula.value, self.formula_text.value = panels.formula_html(results)
        self.params.value = panels.params_html(results.spec)
        self.receptive.value = panels.receptive_html(results.spec)

    def _show_step(self, results: Results, step: int) -> None:
        """The picture, the player and the lit cell (and PyTorch's value there)."""
        if self._shown == (results, step):
            return
        first = self._shown[0] is not results
        self._shown = (results, step)
        geometry = results.geometry
        t = results.torch_result
        depth = self.state.depth
        if first:
            self.torch_panel.value = panels.torch_html(results)
        if first or (t is not None and t.values is not None):
            lit = geometry.out_cell(step) if geometry is not None else None
            if lit is not None and results.depth is not None:
                lit = (depth, *lit)
            self.values_panel.value = panels.values_html(results, lit)
        self._moving_player = True  # the player follows the state: its changes are not sent back
        try:
            self.player.show(geometry, step, None if results.depth is None else (results.depth, depth))
        finally:
            self._moving_player = False
        self.step_label.value = panels.step_html(results, step, depth)
        self.depth_label.value = panels.depth_html(results, depth)
        self.depth_label.layout.display = "" if self.depth_label.value else "none"
        if results.picture_limit:  # drawable in principle, or an empty output: a note
            self.picture_panel.show_note(results.picture_limit)
        elif geometry is None:
            self.picture_panel.show_problem(results.problem or "PyTorch refuses this setting",
                                            said_elsewhere=results.torch_result is not None)
        elif self.ahead is None or self.state.ndim != 2:  # the frames ahead draw 2-D only
            self.picture_panel.show(geometry, step, results.plane_values(depth))
        else:
            self.picture_panel.show_nothing(geometry, step, results.cell_values)  # the frames ahead show it
        if self.ahead is not None:
            self.ahead.show(drawn=geometry is not None and not results.picture_limit
                            and self.state.ndim == 2)

    # ------------------------------------------------------------------ quiz mode
    def _revealable(self) -> tuple[W.Widget, ...]:
        """What a quiz hides until the answer: every box that shows or implies the output."""
        return (self.controls, self.animation_panel, self.calculator_panel, self.torch_panel,
                self.export_row, self.foldouts)

    def _conceal(self) -> None:
        """Hide every answer (the boxes, and the texts in them) until :meth:`_reveal`."""
        self._concealed = True
        self.picture_panel.cancel()
        with self._held():
            for widget in (self.output_label, self.formula, self.formula_text, self.params,
                           self.receptive, self.torch_panel, self.values_panel, self.step_label,
                           self.depth_label, self.export_link):
                widget.value = ""
            self.picture.value = self.picture_dark.value = b""
            self._moving_player = True  # the player's ranges are the output's size: emptied too
            try:
                self.player.show(None, 0)
                for slider in self.player.sliders:
                    slider.value = slider.max = 0
            finally:
                self._moving_player = False
        for box in self._revealable():
            box.layout.display = "none"
        self._shown = (None, -1)
        self.values_view.active = False
        self.values_view.clear()

    def _reveal(self) -> None:
        """Show everything for the current setting, as the plain explorer does."""
        self._concealed = False
        self._on_results()
        for box in self._revealable():
            box.layout.display = ""
        self._on_foldout()

    def _on_foldout(self, change: dict[str, Any] | None = None) -> None:
        """The channel view follows the state only while its section is open (and shown)."""
        with self._guard():
            index = self.foldouts.children.index(self.values_view)
            self.values_view.active = not self._concealed and self.foldouts.selected_index == index

    def _on_step(self, change: dict[str, Any]) -> None:
        results = self.state.results
        if self._concealed or results is None or results is not self._shown[0]:
            return  # a new setting: _on_results draws it
        with self._guard():  # few widgets change: no batching needed (it costs more than it saves)
            self._show_step(results, change["new"])

    def _on_step_slider(self, change: dict[str, Any]) -> None:
        if self._moving_player:
            return
        self.picture_panel.cancel()
        with self._guard():
            self.state.step = change["new"]
            if self.step.value != self.state.step:  # clamped: a browser sent a step past the end
                self._moving_player = True
                try:
                    self.step.value = self.state.step
                finally:
                    self._moving_player = False
        results = self.state.results
        geometry = results.geometry if results is not None else None
        if geometry is not None and results is not None:
            labels = results.plane_values(self.state.depth)
            self.picture_panel.schedule(
                lambda: [(geometry, (self.state.step + 1) % geometry.n_steps, labels)])

    def _on_depth(self, change: dict[str, Any]) -> None:
        """3-D: another output depth slice: its plane, values and caption."""
        results = self.state.results
        if self._concealed or results is None or results is not self._shown[0]:
            return  # a new setting: _on_results draws it
        self.picture_panel.cancel()
        self._shown = (None, -1)
        with self._held(), self._guard():
            self._show_step(results, self.state.step)

    def _on_depth_slider(self, change: dict[str, Any]) -> None:
        if self._moving_player:
            return
        with self._guard():
            self.state.depth = change["new"]

    def _on_cell(self, change: dict[str, Any]) -> None:
        geometry = self.state.geometry
        if self._moving_player or geometry is None:
            return
        if geometry.ndim != 2:
            return  # 1-D: the step slider is the output cell
        oh, ow = geometry.output_size
        row = min(max(self.row.value, 0), oh - 1)  # a browser may send a value past the range
        col = min(max(self.col.value, 0), ow - 1)
        with self._guard():
            self.state.step = geometry.step_of((row, col))

    def _on_moved(self, change: dict[str, Any]) -> None:
        """After a control moved: render its next notch while the kernel is idle."""
        with self._guard():
            self.picture_panel.schedule(lambda: self.setting_controls.neighbours(change, self.state.step))

    # ------------------------------------------------------------------ scripting
    @property
    def settings(self) -> dict[str, Any]:
        """The current settings in PyTorch's names; ``ConvExplorer(**settings)`` rebuilds them.

        Settings the current kind lacks take their neutral value (e.g. ``dilation=(1, 1)``
        for an average pool, ``output_padding=(0, 0)`` unless transposed).
        """
        return self.state.settings

    def set(self, **changes: Any) -> ConvExplorer:
        """Change the settings (PyTorch's names) and update every panel once.

        Returns when every panel shows the new setting (the explorer itself, for chaining).
        A scripted value outside a slider's range widens the slider, so a setting PyTorch
        refuses can be shown and explained.

        >>> ConvExplorer(input_size=7).set(kernel_size=3, stride=2).output_size
        (3, 3)
        """
        self.picture_panel.cancel()
        self.state.set(**changes)
        return self

    @property
    def output_size(self) -> tuple[int, ...] | None:
        """The current output (height, width), or None for a setting PyTorch refuses."""
        return self.state.output_size

    @property
    def explanation(self) -> Explanation | None:
        """The core's :class:`~convwidget.Explanation` for the current setting."""
        return self.state.explanation

    @property
    def torch_result(self) -> Any:
        """What the real PyTorch layer answered for the current setting (a ``TorchResult``)."""
        return self.state.torch_result

    @property
    def figure(self) -> Any:
        """The :class:`convwidget.drawing.WindowFigure` behind the picture (showing what it shows)."""
        return self.picture_panel.figure

    def picture_png(self, theme: str = "light") -> bytes:
        """The PNG of the picture shown now in ``theme`` (``"light"`` or ``"dark"``), or
        ``b""`` where a sentence shows instead (a refusal, a setting too big to draw).

        In a kernel the picture follows a change a few milliseconds later (after the
        calculator, in the loop's next turn); in a script at once.

        >>> ConvExplorer(input_size=5).picture_png()[:4], ConvExplorer(kernel_size=9).picture_png()
        (b'\\x89PNG', b'')
        """
        if theme not in ("light", "dark"):
            raise ValueError(f"theme={theme!r}: give 'light' or 'dark'")
        if self.ahead is not None and self.state.ndim == 2:  # 1-D, 3-D: the explorer's own picture
            shown, light, dark = self.ahead.widget, self.ahead.widget.value, self.ahead.widget.value_dark
        else:
            shown, light, dark = self.picture, self.picture.value, self.picture_dark.value
        if shown.layout.display == "none":
            return b""
        return bytes(light if theme == "light" else dark)

    @property
    def prefetch(self) -> bool:
        """Render the moved slider's next notch (and the next step) while the kernel is idle."""
        return self.picture_panel.prefetch

    @prefetch.setter
    def prefetch(self, value: bool) -> None:
        self.picture_panel.prefetch = bool(value)

    @property
    def prefetched(self) -> int:
        """Frames rendered ahead of time."""
        return self.picture_panel.prefetched

    @property
    def _frames(self) -> OrderedDict[Any, tuple[bytes, bytes]]:
        return self.picture_panel.frames

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items()
                             if k != "ndim")  # the length of input_size says it
        except Exception:  # noqa: BLE001 - repr must work even half-built
            return f"<{type(self).__name__}>"
        if self.quiz is not None and self._concealed:
            return f"{type(self).__name__}(quiz=True, level={self.quiz.session.level!r}) -> not answered yet"
        return f"{type(self).__name__}({args}) -> output_size={self.output_size!r}"

    @classmethod
    def from_layer(cls, layer: Any, input_size: Any) -> ConvExplorer:
        """A ConvExplorer showing a ``torch.nn`` Conv / ConvTranspose / MaxPool / AvgPool layer
        (1-D, 2-D or 3-D) on an input of ``input_size``: the spatial sizes ((L,), (H, W) or
        (D, H, W)), or a full shape with channels (C, ...) and batch (N, C, ...).

        >>> from torch import nn
        >>> ConvExplorer.from_layer(nn.MaxPool2d(2), (1, 3, 8, 8)).output_size
        (4, 4)
        >>> ConvExplorer.from_layer(nn.Conv1d(2, 4, 3), (2, 10)).output_size
        (8,)
        >>> ConvExplorer.from_layer(nn.Conv1d(2, 4, 3), (8, 8, 8, 8))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: input_size=(8, 8, 8, 8) has 4 numbers, but nn.Conv1d is 1-D: give (L,), ...
        """
        spec = explorer_layer_spec(layer)
        n = spec.ndim
        size = layer_input(input_size, spec)
        settings = spec.settings()
        if len(size) > n and spec.is_pool:
            settings["in_channels"] = size[-n - 1]
        return cls(ndim=n, input_size=size[-n:], **settings)

    def close(self) -> None:
        """Close every widget of the explorer (layouts and styles too) and its state."""
        if not hasattr(self, "picture_panel") or sys.is_finalizing():
            super().close()  # half-built (a refused setting stopped __init__), or Python exiting
            return
        self.picture_panel.cancel()
        if self.quiz is not None:
            self.quiz.close()
        if getattr(self, "ahead", None) is not None:
            self.ahead.close()
        self.play_link.close()
        for widget in list(_walk(self))[1:]:
            close_widget(widget)
        self.picture_panel.close()
        self.state.close()
        layout, style = self.layout, getattr(self, "style", None)
        super().close()
        for part in (layout, style):
            if part is not None:
                part.close()

    # ------------------------------------------------------------------ export
    def _export(self, ext: str) -> None:
        """Make the GIF or the HTML player in memory and offer it as a browser download."""
        geometry: Geometry | None = self.state.geometry
        limit = self.state.results.picture_limit if self.state.results else None
        if limit:
            self.export_link.value = "Nothing exported. " + html.escape(limit)
            return
        if geometry is None:
            self.export_link.value = "Nothing to export: PyTorch refuses this setting."
            return
        bar = self.export_progress
        bar.value, bar.max = 0, max(geometry.n_steps, 1)
        bar.layout.display = ""

        def progress(done: int, total: int) -> None:
            bar.max = max(total, 1)
            bar.value = done

        try:
            self.export_link.value = export_link(geometry, ext, export_name(self.settings, ext), progress)
        finally:
            bar.layout.display = "none"

    def _on_export_gif(self, _button: W.Button) -> None:
        with self._guard():
            self._export("gif")

    def _on_export_html(self, _button: W.Button) -> None:
        with self._guard():
            self._export("html")


def close_widget(widget: W.Widget) -> None:
    """Close a widget and the Layout and Style widgets it owns."""
    parts = [getattr(widget, name, None) for name in ("layout", "style")]
    widget.close()
    for part in parts:
        if isinstance(part, W.Widget):
            part.close()


def _walk(widget: W.Widget) -> Iterator[W.Widget]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)
