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


# ---------------------------------------------------------------------------- the new lessons


@pytest.mark.parametrize("k", (1, 2, 3))
def test_nb01_one_output_cell_is_the_multiply_add_of_its_window(k: int) -> None:
    """01: every output cell of a Conv2d is the sum of kernel × the window under it, plus the bias
    (no flip: a cross-correlation), at every stride, padding and dilation."""
    torch.manual_seed(k)
    for s, p, d in itertools.product((1, 2), (0, 1), (1, 2)):
        conv = torch.nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d).double()
        x = torch.randn(1, 1, 7, 6, dtype=torch.float64)
        with torch.no_grad():
            out = conv(x)[0, 0]
        padded = F.pad(x, (p, p, p, p))[0, 0]
        w, b = conv.weight.detach()[0, 0], conv.bias.detach()[0]
        for r, c in itertools.product(range(out.shape[0]), range(out.shape[1])):
            window = padded[r * s: r * s + d * (k - 1) + 1: d, c * s: c * s + d * (k - 1) + 1: d]
            assert math.isclose((window * w).sum().item() + b.item(), out[r, c].item(), abs_tol=1e-9)


def test_nb02_padding_mode_changes_the_border_values_never_the_size() -> None:
    """02: 'reflect', 'replicate' and 'circular' give the 'zeros' output size, equal F.pad with that
    mode followed by no padding, and differ from zeros only in the windows that reach the padding;
    'reflect' needs padding < n, 'circular' padding <= n."""
    torch.manual_seed(2)
    for n, k, p in itertools.product(range(2, 10), (1, 2, 3, 4), (1, 2, 3)):
        if k > n + 2 * p:
            continue
        x = torch.randn(1, 1, n, dtype=torch.float64)
        w = torch.randn(1, 1, k, dtype=torch.float64)
        zeros = F.conv1d(x, w, padding=p)
        for mode in ("reflect", "replicate", "circular"):
            conv = torch.nn.Conv1d(1, 1, k, padding=p, padding_mode=mode, bias=False).double()
            with torch.no_grad():
                conv.weight.copy_(w)
            too_much = (mode == "reflect" and p >= n) or (mode == "circular" and p > n)
            if too_much:
                with pytest.raises(RuntimeError, match="Padding size should be less than|more than once"):
                    conv(x)
                continue
            with torch.no_grad():
                out = conv(x)
            assert out.shape == zeros.shape, (n, k, p, mode)
            assert torch.allclose(out, F.conv1d(F.pad(x, (p, p), mode=mode), w))
            inside = [i for i in range(out.shape[-1]) if i >= p and i + k - 1 < n + p]
            assert torch.allclose(out[..., inside], zeros[..., inside]), (n, k, p, mode)


def _unread(n: int, k: int, s: int, ceil_mode: bool) -> list[int]:
    x = torch.zeros(1, 1, n, requires_grad=True)
    torch.nn.AvgPool1d(k, stride=s, ceil_mode=ceil_mode)(x).sum().backward()
    assert x.grad is not None
    return (x.grad[0, 0] == 0).nonzero().flatten().tolist()


def test_nb03_a_stride_above_the_kernel_leaves_cells_no_window_reads_even_with_ceil_mode() -> None:
    """03: with stride > kernel_size, the s - k cells after every window but the last are read by
    no window, ceil_mode or not (PyTorch's docs: ceil_mode 'ensures that every element in the input
    tensor is covered by a sliding window'); with stride <= kernel_size, ceil_mode does read every
    cell. k=2, s=3 on 9 cells leaves 2, 5 and 8."""
    for n, k in itertools.product(range(2, 16), (1, 2, 3)):
        for s in range(k + 1, k + 4):
            for ceil_mode in (False, True):
                if k > n:
                    continue
                unread = _unread(n, k, s, ceil_mode)
                out = torch.nn.AvgPool1d(k, stride=s, ceil_mode=ceil_mode)(torch.zeros(1, 1, n)).shape[-1]
                gaps = [i * s + j for i in range(out - 1) for j in range(k, s)]
                assert set(gaps) <= set(unread), (n, k, s, ceil_mode)
                assert bool(unread) or out == 1, (n, k, s, ceil_mode)
        for s in range(1, k + 1):
            if k <= n:
                assert _unread(n, k, s, ceil_mode=True) == [], (n, k, s)
    assert _unread(9, 2, 3, ceil_mode=True) == [2, 5, 8]


def _taps(n: int, k: int, s: int) -> list[int]:
    layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        return [int(v) for v in layer(torch.ones(1, 1, n))[0, 0].tolist()]


def test_nb04_a_kernel_not_a_multiple_of_the_stride_paints_a_checkerboard() -> None:
    """04: with weights and input all 1, a ConvTranspose1d's output cell counts the taps reaching it;
    away from the ends (cells k-1 .. (n-1)s) every count is k/s when s divides k, and otherwise the
    counts take both values floor(k/s) and ceil(k/s). In 2-D the count is the product of two."""
    for n, k, s in itertools.product(range(3, 8), range(1, 8), range(1, 5)):
        taps = _taps(n, k, s)
        by_hand = [sum(1 for i in range(n) for t in range(k) if s * i + t == j) for j in range(len(taps))]
        assert taps == by_hand, (n, k, s)
        inside = taps[k - 1:(n - 1) * s + 1]
        if len(inside) < s:
            continue
        if k % s == 0:
            assert set(inside) == {k // s}, (n, k, s)
        else:
            assert set(inside) == {k // s, k // s + 1}, (n, k, s)
    layer = torch.nn.ConvTranspose2d(1, 1, 3, stride=2, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        counts = layer(torch.ones(1, 1, 5, 5))[0, 0]
    row = torch.tensor(_taps(5, 3, 2), dtype=counts.dtype)
    assert torch.equal(counts, row[:, None] * row[None, :])


def test_nb05_adaptive_avg_pool_fixes_the_flatten_at_every_input_size() -> None:
    """05: AdaptiveAvgPool2d((4, 4)) after conv blocks gives C·4·4 features whatever the input size
    (the flatten without it varies); its window i covers cells floor(i·m/4) .. ceil((i+1)·m/4) - 1,
    overlapping when 4 does not divide m."""
    convs = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.MaxPool2d(2))
    sizes = set()
    for n in range(8, 70, 5):
        with torch.no_grad():
            plain = torch.flatten(convs(torch.zeros(2, 3, n, n)), 1)
            fixed = torch.flatten(torch.nn.AdaptiveAvgPool2d((4, 4))(convs(torch.zeros(2, 3, n, n))), 1)
        sizes.add(plain.shape[1])
        assert fixed.shape == (2, 8 * 4 * 4), n
    assert len(sizes) > 5
    for m, out in itertools.product(range(1, 25), range(1, 7)):
        pool = torch.nn.AdaptiveAvgPool1d(out)
        for cell in range(m):
            one_hot = torch.zeros(1, 1, m)
            one_hot[..., cell] = 1.0
            reads = (pool(one_hot)[0, 0] != 0).nonzero().flatten().tolist()
            expected = [i for i in range(out) if (i * m) // out <= cell < -(-((i + 1) * m) // out)]
            assert reads == expected, (m, out, cell)


def test_nb05_view_minus_one_moves_the_features_into_the_batch_and_the_loss_says_so() -> None:
    """05: x.view(-1, N) on b examples of f features each (N dividing b·f) makes b·f/N rows; a
    CrossEntropyLoss against b labels then raises 'Expected input batch_size (b·f/N) to match
    target batch_size (b).'"""
    for b, f, n in itertools.product((1, 2, 3, 4), (256, 1024, 4096), (256, 1024, 4096)):
        if (b * f) % n or b * f // n == b:
            continue
        rows = torch.zeros(b, f).view(-1, n)
        loss = torch.nn.CrossEntropyLoss()
        with pytest.raises(ValueError, match=rf"^Expected input batch_size \({b * f // n}\) to match target "
                                             rf"batch_size \({b}\)\.$"):
            loss(torch.nn.Linear(n, 10)(rows), torch.zeros(b, dtype=torch.long))


def test_nb05_a_view_flatten_breaks_on_channels_last_layouts_flatten_does_not() -> None:
    """05: after permute(0, 3, 1, 2) of (N, H, W, C) images, or with torch.channels_last, a conv's
    output keeps the H, W, C layout: view(N, -1) refuses it (C > 1, H·W > 1), flatten(1) gives
    the values of the contiguous tensor."""
    torch.manual_seed(5)
    for c, h, w in itertools.product((2, 3, 4), (2, 3, 5), (2, 4)):
        conv = torch.nn.Conv2d(c, c, 1)
        images = torch.randn(2, h, w, c)
        for x in (images.permute(0, 3, 1, 2), images.permute(0, 3, 1, 2).contiguous(
                memory_format=torch.channels_last)):
            with torch.no_grad():
                y = conv(x)
                expected = conv(x.contiguous()).reshape(2, -1)
            with pytest.raises(RuntimeError, match="view size is not compatible"):
                y.view(2, -1)
            assert torch.allclose(torch.flatten(y, 1), expected, atol=1e-6)


def test_nb06_the_receptive_field_is_the_stretch_the_gradient_reaches() -> None:
    """06: for random stacks of convolutions (kernel, stride, padding, dilation) and pools, the
    receptive field receptive_field() gives is the distance from the first to the last input cell
    that one output cell's gradient reaches (weights 1); every cell of it when no layer leaves holes
    (no dilation, no stride above the kernel)."""
    import random

    from convwidget import receptive_field

    rng = random.Random(6)
    checked = 0
    for _ in range(60):
        layers: list[torch.nn.Module] = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                k = rng.randint(1, 3)
                layers.append(torch.nn.AvgPool1d(k, stride=rng.randint(1, 3), padding=rng.randint(0, k // 2)))
            else:
                conv = torch.nn.Conv1d(1, 1, rng.randint(1, 5), stride=rng.randint(1, 3),
                                       padding=rng.randint(0, 2), dilation=rng.randint(1, 3), bias=False)
                torch.nn.init.ones_(conv.weight)
                layers.append(conv)
        field = receptive_field(layers)[-1].receptive_field
        n = 4 * field + 16
        x = torch.zeros(1, 1, n, requires_grad=True)
        y = torch.nn.Sequential(*layers)(x)
        if y.shape[-1] < 3:
            continue
        y[0, 0, y.shape[-1] // 2].backward()
        assert x.grad is not None
        reached = (x.grad[0, 0] != 0).nonzero().flatten().tolist()
        assert reached[0] > 0 and reached[-1] < n - 1, "the field must not touch the input's ends"
        assert reached[-1] - reached[0] + 1 == field, [repr(m) for m in layers]
        if all(getattr(m, "dilation", (1,))[0] == 1 and m.stride[0] <= m.kernel_size[0] for m in layers):
            assert len(reached) == field, [repr(m) for m in layers]
        checked += 1
    assert checked > 40
