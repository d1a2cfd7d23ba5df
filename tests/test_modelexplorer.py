"""ModelExplorer without a browser: set ``.value`` on controls, check the readouts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).parent))

from models import AudioNet, CifarNet, LeNet, VideoNet  # noqa: E402

from convwidget.modelexplorer import ModelExplorer, conv_settings  # noqa: E402
from convwidget.tracer import trace  # noqa: E402


@pytest.fixture(scope="module")
def app() -> ModelExplorer:
    return ModelExplorer(CifarNet(fc_in=1024), (1, 3, 32, 32))


def test_answer_table_and_fix_show_4096(app: ModelExplorer) -> None:
    app.set_input(32)
    assert "<b>4096</b> = 256 channels × 4 × 4" in app.answer.value
    assert "⚠ has 1024" in app.answer.value
    assert "nn.Linear(4096, 1024)  # 256 channels × 4 × 4 after conv_layer.17" in \
        app.problems.value
    assert "nn.LazyLinear(1024)" in app.problems.value
    assert '<tr class="cw-flatten">' in app.table.value
    assert "flatten: 256 channels × 4 × 4 = 4096" in app.table.value
    assert "needs in_features=4096" in app.table.value


def test_css_classes_for_browser_tests(app: ModelExplorer) -> None:
    assert "cw-model-explorer" in app._dom_classes
    for widget, name in [(app.table, "cw-model-table"), (app.answer, "cw-model-answer"),
                         (app.problems, "cw-model-problems"), (app.layer, "cw-model-layer"),
                         (app.conv_box, "cw-model-conv"), (app.link, "cw-model-link"),
                         (app.range_label, "cw-model-range"),
                         (app.range_button, "cw-model-range-button"),
                         (app.size_sliders[0], "cw-model-size-height"),
                         (app.size_sliders[1], "cw-model-size-width")]:
        assert name in widget._dom_classes


def test_linked_sliders_retrace_live(app: ModelExplorer) -> None:
    app.set_input(32)
    assert app.link.value
    app.size_sliders[1].value = 40
    assert app.input_shape == (1, 3, 40, 40)
    assert app.report.linear_in_features["fc_layer.1"] == 256 * 5 * 5
    assert "<b>6400</b> = 256 channels × 5 × 5" in app.answer.value
    app.link.value = False
    app.size_sliders[0].value = 16
    assert app.input_shape == (1, 3, 16, 40)
    assert app.report.linear_in_features["fc_layer.1"] == 256 * 2 * 5
    app.link.value = True
    app.set_input(32)
    assert app.input_shape == (1, 3, 32, 32)


def test_slider_to_a_size_the_model_refuses_keeps_the_widget_usable(app: ModelExplorer) -> None:
    app.size_sliders[0].value = 4
    assert app.report.error is not None
    assert "cannot take input" in app.problems.value
    assert "forward pass stops" in app.answer.value or "needs" not in app.answer.value
    app.set_input(32)
    assert app.report.linear_in_features["fc_layer.1"] == 4096


def test_choosing_a_pool_row_opens_conv_explorer_with_its_settings(app: ModelExplorer) -> None:
    app.set_input(32)
    labels = [label for label, _ in app.layer.options]
    assert "17: conv_layer.17 (MaxPool2d) on [1, 256, 8, 8]" in labels
    app.layer.value = 17
    explorer = app.explorer
    assert explorer is not None and explorer in app.conv_box.children
    s = explorer.settings
    assert (s["kind"], s["input_size"], s["kernel_size"], s["stride"]) == (
        "max_pool", (8, 8), (2, 2), (2, 2))
    assert explorer.output_size == app.report.rows[17].output_shape[2:]
    assert "cw-selected" in app.table.value
    # a slider move updates the open explorer to the new input it receives
    app.set_input(40)
    assert app.explorer.settings["input_size"] == (10, 10)
    assert app.explorer.output_size == (5, 5)
    app.layer.value = 0  # a convolution
    s = app.explorer.settings
    assert (s["kind"], s["input_size"], s["padding"], s["in_channels"], s["out_channels"]) == (
        "conv", (40, 40), (1, 1), 3, 32)
    app.layer.value = None
    assert app.conv_box.children == () and app.explorer is None
    app.set_input(32)


def test_range_button_fills_the_range(app: ModelExplorer) -> None:
    app.set_input(32)
    app.range_button.click()
    assert "from <b>32</b> to <b>39</b>" in app.range_label.value
    assert "smallest width the layers accept is <b>8</b>" in app.range_label.value
    app.set_input(33)
    assert app.range_label.value == ""  # stale range cleared


def test_functional_pool_rows_open_too() -> None:
    app = ModelExplorer(LeNet(), (1, 1, 32, 32))
    explorer = app.open_layer("F.max_pool2d(x, 2)")
    assert explorer.settings["kind"] == "max_pool"
    assert explorer.settings["input_size"] == (10, 10)
    assert explorer.output_size == (5, 5)
    with pytest.raises(ValueError, match="no conv/pool step named 'nope'"):
        app.open_layer("nope")
    with pytest.raises(ValueError, match="no conv/pool step named 'fc1'"):
        app.open_layer("fc1")  # a Linear: not a window to slide


def test_pasted_text_and_a_clean_model() -> None:
    app = ModelExplorer("nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Linear(8 * 15 * 15, 10)",
                        (1, 3, 32, 32))
    assert app.report.ok
    assert "✓ every layer agrees" in app.problems.value
    assert "<b>1800</b> = 8 channels × 15 × 15 <span class='cw-ok'>✓</span>" in app.answer.value
    assert "note: inserted nn.Flatten()" in app.answer.value


def test_one_and_three_dimensional_models() -> None:
    audio = ModelExplorer(AudioNet(), (1, 1, 8000))
    assert [s.description for s in audio.size_sliders] == ["length"]
    assert audio.report.ok
    ex = audio.open_layer("features.0")
    assert ex.settings["ndim"] == 1 and ex.settings["input_size"] == (8000,)  # a 1-D explorer
    assert ex.settings["kernel_size"] == (80,) and ex.settings["stride"] == (16,)
    assert ex.output_size == (496,)
    video = ModelExplorer(VideoNet(), (1, 1, 32, 64, 64))
    assert [s.description for s in video.size_sliders] == ["depth", "height", "width"]
    video.set_input(32, 64, 72)
    assert video.report.linear_in_features["fc"] == 16 * 4 * 8 * 9


def test_model_untouched_by_the_widget() -> None:
    model = CifarNet(fc_in=4096, width=8)
    params = [(p, p.detach().clone()) for p in model.parameters()]
    model.train()
    app = ModelExplorer(model, (2, 3, 32, 32))
    app.set_input(48)
    app.layer.value = 5
    assert all(p is q and torch.equal(p, v) for (p, v), q in zip(params, model.parameters(), strict=True))
    assert all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_conv_settings_for_transposed_and_avg_pool() -> None:
    model = nn.Sequential(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
                          nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                       count_include_pad=False), nn.ReLU())
    r = trace(model, (1, 4, 5, 6))
    t, a, relu = (conv_settings(row) for row in r.rows)
    assert t == {"kind": "conv_transpose", "input_size": (5, 6), "kernel_size": (3, 3),
                 "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1),
                 "output_padding": (1, 1), "in_channels": 4, "out_channels": 2, "groups": 1}
    assert a == {"kind": "avg_pool", "input_size": (10, 12), "kernel_size": (3, 3),
                 "stride": (2, 2), "padding": (1, 1), "ceil_mode": True,
                 "count_include_pad": False, "in_channels": 2}  # the channels it receives
    assert relu is None
    from convwidget.widgets import ConvExplorer

    for settings, row in ((t, r.rows[0]), (a, r.rows[1])):
        assert ConvExplorer(**settings).output_size == row.output_shape[2:]


def test_bad_input_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="input_shape must be"):
        ModelExplorer(LeNet(), (1, 1, -3, 32))
    app = ModelExplorer(LeNet(), (1, 1, 32, 32))
    with pytest.raises(ValueError, match="set_input needs 1 or 2 sizes"):
        app.set_input(1, 2, 3)


def test_layer_switches_and_close_release_their_widgets() -> None:
    from ipywidgets.widgets.widget import _instances

    app = ModelExplorer(LeNet(), (1, 1, 32, 32))
    app.open_layer(0)
    app.layer.value = None
    before = len(_instances)
    for _ in range(5):
        first = app.open_layer(0)
        assert first is app.explorer and first.output_size is not None
        app.layer.value = None
        assert app.explorer is None
    assert len(_instances) == before  # each closed explorer let go of all its widgets
    explorer = app.open_layer(0)
    pool = next(v for _, v in app.layer.options if v is not None and v != 0)
    app.layer.value = pool  # a layer switch reuses the same explorer
    assert app.explorer is explorer
    mine = {wid for wid, w in _instances.items() if w is app or _inside(w, app)}
    assert len(mine) > 100
    app.close()
    assert not mine & set(_instances)  # the app's and its explorer's widgets, layouts, styles


def _inside(widget: object, app: ModelExplorer) -> bool:
    """Is ``widget`` (or the layout/style of one) part of ``app``'s tree?"""
    stack = [app]
    while stack:
        w = stack.pop()
        if widget is w or widget is getattr(w, "layout", None) or widget is getattr(w, "style", None):
            return True
        stack.extend(getattr(w, "children", ()))
    return False


# ---------------------------------------------------------------- issue 11: said once, small things
def _visible(widget: object, shown: bool = True) -> list[str]:
    layout = getattr(widget, "layout", None)
    shown = shown and (layout is None or layout.display != "none")
    value = getattr(widget, "value", None)
    texts = [value] if shown and isinstance(value, str) else []
    for child in getattr(widget, "children", ()):
        texts += _visible(child, shown)
    return texts


def test_each_problem_and_note_is_said_once() -> None:
    import html

    broken = ModelExplorer(CifarNet(fc_in=1024), (1, 3, 32, 32))
    pasted = ModelExplorer("nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Linear(8 * 15 * 15, 10)",
                           (1, 3, 32, 32))
    for app in (broken, pasted):
        sentences = [p.message for p in app.report.problems] + list(app.report.notes)
        assert sentences
        texts = _visible(app)
        for sentence in sentences:
            assert sum(t.count(html.escape(sentence)) for t in texts) == 1, sentence
    broken.size_sliders[0].value = 4  # the forward pass stops: its sentence once too
    (problem,) = broken.report.problems
    assert sum(t.count(html.escape(problem.message)) for t in _visible(broken)) == 1


def test_layer_list_opens_on_the_first_conv_and_a_pool_keeps_its_channels() -> None:
    app = ModelExplorer(CifarNet(fc_in=4096), (1, 3, 32, 32))
    first = next(r for r in app.report.rows if isinstance(r.module, nn.Conv2d))
    assert app.layer.value == first.index and app.explorer is not None
    assert app.explorer.settings["in_channels"] == first.module.in_channels
    pool = next(r for r in app.report.rows if isinstance(r.module, nn.MaxPool2d) and r.input_shape[1] == 64)
    explorer = app.open_layer(pool.index)
    assert explorer.settings["in_channels"] == 64  # what it receives, as torch sees it
    h, w = pool.output_shape[2:]
    assert f"torch.Size([1, 64, {h}, {w}])" in explorer.torch_panel.value
    app.layer.value = None  # a learner's choice stays through a retrace
    app.set_input(40)
    assert app.layer.value is None and app.explorer is None


def test_model_explorer_repr_is_one_line() -> None:
    app = ModelExplorer(CifarNet(fc_in=1024), (1, 3, 32, 32))
    assert repr(app) == "ModelExplorer(CifarNet, input [1, 3, 32, 32] -> [1, 10], 1 problem)"
    assert "ok)" in repr(ModelExplorer(nn.Sequential(nn.Conv2d(1, 2, 3)), (1, 1, 8, 8)))
    assert int(app.range_button.layout.min_width.removesuffix("px")) >= 7 * len(app.range_button.description)


# ---------------------------------------------------------------- issue 12: the net picture
def test_net_picture_follows_the_input_size_and_close_releases_it() -> None:
    from ipywidgets.widgets.widget import _instances  # what the deprecated Widget.widgets returns

    before = len(_instances)
    app = ModelExplorer(CifarNet(fc_in=1024), (1, 3, 32, 32))
    assert "cw-model-picture" in app.picture._dom_classes and app.picture in app.children
    assert "cw-model-picture-dark" in app.picture_dark._dom_classes and app.picture_dark in app.children
    at_32, dark_at_32 = app.picture.value, app.picture_dark.value
    assert at_32[:4] == b"\x89PNG" and app.net_picture is not None and dark_at_32 != at_32
    assert "256 × 4 × 4 → 4096" in app.net_picture.flatten_text
    drawn = app.net_picture
    app.size_sliders[1].value = 40  # linked: 40 × 40
    assert app.report.linear_in_features["fc_layer.1"] == 6400
    assert app.picture.value != at_32 and app.net_picture is drawn  # redrawn in place
    assert "256 × 5 × 5 → 6400" in app.net_picture.flatten_text
    # the picture is a function of the report: back at 32, the same bytes, in both themes
    app.set_input(32)
    assert "256 × 4 × 4 → 4096" in app.net_picture.flatten_text
    assert (app.picture.value, app.picture_dark.value) == (at_32, dark_at_32)
    app.set_input(40)
    app.set_input(32)
    assert (app.picture.value, app.picture_dark.value) == (at_32, dark_at_32)
    back_at_32 = at_32
    app.set_input(4)  # the model refuses: the picture shows the failing step, nothing raises
    assert app.report.error is not None and app.picture.value not in (at_32, back_at_32)
    assert any(step.failed for step in app.net_picture.steps)
    app.close()
    assert app.net_picture is None
    assert len(_instances) == before


def test_model_explorer_html_uses_the_theme_classes() -> None:
    import re

    broken = ModelExplorer(CifarNet(fc_in=1024), (1, 3, 32, 32))
    broken.size_sliders[0].value = 4  # the forward pass stops: the error and problem texts
    clean = ModelExplorer(LeNet(), (1, 1, 32, 32))
    for app in (broken, clean):
        styles = [w for w in app.children if "cw-style" in w._dom_classes]
        assert len(styles) == 1 and styles[0].layout.display == "none"
        assert ".cw-bad{color:" in styles[0].value and 'data-jp-theme-light="false"' in styles[0].value
        for widget in (app.title, app.answer, app.problems, app.error_box, app.range_label):
            assert not re.search(r"color\s*:", widget.value), widget.value[:200]
    assert "class='cw-bad'" in broken.problems.value and "class='cw-ok'" in clean.problems.value
