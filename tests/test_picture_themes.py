"""The picture's themes and scale: every text reads on its fill (WCAG 4.5:1) in both themes,
the dark picture is dark, the scale multiplies pixels and text, every text is >= 11 px."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convwidget.drawing import PALETTES, THEMES, WindowFigure
from convwidget.drawing import compose as compose_module
from convwidget.drawing import figure as figure_module
from convwidget.drawing.palettes import contrast, luminance, text_pairs
from convwidget.geometry import layer_geometry

GEOMETRIES = [
    ("conv", (5, 5), dict(kernel_size=3, stride=2, padding=1)),
    ("conv", (7, 7), dict(kernel_size=3, dilation=2, padding=1)),
    ("conv_transpose", (3, 3), dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    ("max_pool", (5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool", (6, 6), dict(kernel_size=2, stride=3)),
    ("conv", (9,), dict(kernel_size=3, stride=2, padding=1)),
]


@pytest.mark.parametrize("theme", THEMES)
def test_every_text_colour_reads_on_every_fill_it_is_drawn_on(theme):
    pairs = text_pairs(theme)
    assert len(pairs) >= 10
    for text, fill, ratio, what in pairs:
        assert ratio >= 4.5, f"{theme}: {what}: {text} on {fill} is {ratio:.2f}:1"


def test_palettes_have_the_same_entries_and_keep_the_okabe_ito_hues():
    assert set(PALETTES["light"]) == set(PALETTES["dark"])
    for theme in THEMES:
        assert PALETTES[theme]["tap"] == "#e69f00"  # Okabe-Ito orange in both
    assert PALETTES["light"]["edge"] == "#d55e00"


def hex_of(pixel) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in pixel[:3])


def cell_text_contrast(rgba: np.ndarray, x: float, y: float, cell: int) -> float:
    """The best text contrast in a cell: its most common colour is the fill, the text pixel
    furthest from it in luminance is the text's core."""
    inset = max(3, cell // 6)
    x0, y0 = int(x - cell / 2) + inset, int(y - cell / 2) + inset
    region = rgba[y0:y0 + cell - 2 * inset, x0:x0 + cell - 2 * inset, :3].reshape(-1, 3)
    colours, counts = np.unique(region, axis=0, return_counts=True)
    fill = hex_of(colours[counts.argmax()])
    return max(contrast(hex_of(c), fill) for c in colours)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(("kind", "size", "kw"), GEOMETRIES, ids=str)
def test_indices_read_in_real_frames_under_the_window_and_elsewhere(theme, kind, size, kw):
    fig = WindowFigure(layer_geometry(kind, size, **kw), theme=theme)
    g = fig.geometry
    assert fig.labels["input"] or fig.labels["output"], "this picture should write indices"
    cell = fig.layout.cell
    for step in sorted({0, g.n_steps // 2, g.n_steps - 1}):
        fig.show_step(step)
        rgba = fig.to_rgba()
        w = fig.window if g.ndim == 2 else None
        lit = {("input", t) for t in w.taps} | {("output", w.out_cell)} if w else set()
        for key, (text, x, y, _) in fig._spots.items():
            ratio = cell_text_contrast(rgba, x, y, cell)
            where = "under the window" if key in lit else "elsewhere"
            assert ratio >= 4.5, f"{theme} step {step}: {key} {text!r} {where}: {ratio:.2f}:1"
    fig.close()


def test_dark_png_is_dark_and_light_png_is_light():
    fig = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3, padding=1))
    for theme, dark in (("dark", True), ("light", False)):
        rgb = np.asarray(Image.open(io.BytesIO(fig.to_png(theme=theme))).convert("RGB")) / 255
        lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        mean = float((lin @ np.array([0.2126, 0.7152, 0.0722])).mean())
        assert (mean < 0.2) if dark else (mean > 0.6), (theme, mean)
    assert luminance(PALETTES["dark"]["background"]) < 0.01


def test_to_png_in_the_other_theme_leaves_the_figure_as_it_was():
    g = layer_geometry("max_pool", (5, 5), kernel_size=2, ceil_mode=True)
    fig = WindowFigure(g)
    fig.show_step(3)
    light = fig.to_png()
    dark = fig.to_png(theme="dark")
    assert dark != light and fig.theme == "light" and fig.to_png() == light
    other = WindowFigure(g, theme="dark")
    other.show_step(3)
    assert other.to_png() == dark  # the same frame as a figure made dark
    fig.set_style(theme="dark")
    assert fig.to_png() == dark and fig.to_png(theme="light") == light
    with pytest.raises(ValueError, match="theme='sepia' is not a picture theme; use 'light' or 'dark'"):
        fig.to_png(theme="sepia")
    with pytest.raises(ValueError, match="scale=0 must be a number from 0.25 to 4"):
        WindowFigure(scale=0)


def test_set_style_composes_again_only_when_a_value_changes(monkeypatch):
    fig = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3))
    fig.to_png()
    calls = []
    real = figure_module.compose
    monkeypatch.setattr(figure_module, "compose", lambda *a, **k: calls.append(a) or real(*a, **k))
    fig.set_style(theme="light", scale=1.0)
    fig.to_png()
    assert calls == []
    fig.set_style(scale=1.5)
    fig.to_png()
    assert len(calls) == 1


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
def test_scale_multiplies_pixels_and_text(scale):
    fig = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3, padding=1), scale=scale)
    h, w = fig.to_rgba().shape[:2]
    assert (w, h) == (round(580 * scale), round(310 * scale))
    base = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3, padding=1))
    assert fig.layout.cell == pytest.approx(base.layout.cell * scale, abs=2)
    assert fig.figure.dpi == pytest.approx(100 * scale)  # point sizes (text, lines) follow the dpi


@pytest.mark.parametrize(("kind", "size", "kw"), [
    *GEOMETRIES,
    ("conv", (12, 12), dict(kernel_size=3, padding=1)),
    ("conv", (3, 40), dict(kernel_size=3)),
    ("conv", (2, 2), dict(kernel_size=5)),  # refused: the error picture
], ids=str)
def test_every_text_is_at_least_11_px_at_scale_1(monkeypatch, kind, size, kw):
    sizes = []

    def record(fn):
        def wrapped(text, size_pt, dpi):
            sizes.append((text, size_pt * dpi / 72))
            return fn(text, size_pt, dpi)
        return wrapped

    monkeypatch.setattr(compose_module, "text_mask", record(compose_module.text_mask))
    monkeypatch.setattr(figure_module, "text_mask", record(figure_module.text_mask))
    monkeypatch.setattr(figure_module, "line_mask", record(figure_module.line_mask))
    fig = WindowFigure()
    try:
        fig.set_geometry(layer_geometry(kind, size, **kw))
    except Exception as err:  # noqa: BLE001 - a refused setting is drawn as its sentence
        fig.show_error(str(err))
    fig.to_png()
    fig.to_png(theme="dark")
    assert sizes
    small = [(t, round(px, 1)) for t, px in sizes if px < 11.0]
    assert not small, small


LOOKS = {
    "light": ("conv", (5, 5), dict(kernel_size=3, stride=2, padding=1), 4, "light", 1.0),
    "dark": ("conv", (5, 5), dict(kernel_size=3, stride=2, padding=1), 4, "dark", 1.0),
    "scale15": ("conv", (7, 7), dict(kernel_size=3, dilation=2, padding=1), 3, "light", 1.5),
    "scale15_dark": ("avg_pool", (6, 6), dict(kernel_size=2, stride=3), 1, "dark", 1.5),
    "unread": ("avg_pool", (7, 7), dict(kernel_size=2, stride=3), 1, "light", 1.0),
    "ceil_dropped_column": ("max_pool", (5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), 8,
                            "light", 1.0),
    "transposed": ("conv_transpose", (3, 3), dict(kernel_size=3, stride=2, padding=1, output_padding=1), 7,
                   "dark", 1.0),
    "dilation": ("conv", (7, 8), dict(kernel_size=3, stride=2, dilation=2), 1, "dark", 1.0),
    "strip_1d": ("conv", (9,), dict(kernel_size=3, stride=2, padding=1), 2, "light", 1.0),
    "big_32": ("conv", (32, 32), dict(kernel_size=3, stride=2, padding=1), 40, "dark", 1.0),
}


@pytest.fixture(scope="module")
def artifacts():
    folder = Path(__file__).parent / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.mark.parametrize("name", LOOKS)
def test_render_each_look_into_the_artifacts_folder(artifacts, name):
    """PNGs to look at (tests/artifacts/picture_*.png): a picture drawn but unreadable is a bug."""
    kind, size, kw, step, theme, scale = LOOKS[name]
    fig = WindowFigure(layer_geometry(kind, size, **kw), theme=theme, scale=scale)
    fig.show_step(step)
    png = fig.to_png()
    (artifacts / f"picture_{name}.png").write_bytes(png)
    assert Image.open(io.BytesIO(png)).size == (round(580 * scale), round(310 * scale))
    fig.close()


@pytest.mark.parametrize("theme", THEMES)
def test_a_refusal_is_wrapped_inside_the_picture(artifacts, theme):
    from convwidget import ShapeError

    with pytest.raises(ShapeError, match="kernel spans 5 cells") as refused:
        layer_geometry("conv", (2, 2), kernel_size=5)
    fig = WindowFigure(theme=theme)
    fig.show_error(str(refused.value))
    rgba = fig.to_rgba()
    (artifacts / f"picture_refusal_{theme}.png").write_bytes(fig.to_png())
    background = np.array([int(PALETTES[theme]["background"][i:i + 2], 16) for i in (1, 3, 5)])
    assert (rgba[:, -6:, :3] == background).all() and (rgba[:, :6, :3] == background).all()
