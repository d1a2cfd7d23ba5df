"""Panels as plain functions: an explorer's results -> HTML, testable without a kernel.

Each function takes the :class:`~convwidget.explorer.state.Results` of one setting (or its
:class:`~convwidget.spec.LayerSpec`) and returns the HTML a panel shows; the CLI, Voila or a
quiz can reuse them. Nothing here holds state.

>>> from convwidget.spec import LayerSpec
>>> from convwidget.explorer.state import compute
>>> r = compute(LayerSpec.from_settings(kernel_size=3, padding=1), (8, 8), run_torch=False)
>>> output_html(r)
"<b style='font-size:1.2em'>Output: 8 × 8</b> (height × width)"
"""

from __future__ import annotations

import html
import math
from collections import Counter
from typing import Any

from ..spec import LayerSpec
from .state import MAX_TAPS, Results, axis_names
from .theme import COLOURS, span

__all__ = [
    "BAD_COLOUR",
    "NOTE_COLOUR",
    "OK_COLOUR",
    "formula_html",
    "output_html",
    "params_html",
    "picture_error_html",
    "receptive_html",
    "refusal_pointer",
    "depth_html",
    "step_html",
    "torch_html",
    "values_html",
]

# Okabe-Ito hues, in the light theme's shade (HTML uses the classes of .theme, which also
# switch to the dark theme's shade): told apart with the common colour-vision deficiencies;
# never the only cue.
OK_COLOUR = COLOURS["ok"][0]
BAD_COLOUR = COLOURS["bad"][0]
NOTE_COLOUR = COLOURS["note"][0]


def fmt(v: float) -> str:
    """A value as the PyTorch panel prints it: whole numbers without a decimal point.

    >>> fmt(12.0), fmt(2.5), fmt(1 / 3)
    ('12', '2.5', '0.3333')
    """
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.4g}"


def plural(n: int, word: str) -> str:
    """A count with its noun: ``1 input cell``, ``2 input cells``.

    >>> plural(1, "input cell"), plural(4, "input cell"), plural(0, "step")
    ('1 input cell', '4 input cells', '0 steps')
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def cells(values: tuple[int, ...], word: str) -> str:
    """``(3, 3)`` cells -> ``'3 × 3 input cells'``; ``(1, 1)`` -> ``'1 × 1 input cell'``."""
    return f"{times(values)} {word}" if math.prod(values) == 1 else f"{times(values)} {word}s"


def times(values: tuple[int, ...] | None) -> str:
    """``(16, 8)`` -> ``'16 × 8'``; None -> ``'—'``."""
    return "—" if values is None else " × ".join(str(v) for v in values)


def output_html(results: Results) -> str:
    """The calculator's headline: the output size, or that PyTorch refuses."""
    if results.output_size is not None:
        return (f"<b style='font-size:1.2em'>Output: {times(results.output_size)}</b> "
                f"({' × '.join(axis_names(len(results.output_size)))})")
    return "<b style='font-size:1.2em'>Output: refused</b> — PyTorch refuses this setting"


def formula_html(results: Results) -> tuple[str, str]:
    """(LaTeX derivation with the refusal sentence, the same derivation as plain text).

    >>> from convwidget.spec import LayerSpec
    >>> from convwidget.explorer.state import compute
    >>> r = compute(LayerSpec.from_settings(kernel_size=3, stride=2, padding=1), (32, 32), run_torch=False)
    >>> formula_html(r)[1].split("</div>")[0]
    '<div>height: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16'
    """
    math_lines, text_lines = [], []
    for name, dim in zip(axis_names(results.spec.ndim), results.explanation.dims, strict=False):
        math_lines.append(f"<div>{name}: \\({dim.latex}\\)</div>")
        text_lines.append(f"<div>{name}: {html.escape(dim.text)}</div>")
    if results.problem:  # said once: beside PyTorch's own text, or here when PyTorch was not run
        said = ("✗ refused: " + refusal_pointer() if results.torch_result is not None
                else f"✗ {html.escape(results.problem)}")
        math_lines.append(f"<div class='cw-bad'>{said}</div>")
    return "".join(math_lines), "".join(text_lines)


def shown_texts(results: Results, step: int) -> dict[str, str]:
    """The texts always in view, as the explorer writes them for ``results`` at ``step``:
    the calculator's headline (``"output"``), the formula (``"formula"``), PyTorch's verdict
    (``"torch"``, empty when PyTorch was not run) and the lit cell (``"step"``). The frames
    ahead carry them (2-D: no depth slice).

    >>> from convwidget.spec import LayerSpec
    >>> from convwidget.explorer.state import compute
    >>> texts = shown_texts(compute(LayerSpec.from_settings(kernel_size=2), (4, 4)), 4)
    >>> sorted(texts), texts["step"][:28], "✓" in texts["torch"]
    (['formula', 'output', 'step', 'torch'], 'output cell (1, 1) reads 4 i', True)
    """
    return {"output": output_html(results), "formula": formula_html(results)[0],
            "torch": torch_html(results), "step": step_html(results, step)}


def refusal_pointer() -> str:
    """What the calculator and the picture say of a refusal whose reason the PyTorch panel gives.

    A refusal is said once, in one place (beside PyTorch's own text); the others point there.
    """
    return "the reason is given once, beside PyTorch's own message (PyTorch refuses …)"


def params_html(spec: LayerSpec) -> str:
    """The parameter count, spelled out (weights per group × groups + bias).

    >>> params_html(LayerSpec.from_settings(kind="max_pool", kernel_size=2))
    'Parameters: 0 (pooling learns nothing)'
    """
    if spec.is_pool:
        return "Parameters: 0 (pooling learns nothing)"
    g = max(spec.groups, 1)
    ks = " · ".join({1: ("kL",), 2: ("kH", "kW")}.get(spec.ndim, ("kD", "kH", "kW")))
    if spec.kind == "conv":
        a, b = spec.out_channels, spec.in_channels
        names = f"out_channels · in_channels/groups · {ks}"
    else:
        a, b = spec.in_channels, spec.out_channels
        names = f"in_channels · out_channels/groups · {ks}"
    taps = "·".join(map(str, spec.kernel_size))
    return (f"Parameters: <b>{spec.parameter_count()}</b> = {a}·{b // g}·{taps} weights + "
            f"{spec.out_channels} bias <span class='cw-muted'>({names} + out_channels)</span>")


def receptive_html(spec: LayerSpec) -> str:
    """How many input cells one output cell reads (a transposed conv: on the stretched grid).

    >>> receptive_html(LayerSpec.from_settings(kernel_size=3, dilation=2))
    'Receptive field: 5 × 5 input cells per output cell, 3 × 3 taps with dilation holes'
    """
    eff = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel_size, spec.dilation, strict=True))
    if spec.kind == "conv_transpose":
        # Count the real input cells a window meets on the stretched grid: taps at j·d,
        # input cells every s; the pattern repeats with period s.
        met = tuple(_most_taps_on_one_phase(k, s, d)
                    for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation, strict=True))
        return (f"Receptive field: a window spans {cells(eff, 'cell')} of the stretched input "
                f"and meets at most {cells(met, 'real input cell')}")
    holes = "" if set(spec.dilation) == {1} else f", {cells(spec.kernel_size, 'tap')} with dilation holes"
    return f"Receptive field: {cells(eff, 'input cell')} per output cell{holes}"


def _most_taps_on_one_phase(k: int, s: int, d: int) -> int:
    """The most taps (at j·d, j < k) that land on real input cells (every s-th cell) at once.

    Tap j meets an input cell when the window starts at offset o ≡ −j·d (mod s): the
    answer is the largest number of taps sharing one residue, in O(k) whatever s is.

    >>> [_most_taps_on_one_phase(k, s, 1) for k, s in ((3, 2), (4, 2), (3, 10**5))]
    [2, 2, 1]
    """
    return max(Counter((-j * d) % s for j in range(k)).values())


def value_meaning(spec: LayerSpec) -> str:
    """What each output value is, for the index input (so a learner can check one by hand)."""
    if spec.kind in ("conv", "conv_transpose"):
        per_group = spec.in_channels // max(spec.groups, 1)
        more = "" if per_group == 1 else f", times {per_group} input channels per group"
        return f", weight = 1, bias = 0: each value is the sum of the indices in the window{more}"
    if spec.kind == "max_pool":
        return ", each value is the largest index in the window (padding never wins)"
    if spec.count_include_pad:
        return ", each value is the window's sum divided by its size, padding counted as 0s"
    return ", each value is the mean of the input cells in the window (padding not counted)"


def values_table(values: list[list[float]], highlight: tuple[int, ...] | None) -> str:
    """PyTorch's output values (channel 0) as a table, the lit cell highlighted (``cw-lit``);
    3-D: the depth slice of the lit cell (``highlight`` is (depth, row, column))."""
    title = "output values (channel 0)"
    if values and isinstance(values[0], list) and values[0] and isinstance(values[0][0], list):
        z = highlight[0] if highlight is not None else 0
        title = f"output values (channel 0, depth slice {z})"
        values, highlight = values[z], (None if highlight is None else highlight[1:])
    if values and not isinstance(values[0], list):  # 1-D: one row
        values = [values]
        highlight = None if highlight is None else (0, *highlight)
    rows = []
    for r, row in enumerate(values):
        cells = []
        for c, v in enumerate(row):
            lit = " class='cw-lit'" if highlight is not None and (r, c) == tuple(highlight) else ""
            cells.append(f"<td{lit} style='padding:1px 5px;text-align:right'>{fmt(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div style='margin-top:4px'>{title}:"
            "<table style='border-collapse:collapse;font-family:monospace;font-size:0.9em'>"
            + "".join(rows) + "</table></div>")


def torch_html(results: Results, highlight: tuple[int, ...] | None = None) -> str:
    """PyTorch's verdict, always in view: one line (the output's torch.Size beside our
    answer), or, for a refusal, PyTorch's own text beside convwidget's sentence (said
    here only). Empty when PyTorch was not run. ``highlight`` is not used (see
    :func:`values_html`); kept for callers that pass it.

    >>> from convwidget.spec import LayerSpec
    >>> from convwidget.explorer.state import compute
    >>> r = compute(LayerSpec.from_settings(kernel_size=3, stride=2), (5, 5))
    >>> torch_html(r)  # doctest: +NORMALIZE_WHITESPACE
    "<b>PyTorch</b>: <b>torch.Size([1, 1, 2, 2])</b>
     <span class='cw-ok'>✓ agrees with the calculator (2 × 2)</span>"
    """
    result = results.torch_result
    if result is None:
        return ""
    if result.ok:
        return f"<b>PyTorch</b>{_layer_named(result)}: {_agreement_html(results, result)}"
    return _refusal_html(results, result)


def _layer_named(result: Any) -> str:
    """Outside 2-D the verdict names the layer that ran (``nn.Conv1d(...)``): the kind of
    layer is no longer the one a reader assumes."""
    if result.spec.ndim == 2:
        return ""
    return f" (<code>{html.escape(result.code)}</code>)"


def values_html(results: Results, highlight: tuple[int, ...] | None = None) -> str:
    """The foldout 'Values PyTorch computed': the layer's code, the input, both shapes, the
    parameter count and the output values with the lit cell highlighted. A refusal is not
    repeated here (it is said once, by :func:`torch_html`).
    """
    result = results.torch_result
    if result is None:
        return ""
    head = (f"<code>{html.escape(result.code)}</code><br>"
            f"<span class='cw-muted'>input: cell indices 0…{math.prod(result.input_shape[2:]) - 1}"
            f"{value_meaning(result.spec)}</span><br>")
    in_shape = ", ".join(map(str, result.input_shape))
    if not result.ok:
        return head + f"torch.Size([{in_shape}]) → refused (the reason is beside PyTorch's own message)"
    shape = ", ".join(map(str, result.output_shape or ()))
    body = head + f"torch.Size([{in_shape}]) → torch.Size([{shape}])"
    if result.parameter_count is not None and not result.spec.is_pool:
        body += f"<br>parameters: {result.parameter_count} (sum of p.numel())"
    if not result.computed:
        body += (f"<br><span class='cw-muted'>not computed here ({result.macs:,} "
                 "multiply-adds, too slow for a slider): the shape is the same layer's on "
                 "the meta device, the spatial checks a one-channel twin's on the CPU</span>")
    if result.values is not None:
        body += values_table(result.values, highlight)
    return body


def _agreement_html(results: Results, result: Any) -> str:
    ours = results.output_size
    shape = ", ".join(map(str, result.output_shape or ()))
    if ours is not None and tuple(result.spatial or ()) == tuple(ours):
        verdict = span("ok", f"✓ agrees with the calculator ({times(ours)})")
    else:
        verdict = span("bad", f"✗ disagrees: PyTorch says {times(result.spatial)}, the calculator "
                              f"says {'refused' if ours is None else times(ours)}")
    return f"<b>torch.Size([{shape}])</b> {verdict}"


def _refusal_html(results: Results, result: Any) -> str:
    ours = results.output_size
    if ours is None:
        verdict = span("ok", "✓ both refuse")
    else:
        verdict = span("bad", f"✗ disagrees: PyTorch refuses, the calculator says {times(ours)}")
    return (
        "<div style='display:flex;gap:12px;flex-wrap:wrap'>"
        f"<div style='flex:1;min-width:220px'><b>PyTorch refuses</b> "
        f"({html.escape(result.error_type or '')}):"
        f"<br><code style='white-space:pre-wrap'>{html.escape(result.error or '')}</code></div>"
        f"<div style='flex:1;min-width:220px'><b>convwidget explains</b>:<br>"
        f"{html.escape(results.problem or '(no explanation)')}</div></div>{verdict}")


def picture_error_html(problem: str | None) -> str:
    """What the picture shows in place of a drawing for a refused setting.

    ``problem`` is the refusal sentence when no other panel says it, or None when the
    PyTorch panel does (then the picture points there instead of repeating it).
    """
    said = ("; the reason is just below, beside PyTorch's own message" if problem is None
            else f". {html.escape(problem)}")
    return ("<div class='cw-refusal-box'>"
            f"<b>Nothing to draw: PyTorch refuses this setting</b>{said}</div>")


def depth_html(results: Results, depth: int) -> str:
    """3-D: which input depth slices output depth slice ``depth`` reads ('' otherwise).

    >>> from convwidget.spec import LayerSpec
    >>> from convwidget.explorer.state import compute
    >>> spec = LayerSpec.from_settings(ndim=3, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
    >>> depth_html(compute(spec, (6, 4, 4), run_torch=False), 0)
    "output depth slice 0 (of 0–2) reads input depth slices 0–1 and 1 of padding · shown: its ..."
    """
    d = results.depth
    if d is None or results.geometry is None or not 0 <= depth < d.output:
        return ""
    taps = d.taps(depth)
    read = sorted({i for i in (d.input_index(t) for t in taps) if i is not None})
    rest = len(taps) - sum(d.input_index(t) is not None for t in taps)
    if not read:
        reads = "only padding/zeros"
    else:
        reads = (f"input depth slice {read[0]}" if len(read) == 1 else
                 f"input depth slices {read[0]}–{read[-1]}" if read == list(range(read[0], read[-1] + 1))
                 else "input depth slices " + ", ".join(map(str, read)))
    if read and rest:
        reads += f" and {rest} of {'padding' if d.stretch == 1 else 'padding/zeros'}"
    plane = math.prod(results.geometry.input_size)
    return (f"output depth slice {depth} (of 0–{d.output - 1}) reads {reads} · shown: its "
            f"height × width plane (cells numbered within a slice; PyTorch's input adds {plane} a slice)")


def step_html(results: Results, step: int, depth: int = 0) -> str:
    """'output cell (r, c) reads ...' for the lit cell, with PyTorch's value there.

    >>> from convwidget.spec import LayerSpec
    >>> from convwidget.explorer.state import compute
    >>> r = compute(LayerSpec.from_settings(kernel_size=2), (4, 4), run_torch=False)
    >>> step_html(r, 4)
    'output cell (1, 1) reads 4 input cells, rows 1–2, cols 1–2'
    """
    geometry = results.geometry
    if geometry is None:
        return ""
    cell = geometry.out_cell(step)
    if results.depth is not None:  # 3-D: the plane's cell at the shown depth slice
        cell = (depth, *cell)
    window = geometry.window(step) if math.prod(geometry.kernel_size) <= MAX_TAPS else None
    if window is None:
        reads = f"reads a {times(results.spec.kernel_size)} window"  # listing its cells is too slow
    elif window.inputs and geometry.ndim == 1:
        at = [i[0] for i in window.inputs]
        reads = f"reads {plural(len(window.inputs), 'input cell')}, {min(at)}–{max(at)}"
    elif window.inputs:  # 2-D, or the plane of a 3-D layer's depth slice
        rows = [i[0] for i in window.inputs]
        cols = [i[1] for i in window.inputs]
        reads = (f"reads {plural(len(window.inputs), 'input cell')}, rows {min(rows)}–{max(rows)}, "
                 f"cols {min(cols)}–{max(cols)}")
        if results.depth is not None:
            reads += " of each input depth slice it reads"
    else:
        reads = "reads only padding/zeros"
    value = ""
    t = results.torch_result
    if t is not None and t.values is not None:
        there: Any = t.values
        for i in cell:
            there = there[i]
        value = f"; PyTorch's value there: <b>{fmt(there)}</b>"
    shown = str(cell[0]) if len(cell) == 1 else ", ".join(map(str, cell))
    return f"output cell {shown if len(cell) == 1 else f'({shown})'} {reads}{value}"
