"""convwidget.spec: one torch-free home for a layer's settings, checked against real torch.nn."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convwidget.errors import ShapeError
from convwidget.spec import KIND_LABELS, KINDS, LayerSpec, groups_hint, torch_class_name


def per_dim(value: Any, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


# ---------------------------------------------------------------- from_layer, against torch's own attributes
class MyConv(nn.Conv2d):
    """A user's subclass: from_layer must still see a Conv2d."""


class MyPool(nn.MaxPool1d):
    pass


LAYERS = [
    nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, bias=False),
    nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=1),
    nn.Conv2d(4, 4, 4, padding="same", groups=2, padding_mode="reflect"),
    nn.Conv3d(2, 6, (1, 3, 3), stride=(1, 2, 2), padding="valid", groups=2),
    nn.ConvTranspose1d(2, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
    nn.ConvTranspose2d(2, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
    nn.ConvTranspose3d(1, 1, 2, stride=(1, 2, 3)),
    nn.MaxPool1d(3),
    nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
    nn.MaxPool3d((1, 2, 2)),
    nn.AvgPool1d(4, stride=1, padding=2, count_include_pad=False),
    nn.AvgPool2d((2, 3), padding=1, ceil_mode=True, count_include_pad=False),
    nn.AvgPool3d(2, stride=(1, 2, 2)),
    nn.LPPool1d(2, 3),
    nn.LPPool2d(1.5, (2, 3), stride=1, ceil_mode=True),
    MyConv(1, 2, 3, padding=1),
    MyPool(2, stride=1),
]


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_from_layer_reads_what_torch_holds(layer: nn.Module) -> None:
    spec = LayerSpec.from_layer(layer)
    n = spec.ndim
    name = type(layer).__name__
    if name.startswith("My"):
        name = type(layer).__mro__[1].__name__
    assert spec.torch_class == name
    assert n == int(name[-2])
    assert spec.kernel_size == per_dim(layer.kernel_size, n)
    stride = layer.stride if layer.stride is not None else layer.kernel_size
    assert spec.stride == per_dim(stride, n)
    if isinstance(layer, nn.LPPool2d | nn.LPPool1d):
        assert spec.padding == (0,) * n and spec.norm_type == float(layer.norm_type)
        assert spec.kind == "avg_pool"
    elif isinstance(layer.padding, str):
        assert spec.padding == layer.padding
    else:
        assert spec.padding == per_dim(layer.padding, n)
    assert spec.dilation == per_dim(getattr(layer, "dilation", 1), n)
    assert spec.output_padding == per_dim(getattr(layer, "output_padding", 0), n)
    for attr in ("ceil_mode", "count_include_pad", "in_channels", "out_channels", "groups",
                 "padding_mode"):
        if hasattr(layer, attr):
            assert getattr(spec, attr) == getattr(layer, attr), attr
    assert spec.parameter_count() == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize(
    "layer",
    [nn.LazyConv1d(4, 3, stride=2), nn.LazyConv2d(8, (3, 5), padding=1),
     nn.LazyConvTranspose3d(2, 2, stride=2)],
    ids=repr,
)
def test_lazy_layers_with_a_known_kernel(layer: nn.Module) -> None:
    spec = LayerSpec.from_layer(layer)
    n = spec.ndim
    assert spec.kernel_size == per_dim(layer.kernel_size, n)
    assert spec.stride == per_dim(layer.stride, n)
    assert spec.out_channels == layer.out_channels
    assert spec.in_channels == 0  # not known until the first forward
    assert spec.groups_problem() is None
    x = torch.zeros(1, 3, *(9,) * n)
    layer(x)  # now initialised: the same reader gives the channels
    after = LayerSpec.from_layer(layer)
    assert after.in_channels == 3
    assert after.parameter_count() == sum(p.numel() for p in layer.parameters())


def test_from_layer_refuses_other_layers_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="not Linear"):
        LayerSpec.from_layer(nn.Linear(3, 4))


# ------------------------------------------------ parameter count, groups rule: random settings
def _layer(kind: str, n: int, s: dict[str, Any]) -> nn.Module:
    cls = getattr(nn, torch_class_name(kind, n))
    return cls(s["in_channels"], s["out_channels"], s["kernel_size"], groups=s["groups"],
               bias=s["bias"])


conv_settings = st.fixed_dictionaries({
    "kind": st.sampled_from(("conv", "conv_transpose")),
    "ndim": st.integers(1, 3),
    "in_channels": st.integers(1, 12),
    "out_channels": st.integers(1, 12),
    "groups": st.integers(1, 6),
    "kernel": st.integers(1, 4),
    "bias": st.booleans(),
})


@settings(max_examples=150, deadline=None)
@given(c=conv_settings)
def test_parameter_count_and_groups_rule_agree_with_torch(c: dict[str, Any]) -> None:
    n = c.pop("ndim")
    kind = c.pop("kind")
    c["kernel_size"] = c.pop("kernel")
    spec = LayerSpec.from_settings(kind=kind, ndim=n, **c)
    try:
        layer = _layer(kind, n, c)
    except ValueError as err:  # torch refuses at construction
        assert "divisible by groups" in str(err)
        problem = spec.groups_problem()
        assert problem is not None and "divisible by groups" in problem
        with pytest.raises(ShapeError, match="use groups in"):
            spec.check_groups()
        return
    assert spec.groups_problem() is None
    spec.check_groups()
    assert spec.parameter_count() == sum(p.numel() for p in layer.parameters())
    assert LayerSpec.from_layer(layer) == spec


def test_the_groups_hint_is_cheap_for_huge_channel_counts() -> None:
    spec = LayerSpec.from_settings(in_channels=10**9, out_channels=10**9, groups=3)
    start = time.perf_counter()
    problem = spec.groups_problem()
    assert time.perf_counter() - start < 0.5
    assert problem is not None and "use groups in [1, 2, 4, 5" in problem
    assert len(problem) < 400
    assert groups_hint(6, 4) == "[1, 2]"


# ---------------------------------------------------------------- validation sentences
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(kernel=3), "unknown setting"),
        (dict(kind="conv3d"), "kind must be one of"),
        (dict(kernel_size=(1, 2, 3)), r"kernel_size must be an int or a pair of ints \(height, width\)"),
        (dict(padding="full"), "padding must be a number, a pair, 'same' or 'valid'"),
        (dict(stride=True), "stride must be an int"),
        (dict(stride=2.0), "stride must be an int"),
        (dict(groups=True), "groups must be an int"),
        (dict(groups=0), "groups must be a positive int"),
        (dict(stride=0), "stride must be at least 1"),
        (dict(padding=-1), "padding must be at least 0"),
        (dict(output_padding=(0, -1)), "output_padding must be at least 0"),
        (dict(ceil_mode="no"), "ceil_mode must be True or False, not 'no'"),
        (dict(count_include_pad=1), "count_include_pad must be True or False"),
        (dict(padding_mode="mirror"), "padding_mode must be one of"),
    ],
)
def test_bad_settings_name_the_parameter(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LayerSpec.from_settings(**settings)


def test_numpy_integers_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    spec = LayerSpec.from_settings(kernel_size=np.int64(3), stride=(np.int32(2), 1),
                                   in_channels=np.int16(4), ceil_mode=np.bool_(True))
    assert spec.kernel_size == (3, 3) and spec.stride == (2, 1) and spec.in_channels == 4
    assert type(spec.kernel_size[0]) is int and spec.ceil_mode is True


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_from_settings_in_other_dimensions(ndim: int) -> None:
    spec = LayerSpec.from_settings(kind="max_pool", kernel_size=2, ndim=ndim)
    assert spec.kernel_size == spec.stride == (2,) * ndim
    layer = getattr(nn, spec.torch_class)(2)
    assert LayerSpec.from_layer(layer) == spec


def test_kinds_and_labels_are_defined_once() -> None:
    assert tuple(kind for _, kind in KIND_LABELS) == KINDS
    for label, kind in KIND_LABELS:
        assert torch_class_name(kind, 2) in label
        assert hasattr(nn, torch_class_name(kind, 1)) and hasattr(nn, torch_class_name(kind, 3))


def test_spec_imports_no_framework() -> None:
    code = ("import sys, convwidget.spec; bad = [m for m in ('torch', 'numpy', 'ipywidgets', "
            "'matplotlib') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
