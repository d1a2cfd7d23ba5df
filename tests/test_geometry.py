"""convwidget.geometry: which input cells each output cell reads, checked against PyTorch.

The oracle: a batch of one-hot inputs (one per input cell) through the real torch.nn layer
with a kernel of ones. Output cell ``o`` of the one-hot input for cell ``j`` is non-zero
exactly when ``o``'s window reads ``j`` (max pooling pads with -inf, so padding never wins; a
dilated max-pool window that reads only padding gives -inf).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convwidget import ShapeError
from convwidget.geometry import ROLES, layer_geometry

# torch's own performance hint for padding='same' with an even kernel; not about us
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


def torch_layer(kind: str, ndim: int, kernel_size, stride, padding, dilation, output_padding, ceil_mode):
    if kind == "conv":
        layer = [nn.Conv1d, nn.Conv2d][ndim - 1](1, 1, kernel_size, stride, padding, dilation, bias=False)
    elif kind == "conv_transpose":
        layer = [nn.ConvTranspose1d, nn.ConvTranspose2d][ndim - 1](
            1, 1, kernel_size, stride, padding, output_padding, bias=False, dilation=dilation)
    elif kind == "max_pool":
        pool = [nn.MaxPool1d, nn.MaxPool2d][ndim - 1]
        layer = pool(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    else:
        layer = [nn.AvgPool1d, nn.AvgPool2d][ndim - 1](kernel_size, stride, padding, ceil_mode=ceil_mode)
    with torch.no_grad():
        for p in layer.parameters():
            p.fill_(1.0)
    return layer


def torch_dependencies(kind, input_size, kernel_size, stride=None, padding=0, dilation=1,
                       output_padding=0, ceil_mode=False):
    """{output cell: set of input cells it reads}, from real PyTorch, plus the output size."""
    ndim = len(input_size)
    if stride is None:
        stride = kernel_size if kind in ("max_pool", "avg_pool") else 1
    layer = torch_layer(kind, ndim, kernel_size, stride, padding, dilation, output_padding, ceil_mode)
    n = math.prod(input_size)
    x = torch.eye(n).reshape(n, 1, *input_size)  # one one-hot image per input cell
    with torch.no_grad():
        y = layer(x)[:, 0]
    out_size = tuple(y.shape[1:])
    cells = [tuple(int(i) for i in torch.unravel_index(torch.tensor(j), input_size)) for j in range(n)]
    deps = {}
    for o in range(math.prod(out_size)):
        oc = tuple(int(i) for i in torch.unravel_index(torch.tensor(o), out_size))
        # > 0, not != 0: a dilated max-pool window that reads only padding gives -inf
        hit = y.reshape(n, -1)[:, o] > 0
        deps[oc] = {cells[j] for j in range(n) if hit[j]}
    return out_size, deps


def check_against_torch(kind, input_size, **kw):
    g = layer_geometry(kind, input_size, **kw)
    out_size, deps = torch_dependencies(kind, input_size, **kw)
    assert g.output_size == out_size
    assert g.n_steps == math.prod(out_size)
    for w in g.windows():
        assert w.out_cell == g.out_cell(w.step) and g.step_of(w.out_cell) == w.step
        assert set(w.inputs) == deps[w.out_cell], (w.out_cell, w.taps)
        assert len(w.taps) == math.prod(g.kernel_size)  # dilation holes are not taps
        for tap, c in ((t, g.cell_role(t)) for t in w.taps):
            assert c in ROLES
            start = g.grid_start
            assert all(s <= t < s + n for t, s, n in zip(tap, start, g.grid_shape, strict=True)), tap
    return g


CASES = [
    # kind, input_size, settings
    ("conv", (5, 5), dict(kernel_size=3, stride=2, padding=1)),
    ("conv", (7, 7), dict(kernel_size=3, dilation=2, padding=1)),
    ("conv", (6, 5), dict(kernel_size=(4, 2), padding="same")),
    ("conv", (6, 6), dict(kernel_size=(2, 3), stride=(3, 1), dilation=(2, 1), padding=(0, 2))),
    ("conv", (9,), dict(kernel_size=4, stride=3, padding=2)),
    ("conv", (4, 4), dict(kernel_size=3, padding="valid")),
    ("conv_transpose", (3, 3), dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    ("conv_transpose", (3, 4), dict(kernel_size=(2, 3), stride=(3, 1), dilation=(1, 2))),
    ("conv_transpose", (4, 4), dict(kernel_size=2, stride=2)),
    ("conv_transpose", (5,), dict(kernel_size=1, padding=1)),  # padding > d(k-1): cropped
    ("conv_transpose", (4, 3), dict(kernel_size=3, stride=1, padding=3, dilation=2, output_padding=1)),
    ("max_pool", (5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),  # drops a window
    ("max_pool", (5, 5), dict(kernel_size=2, ceil_mode=True)),  # overhangs
    ("max_pool", (8, 7), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    ("max_pool", (6,), dict(kernel_size=3, stride=2)),
    ("avg_pool", (5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool", (7,), dict(kernel_size=2, stride=3, ceil_mode=True)),
]


@pytest.mark.parametrize(("kind", "input_size", "kw"), CASES, ids=lambda v: str(v))
def test_windows_read_what_torch_reads(kind, input_size, kw):
    check_against_torch(kind, input_size, **kw)


def test_conv_roles_and_taps_by_hand():
    g = layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1)
    assert g.grid_start == (-1, -1) and g.grid_shape == (7, 7)
    w = g.window(4)  # output (1, 1): rows/cols 1..3
    assert w.out_cell == (1, 1)
    assert w.taps == tuple((r, c) for r in (1, 2, 3) for c in (1, 2, 3))
    assert g.window(0).taps[0] == (-1, -1) and g.cell_role((-1, -1)) == "padding"


def test_dilation_taps_skip_holes():
    g = layer_geometry("conv", (7,), kernel_size=3, dilation=2)
    assert [w.taps for w in g.windows()] == [((0,), (2,), (4,)), ((1,), (3,), (5,)), ((2,), (4,), (6,))]


def test_transposed_grid_is_stretched_and_padded():
    g = layer_geometry("conv_transpose", (3,), kernel_size=3, stride=2, padding=1, output_padding=1)
    d = g.dims[0]
    assert d.implicit_padding == (1, 2)
    assert d.roles == ("padding", "input", "zero", "input", "zero", "input", "padding", "output_padding")
    assert g.output_size == (6,)


def test_transposed_negative_implicit_padding_crops():
    g = layer_geometry("conv_transpose", (5,), kernel_size=1, padding=1)
    assert g.dims[0].roles == ("cropped", "input", "input", "input", "cropped")
    assert [w.inputs for w in g.windows()] == [((1,),), ((2,),), ((3,),)]


def test_ceil_mode_dropped_window_matches_torch():
    # ceil((5 + 2 - 2) / 2) + 1 = 4 windows, but the last would start in the right padding
    g = check_against_torch("max_pool", (5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)
    assert g.output_size == (3, 3) and g.has_dropped
    assert [d.dropped for d in g.dims] == [3, 3]
    dropped = g.dropped_windows()
    assert len(dropped) == 4 * 4 - 3 * 3
    for w in dropped:
        assert w.dropped and w.step is None
    right = next(w for w in dropped if w.out_cell == (0, 3))
    assert right.taps[0][1] == 5  # starts in the right padding (5 >= size)
    assert g.cell_role(right.taps[0]) == "padding" and g.cell_role(right.taps[-1]) == "overhang"


def test_ceil_mode_overhang_without_drop():
    g = check_against_torch("max_pool", (5,), kernel_size=2, ceil_mode=True)
    assert not g.has_dropped
    last = g.window(g.n_steps - 1)
    assert last.overhang and last.taps == ((4,), (5,)) and last.inputs == ((4,),)
    assert not g.window(0).overhang


@pytest.mark.parametrize(("args", "kw", "match"), [
    (("conv", (2, 2)), dict(kernel_size=5), "kernel"),
    (("conv", (5, 5)), dict(kernel_size=3, stride=2, padding="same"), "same"),
    (("fft", (5, 5)), dict(kernel_size=3), "kind"),
    (("avg_pool", (5, 5)), dict(kernel_size=3, dilation=2), "dilation"),
    (("max_pool", (5, 5)), dict(kernel_size=3, padding="same"), "padding"),
    (("conv", (5, 5, 5)), dict(kernel_size=3), "dimensions"),
    (("conv", (5, 5)), dict(kernel_size=(3, 3, 3)), "kernel_size"),
    (("conv", (5, 5)), dict(kernel_size=3, output_padding=1), "output_padding"),
    (("conv", (5, 5)), dict(kernel_size=3, ceil_mode=True), "ceil_mode"),
    (("max_pool", (5, 5)), dict(kernel_size=2, padding=2), "padding"),
    (("conv_transpose", (5, 5)), dict(kernel_size=3, stride=2, output_padding=2), "output_padding"),
])
def test_refused_settings_raise_shape_error(args, kw, match):
    with pytest.raises(ShapeError, match=match):
        layer_geometry(*args, **kw)


def test_step_out_of_range():
    g = layer_geometry("conv", (3, 3), kernel_size=3)
    with pytest.raises(IndexError, match="1 output cells"):
        g.window(1)
    with pytest.raises(IndexError, match="outside the output"):
        g.step_of((0, 1))


@st.composite
def layer_settings(draw):
    kind = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
    ndim = draw(st.sampled_from([1, 2]))
    size = tuple(draw(st.integers(1, 7)) for _ in range(ndim))
    k = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 3)) for _ in range(ndim)) if kind != "avg_pool" else (1,) * ndim
    if kind in ("max_pool", "avg_pool"):
        p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    else:
        p = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    if kind == "conv_transpose":
        kw["output_padding"] = tuple(
            draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d, strict=True))
    if kind in ("max_pool", "avg_pool"):
        kw["ceil_mode"] = draw(st.booleans())
        if kind == "avg_pool":
            del kw["dilation"]
    return kind, size, kw


@settings(max_examples=250, deadline=None)
@given(layer_settings())
def test_random_settings_agree_with_torch(case):
    kind, size, kw = case
    try:
        layer_geometry(kind, size, **kw)
    except ShapeError:
        return  # refusals are the arithmetic core's tests
    check_against_torch(kind, size, **kw)
    g = layer_geometry(kind, size, **kw)
    for w in g.dropped_windows():
        # PyTorch drops a window only when it would start in the right padding
        assert any(
            dim.dropped == i and t >= dim.size for dim, i, t in zip(g.dims, w.out_cell, w.start, strict=True)
        )


def test_geometry_is_core_and_imports_no_framework():
    import subprocess
    import sys

    code = ("import sys, convwidget.geometry\n"
            "heavy = [m for m in ('torch', 'matplotlib', 'numpy', 'ipywidgets') if m in sys.modules]\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


np = pytest.importorskip("numpy")


@pytest.mark.parametrize("as_int", [int, np.int64, np.int32, np.uint16])
def test_numpy_integers_draw_the_same_geometry(as_int):
    """The geometry of numpy-integer settings is the one of plain ints, and matches torch's size."""
    g = layer_geometry("conv", (as_int(7), as_int(6)), kernel_size=as_int(3), stride=(as_int(2), 1),
                       padding=np.array([1, 0], dtype=np.int64), dilation=as_int(1))
    assert g == layer_geometry("conv", (7, 6), kernel_size=3, stride=(2, 1), padding=(1, 0))
    conv = torch.nn.Conv2d(1, 1, 3, (2, 1), (1, 0))
    assert g.output_size == tuple(conv(torch.zeros(1, 1, 7, 6)).shape[-2:])
    assert layer_geometry("max_pool", as_int(5), kernel_size=2, ceil_mode=np.bool_(True)).output_size == (3,)


@pytest.mark.parametrize(("kw", "match"), [
    (dict(ceil_mode="no"), r"ceil_mode must be True or False, got 'no' \(str\)"),
    (dict(kernel_size=2.0), r"kernel_size=2.0 must be whole numbers; 2.0 is a float"),
    (dict(kernel_size=(2, True)), r"kernel_size=\(2, True\) must be whole numbers; True is a bool"),
    (dict(kernel_size=(2,)), r"kernel_size=\(2,\) must be one integer or 2 integers"),
    (dict(input_size="5"), r"input_size='5' must be whole numbers"),
])
def test_bad_settings_are_refused_with_a_sentence(kw, match):
    settings = dict(kind="max_pool", input_size=(5, 5), kernel_size=2) | kw
    with pytest.raises((ShapeError, TypeError), match=match):
        layer_geometry(**settings)


def test_a_cell_with_the_wrong_number_of_coordinates_is_an_index_error():
    g = layer_geometry("conv", (5, 5), kernel_size=3)
    with pytest.raises(IndexError, match=r"output cell \(1,\) has 1 coordinates; this layer has 2"):
        g.step_of((1,))
    with pytest.raises(IndexError, match=r"grid cell \(0, 0, 0\) has 3 coordinates"):
        g.cell_role((0, 0, 0))
