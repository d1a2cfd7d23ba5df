"""convwidget.export: GIF and HTML player, with nothing dropped silently."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from convwidget.drawing import WindowFigure
from convwidget.export import frame_steps, to_gif, to_html
from convwidget.geometry import layer_geometry

CONV = dict(kind="conv", input_size=(5, 5), kernel_size=3, stride=2, padding=1)
POOL = dict(kind="max_pool", input_size=(5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
        return frames


def player_frames(html: str) -> list[str]:
    return re.findall(r'"([A-Za-z0-9+/=]{100,})"', html.split("var frames = ", 1)[1].split(";", 1)[0])


def test_gif_has_one_frame_per_step(tmp_path):
    g = layer_geometry(**CONV)
    result = to_gif(g, tmp_path / "conv.gif", fps=5)
    frames = gif_frames(tmp_path / "conv.gif")
    assert len(frames) == g.n_steps == len(result.frames) and result.note is None
    assert result.nbytes == (tmp_path / "conv.gif").stat().st_size
    # consecutive frames differ (the window moves), and the first matches the figure's own frame
    assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False))
    fig = WindowFigure(g, figsize=(8.0, 4.0))  # the export default size
    reference = fig.to_rgba()[..., :3].astype(int)
    # the GIF palette is quantised: allow small colour differences, no moved pixels
    assert np.abs(frames[0].astype(int) - reference).max() <= 24
    with Image.open(tmp_path / "conv.gif") as im:
        assert im.info["duration"] == 200 and im.info["loop"] == 0


def test_gif_appends_dropped_windows_and_says_what_it_subsampled(tmp_path):
    g = layer_geometry(**POOL)
    result = to_gif(g, tmp_path / "pool.gif", max_frames=4)
    assert result.frames == (0, 3, 5, 8)
    assert result.dropped == 2  # one dropped window per edge
    assert len(gif_frames(tmp_path / "pool.gif")) == 4 + 2
    assert result.note == "this pass has 9 steps; the GIF shows 4 of them, evenly spaced (max_frames=4)"
    none = to_gif(g, tmp_path / "pool2.gif", include_dropped=False)
    assert none.dropped == 0 and len(gif_frames(tmp_path / "pool2.gif")) == 9


def test_progress_is_reported_per_frame(tmp_path):
    calls = []
    g = layer_geometry(**POOL)
    to_gif(g, tmp_path / "p.gif", progress=lambda i, n: calls.append((i, n)))
    assert calls == [(i, 11) for i in range(1, 12)]
    calls.clear()
    to_html(g, max_frames=3, progress=lambda i, n: calls.append((i, n)))
    assert calls == [(i, 5) for i in range(1, 6)]


def test_text_progress(tmp_path, capsys):
    to_gif(layer_geometry("conv", (3,), kernel_size=2), tmp_path / "t.gif", progress=True)
    err = capsys.readouterr().err
    assert "rendering frame 2/2" in err and err.endswith("\n")


def test_figure_source_keeps_its_step(tmp_path):
    fig = WindowFigure(layer_geometry(**CONV))
    fig.show_step(5)
    before = fig.to_png()
    to_gif(fig, tmp_path / "f.gif")
    to_html(fig, max_frames=2)
    assert fig.step == 5 and fig.to_png() == before


def test_html_player_holds_every_frame_and_controls(tmp_path):
    g = layer_geometry(**CONV)
    result = to_html(g, tmp_path / "player.html", fps=2)
    html = result.html
    assert result.note is None and result.frames == tuple(range(9))
    frames = player_frames(html)
    assert len(frames) == 9
    fig = WindowFigure(g, figsize=(8.0, 4.0))  # the export default size
    fig.show_step(4)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(frames[4]))).convert("RGB")).astype(int)
    # palette PNG: small colour differences, no moved pixels
    assert np.abs(shown - fig.to_rgba()[..., :3].astype(int)).max() <= 24
    assert html.count("<button") == 4 and 'type="range"' in html and "setInterval" in html
    assert "convwidget-player-note" not in html
    written = (tmp_path / "player.html").read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>") and html in written
    assert result._repr_html_() == html
    line = repr(result)  # one line, not the player's 100 KB of HTML
    assert "\n" not in line and "<" not in line and len(line) < 200
    assert line.startswith(f"ExportResult(path={str(tmp_path / 'player.html')!r}, frames=")
    # two players in one notebook do not share an element id
    assert re.search(r'id="([^"]+)"', html).group(1) != re.search(r'id="([^"]+)"', to_html(g).html).group(1)


def test_html_player_says_when_it_subsamples():
    g = layer_geometry("conv", (12, 12), kernel_size=3, padding=1)
    result = to_html(g, max_frames=10)
    assert len(result.frames) == 10 and len(player_frames(result.html)) == 10
    assert result.note == ("this pass has 144 steps; the player shows 10 of them, evenly spaced "
                           "(max_frames=10)")
    assert result.note in result.html  # shown to the reader, under the picture


def test_html_player_stays_under_max_bytes_and_says_so():
    g = layer_geometry("conv", (12, 12), kernel_size=3, padding=1)
    result = to_html(g, max_bytes=400_000)
    assert result.nbytes <= 400_000
    assert 1 < len(result.frames) < 144
    assert result.frames[0] == 0 and result.frames[-1] == 143
    assert "to stay under max_bytes=400000" in result.note and result.note in result.html


@pytest.mark.parametrize(("kw", "error", "match"), [
    (dict(max_frames=0), ValueError, "max_frames must be at least 1"),
    (dict(progress="yes"), TypeError, "progress must be a callable"),
])
def test_bad_arguments(tmp_path, kw, error, match):
    with pytest.raises(error, match=match):
        to_gif(layer_geometry(**CONV), tmp_path / "x.gif", **kw)


def test_sources_that_cannot_be_animated(tmp_path):
    fig = WindowFigure()
    with pytest.raises(ValueError, match="nothing to animate"):
        to_gif(fig, tmp_path / "x.gif")
    fig.set_geometry(layer_geometry(**CONV))
    fig.show_error("kernel too big")
    with pytest.raises(ValueError, match="nothing to animate"):
        to_html(fig)
    with pytest.raises(TypeError, match="Geometry or a WindowFigure"):
        to_html("conv")


def test_frame_steps_keep_ends_and_spacing():
    assert frame_steps(1000, 5) == (0, 250, 500, 749, 999)
    assert frame_steps(3, 1) == (0,)
    assert len(set(frame_steps(571, 300))) == 300


# ---------------------------------------------------------------- bounded, checked, atomic (issue 10)
@pytest.mark.parametrize(("kw", "error", "match"), [
    (dict(fps=0), ValueError, r"fps=0 is outside 0.01 to 50; use e.g. fps=4"),
    (dict(fps=1e-9), ValueError, r"fps=1e-09 is outside 0.01 to 50"),
    (dict(fps=float("nan")), ValueError, r"fps=nan is outside"),
    (dict(fps="4"), TypeError, r"fps must be a number, got '4' \(str\)"),
    (dict(dpi=1), ValueError, r"dpi=1 is outside 20 to 600; use e.g. dpi=100"),
    (dict(figsize=(0, 0)), ValueError, r"figsize width=0 is outside"),
    (dict(figsize=(1, 0.5)), ValueError, r"is 100 × 50 pixels; a frame needs at least 100 pixels a side"),
    (dict(figsize=8), TypeError, r"figsize must be \(width, height\) in inches, got 8"),
    (dict(max_frames=2.5), TypeError, r"max_frames must be a whole number, got 2.5"),
    (dict(include_dropped="no"), TypeError, r"include_dropped must be True or False"),
])
def test_bad_options_are_sentences_before_anything_is_drawn(tmp_path, kw, error, match):
    for export, name in ((to_gif, "x.gif"), (to_html, "x.html")):
        with pytest.raises(error, match=match):
            export(layer_geometry(**CONV), tmp_path / name, **kw)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "match"), [
    ("a.png", r"to_gif writes .gif files, but path='.*a.png' ends in '.png'; use a name ending in .gif"),
    ("a.jpg", r"ends in '.jpg'"),
    ("animation", r"ends in 'no extension'"),
    ("missing/a.gif", r"the folder '.*missing' does not exist"),
    (".", r"is a folder; give a file name such as '.*animation.gif'"),
])
def test_gif_paths_other_than_a_gif_file_are_refused(tmp_path, name, match):
    with pytest.raises(ValueError, match=match):
        to_gif(layer_geometry(**CONV), tmp_path / name)
    with pytest.raises(ValueError, match="to_html writes .html or .htm files"):
        to_html(layer_geometry(**CONV), tmp_path / "player.gif")
    assert list(tmp_path.iterdir()) == []
    assert to_gif(layer_geometry(**CONV), tmp_path / "A.GIF", max_frames=2).path.endswith("A.GIF")


@pytest.mark.parametrize("export,name", [(to_gif, "x.gif"), (to_html, "x.html")])
def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, export, name):
    target = tmp_path / name
    target.write_bytes(b"the previous export")
    real_open = open

    def full_disk_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if "x" in mode:  # the temporary file: half a frame, then the disk is full
            handle.write(b"GIF89a partial")
            handle.close()
            raise OSError(28, "No space left on device")
        return handle

    monkeypatch.setattr("builtins.open", full_disk_open)
    with pytest.raises(OSError, match="No space left on device"):
        export(layer_geometry(**CONV), target, max_frames=2)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left
    assert target.read_bytes() == b"the previous export"  # the old file is untouched


def test_big_kernels_get_fewer_frames_and_the_note_says_why(tmp_path, monkeypatch):
    from convwidget import export

    monkeypatch.setattr(export, "MAX_TAPS", 200)
    g = layer_geometry("conv", (9, 9), kernel_size=5)  # 25 steps of 25 taps
    result = to_gif(g, tmp_path / "k.gif")
    assert len(result.frames) == 200 // 25 and result.frames[0] == 0 and result.frames[-1] == 24
    assert result.note == ("this pass has 25 steps; the GIF shows 8 of them, evenly spaced (each window "
                           "draws 25 kernel taps and an export draws at most MAX_TAPS=200)")
    assert len(gif_frames(tmp_path / "k.gif")) == 8
    assert len(to_html(g, max_frames=4).frames) == 4  # a smaller max_frames still wins


def test_frames_are_capped_in_pixels_and_the_note_says_so(tmp_path, monkeypatch):
    from convwidget import export

    monkeypatch.setattr(export, "MAX_PIXELS", 200_000)
    result = to_gif(layer_geometry(**CONV), tmp_path / "p.gif", max_frames=2)  # 8 x 4 in at 100 dpi
    assert gif_frames(tmp_path / "p.gif")[0].shape == (4 * 79, 8 * 79, 3)
    assert result.note == ("this pass has 9 steps; the GIF shows 2 of them, evenly spaced (max_frames=2); "
                           "drawn at dpi=79 instead of 100: figsize=(8.0, 4.0) at that dpi would be "
                           "320,000 pixels a frame (the limit is MAX_PIXELS=200,000)")
    assert "MAX_PIXELS=200,000" in to_html(layer_geometry(**CONV), max_frames=2).note


def test_a_window_too_big_to_draw_is_refused_before_anything_is_written(tmp_path):
    g = layer_geometry("conv", (300, 300), kernel_size=300)
    with pytest.raises(ValueError, match=r"nothing to animate: the window has 90,000 kernel taps"):
        to_gif(g, tmp_path / "big.gif")
    with pytest.raises(ValueError, match=r"the picture draws at most 65,536"):
        to_html(g)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("export", [to_gif, to_html])
def test_without_a_path_nothing_is_written_and_the_bytes_come_back(tmp_path, monkeypatch, export):
    """A browser download (Voila): the file's bytes in the result, no file anywhere."""
    import builtins

    import convwidget.export as export_module

    monkeypatch.chdir(tmp_path)
    opened = []
    real_open = builtins.open

    def watching_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            opened.append(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    monkeypatch.setattr(export_module, "write_atomically", lambda *a: pytest.fail("wrote a file"))
    result = export(layer_geometry(**CONV), fps=2)
    assert opened == [] and list(tmp_path.iterdir()) == []
    assert result.path is None and result.data and result.filename == "conv_5x5_k3_s2_p1" + (
        ".gif" if export is to_gif else ".html")
    if export is to_gif:
        assert result.mime == "image/gif" and result.data[:6] == b"GIF89a"
        assert result.nbytes == len(result.data)
        with Image.open(io.BytesIO(result.data)) as im:
            assert im.n_frames == 9
    else:
        assert result.mime == "text/html" and result.data.startswith(b"<!DOCTYPE html>")
        assert result.html in result.data.decode("utf-8")
    assert "\n" not in repr(result) and len(repr(result)) < 200
    assert repr(result).startswith(f"ExportResult(filename={result.filename!r} in memory")


def test_with_a_path_the_file_is_written_and_no_bytes_are_kept(tmp_path):
    result = to_gif(layer_geometry(**CONV), tmp_path / "pass.gif")
    assert result.data is None and result.path == str(tmp_path / "pass.gif")
    assert result.mime == "image/gif" and result.filename == "conv_5x5_k3_s2_p1.gif"
    page = to_html(layer_geometry(**CONV), tmp_path / "pass.html")
    assert page.data is None and (tmp_path / "pass.html").read_bytes().startswith(b"<!DOCTYPE html>")


def test_exports_draw_the_light_theme_unless_asked(tmp_path):
    g = layer_geometry(**CONV)
    fig = WindowFigure(g, figsize=(8.0, 4.0), theme="dark")
    fig.show_step(2)
    dark_frame = fig.to_png()
    light = gif_frames(io.BytesIO(to_gif(fig).data))
    assert light[0].mean() > 200  # a white background: the light theme
    assert fig.theme == "dark" and fig.step == 2 and fig.to_png() == dark_frame  # the figure as it was
    dark = gif_frames(io.BytesIO(to_gif(g, theme="dark").data))
    assert dark[0].mean() < 80
    with pytest.raises(ValueError, match="theme='blue' is not a picture theme"):
        to_html(g, theme="blue")
