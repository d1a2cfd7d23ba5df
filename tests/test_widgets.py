"""ConvExplorer without a browser: set `.value` on controls, read the panels.

PyTorch is the oracle: expected shapes come from torch.nn layers built here from the
explorer's settings, never from convwidget's formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import ipywidgets as W
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from models import run_explorer_setting  # tests/ is on sys.path
from torch import nn

from convwidget import ConvExplorer
from convwidget.explorer.picture import png_size
from convwidget.widgets import CSS_CLASSES

KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")


# ---------------------------------------------------------------- oracle and helpers
def torch_output(settings: dict[str, Any]) -> tuple[int, int] | None:
    """Spatial output of the real torch.nn layer for `settings`, or None if torch refuses."""
    try:
        y = run_explorer_setting(settings)
    except (RuntimeError, ValueError) as err:
        assert str(err)
        return None
    return tuple(y.shape[2:])  # type: ignore[return-value]


def text(widget: W.Widget) -> str:
    """Visible text of an HTML widget (tags stripped, entities kept simple)."""
    return re.sub(r"<[^>]+>", "", widget.value).replace("&nbsp;", " ").replace("&#x27;", "'")


def walk(widget: W.Widget) -> Iterator[W.Widget]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def assert_consistent(e: ConvExplorer) -> None:
    """The panels agree with each other and with real torch; nothing escaped as an error."""
    assert e.error_box.layout.display == "none", e.error_box.value
    expected = torch_output(e.settings)
    assert e.output_size == expected, (e.settings, e.output_size, expected)
    panel = text(e.torch_panel)
    if expected is None:
        assert "Output: refused" in text(e.output_label)
        assert "PyTorch refuses" in panel and "✓ both refuse" in panel
        assert e.picture_error.layout.display == ""
        assert e.step.disabled
    else:
        h, w = expected
        assert f"Output: {h} × {w}" in text(e.output_label)
        assert "✓ agrees with the calculator" in panel and "✗" not in panel
        c = e.settings["out_channels"] if e.settings["kind"].startswith("conv") else e.settings["in_channels"]
        assert f"torch.Size([1, {c}, {h}, {w}])" in panel
        if h * w == 0:  # torch's oneDNN kernel returns an empty tensor: nothing to draw, said so
            assert "the output is empty" in text(e.picture_error) and e.step.disabled
            return
        assert e.picture_error.layout.display == "none"
        assert e.step.max == h * w - 1
        assert_cells_show_torchs_values(e)


def assert_cells_show_torchs_values(e: ConvExplorer) -> None:
    """The picture's output cells say what PyTorch's panel computed (3 significant digits)."""
    cells, result = e.state.results.cell_values, e.torch_result
    if cells is None or result is None or result.values is None:
        return
    computed = [v for row in result.values for v in row]
    assert [float(c) for c in cells] == pytest.approx(computed, rel=5e-3, abs=5e-3)
    drawn = e.figure.labels["output"]
    if drawn:  # written when they fit in the cells
        ow = e.output_size[1]
        assert {cell: text for cell, text in drawn} == {divmod(k, ow): text for k, text in enumerate(cells)}


@pytest.fixture
def explorer() -> ConvExplorer:
    return ConvExplorer(kind="conv", input_size=(8, 8), kernel_size=3, stride=1, padding=1)


# ---------------------------------------------------------------- readout
def test_initial_panels(explorer: ConvExplorer) -> None:
    assert explorer.output_size == (8, 8)
    assert_consistent(explorer)
    assert "⌊(8 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 8" in text(explorer.formula_text)
    assert "\\(" in explorer.formula.value  # LaTeX for MathJax
    assert "Parameters: 10" in text(explorer.params)
    assert "3 × 3 input cells" in text(explorer.receptive)
    assert explorer.picture_png()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("control", "value"),
    [("input.h", 13), ("kernel.h", 5), ("stride.h", 2), ("padding.h", 0), ("dilation.h", 2)],
)
def test_moving_a_slider_updates_every_panel(explorer: ConvExplorer, control: str, value: int) -> None:
    pair, part = control.split(".")
    getattr(getattr(explorer, pair), part).value = value
    assert getattr(explorer, pair).w.value == value  # "H = W" is ticked
    assert_consistent(explorer)


def test_square_link(explorer: ConvExplorer) -> None:
    explorer.input.square.value = False
    explorer.input.h.value = 12
    assert explorer.settings["input_size"] == (12, 8)
    assert_consistent(explorer)
    explorer.input.square.value = True
    assert explorer.settings["input_size"] == (12, 12)
    assert explorer.input.w.disabled
    assert_consistent(explorer)


def test_torch_panel_shows_values_that_the_window_sums(explorer: ConvExplorer) -> None:
    explorer.set(input_size=4, kernel_size=2, stride=1, padding=0)
    # 4x4 indices 0..15, a 2x2 window of ones: cell (0, 0) is 0 + 1 + 4 + 5
    explorer.row.value, explorer.col.value = 0, 0
    assert "PyTorch's value there: 10" in text(explorer.step_label)
    explorer.row.value, explorer.col.value = 2, 2
    assert explorer.step.value == 8
    assert "PyTorch's value there: 50" in text(explorer.step_label)  # 10 + 11 + 14 + 15
    assert "output values" in text(explorer.values_panel)  # folded open on demand
    assert "class='cw-lit'" in explorer.values_panel.value  # the lit cell, in the theme's colours


def test_torch_panel_for_a_refused_setting_shows_both_messages(explorer: ConvExplorer) -> None:
    explorer.set(input_size=3, padding=0, kernel_size=5)
    panel = text(explorer.torch_panel)
    assert "Kernel size can't be greater than actual input size" in panel  # torch's own words
    assert "kernel spans 5 cells" in panel  # convwidget's explanation
    assert explorer.output_size is None
    assert_consistent(explorer)
    explorer.kernel.h.value = 3  # still usable
    assert explorer.output_size == (1, 1)
    assert_consistent(explorer)


def test_groups_that_do_not_divide_are_refused_like_torch(explorer: ConvExplorer) -> None:
    explorer.set(in_channels=3, out_channels=6, groups=2)
    assert explorer.output_size is None
    # said once, beside PyTorch's own text (the calculator points there)
    assert "divisible by groups" in text(explorer.torch_panel)
    assert "divisible by groups" not in text(explorer.formula)
    assert_consistent(explorer)
    explorer.in_channels.value = 4
    assert explorer.output_size == (8, 8)
    n = sum(p.numel() for p in nn.Conv2d(4, 6, 3, groups=2).parameters())
    assert f"Parameters: {n} = 6·2·3·3 weights + 6 bias" in text(explorer.params)
    assert_consistent(explorer)


def test_the_layer_runs_with_one_thread_and_restores_the_count(explorer: ConvExplorer) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        explorer.stride.h.value = 2
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------- picture
def test_picture_changes_and_returns_byte_identical(explorer: ConvExplorer) -> None:
    first = explorer.picture_png()
    explorer.stride.h.value = 2
    second = explorer.picture_png()
    assert second != first
    explorer.picture_panel.clear_cache()  # render again rather than reuse the cached frame
    explorer.stride.h.value = 1
    assert explorer.picture_png() == first
    explorer.step.value = 5
    assert explorer.picture_png() != first
    explorer.picture_panel.clear_cache()
    explorer.step.value = 0
    assert explorer.picture_png() == first


def test_step_lights_the_window_brute_force(explorer: ConvExplorer) -> None:
    explorer.set(input_size=(6, 7), kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), dilation=(1, 2))
    assert_consistent(explorer)
    oh, ow = explorer.output_size
    for r in range(oh):
        for c in range(ow):
            explorer.row.value, explorer.col.value = r, c
            assert explorer.step.value == r * ow + c
            lit = explorer.figure.highlighted()
            assert lit["out_cell"] == (r, c)
            # brute force: tap (i, j) of output (r, c) reads input (r·s − p + i·d, c·s − p + j·d)
            expected = {(r * 2 - 1 + i * 1, c * 3 - 0 + j * 2) for i in range(3) for j in range(2)}
            assert set(lit["taps"]) == expected


def test_play_is_linked_to_the_step_slider(explorer: ConvExplorer) -> None:
    link = explorer.play_link
    assert isinstance(link, W.jslink((W.IntSlider(), "value"), (W.IntSlider(), "value")).__class__)
    assert link.source == (explorer.play, "value") and link.target == (explorer.step, "value")
    assert explorer.play.max == explorer.step.max == 63


# ---------------------------------------------------------------- scripting
ROUND_TRIPS = [
    dict(kind="conv", input_size=(32, 32), kernel_size=3, stride=1, padding=1, dilation=1),
    dict(kind="conv", input_size=(9, 12), kernel_size=(3, 5), stride=(2, 1), padding="same"),
    dict(kind="conv", input_size=10, kernel_size=4, padding="valid", in_channels=4, out_channels=8, groups=2),
    dict(kind="conv_transpose", input_size=5, kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kind="max_pool", input_size=7, kernel_size=2, ceil_mode=True),
    dict(kind="max_pool", input_size=(8, 9), kernel_size=3, stride=2, padding=1, dilation=(2, 1)),
    dict(kind="avg_pool", input_size=6, kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False, in_channels=3),
]


@pytest.mark.parametrize("settings", ROUND_TRIPS, ids=lambda s: f"{s['kind']}-{s['input_size']}")
def test_settings_round_trip(settings: dict[str, Any]) -> None:
    e = ConvExplorer(**settings)
    assert_consistent(e)
    again = ConvExplorer(**e.settings)
    assert again.settings == e.settings
    other = ConvExplorer()
    assert other.set(**e.settings) is other
    assert other.settings == e.settings
    assert other.output_size == e.output_size
    assert other.torch_panel.value == e.torch_panel.value
    assert other.formula.value == e.formula.value


def test_set_moves_the_controls_and_updates_once(explorer: ConvExplorer) -> None:
    calls = []
    explorer.state.observe(calls.append, names="results")  # one new result = one panel update
    before = explorer.state.recomputations
    explorer.set(kind="max_pool", input_size=(10, 12), kernel_size=2, stride=2, ceil_mode=True)
    assert len(calls) == 1
    assert explorer.state.recomputations == before + 1
    assert (explorer.kind.value, explorer.input.h.value, explorer.input.w.value) == ("max_pool", 10, 12)
    assert not explorer.input.square.value
    assert explorer.ceil_mode.value and explorer.ceil_mode.layout.display == ""
    assert explorer.output_padding.row.layout.display == "none"
    assert_consistent(explorer)


def test_pool_stride_defaults_to_the_kernel_like_pytorch() -> None:
    e = ConvExplorer(kind="avg_pool", input_size=8, kernel_size=2)
    assert e.settings["stride"] == (2, 2) and e.output_size == (4, 4)


def test_scripted_values_outside_a_range_widen_it_and_are_explained() -> None:
    e = ConvExplorer(kind="max_pool", input_size=100, kernel_size=2, padding=3)
    assert e.input.h.max >= 100
    assert e.settings["padding"] == (3, 3)
    assert e.output_size is None  # torch: pad should be at most half of kernel size
    assert_consistent(e)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(kernel=3), "unknown setting"),
        (dict(kind="conv3d"), "kind must be one of"),
        (dict(input_size=(1, 2, 3, 4)), r"input_size=\(1, 2, 3, 4\) has 4 values but the explorer"),
        (dict(padding="full"), "padding must be"),
        (dict(kind="max_pool", padding="same"), "only for convolutions"),
        (dict(groups=0), "groups must be a positive int"),
        (dict(input_size=(0, 4)), "input_size must be at least 1"),
        (dict(stride=0), "stride must be at least 1"),
        (dict(padding=-1), "padding must be at least 0"),
        (dict(output_padding=(0, -1)), "output_padding must be at least 0"),
    ],
)
def test_bad_settings_name_the_parameter(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConvExplorer(**settings)


# ---------------------------------------------------------------- bounds and visibility
def test_bounds_follow_the_settings(explorer: ConvExplorer) -> None:
    explorer.kind.value = "max_pool"
    explorer.kernel.h.value = 5
    assert explorer.padding.h.max == 2  # PyTorch: at most half the kernel
    explorer.padding.h.value = 2
    explorer.kernel.h.value = 3
    assert explorer.padding.h.max == 1 and explorer.padding.h.value == 1
    assert_consistent(explorer)
    explorer.kind.value = "conv_transpose"
    explorer.stride.h.value = 3
    assert explorer.output_padding.h.max == 2  # < max(stride, dilation)
    explorer.output_padding.h.value = 2
    explorer.stride.h.value = 1
    assert explorer.output_padding.h.max == 0 and explorer.output_padding.h.value == 0
    assert_consistent(explorer)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_shows_its_own_controls(explorer: ConvExplorer, kind: str) -> None:
    explorer.kind.value = kind
    shown = lambda w: w.layout.display != "none"  # noqa: E731
    assert shown(explorer.output_padding.row) == (kind == "conv_transpose")
    assert shown(explorer.ceil_mode) == kind.endswith("pool")
    assert shown(explorer.count_include_pad) == (kind == "avg_pool")
    assert shown(explorer.dilation.row) == (kind != "avg_pool")
    assert shown(explorer.padding_mode) == (kind == "conv")
    assert shown(explorer.groups) == kind.startswith("conv")
    assert_consistent(explorer)


def test_same_padding_mode(explorer: ConvExplorer) -> None:
    explorer.padding_mode.value = "same"
    assert explorer.settings["padding"] == "same" and explorer.padding.h.disabled
    explorer.kernel.h.value = 4
    assert explorer.output_size == (8, 8)
    assert_consistent(explorer)
    explorer.stride.h.value = 2  # PyTorch refuses 'same' with a stride
    assert explorer.output_size is None
    assert_consistent(explorer)
    explorer.kind.value = "max_pool"  # 'same' is a convolution setting: back to a number
    assert explorer.padding_mode.value == "number" and not explorer.padding.h.disabled
    assert_consistent(explorer)


# ---------------------------------------------------------------- robustness
def test_a_failing_callback_is_shown_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    explorer = ConvExplorer(kind="conv", input_size=(8, 8), kernel_size=3, stride=1, padding=1, ahead=False)

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(explorer.figure, "to_png", broken)
    explorer.stride.h.value = 2  # must not raise
    assert explorer.error_box.layout.display == ""
    assert "renderer exploded" in explorer.error_box.value
    assert "Output: 8 × 8" not in text(explorer.output_label)  # calculator still updated (4 × 4)
    monkeypatch.undo()
    explorer.stride.h.value = 3
    assert explorer.error_box.layout.display == "none"
    assert_consistent(explorer)


def sweep_values(slider: W.Widget) -> list[Any]:
    if isinstance(slider, W.Checkbox):
        return [not slider.value, slider.value]
    if isinstance(slider, W.Dropdown):
        options = slider.options
        return [v for _, v in options] if isinstance(options[0], tuple) else list(options)
    lo, hi = slider.min, min(slider.max, 24)
    values = sorted({lo, hi, *range(lo, min(hi, lo + 6) + 1)})
    return values + [slider.value]


@pytest.mark.parametrize("kind", KINDS)
def test_sweep_every_control_no_exception_escapes(kind: str) -> None:
    """Each control over its range (H and W apart), for every kind: nothing escapes, the
    calculator agrees with real torch, or refuses exactly when torch does."""
    e = ConvExplorer(kind=kind, input_size=(5, 6), kernel_size=3, stride=2)
    controls: list[W.Widget] = [e.padding_mode]
    for pair in e.pairs:
        controls += [pair.square, pair.h, pair.w]
        pair.square.value = False
    controls += [e.ceil_mode, e.count_include_pad, e.in_channels, e.out_channels, e.groups]
    swept = 0
    for control in controls:
        if control.layout.display == "none" or control.disabled:
            continue
        for value in sweep_values(control):
            if isinstance(control, W.BoundedIntText):
                value = min(value, 4)
            control.value = value  # an exception escaping here fails the test
            assert_consistent(e)
            swept += 1
    assert swept > 40
    for other in KINDS:
        e.kind.value = other
        assert_consistent(e)


settings_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "input_size": st.tuples(st.integers(1, 12), st.integers(1, 12)),
        "kernel_size": st.tuples(st.integers(1, 6), st.integers(1, 6)),
        "stride": st.tuples(st.integers(1, 4), st.integers(1, 4)),
        "padding": st.one_of(st.tuples(st.integers(0, 4), st.integers(0, 4)),
                             st.sampled_from(["same", "valid"])),
        "dilation": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "output_padding": st.tuples(st.integers(0, 3), st.integers(0, 3)),
        "ceil_mode": st.booleans(),
        "count_include_pad": st.booleans(),
    }
)


@pytest.fixture(scope="module")
def shared_explorer() -> ConvExplorer:
    return ConvExplorer()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=settings_strategy)
def test_scripted_settings_agree_with_torch(shared_explorer: ConvExplorer, s: dict[str, Any]) -> None:
    """Any scripted setting: output_size is torch's, or None exactly when torch refuses."""
    if s["kind"] != "conv" and isinstance(s["padding"], str):
        s["padding"] = 0
    if s["kind"] == "avg_pool":
        s["dilation"] = 1
    if s["kind"] != "conv_transpose":
        s["output_padding"] = 0
    shared_explorer.set(**s)
    assert_consistent(shared_explorer)


# ---------------------------------------------------------------- CSS classes for the browser test
@pytest.mark.parametrize("ahead", [True, False])
def test_every_widget_has_a_cw_class(ahead: bool) -> None:
    explorer = ConvExplorer(kind="conv", input_size=(8, 8), kernel_size=3, stride=1, padding=1, ahead=ahead)
    classes = set()
    for w in walk(explorer):
        own = [c for c in w._dom_classes if c.startswith("cw-")]
        assert own, f"{type(w).__name__} {getattr(w, 'description', '')!r} has no cw- class"
        classes.update(own)
    quiz_only = {c for c in CSS_CLASSES if c.startswith("cw-quiz")}  # test_explorer_quiz.py
    # the picture: the frames ahead (the default; the kernel's PNGs kept hidden for 1-D and
    # 3-D settings), or the kernel's PNGs
    other = set() if ahead else {"cw-picture-ahead"}
    assert set(CSS_CLASSES) - {"cw-picture-live"} - quiz_only - other <= classes
    assert not classes & other
    assert not classes & quiz_only  # the plain explorer has no quiz
    assert "cw-explorer" in explorer._dom_classes


LIVE_CHECK = """
import matplotlib
matplotlib.use("module://ipympl.backend_nbagg")  # what `%matplotlib widget` does
from tests.test_widgets import assert_consistent
from convwidget import ConvExplorer
e = ConvExplorer(input_size=7, kernel_size=3, stride=2)
assert e.live, "live mode follows the ipympl backend"
canvas = e.live_canvas
assert "cw-picture-live" in canvas._dom_classes
assert canvas in e.animation_panel.children and e.picture.layout.display == "none"
assert e.figure.figure is canvas.figure
e.row.value, e.col.value = 1, 2
assert e.figure.highlighted()["out_cell"] == (1, 2)
e.kernel.h.value = 9  # refused: the explanation replaces the drawing on the canvas too
assert e.figure.error is not None and "kernel" in e.figure.error
assert_consistent(e)
e.kernel.h.value = 3  # drawn again, the lit cell the one the sliders name
assert e.figure.error is None
assert e.figure.highlighted()["out_cell"] == (e.row.value, e.col.value), (e.row.value, e.col.value)
print("live ok")
"""


def test_live_mode_draws_on_an_ipympl_canvas() -> None:
    """In a subprocess: importing ipympl switches Matplotlib's backend for the whole process."""
    import importlib.util
    import os
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("ipympl") is None:  # not importorskip: importing it switches backends
        pytest.skip("ipympl is not installed")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join([str(root), str(root / "tests")])}
    done = subprocess.run([sys.executable, "-c", LIVE_CHECK], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "live ok" in done.stdout


def test_live_mode_needs_ipympl_chosen_first() -> None:
    import sys

    if "ipympl" in sys.modules:
        pytest.skip("ipympl already imported in this process")
    with pytest.raises(ValueError, match="matplotlib widget"):
        ConvExplorer(live=True)
    assert not ConvExplorer().live
    assert "ipympl" not in sys.modules  # nothing switched the user's backend


# ---------------------------------------------------------------- export buttons
def download(link_html: str) -> tuple[str, bytes]:
    """The file name and the bytes of the download link in ``link_html``."""
    import base64

    match = re.search(r"<a download='([^']+)' href='data:[a-z/]+;base64,([A-Za-z0-9+/=]+)'", link_html)
    assert match, link_html[:300]
    return match.group(1), base64.b64decode(match.group(2))


@pytest.mark.parametrize(("button", "ext", "magic"), [("export_gif", "gif", b"GIF8"),
                                                      ("export_html", "html", b"<!DOCTYPE html>")])
def test_export_buttons_offer_a_download_and_write_nothing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, button: str, ext: str, magic: bytes
) -> None:
    monkeypatch.chdir(tmp_path)  # under Voila: the served folder
    e = ConvExplorer(input_size=5, kernel_size=3, stride=2, padding=1)
    seen: list[int] = []
    e.export_progress.observe(lambda change: seen.append(change["new"]), names="value")
    getattr(e, button).click()
    assert e.error_box.layout.display == "none", e.error_box.value
    assert not list(tmp_path.iterdir())  # nothing written where the kernel runs
    name, data = download(e.export_link.value)
    assert name.endswith(f".{ext}") and data.startswith(magic)
    assert seen[-1] == e.export_progress.max == 9  # one tick per output cell
    assert e.export_progress.layout.display == "none"  # hidden again when done
    if ext == "gif":
        from PIL import Image

        with Image.open(__import__("io").BytesIO(data)) as gif:
            assert gif.n_frames == 9


def test_an_export_over_the_link_bound_says_so_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from convwidget.explorer import exporting

    monkeypatch.setattr(exporting, "MAX_LINK_BYTES", 1000)
    e = ConvExplorer(input_size=5, kernel_size=3)
    e.export_html.click()
    shown = text(e.export_link)
    assert "href" not in e.export_link.value and "base64" not in e.export_link.value
    assert shown.count("more than the") == 1 and "to_html(" in shown


def test_export_of_a_refused_setting_says_so(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    e = ConvExplorer(input_size=2, kernel_size=5)
    e.export_gif.click()
    assert "Nothing to export" in e.export_link.value
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- receptive field, via torch's gradients
def gradient_footprint(layer: nn.Module, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(largest span, largest count of distinct input rows/cols) any one output cell reads,
    measured by back-propagating from each output cell of the real layer."""
    with torch.no_grad():
        for p in layer.parameters():
            p.fill_(1.0)
    x = torch.ones(1, 1, *size, requires_grad=True)
    y = layer(x)
    spans, counts = [0, 0], [0, 0]
    for r in range(y.shape[2]):
        for c in range(y.shape[3]):
            (g,) = torch.autograd.grad(y[0, 0, r, c], x, retain_graph=True)
            nz = g[0, 0].nonzero()
            for dim in (0, 1):
                idx = nz[:, dim].unique()
                if len(idx):
                    spans[dim] = max(spans[dim], int(idx.max() - idx.min()) + 1)
                    counts[dim] = max(counts[dim], len(idx))
    return (spans[0], spans[1]), (counts[0], counts[1])


@pytest.mark.parametrize(
    "settings",
    [
        dict(kind="conv", kernel_size=(3, 2), stride=2, padding=0, dilation=(2, 3)),
        dict(kind="avg_pool", kernel_size=(3, 2), stride=1),
        dict(kind="conv_transpose", kernel_size=3, stride=2, padding=1),
        dict(kind="conv_transpose", kernel_size=(4, 5), stride=(3, 2), dilation=(1, 2)),
    ],
)
def test_receptive_field_matches_torch_gradients(settings: dict[str, Any]) -> None:
    e = ConvExplorer(input_size=(12, 12), **settings)
    s = e.settings
    if s["kind"] == "conv":
        layer: nn.Module = nn.Conv2d(1, 1, s["kernel_size"], s["stride"], s["padding"], s["dilation"])
    elif s["kind"] == "avg_pool":
        layer = nn.AvgPool2d(s["kernel_size"], s["stride"], s["padding"])
    else:
        layer = nn.ConvTranspose2d(1, 1, s["kernel_size"], s["stride"], s["padding"],
                                   dilation=s["dilation"])
    spans, counts = gradient_footprint(layer, (12, 12))
    numbers = [tuple(map(int, m)) for m in re.findall(r"(\d+) × (\d+)", text(e.receptive))]
    if s["kind"] == "conv_transpose":
        assert numbers[1] == counts  # real input cells one output cell meets
    else:
        assert numbers[0] == spans  # the window's span, holes included


def test_a_resnet_sized_layer_stays_fast_and_exact() -> None:
    """256 channels on 56×56 would take ~1 s per slider move: shape via meta, no values."""
    e = ConvExplorer(input_size=56, kernel_size=3, padding=1, in_channels=256, out_channels=256)
    assert_consistent(e)
    assert e.torch_result is not None and not e.torch_result.computed
    assert "not computed here" in text(e.values_panel)
    assert "Parameters: 590080" in text(e.params)
    e.stride.h.value = 2
    assert e.output_size == (28, 28)
    assert_consistent(e)


def test_no_two_widgets_share_a_layout(explorer: ConvExplorer) -> None:
    """Hiding one control must not hide another (a shared Layout once hid in_channels for pools)."""
    layouts = [w.layout for w in walk(explorer) if hasattr(w, "layout")]
    assert len({id(layout) for layout in layouts}) == len(layouts)
    explorer.kind.value = "max_pool"
    assert explorer.in_channels.layout.display != "none"
    assert explorer.out_channels.layout.display == "none"


@pytest.mark.parametrize("kind", ["conv", "conv_transpose"])
def test_values_with_several_channels_per_group(kind: str) -> None:
    e = ConvExplorer(kind=kind, input_size=4, kernel_size=2, in_channels=4, out_channels=2, groups=2)
    assert "times 2 input channels per group" in text(e.values_panel)
    e.row.value, e.col.value = 1, 1
    window = e.figure.geometry.window(e.step.value)
    expected = 2 * sum(r * 4 + c for r, c in window.inputs)
    assert f"PyTorch's value there: {expected}" in text(e.step_label)


def test_set_leaves_unnamed_controls_alone() -> None:
    e = ConvExplorer(kind="max_pool", input_size=8, kernel_size=4, padding=2)
    e.set(kernel_size=2)  # padding 2 > kernel/2: PyTorch refuses, and the explorer says so
    assert e.settings["padding"] == (2, 2)
    assert e.output_size is None
    assert_consistent(e)
    e.kernel.h.value = 3  # a learner moving the slider gets the bounds: padding clamped to 1
    assert e.settings["padding"] == (1, 1)
    assert_consistent(e)


# ---------------------------------------------------- idle prefetch (in a running event loop, as in a kernel)
def test_prefetch_renders_the_next_notch_while_idle() -> None:
    import asyncio

    async def scenario() -> None:
        e = ConvExplorer(input_size=9, kernel_size=3, padding=1, ahead=False)
        cold = ConvExplorer(input_size=9, kernel_size=3, padding=1, stride=3, ahead=False)
        cold.prefetch = False
        e.stride.h.value = 2  # moving up: stride 3 is likely next, then 1
        assert e.prefetched == 0  # nothing happens while the change is being handled
        await asyncio.sleep(0.5)
        assert e.prefetched == 1  # stride 3 (stride 1 was already in the cache)
        frames = len(e.picture_panel.frames)
        e.stride.h.value = 3
        assert len(e.picture_panel.frames) == frames  # served from the cache
        assert e.picture.value == cold.picture.value  # byte-identical to a cold render
        assert_consistent(e)
        assert e.figure.highlighted()["out_cell"] == (0, 0)  # the figure follows the picture again
        # a drag (changes faster than prefetch_delay) never starts prefetching
        count = e.prefetched
        for v in (4, 5, 6, 5, 4):
            e.stride.h.value = v
            await asyncio.sleep(0)
        assert e.prefetched == count
        # set() cancels anything pending
        e.stride.h.value = 2
        e.set(kernel_size=5)
        await asyncio.sleep(0.3)
        assert e.prefetched == count
        assert_consistent(e)

    _run_in_own_loop(scenario)


def test_prefetch_walks_ahead_of_the_animation() -> None:
    import asyncio

    async def scenario() -> None:
        e = ConvExplorer(input_size=5, kernel_size=3, ahead=False)
        e.step.value = 3
        await asyncio.sleep(0.3)
        assert e.prefetched == 1
        frames = len(e.picture_panel.frames)
        e.step.value = 4
        assert len(e.picture_panel.frames) == frames
        assert e.figure.highlighted()["out_cell"] == (1, 1)

    _run_in_own_loop(scenario)


def test_in_a_kernel_the_dark_picture_follows_in_the_next_loop_turn() -> None:
    import asyncio

    first = ConvExplorer(input_size=9, kernel_size=3, padding=1, ahead=False)  # outside a loop: both at once
    script = ConvExplorer(input_size=9, kernel_size=3, padding=1, stride=2, ahead=False)

    async def scenario() -> None:
        e = ConvExplorer(input_size=9, kernel_size=3, padding=1, ahead=False)
        e.prefetch = False
        old_dark = e.picture_dark.value
        assert old_dark == first.picture_dark.value  # the first picture: both at once
        e.stride.h.value = 2
        assert e.picture.value == script.picture.value  # the light picture with the change
        assert e.picture_dark.value == old_dark  # the dark one a loop turn later
        await asyncio.sleep(0)
        assert e.picture_dark.value == script.picture_dark.value != old_dark
        assert (e.picture_dark.width, e.picture_dark.height) == (e.picture.width, e.picture.height)
        # a change before that turn: only its own dark picture is rendered
        e.stride.h.value = 3
        e.stride.h.value = 1
        await asyncio.sleep(0)
        assert (e.picture.value, e.picture_dark.value) == (first.picture.value, first.picture_dark.value)
        assert not any(key[0].output_size == (3, 3) for key in e.picture_panel.frames)  # stride 3: not drawn
        assert_consistent(e)

    _run_in_own_loop(scenario)


@pytest.mark.slow
def test_a_notebook_run_without_a_page_saves_both_pictures_of_the_final_setting(tmp_path) -> None:
    """``nbconvert --execute`` keeping the widget state saves only the messages sent while a
    cell runs (the README's way to a static export, where ``ahead=False`` keeps the kernel's
    own pictures): after a later cell changes the settings (``.set()``, a state trait, a
    slider), the saved light and dark pictures are both the final setting's, as a script
    draws them. The dark one was left to the loop's next turn and saved one setting behind."""
    import base64
    import json

    import nbformat
    from browser import notebook_json  # tests/ is on sys.path
    from nbconvert.preprocessors import ExecutePreprocessor

    first = {"input_size": 7, "kernel_size": 3, "padding": 1}
    final = [{**first, "kernel_size": 2, "stride": 2}, {**first, "stride": 2},
             {**first, "padding": 0}]
    cells = ["from convwidget import ConvExplorer\n"
             f"explorers = [ConvExplorer(**{first!r}, ahead=False) for _ in range(3)]",
             "display(*explorers)",
             "explorers[0].set(kernel_size=2, stride=2)\nexplorers[1].state.stride = 2\n"
             "explorers[2].padding.h.value = 0",
             "import json\nprint(json.dumps([[e.picture.model_id, e.picture_dark.model_id] "
             "for e in explorers]))"]
    notebook = nbformat.reads(notebook_json(*cells), as_version=4)
    ExecutePreprocessor(timeout=180, kernel_name="python3", store_widget_state=True).preprocess(
        notebook, {"metadata": {"path": str(tmp_path)}})
    ids = json.loads(notebook.cells[-1].outputs[0]["text"])
    saved = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]

    def png(model_id: str) -> bytes:
        (buffer,) = saved[model_id]["buffers"]
        return base64.b64decode(buffer["data"])

    for setting, (light, dark) in zip(final, ids, strict=True):
        script = ConvExplorer(**setting, ahead=False)  # outside a loop: both pictures at once
        assert png(light) == script.picture_png("light"), setting
        assert png(dark) == script.picture_png("dark"), setting
        assert png(dark) != ConvExplorer(**first, ahead=False).picture_png("dark")


def test_repr_is_the_settings(explorer: ConvExplorer) -> None:
    assert repr(explorer).startswith("ConvExplorer(kind='conv', input_size=(8, 8), kernel_size=(3, 3)")
    assert repr(explorer).endswith("-> output_size=(8, 8)")
    plain = explorer._repr_mimebundle_()["text/plain"]  # ipywidgets cuts it at 110 characters
    assert repr(explorer).startswith(plain.rstrip("…"))


def _run_in_own_loop(scenario) -> None:
    """asyncio.run in a fresh thread: another test's Playwright may own this thread's loop."""
    import asyncio
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as err:  # re-raised in the test's thread
            errors.append(err)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the scenario did not finish within 60 s"
    if errors:
        raise errors[0]


# ---------------------------------------------------------------- one screen, themes, projector
def test_one_screen_layout_two_columns_and_closed_foldouts(explorer: ConvExplorer) -> None:
    left, right = explorer.main.children
    assert "cw-left" in left._dom_classes and "cw-right" in right._dom_classes
    assert explorer.controls in left.children and explorer.calculator_panel in left.children
    assert explorer.formula in explorer.calculator_panel.children
    assert explorer.animation_panel in right.children and explorer.torch_panel in right.children
    width = png_size(explorer.picture_png())[0]  # shown at its natural size (ahead.js, or the Image)
    assert int(left.layout.width.removesuffix("px")) + width <= 930
    # the right column keeps the picture's width when a refusal hides the picture (no wrap)
    assert width <= int(right.layout.width.removesuffix("px")) <= 930 - 330 - 8
    assert explorer.foldouts.selected_index is None  # every long panel folded at first
    assert explorer.foldouts.titles == ("Channels, values and the lit cell's sum", "Values PyTorch computed",
                                        "Parameters and receptive field", "Export")
    assert explorer.values_panel in explorer.foldouts.children
    assert explorer.export_row in explorer.foldouts.children
    # the verdict stays in view, on one line
    panel = text(explorer.torch_panel)
    assert "\n" not in panel and "<br>" not in explorer.torch_panel.value and len(panel) < 80, panel
    extra = explorer.add_foldout("Channels", W.HTML("channels view"))
    assert explorer.foldouts.children[-1] is extra and explorer.foldouts.titles[-1] == "Channels"
    assert explorer.foldouts.selected_index is None


def test_the_picture_is_shown_at_its_natural_size_in_both_colourings() -> None:
    """The kernel's PNG picture (ahead=False; ahead.js shows its frames unscaled itself)."""
    explorer = ConvExplorer(kind="conv", input_size=(8, 8), kernel_size=3, stride=1, padding=1, ahead=False)

    for image in (explorer.picture, explorer.picture_dark):
        assert image.value[:8] == b"\x89PNG\r\n\x1a\n"
        assert (image.width, image.height) == tuple(str(v) for v in png_size(image.value))
    assert "cw-picture-dark" in explorer.picture_dark._dom_classes
    assert explorer.figure.to_png()[16:24] == explorer.picture.value[16:24]  # the figure's own size
    explorer.set(kernel_size=11)  # refused: both pictures hidden, the box says so
    assert explorer.picture.layout.display == explorer.picture_dark.layout.display == "none"
    explorer.set(kernel_size=3)
    assert explorer.picture.layout.display == explorer.picture_dark.layout.display == ""
    key = next(iter(explorer._frames))
    light, dark = explorer._frames[key]  # the cache keeps the light and the dark frame
    assert light != dark and (light, dark) == (explorer.figure.to_png(theme="light"),
                                               explorer.figure.to_png(theme="dark"))


def test_theme_colours_reach_4_5_to_1_in_light_and_dark() -> None:
    from convwidget.explorer import theme

    light_bg, dark_bg = theme.LIGHT_BACKGROUND, theme.DARK_BACKGROUND
    for name, (light, dark) in theme.COLOURS.items():
        assert theme.contrast(light, light_bg) >= 4.5, (name, light)
        assert theme.contrast(dark, dark_bg) >= 4.5, (name, dark)
        assert f".cw-{name}{{color:{light}}}" in theme.STYLE
        assert f'body[data-jp-theme-light="false"] .cw-{name}{{color:{dark}}}' in theme.STYLE
    for mode, bg in (("light", light_bg), ("dark", dark_bg)):
        muted = theme.blend(theme.MUTED_IN_THEME[mode], bg)
        assert theme.contrast(muted, bg) >= 4.5, mode
        back, fore = theme.LIT[mode]
        assert theme.contrast(fore, back) >= 4.5, mode
    assert theme.contrast(theme.MUTED_VARIABLE[1], light_bg) >= 4.5  # the fallback
    # the folded panels' titles: primary text on ipywidgets' header grey (--jp-layout-color2)
    assert ".cw-explorer .jupyter-widget-Collapse-header{color:var(--jp-ui-font-color1" in theme.STYLE
    for ink, header in (((0, 0, 0, 0.87), "#eeeeee"), ((255, 255, 255, 0.87), "#424242")):
        assert theme.contrast(theme.blend(ink, header), header) >= 4.5
    for border in theme.BORDERS.values():  # not text: 3:1 (WCAG 1.4.11)
        assert theme.contrast(border, light_bg) >= 3 and theme.contrast(border, dark_bg) >= 3


def test_panels_name_classes_not_colours() -> None:
    def htmls() -> list[str]:
        return [w.value for w in walk(e)
                if isinstance(w, (W.HTML, W.HTMLMath)) and "cw-style" not in w._dom_classes]

    e = ConvExplorer(input_size=4, kernel_size=2)
    shown = htmls()
    e.set(kernel_size=9)
    for value in shown + htmls():
        assert not re.search(r"color\s*:", value), value[:200]  # a class of .theme, both themes
        assert "#555" not in value and "#666" not in value and "#333" not in value
    styles = [w for w in walk(e) if "cw-style" in w._dom_classes]
    assert len(styles) == 1 and styles[0].value.startswith("<style>")


def test_play_speed_sets_the_interval() -> None:
    e = ConvExplorer(input_size=64, kernel_size=3, stride=2)
    assert e.play.interval == 400 and e.speed.value == 2.5
    e.speed.value = 50.0
    assert e.play.interval == 20  # a 64x64 pass (1,024 steps) in about 20 s
    e.speed.value = 1.0
    assert e.play.interval == 1000
    e.step.value = 5
    assert e.step_counter.value == f"step 6/{e.step.max + 1}"  # counted from 1, as the picture does
    assert e.figure.caption.startswith(f"step 6/{e.step.max + 1}:")


def test_projector_mode_scales_text_and_picture() -> None:
    e = ConvExplorer(input_size=5, kernel_size=3)
    small = png_size(e.picture_png())
    e.presentation_button.value = True
    assert "cw-presentation-on" in e._dom_classes and e.presentation
    assert e.input.h.layout.width == "240px" and e.main.children[0].layout.width == "495px"  # 1.5x
    big = png_size(e.picture_png())
    assert big == (round(small[0] * 1.5), round(small[1] * 1.5))
    e.stride.h.value = 2  # still exact at the new size
    assert_consistent(e)
    e.presentation = False
    assert "cw-presentation-on" not in e._dom_classes
    assert e.input.h.layout.width == "160px" and e.main.children[0].layout.width == "330px"
    assert png_size(e.picture_png()) == small
    assert ConvExplorer(presentation=True).presentation_button.value


@pytest.mark.parametrize("setting", [
    # kernel above 3 x 3: torch's oneDNN kernel returns an empty (0, 4) tensor
    dict(input_size=(2, 1), kernel_size=4, stride=(2, 1), padding=(3, 0)),
    # a 3 x 3 kernel at batch 1: torch's slow kernel refuses the same 0
    dict(input_size=(2, 2), kernel_size=3, stride=1, padding=2),
])
def test_a_transposed_output_of_zero_cells_is_what_torch_answers(explorer: ConvExplorer, setting) -> None:
    """An empty output where torch returns one (said, nothing drawn); a refusal where torch refuses."""
    explorer.set(kind="conv_transpose", output_padding=0, dilation=1, **setting)
    assert_consistent(explorer)


def test_the_channel_view_draws_only_while_its_section_is_open(explorer: ConvExplorer) -> None:
    """Folded, the channel view costs a slider nothing; opened, it catches up with the setting and
    its sum is PyTorch's value; a quiz hides it with the other answers."""
    view = explorer.values_view
    explorer.set(in_channels=2, out_channels=2, input_size=6, stride=2)
    assert view.updates == 0 and not view.active
    explorer.foldouts.selected_index = explorer.foldouts.children.index(view)
    assert view.active and view.updates == 1
    assert view.pictures and "✓" in text(view.sum_line)  # cellmath's sum agrees with PyTorch's value
    explorer.set(stride=1)
    assert view.updates == 2
    explorer.foldouts.selected_index = None
    explorer.set(stride=2)
    assert view.updates == 2 and not view.active


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_the_output_cells_show_pytorchs_values_and_the_divisor_changes_them(explorer: ConvExplorer,
                                                                             count_include_pad: bool) -> None:
    """Issue 12: the lit cell read 0 where PyTorch's value was 12. The cells now hold PyTorch's
    values; an average pool's count_include_pad changes them, and so the picture."""
    explorer.set(kind="conv", input_size=5, kernel_size=3, stride=2, padding=1)
    assert explorer.state.results.cell_values[0] == "12"
    assert_consistent(explorer)
    explorer.set(kind="avg_pool", count_include_pad=count_include_pad)
    assert_consistent(explorer)
    other = ConvExplorer(kind="avg_pool", input_size=5, kernel_size=3, stride=2, padding=1,
                         count_include_pad=not count_include_pad)
    assert other.picture_png() != explorer.picture_png()
    assert_consistent(other)


def test_frames_ahead_take_the_pictures_place_and_follow_refusals_and_the_projector() -> None:
    """ConvExplorer(ahead=True): the browser-side frames replace the PNG picture (which rests:
    no bytes sent twice); a refusal hides them for its sentence; projector mode redraws them."""
    e = ConvExplorer(input_size=16, kernel_size=3, padding=1, ahead=True)
    widget = e.ahead.widget
    assert e.animation_panel.children[0] is widget
    # the PNG pictures rest, hidden and empty (kept for a 1-D or 3-D setting)
    assert all(i.layout.display == "none" and not i.value for i in e.picture_panel.images)
    assert len(widget.value) > 100 and not e.picture_panel.prefetch
    small = len(widget.value)
    e.set(kernel_size=40)  # refused: the sentence in the picture's place, the frames hidden
    assert widget.layout.display == "none" and e.picture_error.layout.display == ""
    e.set(kernel_size=3)
    assert widget.layout.display == "" and e.picture_error.layout.display == "none"
    e.presentation = True
    assert len(widget.value) > small  # 1.5 times bigger
    quiz = ConvExplorer(quiz=True, ahead=True, seed=1)  # a quiz keeps its own picture
    assert quiz.ahead is None
    for x in (e, quiz):
        x.close()
