"""The relationships of Dumoulin & Visin, "A guide to convolution arithmetic for
deep learning" (2016, arXiv:1603.07285), with the numbers of its figures.

Notation of the guide: input size i, kernel k, stride s, zero padding p, output o;
for a transposed convolution i', k', s', p', o' and a = (i + 2p − k) mod s.
In PyTorch terms the transposed convolution of a convolution (k, s, p) is
``ConvTranspose(kernel_size=k, stride=s, padding=p, output_padding=a)``.

Each figure's numbers are checked with convwidget and with real PyTorch layers.
"""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from convwidget import (  # noqa: E402
    conv_output_size,
    conv_transpose_output_size,
    conv_transpose_output_sizes,
    explain,
    output_shape,
    pool_output_size,
)


def torch_conv(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    layer = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    return layer(torch.zeros(1, 1, i, i)).shape[-1]


def torch_conv_transpose(i: int, k: int, s: int = 1, p: int = 0, a: int = 0, d: int = 1) -> int:
    layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=a, dilation=d)
    return layer(torch.zeros(1, 1, i, i)).shape[-1]


# --------------------------------------------------------------------------- #
# Convolution: relationships 1-6 and 15, figures 2.1-2.7 and 5.1
# --------------------------------------------------------------------------- #

CONV_FIGURES = [
    # (figure, relationship, i, k, s, p, d, o)
    ("2.1 no padding, unit strides", 1, 4, 3, 1, 0, 1, 2),
    ("2.2 arbitrary padding, unit strides", 2, 5, 4, 1, 2, 1, 6),
    ("2.3 half (same) padding", 3, 5, 3, 1, 1, 1, 5),
    ("2.4 full padding", 4, 5, 3, 1, 2, 1, 7),
    ("2.5 no padding, strides", 5, 5, 3, 2, 0, 1, 2),
    ("2.6 padding, strides", 6, 5, 3, 2, 1, 1, 3),
    ("2.7 padding, strides (odd)", 6, 6, 3, 2, 1, 1, 3),
    ("5.1 dilated", 15, 7, 3, 1, 0, 2, 3),
]


@pytest.mark.parametrize("fig, rel, i, k, s, p, d, o", CONV_FIGURES,
                         ids=[f[0] for f in CONV_FIGURES])
def test_conv_figures(fig: str, rel: int, i: int, k: int, s: int, p: int, d: int,
                      o: int) -> None:
    assert torch_conv(i, k, s, p, d) == o
    assert conv_output_size(i, k, s, p, d) == o
    layer = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    assert output_shape(layer, (1, 1, i, i)) == (1, 1, o, o)
    exp = explain(i, k, s, p, d)
    assert exp.ok and exp.output_size == (o,)
    assert str(o) in str(exp)


def test_half_padding_is_pytorch_same() -> None:
    """Relationship 3: for odd k and p = ⌊k/2⌋, o = i — what padding='same' does."""
    for i, k in itertools.product(range(1, 13), (1, 3, 5, 7)):
        if k // 2 * 2 + i < k:
            continue
        assert conv_output_size(i, k, 1, k // 2) == i == torch_conv(i, k, 1, k // 2)
        assert conv_output_size(i, k, 1, "same") == i
        same = nn.Conv1d(1, 1, k, padding="same")
        assert same(torch.zeros(1, 1, i)).shape[-1] == i


@pytest.mark.parametrize("i", range(1, 10))
@pytest.mark.parametrize("k", range(1, 6))
def test_unit_stride_relationships(i: int, k: int) -> None:
    """Relationships 1, 2 and 4: o = i − k + 2p + 1, full padding p = k − 1 gives i + k − 1."""
    for p in range(0, k):
        o = i - k + 2 * p + 1
        if o < 1:
            continue
        assert conv_output_size(i, k, 1, p) == o == torch_conv(i, k, 1, p)
    assert conv_output_size(i, k, 1, k - 1) == i + k - 1


@pytest.mark.parametrize("s", range(1, 5))
def test_strided_relationship(s: int) -> None:
    """Relationship 6: o = ⌊(i + 2p − k) / s⌋ + 1; relationship 15 adds dilation."""
    for i, k, p, d in itertools.product(range(1, 11), range(1, 5), range(0, 3), (1, 2, 3)):
        span = k + (k - 1) * (d - 1)
        if i + 2 * p < span:
            continue
        o = (i + 2 * p - k - (k - 1) * (d - 1)) // s + 1
        assert conv_output_size(i, k, s, p, d) == o == torch_conv(i, k, s, p, d)


# --------------------------------------------------------------------------- #
# Pooling: relationship 7, figures 1.5 and 1.6 (3×3 pooling, stride 1, on 5×5)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
def test_pooling_figures(cls: type) -> None:
    pool = cls(3, stride=1)
    assert pool(torch.zeros(1, 1, 5, 5)).shape == (1, 1, 3, 3)
    assert output_shape(pool, (1, 1, 5, 5)) == (1, 1, 3, 3)
    assert pool_output_size(5, 3, stride=1) == 3


def test_pooling_relationship() -> None:
    """Relationship 7: o = ⌊(i − k) / s⌋ + 1 for any pooling without padding."""
    for i, k, s in itertools.product(range(1, 13), range(1, 5), range(1, 5)):
        if i < k:
            continue
        o = (i - k) // s + 1
        assert pool_output_size(i, k, s) == o
        assert nn.MaxPool1d(k, s)(torch.zeros(1, 1, i)).shape[-1] == o
        assert nn.AvgPool1d(k, s)(torch.zeros(1, 1, i)).shape[-1] == o


# --------------------------------------------------------------------------- #
# Transposed convolution: relationships 8-14, figures 4.1-4.7
# --------------------------------------------------------------------------- #

TRANSPOSED_FIGURES = [
    # (figure, the convolution (i, k, s, p) it transposes, i', a, o')
    ("4.1 of no padding, unit strides", (4, 3, 1, 0), 2, 0, 4),
    ("4.2 of arbitrary padding", (5, 4, 1, 2), 6, 0, 5),
    ("4.3 of half padding", (5, 3, 1, 1), 5, 0, 5),
    ("4.4 of full padding", (5, 3, 1, 2), 7, 0, 5),
    ("4.5 of no padding, strides", (5, 3, 2, 0), 2, 0, 5),
    ("4.6 of padding, strides", (5, 3, 2, 1), 3, 0, 5),
    ("4.7 of padding, strides (odd)", (6, 3, 2, 1), 3, 1, 6),
]


@pytest.mark.parametrize("fig, conv, i_t, a, o_t", TRANSPOSED_FIGURES,
                         ids=[f[0] for f in TRANSPOSED_FIGURES])
def test_transposed_figures(fig: str, conv: tuple[int, int, int, int], i_t: int, a: int,
                            o_t: int) -> None:
    i, k, s, p = conv
    # i' is the output of the convolution; o' gives its input back
    assert conv_output_size(i, k, s, p) == i_t == torch_conv(i, k, s, p)
    assert torch_conv_transpose(i_t, k, s, p, a) == o_t == i
    assert conv_transpose_output_size(i_t, k, s, p, a) == o_t
    layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=a)
    assert output_shape(layer, (1, 1, i_t, i_t)) == (1, 1, o_t, o_t)
    exp = explain(i_t, k, s, p, kind="conv_transpose", output_padding=a)
    assert exp.ok and exp.output_size == (o_t,)


def test_transposed_unit_stride_is_a_full_padded_conv() -> None:
    """Relationship 8/9: with s = 1, o' = i' + (k − 1) − 2p, which is a direct
    convolution with k' = k, s' = 1 and p' = k − p − 1 (same shape, same values)."""
    torch.manual_seed(0)
    for i_t, k in itertools.product(range(1, 8), range(1, 6)):
        for p in range(0, k):
            o_t = i_t + (k - 1) - 2 * p
            if o_t < 1:
                continue
            assert conv_transpose_output_size(i_t, k, 1, p) == o_t
            x = torch.randn(1, 1, i_t)
            w = torch.randn(1, 1, k)
            transposed = F.conv_transpose1d(x, w, padding=p)
            direct = F.conv1d(x, w.flip(-1), padding=k - p - 1)
            assert transposed.shape[-1] == o_t == direct.shape[-1]
            torch.testing.assert_close(transposed, direct)


def test_transposed_strided_is_a_conv_on_the_stretched_input() -> None:
    """Relationship 14: o' = s(i' − 1) + a + k − 2p — a unit-stride convolution of
    the input with s − 1 zeros inserted between cells, padded k − p − 1 each side
    and a more on the right."""
    torch.manual_seed(0)
    for i_t, k, s in itertools.product(range(1, 6), range(1, 5), range(1, 4)):
        for p, a in itertools.product(range(0, k), range(0, s)):
            o_t = s * (i_t - 1) + a + k - 2 * p
            if o_t < 1:
                continue
            assert conv_transpose_output_size(i_t, k, s, p, a) == o_t
            x = torch.randn(1, 1, i_t)
            w = torch.randn(1, 1, k)
            transposed = F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=a)
            stretched = torch.zeros(1, 1, s * (i_t - 1) + 1)
            stretched[..., ::s] = x
            stretched = F.pad(stretched, (k - p - 1, k - p - 1 + a))
            direct = F.conv1d(stretched, w.flip(-1))
            assert transposed.shape[-1] == o_t == direct.shape[-1]
            torch.testing.assert_close(transposed, direct)


@pytest.mark.parametrize("s", range(1, 5))
@pytest.mark.parametrize("d", range(1, 3))
def test_transposed_gives_the_input_size_back(s: int, d: int) -> None:
    """The transposed convolution of a convolution, with output_padding
    a = (i + 2p − d(k − 1) − 1) mod s, has the convolution's input size."""
    for i, k, p in itertools.product(range(1, 13), range(1, 5), range(0, 3)):
        if i + 2 * p < d * (k - 1) + 1:
            continue
        o = conv_output_size(i, k, s, p, d)
        a = (i + 2 * p - d * (k - 1) - 1) % s
        assert conv_transpose_output_size(o, k, s, p, a, d) == i
        assert torch_conv_transpose(o, k, s, p, a, d) == i
        # and the inverse helper lists i among the sizes the transposed conv can reach
        assert conv_transpose_output_sizes(o, k, s, p, d).get(i) == a


def test_strided_convolution_is_not_invertible_by_size() -> None:
    """Figures 2.6/2.7 and 4.6/4.7: i = 5 and i = 6 both give o = 3 with k = 3, s = 2,
    p = 1; the transposed convolution tells them apart with a (output_padding)."""
    for i in (5, 6):
        assert conv_output_size(i, 3, 2, 1) == 3 == torch_conv(i, 3, 2, 1)
    sizes = conv_transpose_output_sizes(3, 3, stride=2, padding=1)
    assert sizes == {5: 0, 6: 1}
    for size, a in sizes.items():
        assert torch_conv_transpose(3, 3, 2, 1, a) == size
        # torch's own output_size argument picks the same output_padding
        layer = nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1)
        assert layer(torch.zeros(1, 1, 3), output_size=[size]).shape[-1] == size
    # a = 2 is not smaller than the stride: torch refuses, and so do we
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        torch_conv_transpose(3, 3, 2, 1, 2)
    assert not explain(3, 3, 2, 1, kind="conv_transpose", output_padding=2).ok
