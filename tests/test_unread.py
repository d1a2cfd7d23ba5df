"""Unread input cells (issue 12 item 3): geometry.unread_cells against PyTorch's gradients.

The oracle: ``layer(x).sum().backward()`` with all-ones weights (or average pooling) leaves a
zero gradient exactly on the input cells no window reads. Max pooling's gradient reaches only
each window's maximum, so its windows are read through a Conv with all-ones weights of the same
kernel, stride, padding and dilation (ceil_mode: the input padded on the right so the Conv makes
as many windows as MaxPool's own output size says).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convwidget import ShapeError
from convwidget.drawing import WindowFigure
from convwidget.geometry import layer_geometry, unread_cells, unread_indices, unread_reason

CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d}
TRANSPOSED = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d}
AVG = {1: torch.nn.AvgPool1d, 2: torch.nn.AvgPool2d}
MAX = {1: torch.nn.MaxPool1d, 2: torch.nn.MaxPool2d}


def ones_conv(cls, ndim, **kw):
    layer = cls(1, 1, bias=False, **kw)
    torch.nn.init.ones_(layer.weight)
    return layer


def _max_pool_read_through_conv(x, size, kw):
    """Max pooling's windows, read by a Conv with ones weights (ceil_mode: extra right padding)."""
    ndim = len(size)

    def per_dim(v):
        return tuple(v) if isinstance(v, tuple) else (v,) * ndim

    k = per_dim(kw["kernel_size"])
    defaults = (("stride", k), ("padding", 0), ("dilation", 1))
    s, p, d = (per_dim(kw.get(name, default)) for name, default in defaults)
    out = MAX[ndim](k, s, p, d, ceil_mode=kw.get("ceil_mode", False))(x.detach()).shape[2:]
    extra = [max(0, (o - 1) * si + di * (ki - 1) + 1 - (n + 2 * pi))
             for o, n, ki, si, pi, di in zip(out, size, k, s, p, d, strict=True)]
    padded = F.pad(x, [q for e in reversed(extra) for q in (0, e)])
    y = ones_conv(CONV[ndim], ndim, kernel_size=k, stride=s, padding=p, dilation=d).double()(padded)
    assert tuple(y.shape[2:]) == tuple(out)
    return y


def torch_unread(kind, size, kw):
    """Input cells whose gradient is zero after ``layer(x).sum().backward()``."""
    ndim = len(size)
    x = torch.rand(1, 1, *size, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        x += 1.0  # strictly positive: a window's sum is never zero by accident
    if kind == "conv":
        y = ones_conv(CONV[ndim], ndim, **kw).double()(x)
    elif kind == "conv_transpose":
        y = ones_conv(TRANSPOSED[ndim], ndim, **kw).double()(x)
    elif kind == "avg_pool":
        y = AVG[ndim](**kw)(x)
    else:
        y = _max_pool_read_through_conv(x.double(), size, kw)
    y.sum().backward()
    grad = x.grad[0, 0]
    return frozenset(tuple(int(i) for i in idx) for idx in (grad == 0).nonzero())


@st.composite
def unread_settings(draw):
    """Settings where cells go unread often: strides up to 5, dilation, ceil_mode, cropping."""
    kind = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
    ndim = draw(st.sampled_from([1, 2]))
    size = tuple(draw(st.integers(1, 11)) for _ in range(ndim))
    k = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 3)) for _ in range(ndim)) if kind != "avg_pool" else (1,) * ndim
    pool = kind in ("max_pool", "avg_pool")
    p = tuple(draw(st.integers(0, ki // 2 if pool else 3)) for ki in k)
    kw = dict(kernel_size=k, stride=s, padding=p)
    if kind != "avg_pool":
        kw["dilation"] = d
    if kind == "conv_transpose":
        kw["output_padding"] = tuple(draw(st.integers(0, max(si, di) - 1))
                                     for si, di in zip(s, d, strict=True))
    if pool:
        kw["ceil_mode"] = draw(st.booleans())
    return kind, size, kw


def check(kind, size, kw):
    try:
        g = layer_geometry(kind, size, **kw)
    except Exception:  # noqa: BLE001 - a setting PyTorch refuses too (checked in test_geometry)
        return None
    expected = torch_unread(kind, size, kw)
    assert unread_cells(g) == expected, (kind, size, kw)
    reason = unread_reason(g)
    assert (reason is None) == (not expected), reason
    return g


@settings(max_examples=300, deadline=None)
@given(unread_settings())
def test_unread_cells_are_the_cells_torch_gives_no_gradient(case):
    check(*case)


@pytest.mark.parametrize(("kind", "size", "kw", "unread"), [
    ("conv", (7, 7), dict(kernel_size=2, stride=3), {2, 5, 6}),  # stride > span, and the floor's tail
    ("conv", (6,), dict(kernel_size=3, stride=2), {5}),  # the floor drops the last cell
    ("max_pool", (7,), dict(kernel_size=2, stride=2, dilation=3), {1, 4, 6}),  # dilation holes, tail
    ("max_pool", (5,), dict(kernel_size=2, stride=2, ceil_mode=True), set()),  # ceil reads the tail
    ("conv_transpose", (5,), dict(kernel_size=1, padding=1), {0, 4}),  # padding crops the edges
    ("conv_transpose", (4, 4), dict(kernel_size=3, stride=2, padding=1), set()),
], ids=str)
def test_known_settings(kind, size, kw, unread):
    g = check(kind, size, kw)
    assert set(unread_indices(g)[-1]) == unread


@pytest.mark.parametrize("n", [3, 6, 9])
def test_transposed_convolutions_read_every_input_cell_unless_padding_crops(n):
    for k in range(1, 5):
        for s in range(1, 4):
            for p in range(0, k):  # padding <= dilation·(kernel_size − 1): nothing cropped
                kw = dict(kernel_size=(k, k), stride=(s, s), padding=(p, p))
                try:
                    g = layer_geometry("conv_transpose", (n, n), **kw)
                except ShapeError:  # an empty output: PyTorch refuses it too
                    continue
                assert unread_cells(g) == torch_unread("conv_transpose", (n, n), kw) == frozenset()


def test_reasons_carry_the_numbers():
    g = layer_geometry("conv", (7, 5), kernel_size=2, stride=3)
    assert unread_reason(g) == (
        "rows 2, 5–6 and column 2 are never read: stride 3 > window span 2; rows also: the output size "
        "rounds down: (7 + 2·0 − 2) mod 3 = 2 left over after the last window (ends at 4)")
    assert unread_reason(layer_geometry("conv", (6, 7), kernel_size=(3, 2), stride=(2, 3))) == (
        "row 5 is never read: the output size rounds down: (6 + 2·0 − 3) mod 2 = 1 left over after "
        "the last window (ends at 4); columns 2, 5–6 are never read: stride 3 > window span 2; the output "
        "size rounds down: (7 + 2·0 − 2) mod 3 = 2 left over after the last window (ends at 4)")
    holes = unread_reason(layer_geometry("max_pool", (7,), kernel_size=2, stride=2, dilation=3))
    assert holes == ("cells 1, 4, 6 are never read: they sit in dilation holes (dilation 3) that stride 2 "
                     "never fills; the output size rounds down: (7 + 2·0 − 4) mod 2 = 1 left over after the "
                     "last window (ends at 5)")
    crop = unread_reason(layer_geometry("conv_transpose", (5,), kernel_size=1, padding=1))
    assert crop == ("cells 0, 4 are never read: padding 1 is more than dilation·(kernel_size − 1) = 0, "
                    "so the edge is cropped")


def test_the_picture_shades_unread_cells_and_says_why():
    g = layer_geometry("avg_pool", (7, 7), kernel_size=2, stride=3)
    fig = WindowFigure(g)
    rgba = fig.picture()  # the static picture: no window over the cells
    lay = fig.layout
    x, y = lay.input_xy

    def fill(r, c):  # a pixel in the cell away from its index, the grid lines and outlines
        return tuple(rgba[y + r * lay.cell + lay.cell // 4, x + c * lay.cell + lay.cell // 4, :3])

    from convwidget.drawing import PALETTES
    from convwidget.drawing.raster import rgb
    unread = tuple(rgb(PALETTES["light"]["unread"]))
    read = tuple(rgb(PALETTES["light"]["input"]))
    assert fill(2, 0) == unread and fill(0, 5) == unread and fill(6, 6) == unread
    assert fill(0, 0) == read and fill(4, 4) == read
    assert "rows and columns 2, 5–6 are never read" in " ".join(fig.notes)
    dark = fig.picture("dark")
    assert tuple(dark[y + lay.cell * 2 + lay.cell // 4, x + lay.cell // 4, :3]) == tuple(
        rgb(PALETTES["dark"]["unread"]))
    assert math.isclose(len(unread_cells(g)), 49 - 16)
