"""The model shape tracer, checked against PyTorch itself.

The oracle for "which in_features does this Linear need" is a LazyLinear dry run: the same
model built with ``nn.LazyLinear`` run on a real CPU tensor (``models.true_in_features``).
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))

from models import (  # noqa: E402
    VGG,
    AudioNet,
    Autoencoder,
    CifarNet,
    LeNet,
    ResNet50,
    VideoNet,
    dilated_ceil_net,
    flatten2_head,
    true_in_features,
)

from convwidget.cli import main_trace  # noqa: E402
from convwidget.tracer import (  # noqa: E402
    Problem,
    TraceReport,
    input_size_range,
    trace,
)

# name -> (builder taking fc_in, input shape small enough for a real CPU forward)
CASES: dict[str, tuple[Callable[[Any], nn.Module], tuple[int, ...]]] = {
    "lenet": (lambda fc: LeNet(fc), (2, 1, 32, 32)),
    "cifar": (lambda fc: CifarNet(fc), (2, 3, 32, 32)),
    "cifar-37": (lambda fc: CifarNet(fc), (2, 3, 37, 37)),
    "cifar-nonsquare": (lambda fc: CifarNet(fc, width=8), (2, 3, 40, 28)),
    "vgg16-adaptive": (lambda fc: VGG(fc, width=8), (1, 3, 64, 64)),
    "vgg16-fixed": (lambda fc: VGG(fc, width=8, adaptive=False), (1, 3, 96, 64)),
    "resnet50": (lambda fc: ResNet50(fc, width=8), (1, 3, 64, 64)),
    "resnet50-avgpool7": (lambda fc: ResNet50(fc, width=16, global_pool=False),
                          (1, 3, 256, 224)),
    "audio-1d": (lambda fc: AudioNet(fc), (2, 1, 8000)),
    "video-3d": (lambda fc: VideoNet(fc), (1, 1, 16, 40, 48)),
    "dilated-ceil": (lambda fc: dilated_ceil_net(fc), (2, 3, 64, 64)),
    "dilated-ceil-odd": (lambda fc: dilated_ceil_net(fc), (2, 3, 57, 61)),
    "autoencoder": (lambda fc: Autoencoder(fc), (2, 1, 28, 28)),
    "flatten-start2": (lambda fc: flatten2_head(fc), (2, 3, 32, 32)),
}

_TRUTH: dict[str, tuple[dict[str, int], tuple[int, ...]]] = {}


def truth(case: str) -> tuple[dict[str, int], tuple[int, ...]]:
    """(in_features each Linear gets, output shape), from PyTorch on real tensors."""
    if case not in _TRUTH:
        build, shape = CASES[case]
        lazy = build(None)
        seen = true_in_features(lazy, shape)
        with torch.no_grad():
            out = lazy(torch.zeros(shape))
        _TRUTH[case] = (seen, tuple(out.shape))
    return _TRUTH[case]


def first_fc(case: str) -> tuple[str, int]:
    seen, _ = truth(case)
    return next(iter(seen.items()))


# ----------------------------------------------------------------------------- in_features


@pytest.mark.parametrize("case", list(CASES))
def test_right_model_traces_clean_and_matches_pytorch(case: str) -> None:
    build, shape = CASES[case]
    seen, out_shape = truth(case)
    model = build(first_fc(case)[1])
    report = trace(model, shape)
    assert report.ok, str(report)
    assert report.problems == []
    assert report.linear_in_features == seen
    assert list(report.linear_in_features) == list(seen)  # execution order
    assert report.output_shape == out_shape
    # PyTorch agrees: the real model runs with these in_features
    with torch.no_grad():
        assert tuple(model(torch.zeros(shape)).shape) == out_shape


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("delta", [-1, 7])
def test_wrong_linear_is_reported_and_the_trace_goes_on(case: str, delta: int) -> None:
    build, shape = CASES[case]
    seen, out_shape = truth(case)
    name, need = first_fc(case)
    model = build(need + delta)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied|size mismatch|"
                                           "mat1 and mat2"), torch.no_grad():
        model(torch.zeros(shape))  # PyTorch refuses the wrong model
    report = trace(model, shape)
    assert not report.ok
    assert report.error is None  # continued past the mismatch
    assert report.linear_in_features == seen
    assert report.output_shape == out_shape
    assert [p.step for p in report.problems] == [name]
    problem = report.problems[0]
    assert f"in_features={need + delta}" in problem.message
    out_features = dict(model.named_modules())[name].out_features
    assert problem.fix.startswith(f"nn.Linear({need}, {out_features})")
    assert "nn.LazyLinear" in problem.alternative
    row = next(r for r in report.rows if r.name == name)
    assert row.needed == {"in_features": need}
    assert row.problem is problem


def test_forum_cifar_net_answer_and_fix_line() -> None:
    report = trace(CifarNet(fc_in=1024), (1, 3, 32, 32))
    assert report.linear_in_features == {"fc_layer.1": 4096, "fc_layer.3": 1024,
                                         "fc_layer.6": 512}
    (problem,) = report.problems
    assert problem.fix == ("nn.Linear(4096, 1024)  # 256 channels × 4 × 4 after "
                           "conv_layer.17 (MaxPool2d)")
    assert problem.alternative == ("# or let PyTorch infer it on the first batch: "
                                   "nn.LazyLinear(1024)")
    assert "256 channels × 4 × 4" in problem.message
    flat = report.flatten_row
    assert flat is not None and flat.flatten == "256 channels × 4 × 4 = 4096"
    assert flat.input_shape == (1, 256, 4, 4)


def test_linear_without_flatten_explains_the_last_dimension() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(64, 10))
    report = trace(model, (1, 3, 10, 10))
    (problem,) = report.problems
    assert report.linear_in_features == {"1": 8}
    assert "last dimension only (8)" in problem.message
    assert problem.fix.startswith("nn.Flatten(), nn.Linear(512, 10)")
    assert report.output_shape == (1, 8, 8, 10)


def test_every_problem_in_one_trace() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3), nn.BatchNorm2d(12), nn.Conv2d(8, 32, 3, padding=1),
        nn.GroupNorm(4, 24), nn.Flatten(), nn.Linear(10, 5), nn.LayerNorm(6), nn.Linear(7, 2))
    with pytest.raises(RuntimeError, match="running_mean should contain 16 elements"):
        model(torch.zeros(1, 3, 8, 8))
    report = trace(model, (1, 3, 8, 8))
    assert report.error is None
    assert [p.step for p in report.problems] == ["1", "2", "3", "5", "6", "7"]
    fixes = [p.fix for p in report.problems]
    assert fixes[0].startswith("nn.BatchNorm2d(16, eps=1e-05")
    assert fixes[1] == "nn.Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert fixes[2] == "nn.GroupNorm(4, 32)"
    assert fixes[3].startswith("nn.Linear(1152, 5)  # 32 channels × 6 × 6 after 3 (GroupNorm)")
    assert fixes[4] == "nn.LayerNorm(5)"
    assert fixes[5].startswith("nn.Linear(5, 2)")
    assert report.linear_in_features == {"5": 1152, "7": 5}
    assert report.output_shape == (1, 2)
    # the fixed model runs in PyTorch with exactly these values
    fixed = nn.Sequential(
        nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.Conv2d(16, 32, 3, padding=1),
        nn.GroupNorm(4, 32), nn.Flatten(), nn.Linear(1152, 5), nn.LayerNorm(5), nn.Linear(5, 2))
    assert fixed(torch.zeros(1, 3, 8, 8)).shape == (1, 2)


def test_input_too_small_stops_with_a_sentence_and_the_rows_so_far() -> None:
    model = CifarNet().eval()
    with pytest.raises(RuntimeError, match="Output size is too small|too small"):
        model(torch.zeros(1, 3, 4, 4))
    report = trace(model, (1, 3, 4, 4))
    assert not report.ok
    assert report.error is not None and report.error.startswith(
        "conv_layer.17 (MaxPool2d) cannot take input [1, 256, 1, 1]")
    assert report.output_shape is None
    assert [r.name for r in report.rows][-1] == "conv_layer.16"
    assert "cannot take input" in str(report)


# ----------------------------------------------------------------------------- functional rows


def test_functional_calls_get_rows() -> None:
    report = trace(LeNet(), (1, 1, 32, 32))
    ops = [r.op for r in report.rows]
    assert ops == ["Conv2d", "F.relu", "F.max_pool2d", "Conv2d", "F.relu", "F.max_pool2d",
                   "torch.flatten", "Linear", "F.relu", "Linear", "F.relu", "Linear"]
    pool = report.rows[2]
    assert pool.name == "F.max_pool2d(x, (2, 2))"
    assert pool.input_shape == (1, 6, 28, 28) and pool.output_shape == (1, 6, 14, 14)
    real = F.max_pool2d(torch.zeros(1, 6, 28, 28), (2, 2))
    assert pool.explanation is not None
    assert pool.explanation.output_size == tuple(real.shape[2:])
    assert report.rows[6].flatten == "16 channels × 5 × 5 = 400"


def test_residual_blocks_and_functional_pooling() -> None:
    model = ResNet50(device="meta")
    report = trace(model, (2, 3, 224, 224))
    assert report.ok
    adds = [r for r in report.rows if r.op == "Tensor.add_"]
    assert len(adds) == 16  # one residual sum per bottleneck block
    assert adds[0].name == "layer1.0: x += y"
    assert adds[0].input_shapes == ((2, 256, 56, 56), (2, 256, 56, 56))
    names = [r.name for r in report.rows]
    assert "F.max_pool2d(x, 3, stride=2, padding=1)" in names
    assert "F.adaptive_avg_pool2d(x, 1)" in names
    assert report.rows[-2].op == "torch.flatten" and report.rows[-2].flatten == (
        "2048 channels × 1 × 1 = 2048")
    assert report.linear_in_features == {"fc": 2048}
    assert report.output_shape == (2, 1000)
    assert report.total_params == 25_557_032  # torchvision's resnet50 count


def test_shared_module_gets_a_row_per_call() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.conv(x)) + x

    report = trace(Twice(), (1, 4, 8, 8))
    assert [r.name for r in report.rows] == ["conv", "conv", "x + y"]


# ----------------------------------------------------------------------------- the view trap


def test_view_minus_one_batch_bug_is_flagged_with_the_fix() -> None:
    model = CifarNet(fc_in=1024, view="minus1").eval()
    with torch.no_grad():  # PyTorch itself: silently 4x the batch
        assert model(torch.zeros(2, 3, 32, 32)).shape == (8, 10)
    report = trace(model, (2, 3, 32, 32))
    assert not report.ok
    view_problem, linear_problem = report.problems
    assert view_problem.step == "x.view(-1, 1024)"
    assert "turns the batch of 2 into a batch of 8" in view_problem.message
    assert view_problem.fix.startswith("x = x.flatten(1)  # or x.view(x.size(0), -1)")
    assert linear_problem.fix.startswith("nn.Linear(4096, 1024)")
    assert report.output_shape == (2, 10)  # continued as if the batch were kept


def test_view_minus_one_that_does_not_divide_is_flagged_too() -> None:
    model = CifarNet(fc_in=1000, view="minus1")
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        model(torch.zeros(1, 3, 32, 32))
    report = trace(model, (1, 3, 32, 32))
    assert report.error is None
    assert "fails (shape '[-1, 1000]' is invalid" in report.problems[0].message
    assert report.linear_in_features["fc_layer.1"] == 4096


def test_view_minus_one_with_the_right_size_is_fine() -> None:
    report = trace(CifarNet(fc_in=4096, view="minus1"), (4, 3, 32, 32))
    assert report.ok


# ----------------------------------------------------------------------------- untouched model


def snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "params": [(n, p, None if isinstance(p, nn.UninitializedParameter) else
                    p.detach().clone(), p.requires_grad, p.device, p.dtype)
                   for n, p in model.named_parameters()],
        "buffers": [(n, b, None if isinstance(b, nn.UninitializedBuffer) else b.clone(),
                     b.device, b.dtype) for n, b in model.named_buffers()],
        "training": [(n, m.training) for n, m in model.named_modules()],
        "hooks": [(n, dict(m._forward_hooks), dict(m._forward_pre_hooks),
                   dict(m._forward_hooks_with_kwargs), dict(m._forward_pre_hooks_with_kwargs),
                   dict(m._forward_hooks_always_called), dict(m._backward_hooks),
                   m._forward_hooks, m._forward_pre_hooks)
                  for n, m in model.named_modules()],
        "classes": [(n, type(m)) for n, m in model.named_modules()],
        "dicts": [(n, list(m.__dict__), list(m._parameters), list(m._buffers))
                  for n, m in model.named_modules()],
    }


def assert_unchanged(model: nn.Module, before: dict[str, Any]) -> None:
    after = snapshot(model)
    for (n, p, v, rg, dev, dt), (n2, p2, _, rg2, dev2, dt2) in zip(before["params"],
                                                                   after["params"], strict=False):
        assert n == n2 and p is p2 and rg == rg2 and dev == dev2 and dt == dt2
        assert v is None or torch.equal(p2.detach(), v)
    assert len(before["params"]) == len(after["params"])
    for (n, b, v, dev, dt), (n2, b2, _, dev2, dt2) in zip(before["buffers"], after["buffers"],
                                                          strict=False):
        assert n == n2 and b is b2 and dev == dev2 and dt == dt2
        assert v is None or torch.equal(b2, v)
    assert before["training"] == after["training"]
    for h, h2 in zip(before["hooks"], after["hooks"], strict=False):
        assert h[:7] == h2[:7]
        assert h[7] is h2[7] and h[8] is h2[8]  # the same dict objects
    assert before["classes"] == after["classes"]
    assert before["dicts"] == after["dicts"]


def mixed_model() -> nn.Module:
    model = CifarNet(fc_in=1000, width=4)  # wrong Linear: the continuation path too
    model.train()
    model.conv_layer[1].eval()  # a mix of modes must come back exactly
    calls: list[str] = []
    model.conv_layer[0].register_forward_hook(lambda m, a, o: calls.append("user hook"))
    model.fc_layer.register_forward_pre_hook(lambda m, a: None)
    model.conv_layer[0].weight.requires_grad_(False)
    return model


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 3, 4, 4), (1, 3, 32)],
                         ids=["wrong-linear", "input-too-small", "bad-rank"])
def test_model_is_exactly_as_before(shape: tuple[int, ...]) -> None:
    model = mixed_model()
    before = snapshot(model)
    report = trace(model, shape)
    assert not report.ok
    assert_unchanged(model, before)


def test_model_in_double_precision_keeps_its_dtype_and_is_traced_in_it() -> None:
    model = LeNet().double()
    before = snapshot(model)
    report = trace(model, (1, 1, 32, 32), training=True)
    assert report.ok
    assert_unchanged(model, before)


def test_lazy_layers_are_not_materialized() -> None:
    model = nn.Sequential(nn.LazyConv2d(8, 3), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(),
                          nn.LazyLinear(10))
    before = snapshot(model)
    report = trace(model, (2, 3, 16, 16))
    assert report.ok
    assert report.linear_in_features == {"4": 8 * 14 * 14}
    assert report.output_shape == (2, 10)
    assert_unchanged(model, before)
    assert model[4].has_uninitialized_params() and type(model[4]) is nn.LazyLinear
    # PyTorch's own dry run agrees
    model(torch.zeros(2, 3, 16, 16))
    assert model[4].in_features == 8 * 14 * 14


def test_huge_conv3d_net_traces_without_allocating() -> None:
    # Linear(100000, 100000) would be 40 GB of real weights: build just that layer on meta.
    model = VideoNet(fc_in=100_000, fc_out=100_000, fc_device="meta")
    report = trace(model, (8, 1, 256, 256, 256))
    # conv s2 p1 k3: 256 -> 128; pool 2: 64; conv p1: 64; pool 2: 32 (checked at small size
    # against real torch in test_right_model_traces_clean_and_matches_pytorch[video-3d])
    assert report.linear_in_features == {"fc": 16 * 32 * 32 * 32}
    assert report.output_shape == (8, 100_000)
    assert report.problems[0].fix.startswith("nn.Linear(524288, 100000)")
    assert model.features[0].weight.device.type == "cpu"


def test_unbatched_conv_input() -> None:
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.Flatten(0), nn.Linear(4 * 8, 3))
    assert model(torch.zeros(2, 10)).shape == (3,)
    report = trace(model, (2, 10))
    assert report.ok and report.output_shape == (3,)


# ----------------------------------------------------------------------------- rendering


def test_plain_text_is_aligned_and_lists_problems() -> None:
    text = str(trace(CifarNet(fc_in=1024), (1, 3, 32, 32)))
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    table = lines[header:header + 27]
    col = table[0].index("input")
    for line in table[1:]:
        assert line[col - 2:col] == "  " and line[col] == "["
    assert "Linear in_features needed: fc_layer.1=4096" in text
    assert "nn.Linear(4096, 1024)  # 256 channels × 4 × 4 after conv_layer.17" in text
    assert re.search(r"^\*\d+\s+x\.view\(1, -1\)", text, re.M)


def test_html_table_highlights_flatten_and_fix() -> None:
    report = trace(CifarNet(fc_in=1024), (1, 3, 32, 32))
    page = report._repr_html_()
    assert '<tr class="cw-flatten">' in page
    assert "flatten: 256 channels × 4 × 4 = 4096" in page
    assert "needs in_features=4096" in page
    assert "<pre>nn.Linear(4096, 1024)  # 256 channels × 4 × 4 after conv_layer.17 " in page
    assert 'class="cw-answer"' in page


def test_html_escapes_names() -> None:
    class Weird(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.add_module("<b>", nn.Linear(3, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return getattr(self, "<b>")(x)

    page = trace(Weird(), (1, 4))._repr_html_()
    assert "&lt;b&gt;" in page and "<td><b></td>" not in page


# ----------------------------------------------------------------------------- input sizes


def real_flatten_shape(n: int) -> tuple[int, ...] | None:
    model = CifarNet(width=32).conv_layer  # same arithmetic, tiny channels
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, 3, 32, n)).shape)
    except RuntimeError:
        return None


def test_input_size_range_cifar_against_pytorch() -> None:
    r = trace(CifarNet(), (1, 3, 32, 32)).input_size_range(dim=-1)
    assert (r.low, r.high, r.shape, r.smallest) == (32, 39, (1, 256, 4, 4), 8)
    same = [n for n in range(20, 50) if real_flatten_shape(n) == (1, 8, 4, 4)]
    assert same == list(range(r.low, r.high + 1))
    assert real_flatten_shape(r.smallest) is not None
    assert real_flatten_shape(r.smallest - 1) is None
    assert "32..39" in str(r)


@pytest.mark.parametrize("size", [8, 9, 40, 100])
def test_input_size_range_is_an_interval_around_size(size: int) -> None:
    r = input_size_range(CifarNet(width=8), (1, 3, 32, size))
    assert r.low <= size <= r.high
    assert real_flatten_shape(r.low)[-1] == real_flatten_shape(r.high)[-1]  # type: ignore
    assert real_flatten_shape(r.low - 1) != real_flatten_shape(r.low)
    assert real_flatten_shape(r.high + 1) != real_flatten_shape(r.high)


def test_input_size_range_refuses_a_size_the_model_cannot_take() -> None:
    from convwidget import ShapeError

    with pytest.raises(ShapeError, match="does not accept input size 4"):
        input_size_range(CifarNet(), (1, 3, 32, 4))
    with pytest.raises(ValueError, match="dim=7 is outside the input shape"):
        input_size_range(CifarNet(), (1, 3, 32, 32), dim=7)


# ----------------------------------------------------------------------------- inputs, CLI

CIFAR_TEXT = """
self.conv_layer = nn.Sequential(
    nn.Conv2d(3, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
    nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
    nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
    nn.Conv2d(128, 128, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
    nn.Conv2d(128, 256, kernel_size=3, padding=1), nn.BatchNorm2d(256), nn.ReLU(inplace=True),
    nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
)
self.fc_layer = nn.Sequential(
    nn.Dropout(p=0.1),
    nn.Linear(1024, 1024),
)
"""


def test_pasted_text_is_traced_with_the_parser_notes() -> None:
    report = trace(CIFAR_TEXT, (1, 3, 32, 32))
    assert report.linear_in_features == {"fc_layer.1": 4096}
    assert any("inserted nn.Flatten()" in n for n in report.notes)
    assert report.problems[0].fix.startswith("nn.Linear(4096, 1024)  # 256 channels × 4 × 4")


@pytest.mark.parametrize("bad", [(1, 3, -2), (), "1,3", (1.5, 3), None])
def test_bad_input_shape_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="input_shape must be a sequence of non-negative"):
        trace(LeNet(), bad)


def test_not_a_model_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs a torch.nn.Module or pasted PyTorch text"):
        trace(42, (1, 3))  # type: ignore[arg-type]


def test_cli_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "model.txt"
    f.write_text(CIFAR_TEXT)
    assert main_trace([str(f), "--input", "1,3,32,32"]) == 1
    out = capsys.readouterr().out
    assert "fc_layer.1=4096" in out and "nn.Linear(4096, 1024)" in out
    f.write_text(CIFAR_TEXT.replace("nn.Linear(1024, 1024)", "nn.Linear(4096, 1024)"))
    assert main_trace([str(f), "--input", "1,3,32,32"]) == 0
    assert main_trace(["torch.nn:Identity", "--input", "2,5"]) == 0
    capsys.readouterr()
    assert main_trace([str(f), "--input", "1,3,32,32", "--sizes"]) == 0
    assert "input sizes 32..39 along dim 3 all give [1, 256, 4, 4] at the flatten step; " \
           "the smallest size the layers accept is 8" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["nowhere/model.txt", "--input", "1,3,32,32"], "cannot load a model from"),
    (["torch.nn:NoSuchLayer", "--input", "1,3"], "cannot load a model from"),
    (["torch.nn:Identity", "--input", "1,a3"], "--input must be the input shape"),
    (["torch.nn:Identity", "--input=-1,3"], "--input must be the input shape"),
])
def test_cli_bad_input_is_a_sentence_and_exit_2(argv: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main_trace(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_through_the_package_entry_point(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from convwidget.cli import main

    f = tmp_path / "model.txt"
    f.write_text(CIFAR_TEXT)
    assert main(["trace", str(f), "--input", "1,3,32,32"]) == 1
    assert "nn.Linear(4096, 1024)" in capsys.readouterr().out


def test_problem_str_and_report_types() -> None:
    report = trace(nn.Sequential(nn.Linear(3, 2)), (1, 4))
    assert isinstance(report, TraceReport)
    assert isinstance(report.problems[0], Problem)
    assert str(report.problems[0]).splitlines()[1] == "    nn.Linear(4, 2)"
    assert math.prod(report.output_shape or ()) == 2


class Wrapped(nn.Module):
    """The same layers behind a custom forward: forces the re-tracing path."""

    def __init__(self, seq: nn.Sequential) -> None:
        super().__init__()
        self.seq = seq

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


@pytest.mark.parametrize("build, shape", [
    (lambda: dilated_ceil_net(), (1, 3, 64, 64)),
    (lambda: dilated_ceil_net(), (1, 3, 57, 61)),
    (lambda: flatten2_head(), (1, 3, 32, 32)),
    (lambda: CifarNet().conv_layer, (1, 3, 32, 32)),
    (lambda: nn.Sequential(CifarNet().conv_layer, nn.Flatten(), nn.Linear(10, 2)), (1, 3, 33, 47)),
    (lambda: nn.Sequential(nn.Conv1d(1, 4, 9, stride=4), nn.MaxPool1d(3, ceil_mode=True),
                           nn.Flatten(), nn.Linear(7, 2)), (2, 1, 100)),
])
def test_size_range_fast_chain_path_agrees_with_tracing(build: Callable[[], nn.Module],
                                                        shape: tuple[int, ...]) -> None:
    seq = build()
    fast = input_size_range(seq, shape)
    slow = input_size_range(Wrapped(seq), shape)
    assert fast == slow


def test_module_list_and_dict_with_a_custom_forward() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1)
                                         for i in range(3)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(8, 5), "box": nn.Linear(8, 4)})

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            for block in self.blocks:
                x = F.relu(block(x))
            x = x.mean((2, 3))
            return {k: head(x) for k, head in self.heads.items()}

    model = Net()
    real = model(torch.zeros(2, 3, 16, 16))
    report = trace(model, (2, 3, 16, 16))
    assert report.ok
    assert [r.name for r in report.rows] == [
        "blocks.0", "F.relu(x)", "blocks.1", "F.relu(x)", "blocks.2", "F.relu(x)",
        "x.mean((2, 3))", "heads.cls", "heads.box"]
    assert report.output_shape == tuple(real["cls"].shape)
    assert report.linear_in_features == {"heads.cls": 8, "heads.box": 8}


@pytest.mark.parametrize("case", ["cifar-nonsquare", "resnet50", "audio-1d", "video-3d",
                                  "dilated-ceil-odd", "autoencoder"])
def test_conv_and_pool_rows_carry_the_core_derivation(case: str) -> None:
    build, shape = CASES[case]
    report = trace(build(first_fc(case)[1]), shape)
    explained = [r for r in report.rows if r.explanation is not None]
    assert explained
    for r in explained:
        assert r.explanation.output_size == r.output_shape[-len(r.explanation.dims):], r.name
        assert r.derivation


# ----------------------------------------------------------------------------- differential

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def layer_and_input(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, ...]]:
    nd = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
    sizes = tuple(draw(st.integers(1, 12)) for _ in range(nd))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    batched = draw(st.booleans())
    c = 2
    shape = ((2,) if batched else ()) + (c, *sizes)
    if kind == "conv":
        pad = draw(st.one_of(st.integers(0, 3), st.sampled_from(["same", "valid"])))
        if pad == "same":
            s = 1
        cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[nd - 1]
        layer = cls(c, 3, k, stride=s, padding=pad, dilation=d)
    elif kind == "conv_transpose":
        pad = draw(st.integers(0, 3))
        op = draw(st.integers(0, 2))
        cls = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[nd - 1]
        layer = cls(c, 3, k, stride=s, padding=pad, output_padding=op, dilation=d)
    elif kind == "max_pool":
        cls = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)[nd - 1]
        layer = cls(k, stride=s, padding=draw(st.integers(0, 3)), dilation=d,
                    ceil_mode=draw(st.booleans()))
    else:
        cls = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[nd - 1]
        layer = cls(k, stride=s, padding=draw(st.integers(0, 3)),
                    ceil_mode=draw(st.booleans()))
    return layer, shape


class Functional(nn.Module):
    """The same layer called through torch.nn.functional inside a custom forward."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.layer
        if isinstance(m, nn.modules.conv._ConvNd):
            return m._conv_forward(x, m.weight, m.bias) if not m.transposed else m(x)
        nd = int(type(m).__name__[-2])
        if isinstance(m, nn.modules.pooling._MaxPoolNd):
            f = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
            return f(x, m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode)
        f = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        return f(x, m.kernel_size, m.stride, m.padding, m.ceil_mode)


def _real_shape(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The output shape of a real forward on zeros, or None where PyTorch refuses."""
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(shape)).shape)
    except RuntimeError:
        return None


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@settings(max_examples=300, deadline=None)
@given(layer_and_input(), st.booleans())
def test_trace_agrees_with_pytorch_on_random_layers(case: tuple[nn.Module, tuple[int, ...]],
                                                    functional: bool) -> None:
    layer, shape = case
    model = Functional(layer) if functional else nn.Sequential(layer)
    real = _real_shape(model, shape)
    report = trace(model, shape)
    if real is None:
        assert report.error is not None, (layer, shape, report.output_shape)
    else:
        assert report.error is None, (layer, shape, report.error)
        assert report.output_shape == real, (layer, shape)


def test_a_trace_imports_neither_sympy_nor_dynamo() -> None:
    """The cold start: PyTorch's meta kernels for conv/pool import sympy (~1 s) and some
    decompositions torch._dynamo (~1 s); the tracer's own shape rules avoid both."""
    import subprocess

    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from models import CifarNet, ResNet50, VGG, LeNet, AudioNet\n"
        "from convwidget.tracer import trace\n"
        "for m, s in [(CifarNet(1024), (1, 3, 32, 32)), (ResNet50(device='meta'), "
        "(2, 3, 224, 224)), (VGG(device='meta'), (2, 3, 224, 224)), (LeNet(), (1, 1, 32, 32)),"
        " (AudioNet(), (1, 1, 8000))]:\n"
        "    trace(m, s)\n"
        "print(sorted(k for k in ('sympy', 'torch._dynamo') if k in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, check=True)
    assert out.stdout.strip() == "[]"


def test_embedding_lstm_model_gets_token_ids() -> None:
    class TextNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(100, 16)
            self.lstm = nn.LSTM(16, 32, batch_first=True)
            self.fc = nn.Linear(64, 5)  # wrong: the LSTM gives 32

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(self.emb(x))
            return self.fc(out[:, -1])

    report = trace(TextNet(), (2, 10))
    assert report.error is None
    assert report.linear_in_features == {"fc": 32}
    assert [r.output_shape for r in report.rows] == [(2, 10, 16), (2, 10, 32), (2, 32), (2, 5)]


def test_size_range_with_adaptive_pooling_is_every_accepted_size() -> None:
    r = input_size_range(VGG(device="meta"), (1, 3, 224, 224))
    assert (r.low, r.high, r.shape, r.smallest) == (32, 1 << 14, (1, 512, 7, 7), 32)
    small = VGG(width=16).features.eval()
    with torch.no_grad():
        assert small(torch.zeros(1, 3, 224, 32)).shape[-1] == 1
        with pytest.raises(RuntimeError, match="too small"):
            small(torch.zeros(1, 3, 224, 31))


def _scripted_inside() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), torch.jit.script(nn.ReLU()), nn.Flatten())


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
@pytest.mark.parametrize("build, shape, where", [
    (lambda: torch.jit.script(LeNet()), (1, 1, 32, 32), "the model is a RecursiveScriptModule"),
    (lambda: torch.jit.trace(nn.Linear(4, 2), torch.zeros(1, 4)), (1, 4),
     "the model is a TopLevelTracedModule"),
    (_scripted_inside, (1, 3, 32, 32), "its submodule '1' is a RecursiveScriptModule"),
])
def test_torchscript_is_refused_with_a_sentence(build: Callable[[], nn.Module], shape: tuple[int, ...],
                                                where: str) -> None:
    model = build()
    # PyTorch's reasons: a scripted module takes no hooks, a jitted one no functional_call
    with pytest.raises(RuntimeError, match="not supported on ScriptModules|used with Jitted modules"):
        for m in model.modules():
            m.register_forward_pre_hook(lambda *a: None).remove()
        torch.func.functional_call(model, {}, (torch.zeros(shape),))
    with pytest.raises(ValueError, match=rf"cannot follow TorchScript: {where}.*trace the nn.Module"):
        trace(model, shape)


@pytest.mark.parametrize("shape, what", [
    ((1, 3, 2**40, 2**40), r"1 × 3 × 1099511627776 × 1099511627776 = 3,626,777,458,843,887,524,118,528 el"),
    ((2**70,), r"1,180,591,620,717,411,303,424 along dim 0"),
    ((0, 3, 2**70), r"along dim 2"),
    ((0, 3_036_988_439, 3_037_012_561), r"nonzero sizes 3036988439 × 3037012561 = "
                                        r"9,223,372,036,854,782,279 \(its strides\)"),
])
def test_huge_input_is_refused_before_anything_is_allocated(shape: tuple[int, ...], what: str) -> None:
    # PyTorch itself fails on such a meta tensor (a size overflow, or an int64 it cannot hold)
    with pytest.raises((RuntimeError, TypeError), match="overflow|Overflow"):
        torch.empty(shape, device="meta")
    with pytest.raises(ValueError, match=rf"{what}.*2\*\*48 = 281,474,976,710,656 elements a trace"):
        trace(CifarNet(), shape)


def test_the_trace_budget_is_2_to_the_48_elements() -> None:
    from convwidget.tracer.tracing import MAX_ELEMENTS

    assert MAX_ELEMENTS == 2**48
    report = trace(nn.Sequential(nn.Linear(2, 3)), (2**47, 2))
    assert report.ok and report.output_shape == (2**47, 3)
    assert tuple(nn.Linear(2, 3, device="meta")(torch.empty(2**47, 2, device="meta")).shape) == (2**47, 3)
    with pytest.raises(ValueError, match=r"16777216 × 16777216 × 2 = 562,949,953,421,312 elements"):
        trace(nn.Sequential(nn.Linear(2, 3)), (2**24, 2**24, 2))


def test_numpy_and_whole_float_sizes_are_accepted_and_huge_ints_measured() -> None:
    np = pytest.importorskip("numpy")
    report = trace(LeNet(), (np.int64(2), 1, 32.0, np.int32(32)))
    assert report.input_shape == (2, 1, 32, 32) and report.ok
    with pytest.raises(ValueError, match="input_shape must be a sequence of non-negative"):
        trace(LeNet(), "1,3")
    with pytest.raises(ValueError, match=r"999,999,999,999,999,999,999,999,999,999 along dim 2, more than"):
        trace(LeNet(), (1, 1, 10**30 - 1, 32))


@pytest.mark.parametrize("options, message", [
    ({"training": "no"}, "training must be True or False, got 'no'"),
    ({"training": None}, "training must be True or False, got None"),
    ({"explain": 1}, "explain must be True or False, got 1"),
    ({"dtype": "float32"}, "dtype must be a torch dtype such as torch.float32"),
    ({"dtype": float}, "dtype must be a torch dtype"),
])
def test_bad_options_are_type_errors_with_a_sentence(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        trace(LeNet(), (1, 1, 32, 32), **options)
    if "explain" not in options:
        with pytest.raises(TypeError, match=re.escape(message)):
            input_size_range(LeNet(), (1, 1, 32, 32), **options)


@pytest.mark.parametrize("options, error, message", [
    ({"dim": "-1"}, TypeError, "dim must be a whole number (which input dimension to vary), got '-1'"),
    ({"dim": 1.0}, TypeError, "dim must be a whole number"),
    ({"dim": 4}, ValueError, "dim=4 is outside the input shape [1, 1, 32, 32]"),
    ({"limit": 0}, ValueError, "limit must be a whole number of at least 1 (the largest size to try)"),
    ({"limit": 2.5}, ValueError, "limit must be a whole number of at least 1"),
])
def test_bad_size_range_arguments_are_sentences(options: dict[str, Any], error: type[Exception],
                                                message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        input_size_range(LeNet(), (1, 1, 32, 32), **options)


# ----------------------------------------------------------------- issue 9: the batch, inputs, limits


def _real_linear_inputs(model: nn.Module, *args: torch.Tensor, **kwargs: torch.Tensor) -> dict[str, int]:
    """The in_features each Linear receives in a real forward (forward pre-hooks)."""
    seen: dict[str, int] = {}
    names = {id(m): n for n, m in model.named_modules()}

    def pre(m: nn.Module, args: tuple[Any, ...]) -> None:
        seen.setdefault(names[id(m)], args[0].shape[-1])

    handles = [m.register_forward_pre_hook(pre) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model.eval()(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return seen


class _TwoInputs(nn.Module):
    """An image and a vector of metadata, an optional keyword mask: features concatenated."""

    def __init__(self, fc_in: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.fc = nn.Linear(fc_in, 2)

    def forward(self, x: torch.Tensor, meta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv(x)
        if mask is not None:
            x = x * mask
        return self.fc(torch.cat([x.flatten(1), meta], 1))


def test_several_inputs_and_keyword_inputs_against_a_real_forward() -> None:
    lazy = _TwoInputs(1)
    lazy.fc = nn.LazyLinear(2)
    x, meta, mask = torch.zeros(2, 3, 17, 15), torch.zeros(2, 5), torch.ones(2, 1, 8, 7)
    need = _real_linear_inputs(lazy, x, meta, mask=mask)["fc"]
    right = trace(_TwoInputs(need), [(2, 3, 17, 15), (2, 5)], inputs={"mask": (2, 1, 8, 7)})
    assert right.ok and right.linear_in_features == {"fc": need}, str(right)
    assert right.output_shape == tuple(_TwoInputs(need).eval()(x, meta, mask=mask).shape)
    assert "inputs: [2, 3, 17, 15] & [2, 5] & mask=[2, 1, 8, 7]" in right.notes
    wrong = trace(_TwoInputs(need + 3), [(2, 3, 17, 15), (2, 5)])
    assert [p.step for p in wrong.problems] == ["fc"]
    assert wrong.problems[0].fix.startswith(f"nn.Linear({need}, ")
    keyword_only = trace(_TwoInputs(need), inputs={"x": (2, 3, 17, 15), "meta": (2, 5)})
    assert keyword_only.ok and keyword_only.input_shape == (2, 3, 17, 15)


def test_a_missing_input_says_how_to_give_it() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'meta'"):
        _TwoInputs(10)(torch.zeros(1, 3, 8, 8))
    report = trace(_TwoInputs(10), (1, 3, 8, 8))
    assert report.error is not None and "missing 1 required positional argument: 'meta'" in report.error
    assert "trace(model, [shape_a, shape_b])" in report.error


def test_keyword_inputs_must_be_a_dict_of_shapes() -> None:
    with pytest.raises(TypeError, match="inputs must be a dict of keyword input shapes"):
        trace(_TwoInputs(10), (1, 3, 8, 8), inputs=[(1, 5)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="input_shape must be a sequence of non-negative whole numbers"):
        trace(_TwoInputs(10), (1, 3, 8, 8), inputs={"meta": (1, -5)})


class _Detector(nn.Module):
    """Detection-style post-processing: boxes kept by a score threshold (data-dependent)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.fc = nn.Linear(6, 4)
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.how == "mask":
            x = x.permute(0, 2, 3, 1)[x[:, 0] > 0]
        elif self.how == "nonzero":
            x = x.flatten(2)[:, :, torch.nonzero(x[0, 0].flatten() > 0).flatten()].mean(-1)
        elif self.how == "if" and x.mean() > 0:
            x = x * 2
        elif self.how == "item":
            x = x[:, :, : int(x.max().item())].mean((2, 3))
        return self.fc(x.mean((2, 3)) if x.dim() == 4 else x)


@pytest.mark.parametrize(("how", "step"), [("mask", "x[…]"), ("nonzero", "torch.nonzero(x)"),
                                           ("if", "x.__bool__()"), ("item", "x.item()")])
def test_a_data_dependent_step_stops_the_trace_with_a_sentence(how: str, step: str) -> None:
    model = _Detector(how)
    with torch.no_grad():
        model(torch.randn(2, 3, 8, 8))  # PyTorch runs it on real data
    report = trace(model, (2, 3, 8, 8))
    assert report.error is not None and report.problems[-1].step == step, str(report)
    assert f"{step} needs the values in a tensor" in report.error
    assert "meta!" not in report.error and "register_meta" not in report.error
    assert report.rows[0].name == "conv" and report.rows[0].output_shape == (2, 6, 6, 6)


def test_a_tensor_made_on_the_cpu_in_forward_is_traced_as_a_stand_in() -> None:
    class Pad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(x)
            return torch.cat([x, torch.zeros(x.shape[0], 2, *x.shape[2:])], 1)

    real = Pad()(torch.zeros(2, 3, 8, 8))
    report = trace(Pad(), (2, 3, 8, 8))
    assert report.ok and report.output_shape == tuple(real.shape), str(report)


@pytest.mark.parametrize(("flatten", "what"), [
    (lambda x: x.squeeze(), "drops the batch"),
    (lambda x: x.view(1, -1), "merges the batch"),
    (lambda x: torch.flatten(x), "merges the batch"),
])
def test_losing_the_batch_is_reported_at_batch_1(flatten: Callable[[torch.Tensor], torch.Tensor],
                                                  what: str) -> None:
    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 4)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(flatten(self.pool(self.conv(x))))

    with torch.no_grad():  # runs at batch 1, but PyTorch loses the batch there or at batch 2
        one = Head()(torch.zeros(1, 3, 8, 8))
        try:
            two = Head()(torch.zeros(2, 3, 8, 8))
            kept = one.shape == (1, 2) and two.shape == (2, 2)
        except RuntimeError as err:
            kept = "mat1 and mat2" not in str(err)
        assert not kept
    report = trace(Head(), (1, 3, 8, 8))
    assert report.linear_in_features == {"fc": 8}
    assert len(report.problems) == 1 and what in report.problems[0].message, str(report)
    assert "batch" in report.problems[0].message and "flatten(1)" in report.problems[0].fix


def test_a_size_that_only_equals_the_batch_is_no_alarm() -> None:
    class Eye(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(9, 9)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x.flatten(1)) + torch.eye(3).view(1, 9)

    for batch in (1, 3, 9):
        report = trace(Eye(), (batch, 3, 3))
        assert report.ok and report.output_shape == (batch, 9), str(report)


def test_channels_last_input_gets_a_permute_not_a_new_in_channels() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from zoo import ZOO, build_right

    entry = ZOO["channels_last_input"]
    model = build_right(entry, entry.shape)
    assert trace(model, (2, *entry.shape)).ok  # the zoo's model permutes itself
    body = nn.Sequential(model.body, nn.Flatten(), model.fc)  # the same layers without it
    with pytest.raises(RuntimeError, match="expected input.* to have 3 channels"):
        body(torch.zeros(2, *entry.shape))
    report = trace(body, (2, *entry.shape))
    (problem,) = report.problems
    assert problem.fix.startswith("x = x.permute(0, 3, 1, 2)") and "channels" in problem.message
    permuted = body(torch.zeros(2, *entry.shape).permute(0, 3, 1, 2))
    assert report.output_shape == tuple(permuted.shape)


@pytest.mark.parametrize(("build", "shape"), [
    (lambda: nn.LSTM(16, 16, bidirectional=True), (5, 2, 16)),
    (lambda: nn.GRU(16, 8, num_layers=2, batch_first=True), (2, 5, 16)),
    (lambda: nn.LSTM(16, 8, proj_size=4, batch_first=True, num_layers=3), (3, 7, 16)),
    (lambda: nn.RNN(16, 8, nonlinearity="relu"), (7, 16)),
    (lambda: nn.LSTM(16, 8), (7, 16)),
], ids=["bi-lstm", "gru-2-layers", "lstm-proj", "rnn-unbatched", "lstm-unbatched"])
def test_recurrent_layers_are_answered_by_their_shape_rule(build: Callable[[], nn.Module],
                                                           shape: tuple[int, ...]) -> None:
    class Wrapper(nn.Module):  # every output of the layer, by shape
        def __init__(self) -> None:
            super().__init__()
            self.rnn = build()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, state = self.rnn(x)
            states = state if isinstance(state, tuple) else (state,)
            return torch.cat([t.flatten() for t in (out, *states)])

    model = Wrapper()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LSTM with projections: oneDNN's UserWarning
        real = model(torch.zeros(shape))
    report = trace(model, shape)
    assert report.error is None and report.output_shape == tuple(real.shape), str(report)


@pytest.mark.parametrize("shape", [(1, 3, 7, 9), (2, 4, 5), (1, 2, 3, 5, 6)])
@pytest.mark.parametrize("how", [{"scale_factor": 2}, {"scale_factor": 1.7}, {"scale_factor": 0.5},
                                 {"size": 11}, {"scale_factor": 1.5, "recompute_scale_factor": True}])
@pytest.mark.parametrize("mode", ["linear", "nearest"])
def test_interpolate_shape_rule_agrees_with_pytorch(shape: tuple[int, ...], how: dict[str, Any],
                                                    mode: str) -> None:
    nd = len(shape) - 2
    options = {**how, "mode": {1: "linear", 2: "bilinear", 3: "trilinear"}[nd] if mode == "linear" else mode}

    class Up(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, **options)

    real = Up()(torch.zeros(shape))
    report = trace(Up(), shape)
    assert report.output_shape == tuple(real.shape), str(report)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kdim", [None, 6])
@pytest.mark.parametrize(("need", "average"), [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("batched", [True, False])
def test_multihead_attention_shape_rule_agrees_with_pytorch(batch_first: bool, kdim: int | None, need: bool,
                                                            average: bool, batched: bool) -> None:
    class Attend(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first, kdim=kdim, vdim=kdim)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            out, weights = self.attn(x, y, y, need_weights=need, average_attn_weights=average)
            return out if weights is None else torch.cat([out.flatten(), weights.flatten()])

    def shape(length: int, e: int) -> tuple[int, ...]:
        return ((3, length, e) if batch_first else (length, 3, e)) if batched else (length, e)

    x, y = shape(5, 8), shape(7, kdim or 8)
    real = Attend()(torch.zeros(x), torch.zeros(y))
    report = trace(Attend(), [x, y])
    assert report.error is None and report.output_shape == tuple(real.shape), str(report)


def test_every_fix_for_a_paste_without_forward_says_the_order_is_assumed() -> None:
    text = (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3)\n"
        "        self.pool = nn.MaxPool2d(2)\n"
        "        self.fc = nn.Linear(100, 10)\n"
    )
    real = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten())
    features = real(torch.zeros(1, 3, 32, 32)).shape[1]
    report = trace(text, (1, 3, 32, 32))
    assert report.problems and all("run once each, in the order written" in p.message
                                   for p in report.problems)
    assert f"nn.Linear({features}, 10)" in report.problems[0].fix
    with_forward = text + (
        "    def forward(self, x):\n        return self.fc(self.pool(self.conv(x)).flatten(1))\n")
    hedged = [p for p in trace(with_forward, (1, 3, 32, 32)).problems if "order written" in p.message]
    assert not hedged


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_an_empty_transposed_output_is_traced_as_torch_gives_it(batch: int, groups: int,
                                                                nd: int) -> None:
    """torch returns an empty tensor for a transposed convolution whose output size is 0 on
    its oneDNN path and refuses it on the other; trace says the same as the real layer."""
    conv = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[nd - 1]
    for kernel, padding, size in [(3, 2, 2), (4, 2, 1), (5, 3, 2), (2, 1, 1)]:
        model = nn.Sequential(conv(2, 2, kernel, padding=padding, groups=groups))
        shape = (batch, 2, *(size,) * nd)
        real = _real_shape(model, shape)
        report = trace(model, shape)
        assert report.output_shape == real, (kernel, padding, size, report.error)
        assert (report.error is None) == (real is not None)
