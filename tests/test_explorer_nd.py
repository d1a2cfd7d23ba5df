"""The explorer in 1-D (and 3-D): against the real torch.nn layers, from_layer, the strip picture,
the quiz and the presets.

PyTorch is the oracle: every expected size comes from a layer built here with torch.nn's own
classes and run on a tensor, never from convwidget's formula.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from convwidget import ConvExplorer  # noqa: E402
from convwidget.explorer.panels import torch_html  # noqa: E402
from convwidget.explorer.presets import (  # noqa: E402
    explorer_from_url,
    query_from_settings,
    settings_from_query,
)
from convwidget.explorer.state import ExplorerState, SettingError  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")
CLASSES = {1: {"conv": nn.Conv1d, "conv_transpose": nn.ConvTranspose1d, "max_pool": nn.MaxPool1d,
               "avg_pool": nn.AvgPool1d},
           3: {"conv": nn.Conv3d, "conv_transpose": nn.ConvTranspose3d, "max_pool": nn.MaxPool3d,
               "avg_pool": nn.AvgPool3d}}


def random_settings(rng: random.Random, kind: str, ndim: int) -> dict[str, Any]:
    """A random setting of ``kind`` in ``ndim`` dimensions (some refused by PyTorch)."""
    def dims(lo: int, hi: int) -> tuple[int, ...]:
        return tuple(rng.randint(lo, hi) for _ in range(ndim))

    s: dict[str, Any] = {"kind": kind, "ndim": ndim, "input_size": dims(1, 16 if ndim == 1 else 7),
                         "kernel_size": dims(1, 6), "stride": dims(1, 4), "padding": dims(0, 3)}
    if kind != "avg_pool":
        s["dilation"] = dims(1, 3)
    if kind == "conv_transpose":
        s["output_padding"] = dims(0, 2)
    if kind.endswith("pool"):
        s["ceil_mode"] = rng.random() < 0.5
        s["in_channels"] = rng.randint(1, 3)
    if kind == "avg_pool":
        s["count_include_pad"] = rng.random() < 0.5
    if kind.startswith("conv"):
        groups = rng.choice((1, 1, 2))
        s.update(in_channels=groups * rng.randint(1, 2), out_channels=groups * rng.randint(1, 2),
                 groups=groups)
    return s


def torch_layer(s: dict[str, Any]) -> Any:
    """The torch.nn layer of a setting, built from PyTorch's own classes."""
    cls = CLASSES[s["ndim"]][s["kind"]]
    k, st, p = s["kernel_size"], s["stride"], s["padding"]
    if s["kind"] == "conv":
        return cls(s["in_channels"], s["out_channels"], k, st, p, s["dilation"], s["groups"])
    if s["kind"] == "conv_transpose":
        return cls(s["in_channels"], s["out_channels"], k, st, p, s["output_padding"], s["groups"],
                   dilation=s["dilation"])
    if s["kind"] == "max_pool":
        return cls(k, st, p, s["dilation"], ceil_mode=s["ceil_mode"])
    return cls(k, st, p, ceil_mode=s["ceil_mode"], count_include_pad=s["count_include_pad"])


def torch_output(s: dict[str, Any]) -> tuple[int, ...] | None:
    """The spatial output size PyTorch gives, or None when it refuses."""
    x = torch.zeros(1, s.get("in_channels", 1), *s["input_size"])
    try:
        with torch.no_grad():
            return tuple(torch_layer(s)(x).shape[2:])
    except (RuntimeError, ValueError):
        return None


# ---------------------------------------------------------------- 1-D against torch
@pytest.mark.parametrize("kind", KINDS)
def test_1d_state_agrees_with_torch(kind: str) -> None:
    rng = random.Random(f"1d-{kind}")
    refused = agreed = 0
    for _ in range(60):
        s = random_settings(rng, kind, 1)
        expected = torch_output(s)
        state = ExplorerState(**s)
        assert state.ndim == 1 and state.spec is not None and state.spec.ndim == 1
        assert state.output_size == expected, s
        result = state.torch_result  # the PyTorch panel's layer: nn.Conv1d..., not a 1 x n Conv2d
        assert result.code.startswith(f"nn.{CLASSES[1][kind].__name__}("), result.code
        if expected is None:
            refused += 1
            assert not result.ok and state.error
        else:
            agreed += 1
            assert tuple(result.spatial) == expected
            assert f"nn.{CLASSES[1][kind].__name__}(" in torch_html(state.results)
    assert refused and agreed  # both sides of the rule were met


@pytest.mark.parametrize("kind", KINDS)
def test_1d_explorer_panels(kind: str) -> None:
    rng = random.Random(f"1d-explorer-{kind}")
    e = ConvExplorer(ahead=False, kind=kind, input_size=(12,), kernel_size=3)
    try:
        for _ in range(6):
            s = random_settings(rng, kind, 1)
            e.set(**s)
            expected = torch_output(s)
            assert e.output_size == expected
            if expected is None:
                continue
            assert e.step.max == expected[0] - 1  # one output-cell slider: the step
            assert e.player.cell_row.layout.display == "none"
            assert f"Output: {expected[0]}</b> (length)" in e.output_label.value
            assert e.formula_text.value.count("<div>length: ") == 1
            assert "height" not in e.formula_text.value
    finally:
        e.close()


def test_1d_controls_show_one_slider_per_setting() -> None:
    e = ConvExplorer(ahead=False, input_size=(10,), kernel_size=3, stride=2)
    try:
        for pair in e.setting_controls.pairs:
            assert pair.w.layout.display == "none" and pair.square.layout.display == "none"
            assert pair.d.layout.display == "none"
        assert e.kind.label == "convolution (nn.Conv1d)"
        e.kernel.h.value = 4  # the one kernel slider moves the state
        assert e.settings["kernel_size"] == (4,)
        assert e.output_size == torch_output({**e.settings})
        e.set(input_size=(6, 9))  # a pair: back to 2-D, the width sliders are back
        assert e.state.ndim == 2 and e.input.w.layout.display == ""
        assert e.output_size == (2, 3)
    finally:
        e.close()


def test_ndim_is_a_linkable_trait() -> None:
    import ipywidgets as W

    state = ExplorerState(input_size=(5, 9), kernel_size=3)
    box = W.IntSlider(min=1, max=3, value=2)
    link = W.link((state, "ndim"), (box, "value"))
    box.value = 1  # the other settings follow: 1-D keeps the width
    assert state.settings["input_size"] == (9,) and state.output_size == (7,)
    box.value = 2
    assert state.settings["input_size"] == (9, 9)
    link.unlink()
    with pytest.raises(SettingError, match=r"ndim \(the spatial dimensions\) must be 1 \(a strip\)"):
        state.ndim = 4


def test_int_input_size_keeps_2d() -> None:
    assert ExplorerState(input_size=10).ndim == 2
    assert ExplorerState(input_size=(10,)).ndim == 1
    assert ExplorerState(ndim=1, input_size=10).settings["input_size"] == (10,)


@pytest.mark.parametrize("size, ndim", [((3, 4), 1), ((5,), 2), ((1, 2, 3, 4), 2)])
def test_wrong_length_input_size_is_a_sentence(size: tuple[int, ...], ndim: int) -> None:
    values = "1 value" if len(size) == 1 else f"{len(size)} values"
    with pytest.raises(ValueError, match=rf"input_size=.* has {values} but the "
                                         rf"explorer is {ndim}-D \(ndim={ndim}\); give"):
        ExplorerState(ndim=ndim, input_size=size)


# ---------------------------------------------------------------- from_layer
LAYERS_1D = [nn.Conv1d(2, 4, 3, stride=2, padding=1), nn.ConvTranspose1d(2, 3, 4, stride=2),
             nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), nn.AvgPool1d(2, count_include_pad=False)]


@pytest.mark.parametrize("layer", LAYERS_1D, ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("shape", [(1, 2, 11), (2, 11), (11,)])
def test_from_layer_1d(layer: Any, shape: tuple[int, ...]) -> None:
    e = ConvExplorer.from_layer(layer, shape)
    try:
        assert e.state.ndim == 1
        expected = tuple(layer(torch.zeros(1, 2, 11)).shape[2:])
        assert e.output_size == expected
        assert e.torch_result.code.startswith(f"nn.{type(layer).__name__}(")
    finally:
        e.close()


@pytest.mark.parametrize("shape", [(1, 1, 2, 11), (1, 2, 3, 4, 5), ()])
def test_from_layer_wrong_length_is_a_sentence(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"input_size=.* but nn\.Conv1d is 1-D: give \(L,\), "
                                         r"\(C, L\) or \(N, C, L\) \(e\.g\. \(1, 2, 8\)"):
        ConvExplorer.from_layer(nn.Conv1d(2, 4, 3), shape)


def test_from_layer_2d_still_works() -> None:
    e = ConvExplorer.from_layer(nn.MaxPool2d(2), (1, 3, 8, 8))
    try:
        assert e.state.ndim == 2 and e.output_size == (4, 4)
    finally:
        e.close()


# ---------------------------------------------------------------- the picture and exports
def test_1d_picture_is_a_strip() -> None:
    from convwidget.explorer.picture import png_size

    ARTIFACTS.mkdir(exist_ok=True)
    e = ConvExplorer(ahead=False, input_size=(10,), kernel_size=4, stride=2, padding=1)
    two = ConvExplorer(ahead=False, input_size=(10, 10), kernel_size=4, stride=2, padding=1)
    try:
        e.state.step = 3
        figure = e.figure
        assert figure.geometry.input_size == (10,) and figure.step == 3
        png = bytes(e.picture.value)
        (ARTIFACTS / "explorer_1d_strip.png").write_bytes(png)
        (ARTIFACTS / "explorer_1d_strip_dark.png").write_bytes(bytes(e.picture_dark.value))
        assert png_size(png)[0] > 0 and png != bytes(two.picture.value)
        # the lit cell's value is PyTorch's: the index input through nn.Conv1d (weight 1)
        x = torch.arange(10, dtype=torch.float32).reshape(1, 1, 10)
        conv = nn.Conv1d(1, 1, 4, stride=2, padding=1)
        with torch.no_grad():
            conv.weight.fill_(1)
            conv.bias.zero_()
            value = conv(x)[0, 0, 3].item()
        assert f"PyTorch's value there: <b>{int(value)}</b>" in e.step_label.value
        assert e.state.results.cell_values[3] == str(int(value))
    finally:
        e.close()
        two.close()


@pytest.mark.parametrize("ext", ["gif", "html"])
def test_1d_exports(ext: str) -> None:
    e = ConvExplorer(ahead=False, kind="max_pool", input_size=(9,), kernel_size=3)
    try:
        getattr(e, f"_on_export_{ext}")(None)
        assert e.export_link.value.startswith("<a download='convwidget_max_pool_9_k3_s3")
        assert f"data:{'image/gif' if ext == 'gif' else 'text/html'};base64," in e.export_link.value
    finally:
        e.close()


def test_ahead_is_not_attached_outside_2d() -> None:
    e = ConvExplorer(ahead=True, input_size=(10,))
    try:
        assert e.ahead is None and bytes(e.picture.value)[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        e.close()


def test_frames_ahead_give_way_to_the_own_picture_outside_2d() -> None:
    e = ConvExplorer(ahead=True, input_size=(8, 8))
    try:
        assert e.ahead is not None and e.picture_png()[:4] == b"\x89PNG"
        for size in ((10,), (3, 8, 8)):  # 1-D, 3-D: the explorer's own PNG picture is shown
            e.set(input_size=size)
            assert e.picture in e.animation_panel.children, "the own picture is not in the page"
            assert e.picture.layout.display != "none" and e.picture_png() == bytes(e.picture.value)
            assert e.picture_png()[:4] == b"\x89PNG" and e.ahead.widget.layout.display == "none"
        e.set(input_size=(8, 8))  # 2-D again: the frames ahead show it
        assert e.picture.layout.display == "none" and e.picture_png()[:4] == b"\x89PNG"
        assert e.ahead.widget.layout.display != "none"
    finally:
        e.close()


@pytest.mark.parametrize("size", [(10,), (3, 8, 8)])
def test_built_outside_2d_the_frames_ahead_come_with_the_first_2d_setting(size) -> None:
    e = ConvExplorer(ahead=True, input_size=size)
    try:
        assert e.ahead is None
        e.set(input_size=(8, 8), kernel_size=3)
        assert e.ahead is not None and e.ahead.widget in e.animation_panel.children
        assert e.picture.layout.display == "none" and e.ahead.widget.layout.display != "none"
        light = ConvExplorer(ahead=False, input_size=(8, 8), kernel_size=3)
        try:  # the frame confirmed is the explorer's own picture of the setting
            assert e.ahead.widget.value == light.picture_png("light")
        finally:
            light.close()
    finally:
        e.close()


# ---------------------------------------------------------------- quiz and presets
def test_quiz_conv1d_question_opens_a_1d_explorer() -> None:
    e = ConvExplorer(quiz=True, level="padding_stride", seed=3)
    try:
        q = e.quiz.question
        assert e.state.ndim == 1
        neutral = {"dilation": 1, "output_padding": 0, "ceil_mode": False, "count_include_pad": True,
                   "in_channels": 1, "out_channels": 1, "groups": 1}
        setting = {**neutral, **q.settings(), "ndim": 1, "input_size": (q.size,)}
        assert e.output_size == torch_output(setting) == (q.answer,)
        e.answer(q.answer)
        assert e.torch_result.code.startswith(f"nn.{CLASSES[1][q.kind].__name__}(")
    finally:
        e.close()


@pytest.mark.parametrize("kind", KINDS)
def test_presets_round_trip_1d(kind: str) -> None:
    rng = random.Random(f"presets-{kind}")
    for _ in range(15):
        s = random_settings(rng, kind, 1)
        state = ExplorerState(**s)
        query = query_from_settings(state.settings)
        assert "dims=1" in query
        again = ExplorerState(**settings_from_query(query))
        assert again.settings == state.settings, query


def test_presets_2d_link_stays_2d() -> None:
    assert settings_from_query("input=10") == {"input_size": 10}
    e = explorer_from_url("input=10")
    assert e.state.ndim == 2 and "dims" not in query_from_settings(e.settings)
    e.close()
    box = explorer_from_url("dims=1&input=10x4")
    assert "has 2 values but the explorer is 1-D" in box.children[0].value


# ---------------------------------------------------------------- 3-D
@pytest.mark.parametrize("kind", KINDS)
def test_3d_state_agrees_with_torch(kind: str) -> None:
    rng = random.Random(f"3d-{kind}")
    refused = agreed = 0
    for _ in range(40):
        s = random_settings(rng, kind, 3)
        expected = torch_output(s)
        state = ExplorerState(**s)
        assert state.ndim == 3 and state.spec is not None and state.spec.ndim == 3
        assert state.output_size == expected, s
        result = state.torch_result
        assert result.code.startswith(f"nn.{CLASSES[3][kind].__name__}("), result.code
        if expected is None:
            refused += 1
            assert not result.ok and state.error
        else:
            agreed += 1
            assert tuple(result.spatial) == expected
            if state.geometry is not None:  # the picture: the height x width plane
                assert state.geometry.output_size == expected[1:]
                assert state.results.depth.output == expected[0]
    assert refused and agreed


def slices_read(s: dict[str, Any], z: int) -> set[int]:
    """The input depth slices output depth slice ``z`` reads, found by PyTorch: one input slice
    of ones at a time through the layer with weights 1, bias 0 (0 and 1 are the only values)."""
    layer = torch_layer(s)
    if s["kind"].startswith("conv"):
        with torch.no_grad():
            layer.weight.fill_(1)
            layer.bias.zero_()
    read = set()
    for k in range(s["input_size"][0]):
        x = torch.zeros(1, s.get("in_channels", 1), *s["input_size"])
        x[:, :, k] = 1
        with torch.no_grad():
            if layer(x)[:, :, z].abs().sum().item() > 0:
                read.add(k)
    return read


def caption_slices(text: str) -> set[int]:
    import re

    m = re.search(r"reads input depth slices? ([0-9–, ]+?)(?: and | ·)", text)
    if m is None:
        return set()
    out: set[int] = set()
    for part in m.group(1).split(", "):
        lo, _, hi = part.partition("–")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_3d_explorer_depth_slider_and_caption(kind: str) -> None:
    rng = random.Random(f"3d-explorer-{kind}")
    e = ConvExplorer(ahead=False, input_size=(4, 5, 5), kernel_size=2)
    try:
        shown = 0
        while shown < 4:
            s = random_settings(rng, kind, 3)
            if kind == "avg_pool":
                s["padding"] = (0, 0, 0)  # a padded average of ones can still be 0 nowhere: no test
            expected = torch_output(s)
            if expected is None or 0 in expected:
                continue
            e.set(**s)
            assert e.output_size == expected
            assert e.formula_text.value.count("<div>") == 3  # the depth arithmetic too
            assert "<div>depth: " in e.formula_text.value
            assert e.player.depth.layout.display == "" and e.player.depth.max == expected[0] - 1
            for z in {0, expected[0] - 1}:
                e.player.depth.value = z
                assert e.state.depth == z
                assert e.depth_label.value.startswith(f"output depth slice {z} (of 0–{expected[0] - 1})")
                assert caption_slices(e.depth_label.value) == slices_read(s, z), (s, z)
            shown += 1
    finally:
        e.close()


def test_3d_controls_and_picture() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    e = ConvExplorer(ahead=True, input_size=(5, 6, 7), kernel_size=(2, 3, 3), stride=(2, 1, 2), padding=1)
    try:
        assert e.ahead is None  # frames ahead draw 2-D only: the explorer's own PNG picture
        for pair in e.setting_controls.pairs:  # depth, height, width: three free sliders
            assert pair.d.layout.display == "" and pair.w.layout.display == ""
            assert pair.square.layout.display == "none" and not pair.w.disabled
        assert e.kind.label == "convolution (nn.Conv3d)"
        assert e.settings["input_size"] == (5, 6, 7)
        e.input.d.value = 7  # the depth slider moves the depth only
        assert e.settings["input_size"] == (7, 6, 7)
        assert e.output_size == torch_output({**e.settings})
        assert "kD · kH · kW" in e.params.value
        e.state.depth, e.state.step = 1, 5
        (ARTIFACTS / "explorer_3d_slice.png").write_bytes(bytes(e.picture.value))
        assert e.figure.geometry.input_size == (6, 7)  # the height x width plane
        assert "depth slice 1" in e.values_panel.value
        # the lit cell's value is PyTorch's, at (depth, row, column)
        x = torch.arange(7 * 6 * 7, dtype=torch.float32).reshape(1, 1, 7, 6, 7)
        conv = nn.Conv3d(1, 1, (2, 3, 3), stride=(2, 1, 2), padding=1)
        with torch.no_grad():
            conv.weight.fill_(1)
            conv.bias.zero_()
            r, c = e.figure.geometry.out_cell(5)
            value = conv(x)[0, 0, 1, r, c].item()
        assert f"PyTorch's value there: <b>{int(value)}</b>" in e.step_label.value
    finally:
        e.close()


LAYERS_3D = [nn.Conv3d(2, 4, 3, stride=2, padding=1), nn.ConvTranspose3d(2, 3, 2, stride=2),
             nn.MaxPool3d(2, ceil_mode=True), nn.AvgPool3d((1, 2, 2), count_include_pad=False)]


@pytest.mark.parametrize("layer", LAYERS_3D, ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("shape", [(1, 2, 5, 6, 7), (2, 5, 6, 7), (5, 6, 7)])
def test_from_layer_3d(layer: Any, shape: tuple[int, ...]) -> None:
    e = ConvExplorer.from_layer(layer, shape)
    try:
        assert e.state.ndim == 3
        assert e.output_size == tuple(layer(torch.zeros(1, 2, 5, 6, 7)).shape[2:])
        assert e.torch_result.code.startswith(f"nn.{type(layer).__name__}(")
    finally:
        e.close()


def test_from_layer_3d_wrong_length_is_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"input_size=\(6, 7\) has 2 numbers, but nn\.MaxPool3d is 3-D: "
                                         r"give \(D, H, W\), \(C, D, H, W\) or \(N, C, D, H, W\)"):
        ConvExplorer.from_layer(nn.MaxPool3d(2), (6, 7))


@pytest.mark.parametrize("kind", KINDS)
def test_presets_round_trip_3d(kind: str) -> None:
    rng = random.Random(f"presets-3d-{kind}")
    for _ in range(10):
        state = ExplorerState(**random_settings(rng, kind, 3))
        query = query_from_settings({**state.settings, "step": 0})
        assert "dims=3" in query
        again = ExplorerState(**settings_from_query(query))
        assert again.settings == state.settings, query


def test_projector_mode_scales_the_widths_of_the_new_ndim() -> None:
    e = ConvExplorer(ahead=False, input_size=(8, 8))
    try:
        plain = {n: None for n in (1, 2, 3)}
        for n, size in ((1, (12,)), (3, (4, 9, 9)), (2, (8, 8))):
            e.set(input_size=size)
            plain[n] = (e.input.h.layout.width, e.input.d.layout.width, e.input.w.layout.width)
        e.presentation = True
        for n, size in ((1, (12,)), (3, (4, 9, 9)), (1, (5,)), (2, (8, 8)), (3, (3, 3, 3))):
            e.set(input_size=size)
            shown = (e.input.h.layout.width, e.input.d.layout.width, e.input.w.layout.width)
            assert shown == tuple(f"{round(int(w[:-2]) * 1.5)}px" for w in plain[n]), (n, shown)
        e.presentation = False
        assert (e.input.h.layout.width, e.input.d.layout.width, e.input.w.layout.width) == plain[3]
    finally:
        e.close()
