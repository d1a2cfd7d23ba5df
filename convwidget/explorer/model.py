"""ModelExplorer: a whole model's shapes, live, with the Linear answer and its fix.

Input-size sliders re-trace the model (``convwidget.trace`` on the meta device: milliseconds
once warm), the per-layer table shows every step with the flatten step and each Linear's
needed ``in_features`` highlighted, problems come with the line of code that fixes them, and
choosing a conv/pool row opens it in a ``ConvExplorer`` with that layer's settings and the
input size it receives. Above the table, the net picture (``TraceReport.plot()``: the
stack of feature maps, the flatten spelled out) follows the sliders, redrawn in place.

Every widget carries a CSS class (``cw-model-*``) so browser tests can find it. Its HTML names
the theme classes of :mod:`.theme` (``cw-ok``, ``cw-bad``, ``cw-muted``), whose light and dark
shades the ``cw-style`` block defines: readable in JupyterLab Light and Dark.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
from torch import nn

from ..spec import LayerSpec
from ..tracer import Row, TraceReport, report_html, trace
from .app import close_widget
from .controls import button
from .theme import STYLE, span

__all__ = ["ModelExplorer", "conv_settings"]

_DIM_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _klass(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(name)
    return widget


#: The layers' dimensions ConvExplorer opens as they are (others: by their last two dimensions).
_EXPLORER_NDIMS = (1, 2, 3)


def _last2(value: Any, nd: int, fill: int) -> Any:
    """A per-dimension setting for ConvExplorer: as it is for a 1-D, 2-D or 3-D layer, else its
    last two dimensions (height, width)."""
    if isinstance(value, str):
        return value
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd
    if nd in _EXPLORER_NDIMS:
        return tuple(int(v) for v in vals)
    return tuple(int(v) for v in vals[-2:])


def _module_settings(module: Any) -> tuple[dict[str, Any], int] | None:
    """A conv/pool module's settings (read by :mod:`convwidget.spec`) and its dimensions."""
    try:
        spec = LayerSpec.from_layer(module)
    except ValueError:
        return None  # not a conv/pool layer
    if spec.norm_type is not None:
        return None  # an LPPool: the explorer draws max and average pools only
    return spec.settings(), spec.ndim


def conv_settings(row: Row) -> dict[str, Any] | None:
    """ConvExplorer keyword arguments for a conv/pool row of a trace, or None.

    1-D and 3-D layers open a 1-D and a 3-D explorer.

    >>> import torch.nn as nn
    >>> from convwidget.tracer import trace
    >>> r = trace(nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.MaxPool2d(2)),
    ...           (1, 3, 32, 32))
    >>> conv_settings(r.rows[1])  # doctest: +NORMALIZE_WHITESPACE
    {'kind': 'max_pool', 'input_size': (16, 16), 'kernel_size': (2, 2), 'stride': (2, 2),
     'padding': (0, 0), 'dilation': (1, 1), 'ceil_mode': False, 'in_channels': 8}
    """
    shape = row.input_shape
    m = row.module
    if row.is_module and m is not None:
        found = _module_settings(m)
        if found is None:
            return None
        s, nd = found
    elif row.call is not None:
        nd = row.call["nd"]
        s = {k: v for k, v in row.call.items() if k != "nd"}
    else:
        return None
    if shape is None or len(shape) < nd:
        return None
    out: dict[str, Any] = {"kind": s.pop("kind"), "input_size": _last2(shape[-nd:], nd, 1)}
    for key in ("kernel_size", "stride", "padding", "dilation", "output_padding"):
        if key in s:
            out[key] = _last2(s.pop(key), nd, 0 if key in ("padding", "output_padding") else 1)
    out.update(s)
    if out["kind"].endswith("pool") and len(shape) > nd:
        out["in_channels"] = int(shape[-nd - 1])  # a pool keeps the channels it receives
    return out


class ModelExplorer(W.VBox):
    """A model's shapes, live: input-size sliders, the per-layer table, the Linear answer.

    Parameters
    ----------
    model_or_text : an ``nn.Module`` (never moved, copied or changed), or pasted PyTorch
        text (see ``convwidget.parse``).
    input_shape : the full input shape, batch first, e.g. ``(1, 3, 32, 32)``.

    Scripted use: :attr:`report` is the current :class:`~convwidget.tracer.TraceReport`,
    :meth:`set_input` moves the size sliders, :meth:`open_layer` opens a conv/pool row in
    a ConvExplorer (:attr:`explorer`).

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(10, 2))
    >>> app = ModelExplorer(net, (1, 3, 32, 32))
    >>> app.report.linear_in_features
    {'3': 1800}
    >>> app.set_input(40).report.linear_in_features
    {'3': 2888}
    """

    def __init__(self, model_or_text: nn.Module | str, input_shape: Sequence[int]) -> None:
        if isinstance(model_or_text, str):
            from ..pasted import parse
            model_or_text = parse(model_or_text)
        self.model = model_or_text
        self.report: TraceReport = trace(self.model, input_shape)  # validates, warms up
        shape = self.report.input_shape
        self._batch_and_channels = shape[:2] if len(shape) >= 3 else shape[:1]
        self._selected: int | None = None
        self._opened_first = False  # the list opens on the first conv (then it is the learner's)
        self.explorer: Any = None
        self._quiet = False
        self.net_picture: Any = None  # the NetPicture drawn into :attr:`picture`, made once

        spatial = shape[len(self._batch_and_channels):]
        names = _DIM_NAMES.get(len(spatial), tuple(f"dim {i}" for i in range(len(spatial))))
        desc = {"description_width": "70px"}
        self.size_sliders = [
            _klass(W.IntSlider(value=n, min=1, max=max(4 * n, 64), description=name,
                               continuous_update=True, style=desc,
                               layout=W.Layout(width="420px")), f"cw-model-size-{name}")
            for n, name in zip(spatial, names, strict=True)]
        self.link = _klass(W.Checkbox(value=len(set(spatial)) == 1 and len(spatial) > 1,
                                      description="same size for all", indent=False),
                           "cw-model-link")
        self.title = _klass(W.HTML(), "cw-model-title")
        self.answer = _klass(W.HTML(), "cw-model-answer")
        self.problems = _klass(W.HTML(), "cw-model-problems")
        self.table = _klass(W.HTML(), "cw-model-table")
        self.picture = _klass(W.Image(format="png"), "cw-model-picture")
        self.picture_dark = _klass(W.Image(format="png"), "cw-model-picture-dark")  # JupyterLab Dark's
        self.range_button = button("which sizes give the same?", "cw-model-range-button")
        self.range_label = _klass(W.HTML(), "cw-model-range")
        self.layer = _klass(W.Dropdown(description="open layer", style=desc,
                                       layout=W.Layout(width="520px")), "cw-model-layer")
        self.conv_box = _klass(W.VBox(), "cw-model-conv")
        self.conv_label = _klass(W.HTML(), "cw-model-conv-label")
        self.error_box = _klass(W.HTML(), "cw-model-error")

        controls = [*self.size_sliders] + ([self.link] if len(spatial) > 1 else [])
        super().__init__([
            _klass(W.HTML(STYLE, layout=W.Layout(display="none")), "cw-style"),
            self.title,
            _klass(W.VBox(controls), "cw-model-controls"),
            self.answer,
            _klass(W.HBox([self.range_button, self.range_label]), "cw-model-range-row"),
            self.picture,
            self.picture_dark,
            self.table,
            self.problems,  # under the table, as the tracer puts them ("the steps listed above")
            self.layer,
            self.conv_box,
            self.error_box,
        ])
        self.add_class("cw-model-explorer")
        for s in self.size_sliders:
            s.observe(self._on_size, names="value")
        self.link.observe(self._on_size, names="value")
        self.range_button.on_click(lambda _b: self.explore_sizes())
        self.layer.observe(self._on_layer, names="value")
        self._show()

    def __repr__(self) -> str:
        """One line: the model, the input, the output and how many problems (the table is
        in the widget, and in ``print(app.report)``)."""
        try:
            rep = self.report
            n = len(rep.problems)
            verdict = "ok" if rep.ok else (f"{n} problem" if n == 1 else f"{n} problems")
            return (f"{type(self).__name__}({rep.model_name}, input {_shape(rep.input_shape)} -> "
                    f"{_shape(rep.output_shape)}, {verdict})")
        except Exception:  # noqa: BLE001 - repr must work even half-built
            return f"<{type(self).__name__}>"

    # ------------------------------------------------------------------ scripting
    @property
    def input_shape(self) -> tuple[int, ...]:
        """The input shape the sliders currently give."""
        return (*self._batch_and_channels, *(s.value for s in self.size_sliders))

    def set_input(self, *sizes: int) -> ModelExplorer:
        """Move the size sliders (one value: all spatial dimensions) and re-trace."""
        values = list(sizes) * len(self.size_sliders) if len(sizes) == 1 else list(sizes)
        if len(values) != len(self.size_sliders):
            raise ValueError(f"set_input needs 1 or {len(self.size_sliders)} sizes, got "
                             f"{len(sizes)}")
        self._quiet = True
        try:
            for s, v in zip(self.size_sliders, values, strict=True):
                s.max = max(s.max, v)
                s.value = v
        finally:
            self._quiet = False
        self._retrace()
        return self

    def open_layer(self, name_or_index: str | int) -> Any:
        """Open a conv/pool row (its name or index) in a ConvExplorer and return it."""
        choices = {v for _, v in self.layer.options if v is not None}
        for r in self.report.rows:
            if (r.index == name_or_index or r.name == name_or_index) and r.index in choices:
                self.layer.value = r.index
                return self.explorer
        raise ValueError(f"no conv/pool step named {name_or_index!r}; choose one of "
                         f"{[lab for lab, _ in self.layer.options[1:]]}")

    def explore_sizes(self) -> Any:
        """Fill the range label: which input sizes give the same flatten shape."""
        try:
            if not self.size_sliders:
                return None
            r = self.report.input_size_range(dim=-1)
        except Exception as err:  # a widget never lets a traceback through
            self.range_label.value = span("bad", f"⚠ {html.escape(str(err))}")
            return None
        name = self.size_sliders[-1].description
        others = ", ".join(f"{s.description} {s.value}" for s in self.size_sliders[:-1])
        self.range_label.value = (
            f"every {name} from <b>{r.low}</b> to <b>{r.high}</b>"
            f"{f' (with {others})' if others else ''} gives {html.escape(_shape(r.shape))} at "
            f"{html.escape(r.at)}: floor division drops the remainder. The smallest {name} the "
            f"layers accept is <b>{r.smallest}</b>.")
        return r

    # ------------------------------------------------------------------ updates
    def _on_size(self, change: dict) -> None:
        if self._quiet:
            return
        if self.link.value and change.get("owner") in self.size_sliders:
            v = change["new"]
            self._quiet = True
            try:
                for s in self.size_sliders:
                    s.max = max(s.max, v)
                    s.value = v
            finally:
                self._quiet = False
        self._retrace()

    def _retrace(self) -> None:
        try:
            self.report = trace(self.model, self.input_shape)
            self.error_box.value = ""
        except Exception as err:  # keep the widget usable, say what happened
            self.error_box.value = span("bad", f"<b>⚠</b> {html.escape(str(err))}")
            return
        self.range_label.value = ""
        self._show()

    def _show(self) -> None:
        rep = self.report
        self.title.value = (f"<b>{html.escape(rep.model_name)}</b> on input "
                            f"{html.escape(_shape(rep.input_shape))} → "
                            f"{html.escape(_shape(rep.output_shape))}")
        self.answer.value = _answer_html(rep)
        self.problems.value = _problems_html(rep)
        self._draw_picture(rep)
        selected = self._selected
        self.table.value = _table_html(rep, selected)
        options: list[tuple[str, int | None]] = [("(choose a conv/pool layer)", None)]
        for r in rep.rows:
            if conv_settings(r) is not None:
                options.append((f"{r.index}: {r.name} ({r.op}) on {_shape(r.input_shape)}",
                                r.index))
        self._quiet = True
        try:
            keep = self.layer.value if self._opened_first else _first_conv(rep, options)
            self._opened_first = True
            self.layer.options = options
            self.layer.value = keep if keep in [v for _, v in options] else None
        finally:
            self._quiet = False
        if self.layer.value is not None:
            self._open(self.layer.value)

    def _draw_picture(self, rep: TraceReport) -> None:
        """The net picture for ``rep``, its artists moved in place (a failing step is drawn
        in the error colour); a drawing error is said in the error box, never raised."""
        try:
            if self.net_picture is None:
                self.net_picture = rep.plot()
            else:
                self.net_picture.update(rep)
            with self.picture.hold_sync(), self.picture_dark.hold_sync():
                self.picture.value = self.net_picture.to_png()
                self.picture_dark.value = self.net_picture.to_png(theme="dark")
        except Exception as err:  # the table still answers; say why the picture did not
            self.error_box.value = span("bad", f"<b>⚠</b> cannot draw the net picture: "
                                               f"{html.escape(str(err))}")

    def _on_layer(self, change: dict) -> None:
        if self._quiet:
            return
        self._open(change["new"])

    def _open(self, index: int | None) -> None:
        self._selected = index
        if index is None:
            self._show_in_box()
            self._close_explorer()
            self.table.value = _table_html(self.report, None)
            return
        row = self.report.rows[index]
        settings = conv_settings(row)
        self.table.value = _table_html(self.report, index)
        if settings is None:
            return
        try:
            if self.explorer is not None:
                self.explorer.set(**settings)  # the same widgets, new settings
            else:
                from .app import ConvExplorer

                self.explorer = ConvExplorer(**settings)
            self.conv_label.value = (f"<b>{html.escape(row.name)}</b> ({html.escape(row.op)}) "
                                     f"receives {html.escape(_shape(row.input_shape))}")
            self._show_in_box(self.conv_label, self.explorer)
        except Exception as err:  # never a traceback in the notebook
            self._close_explorer()
            self._show_in_box(_klass(W.HTML(span(
                "bad", f"⚠ cannot open {html.escape(row.name)} in ConvExplorer: "
                       f"{html.escape(str(err))}")), "cw-model-conv-error"))

    def _show_in_box(self, *children: W.Widget) -> None:
        """Show ``children`` under the table; a message shown before is closed."""
        if self.conv_box.children == children:
            return
        for old in self.conv_box.children:
            if old not in children and old is not self.conv_label and old is not self.explorer:
                close_widget(old)
        self.conv_box.children = children

    def _close_explorer(self) -> None:
        """Release the open ConvExplorer and all its widgets."""
        if getattr(self, "explorer", None) is not None:
            if self.explorer in self.conv_box.children:
                self.conv_box.children = ()
            self.explorer.close()
            self.explorer = None

    def close(self) -> None:
        """Close every widget of the app (and the open ConvExplorer)."""
        if not hasattr(self, "conv_box"):  # half-built: the model or the shape was refused
            super().close()
            return
        self._close_explorer()
        self.net_picture = None  # its figure is not registered with pyplot: dropping it frees it
        close_widget(self.conv_label)  # kept out of the box while no layer is open
        stack = [self]
        while stack:
            widget = stack.pop()
            stack.extend(getattr(widget, "children", ()))
            if widget is not self:
                close_widget(widget)
        layout = self.layout
        super().close()
        layout.close()


def _shape(shape: Sequence[int] | None) -> str:
    return "—" if shape is None else "[" + ", ".join(str(s) for s in shape) + "]"


def _first_conv(rep: TraceReport, options: list[tuple[str, int | None]]) -> int | None:
    """The row the layer list opens on: the first convolution, else the first conv/pool row."""
    choices = [v for _, v in options if v is not None]
    convs = [i for i in choices if "conv" in rep.rows[i].op.lower()]
    return next(iter(convs or choices), None)


def _table_html(rep: TraceReport, selected: int | None) -> str:
    """The tracer's table without its footer: the answer, notes and problems are said once,
    above it (in :attr:`ModelExplorer.answer` and :attr:`ModelExplorer.problems`)."""
    full = report_html(rep, selected=selected)
    head, end, _footer = full.partition("</table>")
    return head + end + "</div>" if end else full


def _notes_html(rep: TraceReport) -> str:
    return "".join(f"<div class='cw-muted'><i>note: {html.escape(n)}</i></div>" for n in rep.notes)


def _answer_html(rep: TraceReport) -> str:
    if not rep.linear_in_features:
        if rep.error:  # the sentence itself is among the problems, said once there
            return (span("bad", "<b>⚠ the forward pass stops</b>") + " (the reason is under problems)"
                    + _notes_html(rep))
        return "No nn.Linear in this model." + _notes_html(rep)
    items = []
    by_name = {r.name: r for r in rep.rows if r.is_module}
    for name, need in rep.linear_in_features.items():
        row = by_name.get(name)
        how = ""
        flat = rep.flatten_row
        if flat is not None and flat.flatten and flat.output_shape and \
                flat.output_shape[-1] == need:
            how = f" = {html.escape(flat.flatten.rsplit(' = ', 1)[0])}"
        have = getattr(row.module, "in_features", None) if row is not None else None
        mark = span("ok", "✓") if have == need else (span("bad", f"⚠ has {have}") if have else "")
        items.append(f"<li><code>{html.escape(name)}</code> needs in_features = "
                     f"<b>{need}</b>{how} {mark}</li>")
    return ("<div><b>Linear in_features needed</b><ul>" + "".join(items) + "</ul></div>"
            + _notes_html(rep))


def _problems_html(rep: TraceReport) -> str:
    if rep.ok:
        return f"<div>{span('ok', '✓ every layer agrees with the shapes it receives')}</div>"
    parts = [f"<div>{span('bad', '<b>⚠ problems</b>')}<ol>"]
    for p in rep.problems:
        code = "\n".join(x for x in (p.fix, p.alternative) if x)
        parts.append(f"<li>{html.escape(p.message)}"
                     + (f"<pre>{html.escape(code)}</pre>" if code else "") + "</li>")
    parts.append("</ol></div>")
    return "".join(parts)
