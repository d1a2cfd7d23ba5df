"""convwidget.torchlayers: settings -> the real torch.nn layer, run on an index input.

PyTorch is the oracle: layers are compared with layers built here directly from torch.nn,
and the panel's teaching claim (each conv output is the sum of the input indices its window
reads; max pool shows the largest) is checked against the core's geometry.
"""

from __future__ import annotations

import itertools
import re

import pytest
import torch
from torch import nn

from convwidget.geometry import layer_geometry
from convwidget.torchlayers import (
    LayerSpec,
    build_layer,
    index_input,
    layer_code,
    one_thread,
    run_layer,
    run_values,
)

SPECS = [
    dict(kind="conv", kernel_size=3, stride=1, padding=1),
    dict(kind="conv", kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    dict(kind="conv", kernel_size=4, padding="same"),
    dict(kind="conv", kernel_size=3, padding="valid", in_channels=4, out_channels=6, groups=2),
    dict(kind="conv_transpose", kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kind="conv_transpose", kernel_size=(2, 3), stride=(3, 1), dilation=(1, 2)),
    dict(kind="max_pool", kernel_size=2),
    dict(kind="max_pool", kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kind="avg_pool", kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
]


def direct_layer(kind: str, **kw: object) -> nn.Module:
    """The same layer, built straight from torch.nn (no convwidget code)."""
    cls = {"conv": nn.Conv2d, "conv_transpose": nn.ConvTranspose2d,
           "max_pool": nn.MaxPool2d, "avg_pool": nn.AvgPool2d}[kind]
    if kind in ("conv", "conv_transpose"):
        kw.setdefault("in_channels", 1)
        kw.setdefault("out_channels", 1)
    layer = cls(**kw)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.fill_(1.0 if name == "weight" else 0.0)
    return layer


@pytest.mark.parametrize("settings", SPECS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("size", [(7, 7), (5, 9)])
def test_run_layer_matches_direct_torch(settings: dict, size: tuple[int, int]) -> None:
    spec = LayerSpec.from_settings(**settings)
    result = run_layer(spec, size, max_cells=10_000)
    layer = direct_layer(**settings)
    x = torch.arange(size[0] * size[1], dtype=torch.float32).reshape(1, 1, *size)
    x = x.expand(1, spec.in_channels, *size)
    expected = layer(x)
    assert result.ok, result.error
    assert result.output_shape == tuple(expected.shape)
    assert result.values == expected[0, 0].tolist()
    assert result.parameter_count == sum(p.numel() for p in layer.parameters())
    assert result.parameter_count == spec.parameter_count()


@pytest.mark.parametrize("settings", SPECS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_layer_code_builds_the_same_layer(settings: dict) -> None:
    spec = LayerSpec.from_settings(**settings)
    built = eval(layer_code(spec), {"nn": nn})  # our own generated text, not user input
    assert repr(built) == repr(build_layer(spec))


@pytest.mark.parametrize(
    "settings",
    [
        dict(kind="conv", kernel_size=3, stride=2, padding=1),
        dict(kind="conv", kernel_size=2, stride=3, padding=2, dilation=2),
        dict(kind="conv_transpose", kernel_size=3, stride=2, padding=1, output_padding=1),
        dict(kind="conv_transpose", kernel_size=2, stride=3, padding=0, dilation=2, output_padding=2),
        dict(kind="max_pool", kernel_size=2, stride=2, padding=1, ceil_mode=True),
        dict(kind="max_pool", kernel_size=3, stride=2, padding=1, dilation=2),
    ],
)
@pytest.mark.parametrize("size", [(5, 5), (6, 4)])
def test_values_are_what_the_window_shows(settings: dict, size: tuple[int, int]) -> None:
    """Conv: the sum of the indices the window reads; max pool: the largest."""
    spec = LayerSpec.from_settings(**settings)
    result = run_layer(spec, size, max_cells=10_000)
    geo = layer_geometry(
        spec.kind, size, spec.kernel_size, spec.stride, spec.padding, spec.dilation,
        output_padding=spec.output_padding, ceil_mode=spec.ceil_mode,
    )
    assert result.spatial == geo.output_size
    assert result.values is not None
    width = size[1]
    for window in geo.windows():
        r, c = window.out_cell
        indices = [i * width + j for i, j in window.inputs]
        if spec.kind == "max_pool":
            assert result.values[r][c] == max(indices)
        else:
            assert result.values[r][c] == sum(indices)


@pytest.mark.parametrize(
    ("settings", "size", "message"),
    [
        (dict(kind="conv", kernel_size=5), (3, 3), "Kernel size can't be greater"),
        (dict(kind="conv", kernel_size=3, stride=2, padding="same"), (8, 8), "padding='same'"),
        (dict(kind="conv", kernel_size=3, in_channels=3, groups=2), (8, 8), "divisible by groups"),
        (dict(kind="max_pool", kernel_size=3, padding=2), (8, 8), "at most half"),
        (dict(kind="conv_transpose", kernel_size=3, stride=2, output_padding=2), (4, 4),
         "output padding must be smaller"),
        (dict(kind="conv_transpose", kernel_size=3, padding="same"), (4, 4), "numeric padding"),
        (dict(kind="avg_pool", kernel_size=5), (4, 4), "too small"),
    ],
)
def test_refusals_carry_pytorchs_message(settings: dict, size: tuple[int, int], message: str) -> None:
    result = run_layer(LayerSpec.from_settings(**settings), size)
    assert not result.ok
    assert result.output_shape is None and result.values is None
    assert message in result.error


def test_values_only_for_small_outputs() -> None:
    spec = LayerSpec.from_settings(kernel_size=3, padding=1)
    assert run_layer(spec, (12, 12)).values is not None
    big = run_layer(spec, (13, 13))
    assert big.values is None and big.output_shape == (1, 1, 13, 13)


@pytest.mark.parametrize("threads", [1, 2])
def test_one_thread_restores_the_thread_count(threads: int) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with pytest.raises(RuntimeError, match="boom"), one_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
        assert torch.get_num_threads() == threads
        run_layer(LayerSpec.from_settings(kernel_size=9), (3, 3))  # refused inside the switch
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def test_index_input_holds_cell_indices_in_every_channel() -> None:
    x = index_input(3, 2, 4)
    assert x.shape == (1, 3, 2, 4)
    for ch in range(3):
        assert x[0, ch].flatten().tolist() == list(range(8))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(kernel=3), "unknown setting"),
        (dict(kind="conv3d"), "kind must be one of"),
        (dict(kernel_size=(1, 2, 3)), "kernel_size must be an int or a pair"),
        (dict(padding="full"), "padding must be"),
        (dict(stride=True), "stride must be an int"),
    ],
)
def test_bad_settings_name_the_parameter(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LayerSpec.from_settings(**settings)


def test_pool_stride_defaults_to_kernel() -> None:
    for kind, k in itertools.product(("max_pool", "avg_pool"), (2, (3, 2))):
        spec = LayerSpec.from_settings(kind=kind, kernel_size=k)
        default = direct_layer(kind, kernel_size=k).stride  # torch's own default
        assert spec.stride == (default if isinstance(default, tuple) else (default, default))


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=1),
        nn.Conv2d(4, 4, 4, padding="same", groups=2),
        nn.ConvTranspose2d(2, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
        nn.AvgPool2d((2, 3), padding=1, ceil_mode=True, count_include_pad=False),
    ],
    ids=repr,
)
def test_settings_from_layer_rebuild_the_same_layer(layer: nn.Module) -> None:
    from convwidget.torchlayers import settings_from_layer

    rebuilt = build_layer(LayerSpec.from_settings(**settings_from_layer(layer)))
    assert type(rebuilt) is type(layer)
    for name in ("kernel_size", "stride", "padding", "dilation", "output_padding", "ceil_mode",
                 "count_include_pad", "in_channels", "out_channels", "groups"):
        if hasattr(layer, name):
            def norm(v: object) -> object:
                return (v, v) if isinstance(v, int) and not isinstance(v, bool) else v
            assert norm(getattr(rebuilt, name)) == norm(getattr(layer, name)), name


def test_settings_from_layer_refuses_other_layers() -> None:
    from convwidget.torchlayers import settings_from_layer

    with pytest.raises(ValueError, match="not Linear"):
        settings_from_layer(nn.Linear(3, 4))


@pytest.mark.parametrize(
    ("settings", "size"),
    [
        (dict(kind="conv", kernel_size=3, stride=2, padding=1, in_channels=64, out_channels=64), (32, 32)),
        (dict(kind="conv_transpose", kernel_size=4, stride=2, padding=1, in_channels=64,
              out_channels=32, groups=2), (48, 48)),
        (dict(kind="max_pool", kernel_size=3, stride=2, padding=1, in_channels=4096), (32, 32)),
    ],
)
def test_big_layers_report_torchs_shape_without_computing(settings: dict, size: tuple[int, int]) -> None:
    from convwidget.torchlayers import MAX_MACS, layer_macs

    spec = LayerSpec.from_settings(**settings)
    assert layer_macs(spec, size) > MAX_MACS
    result = run_layer(spec, size)
    layer = direct_layer(**{k: v for k, v in settings.items()
                            if k != "in_channels" or spec.kind.startswith("conv")})
    with torch.no_grad():
        expected = layer(torch.zeros(1, spec.in_channels, *size)).shape  # really computed, here
    assert result.ok and not result.computed and result.values is None
    assert result.output_shape == tuple(expected)
    assert result.parameter_count == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # meta kernels skip this check: the one-channel twin on the CPU makes it
        (dict(kind="conv_transpose", kernel_size=3, stride=2, output_padding=2, in_channels=128,
              out_channels=128), "output padding must be smaller"),
        (dict(kind="conv", kernel_size=3, in_channels=192, out_channels=196, groups=8),
         "divisible by groups"),
        (dict(kind="conv", kernel_size=40, in_channels=128, out_channels=128),
         "Kernel size can't be greater"),
    ],
)
def test_big_layers_are_refused_with_torchs_message(settings: dict, message: str) -> None:
    result = run_layer(LayerSpec.from_settings(**settings), (32, 32))
    assert not result.computed
    assert not result.ok and message in result.error
    with pytest.raises((RuntimeError, ValueError), match=re.escape(message)):
        direct_layer(**settings)(torch.zeros(1, settings["in_channels"], 32, 32))


@pytest.mark.parametrize(
    ("settings", "ndim"),
    [
        (dict(kind="conv", kernel_size=3, stride=2, padding=1, in_channels=2, out_channels=4), 1),
        (dict(kind="conv_transpose", kernel_size=3, stride=2, output_padding=1), 1),
        (dict(kind="max_pool", kernel_size=2, ceil_mode=True), 1),
        (dict(kind="avg_pool", kernel_size=3, stride=1, padding=1, count_include_pad=False), 1),
        (dict(kind="conv", kernel_size=(1, 3, 3), padding=(0, 1, 1), in_channels=2, out_channels=2,
              groups=2), 3),
        (dict(kind="max_pool", kernel_size=2), 3),
        (dict(kind="avg_pool", kernel_size=(1, 2, 2)), 3),
    ],
)
def test_run_layer_in_one_and_three_dimensions(settings: dict, ndim: int) -> None:
    spec = LayerSpec.from_settings(ndim=ndim, **settings)
    size = (5,) * ndim
    result = run_layer(spec, size, max_cells=10_000)
    layer = eval(layer_code(spec), {"nn": nn})  # our own generated text, not user input
    assert repr(layer) == repr(build_layer(spec))
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.fill_(1.0 if name == "weight" else 0.0)
        x = torch.arange(5**ndim, dtype=torch.float32).reshape(1, 1, *size).expand(1, spec.in_channels, *size)
        expected = layer(x)
    assert result.ok, result.error
    assert result.output_shape == tuple(expected.shape)
    assert result.values == expected[0, 0].tolist()
    assert result.parameter_count == spec.parameter_count()


def test_the_meta_device_is_warmed_in_the_background_once() -> None:
    """The first meta-device layer imports sympy (~1 s); the first run of a layer starts a
    thread that pays it, so an over-budget slider move later does not; a process that
    exits meanwhile ends cleanly."""
    from convwidget import torchlayers

    run_layer(LayerSpec.from_settings(kernel_size=3), (5, 5))
    thread = torchlayers.warm_meta()
    assert thread is torchlayers.warm_meta() and not thread.daemon
    thread.join(timeout=60)
    assert not thread.is_alive()
    big = run_layer(LayerSpec.from_settings(kernel_size=3, padding=10_000), (7, 7))
    assert big.output_shape == (1, 1, 20_005, 20_005) and not big.computed


def test_a_process_that_exits_during_the_warm_up_ends_cleanly() -> None:
    import subprocess
    import sys

    code = ("from convwidget.torchlayers import LayerSpec, run_layer\n"
            "run_layer(LayerSpec.from_settings(kernel_size=3), (5, 5))\n")
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0 and "terminate called" not in done.stderr, done.stderr


# ---------------------------------------------------------------- run_values: given values, all channels
VALUE_SPECS = [
    dict(kind="conv", kernel_size=3, padding=1, in_channels=3, out_channels=4),
    dict(kind="conv", kernel_size=3, in_channels=4, out_channels=4, groups=4, bias=False),
    dict(kind="conv", kernel_size=(2, 3), padding="same", in_channels=4, out_channels=2, groups=2,
         padding_mode="reflect"),
    dict(kind="conv_transpose", kernel_size=3, stride=2, padding=1, output_padding=1, in_channels=4,
         out_channels=2, groups=2),
    dict(kind="max_pool", kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True, in_channels=2),
    dict(kind="avg_pool", kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False,
         in_channels=2),
]


@pytest.mark.parametrize("settings", VALUE_SPECS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_run_values_is_the_direct_layer_with_the_same_numbers(settings: dict) -> None:
    from convwidget.cellmath import preset_weights, sample_input

    spec = LayerSpec.from_settings(**settings)
    inputs = sample_input(spec.in_channels, (6, 5))
    kw = {k: v for k, v in settings.items() if k not in ("kind", "in_channels", "out_channels")}
    weights = bias = None
    if spec.is_pool:
        layer = direct_layer(settings["kind"], **kw)
    else:
        layer = direct_layer(settings["kind"], in_channels=spec.in_channels, out_channels=spec.out_channels,
                             **kw).double()
        weights = preset_weights("small integers", spec)
        bias = [c - 1.5 for c in range(spec.out_channels)] if spec.bias else None
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(weights, dtype=torch.float64))
            if bias is not None:
                layer.bias.copy_(torch.tensor(bias, dtype=torch.float64))
    with torch.no_grad():
        expected = layer(torch.tensor(inputs, dtype=torch.float64)[None])
    got = run_values(spec, inputs, weights, bias)
    assert got.ok, got.error
    assert got.output_shape == tuple(expected.shape)
    assert got.values == expected[0].tolist()  # every channel, exactly
    # the cached float64 layer takes new numbers on the next call
    if weights is not None:
        again = run_values(spec, inputs, preset_weights("ones", spec), None)
        with torch.no_grad():
            layer.weight.fill_(1.0)
            if layer.bias is not None:
                layer.bias.zero_()
            assert again.values == layer(torch.tensor(inputs, dtype=torch.float64)[None])[0].tolist()


def test_run_values_divisor_override_is_torchs() -> None:
    spec = LayerSpec.from_settings(kind="avg_pool", kernel_size=3, stride=2, padding=1)
    x = torch.arange(30, dtype=torch.float64).reshape(1, 5, 6)
    got = run_values(spec, x, divisor_override=5)
    expected = nn.AvgPool2d(3, 2, 1, divisor_override=5)(x[None])
    assert got.values == expected[0].tolist()
    assert run_values(spec, x).values == nn.AvgPool2d(3, 2, 1)(x[None])[0].tolist()  # the cache is untouched


@pytest.mark.parametrize(("call", "message"), [
    (lambda: run_values(LayerSpec.from_settings(kernel_size=5), [[[1, 2], [3, 4]]], [[[[1] * 5] * 5]]),
     r"Kernel size can't be greater than actual input size|kernel size"),
    (lambda: run_values(LayerSpec.from_settings(kernel_size=3, in_channels=2), [[[1] * 3] * 3] * 2,
                        [[[[1, 1, 1]] * 3]]), r"weights have shape \(1, 1, 3, 3\) but nn.Conv2d\(2, 1"),
    (lambda: run_values(LayerSpec.from_settings(kernel_size=3, in_channels=64, out_channels=64),
                        torch.zeros(64, 300, 300), torch.zeros(64, 64, 3, 3)),
     r"not computed here: .* multiply-adds .* use fewer channels or a smaller input"),
    (lambda: run_values(LayerSpec.from_settings(kernel_size=3), [[1, 2, 3]]),
     r"inputs have shape \(1, 3\); Conv2d takes \[channels, size, size\]"),
    (lambda: run_values(LayerSpec.from_settings(kind="max_pool", kernel_size=2), [[[1, 2]]],
                        divisor_override=2), r"divisor_override is a setting of AvgPool2d and AvgPool3d"),
])
def test_run_values_says_why_there_are_no_values(call: object, message: str) -> None:
    got = call()  # type: ignore[operator]
    assert got.values is None and not got.ok
    assert re.search(message, got.error), got.error
