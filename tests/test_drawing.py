"""convwidget.drawing: the artists show what PyTorch computes, frames are reproducible,
and no global Matplotlib state is touched."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
import torch
from test_geometry import torch_dependencies  # tests/ is on sys.path (no package)

from convwidget import ShapeError
from convwidget.drawing import WindowFigure
from convwidget.geometry import layer_geometry

CASES = [
    ("conv", (5, 5), dict(kernel_size=3, stride=2, padding=1)),
    ("conv", (7, 7), dict(kernel_size=3, dilation=2, padding=1)),
    ("conv", (6, 5), dict(kernel_size=(4, 2), padding=(2, 0), stride=(1, 2))),
    ("conv", (9,), dict(kernel_size=3, stride=2, padding=1)),
    ("conv_transpose", (3, 3), dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    ("conv_transpose", (3, 2), dict(kernel_size=(2, 3), stride=(3, 1), dilation=(1, 2))),
    ("max_pool", (5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool", (6, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("conv", (32, 32), dict(kernel_size=3, stride=2, padding=1)),
]


def grid_to_input(g, cell):
    """Grid cell -> input index (the stretched grid of a transposed conv divides by stride)."""
    return tuple(c // d.stretch for c, d in zip(cell, g.dims, strict=True))


@pytest.fixture(scope="module")
def fig():
    f = WindowFigure()
    yield f
    f.close()


@pytest.mark.parametrize(("kind", "size", "kw"), CASES, ids=str)
def test_lit_cells_are_what_torch_reads(fig, kind, size, kw):
    """Read the tap squares back from the artists and compare with real PyTorch."""
    g = layer_geometry(kind, size, **kw)
    out_size, deps = torch_dependencies(kind, size, **kw)
    fig.set_geometry(g, 0)
    steps = range(g.n_steps) if g.n_steps <= 40 else range(0, g.n_steps, 7)
    for step in steps:
        fig.show_step(step)
        lit = fig.highlighted()
        out_cell = g.out_cell(step)
        if g.ndim == 1:
            assert all(r == 0 for r, _ in lit["taps"]) and lit["out_cell"][0] == 0
            taps = [(c,) for _, c in lit["taps"]]
            assert lit["out_cell"][1:] == out_cell
        else:
            taps = lit["taps"]
            assert lit["out_cell"] == out_cell
        read = {grid_to_input(g, t) for t in taps if g.cell_role(t) == "input"}
        assert read == deps[out_cell]
        # the outline spans the dilated kernel, corner to corner
        first, last = lit["extent"]
        if g.ndim == 2:
            assert (first, last) == (taps[0], taps[-1])
        assert fig.to_png()  # every step renders


def test_steps_blit_to_the_same_png_as_a_full_draw(fig):
    g = layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1)
    fig.set_geometry(g, 0)
    first = fig.to_png()  # full draw
    fig.show_step(3)
    third = fig.to_png()  # blitted
    fig.show_step(0)
    assert fig.to_png() == first
    assert third != first
    fresh = WindowFigure(g)
    fresh.show_step(3)
    assert fresh.to_png() == third  # blitted frame == full draw of that step
    fresh.close()


def test_geometry_round_trip_gives_identical_png(fig):
    a = layer_geometry("conv_transpose", (3, 3), kernel_size=3, stride=2, padding=1, output_padding=1)
    b = layer_geometry("max_pool", (32, 32), kernel_size=3, stride=2, ceil_mode=True)
    fig.set_geometry(a, 5)
    before = fig.to_png()
    fig.set_geometry(b, 100)
    assert fig.to_png() != before
    fig.set_geometry(a, 5)
    assert fig.to_png() == before


def test_error_replaces_drawing_and_geometry_restores_it(fig):
    g = layer_geometry("conv", (5, 5), kernel_size=3)
    fig.set_geometry(g, 2)
    drawing = fig.to_png()
    with pytest.raises(ShapeError, match="kernel") as err:
        layer_geometry("conv", (2, 2), kernel_size=5)
    fig.show_error(str(err.value))
    assert fig.n_steps == 0 and fig.error == str(err.value)
    shown = fig.to_png()
    assert shown != drawing
    fig.show_step(1)  # ignored while the error shows
    assert fig.to_png() == shown
    fig.set_geometry(g, 2)
    assert fig.error is None and fig.to_png() == drawing


def test_dropped_window_can_be_shown(fig):
    g = layer_geometry("max_pool", (5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)
    fig.set_geometry(g, 0)
    normal = fig.to_png()
    dropped = next(w for w in g.dropped_windows() if w.out_cell == (0, 3))
    fig.show_window(dropped)
    lit = fig.highlighted()
    assert lit["out_cell"] == (0, 3)
    assert lit["taps"] == list(dropped.taps)
    assert fig.to_png() != normal
    # the ghost output cells of the dropped windows are on the output axes
    assert fig.dropped_cells == [w.out_cell for w in g.dropped_windows()]


def test_step_clamped_when_the_output_shrinks(fig):
    fig.set_geometry(layer_geometry("conv", (8, 8), kernel_size=3), 30)
    fig.set_geometry(layer_geometry("conv", (4, 4), kernel_size=3))
    assert fig.step == 3 and fig.highlighted()["out_cell"] == (1, 1)


def test_no_global_state_changed():
    before = copy.deepcopy(dict(matplotlib.rcParams))
    f = WindowFigure(layer_geometry("conv", (6, 6), kernel_size=3, padding=1))
    f.show_step(4)
    f.to_png()
    f.set_geometry(layer_geometry("max_pool", (5, 5), kernel_size=2, ceil_mode=True))
    f.to_png()
    f.close()
    assert dict(matplotlib.rcParams) == before


def test_drawing_never_imports_pyplot():
    code = (
        "import sys\n"
        "from convwidget.drawing import WindowFigure\n"
        "from convwidget.export import to_html\n"
        "from convwidget.geometry import layer_geometry\n"
        "f = WindowFigure(layer_geometry('conv', (5, 5), kernel_size=3))\n"
        "f.to_png(); to_html(f, max_frames=2)\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_small_grids_get_indices_large_grids_do_not(fig):
    fig.set_geometry(layer_geometry("conv", (5, 5), kernel_size=3, padding=1))
    assert [text for _, text in fig.labels["input"]] == [str(i) for i in range(25)]
    assert fig.labels["input"][6] == ((1, 1), "6")
    assert [text for _, text in fig.labels["output"]] == [str(i) for i in range(25)]
    fig.set_geometry(layer_geometry("conv_transpose", (2, 2), kernel_size=2, stride=3))
    labels = dict(fig.labels["input"])  # stretched grid: input i at i * stride, zeros between
    assert (labels[(0, 3)], labels[(3, 0)], labels[(3, 3)], labels[(1, 2)]) == ("1", "2", "3", "0")
    fig.set_geometry(layer_geometry("conv", (32, 32), kernel_size=3, padding=1))
    assert fig.labels == {"input": [], "output": []}


@pytest.mark.parametrize("n", [13, 17, 24])
def test_a_strip_longer_than_twelve_cells_gets_its_indices(fig, n):
    """A 1 x n strip has wide cells: its input indices (what PyTorch's panel feeds in) and
    its output cells are written, not only up to 12 cells a side."""
    fig.set_geometry(layer_geometry("conv", (1, n), kernel_size=(1, 3)))
    out = torch.nn.Conv2d(1, 1, (1, 3))(torch.zeros(1, 1, 1, n)).shape[-1]
    assert [text for _, text in fig.labels["input"]] == [str(i) for i in range(n)]
    assert [cell for cell, _ in fig.labels["output"]] == [(0, c) for c in range(out)]


def test_empty_figure_renders_and_waits_for_a_geometry():
    f = WindowFigure()
    assert f.n_steps == 0
    assert f.to_png()[:4] == b"\x89PNG"
    f.set_geometry(layer_geometry("avg_pool", (4,), kernel_size=2))
    assert f.n_steps == 2
    f.close()


@pytest.fixture(scope="module")
def sweep_fig():
    f = WindowFigure(figsize=(6.0, 3.0), dpi=80.0)
    yield f
    f.close()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_geometry import layer_settings  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(layer_settings(), st.integers(0, 10_000))
def test_any_setting_draws_or_refuses_cleanly(sweep_fig, case, seed):
    """Every setting either draws (the lit artists matching the geometry) or raises ShapeError."""
    kind, size, kw = case
    try:
        g = layer_geometry(kind, size, **kw)
    except ShapeError as err:
        sweep_fig.show_error(str(err))
        assert sweep_fig.to_png()[:4] == b"\x89PNG"
        return
    step = seed % g.n_steps
    sweep_fig.set_geometry(g, step)
    lit = sweep_fig.highlighted()
    expected = g.window(step)
    taps = [(c,) for _, c in lit["taps"]] if g.ndim == 1 else lit["taps"]
    assert taps == list(expected.taps)
    assert sweep_fig.to_png()[:4] == b"\x89PNG"
    for w in g.dropped_windows()[:2]:
        sweep_fig.show_window(w)
        assert sweep_fig.to_png()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("kind", "size", "kw"), [
    ("conv", (1, 1), dict(kernel_size=1)),
    ("conv", (200, 200), dict(kernel_size=3, padding=1)),  # cells of 1-2 pixels
    ("conv", (3, 900), dict(kernel_size=3)),  # wider than the picture: cut at the edge
    ("conv", (500,), dict(kernel_size=5, stride=3)),
    ("max_pool", (129, 7), dict(kernel_size=2, ceil_mode=True)),
])
def test_extreme_sizes_draw(fig, kind, size, kw):
    g = layer_geometry(kind, size, **kw)
    fig.set_geometry(g, g.n_steps - 1)
    assert fig.to_png()[:4] == b"\x89PNG"


def test_draws_into_a_given_figure():
    """figure=: e.g. ipympl's live canvas; plain Agg here. Same picture as the private figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    given_fig = Figure(figsize=(8.0, 4.0), dpi=100.0)
    FigureCanvasAgg(given_fig)
    g = layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1)
    live = WindowFigure(g, figure=given_fig)
    live.show_step(4)
    assert live.figure is given_fig and live.highlighted()["out_cell"] == (1, 1)
    private = WindowFigure(g, figsize=(8.0, 4.0))
    private.show_step(4)
    assert np.array_equal(live.to_rgba(), private.to_rgba())  # the same picture
    live.show_error("no")
    assert live.to_png()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("kind", "size", "kw", "figsize"), [
    ("conv", (24, 24), dict(kernel_size=20, padding=3, stride=2), (8, 4)),  # input and padding
    ("conv_transpose", (3, 30), dict(kernel_size=(9, 40), stride=2, padding=(1, 40)), (8, 4)),  # cropped
    ("max_pool", (33, 33), dict(kernel_size=17, stride=8, padding=8, ceil_mode=True), (8, 4)),  # overhang
    # cells under 8 pixels: rectangles, one per run of same-role cells
    ("conv", (40, 40), dict(kernel_size=17, padding=3, stride=3), (4, 2)),
    ("conv", (30, 30), dict(kernel_size=17, padding=5, dilation=2, stride=4), (4, 2)),  # holes: squares
    ("max_pool", (33, 33), dict(kernel_size=17, stride=8, padding=8, ceil_mode=True), (4, 2)),
])
def test_big_windows_are_a_few_compound_paths_that_still_show_what_torch_reads(kind, size, kw, figsize):
    """Beyond 256 taps the squares are one path per colour (a 64×64 kernel drew 4,096 paths a
    frame, 0.2 s): the cells read back must still be exactly the ones torch reads."""
    g = layer_geometry(kind, size, **kw)
    _, deps = torch_dependencies(kind, size, **kw)
    fig = WindowFigure(figsize=figsize)
    fig.set_geometry(g, 0)
    for step in range(0, g.n_steps, max(1, g.n_steps // 6)):
        fig.show_step(step)
        window = g.window(step)
        assert len(window.taps) > 256 and len(fig.taps.get_paths()) <= 3
        lit = fig.highlighted()
        assert sorted(lit["taps"]) == sorted(window.taps)
        read = {grid_to_input(g, t) for t in lit["taps"] if g.cell_role(t) == "input"}
        assert read == deps[window.out_cell]
        assert f"reads {len(window.taps)} taps: {len(window.inputs)} input cells" in fig.caption
        assert fig.to_png()


@pytest.mark.parametrize("kw", [
    dict(input_size=(8, 8), kernel_size=3, padding=10**6),  # a 2,000,008-cell grid a side
    dict(input_size=(4096, 4096), kernel_size=3),
])
def test_huge_grids_compose_only_what_fits_in_the_picture(fig, kw):
    """Only the cells that reach into the picture are composed: padding=10**4 used to ask for
    3 GB (a codes array of the whole grid) and end in a MemoryError."""
    import tracemalloc

    g = layer_geometry("conv", **kw)
    tracemalloc.start()
    try:
        fig.set_geometry(g, 0)
        png = fig.to_png()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6 and png.startswith(b"\x89PNG")
    assert fig.highlighted()["out_cell"] == (0, 0)


def test_a_window_of_more_than_65536_taps_is_refused_with_a_sentence():
    from convwidget.drawing import MAX_WINDOW_TAPS

    g = layer_geometry("conv", (300, 300), kernel_size=257)  # 66,049 taps: 1.5 µs each in the geometry alone
    assert math.prod(g.kernel_size) > MAX_WINDOW_TAPS
    fig = WindowFigure(g)
    assert fig.error == ("the window has 66,049 kernel taps (kernel 257×257); the picture draws at most "
                         "65,536 (256×256): use a smaller kernel, or convwidget.explain for the sizes alone")
    assert fig.n_steps == 0 and fig.to_png().startswith(b"\x89PNG")
    fig.set_geometry(layer_geometry("conv", (300, 300), kernel_size=256))  # the largest drawn
    assert fig.error is None and len(fig.highlighted()["taps"]) == 256 * 256


def test_close_takes_off_only_its_own_artists_and_can_be_called_twice():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    given = Figure()
    FigureCanvasAgg(given)
    own = given.add_subplot()
    live = WindowFigure(layer_geometry("conv", (5, 5), kernel_size=3), figure=given)
    live.to_png()
    live.close()
    live.close()
    assert given.axes == [own] and given.artists == []


def test_text_caches_are_bounded_in_bytes(monkeypatch):
    from convwidget.drawing import raster

    monkeypatch.setattr(raster, "TEXT_CACHE_BYTES", 60_000)
    for i in range(300):  # e.g. a long session of refusal messages
        raster.text_mask(f"kernel spans {i} cells but the padded input has fewer", 11.0, 100.0)
    assert raster.text_mask.cache_bytes() <= 60_000
    latest = raster.text_mask("kernel spans 299 cells but the padded input has fewer", 11.0, 100.0)
    assert raster.text_mask("kernel spans 299 cells but the padded input has fewer", 11.0, 100.0) is latest
    assert raster.word_mask("step", 10.0, 100.0) is raster.word_mask("step", 10.0, 100.0)


def test_transposed_title_says_stretched_then_padded_with_torchs_numbers():
    """Notebook 04's recipe in the title: stretch to (n−1)·s+1, pad by d(k−1)−p each side
    (+ output_padding at the end); a stride-1 dilated conv over that grid gives torch's size."""
    import random
    import re

    import torch

    from convwidget.drawing.captions import input_title

    rng = random.Random(13)
    for _ in range(200):
        ndim = rng.choice([1, 2])
        n = [rng.randint(1, 6) for _ in range(ndim)]
        k, s, d = ([rng.randint(1, 4) for _ in range(ndim)] for _ in range(3))
        p = [rng.randint(0, 3) for _ in range(ndim)]
        op = [rng.randrange(max(si, di)) for si, di in zip(s, d, strict=True)]
        layer = getattr(torch.nn, f"ConvTranspose{ndim}d")(1, 1, k, stride=s, padding=p,
                                                           output_padding=op, dilation=d)
        try:
            truth = tuple(layer(torch.zeros(1, 1, *n)).shape[2:])
        except RuntimeError:
            continue
        title = input_title(layer_geometry("conv_transpose", tuple(n), kernel_size=tuple(k),
                                           stride=tuple(s), padding=tuple(p),
                                           output_padding=tuple(op), dilation=tuple(d)))
        m = re.search(r"stretched to ([\d×]+), (?:padded|cropped|padded and cropped) to ([\d×]+)$", title)
        assert m, title
        stretched, padded = ([int(v) for v in g.split("×")] for g in m.groups())
        for i in range(ndim):
            assert stretched[i] == (n[i] - 1) * s[i] + 1, title
            assert padded[i] == stretched[i] + 2 * (d[i] * (k[i] - 1) - p[i]) + op[i], title
            assert padded[i] - d[i] * (k[i] - 1) == truth[i], (title, truth)
