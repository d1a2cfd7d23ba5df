"""convwidget.cellmath against real PyTorch: every cell's value, the max pool's winner, the divisor.

PyTorch is the oracle: each random setting builds its torch.nn layer here directly (float64),
sets its weight and bias to the same numbers cellmath reads, and compares every output cell.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convwidget.cellmath import (
    KERNEL_PRESETS,
    cell_terms,
    format_number,
    output_size,
    parse_kernel,
    preset_weights,
    sample_input,
    weight_shape,
)
from convwidget.spec import LayerSpec

KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")
PER_KIND = 120  # random settings per kind: 480 drawn, >= 300 of them ones torch runs


def _settings(kind: str, rng: random.Random, ndim: int) -> dict[str, Any]:
    k = tuple(rng.randint(1, 4) for _ in range(ndim))
    s: dict[str, Any] = {"kind": kind, "kernel_size": k, "stride": tuple(rng.randint(1, 3) for _ in k)}
    if kind in ("conv", "conv_transpose"):
        groups = rng.choice([1, 1, 2, 4])
        s.update(groups=groups, in_channels=groups * rng.randint(1, 2),
                 out_channels=groups * rng.randint(1, 2), bias=rng.random() < 0.7,
                 dilation=tuple(rng.randint(1, 2) for _ in k))
        if kind == "conv" and rng.random() < 0.3:
            s["groups"] = s["in_channels"] = s["out_channels"] = rng.choice([2, 3, 4])  # depthwise
    else:
        s["in_channels"] = s["out_channels"] = rng.randint(1, 3)
        s["ceil_mode"] = rng.random() < 0.5
    if kind == "conv" and rng.random() < 0.25:
        s["stride"], s["padding"] = (1,) * ndim, rng.choice(["same", "valid"])
        if s["padding"] == "same" and rng.random() < 0.4:
            s["padding_mode"] = rng.choice(["reflect", "replicate", "circular"])
    elif kind == "conv_transpose":
        s["padding"] = tuple(rng.randint(0, 2) for _ in k)
        s["output_padding"] = tuple(rng.randint(0, max(st, dl) - 1)
                                    for st, dl in zip(s["stride"], s["dilation"], strict=True))
    else:
        s["padding"] = tuple(rng.randint(0, kk // 2) for kk in k)
    if kind == "max_pool":
        s["dilation"] = tuple(rng.randint(1, 2) for _ in k)
    if kind == "avg_pool":
        s["count_include_pad"] = rng.random() < 0.5
    return s


def _torch_layer(spec: LayerSpec, s: dict[str, Any]) -> nn.Module:
    n = spec.ndim
    kw = {k: v for k, v in s.items() if k not in ("kind", "in_channels", "out_channels")}
    if spec.kind == "conv":
        return getattr(nn, f"Conv{n}d")(s["in_channels"], s["out_channels"], **kw, dtype=torch.float64)
    if spec.kind == "conv_transpose":
        return getattr(nn, f"ConvTranspose{n}d")(s["in_channels"], s["out_channels"], **kw,
                                                 dtype=torch.float64)
    return getattr(nn, f"{'MaxPool' if spec.kind == 'max_pool' else 'AvgPool'}{n}d")(**kw)


def _case(kind: str, seed: int) -> tuple[LayerSpec, dict[str, Any], tuple[int, ...]]:
    rng = random.Random(f"{kind}-{seed}")
    ndim = rng.choice([2, 2, 2, 2, 1, 3])
    s = _settings(kind, rng, ndim)
    spec = LayerSpec.from_settings(ndim=ndim, **s)
    top = 6 if ndim < 3 else 4
    sizes = tuple(rng.randint(1, top) for _ in range(ndim))
    return spec, s, sizes


def _run(spec: LayerSpec, s: dict[str, Any], sizes: tuple[int, ...], preset: str):
    layer = _torch_layer(spec, s)
    x = torch.tensor(sample_input(spec.in_channels, sizes), dtype=torch.float64)
    weights = bias = None
    if not spec.is_pool:
        weights = preset_weights(preset, spec)
        bias = [float(c % 3 - 1) for c in range(spec.out_channels)] if spec.bias else None
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(weights, dtype=torch.float64))
            if bias is not None:
                layer.bias.copy_(torch.tensor(bias, dtype=torch.float64))
    with torch.no_grad():
        y = layer(x[None])[0]
    return y, x, weights, bias


def _flat(cell: tuple[int, ...], sizes: tuple[int, ...]) -> int:
    out = 0
    for c, n in zip(cell, sizes, strict=True):
        out = out * n + c
    return out


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(PER_KIND))
def test_every_cell_equals_torch(kind: str, seed: int) -> None:
    spec, s, sizes = _case(kind, seed)
    preset = sorted(KERNEL_PRESETS)[seed % len(KERNEL_PRESETS)]
    try:
        y, x, weights, bias = _run(spec, s, sizes, preset)
    except (RuntimeError, ValueError) as err:  # torch refuses this setting: nothing to write out
        assert str(err)
        return
    assert tuple(y.shape[1:]) == output_size(spec, sizes)
    inputs = x.tolist()
    for c in range(y.shape[0]):
        for cell in _cells(tuple(y.shape[1:])):
            got = cell_terms(spec, inputs, weights, bias, c, cell)
            expected = float(y[(c, *cell)])
            assert got.value == pytest.approx(expected, abs=1e-9) or (
                math.isinf(expected) and got.value == expected), (s, sizes, c, cell, got)
            if not spec.is_pool:
                assert sum(t.input_value * t.weight for t in got.terms) + got.bias == pytest.approx(expected)


def _cells(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    import itertools

    return list(itertools.product(*(range(n) for n in shape)))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
def test_enough_settings_are_valid() -> None:
    """At least 300 of the random settings are ones torch runs (the rest check refusals only)."""
    valid = 0
    for kind in KINDS:
        for seed in range(PER_KIND):
            spec, s, sizes = _case(kind, seed)
            try:
                _run(spec, s, sizes, "ones")
            except (RuntimeError, ValueError):
                continue
            valid += 1
    assert valid >= 300, valid


MAX_FN = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


@pytest.mark.parametrize("seed", range(60))
def test_max_pool_winner_is_torchs_index(seed: int) -> None:
    spec, s, sizes = _case("max_pool", seed + 1000)
    x = torch.tensor(sample_input(spec.in_channels, sizes), dtype=torch.float64)
    if seed % 3 == 0:
        x = x % 3  # many ties: the first largest in window order must win
    try:
        y, idx = MAX_FN[spec.ndim](x[None], s["kernel_size"], s["stride"], s["padding"],
                                   s["dilation"], ceil_mode=s["ceil_mode"], return_indices=True)
    except RuntimeError as err:
        assert str(err)
        return
    inputs = x.tolist()
    for c in range(y.shape[1]):
        for cell in _cells(tuple(y.shape[2:])):
            got = cell_terms(spec, inputs, None, None, c, cell)
            assert got.winner is not None
            assert _flat(got.winner, sizes) == int(idx[(0, c, *cell)]), (s, sizes, cell)
            assert got.value == float(y[(0, c, *cell)])


AVG_CASES = [
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 4), stride=(3, 2), padding=(1, 2), ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
]


@pytest.mark.parametrize("settings", AVG_CASES, ids=str)
@pytest.mark.parametrize("size", [(5, 5), (4, 7), (6, 3)])
def test_avg_divisor_differs_where_torch_does(settings: dict[str, Any], size: tuple[int, int]) -> None:
    x = torch.tensor(sample_input(1, size), dtype=torch.float64) + 1  # no zeros: sums differ
    outs, specs = {}, {}
    for include in (True, False):
        specs[include] = LayerSpec.from_settings(kind="avg_pool", count_include_pad=include, **settings)
        outs[include] = nn.AvgPool2d(count_include_pad=include, **settings)(x[None])[0]
    differs = 0
    for cell in _cells(tuple(outs[True].shape[1:])):
        a, b = (cell_terms(specs[i], x.tolist(), None, None, 0, cell) for i in (True, False))
        assert a.value == pytest.approx(float(outs[True][(0, *cell)]))
        assert b.value == pytest.approx(float(outs[False][(0, *cell)]))
        torch_differs = float(outs[True][(0, *cell)]) != float(outs[False][(0, *cell)])
        assert (a.divisor != b.divisor) == torch_differs, (cell, a.divisor, b.divisor)
        differs += torch_differs
    assert differs > 0  # every case here has padding that some window reads


@pytest.mark.parametrize("override", [1, 3, 7])
def test_avg_divisor_override_is_torchs(override: int) -> None:
    spec = LayerSpec.from_settings(kind="avg_pool", kernel_size=3, stride=2, padding=1)
    x = torch.tensor(sample_input(2, (5, 6)), dtype=torch.float64)
    y = F.avg_pool2d(x[None], 3, 2, 1, divisor_override=override)[0]
    for c in range(2):
        for cell in _cells(tuple(y.shape[1:])):
            got = cell_terms(spec, x.tolist(), None, None, c, cell, divisor_override=override)
            assert got.divisor == override
            assert got.value == pytest.approx(float(y[(c, *cell)]))


def test_transposed_terms_name_the_input_cells_and_taps() -> None:
    spec = LayerSpec.from_settings(kind="conv_transpose", kernel_size=3, stride=2, padding=1)
    inputs = sample_input(1, (3, 3))
    weights = preset_weights("small integers", spec)
    got = cell_terms(spec, inputs, weights, [0.0], 0, (1, 1))
    # output (1, 1) = input i·2 − 1 + k: i = 0, k = 2 and i = 1, k = 0 in each dimension
    assert sorted(t.input_index for t in got.terms) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert {t.kernel_index for t in got.terms} == {(2, 2), (2, 0), (0, 2), (0, 0)}
    layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weights, dtype=torch.float64))
        layer.bias.zero_()
    with torch.no_grad():
        y = layer(torch.tensor(inputs, dtype=torch.float64)[None])
    assert got.value == float(y[0, 0, 1, 1])


def test_formula_text_with_numbers_and_elision() -> None:
    spec = LayerSpec.from_settings(kernel_size=3, padding=1, in_channels=3, out_channels=1)
    inputs = sample_input(3, (4, 4))
    got = cell_terms(spec, inputs, preset_weights("ones", spec), [2.0], 0, (1, 1))
    text = got.formula_text()
    assert len(got.terms) == 27 and "27 in all" in text
    assert text.endswith(f"+ 2 = {format_number(got.value)}")
    corner = cell_terms(spec, inputs, preset_weights("ones", spec), [2.0], 0, (0, 0))
    short = corner.formula_text(max_terms=100)
    assert short.count("·") == 12  # 4 taps on the input × 3 channels; padding adds nothing


def test_max_pool_formula_and_padded_winner() -> None:
    spec = LayerSpec.from_settings(kind="max_pool", kernel_size=3, stride=2, padding=1)
    inputs = [[[-5.0, -1.0, -2.0], [-3.0, -4.0, -6.0], [-7.0, -8.0, -9.0]]]
    got = cell_terms(spec, inputs, None, None, 0, (0, 0))
    assert got.winner == (0, 1) and got.padding_taps == 5  # -inf padding never wins
    assert got.formula_text() == "max(-5, -1, -3, -4) = -1"
    y, idx = F.max_pool2d(torch.tensor(inputs)[None], 3, 2, 1, return_indices=True)
    assert float(y[0, 0, 0, 0]) == got.value and int(idx[0, 0, 0, 0]) == 1


@pytest.mark.parametrize(("text", "size", "message"), [
    ("1 2; 3 4", (3, 3), r"has 2 rows but kernel_size is 3 × 3; type 3 rows of 3 numbers"),
    ("1 2 3; 4 5; 6 7 8", (3, 3), r"row 2 of the typed kernel has 2 numbers but kernel_size is 3 × 3"),
    ("1 x 3", (1, 3), r"'x' in row 1 of the typed kernel is not a number"),
    ("", (2, 2), r"the typed kernel is empty; type 2 rows of 2 numbers"),
    ("1 2", (2, 2, 2), r"a 3-D kernel cannot be typed here; choose a preset"),
])
def test_parse_kernel_refuses_with_a_sentence(text: str, size: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_kernel(text, size)


def test_parse_kernel_reads_commas_newlines_and_1d() -> None:
    assert parse_kernel("1, 0, -1\n2, 0, -2", (2, 3)) == [[1, 0, -1], [2, 0, -2]]
    assert parse_kernel("0.5 -1e-1", (2,)) == [0.5, -0.1]


def test_typed_kernel_fills_every_kernel_and_torch_agrees() -> None:
    spec = LayerSpec.from_settings(kernel_size=(2, 3), in_channels=4, out_channels=2, groups=2)
    kernel = parse_kernel("1 0 -1; 2 0 -2", (2, 3))
    weights = preset_weights("ones", spec, kernel=kernel)
    assert torch.tensor(weights).shape == weight_shape(spec) == (2, 2, 2, 3)
    layer = nn.Conv2d(4, 2, (2, 3), groups=2, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weights, dtype=torch.float64))
        layer.bias.fill_(0.5)
    x = sample_input(4, (4, 5))
    with torch.no_grad():
        y = layer(torch.tensor(x, dtype=torch.float64)[None])[0]
    got = cell_terms(spec, x, weights, [0.5, 0.5], 1, (2, 1))
    assert {t.in_channel for t in got.terms} == {2, 3}  # group 1 reads channels 2 and 3 only
    assert got.value == float(y[1, 2, 1])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: cell_terms(LayerSpec.from_settings(in_channels=3, out_channels=6, groups=2),
                        sample_input(3, (4, 4)), None, None, 0, (0, 0)), r"in_channels=3 is not divisible"),
    (lambda: cell_terms(LayerSpec.from_settings(), sample_input(1, (4, 4)), None, None, 0, (2, 0)),
     r"output cell \(2, 0\) is outside the output \(2, 2\)"),
    (lambda: cell_terms(LayerSpec.from_settings(), sample_input(1, (4, 4)), None, None, 0, (0, 0)),
     r"needs weights of shape \(1, 1, 3, 3\)"),
    (lambda: preset_weights("blur", LayerSpec.from_settings()), r"unknown kernel preset 'blur'"),
])
def test_bad_calls_get_a_sentence(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_negative_numbers_are_written_readably() -> None:
    spec = LayerSpec.from_settings(kernel_size=(1, 2))
    got = cell_terms(spec, [[[3, -4]]], [[[[-1, 2]]]], [-2.5], 0, (0, 0))
    assert got.formula_text() == "3·(-1) + (-4)·2 - 2.5 = -13.5"
    layer = nn.Conv2d(1, 1, (1, 2), dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[[[-1.0, 2.0]]]]))
        layer.bias.fill_(-2.5)
        assert float(layer(torch.tensor([[[[3.0, -4.0]]]], dtype=torch.float64))) == got.value


def test_cellmath_is_core_standard_library_only() -> None:
    import subprocess
    import sys

    code = ("import sys, convwidget.cellmath as c\n"
            "c.cell_terms(c.LayerSpec.from_settings(kernel_size=2), c.sample_input(1, (3, 3)), "
            "c.preset_weights('ones', c.LayerSpec.from_settings(kernel_size=2)), [0.0], 0, (0, 0))\n"
            "print([m for m in ('torch', 'numpy', 'matplotlib', 'ipywidgets') if m in sys.modules])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
