"""report.plot(): the net as a stack of feature maps. The labels drawn are the shapes a REAL
forward produces (forward hooks), the flatten is spelled out, problems are drawn in the error
colour with their fix, exports work and no figure is left open."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn as nn
from models import AudioNet, CifarNet, LeNet, ResNet50, VideoNet  # tests/ is on sys.path

import convwidget
from convwidget.drawing.netpalette import _FLATTEN_BAND
from convwidget.drawing.netpicture import (
    COLORS,
    TEXT_COLORS,
    THEME_COLORS,
    NetPicture,
    contrast,
    steps_of,
)
from convwidget.drawing.raster import line_mask

ARTIFACTS = Path(__file__).parent / "artifacts"


def label(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape[1:]) + "]"


def real_shapes(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The input and output shapes every leaf module sees in a real forward (PyTorch, the oracle)."""
    ins: dict[str, tuple] = {}
    outs: dict[str, tuple] = {}
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            def hook(mod, args, out, name=name):
                ins.setdefault(name, tuple(args[0].shape))
                outs.setdefault(name, tuple(out.shape))
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return ins, outs


NETS = [
    ("cifar", lambda: CifarNet(), (1, 3, 32, 32)),
    ("lenet", lambda: LeNet(), (1, 1, 32, 32)),
    ("audio-1d", lambda: AudioNet(), (1, 1, 8000)),
    ("video-3d", lambda: VideoNet(), (1, 1, 32, 64, 64)),
]


@pytest.mark.parametrize(("name", "build", "shape"), NETS, ids=[n[0] for n in NETS])
def test_labels_are_the_shapes_of_a_real_forward(name, build, shape):
    model = build()
    ins, outs = real_shapes(model, torch.zeros(shape))
    picture = convwidget.trace(model, shape).plot()
    labels = picture.shape_labels
    assert labels[0] == label(shape)
    checked = 0
    for i, step in enumerate(picture.steps):
        if step.name in outs:  # a module's box: its real output
            assert labels[i] == label(outs[step.name]), step
            checked += 1
        following = picture.steps[i + 1].name if i + 1 < len(picture.steps) else None
        if following in ins:  # any box (functional ones too) is what the next module receives
            assert labels[i] == label(ins[following]), (step, following)
            checked += 1
    drawn = {s.name for s in picture.steps}
    for module_name, module in model.named_modules():  # every conv, pool and Linear has its box
        if isinstance(module, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd, nn.Linear)):
            assert module_name in drawn
    assert checked >= len(picture.steps) - 1


def test_one_and_three_dimensional_maps():
    audio = convwidget.trace(AudioNet(), (1, 1, 8000)).plot()
    assert all(len(s.dims) == 2 for s in audio.steps if s.kind in ("conv", "pool"))  # [C, L]: a strip
    video = convwidget.trace(VideoNet(), (1, 1, 32, 64, 64)).plot()
    assert video.shape_labels[1] == "[8, 16, 32, 32]"  # depth kept in the label


def cifar_flatten(size: int) -> int:
    model = CifarNet(fc_in=None)  # LazyLinear: the real forward tells the true in_features
    ins, _ = real_shapes(model, torch.zeros(1, 3, size, size))
    return ins["fc_layer.1"][1]


def test_flatten_is_spelled_out_and_follows_the_input_size():
    model = CifarNet()
    picture = convwidget.trace(model, (1, 3, 32, 32)).plot()
    assert picture.flatten_text == "256 × 4 × 4 → 4096" == f"256 × 4 × 4 → {cifar_flatten(32)}"
    assert "256 × 4 × 4 → 4096" in picture.texts
    flatten = next(i for i, s in enumerate(picture.steps) if s.flatten)
    assert picture.steps[flatten + 1].op.startswith("Linear")  # it flows into the first Linear
    artists = list(picture._texts["shape"])
    picture.update(convwidget.trace(model, (1, 3, 40, 40)))
    assert picture._texts["shape"] == artists  # moved in place, not rebuilt
    assert picture.flatten_text == f"256 × 5 × 5 → {cifar_flatten(40)}" == "256 × 5 × 5 → 6400"
    assert "⚠ nn.Linear(6400, 1024)" in picture.texts  # 4096 no longer fits


def front_colors(picture: NetPicture) -> list[str]:
    faces = picture._faces.get_facecolors()
    return [matplotlib.colors.to_hex(faces[3 * i]) for i in range(len(picture.steps))]


def test_a_wrong_linear_is_drawn_in_the_error_colour_with_its_fix():
    picture = convwidget.trace(CifarNet(fc_in=4000), (1, 3, 32, 32)).plot()
    i = next(i for i, s in enumerate(picture.steps) if s.name == "fc_layer.1")
    assert front_colors(picture)[i] == COLORS["error"]
    assert sum(c == COLORS["error"] for c in front_colors(picture)) == 1
    fix = picture.label_artists("fix")[i]
    assert fix.get_text() == "⚠ nn.Linear(4096, 1024)"
    assert matplotlib.colors.to_hex(fix.get_color()) == TEXT_COLORS["error"]
    vermilion = np.all(picture.draw()[..., :3] == (0xD5, 0x5E, 0x00), axis=-1).sum()
    assert vermilion > 100  # the box is really painted in the error colour
    ok = convwidget.trace(CifarNet(), (1, 3, 32, 32)).plot()
    assert COLORS["error"] not in front_colors(ok)
    assert np.all(ok.draw()[..., :3] == (0xD5, 0x5E, 0x00), axis=-1).sum() == 0


def test_every_text_colour_reads_on_its_background():
    for color in TEXT_COLORS.values():
        assert contrast(color, "#ffffff") >= 4.5, color
    assert contrast(TEXT_COLORS["flatten"], _FLATTEN_BAND) >= 4.5


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_ink_reads_on_its_page_in_both_themes(theme):
    c = THEME_COLORS[theme]
    for ink in ("text", "name", "error"):
        assert contrast(c[ink], c["page"]) >= 4.5, (theme, ink)
    assert contrast(c["flatten"], c["band"]) >= 4.5
    for box in COLORS.values():  # a box stands out from the page by its fill or its outline (WCAG 3:1)
        assert max(contrast(box, c["page"]), contrast(c["edge"], c["page"])) >= 3.0, (theme, box)


def _rgb(png: bytes) -> np.ndarray:
    return (matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3] * 255).round().astype(int)


def test_dark_picture_is_a_dark_page_with_light_words_and_the_same_boxes():
    picture = convwidget.trace(CifarNet(), (1, 3, 32, 32)).plot()
    light, dark = _rgb(picture.to_png()), _rgb(picture.to_png(theme="dark"))
    assert light.shape == dark.shape
    assert (light[0, 0] == 255).all() and (dark[0, 0] == 0x11).all()  # the pages
    lum = dark.mean(axis=-1)
    assert (lum < 60).mean() > 0.6  # mostly dark: no white box in JupyterLab Dark
    assert (lum > 200).sum() > 500  # and light words on it
    for name in ("conv", "pool", "linear"):  # the boxes keep their colours, so the legend holds
        colour = np.array(matplotlib.colors.to_rgb(COLORS[name])) * 255
        in_dark, in_light = ((np.abs(px - colour).max(axis=-1) <= 1).sum() for px in (dark, light))
        assert in_dark > 100 and abs(in_dark - in_light) <= 0.02 * in_light, name
    assert picture.to_png() == picture.to_png(theme="light")  # back to light: the same bytes
    with pytest.raises(ValueError, match="theme='sepia': choose one of 'light', 'dark'"):
        picture.to_png(theme="sepia")
    (ARTIFACTS / "netpicture_cifar_dark.png").write_bytes(picture.to_png(theme="dark"))


def test_back_at_a_size_the_picture_is_the_same_bytes():
    picture = convwidget.trace(CifarNet(), (1, 3, 32, 32)).plot()
    first = picture.to_png()
    for size in (96, 64, 40):  # bigger maps need taller rows; they must shrink back
        picture.update(convwidget.trace(CifarNet(), (1, 3, size, size)))
        picture.to_png(theme="dark")
    picture.update(convwidget.trace(CifarNet(), (1, 3, 32, 32)))
    assert picture.to_png() == first


def test_png_and_svg_export(tmp_path):
    before = plt.get_fignums()
    picture = convwidget.trace(CifarNet(), (1, 3, 32, 32)).plot()
    png = picture.to_png()
    assert png == picture._repr_png_()
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    width, height = picture.figure.get_size_inches() * picture.figure.dpi
    assert image.shape[:2] == (round(height), round(width))
    svg = picture.to_svg()
    assert svg.lstrip().startswith("<?xml") and "256 × 4 × 4 → 4096" in svg  # text stays text
    picture.savefig(tmp_path / "net.svg")
    picture.savefig(tmp_path / "net.png")
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"
    assert "[256, 4, 4]" in (tmp_path / "net.svg").read_text(encoding="utf-8")
    assert plt.get_fignums() == before  # nothing registered with pyplot, nothing left open


def test_repr_of_the_report_is_one_line():
    report = convwidget.trace(CifarNet(fc_in=4000), (1, 3, 32, 32))
    text = repr(report)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<TraceReport CifarNet") and "1 problem" in text
    assert "ok>" in repr(convwidget.trace(CifarNet(), (1, 3, 32, 32)))


def test_steps_merge_activation_norm_and_dropout():
    steps = steps_of(convwidget.trace(CifarNet(), (1, 3, 32, 32)))
    assert [s.op for s in steps[:3]] == ["input", "Conv+BN+ReLU", "Conv+ReLU"]
    assert len(steps) == 14  # input, 6 convs, 3 pools, the flatten, 3 Linear


def test_big_nets_stay_legible():
    """ResNet-50: every box's words fit its column, so neighbours never overlap."""
    picture = convwidget.trace(ResNet50(device="meta"), (1, 3, 224, 224)).plot()
    assert 50 <= len(picture.steps) <= 70
    column_px = picture.figure.get_size_inches()[0] * picture.figure.dpi / picture._built_for[1]
    for key in ("op", "shape", "name"):
        for text in picture.label_artists(key):
            width = line_mask(text.get_text(), text.get_fontsize(), picture.figure.dpi).shape[1]
            assert width < column_px, text.get_text()
    ARTIFACTS.mkdir(exist_ok=True)
    picture.savefig(ARTIFACTS / "netpicture_resnet50.png")


def test_bad_per_row_is_refused_with_a_sentence():
    report = convwidget.trace(LeNet(), (1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"per_row=0 must be a whole number >= 1"):
        report.plot(per_row=0)


def test_a_step_that_fails_ends_the_picture_in_the_error_colour():
    """At 4×4 the CIFAR net's third pool gets 1×1: PyTorch refuses it, and so does the picture."""
    model = CifarNet()
    with pytest.raises(RuntimeError, match=r"(?i)output size is too small|Output size is too small"):
        model.eval()(torch.zeros(1, 3, 4, 4))
    picture = convwidget.trace(model, (1, 3, 4, 4)).plot()
    last = picture.steps[-1]
    assert last.name == "conv_layer.17" and last.failed and last.kind == "error"
    assert picture.shape_labels[-1] == "no output" and front_colors(picture)[-1] == COLORS["error"]
    assert any("conv_layer.17 (MaxPool2d) cannot take input" in t for t in picture.texts)


def test_every_box_stays_in_its_column():
    """Long 1-D maps (8000 samples) and thick 3-D ones do not run into their neighbours."""
    for model, shape in [(AudioNet(), (1, 1, 8000)), (VideoNet(), (1, 1, 32, 64, 64)),
                         (ResNet50(device="meta"), (1, 3, 224, 224))]:
        picture = convwidget.trace(model, shape).plot()
        verts = picture._faces.get_paths()
        for i in range(len(picture.steps)):
            xs = np.concatenate([verts[3 * i + k].vertices[:, 0] for k in range(3)])
            column = i % picture._built_for[1]
            assert column < xs.min() and xs.max() < column + 1, (model.__class__.__name__, i)


def agg_reference(picture: NetPicture, theme: str, bands: bool) -> np.ndarray:
    """Matplotlib's own drawing of the picture's boxes and arrows (its words hidden), in ``theme``:
    the oracle for the palette-indexed frame."""
    picture._style(theme)
    picture._bands.set_visible(bands)
    picture.figure.set_facecolor(THEME_COLORS[theme]["page"])
    try:
        picture.figure.canvas.draw()
        return np.asarray(picture.figure.canvas.buffer_rgba())[..., :3].astype(int)
    finally:
        picture._style("light")
        picture._bands.set_visible(False)
        picture.figure.set_facecolor(THEME_COLORS["light"]["page"])


INDEXED = [("cifar-wrong-linear", lambda: CifarNet(fc_in=4000), 32, 100),
           ("cifar", lambda: CifarNet(), 48, 100),
           ("cifar-wrong-linear", lambda: CifarNet(fc_in=4000), 40, 250),
           ("resnet50", lambda: ResNet50(device="meta"), 224, 100),
           ("resnet50", lambda: ResNet50(device="meta"), 96, 72)]


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("name", "build", "size", "dpi"), INDEXED,
                         ids=[f"{n[0]}-{n[2]}-{n[3]}dpi" for n in INDEXED])
def test_boxes_and_arrows_are_matplotlibs_own_drawing(theme, name, build, size, dpi):
    """The frame drawn as palette indices against Agg drawing the same artists: every box and
    arrow pixel lies in the rectangles read, and each is within a few levels of Agg's (an
    outline's anti-aliased pixel is the nearest of a few mixes: at 72 dpi, where outlines are
    thinnest, ~4 % of the box pixels are more than 16 levels off, none more than 48; at 100 dpi
    under 1 %)."""
    picture = convwidget.trace(build(), (1, 3, size, size)).plot(dpi=dpi)
    fast = _rgb(picture.to_png(theme=theme))
    reference = agg_reference(picture, theme, bands=False)
    height, width = reference.shape[:2]
    inside = np.zeros((height, width), bool)
    boxes, arrows = picture._geometry_rects(height, width)
    for r0, r1, c0, c1 in boxes + arrows:
        inside[r0:r1, c0:c1] = True
    page = np.array(matplotlib.colors.to_rgb(THEME_COLORS[theme]["page"])) * 255
    assert (reference[~inside] == page.round()).all(), "a box or arrow pixel outside the rectangles read"
    diff = np.abs(fast - reference).max(axis=-1)[inside]
    most, off = diff.max(), (diff > 16).mean()
    assert most <= 48 and off < (0.01 if dpi >= 100 else 0.05), (most, off)


def test_light_and_dark_png_are_the_same_pixels_with_two_palettes():
    from PIL import Image

    picture = convwidget.trace(CifarNet(fc_in=4000), (1, 3, 32, 32)).plot()
    light, dark = (Image.open(io.BytesIO(picture.to_png(theme=t))) for t in ("light", "dark"))
    assert light.mode == dark.mode == "P"
    assert (np.asarray(light) == np.asarray(dark)).all()
    assert light.getpalette() != dark.getpalette()


def test_the_bytes_do_not_depend_on_what_was_drawn_before():
    """The colour table fills as pictures are drawn; a fresh process gives the same bytes."""
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, 'tests'); from models import CifarNet; import convwidget; "
            "p = convwidget.trace(CifarNet(fc_in=4000), (1, 3, 40, 40)).plot(); "
            "sys.stdout.buffer.write(p.to_png() + p.to_png(theme='dark'))")
    for size in (224, 128, 64):
        convwidget.trace(ResNet50(device="meta"), (1, 3, size, size)).plot().to_png()
    picture = convwidget.trace(CifarNet(fc_in=4000), (1, 3, 40, 40)).plot()
    here = picture.to_png() + picture.to_png(theme="dark")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                           cwd=Path(__file__).parent.parent).stdout
    assert fresh == here


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_words_under_every_box_read_in_the_frame(theme):
    """Each box's words, as drawn: the strongest ink against the most common colour (the page,
    or the flatten's band) is >= 4.5:1."""
    picture = convwidget.trace(CifarNet(fc_in=4000), (1, 3, 32, 32)).plot()
    picture.to_png(theme=theme)
    pixels = picture.draw()[..., :3]
    height = pixels.shape[0]
    column = pixels.shape[1] / max(picture._built_for[1], 7)
    tops = picture._ax.transData.transform(picture._anchors)
    line = np.ptp(picture._ax.transData.transform([(0, 0), (0, 0.13)])[:, 1])
    for k, key in enumerate(("name", "op", "shape", "flatten", "fix")):
        for (x, y), word in zip(tops, picture._words[key], strict=True):
            if not word:
                continue
            y0 = int(height - y + k * line)
            region = pixels[y0:y0 + int(line), int(x - column / 2) + 2:int(x + column / 2) - 2].reshape(-1, 3)
            colours, counts = np.unique(region, axis=0, return_counts=True)
            fill = matplotlib.colors.to_hex(colours[counts.argmax()] / 255)
            best = max(contrast(matplotlib.colors.to_hex(c / 255), fill) for c in colours)
            assert best >= 4.5, (theme, key, word, fill, best)
