"""The named corner rules of issue 2, each a table: convwidget refuses with a
sentence that carries the user's numbers, and real PyTorch refuses the same
configuration (so the table is PyTorch's rule, not our opinion).

Every row names: what convwidget is asked (a per-dimension function, or
``output_shape`` of a real layer on an input shape), a regex the learner
sentence must match (the numbers), and the torch layer/input that must fail, with
a fragment of torch's own message.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from convwidget import (  # noqa: E402
    ShapeError,
    conv_output_size,
    conv_transpose_output_size,
    explain,
    output_shape,
    pool_output_size,
    same_padding,
)


def has(*parts: str) -> str:
    """A regex matching a message that contains every part, in any order."""
    return "(?s)^" + "".join(f"(?=.*{p})" for p in parts)


def n(value: int) -> str:
    """A regex for a number standing alone (7 but not 17 or 70)."""
    return rf"(?<![\d.]){value}(?![\d.])"


@dataclass(frozen=True)
class Row:
    id: str
    make: Callable[[], Any]  # builds the torch layer (may itself be what torch refuses)
    shape: tuple[int, ...] | None  # input shape; None when the constructor refuses
    match: str  # regex on convwidget's ShapeError message
    torch_match: str  # regex on torch's own refusal
    ours: Callable[[], Any] | None = None  # convwidget call when there is no layer


def _torch_refusal(row: Row) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = row.make()
        layer(torch.zeros(row.shape))


def _ours(row: Row) -> Any:
    if row.ours is not None:
        return row.ours()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = row.make()
    return output_shape(layer, row.shape)


def _mutated_groups() -> Any:
    # torch's constructor refuses groups that do not divide the channels, so the
    # only layer that carries such groups is one whose attribute was changed.
    layer = nn.Conv2d(4, 6, 3, groups=2)
    layer.groups = 4
    return layer


ROWS: dict[str, list[Row]] = {
    "kernel span larger than the padded input": [
        Row("issue example, per-dim", lambda: nn.Conv1d(1, 1, 4, padding=1, dilation=2),
            (1, 1, 3), has("kernel spans 7 cells", n(4), n(2), "padded input has 5", n(3), n(1)),
            "Kernel size can't be greater than actual input size",
            ours=lambda: conv_output_size(3, 4, padding=1, dilation=2)),
        Row("issue example, layer", lambda: nn.Conv1d(1, 1, 4, padding=1, dilation=2),
            (1, 1, 3), has("kernel spans 7 cells", "padded input has 5"),
            "Kernel size can't be greater than actual input size"),
        Row("2-d, height only", lambda: nn.Conv2d(1, 1, 5), (1, 1, 4, 8),
            has("spans 5 cells", "has 4"), "Kernel size can't be greater"),
        Row("3-d, dilated width", lambda: nn.Conv3d(1, 1, (1, 3, 3), dilation=(1, 1, 2)),
            (1, 1, 4, 8, 4), has("spans 5 cells", "has 4"), "Kernel size can't be greater"),
        Row("kernel 2 on 1 cell", lambda: nn.Conv1d(1, 1, 2), (1, 1, 1),
            has("spans 2 cells", "has 1"), "Kernel size can't be greater",
            ours=lambda: conv_output_size(1, 2)),
        Row("'valid' is no padding", lambda: nn.Conv1d(1, 1, 3, padding="valid", dilation=2),
            (1, 1, 4), has("spans 5 cells", "has 4"), "Kernel size can't be greater",
            ours=lambda: conv_output_size(4, 3, padding="valid", dilation=2)),
        Row("unbatched 2-d", lambda: nn.Conv2d(2, 1, 3), (2, 2, 9),
            has("spans 3 cells", "has 2"), "Kernel size can't be greater"),
    ],
    "pooling padding above half the kernel": [
        Row("max 1-d", lambda: nn.MaxPool1d(3, padding=2), (1, 1, 10),
            has("padding=2", n(3), n(1)), "padding should be at most half of kernel size",
            ours=lambda: pool_output_size(10, 3, padding=2)),
        Row("max 2-d even kernel", lambda: nn.MaxPool2d(2, padding=2), (1, 1, 8, 8),
            has("padding=2", n(2), n(1)), "half of effective kernel size"),
        Row("avg 1-d", lambda: nn.AvgPool1d(4, padding=3), (1, 1, 8),
            has("padding=3", n(4), n(2)), "half of effective kernel size"),
        # dilation does not buy more padding: Pool.h checks kernel_size / 2 too
        Row("dilation 3 does not allow padding 1 on kernel 1",
            lambda: nn.MaxPool2d(1, padding=1, dilation=3), (1, 1, 10, 10),
            has("padding=1", n(0)), "half of effective kernel size",
            ours=lambda: pool_output_size(10, 1, padding=1, dilation=3)),
        Row("dilated max 1-d", lambda: nn.MaxPool1d(3, padding=2, dilation=2), (1, 1, 12),
            has("padding=2", n(3), n(1)), "at most half of kernel size",
            ours=lambda: pool_output_size(12, 3, padding=2, dilation=2)),
        Row("avg 3-d, one dim", lambda: nn.AvgPool3d(3, padding=(0, 2, 0)), (1, 1, 6, 6, 6),
            has("padding=2", n(3), n(1)), "half of effective kernel size"),
    ],
    "output size below 1": [
        Row("max pool window larger than input", lambda: nn.MaxPool1d(3), (1, 1, 2),
            has(n(0), n(3), n(2)), "Invalid computed output size: 0",
            ours=lambda: pool_output_size(2, 3)),
        Row("avg pool, height", lambda: nn.AvgPool2d(3), (1, 1, 2, 5),
            has(n(0), n(3), n(2)), "Output size is too small"),
        Row("ceil_mode does not rescue it", lambda: nn.MaxPool1d(3, stride=1, ceil_mode=True),
            (1, 1, 1), has(n(-1), n(3), n(1)), "Invalid computed output size: -1",
            ours=lambda: pool_output_size(1, 3, stride=1, ceil_mode=True)),
        Row("transposed: padding eats everything", lambda: nn.ConvTranspose1d(1, 1, 1, padding=1),
            (1, 1, 1), has(n(-1), "padding 1"), "Output size is too small",
            ours=lambda: conv_transpose_output_size(1, 1, padding=1)),
        Row("transposed: exactly 0", lambda: nn.ConvTranspose1d(1, 1, 3, padding=2), (1, 1, 2),
            has(n(0), n(4), "padding 2"), "Output size is too small",
            ours=lambda: conv_transpose_output_size(2, 3, padding=2)),
        Row("upsample to 0 cells", lambda: nn.Upsample(scale_factor=0.5), (1, 1, 1),
            has(n(1), n(0)), "output sizes should be greater than 0"),
    ],
    "output_padding not smaller than stride or dilation": [
        Row("op 2, stride 2", lambda: nn.ConvTranspose1d(1, 1, 3, stride=2, output_padding=2),
            (1, 1, 4), has("output_padding=2", r"stride \(?2", r"dilation \(?1"),
            "output padding must be smaller than either stride or dilation",
            ours=lambda: conv_transpose_output_size(4, 3, stride=2, output_padding=2)),
        Row("op 1, stride 1", lambda: nn.ConvTranspose1d(1, 1, 3, output_padding=1), (1, 1, 4),
            has("output_padding=1", r"stride \(?1", r"dilation \(?1"),
            "output padding must be smaller",
            ours=lambda: conv_transpose_output_size(4, 3, output_padding=1)),
        Row("op 3, stride 2, dilation 3",
            lambda: nn.ConvTranspose1d(1, 1, 3, stride=2, dilation=3, output_padding=3),
            (1, 1, 4), has("output_padding=3", r"stride \(?2", r"dilation \(?3"),
            "output padding must be smaller",
            ours=lambda: conv_transpose_output_size(4, 3, stride=2, output_padding=3,
                                                    dilation=3)),
        Row("2-d, the unit-stride width",
            lambda: nn.ConvTranspose2d(1, 1, 3, stride=(2, 1), output_padding=1),
            (1, 1, 4, 4), has("output_padding=1", r"stride \(?1"),
            "output padding must be smaller"),
    ],
    "groups not dividing the channels": [
        Row("mutated groups=4 for 6 output channels", _mutated_groups, (1, 4, 5, 5),
            has("group", n(4), n(6)), "divisible by 4"),
    ],
    "input channel mismatch": [
        Row("conv2d", lambda: nn.Conv2d(3, 8, 3), (1, 4, 8, 8),
            has(n(3), n(4), "channel"), "to have 3 channels, but got 4"),
        Row("conv2d groups", lambda: nn.Conv2d(4, 4, 3, groups=2), (1, 2, 5, 5),
            has(n(4), n(2), "channel"), "to have 4 channels, but got 2"),
        Row("unbatched conv1d", lambda: nn.Conv1d(3, 8, 3), (4, 10),
            has(n(3), n(4), "channel"), "to have 3 channels, but got 4"),
        Row("transposed", lambda: nn.ConvTranspose2d(3, 2, 3), (1, 2, 5, 5),
            has(n(3), n(2), "channel"), "to have 3 channels, but got 2"),
        Row("linear features", lambda: nn.Linear(5, 3), (2, 4),
            has(n(5), n(4)), "cannot be multiplied"),
        Row("batchnorm", lambda: nn.BatchNorm2d(3), (1, 4, 5, 5),
            has(n(3), n(4), "channel"), "should contain 4 elements not 3"),
        Row("groupnorm", lambda: nn.GroupNorm(2, 4), (1, 6, 3),
            has(n(4), n(6), "channel"), "number of channels in input"),
        Row("layernorm", lambda: nn.LayerNorm((4,)), (2, 5),
            has(n(4), n(5)), "expected input with shape"),
    ],
    "'same' with a stride above 1": [
        Row("1-d stride 2", lambda: nn.Conv1d(1, 1, 3, stride=2, padding="same"), None,
            has("'same'", "stride=2"), "not supported for strided convolutions",
            ours=lambda: conv_output_size(10, 3, stride=2, padding="same")),
        Row("dilated stride 3", lambda: nn.Conv2d(1, 1, 4, stride=(1, 3), padding="same",
                                                  dilation=2), None,
            has("'same'", "stride=3"), "not supported for strided convolutions",
            ours=lambda: conv_output_size(10, 4, stride=3, padding="same", dilation=2)),
        Row("explain() carries it", lambda: nn.Conv1d(1, 1, 3, stride=2, padding="same"),
            None, has("'same'", "stride=2"), "not supported for strided convolutions",
            ours=lambda: _raise_explained(10, 3, stride=2, padding="same")),
    ],
    "reflect padding not smaller than the input": [
        Row("1-d", lambda: nn.Conv1d(1, 1, 3, padding=2, padding_mode="reflect"), (1, 1, 2),
            has("reflect", n(2)), "Padding size should be less than the corresponding input"),
        Row("2-d width", lambda: nn.Conv2d(1, 1, 3, padding=(1, 3), padding_mode="reflect"),
            (1, 1, 8, 3), has("reflect", n(3)), "Padding size should be less than"),
        Row("'same' pads the right side more",
            lambda: nn.Conv2d(1, 1, 4, padding="same", padding_mode="reflect"), (1, 1, 2, 2),
            has("reflect", n(2)), "Padding size should be less than"),
        Row("one cell", lambda: nn.Conv1d(1, 1, 2, padding=1, padding_mode="reflect"),
            (1, 1, 1), has("reflect", n(1)), "Padding size should be less than"),
    ],
    "circular padding wrapping more than once": [
        Row("1-d", lambda: nn.Conv1d(1, 1, 5, padding=3, padding_mode="circular"), (1, 1, 2),
            has("circular", n(3), n(2)), "wrapping around more than once"),
        Row("3-d width", lambda: nn.Conv3d(1, 1, 3, padding=(1, 1, 4), padding_mode="circular"),
            (1, 1, 4, 4, 3), has("circular", n(4), n(3)), "wrapping around more than once"),
    ],
    "AvgPool3d's input-versus-kernel rule": [
        Row("padding does not help", lambda: nn.AvgPool3d(3, padding=1), (1, 1, 2, 5, 5),
            has(n(2), n(3)), "smaller than kernel size"),
        Row("ceil_mode does not help", lambda: nn.AvgPool3d(3, stride=3, ceil_mode=True),
            (1, 1, 2, 2, 2), has(n(2), n(3)), "smaller than kernel size"),
        Row("LPPool3d is an avg_pool3d", lambda: nn.LPPool3d(2, 3, stride=3, ceil_mode=True),
            (1, 1, 2, 2, 2), has(n(2), n(3)), "smaller than kernel size"),
        Row("unbatched", lambda: nn.AvgPool3d((1, 1, 4), padding=(0, 0, 2)), (1, 3, 3, 3),
            has(n(3), n(4)), "smaller than kernel size"),
    ],
    "wrong number of dims": [
        Row("conv1d on 4-d", lambda: nn.Conv1d(1, 1, 3), (1, 1, 1, 5),
            has("4-D|4 dim"), "Expected 2D \\(unbatched\\) or 3D \\(batched\\) input"),
        Row("conv2d on 1-d", lambda: nn.Conv2d(1, 1, 3), (5,),
            has("1-D|1 dim"), "Expected 3D \\(unbatched\\) or 4D \\(batched\\) input"),
        Row("conv_transpose3d on 3-d", lambda: nn.ConvTranspose3d(1, 1, 3), (1, 5, 5),
            has("3-D|3 dim"), "Expected 4D \\(unbatched\\) or 5D \\(batched\\) input"),
        Row("maxpool2d on 2-d", lambda: nn.MaxPool2d(2), (5, 5),
            has("2-D|2 dim"), "3D or 4D"),
        Row("avgpool1d on 1-d", lambda: nn.AvgPool1d(2), (5,),
            has("1-D|1 dim"), "Expected 2 to 3 dimensions"),
        Row("batchnorm2d on 3-d", lambda: nn.BatchNorm2d(3), (1, 3, 5),
            has("3-D|3 dim"), "expected 4D input"),
        Row("flatten on 1-d", lambda: nn.Flatten(), (3,),
            has("start_dim=1|1-D"), "Dimension out of range"),
        Row("pixel shuffle on 2-d", lambda: nn.PixelShuffle(2), (4, 3),
            has("3-D|3 dim", r"\(4, 3\)"), "at least 3 dimensions"),
        Row("adaptive max pool 2d on 2-d", lambda: nn.AdaptiveMaxPool2d(2), (4, 4),
            has("2-D|2 dim"), "3D or 4D"),
    ],
}


def _raise_explained(*args: Any, **kwargs: Any) -> None:
    """explain() never raises: turn its carried error into the exception under test."""
    exp = explain(*args, **kwargs)
    assert not exp.ok and exp.output_size is None
    raise ShapeError(exp.error)


PARAMS = [
    pytest.param(row, id=f"{rule}: {row.id}") for rule, rows in ROWS.items() for row in rows
]


@pytest.mark.parametrize("row", PARAMS)
def test_convwidget_refuses_with_the_numbers(row: Row) -> None:
    with pytest.raises(ShapeError, match=row.match):
        _ours(row)


@pytest.mark.parametrize("row", PARAMS)
def test_torch_refuses_it_too(row: Row) -> None:
    with pytest.raises((RuntimeError, ValueError, IndexError), match=row.torch_match):
        _torch_refusal(row) if row.shape is not None else row.make()


_EXPLAINED = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
              nn.modules.pooling._AvgPoolNd, nn.modules.pooling._LPPoolNd)


@pytest.mark.parametrize("row", [
    p for p in PARAMS
    if p.values[0].shape is not None and isinstance(p.values[0].make(), _EXPLAINED)
])
def test_explain_of_the_layer_carries_the_refusal(row: Row) -> None:
    """explain(layer, shape) never raises; it says ok=False with a sentence."""
    layer = row.make()
    exp = explain(layer, row.shape)
    assert not exp.ok
    assert exp.output_size is None
    assert exp.error and re.search(row.match, exp.error), exp.error


# --------------------------------------------------------------------------- #
# What torch accepts although a naive rule would refuse it
# --------------------------------------------------------------------------- #

ACCEPTED = [
    # (layer, input, torch's shape), checked against torch at test time too
    ("floor, not an error: (6 + 2 - 3) / 2 is not whole",
     lambda: nn.Conv1d(1, 1, 3, stride=2, padding=1), (1, 1, 6), (1, 1, 3)),
    ("pool padding exactly half the kernel", lambda: nn.MaxPool1d(2, padding=1), (1, 1, 5),
     (1, 1, 3)),
    ("circular padding equal to the input", lambda: nn.Conv1d(1, 1, 3, padding=2,
                                                              padding_mode="circular"),
     (1, 1, 2), (1, 1, 4)),
    ("replicate padding larger than the input",
     lambda: nn.Conv1d(1, 1, 3, padding=2, padding_mode="replicate"), (1, 1, 1), (1, 1, 3)),
    ("reflect padding one less than the input",
     lambda: nn.Conv1d(1, 1, 3, padding=1, padding_mode="reflect"), (1, 1, 2), (1, 1, 2)),
    ("output_padding below dilation though not below stride",
     lambda: nn.ConvTranspose1d(1, 1, 3, stride=1, dilation=3, output_padding=2), (1, 1, 4),
     (1, 1, 12)),
    ("AvgPool2d has no input-versus-kernel rule", lambda: nn.AvgPool2d(3, padding=1),
     (1, 1, 2, 5), (1, 1, 1, 2)),
    ("LPPool2d neither", lambda: nn.LPPool2d(2, 3, stride=3, ceil_mode=True), (1, 1, 2, 2),
     (1, 1, 1, 1)),
    ("MaxPool3d neither", lambda: nn.MaxPool3d(3, padding=1), (1, 1, 2, 5, 5),
     (1, 1, 1, 2, 2)),
    ("'same' with an even kernel pads the right more",
     lambda: nn.Conv1d(1, 1, 4, padding="same"), (1, 1, 5), (1, 1, 5)),
    ("'same' with stride given as 1", lambda: nn.Conv2d(1, 1, 3, stride=(1, 1),
                                                       padding="same"),
     (1, 1, 1, 1), (1, 1, 1, 1)),
    ("adaptive pooling to more cells than the input", lambda: nn.AdaptiveMaxPool2d((None, 7)),
     (1, 1, 3, 3), (1, 1, 3, 7)),
    ("adaptive pooling to 0 cells", lambda: nn.AdaptiveAvgPool2d((None, 0)), (1, 1, 3, 3),
     (1, 1, 3, 0)),
    ("unbatched input", lambda: nn.Conv2d(2, 1, 3), (2, 5, 5), (1, 3, 3)),
]


@pytest.mark.parametrize("make, shape, expected",
                         [pytest.param(*row[1:], id=row[0]) for row in ACCEPTED])
def test_accepted_by_torch_and_by_us(make: Callable[[], Any], shape: tuple[int, ...],
                                     expected: tuple[int, ...]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = make()
        assert tuple(layer(torch.zeros(shape)).shape) == expected
    assert output_shape(layer, shape) == expected


# --------------------------------------------------------------------------- #
# ceil_mode: PyTorch drops a last window that would start in the right padding
# --------------------------------------------------------------------------- #

# (size, kernel, stride, padding, dilation, torch's output); a plain ceiling of
# (size + 2·padding − dilation·(kernel − 1) − 1) / stride, plus 1, gives one more.
CEIL_DROPPED = [
    (5, 2, 2, 1, 1, 3),  # a plain ceiling says 4
    (3, 2, 2, 1, 1, 2),  # says 3
    (1, 2, 2, 1, 1, 1),  # says 2
    (4, 1, 2, 0, 1, 2),  # no padding at all: the 3rd window would start at 4, past the input
    (2, 1, 2, 0, 2, 1),
    (4, 4, 3, 2, 1, 2),  # says 3
    (4, 2, 3, 1, 1, 2),  # says 3
    (3, 2, 4, 1, 2, 1),  # dilated; says 2
]
# ceil_mode that really adds a window (it starts inside the input)
CEIL_KEPT = [
    (5, 2, 2, 0, 1, 3),  # floor gives 2
    (6, 3, 2, 1, 1, 4),  # floor gives 3
    (10, 3, 4, 1, 2, 3),  # floor gives 2
]


@pytest.mark.parametrize("size, k, s, p, d, expected", CEIL_DROPPED + CEIL_KEPT)
def test_ceil_mode_examples(size: int, k: int, s: int, p: int, d: int, expected: int) -> None:
    pool = nn.MaxPool1d(k, stride=s, padding=p, dilation=d, ceil_mode=True)
    assert pool(torch.zeros(1, 1, size)).shape[-1] == expected
    assert pool_output_size(size, k, s, p, d, ceil_mode=True) == expected
    assert output_shape(pool, (1, 1, size)) == (1, 1, expected)
    dim = explain(size, k, s, p, d, kind="max_pool", ceil_mode=True).dims[0]
    assert dim.output == expected
    assert dim.dropped_last_window == ((size, k, s, p, d, expected) in CEIL_DROPPED)
    if d == 1:
        avg = nn.AvgPool1d(k, stride=s, padding=p, ceil_mode=True)
        assert avg(torch.zeros(1, 1, size)).shape[-1] == expected
        assert explain(size, k, s, p, kind="avg_pool", ceil_mode=True).output_size == (
            expected,)


def test_ceil_mode_sweep_against_torch() -> None:
    """Every small MaxPool1d/AvgPool1d with ceil_mode: ours is torch's, and
    dropped_last_window says exactly when a plain ceiling would have been wrong."""
    problems = []
    for size in range(1, 13):
        for k in range(1, 5):
            for s in range(1, 5):
                for p in range(0, k // 2 + 1):
                    for d in (1, 2, 3):
                        pool = nn.MaxPool1d(k, stride=s, padding=p, dilation=d,
                                            ceil_mode=True)
                        try:
                            truth: Any = pool(torch.zeros(1, 1, size)).shape[-1]
                        except RuntimeError:
                            truth = None
                        exp = explain(size, k, s, p, d, kind="max_pool", ceil_mode=True)
                        got = exp.output_size[0] if exp.ok else None
                        if got != truth:
                            problems.append((size, k, s, p, d, "torch", truth, "ours", got))
                            continue
                        if truth is None:
                            continue
                        plain = math.ceil((size + 2 * p - d * (k - 1) - 1) / s) + 1
                        if exp.dims[0].dropped_last_window != (plain != truth):
                            problems.append((size, k, s, p, d, "dropped flag wrong",
                                             exp.dims[0].dropped_last_window))
    assert not problems, problems[:10]


# --------------------------------------------------------------------------- #
# 'same': PyTorch's split of the padding (the extra cell of an even span goes right)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("k", range(1, 9))
@pytest.mark.parametrize("d", range(1, 5))
def test_same_padding_is_torchs_split(k: int, d: int) -> None:
    left, right = same_padding(k, d)
    torch.manual_seed(k * 10 + d)
    x = torch.randn(1, 1, 13)
    layer = nn.Conv1d(1, 1, k, padding="same", dilation=d, bias=False)
    # the values prove the split: 'same' equals an explicit (left, right) zero pad
    explicit = F.conv1d(F.pad(x, (left, right)), layer.weight, dilation=d)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), explicit)
    assert left + right == d * (k - 1) and 0 <= right - left <= 1
    assert conv_output_size(13, k, 1, "same", d) == 13


# --------------------------------------------------------------------------- #
# An empty spatial dimension: torch refuses it for every convolution and pooling,
# whatever the padding
# --------------------------------------------------------------------------- #

EMPTY = [
    (lambda: conv_output_size(0, 1, padding=3), lambda: nn.Conv1d(1, 1, 1, padding=3),
     "Only zero batch or zero channel inputs are supported"),
    (lambda: conv_transpose_output_size(0, 3), lambda: nn.ConvTranspose1d(1, 1, 3),
     "Only zero batch or zero channel inputs are supported"),
    (lambda: pool_output_size(0, 1), lambda: nn.MaxPool1d(1), "Expected 2D or 3D"),
    (lambda: pool_output_size(0, 2, padding=1, ceil_mode=True),
     lambda: nn.AvgPool1d(2, padding=1, ceil_mode=True), "Expected 3D or 4D"),
]


@pytest.mark.parametrize("ours, layer, torch_match", EMPTY,
                         ids=["conv", "conv_transpose", "max_pool", "avg_pool"])
def test_empty_spatial_size_is_refused(ours: Callable[[], int], layer: Callable[[], Any],
                                       torch_match: str) -> None:
    with pytest.raises(ShapeError, match=has("size", n(0))):
        ours()
    with pytest.raises(RuntimeError, match=torch_match):
        layer()(torch.zeros(1, 1, 0))
