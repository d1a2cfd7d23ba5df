"""The core's promises beyond single shapes: import isolation, the inverse
solver, transposed output sizes, receptive fields, explanations and the CLI —
each checked against real PyTorch where PyTorch has an answer."""

from __future__ import annotations

import itertools
import random
import re
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

import convwidget as cw

torch.set_num_threads(1)


def _torch_conv_len(n, k, s, p, d):
    try:
        return nn.Conv1d(1, 1, k, s, p, d, bias=False)(torch.zeros(1, 1, n)).shape[-1]
    except RuntimeError:
        return None


def _torch_pool_len(n, k, s, p, d, ceil):
    try:
        return nn.MaxPool1d(k, s, p, d, ceil_mode=ceil)(torch.zeros(1, 1, n)).shape[-1]
    except RuntimeError:
        return None


def test_import_convwidget_loads_no_framework():
    code = (
        "import sys, convwidget\n"
        "convwidget.conv_output_size(32, 3); convwidget.explain(32, 3)\n"
        "bad = [m for m in ('torch', 'matplotlib', 'ipywidgets', 'numpy') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("size,target", [(32, 16), (28, 14), (7, 3), (10, 10), (5, 2)])
def test_solve_conv_finds_exactly_what_torch_accepts(size, target):
    grid = dict(kernel_sizes=range(1, 6), strides=range(1, 4), paddings=range(0, 3),
                dilations=range(1, 3))
    found = set(cw.solve(size, target, **grid))
    truth = {
        cw.Setting(k, s, p, d)
        for k, s, p, d in itertools.product(*grid.values())
        if _torch_conv_len(size, k, s, p, d) == target
    }
    assert found == truth and truth


@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("size,target", [(32, 16), (5, 3), (9, 5), (6, 3)])
def test_solve_max_pool_finds_exactly_what_torch_accepts(size, target, ceil):
    grid = dict(kernel_sizes=range(1, 6), strides=range(1, 4), paddings=range(0, 3),
                dilations=range(1, 3))
    found = set(cw.solve(size, target, kind="max_pool", ceil_mode=ceil, **grid))
    truth = {
        cw.Setting(k, s, p, d)
        for k, s, p, d in itertools.product(*grid.values())
        if _torch_pool_len(size, k, s, p, d, ceil) == target
    }
    assert found == truth and truth


def test_solve_is_simplest_first_and_refuses_bad_kind():
    found = cw.solve(224, 112)
    assert [s.dilation for s in found] == sorted(s.dilation for s in found)
    assert found[0].stride == 2
    with pytest.raises(ValueError, match="kind='dense' is not one of"):
        cw.solve(32, 16, kind="dense")


def test_conv_transpose_output_sizes_match_torch_output_size_argument():
    rng = random.Random(5)
    for _ in range(300):
        n, k, s, p, d = (rng.randint(1, 6), rng.randint(1, 5), rng.randint(1, 4),
                         rng.randint(0, 3), rng.randint(1, 3))
        layer = nn.ConvTranspose1d(1, 1, k, s, p, dilation=d, bias=False)
        x = torch.zeros(1, 1, n)
        try:
            sizes = cw.conv_transpose_output_sizes(n, k, s, p, d)
        except cw.ShapeError:
            with pytest.raises(RuntimeError, match="too small"):
                layer(x)
            continue
        for size in range(0, 30):
            try:
                got = layer(x, output_size=[size]).shape[-1]
            except (RuntimeError, ValueError):
                assert size not in sizes, (n, k, s, p, d, size)
                continue
            assert got == size and size in sizes, (n, k, s, p, d, size)
            op = sizes[size]
            with_op = nn.ConvTranspose1d(1, 1, k, s, p, output_padding=op, dilation=d)
            assert with_op(x).shape[-1] == size


def _torch_receptive_field(specs, n=64):
    """Width of the input region that output cell 5 of the stack depends on."""
    layers = [nn.Conv1d(1, 1, k, s, p, d, bias=False) for k, s, p, d in specs]
    for layer in layers:
        nn.init.ones_(layer.weight)
    x = torch.ones(1, 1, n, requires_grad=True)
    y = nn.Sequential(*layers)(x)
    y[0, 0, 5].backward()
    hit = (x.grad[0, 0] != 0).nonzero().flatten()
    return int(hit.max() - hit.min() + 1), int(hit.min())


@pytest.mark.parametrize("specs", [
    [(3, 1, 0, 1)] * 3,
    [(3, 2, 0, 1), (3, 2, 0, 1)],
    [(5, 1, 0, 2), (3, 2, 0, 1), (3, 1, 0, 3)],
    [(7, 2, 0, 1), (3, 2, 0, 1), (3, 1, 0, 1), (3, 1, 0, 1)],
])
def test_receptive_field_and_jump_match_torch_gradients(specs):
    steps = cw.receptive_field(specs)
    width, first = _torch_receptive_field(specs)
    assert steps[-1].receptive_field == width
    # cell 5 starts 5 jumps after cell 0 (no padding, so cell 0 starts at 0)
    assert first == 5 * steps[-1].jump
    assert steps[-1].start == (width - 1) / 2


def test_receptive_field_reads_torch_layers_and_skips_activations():
    stack = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3)]
    steps = cw.receptive_field(stack)
    assert [s.receptive_field for s in steps] == [3, 4, 8]
    assert [s.jump for s in steps] == [1, 2, 2]
    assert steps[0].name == "Conv2d"


def test_explain_a_layer_agrees_with_explain_by_arguments():
    layer = nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    by_layer = cw.explain(layer, (1, 3, 17, 20))
    by_args = cw.explain((17, 20), (3, 5), (2, 1), (1, 2), (1, 2))
    assert [d.text for d in by_layer.dims] == [d.text for d in by_args.dims]
    truth = tuple(layer(torch.zeros(1, 3, 17, 20)).shape)
    assert by_layer.output_size == truth[-2:] and by_layer.output_shape == truth


def test_explain_renders_for_jupyter_and_carries_refusals():
    good = cw.explain((32, 32), 3, stride=2, padding=1)
    assert r"\left\lfloor \frac{32 + 2 \cdot 1 - 1 \cdot (3 - 1) - 1}{2} \right\rfloor + 1 = 16" \
        in good._repr_latex_()
    assert "16 × 16" in good._repr_html_()
    bad = cw.explain(nn.Linear(4096, 10), (8, 2048))
    assert not bad.ok and bad.output_size is None
    assert "nn.Linear(2048, 10)" in bad.error and "refuses" in str(bad)
    assert "&lt;" not in cw.explain(5, 2, kind="max_pool")._repr_html_()


def test_explain_same_padding_shows_the_asymmetric_split():
    e = cw.explain(10, 4, padding="same")
    assert e.dims[0].padding == (1, 2) and e.output_size == (10,)
    assert "⌊(10 + 1 + 2 − 1·(4 − 1) − 1) / 1⌋ + 1 = 10" in str(e)
    assert cw.explain(10, 3, stride=2, padding="same").error.startswith("padding='same' needs")


@pytest.mark.parametrize("bad,match", [
    (dict(kernel_size=2.5), "kernel_size must be a whole number"),
    (dict(kernel_size="3"), "kernel_size must be a whole number"),
])
def test_non_integers_are_type_errors_with_a_fix(bad, match):
    with pytest.raises(TypeError, match=match):
        cw.conv_output_size(32, **bad)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "convwidget", *args],
                          capture_output=True, text=True)


def test_cli_prints_the_derivation():
    out = _cli("size", "32", "--kernel", "3", "--stride", "2", "--padding", "1")
    assert out.returncode == 0
    assert "⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16" in out.stdout


def test_cli_pool_ceil_mode_and_transposed():
    pool = _cli("size", "5", "--kernel", "2", "--padding", "1", "--layer", "maxpool",
                "--ceil-mode")
    assert pool.returncode == 0 and "PyTorch drops it" in pool.stdout
    assert nn.MaxPool1d(2, padding=1, ceil_mode=True)(torch.zeros(1, 5)).shape[-1] == 3
    tr = _cli("size", "16,16", "--kernel", "3", "--stride", "2", "--padding", "1",
              "--transposed", "--output-padding", "1")
    assert tr.returncode == 0 and "output 32 × 32" in tr.stdout


def test_cli_solve_lists_settings_torch_agrees_with():
    out = _cli("size", "32", "--kernel", "3", "--solve", "16")
    assert out.returncode == 0
    assert "kernel_size=3 stride=2 padding=1 dilation=1" in out.stdout
    tr = _cli("size", "3", "--kernel", "3", "--transposed", "--solve", "6")
    assert "kernel_size=3 stride=2 padding=1 dilation=1 output_padding=1" in tr.stdout
    layer = nn.ConvTranspose1d(1, 1, 3, 2, 1, output_padding=1)
    assert layer(torch.zeros(1, 1, 3)).shape[-1] == 6


@pytest.mark.parametrize("args,sentence", [
    (("size", "3", "--kernel", "4", "--padding", "1", "--dilation", "2"),
     "kernel spans 7 cells (kernel_size=4, dilation=2) but the padded input has 5"),
    (("size", "8", "--kernel", "3", "--stride", "2", "--padding", "same"),
     "padding='same' needs stride=1"),
    (("size", "8", "--kernel", "3", "--padding", "2", "--layer", "avgpool"),
     "padding=2 is more than half the kernel"),
])
def test_cli_refusals_are_sentences_not_tracebacks(args, sentence):
    out = _cli(*args)
    assert out.returncode == 1
    assert sentence in out.stderr and "Traceback" not in out.stderr


def test_cli_malformed_arguments_exit_2():
    out = _cli("size", "thirty", "--kernel", "3")
    assert out.returncode == 2 and "is not a size" in out.stderr
    assert "Traceback" not in out.stderr


# numpy integers are sizes like any other (issue 10); numpy is a test-time dependency only
np = pytest.importorskip("numpy")
NUMPY_INTS = [np.int64, np.int32, np.uint8, np.intp]


@pytest.mark.parametrize("kind", NUMPY_INTS)
def test_numpy_integers_are_accepted_and_give_torchs_answer(kind):
    n, k, s, p, d = 11, 3, 2, 1, 2
    want = _torch_conv_len(n, k, s, p, d)
    got = cw.conv_output_size(kind(n), kind(k), kind(s), kind(p), kind(d))
    assert got == want and type(got) is int
    assert cw.pool_output_size(kind(n), kind(k), kind(s), kind(p), kind(1), True) == _torch_pool_len(
        n, k, s, p, 1, True)
    layer = nn.ConvTranspose1d(1, 1, k, s, p, output_padding=1, dilation=d)
    assert cw.conv_transpose_output_size(kind(n), kind(k), kind(s), kind(p), kind(1), kind(d)) == (
        layer(torch.zeros(1, 1, n)).shape[-1])
    e = cw.explain(np.array([n, n], dtype=kind), kind(k), kind(s), kind(p), kind(d))
    assert e.output_size == (want, want) and all(type(x.size) is int for x in e.dims)
    shape = cw.output_shape(nn.Conv2d(3, 4, k, s, p, d), np.array([1, 3, n, n], dtype=kind))
    assert shape == tuple(nn.Conv2d(3, 4, k, s, p, d)(torch.zeros(1, 3, n, n)).shape)
    assert [type(v) for v in cw.solve(kind(32), kind(16))[0]] == [int] * 4
    assert cw.receptive_field([(kind(3), kind(2), kind(1))])[0].receptive_field == 3


@pytest.mark.parametrize("value", ["no", "False", 2, 0.5, None, [True]])
def test_a_non_boolean_ceil_mode_is_refused_with_a_sentence(value):
    # 'no' used to be taken as True (a non-empty string)
    with pytest.raises(TypeError, match=r"ceil_mode must be True or False, got .*; use ceil_mode=True or"):
        cw.pool_output_size(5, 2, ceil_mode=value)
    with pytest.raises(TypeError, match=r"ceil_mode must be True or False"):
        cw.explain(5, 2, kind="max_pool", ceil_mode=value)
    with pytest.raises(TypeError, match=r"ceil_mode must be True or False"):
        cw.solve(5, 3, kind="max_pool", ceil_mode=value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False), 0, 1, np.int64(1)])
def test_boolean_ceil_modes_agree_with_torch(value):
    want = _torch_pool_len(5, 2, 2, 1, 1, bool(value))
    assert cw.pool_output_size(5, 2, padding=1, ceil_mode=value) == want


@pytest.mark.parametrize("bad", [32.0, 32.5, "32", np.float64(32)])
def test_float_sizes_are_refused_as_torch_refuses_them(bad):
    with pytest.raises(TypeError, match="must be a whole number"):
        cw.conv_output_size(bad, 3)
    with pytest.raises(TypeError, match="input_shape must be a sequence of whole numbers"):
        cw.output_shape(nn.Conv1d(1, 1, 3), (1, 1, bad))
    with pytest.raises(TypeError):
        torch.zeros(1, 1, bad)  # torch refuses them too


# ---------------------------------------------------------------- every bad input gets a sentence
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convwidget.geometry import layer_geometry  # noqa: E402

_ANY = st.one_of(
    st.integers(-5, 40), st.integers(-10**30, 10**30), st.floats(allow_nan=True), st.text(max_size=3),
    st.none(), st.booleans(), st.tuples(st.integers(-2, 9), st.integers(-2, 9)),
    st.lists(st.integers(0, 9), max_size=4), st.integers(0, 40).map(np.int64), st.just(np.float64(2.0)),
    st.just(np.array([3, 3])), st.just(complex(1, 2)), st.sampled_from(["same", "valid"]),
)
# what Python or numpy say when a value reaches an operation unchecked: never a learner's sentence
_RAW = re.compile(r"truth value|cannot be interpreted|unsupported operand|not supported between|"
                  r"is not iterable|has no len|not subscriptable|invalid literal|unhashable|object has no")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(*[_ANY] * 6, st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
def test_any_value_gives_an_answer_or_a_sentence(a, b, c, d, e, f, kind):
    calls = [
        lambda: cw.conv_output_size(a, b, c, d, e),
        lambda: cw.pool_output_size(a, b, c, d, e, f),
        lambda: cw.conv_transpose_output_size(a, b, c, d, e, f),
        lambda: cw.explain(a, b, c, d, e, kind=kind, ceil_mode=f),
        lambda: layer_geometry(kind, a, b, c, d, e, ceil_mode=f),
        lambda: cw.solve(a, b, kind=kind, ceil_mode=f),
        lambda: cw.receptive_field([a, b]),
        lambda: cw.conv_transpose_output_sizes(a, b, c, d, e),
    ]
    for call in calls:
        try:
            call()
        except (cw.ShapeError, TypeError, ValueError) as err:
            assert not _RAW.search(str(err)), f"{type(err).__name__}: {err}"


def test_listing_the_output_sizes_of_a_huge_stride_is_refused_not_looped():
    # stride=10**30 looped 10**30 times
    assert len(cw.conv_transpose_output_sizes(3, 3, stride=10_000)) == 10_000
    with pytest.raises(cw.ShapeError, match=r"stride=10001 gives 10,001 possible output sizes"):
        cw.conv_transpose_output_sizes(3, 3, stride=10_001)
    layer = nn.ConvTranspose1d(1, 1, 3, stride=10**6)
    want = layer(torch.zeros(1, 1, 3), output_size=[2 * 10**6 + 5]).shape[-1]
    assert cw.conv_transpose_output_size(3, 3, 10**6, 0, 2, 1) == want == 2 * 10**6 + 5


class Conv2d:  # a duck-typed stand-in: spec reads layers by class name
    """A layer with torch.nn.Conv2d's attributes and no tensors: 10**9 channels cost nothing."""

    kernel_size, stride, padding, dilation, output_padding = (3, 3), (1, 1), (1, 1), (1, 1), (0, 0)
    padding_mode, bias = "zeros", None

    def __init__(self, in_channels, out_channels, groups):
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups

    def forward(self, x):  # what explain() recognises a layer by; never run here
        raise AssertionError("the shape rules run no forward")


def test_huge_channel_counts_are_answered_quickly_by_the_groups_rule():
    import time

    from convwidget.layers import output_shape

    start = time.perf_counter()
    assert output_shape(Conv2d(10**9, 10**9, 10**9), (1, 10**9, 8, 8)) == (1, 10**9, 8, 8)
    with pytest.raises(cw.ShapeError, match=r"not divisible by groups=3.*use groups in \[1, 2, 4, 5,"):
        output_shape(Conv2d(10**9, 10**9, 3), (1, 10**9, 8, 8))
    with pytest.raises(cw.ShapeError, match="groups=0 must be at least 1"):
        output_shape(Conv2d(10**9, 2 * 10**9, 0), (10**9, 8, 8))
    assert "groups=7" in cw.explain(Conv2d(10**9, 10**9, 7), (1, 10**9, 4, 4)).error
    assert time.perf_counter() - start < 0.5


def test_a_groups_refusal_is_the_spec_sentence_and_torchs_refusal():
    from convwidget.layers import output_shape
    from convwidget.spec import groups_problem

    layer = nn.Conv2d(4, 6, 3, groups=2)
    layer.groups = 4  # torch's constructor refuses it; a changed attribute carries it
    with pytest.raises(RuntimeError, match="groups"):
        layer(torch.zeros(1, 4, 5, 5))
    with pytest.raises(cw.ShapeError) as info:
        output_shape(layer, (1, 4, 5, 5))
    assert str(info.value) == groups_problem(4, 6, 4)


@pytest.mark.parametrize("layer", [
    nn.Conv1d(2, 4, 3, stride=2, padding="valid"), nn.Conv2d(1, 2, (3, 5), padding="same"),
    nn.Conv3d(1, 1, 2, dilation=2, padding_mode="circular"), nn.LazyConv2d(3, 2),
    nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1, groups=2), nn.LazyConvTranspose1d(1, 4),
    nn.MaxPool1d(3), nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), nn.AvgPool3d(2, padding=1),
    nn.LPPool2d(2, 3, stride=1), nn.LPPool1d(1.5, 2),
])
def test_layer_readers_are_the_spec_reader(layer):
    from convwidget.layers import layer_kind, spatial_settings
    from convwidget.spec import LayerSpec

    spec = LayerSpec.from_layer(layer)
    settings = spatial_settings(layer)
    assert layer_kind(layer) == spec.kind
    for name, value in settings.items():
        assert getattr(spec, name) == value
    assert settings["kernel_size"] == tuple(torch.nn.modules.utils._ntuple(spec.ndim)(layer.kernel_size))
    assert ("output_padding" in settings) == (spec.kind == "conv_transpose")


def test_layer_readers_refuse_other_layers():
    from convwidget.layers import layer_kind, spatial_settings

    assert layer_kind(nn.Linear(2, 3)) is None and layer_kind(nn.AdaptiveAvgPool2d(1)) is None
    with pytest.raises(TypeError, match="ReLU is not a convolution or pooling layer"):
        spatial_settings(nn.ReLU())
