"""The tutorials' sentences, each checked against PyTorch over a range of values.

A sentence in a notebook is a claim; one example in a cell does not prove it. Each test
names the notebook and the sentence it checks. PyTorch is the oracle throughout.
"""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
import torch.nn.functional as F


def _conv1d_len(n: int, k: int, *, stride: int = 1, padding: int | str = 0, dilation: int = 1) -> int:
    x = torch.zeros(1, 1, n)
    w = torch.zeros(1, 1, k)
    return F.conv1d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]


def test_nb01_leaving_out_dilation_overshoots_by_the_span_over_the_stride() -> None:
    """01: the web formula without d overestimates by exactly (d-1)(k-1) at stride 1; with
    stride s by that overshoot divided by s, rounded down or up (32, 3, 2, 2: 15 against 14)."""
    seen_smaller = False
    for n, k, d, s in itertools.product(range(8, 40, 3), (2, 3, 5), (1, 2, 3), (1, 2, 3)):
        if d * (k - 1) + 1 > n:
            continue
        real = _conv1d_len(n, k, stride=s, dilation=d)
        web = (n - k) // s + 1
        over = (d - 1) * (k - 1)
        if s == 1:
            assert web - real == over, (n, k, d)
        else:
            assert web - real in (over // s, -(-over // s)), (n, k, d, s)
            seen_smaller |= 0 < web - real < over
    assert seen_smaller
    assert (32 - 3) // 2 + 1 == 15 and _conv1d_len(32, 3, stride=2, dilation=2) == 14


def _same_split(n: int, k: int, d: int) -> tuple[int, int]:
    """The (left, right) padding torch's 'same' applies, read from the values it computes."""
    torch.manual_seed(n * 100 + k * 10 + d)
    x = torch.randn(1, 1, n, dtype=torch.float64)
    w = torch.randn(1, 1, k, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that it pads a copy for uneven splits
        same = F.conv1d(x, w, padding="same", dilation=d)
    total = d * (k - 1)
    splits = [(left, total - left) for left in range(total + 1)
              if torch.allclose(same, F.conv1d(F.pad(x, (left, total - left)), w, dilation=d))]
    assert len(splits) == 1, (n, k, d, splits)
    return splits[0]


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("d", range(1, 5))
def test_nb02_same_splits_evenly_exactly_when_the_span_is_even(k: int, d: int) -> None:
    """02: 'same' pads d(k-1) in all, evenly when that is even, extra on the right when odd;
    k // 2 on each side for an odd kernel without dilation, and never for an even kernel
    without dilation."""
    n = 12
    left, right = _same_split(n, k, d)
    total = d * (k - 1)
    assert left + right == total
    assert (left == right) == (total % 2 == 0)
    assert right - left in (0, 1)
    if d == 1:
        assert ((left, right) == (k // 2, k // 2)) == (k % 2 == 1)


def test_nb02_even_kernel_with_even_dilation_pads_three_and_three() -> None:
    assert _same_split(10, 4, 2) == (3, 3)


@pytest.mark.parametrize("k", (2, 4, 6))
def test_nb02_k_over_2_with_an_even_kernel_grows_the_output_by_one(k: int) -> None:
    for n in range(k, 30):
        assert _conv1d_len(n, k, padding=k // 2) == n + 1


def _tf_same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("k", (3, 5, 7))
def test_nb02_tf_same_differs_from_k_over_2_only_for_even_sizes(k: int) -> None:
    """02: at stride 2 the port padding=k // 2 has TensorFlow's 'SAME' shape, and reads the
    same windows exactly when n is odd."""
    s = 2
    ones = torch.ones(1, 1, k, dtype=torch.float64)
    for n in range(k, 32):
        x = torch.arange(float(n), dtype=torch.float64).view(1, 1, n)
        tf_like = F.conv1d(F.pad(x, _tf_same_pads(n, k, s)), ones, stride=s)
        port = F.conv1d(x, ones, stride=s, padding=k // 2)
        assert tf_like.shape == port.shape, n
        assert torch.equal(tf_like, port) == (n % 2 == 1), n


def test_nb02_only_absurd_padding_keeps_the_size_at_stride_above_one() -> None:
    """02: with stride s > 1 the output is n only from a padding of at least
    ((n-1)(s-1) + d(k-1)) / 2 per side; Conv1d(k=3, s=2, p=6) maps 10 to 10 with four of its
    ten windows on zeros only."""
    for n, k, d, s in itertools.product(range(2, 20, 3), (1, 2, 3, 4), (1, 2), (2, 3)):
        least = math.ceil(((n - 1) * (s - 1) + d * (k - 1)) / 2)
        assert _conv1d_len(n, k, stride=s, padding=least, dilation=d) == n, (n, k, d, s)
        if least > 0:
            assert _conv1d_len(n, k, stride=s, padding=least - 1, dilation=d) < n, (n, k, d, s)
    reads = F.conv1d(torch.ones(1, 1, 10), torch.ones(1, 1, 3), stride=2, padding=6)
    assert reads.shape[-1] == 10
    assert int((reads == 0).sum()) == 4


@pytest.mark.parametrize("d", (1, 2, 3))
@pytest.mark.parametrize("s", (1, 2, 3))
def test_nb04_stretch_pad_convolve_needs_the_dilation(d: int, s: int) -> None:
    """04: a transposed convolution equals a stride-1 convolution with dilation d and the
    flipped kernel over the input stretched by s - 1 zeros and padded by d(k-1) - p."""
    torch.manual_seed(d * 10 + s)
    for n, k, p in itertools.product((3, 4, 6), (2, 3, 4), (0, 1)):
        pad = d * (k - 1) - p
        for op in range(max(s, d)):  # torch's bound on output_padding
            layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op,
                                             dilation=d, bias=False).double()
            x = torch.randn(1, 1, n, dtype=torch.float64)
            stretched = torch.zeros(1, 1, (n - 1) * s + 1, dtype=torch.float64)
            stretched[..., ::s] = x
            padded = F.pad(stretched, (pad, pad + op))
            w = layer.weight.detach().flip(-1)
            with torch.no_grad():
                expected = layer(x)
            assert torch.allclose(F.conv1d(padded, w, dilation=d), expected), (n, k, p, op)
            if d > 1 and k > 1:  # the recipe without the dilation gives another length
                assert F.conv1d(padded, w).shape[-1] != expected.shape[-1]
