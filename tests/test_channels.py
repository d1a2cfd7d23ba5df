"""The channel picture (convwidget.drawing.channels) and its explorer view (convwidget.explorer.valuesview).

PyTorch is the oracle: the values drawn in the output maps, the lit cell's sum and the parameter
count are compared with real torch.nn layers given the same numbers; the pictures of the issue's
settings are rendered into tests/artifacts/ (light and dark) to be looked at.
"""

from __future__ import annotations

import html
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from convwidget.cellmath import KERNEL_PRESETS, preset_weights, sample_input
from convwidget.drawing.channels import (
    CHANNEL_PALETTES,
    ChannelPicture,
    cell_label,
    contrast,
    parameter_text,
    text_pairs,
)
from convwidget.spec import LayerSpec

ARTIFACTS = Path(__file__).parent / "artifacts"

#: The issue's pictures: (settings, input size, preset, lit cell, followed output channel).
PICTURES: dict[str, tuple[dict[str, Any], tuple[int, ...], str | None, tuple[int, ...], int]] = {
    "conv_1to1_ones": (dict(kernel_size=3, padding=1), (6, 6), "ones", (1, 1), 0),
    "conv_3to4_groups1": (dict(kernel_size=3, in_channels=3, out_channels=4), (6, 6), "small integers",
                          (1, 2), 2),
    "conv_4to4_groups2": (dict(kernel_size=3, in_channels=4, out_channels=4, groups=2), (6, 6),
                          "edge (Sobel x)", (2, 1), 3),
    "conv_depthwise4": (dict(kernel_size=3, in_channels=4, out_channels=4, groups=4), (6, 6),
                        "small integers", (1, 1), 2),
    "maxpool_padded_winner": (dict(kind="max_pool", kernel_size=3, stride=2, padding=1, in_channels=2),
                              (7, 7), None, (0, 0), 1),
    "avgpool_include_pad": (dict(kind="avg_pool", kernel_size=3, stride=2, padding=1, in_channels=2),
                            (7, 7), None, (0, 0), 0),
    "avgpool_exclude_pad": (dict(kind="avg_pool", kernel_size=3, stride=2, padding=1, in_channels=2,
                                 count_include_pad=False), (7, 7), None, (0, 0), 0),
    "transposed": (dict(kind="conv_transpose", kernel_size=3, stride=2, padding=1, in_channels=2,
                        out_channels=2), (4, 4), "small integers", (3, 3), 1),
    "conv1d_strip": (dict(kernel_size=3, padding=1, in_channels=2, out_channels=2, ndim=1), (9,),
                     "small integers", (4,), 1),
}


def torch_layer(spec: LayerSpec, settings: dict[str, Any]) -> nn.Module:
    """The torch.nn layer for ``settings``, built here from torch.nn directly (float64)."""
    kw = {k: v for k, v in settings.items() if k not in ("kind", "in_channels", "out_channels", "ndim")}
    n = spec.ndim
    if spec.kind == "conv":
        return getattr(nn, f"Conv{n}d")(spec.in_channels, spec.out_channels, **kw, dtype=torch.float64)
    if spec.kind == "conv_transpose":
        return getattr(nn, f"ConvTranspose{n}d")(spec.in_channels, spec.out_channels, **kw,
                                                 dtype=torch.float64)
    return getattr(nn, f"{'MaxPool' if spec.kind == 'max_pool' else 'AvgPool'}{n}d")(**kw)


def torch_run(settings: dict[str, Any], size: tuple[int, ...], preset: str | None):
    spec = LayerSpec.from_settings(**settings)
    x = sample_input(spec.in_channels, size)
    layer = torch_layer(spec, settings)
    w = b = None
    if not spec.is_pool:
        w = preset_weights(preset or "ones", spec)
        b = [float(c % 3 - 1) for c in range(spec.out_channels)]
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(w, dtype=torch.float64))
            layer.bias.copy_(torch.tensor(b, dtype=torch.float64))
    with torch.no_grad():
        y = layer(torch.tensor(x, dtype=torch.float64)[None])[0]
    return spec, x, w, b, y, layer


@pytest.mark.parametrize("name", PICTURES)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_issues_pictures_show_torchs_values(name: str, theme: str) -> None:
    settings, size, preset, cell, oc = PICTURES[name]
    spec, x, w, b, y, layer = torch_run(settings, size, preset)
    pic = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=oc, theme=theme)
    frame = pic.frame(cell)
    assert frame.shape == (pic.height, pic.width, 3) and frame.dtype == np.uint8
    (ARTIFACTS / f"channels_{name}{'_dark' if theme == 'dark' else ''}.png").write_bytes(pic.png(cell))
    # the numbers written in the output maps are PyTorch's, cell by cell
    labels = pic.output_labels()
    assert labels, "values fit in these small pictures"
    for (c, r, k), text in labels.items():
        value = y[c, k] if spec.ndim == 1 else y[c, r, k]
        assert text == cell_label(float(value))
    # the lit cell's sum ends in PyTorch's value, and cellmath's terms add up to it
    lit = float(y[(oc, *cell)])
    assert pic.cell_sum(cell).value == pytest.approx(lit)
    assert pic.sum_text(cell).endswith(f"= {pic.cell_sum(cell).formula_text().rsplit('= ', 1)[1]}")
    # the parameter count drawn is torch's
    assert parameter_text(spec).endswith(f"= {sum(p.numel() for p in layer.parameters()):,}") or (
        spec.is_pool and "0" in parameter_text(spec))


def test_count_include_pad_changes_the_picture() -> None:
    frames, sums = {}, {}
    for include in (True, False):
        name = "avgpool_include_pad" if include else "avgpool_exclude_pad"
        settings, size, _, cell, oc = PICTURES[name]
        spec, x, _, _, y, _ = torch_run(settings, size, None)
        pic = ChannelPicture(spec, x, None, None, y.tolist(), out_channel=oc)
        frames[include], sums[include] = pic.frame(cell), pic.sum_text(cell)
    assert not np.array_equal(frames[True], frames[False])
    assert "÷ 9" in sums[True] and "÷ 4" in sums[False]


def test_groups_change_the_picture() -> None:
    """groups=1, groups=2 and depthwise draw different pictures at the same channel counts."""
    frames = []
    for groups in (1, 2, 4):
        settings = dict(kernel_size=3, in_channels=4, out_channels=4, groups=groups)
        spec, x, w, b, y, _ = torch_run(settings, (5, 5), "ones")
        pic = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=3)
        assert len(pic.kernel_xy) == 4 // groups  # one kernel per input channel of the group
        frames.append(pic.frame((1, 1)))
    assert all(not np.array_equal(a, b) for a, b in [(frames[0], frames[1]), (frames[1], frames[2])])


@pytest.mark.parametrize("seed", range(24))
def test_random_settings_draw_torchs_values(seed: int) -> None:
    rng = random.Random(seed)
    kind = ("conv", "conv_transpose", "max_pool", "avg_pool")[seed % 4]
    groups = rng.choice([1, 2]) if kind.startswith("conv") else 1
    settings: dict[str, Any] = dict(kind=kind, kernel_size=rng.randint(1, 3), stride=rng.randint(1, 2),
                                    in_channels=groups * rng.randint(1, 2))
    if kind.startswith("conv"):
        settings.update(out_channels=groups * rng.randint(1, 2), groups=groups)
    else:
        settings.update(padding=rng.randint(0, settings["kernel_size"] // 2), ceil_mode=rng.random() < 0.5)
    if kind == "avg_pool":
        settings["count_include_pad"] = rng.random() < 0.5
    preset = sorted(KERNEL_PRESETS)[seed % len(KERNEL_PRESETS)]
    spec, x, w, b, y, _ = torch_run(settings, (rng.randint(3, 6), rng.randint(3, 6)), preset)
    oc = rng.randrange(y.shape[0])
    pic = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=oc, theme=rng.choice(["light", "dark"]))
    for (c, r, k), text in pic.output_labels().items():
        assert text == cell_label(float(y[c, r, k]))
    for r in range(y.shape[1]):
        for k in range(y.shape[2]):
            assert pic.cell_sum((r, k)).value == pytest.approx(float(y[oc, r, k]))
    pic.frame((y.shape[1] - 1, y.shape[2] - 1))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_has_contrast(theme: str) -> None:
    for text, fill, what in text_pairs(theme):
        assert contrast(text, fill) >= 4.5, (theme, what, text, fill)


def test_text_is_at_least_11_px() -> None:
    from convwidget.drawing import channels

    assert min(channels.VALUE_PX, channels.LABEL_PX, channels.TITLE_PX - 1) >= 11


def test_big_inputs_write_no_values_and_say_why() -> None:
    spec = LayerSpec.from_settings(kernel_size=3, in_channels=3, out_channels=3)
    x = sample_input(3, (40, 40))
    pic = ChannelPicture(spec, x, preset_weights("ones", spec), None, None, out_channel=1)
    pic.frame((10, 10))
    assert pic.output_labels() == {}
    assert any("too small" in n for n in pic.notes) and any("not computed" in n for n in pic.notes)


@pytest.mark.parametrize("n", [9, 10])
def test_values_too_wide_for_their_cells_are_named_in_the_note(n: int) -> None:
    """An average pool's means (torch's, e.g. '12.75') outgrow cells the input's integers fit:
    the note names the output values, not every value."""
    settings = dict(kind="avg_pool", kernel_size=2, stride=1, in_channels=2, out_channels=2)
    spec, x, w, b, y, _ = torch_run(settings, (n, n), None)
    assert (y != y.round()).any()  # means with decimals
    pic = ChannelPicture(spec, x, w, b, y.numpy(), out_channel=0)
    pic.frame((0, 0))
    assert pic.output_labels() == {}
    assert [note for note in pic.notes if "not written" in note] == [
        f"output values not written: cells of {pic.cell} px are too small for them"]


def test_many_channels_show_a_window_of_them() -> None:
    spec = LayerSpec.from_settings(kernel_size=3, in_channels=16, out_channels=32, groups=16)
    x = sample_input(16, (5, 5))
    pic = ChannelPicture(spec, x, preset_weights("ones", spec), None, None, out_channel=20)
    assert 10 in pic.band_in.channels and 20 in pic.band_out.channels  # group 10 reads input 10
    assert len(pic.band_in.channels) <= 6 and len(pic.band_out.channels) <= 6
    pic.frame((1, 1))


def test_projector_scale_draws_bigger() -> None:
    settings, size, preset, cell, oc = PICTURES["conv_3to4_groups1"]
    spec, x, w, b, y, _ = torch_run(settings, size, preset)
    small = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=oc)
    big = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=oc, scale=1.5)
    assert big.width == 870 and big.cell > small.cell
    assert big.frame(cell).shape[0] > small.frame(cell).shape[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(theme="sepia"), r"theme='sepia' is not a picture theme; use 'light' or 'dark'"),
    (dict(out_channel=5), r"out_channel=5 is outside 0..0"),
])
def test_bad_arguments_get_a_sentence(kwargs: dict[str, Any], message: str) -> None:
    spec = LayerSpec.from_settings(kernel_size=3)
    with pytest.raises(ValueError, match=message):
        ChannelPicture(spec, sample_input(1, (4, 4)), preset_weights("ones", spec), None, None, **kwargs)


def test_palettes_have_both_themes() -> None:
    assert set(CHANNEL_PALETTES) == {"light", "dark"}
    assert set(CHANNEL_PALETTES["light"]) == set(CHANNEL_PALETTES["dark"])


# ---------------------------------------------------------------- the explorer view, without a browser
def _view(**settings: Any):
    from convwidget.explorer.state import ExplorerState
    from convwidget.explorer.valuesview import ValuesView

    state = ExplorerState(**settings)
    return state, ValuesView(state)


def _torch_outputs(view: Any) -> torch.Tensor:
    """The followed setting's output from a torch.nn layer built here with the view's numbers."""
    pic = view.pictures["light"]
    spec = pic.spec
    settings = {k: v for k, v in spec.settings().items() if k not in ("kind", "in_channels", "out_channels")}
    if spec.kind == "avg_pool":
        settings.pop("dilation", None)
    layer = torch_layer(spec, {"kind": spec.kind, **settings})
    if not spec.is_pool:
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(pic.weights, dtype=torch.float64))
            layer.bias.copy_(torch.tensor(pic.bias, dtype=torch.float64))
    with torch.no_grad():
        return layer(torch.tensor(pic.inputs, dtype=torch.float64)[None])[0]


def _check_against_torch(view: Any, state: Any) -> None:
    y = _torch_outputs(view)
    pic = view.pictures["light"]
    labels = pic.output_labels()
    for (c, r, k), text in labels.items():
        assert text == cell_label(float(y[c, r, k]))
    cell = state.geometry.out_cell(state.step)
    assert pic.cell_sum(cell).value == pytest.approx(float(y[(pic.out_channel, *cell)]))
    assert "✓ the same" in view.sum_line.value
    assert pic.sum_text(cell, 27) in html.unescape(view.sum_line.value)
    assert view.image.value[:4] == b"\x89PNG" and view.image_dark.value[:4] == b"\x89PNG"
    assert view.image.value != view.image_dark.value


@pytest.mark.parametrize("seed", range(30))
def test_the_view_draws_torchs_values_for_random_settings(seed: int) -> None:
    rng = random.Random(seed)
    kind = ("conv", "conv_transpose", "max_pool", "avg_pool")[seed % 4]
    groups = rng.choice([1, 2, 3]) if kind.startswith("conv") else 1
    settings: dict[str, Any] = dict(kind=kind, input_size=(rng.randint(3, 7), rng.randint(3, 7)),
                                    kernel_size=rng.randint(1, 3), stride=rng.randint(1, 2),
                                    in_channels=groups * rng.randint(1, 2))
    if kind.startswith("conv"):
        settings.update(out_channels=groups * rng.randint(1, 2), groups=groups)
    else:
        settings.update(padding=rng.randint(0, settings["kernel_size"] // 2), ceil_mode=rng.random() < 0.5)
    if kind == "avg_pool":
        settings["count_include_pad"] = rng.random() < 0.5
    state, view = _view(**settings)
    if not state.spec.is_pool:
        view.preset.value = sorted(KERNEL_PRESETS)[seed % len(KERNEL_PRESETS)]
    view.channel.value = rng.randint(0, view.channel.max)
    state.step = rng.randrange(state.geometry.n_steps)
    assert view.message.value == ""
    _check_against_torch(view, state)


def test_the_channel_control_changes_the_picture() -> None:
    state, view = _view(input_size=5, kernel_size=3, in_channels=4, out_channels=4, groups=2)
    assert view.channel.max == 3
    before = view.image.value
    view.channel.value = 3
    assert view.image.value != before and view.sum_text.startswith("out 3 ")
    state.set(out_channels=2, groups=1)
    assert view.channel.max == 1 and view.channel.value == 1  # clamped like a slider
    _check_against_torch(view, state)


def test_a_step_moves_the_lit_cell_only() -> None:
    state, view = _view(input_size=6, kernel_size=3, in_channels=2, out_channels=3)
    updates, first = view.updates, view.sum_text
    state.step = 5
    assert view.updates == updates  # no full redraw for an animation step
    assert view.sum_text != first and view.sum_text.startswith("out 0 at (1, 1):")
    _check_against_torch(view, state)


def test_a_setting_that_moves_the_step_draws_each_picture_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new setting whose smaller output clamps the step notifies the view twice (results, then
    step): the frame of the clamped cell is drawn once per colouring, and it is the right one."""
    state, view = _view(input_size=8, kernel_size=3, in_channels=2, out_channels=2)
    state.step = 30
    drawn: list[tuple[str, tuple[int, ...]]] = []
    png = ChannelPicture.png

    def counted(self: ChannelPicture, cell: Any, level: int = 1) -> bytes:
        drawn.append((self.theme, tuple(cell)))
        return png(self, cell, level)

    monkeypatch.setattr(ChannelPicture, "png", counted)
    state.kernel_size = 5  # the output shrinks from 6 x 6 to 4 x 4: step 30 becomes 15
    assert state.step == 15 and sorted(drawn) == [("dark", (3, 3)), ("light", (3, 3))]
    _check_against_torch(view, state)


@pytest.mark.parametrize("seed", range(6))
def test_text_ink_placed_from_the_cache_is_pastes_blend(seed: int) -> None:
    """The channel picture blends text only where it has ink, from a cache of where that is; the
    page is what raster.paste (the plain per-box blend) makes, at any place, cut at any edge."""
    from convwidget.drawing.channelpixels import blend, placed_ink
    from convwidget.drawing.raster import paste, rgb, text_mask

    rng = np.random.default_rng(seed)
    page = rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)
    text, colour = ["out 3 ◀", "× in 12", "-0.5", "parameters: 0"][seed % 4], rgb("#d55e00")
    mask = text_mask(text, 11.0 + seed, 72.0)
    for y, x in [(5, 5), (0, 0), (-3, 70), (30, -4), (int(rng.integers(0, 30)), int(rng.integers(0, 60)))]:
        ours, theirs = page.copy(), page.copy()
        blend(ours, *placed_ink(("test", text, 11.0 + seed), lambda: mask, y, x, page.shape), colour)
        h, w = mask.shape
        paste(theirs, mask, colour, x + w / 2, y + h / 2)
        assert np.array_equal(ours, theirs), (text, y, x)


def test_count_include_pad_changes_the_view() -> None:
    state, view = _view(kind="avg_pool", input_size=7, kernel_size=3, stride=2, padding=1)
    with_pad, sum_with = view.image.value, view.sum_text
    state.count_include_pad = False
    assert view.image.value != with_pad
    assert "÷ 9" in sum_with and "÷ 4" in view.sum_text
    _check_against_torch(view, state)


def test_a_typed_kernel_is_used_and_a_wrong_one_gets_a_sentence() -> None:
    state, view = _view(input_size=5, kernel_size=3, in_channels=1, out_channels=1)
    view.typed.value = "0 0 0; 0 2 0; 0 0 0"
    assert view.preset.value == "typed kernel" and view.typed_error.value == ""
    assert view.pictures["light"].weights[0][0] == [[0, 0, 0], [0, 2, 0], [0, 0, 0]]
    _check_against_torch(view, state)
    view.typed.value = "1 2; 3 4"
    assert "has 2 rows but kernel_size is 3 × 3" in view.typed_error.value
    assert "drawn with &#x27;ones&#x27; meanwhile" in view.typed_error.value
    _check_against_torch(view, state)  # still drawn, with ones
    state.kernel_size = 2
    view.typed.value = "1 x; 3 4"
    assert "is not a number" in view.typed_error.value
    view.typed.value = "1 0; 0 -1"
    assert view.typed_error.value == ""
    _check_against_torch(view, state)


def test_pools_have_no_kernel_controls() -> None:
    state, view = _view(kind="max_pool", input_size=6, kernel_size=2, in_channels=3)
    assert view.preset.disabled and view.typed.disabled
    assert "max(" in view.sum_text
    state.kind = "conv"
    assert not view.preset.disabled


def test_refused_and_huge_settings_get_a_sentence() -> None:
    state, view = _view(input_size=5, kernel_size=3)
    state.kernel_size = 7  # PyTorch refuses
    assert "PyTorch refuses" in view.message.value and view.image.layout.display == "none"
    assert view.sum_line.value == ""
    state.set(kernel_size=3, input_size=200, in_channels=3)
    assert "No values drawn" in view.message.value and "120,000" in view.message.value
    state.set(input_size=6)
    assert view.message.value == "" and view.image.layout.display is None
    _check_against_torch(view, state)


def test_big_layers_get_a_sentence_and_stay_usable() -> None:
    state, view = _view(input_size=8, kernel_size=3, in_channels=64, out_channels=1024)
    assert "No values drawn: the layer has 589,824 weights" in view.message.value
    assert "use fewer channels or a smaller kernel" in view.message.value
    state.set(in_channels=2, out_channels=2)
    assert view.message.value == ""
    _check_against_torch(view, state)
    state.set(kind="conv_transpose", input_size=60, stride=3, in_channels=2, out_channels=20)
    assert "output values" in view.message.value


@pytest.mark.parametrize("seed", range(40))
def test_the_view_stays_usable_under_any_setting(seed: int) -> None:
    """Random slider moves, refused ones included: never an exception, always a picture or a sentence."""
    from convwidget.explorer.state import SettingError

    rng = random.Random(seed)
    state, view = _view(input_size=5, kernel_size=3)
    for _ in range(6):
        change = rng.choice([
            {"kind": rng.choice(["conv", "conv_transpose", "max_pool", "avg_pool"])},
            {"input_size": rng.choice([rng.randint(1, 12), (rng.randint(1, 9), rng.randint(1, 30)), 64,
                                       (1, 250)])},
            {"kernel_size": rng.choice([rng.randint(1, 6), (1, 3), (2, 4)])},
            {"stride": rng.randint(1, 3)}, {"padding": rng.choice([0, 1, 2, 3, "same", "valid"])},
            {"dilation": rng.randint(1, 3)},
            {"in_channels": rng.randint(1, 4), "out_channels": rng.randint(1, 4),
             "groups": rng.randint(1, 2)},
            {"ceil_mode": rng.random() < 0.5}, {"output_padding": rng.randint(0, 2)},
            {"count_include_pad": rng.random() < 0.5}])
        try:
            state.set(**change)
        except SettingError as err:
            assert str(err)
            continue
        view.channel.value = rng.randint(0, view.channel.max)
        if state.geometry is not None:
            state.step = rng.randrange(state.geometry.n_steps)
        if rng.random() < 0.3 and not view.preset.disabled:
            view.preset.value = rng.choice(view.preset.options)
        assert "could not draw" not in view.message.value, (state.settings, view.message.value)
        assert (view.message.value != "" and view.image.layout.display == "none") or view.image.value
        if view.pictures and state.error is None:
            _check_against_torch(view, state)


def test_projector_scale_redraws_bigger() -> None:
    state, view = _view(input_size=5, kernel_size=3, in_channels=2, out_channels=2)
    small = view.pictures["light"].width
    view.scale = 1.5
    assert view.pictures["light"].width == 1.5 * small


def test_closing_the_view_stops_following() -> None:
    state, view = _view(input_size=5, kernel_size=3)
    view.close()
    state.step = 3  # no handler left to fail on a closed widget
    assert view.updates == 1


def test_a_transposed_cell_says_which_input_cells_meet_which_weights() -> None:
    state, view = _view(kind="conv_transpose", input_size=3, kernel_size=3, stride=2, padding=1)
    state.step = state.geometry.step_of((1, 1))
    text = html.unescape(view.sum_line.value)
    for part in ("in 0 (0, 0) × w(2, 2)", "in 0 (0, 1) × w(2, 0)", "in 0 (1, 0) × w(0, 2)",
                 "in 0 (1, 1) × w(0, 0)"):
        assert part in text
    _check_against_torch(view, state)


@pytest.mark.parametrize("name", ["conv_4to4_groups2", "maxpool_padded_winner", "transposed", "conv1d_strip"])
def test_a_recoloured_picture_is_the_picture_drawn_in_that_theme(name: str) -> None:
    settings, size, preset, cell, oc = PICTURES[name]
    spec, x, w, b, y, _ = torch_run(settings, size, preset)
    light = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=oc)
    dark = ChannelPicture(spec, x, w, b, y.tolist(), out_channel=oc, theme="dark")
    assert np.array_equal(light.recoloured("dark").frame(cell), dark.frame(cell))
    assert np.array_equal(dark.recoloured("light").frame(cell), light.frame(cell))


def test_wide_and_long_grids_are_cut_or_refused_with_a_sentence() -> None:
    """Many wide output maps: fewer shown, at least a pixel a cell; a side beyond MAX_SIDE: a sentence."""
    state, view = _view(kind="conv_transpose", input_size=(2, 18), kernel_size=(2, 4), stride=3, padding=2,
                        dilation=2, output_padding=2, in_channels=4, out_channels=6, groups=2)
    assert view.message.value == "", view.message.value
    pic = view.pictures["light"]
    assert pic.cell >= 1 and len(pic.band_out.channels) * 56 * pic.cell <= pic.width
    _check_against_torch(view, state)
    state.set(kind="conv", input_size=(1, 300), kernel_size=1, stride=1, padding=0, dilation=1,
              in_channels=1, out_channels=1, groups=1)
    assert "a grid of 300 cells a side is more than the channel picture draws (200)" in view.message.value
    spec = LayerSpec.from_settings(kernel_size=1)
    with pytest.raises(ValueError, match=r"grids of up to 200 cells a side, not 300"):
        ChannelPicture(spec, sample_input(1, (1, 300)), preset_weights("ones", spec), None, None)
