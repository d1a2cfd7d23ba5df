"""A zoo of small architectures, written from ``torch.nn`` only, in the styles of real model
libraries (torchvision, timm, YOLO, U-Net and forum code), and the oracles that judge the
tracer against a real forward pass.

Every entry is a :class:`Entry`: a builder taking ``fc_in`` (the ``in_features`` of the
Linear that follows the convolutions: the right value, a deliberately wrong one, or ``None``
for an ``nn.LazyLinear`` whose dry run tells the truth), the per-sample input shape and an
odd input size that still works. Nothing here is a hand-computed number: the truth is
always what PyTorch does on real CPU tensors (:func:`real_forward`, :func:`true_fc`).
Channel widths and inputs are tiny, so a real forward at batch 2 takes milliseconds.

:func:`snapshot` / :func:`assert_unchanged` prove that a call left a model exactly as it
was (issue 9, item 1).

The zoo is a data table: long on purpose, one small class per pattern.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter
from torch.nn.utils import parametrizations as P

Shape = tuple[int, ...]


def _fc(fc_in: int | None, out: int, bias: bool = True) -> nn.Module:
    return nn.LazyLinear(out, bias=bias) if fc_in is None else nn.Linear(fc_in, out, bias=bias)


def cbr(cin: int, cout: int, k: Any = 3, s: int = 1, p: Any = None, g: int = 1,
        act: Callable[[], nn.Module] | None = nn.ReLU, bn: bool = True, d: int = 1) -> nn.Sequential:
    """Conv (+ BatchNorm) (+ activation), 'same' padding for odd kernels unless told."""
    p = (k - 1) // 2 * d if p is None else p
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, p, dilation=d, groups=g, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- plain (VGG, LeNet)

_FLATTEN: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "size": lambda x: x.view(x.size(0), -1),
    "flatten1": lambda x: torch.flatten(x, 1),
    "method": lambda x: x.flatten(1),
    "shape0": lambda x: x.reshape(x.shape[0], -1),
    # the forum bugs: the batch folded into the features (works at batch 1 only)
    "flatten0": lambda x: torch.flatten(x),
    "reshape": lambda x: x.reshape(-1),
}


class Plain(nn.Module):
    """VGG-style conv stack ('M' = max pool), a chosen flatten, then a classifier."""

    def __init__(self, fc_in: int | None, cfg: tuple = (8, "M", 16, "M", 16, "M"),
                 flatten: str = "flatten1", bn: bool = False, pool: nn.Module | None = None,
                 cin: int = 3, module_flatten: nn.Module | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = cin
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(cbr(c, v, bn=bn, act=lambda: nn.ReLU(inplace=True)))
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = pool if pool is not None else nn.Identity()
        self.flat = module_flatten
        self.how = flatten
        self.classifier = nn.Sequential(_fc(fc_in, 16), nn.ReLU(True), nn.Dropout(), nn.Linear(16, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        x = self.flat(x) if self.flat is not None else _FLATTEN[self.how](x)
        return self.classifier(x)


class LeNet(nn.Module):
    """The PyTorch tutorial LeNet: functional pooling, ``view(-1, num_flat_features(x))``."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = _fc(fc_in, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        return self.fc2(F.relu(self.fc1(x)))

    def num_flat_features(self, x: torch.Tensor) -> int:
        return math.prod(x.size()[1:])


class AlexNet(nn.Module):
    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2), nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d((3, 3))
        self.classifier = nn.Sequential(nn.Dropout(0.5), _fc(fc_in, 32), nn.ReLU(inplace=True),
                                        nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def pool_ceil_dilation(fc_in: int | None) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, dilation=2), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2),
        nn.MaxPool2d(2, padding=1, ceil_mode=True),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        nn.MaxPool2d(2, stride=1, dilation=2),
        nn.Flatten(), _fc(fc_in, 10))


class LazyConvNet(nn.Module):
    """Every size inferred: LazyConv2d, LazyBatchNorm2d, LazyLinear."""

    def __init__(self, fc_in: int | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LazyConv2d(8, 3), nn.LazyBatchNorm2d(), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.LazyConv2d(8, 3, stride=2))
        self.head = nn.LazyLinear(10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1))


# ----------------------------------------------------------------------------- ResNet family


class SELinear(nn.Module):
    """Squeeze-excite as in SENet: pooled vector through Linears, ``x * y.expand_as(x)``."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(c // r, c, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class SEConv(nn.Module):
    """Squeeze-excite as in MobileNetV3 / EfficientNet: functional pooling, 1x1 convs."""

    def __init__(self, c: int, squeeze: int, act: Callable[[], nn.Module] = nn.ReLU,
                 gate: Callable[[], nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.act = act()
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)
        scale = self.gate(self.fc2(self.act(self.fc1(scale))))
        return scale * x


class Basic(nn.Module):
    """ResNet BasicBlock: ``out += identity`` and ``F.relu``; optional groups, SE, dropout."""

    def __init__(self, cin: int, cout: int, s: int = 1, groups: int = 1, se: bool = False,
                 drop: float = 0.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, s, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.drop = nn.Dropout(drop) if drop else None
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = SELinear(cout) if se else None
        self.downsample = None
        if s != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        if self.drop is not None:
            out = self.drop(out)
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        out += identity
        return F.relu(out)


class Bottleneck(nn.Module):
    """ResNet Bottleneck: 1x1 / 3x3 / 1x1, ``F.relu(out + identity)``."""

    def __init__(self, cin: int, cout: int, s: int = 1, groups: int = 1) -> None:
        super().__init__()
        mid = cout // 2
        self.conv1 = cbr(cin, mid, 1)
        self.conv2 = cbr(mid, mid, 3, s, g=groups)
        self.conv3 = cbr(mid, cout, 1, act=None)
        self.downsample = None
        if s != 1 or cin != cout:
            self.downsample = cbr(cin, cout, 1, s, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class PreAct(nn.Module):
    """Pre-activation block (kuangliu's pytorch-cifar): BN-ReLU-conv, shortcut on the input."""

    def __init__(self, cin: int, cout: int, s: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, s, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, s, bias=False) if s != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


_HEADS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "adaptive_view": lambda x: F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1),
    "avgpool4": lambda x: torch.flatten(F.avg_pool2d(x, 4), 1),  # size-dependent, as in pytorch-cifar
    "mean": lambda x: x.mean((2, 3)),
}


class ResNet(nn.Module):
    """A small ResNet: stem (optionally with max pool), stages of blocks, a pooling head."""

    def __init__(self, fc_in: int | None, block: Callable[..., nn.Module] = Basic,
                 widths: tuple[int, ...] = (8, 16, 32), head: str = "module",
                 stem_pool: bool = False, cin: int = 3, store: bool = False, **kw: Any) -> None:
        super().__init__()
        stem: list[nn.Module] = [cbr(cin, widths[0], 3)]
        if stem_pool:
            stem.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*stem)
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(block(c, w, 1 if i == 0 else 2, **kw))
            c = w
        self.layers = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1)) if head == "module" else None
        self.how = head
        self.store = store
        self.fc = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        if self.store:  # Grad-CAM style: keep the last feature map on the model
            self.activations = x
        x = torch.flatten(self.avgpool(x), 1) if self.avgpool is not None else _HEADS[self.how](x)
        return self.fc(x)


class Basic1d(nn.Module):
    def __init__(self, cin: int, cout: int, s: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, 7, s, 3, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 7, 1, 3, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.down = nn.Conv1d(cin, cout, 1, s) if s != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.down(x))


class ResNet1d(nn.Module):
    """ECG-style 1-D ResNet: strided stem, max pool, residual stages, global max pool."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(1, 8, 15, 2, 7), nn.BatchNorm1d(8), nn.ReLU(),
                                  nn.MaxPool1d(3, 2, 1))
        self.layer1 = Basic1d(8, 8)
        self.layer2 = Basic1d(8, 16, 2)
        self.pool = nn.AdaptiveMaxPool1d(1)
        self.fc = _fc(fc_in, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.layer2(self.layer1(self.stem(x))))
        return self.fc(x.squeeze(-1))


# ----------------------------------------------------------------------------- Inception, DenseNet


class InceptionBlock(nn.Module):
    """GoogLeNet / Inception-v3 block: four branches joined by ``torch.cat``."""

    def __init__(self, cin: int, c1: int, c3: int, c5: int, cp: int,
                 factorized: bool = False) -> None:
        super().__init__()
        self.branch1x1 = cbr(cin, c1, 1)
        self.branch3x3 = nn.Sequential(cbr(cin, c3, 1), cbr(c3, c3, 3))
        if factorized:  # Inception-v3: 1x7 then 7x1
            self.branch5x5 = nn.Sequential(cbr(cin, c5, 1), cbr(c5, c5, (1, 7), p=(0, 3)),
                                           cbr(c5, c5, (7, 1), p=(3, 0)))
        else:
            self.branch5x5 = nn.Sequential(cbr(cin, c5, 1), cbr(c5, c5, 5))
        self.branch_pool = cbr(cin, cp, 1)
        self.factorized = factorized

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.factorized:
            pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = F.max_pool2d(x, 3, 1, 1, ceil_mode=True)
        outputs = [self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(pooled)]
        return torch.cat(outputs, 1)


class Inception(nn.Module):
    def __init__(self, fc_in: int | None, factorized: bool = False) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 8, 3, 2), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.a = InceptionBlock(8, 4, 8, 4, 4, factorized)
        self.b = InceptionBlock(20, 8, 8, 4, 4, factorized)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.b(F.max_pool2d(self.a(self.stem(x)), 2)))
        return self.fc(self.dropout(torch.flatten(x, 1)))


class DenseLayer(nn.Module):
    """torchvision's dense layer: takes the list of earlier features, ``torch.cat`` inside."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 2 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(2 * growth)
        self.conv2 = nn.Conv2d(2 * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: Any) -> torch.Tensor:
        x = torch.cat(features, 1) if isinstance(features, list) else features
        x = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(x)))


class DenseBlock(nn.Module):
    def __init__(self, cin: int, growth: int, n: int, as_list: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(cin + i * growth, growth) for i in range(n))
        self.as_list = as_list

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.as_list:
            features = [x]
            for layer in self.layers:
                features.append(layer(features))
            return torch.cat(features, 1)
        for layer in self.layers:
            x = torch.cat([x, layer(x)], 1)
        return x


class DenseNet(nn.Module):
    def __init__(self, fc_in: int | None, as_list: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), DenseBlock(8, 4, 3, as_list),
            nn.BatchNorm2d(20), nn.ReLU(inplace=True), nn.Conv2d(20, 10, 1, bias=False),
            nn.AvgPool2d(2, 2), DenseBlock(10, 4, 2, as_list), nn.BatchNorm2d(18))
        self.classifier = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(torch.flatten(out, 1))


# ----------------------------------------------------------------------------- mobile networks


def mobilenet_v1(fc_in: int | None) -> nn.Module:
    class MobileNetV1(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers, c = [cbr(3, 8, 3, 2)], 8
            for cout, s in ((16, 1), (16, 2), (32, 2)):
                layers += [cbr(c, c, 3, s, g=c), cbr(c, cout, 1)]  # depthwise, pointwise
                c = cout
            self.model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
            self.fc = _fc(fc_in, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.model(x)
            x = x.view(-1, 32)  # the right N: no batch problem
            return self.fc(x)

    return MobileNetV1()


class InvertedResidual(nn.Module):
    """MobileNetV2/V3 block: expand 1x1, depthwise 3x3 (``groups=C``), optional SE, project."""

    def __init__(self, cin: int, cout: int, s: int, t: int,
                 act: Callable[[], nn.Module] = nn.ReLU6, se: bool = False) -> None:
        super().__init__()
        hid = cin * t
        layers: list[nn.Module] = [cbr(cin, hid, 1, act=act)] if t != 1 else []
        layers.append(cbr(hid, hid, 3, s, g=hid, act=act))
        if se:
            layers.append(SEConv(hid, max(8, hid // 4), gate=nn.Hardsigmoid))
        layers += [nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = s == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNet(nn.Module):
    def __init__(self, fc_in: int | None, v3: bool = False) -> None:
        super().__init__()
        act = nn.Hardswish if v3 else nn.ReLU6
        cfg = ((8, 1, 1), (12, 2, 4), (12, 1, 4), (16, 2, 4))
        layers: list[nn.Module] = [cbr(3, 8, 3, 2, act=act)]
        c = 8
        for cout, s, t in cfg:
            layers.append(InvertedResidual(c, cout, s, t, act, se=v3))
            c = cout
        layers.append(cbr(c, 32, 1, act=act))
        self.features = nn.Sequential(*layers)
        self.v3 = v3
        if v3:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(_fc(fc_in, 24), nn.Hardswish(inplace=True),
                                            nn.Dropout(0.2, inplace=True), nn.Linear(24, 10))
        else:
            self.classifier = nn.Sequential(nn.Dropout(0.2), _fc(fc_in, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.v3:
            x = torch.flatten(self.avgpool(x), 1)
        else:
            x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
            x = torch.flatten(x, 1)
        return self.classifier(x)


class StochasticDepth(nn.Module):
    """torchvision's: the identity in eval mode (no tensor op at all)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, s: int, t: int, k: int = 3) -> None:
        super().__init__()
        hid = cin * t
        self.block = nn.Sequential(cbr(cin, hid, 1, act=nn.SiLU), cbr(hid, hid, k, s, g=hid, act=nn.SiLU),
                                   SEConv(hid, max(1, cin // 4), act=nn.SiLU),
                                   cbr(hid, cout, 1, act=None))
        self.stochastic_depth = StochasticDepth(0.2)
        self.use_res = s == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res:
            out = self.stochastic_depth(out) + x
        return out


class EfficientNet(nn.Module):
    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.features = nn.Sequential(cbr(3, 8, 3, 2, act=nn.SiLU), MBConv(8, 8, 1, 1),
                                      MBConv(8, 12, 2, 4, 5), MBConv(12, 12, 1, 4, 5),
                                      cbr(12, 32, 1, act=nn.SiLU))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True), _fc(fc_in, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, cin: int, cout: int, s: int) -> None:
        super().__init__()
        half = cout // 2
        self.stride = s
        self.branch1 = (nn.Sequential(cbr(cin, cin, 3, s, g=cin, act=None), cbr(cin, half, 1))
                        if s > 1 else nn.Sequential())
        bin_ = cin if s > 1 else half
        self.branch2 = nn.Sequential(cbr(bin_, half, 1), cbr(half, half, 3, s, g=half, act=None),
                                     cbr(half, half, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNet(nn.Module):
    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.conv1 = cbr(3, 8, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.stage2 = nn.Sequential(ShuffleUnit(8, 16, 2), ShuffleUnit(16, 16, 1))
        self.conv5 = cbr(16, 32, 1)
        self.fc = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv5(self.stage2(self.maxpool(self.conv1(x))))
        return self.fc(x.mean([2, 3]))


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.squeeze(x))
        return torch.cat([self.act(self.expand1x1(x)), self.act(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """No Linear at all: a 1x1 conv classifier, adaptive pooling, ``torch.flatten``."""

    def __init__(self, fc_in: int | None = None) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, 2), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, ceil_mode=True), Fire(16, 4, 8), Fire(16, 4, 8),
                                      nn.MaxPool2d(3, 2, ceil_mode=True), Fire(16, 8, 16))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(32, 10, 1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


# ----------------------------------------------------------------------------- ConvNeXt


class LayerNormCF(nn.Module):
    """ConvNeXt's channels-first LayerNorm, written out with tensor ops (no child modules)."""

    def __init__(self, c: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d: a LayerNorm subclass that permutes around ``F.layer_norm``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def _layer_norm_2d(c: int) -> nn.Module:
    return LayerNorm2d(c, eps=1e-6)


class CNBlock(nn.Module):
    """dwconv 7x7 -> permute(0, 2, 3, 1) -> LayerNorm -> Linear MLP -> gamma * x -> permute back."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(1e-6 * torch.ones(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp = x
        x = self.dwconv(x).permute(0, 2, 3, 1)
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        x = self.gamma * x
        return inp + x.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    def __init__(self, fc_in: int | None, ln_subclass: bool = False) -> None:
        super().__init__()
        norm: Callable[[int], nn.Module] = _layer_norm_2d if ln_subclass else LayerNormCF
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 4, 4), norm(8))
        self.stage1 = CNBlock(8)
        self.downsample = nn.Sequential(norm(8), nn.Conv2d(8, 16, 2, 2))
        self.stage2 = CNBlock(16)
        self.norm = nn.LayerNorm(16, eps=1e-6)
        self.head = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage2(self.downsample(self.stage1(self.stem(x))))
        return self.head(self.norm(x.mean([-2, -1])))


# ----------------------------------------------------------------------------- ViT, Mixer, Swin


class Attention(nn.Module):
    """timm's hand-written attention: ``reshape/permute``, ``q @ k.transpose``, softmax, ``@ v``."""

    def __init__(self, dim: int, heads: int, sdpa: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.sdpa = sdpa

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.sdpa:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.scale
            x = attn.softmax(dim=-1) @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class ViTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, attn: str) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn: nn.Module = (nn.MultiheadAttention(dim, heads, batch_first=True) if attn == "mha"
                                else Attention(dim, heads, sdpa=attn == "sdpa"))
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        if isinstance(self.attn, nn.MultiheadAttention):
            y = self.attn(y, y, y, need_weights=False)[0]
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Patch-embedding conv, ``flatten(2).transpose(1, 2)``, cls token ``torch.cat``, blocks."""

    def __init__(self, fc_in: int | None, attn: str = "mha", pool: str = "cls", img: int = 32,
                 patch: int = 8, dim: int = 16) -> None:
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + (pool == "cls"), dim))
        self.blocks = nn.Sequential(ViTBlock(dim, 2, attn), ViTBlock(dim, 2, attn))
        self.norm = nn.LayerNorm(dim)
        self.head = _fc(fc_in, 10)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        if self.pool == "cls":
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.norm(self.blocks(x + self.pos_embed))
        return self.head(x[:, 0] if self.pool == "cls" else x.mean(dim=1))


class MixerBlock(nn.Module):
    def __init__(self, tokens: int, dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = nn.Sequential(nn.Linear(tokens, 2 * tokens), nn.GELU(),
                                       nn.Linear(2 * tokens, tokens))
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class Mixer(nn.Module):
    """MLP-Mixer: a Linear across the patches (its in_features is the number of patches)."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 8, 8)
        self.blocks = nn.Sequential(MixerBlock(16, 16), MixerBlock(16, 16))
        self.norm = nn.LayerNorm(16)
        self.head = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).flatten(2).transpose(1, 2)
        return self.head(self.norm(self.blocks(x)).mean(dim=1))


def window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, C)


def window_reverse(windows: torch.Tensor, ws: int, B: int, H: int, W: int) -> torch.Tensor:
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)


class WindowAttention(nn.Module):
    """Swin window attention with a relative position bias table indexed by a buffer."""

    relative_position_index: torch.Tensor

    def __init__(self, dim: int, ws: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
        self.register_buffer("relative_position_index", rel[..., 0] * (2 * ws - 1) + rel[..., 1],
                             persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(N, N, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


class SwinBlock(nn.Module):
    """Channels-last block: pad to whole windows, roll, partition, attend, reverse, crop."""

    def __init__(self, dim: int, ws: int, shift: int) -> None:
        super().__init__()
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, 2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        ws, s = self.ws, self.shift
        y = F.pad(self.norm1(x), (0, 0, 0, (ws - W % ws) % ws, 0, (ws - H % ws) % ws))
        _, Hp, Wp, _ = y.shape
        mask = None
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
            mask = self.attention_mask(Hp, Wp, y)
        y = window_reverse(self.attn(window_partition(y, ws), mask), ws, B, Hp, Wp)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + y[:, :H, :W, :].contiguous()
        return x + self.mlp(self.norm2(x))

    def attention_mask(self, Hp: int, Wp: int, like: torch.Tensor) -> torch.Tensor:
        """torchvision's shifted-window mask: ``reshape(num_windows, ws * ws)``."""
        ws, s = self.ws, self.shift
        m = like.new_zeros((Hp, Wp))
        slices = ((0, -ws), (-ws, -s), (-s, None))
        count = 0
        for h in slices:
            for w in slices:
                m[h[0]:h[1], w[0]:w[1]] = count
                count += 1
        m = m.view(Hp // ws, ws, Wp // ws, ws).permute(0, 2, 1, 3).reshape(Hp * Wp // ws // ws, ws * ws)
        m = m.unsqueeze(1) - m.unsqueeze(2)
        return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)


class Swin(nn.Module):
    def __init__(self, fc_in: int | None, shifted: bool = True) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, 8, 4, 4)
        self.patch_norm = nn.LayerNorm(8)
        self.blocks = nn.Sequential(SwinBlock(8, 4, 0), SwinBlock(8, 4, 2 if shifted else 0))
        self.norm = nn.LayerNorm(8)
        self.head = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_norm(self.patch_embed(x).permute(0, 2, 3, 1))
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=(1, 2)))


# ----------------------------------------------------------------------------- U-Net, FPN, dense heads


def double_conv(cin: int, cout: int, p: int = 1) -> nn.Sequential:
    return nn.Sequential(cbr(cin, cout, 3, p=p), cbr(cout, cout, 3, p=p))


class Up(nn.Module):
    """milesial's U-Net ``Up``: ConvTranspose2d (or bilinear Upsample), pad to the skip, cat."""

    def __init__(self, cin: int, cout: int, bilinear: bool = False) -> None:
        super().__init__()
        if bilinear:
            self.up: nn.Module = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = double_conv(cin + cin // 2, cout)
        else:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
            self.conv = double_conv(cin, cout)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)
        dy = x2.size()[2] - x1.size()[2]
        dx = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    def __init__(self, fc_in: int | None = None, bilinear: bool = False) -> None:
        super().__init__()
        self.inc = double_conv(3, 8)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), double_conv(8, 16))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), double_conv(16, 32))
        self.up1 = Up(32, 16, bilinear)
        self.up2 = Up(16, 8, bilinear)
        self.outc = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x = self.up2(self.up1(self.down2(x2), x2), x1)
        return self.outc(x)


def center_crop(skip: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    dy = (skip.shape[2] - x.shape[2]) // 2
    dx = (skip.shape[3] - x.shape[3]) // 2
    return skip[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]


class UNetValid(nn.Module):
    """The 2015 U-Net: unpadded convs, the skip cropped to the upsampled map."""

    def __init__(self, fc_in: int | None = None) -> None:
        super().__init__()
        self.enc1 = double_conv(1, 8, p=0)
        self.enc2 = double_conv(8, 16, p=0)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = double_conv(16, 8, p=0)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.enc1(x)
        x = self.up(self.enc2(self.pool(s1)))
        return self.out(self.dec(torch.cat([center_crop(s1, x), x], 1)))


class FPN(nn.Module):
    """Backbone stages, lateral 1x1 convs, top-down ``F.interpolate`` + add, a shared head
    conv applied to every level (one module, several calls)."""

    def __init__(self, fc_in: int | None = None) -> None:
        super().__init__()
        self.c2 = cbr(3, 8, 3, 2)
        self.c3 = cbr(8, 16, 3, 2)
        self.c4 = cbr(16, 32, 3, 2)
        self.lateral = nn.ModuleList(nn.Conv2d(c, 8, 1) for c in (8, 16, 32))
        self.head = nn.Conv2d(8, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c2 = self.c2(x)
        c3 = self.c3(c2)
        feats = [c2, c3, self.c4(c3)]
        p = self.lateral[2](feats[2])
        outs = [self.head(p)]
        for i in (1, 0):
            p = self.lateral[i](feats[i]) + F.interpolate(p, size=feats[i].shape[-2:], mode="nearest")
            outs.insert(0, self.head(p))
        return outs


class YoloNet(nn.Module):
    """YOLOv5's ``Detect``: grids cached in a plain list attribute, filled during ``forward``."""

    anchors: torch.Tensor

    def __init__(self, fc_in: int | None = None, nc: int = 3, na: int = 2) -> None:
        super().__init__()
        self.backbone = nn.Sequential(cbr(3, 8, 3, 2, act=nn.SiLU), cbr(8, 16, 3, 2, act=nn.SiLU))
        self.down = cbr(16, 32, 3, 2, act=nn.SiLU)
        self.no, self.na, self.stride = nc + 5, na, (4, 8)
        self.grid = [torch.empty(0) for _ in range(2)]
        self.register_buffer("anchors", torch.rand(2, na, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * na, 1) for c in (16, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p3 = self.backbone(x)
        z = []
        for i, f in enumerate((p3, self.down(p3))):
            f = self.m[i](f)
            bs, _, ny, nx = f.shape
            f = f.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            if self.grid[i].shape[2:4] != f.shape[2:4]:
                self.grid[i] = self._make_grid(nx, ny, f)
            y = f.sigmoid()
            xy = (y[..., :2] * 2 - 0.5 + self.grid[i]) * self.stride[i]
            wh = (y[..., 2:4] * 2) ** 2 * self.anchors[i].view(1, self.na, 1, 1, 2)
            z.append(torch.cat((xy, wh, y[..., 4:]), -1).view(bs, -1, self.no))
        return torch.cat(z, 1)

    def _make_grid(self, nx: int, ny: int, like: torch.Tensor) -> torch.Tensor:
        d = self.anchors.device
        yv, xv = torch.meshgrid(torch.arange(ny, device=d), torch.arange(nx, device=d), indexing="ij")
        return torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).to(like.dtype)


class TwoStage(nn.Module):
    """A detector with anchors cached per feature size in a plain dict, and a box head whose
    first Linear reads RoI-pooled features."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.backbone = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 16, 3, 2))
        self.rpn = nn.Conv2d(16, 12, 1)
        self._anchors: dict[tuple[int, ...], torch.Tensor] = {}
        self.box_head = nn.Sequential(nn.Flatten(), _fc(fc_in, 32), nn.ReLU(), nn.Linear(32, 5))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.backbone(x)
        key = tuple(f.shape[-2:])
        if key not in self._anchors:
            ys = torch.arange(key[0], device=f.device, dtype=f.dtype)
            xs = torch.arange(key[1], device=f.device, dtype=f.dtype)
            self._anchors[key] = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1).reshape(-1, 2)
        deltas = self.rpn(f).flatten(2).transpose(1, 2)
        boxes = deltas[..., :2] + self._anchors[key]
        rois = F.adaptive_max_pool2d(f, (3, 3))
        return self.box_head(rois), boxes


# ----------------------------------------------------------------------------- shared, tied, subclasses


class PosBlock(nn.Module):
    def __init__(self, pos: nn.Module) -> None:
        super().__init__()
        self.pos = pos  # the parent's module, registered here a second time
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos(self.norm(x))


class SharedPos(nn.Module):
    """One ``nn.Linear`` registered as ``pos`` and handed to every child block."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.stem = cbr(3, 8, 3, 2)
        self.pos = nn.Linear(8, 8)
        self.blocks = nn.ModuleList(PosBlock(self.pos) for _ in range(2))
        self.head = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.stem(x), 2).flatten(2).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        return self.head(x.flatten(1))


class Siamese(nn.Module):
    """One encoder under two names (``left`` and ``right``), called on both halves."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        encoder = nn.Sequential(cbr(3, 8, 3, 2), nn.MaxPool2d(2))
        self.left = encoder
        self.right = encoder
        self.fc = _fc(fc_in, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.chunk(x, 2, dim=1)
        a = torch.flatten(self.left(a), 1)
        b = torch.flatten(self.right(b), 1)
        return self.fc(torch.abs(a - b))


class TiedLM(nn.Module):
    """Token ids -> Embedding -> causal Conv1d -> Linear whose weight *is* the embedding's."""

    def __init__(self, fc_in: int | None = None, vocab: int = 40, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.conv = nn.Conv1d(dim, dim, 3, padding=2)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens).transpose(1, 2)
        x = F.gelu(self.conv(x)[..., :-2])
        return self.head(x.transpose(1, 2))


class TiedProjection(nn.Module):
    """``b.weight = a.weight`` (two names, one Parameter) and ``F.linear(x, a.weight.t())``."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.features = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 16, 3, 2), nn.AdaptiveAvgPool2d(2))
        self.proj = _fc(fc_in, 16)
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        self.b.weight = self.a.weight
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.proj(torch.flatten(self.features(x), 1)))
        x = F.linear(self.b(self.a(x)), self.a.weight.t())
        return self.head(x)


class MyLinear(nn.Linear):
    pass


class Conv2dSame(nn.Conv2d):
    """timm's TF-'same' convolution: a Conv2d subclass padding in its own forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + (kh - 1) * self.dilation[0] + 1 - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + (kw - 1) * self.dilation[1] + 1 - iw, 0)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


class SubclassNet(nn.Module):
    def __init__(self, fc_in: int | None, conv: type[nn.Conv2d] = nn.Conv2d,
                 linear: type[nn.Linear] = MyLinear) -> None:
        super().__init__()
        self.conv1 = conv(3, 8, 3, stride=2)
        self.conv2 = conv(8, 16, 3, stride=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.LazyLinear(10) if fc_in is None else linear(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return self.fc(x.view(x.size(0), -1))


# ----------------------------------------------------------------------------- parametrizations


class WeightNormNet(nn.Module):
    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.conv1 = P.weight_norm(nn.Conv2d(3, 8, 3, 2))
        self.conv2 = P.weight_norm(nn.Conv2d(8, 16, 3, 2))
        self.fc = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.relu(self.conv2(F.relu(self.conv1(x)))), 1))


class SNDiscriminator(nn.Module):
    """A GAN discriminator: ``spectral_norm`` on every conv and on the Linear."""

    def __init__(self, fc_in: int | None, sn_convs: bool = True) -> None:
        super().__init__()
        sn = P.spectral_norm if sn_convs else (lambda m: m)
        self.main = nn.Sequential(sn(nn.Conv2d(3, 8, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),
                                  sn(nn.Conv2d(8, 16, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True))
        fc = _fc(fc_in, 1)
        self.fc = fc if fc_in is None else P.spectral_norm(fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.main(x).view(x.shape[0], -1))


# ----------------------------------------------------------------------------- 1-D, 3-D, sequences


def audio_m5(fc_in: int | None) -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(1, 8, 80, 16), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(8, 8, 3), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(8, 16, 3), nn.ReLU(), nn.MaxPool1d(4, ceil_mode=True),
        nn.Flatten(), _fc(fc_in, 10))


class TextCNN(nn.Module):
    """Kim's sentence CNN: Embedding, Conv1d of widths 3/4/5, max over time, cat."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(50, 16)
        self.convs = nn.ModuleList(nn.Conv1d(16, 8, k) for k in (3, 4, 5))
        self.dropout = nn.Dropout(0.5)
        self.fc = _fc(fc_in, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens).permute(0, 2, 1)
        pooled = []
        for conv in self.convs:
            c = F.relu(conv(x))
            pooled.append(F.max_pool1d(c, c.size(2)).squeeze(2))
        return self.fc(self.dropout(torch.cat(pooled, 1)))


class WaveNet(nn.Module):
    """Causal dilated Conv1d (left ``F.pad``), gated ``tanh * sigmoid``, residual and skip sums."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.inp = nn.Conv1d(1, 8, 1)
        self.dilations = (1, 2, 4)
        self.filters = nn.ModuleList(nn.Conv1d(8, 16, 2, dilation=d) for d in self.dilations)
        self.res = nn.ModuleList(nn.Conv1d(8, 8, 1) for _ in self.dilations)
        self.fc = _fc(fc_in, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        skip = torch.zeros_like(x)
        for d, conv, res in zip(self.dilations, self.filters, self.res, strict=True):
            a, b = conv(F.pad(x, (d, 0))).chunk(2, dim=1)
            h = res(torch.tanh(a) * torch.sigmoid(b))
            x = x + h
            skip = skip + h
        return self.fc(F.relu(skip).mean(-1))


class PointNet(nn.Module):
    """PointNet classifier with its input T-Net: ``torch.max(x, 2, keepdim=True)[0]``,
    ``x.view(-1, 64)`` with the right size, ``torch.bmm`` with a 3x3 transform."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.tnet = nn.Sequential(nn.Conv1d(3, 16, 1), nn.ReLU(), nn.Conv1d(16, 32, 1), nn.ReLU())
        self.tnet_fc = nn.Linear(32, 9)
        self.conv1 = nn.Conv1d(3, 16, 1)
        self.conv2 = nn.Conv1d(16, 64, 1)
        self.bn = nn.BatchNorm1d(64)
        self.fc1 = _fc(fc_in, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.size(0)
        t = torch.max(self.tnet(x), 2, keepdim=True)[0].view(-1, 32)
        iden = torch.eye(3, device=x.device, dtype=x.dtype).view(1, 9).repeat(B, 1)
        trans = (self.tnet_fc(t) + iden).view(-1, 3, 3)
        x = torch.bmm(x.transpose(2, 1), trans).transpose(2, 1)
        x = self.bn(self.conv2(F.relu(self.conv1(x))))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, 64)
        return self.fc2(F.relu(self.fc1(x)))


def c3d(fc_in: int | None) -> nn.Module:
    class C3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv3d(3, 8, 3, padding=1)
            self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
            self.conv2 = nn.Conv3d(8, 16, 3, padding=1)
            self.pool2 = nn.MaxPool3d(2, 2, ceil_mode=True)
            self.fc6 = _fc(fc_in, 16)
            self.fc7 = nn.Linear(16, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool1(F.relu(self.conv1(x)))
            x = self.pool2(F.relu(self.conv2(x)))
            x = x.view(x.size(0), -1)
            return self.fc7(F.relu(self.fc6(x)))

    return C3D()


class R2Plus1D(nn.Module):
    """(2+1)-D factorized convs ``(1, 3, 3)`` then ``(3, 1, 1)``, a residual, AdaptiveAvgPool3d."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, 8, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
                                  nn.BatchNorm3d(8), nn.ReLU(inplace=True),
                                  nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0), bias=False),
                                  nn.BatchNorm3d(8), nn.ReLU(inplace=True))
        self.spatial = nn.Conv3d(8, 8, (1, 3, 3), padding=(0, 1, 1))
        self.temporal = nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0))
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = _fc(fc_in, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = F.relu(x + self.temporal(F.relu(self.spatial(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CRNN(nn.Module):
    """Text recognition: convs to height 1-2, ``view(b, c * h, w).permute(2, 0, 1)``,
    a Linear to the sequence size, a bidirectional LSTM, a per-step classifier."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.cnn = nn.Sequential(cbr(1, 8, 3), nn.MaxPool2d(2), cbr(8, 16, 3), nn.MaxPool2d((2, 1)),
                                 cbr(16, 16, 3), nn.MaxPool2d((2, 1)))
        self.map_to_seq = _fc(fc_in, 16)
        self.rnn = nn.LSTM(16, 16, bidirectional=True)
        self.dense = nn.Linear(32, 11)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cnn(x)
        b, c, h, w = x.size()
        x = self.map_to_seq(x.view(b, c * h, w).permute(2, 0, 1))
        out, _ = self.rnn(x)
        return self.dense(out)


class ConvTransformer(nn.Module):
    """Conv1d subsampling of audio features, then ``nn.TransformerEncoder`` (sequence first)."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.subsample = nn.Sequential(nn.Conv1d(8, 16, 3, 2), nn.GELU(), nn.Conv1d(16, 16, 3, 2), nn.GELU())
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.fc = _fc(fc_in, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.subsample(x).permute(2, 0, 1)
        return self.fc(self.encoder(x).mean(0))


# ----------------------------------------------------------------------------- generative, attention, dense


def dcgan_generator(fc_in: int | None = None) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(16, 32, 4, 1, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(True),
        nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(True),
        nn.ConvTranspose2d(16, 3, 4, 2, 1, bias=False), nn.Tanh())


class VAE(nn.Module):
    """Two Linears (``mu``, ``logvar``) read the same flattened features."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 4, 2, 1), nn.ReLU())
        self.mu = _fc(fc_in, 8)
        self.logvar = _fc(fc_in, 8)
        self.dec_in = nn.Linear(8, 16 * 7 * 7)
        self.dec = nn.Sequential(nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(),
                                 nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.enc(x).flatten(start_dim=1)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.dec(self.dec_in(z).view(-1, 16, 7, 7)), mu, logvar


class NonLocal(nn.Module):
    """Non-local block: ``view(b, c, -1).permute``, ``torch.matmul``, softmax, ``view(b, c, h, w)``."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.inter = c // 2
        self.theta = nn.Conv2d(c, self.inter, 1)
        self.phi = nn.Conv2d(c, self.inter, 1)
        self.g = nn.Conv2d(c, self.inter, 1)
        self.W = nn.Sequential(nn.Conv2d(self.inter, c, 1), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).view(b, self.inter, -1).permute(0, 2, 1)
        phi = self.phi(x).view(b, self.inter, -1)
        g = self.g(x).view(b, self.inter, -1).permute(0, 2, 1)
        y = torch.matmul(F.softmax(torch.matmul(theta, phi), dim=-1), g)
        y = y.permute(0, 2, 1).contiguous().view(b, self.inter, h, w)
        return x + self.W(y)


class CBAM(nn.Module):
    """Channel attention through a Linear MLP called twice (avg and max), then spatial attention."""

    def __init__(self, fc_in: int | None, c: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(_fc(fc_in, c // 4), nn.ReLU(), nn.Linear(c // 4, c))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1).flatten(1))
        mx = self.mlp(F.adaptive_max_pool2d(x, 1).flatten(1))
        x = x * torch.sigmoid(avg + mx).unsqueeze(-1).unsqueeze(-1)
        s = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(s))


class AttentionNet(nn.Module):
    def __init__(self, fc_in: int | None, kind: str) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 16, 3, 2), nn.MaxPool2d(2))
        self.attn: nn.Module = NonLocal(16) if kind == "nonlocal" else CBAM(fc_in)
        self.fc = nn.Linear(16, 10) if kind == "cbam" else _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.attn(self.stem(x)).mean((2, 3)))


class ASPP(nn.Module):
    """DeepLab: parallel dilated convs and an image-pooling branch resized by ``F.interpolate``."""

    def __init__(self, fc_in: int | None = None) -> None:
        super().__init__()
        self.backbone = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 16, 3, 2))
        self.branches = nn.ModuleList([cbr(16, 8, 1)] + [cbr(16, 8, 3, d=d) for d in (2, 3)])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 8, 1), nn.ReLU())
        self.project = cbr(32, 8, 1)
        self.classifier = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        f = self.backbone(x)
        outs = [b(f) for b in self.branches]
        outs.append(F.interpolate(self.pool(f), size=f.shape[-2:], mode="bilinear", align_corners=False))
        y = self.classifier(self.project(torch.cat(outs, dim=1)))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)


def espcn(fc_in: int | None = None) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.Tanh(), nn.Conv2d(16, 8, 3, padding=1),
                         nn.Tanh(), nn.Conv2d(8, 3 * 4, 3, padding=1), nn.PixelShuffle(2))


class ChannelsLast(nn.Module):
    """Images arrive as (N, H, W, C) (from PIL/NumPy); the model permutes them itself."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 8, 3, 2), nn.AdaptiveAvgPool2d((2, 2)))
        self.fc = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)
        return self.fc(torch.flatten(self.body(x), 1))


class ImageAndMetadata(nn.Module):
    """Two positional inputs: an image and a per-sample vector (age, sex, ...), concatenated
    with the image features before the classifier."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 16, 3, 2), nn.MaxPool2d(2))
        self.meta = nn.Linear(5, 8)
        self.fc = _fc(fc_in, 10)

    def forward(self, x: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.cat([torch.flatten(self.body(x), 1), F.relu(self.meta(meta))], 1))


class MaskedKeyword(nn.Module):
    """A keyword input: a per-pixel mask applied to the features (``model(x, mask=m)``)."""

    def __init__(self, fc_in: int | None) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 8, 3))
        self.fc = _fc(fc_in, 4)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        f = self.body(x)
        if mask is not None:
            f = f * F.interpolate(mask, size=f.shape[-2:])
        return self.fc(f.flatten(1))


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Entry:
    """One zoo architecture.

    ``build(fc_in)`` makes the model: ``fc_in`` sets the Linear(s) after the convolutions
    (``None``: ``nn.LazyLinear``). ``fc=False`` marks a model without such a step (its builder
    ignores ``fc_in``). ``shape`` and ``odd`` are per-sample input shapes (no batch).
    ``batch_ok=False`` marks the forum bugs that fold the batch into the features: they run
    at batch 1 only. ``more`` and ``keywords`` give a forward that takes several inputs.
    """

    name: str
    pattern: str
    build: Callable[[int | None], nn.Module]
    shape: Shape
    odd: Shape
    fc: bool = True
    batch_ok: bool = True
    dtype: torch.dtype = torch.float32
    more: tuple[Shape, ...] = ()
    """Per-sample shapes of further positional inputs (the same for ``shape`` and ``odd``)."""
    keywords: tuple[tuple[str, Shape], ...] = ()
    """Keyword inputs by name and per-sample shape."""


def _zoo() -> list[Entry]:
    img, odd = (3, 32, 32), (3, 35, 33)
    E = Entry
    return [
        # plain stacks: VGG, LeNet, AlexNet, pooling arithmetic, lazy layers
        E("lenet", "plain", LeNet, (1, 32, 32), (1, 35, 33)),
        E("vgg_flatten1", "plain", lambda fc: Plain(fc), img, (3, 37, 35)),
        E("vgg_bn_view_size", "plain", lambda fc: Plain(fc, flatten="size", bn=True), img, (3, 45, 29)),
        E("vgg_adaptive", "plain", lambda fc: Plain(fc, flatten="method", pool=nn.AdaptiveAvgPool2d((2, 2))),
          img, (3, 41, 27)),
        E("vgg_nn_flatten", "plain", lambda fc: Plain(fc, module_flatten=nn.Flatten()), img, odd),
        E("vgg_reshape_shape0", "plain", lambda fc: Plain(fc, flatten="shape0"), img, odd),
        E("alexnet", "plain", AlexNet, (3, 63, 63), (3, 70, 66)),
        E("pool_ceil_dilation", "plain", pool_ceil_dilation, (3, 40, 40), (3, 45, 43)),
        E("lazy_linear_head", "lazy", lambda fc: Plain(None, module_flatten=nn.Flatten()), img, odd,
          fc=False),
        E("lazy_conv_net", "lazy", LazyConvNet, img, odd, fc=False),
        # ResNet family
        E("resnet_basic", "resnet", lambda fc: ResNet(fc), img, odd),
        E("resnet_bottleneck_view", "resnet",
          lambda fc: ResNet(fc, Bottleneck, head="adaptive_view", stem_pool=True), img, odd),
        E("preact_resnet_avgpool4", "resnet", lambda fc: ResNet(fc, PreAct, head="avgpool4"), img,
          (3, 41, 37)),
        E("resnext_grouped", "resnet", lambda fc: ResNet(fc, Bottleneck, (16, 32, 64), groups=4), img, odd),
        E("se_resnet", "resnet", lambda fc: ResNet(fc, se=True), img, odd),
        E("wide_resnet_dropout", "resnet", lambda fc: ResNet(fc, widths=(16, 32, 32), head="mean", drop=0.3),
          img, odd),
        E("resnet1d", "resnet", ResNet1d, (1, 500), (1, 513)),
        # branches and concatenation
        E("inception", "inception", lambda fc: Inception(fc), (3, 40, 40), (3, 47, 45)),
        E("inception_factorized", "inception", lambda fc: Inception(fc, True), (3, 40, 40), (3, 47, 45)),
        E("densenet_list", "densenet", lambda fc: DenseNet(fc), img, odd),
        E("densenet_cat", "densenet", lambda fc: DenseNet(fc, as_list=False), img, odd),
        # mobile networks: depthwise, squeeze-excite
        E("mobilenet_v1", "mobile", mobilenet_v1, img, odd),
        E("mobilenet_v2", "mobile", lambda fc: MobileNet(fc), img, odd),
        E("mobilenet_v3", "mobile", lambda fc: MobileNet(fc, v3=True), img, odd),
        E("efficientnet", "mobile", EfficientNet, img, odd),
        E("shufflenet_v2", "mobile", ShuffleNet, img, odd),
        E("squeezenet", "mobile", SqueezeNet, (3, 48, 48), (3, 51, 49), fc=False),
        # ConvNeXt, ViT, Mixer, Swin
        E("convnext", "convnext", lambda fc: ConvNeXt(fc), img, (3, 35, 34)),
        E("vit_mha", "vit", lambda fc: ViT(fc), img, (3, 35, 39)),
        E("vit_handwritten", "vit", lambda fc: ViT(fc, attn="manual"), img, (3, 35, 39)),
        E("vit_sdpa_meanpool", "vit", lambda fc: ViT(fc, attn="sdpa", pool="mean"), img, (3, 35, 39)),
        E("mlp_mixer", "vit", Mixer, img, (3, 39, 33)),
        E("swin_windows", "swin", lambda fc: Swin(fc, shifted=False), img, (3, 36, 37)),
        E("swin_shifted", "swin", lambda fc: Swin(fc), img, (3, 36, 37)),
        # dense prediction: U-Net, FPN, DeepLab, super-resolution, generator
        E("unet_transpose", "unet", lambda fc: UNet(), img, (3, 35, 37), fc=False),
        E("unet_bilinear", "unet", lambda fc: UNet(bilinear=True), img, (3, 35, 37), fc=False),
        E("unet_valid_crop", "unet", UNetValid, (1, 44, 44), (1, 45, 47), fc=False),
        E("fpn_shared_head", "unet", FPN, img, (3, 35, 37), fc=False),
        E("aspp", "unet", ASPP, img, (3, 35, 37), fc=False),
        E("espcn_pixelshuffle", "unet", espcn, (3, 16, 16), (3, 17, 15), fc=False),
        E("dcgan_generator", "generative", dcgan_generator, (16, 1, 1), (16, 2, 3), fc=False),
        E("vae_two_heads", "generative", VAE, (1, 28, 28), (1, 29, 29)),
        # detection: caches filled during forward
        E("yolo_grid_cache", "detection", YoloNet, img, (3, 35, 37), fc=False),
        E("anchor_dict_cache", "detection", TwoStage, img, (3, 35, 37)),
        E("gradcam_store", "detection", lambda fc: ResNet(fc, store=True), img, odd),
        # shared and tied modules
        E("shared_pos_linear", "shared", SharedPos, (3, 16, 16), (3, 17, 19)),
        E("siamese_shared_encoder", "shared", Siamese, (6, 32, 32), (6, 35, 33)),
        E("tied_lm", "tied", TiedLM, (12,), (13,), fc=False, dtype=torch.long),
        E("tied_projection", "tied", TiedProjection, img, odd),
        # subclasses of torch.nn layers
        E("linear_subclass", "subclass", SubclassNet, img, odd),
        E("conv_subclass_same", "subclass", lambda fc: SubclassNet(fc, Conv2dSame, nn.Linear), img, odd),
        E("layernorm_subclass", "subclass", lambda fc: ConvNeXt(fc, ln_subclass=True), img, (3, 35, 34)),
        # parametrizations
        E("weight_norm", "parametrization", WeightNormNet, img, odd),
        E("spectral_norm_gan_d", "parametrization", SNDiscriminator, img, odd),
        E("spectral_norm_fc", "parametrization", lambda fc: SNDiscriminator(fc, sn_convs=False), img, odd),
        # 1-D, 3-D, sequences
        E("audio_m5", "1d", audio_m5, (1, 4000), (1, 4003)),
        E("text_cnn", "1d", TextCNN, (20,), (23,), dtype=torch.long),
        E("wavenet", "1d", WaveNet, (1, 64), (1, 67)),
        E("pointnet", "1d", PointNet, (3, 64), (3, 61)),
        E("c3d", "3d", c3d, (3, 8, 16, 16), (3, 9, 17, 15)),
        E("r2plus1d", "3d", R2Plus1D, (3, 4, 16, 16), (3, 5, 17, 19)),
        E("crnn_lstm", "sequence", CRNN, (1, 16, 40), (1, 17, 43)),
        E("conv_transformer", "sequence", ConvTransformer, (8, 50), (8, 53)),
        # attention blocks, layouts
        E("nonlocal", "attention", lambda fc: AttentionNet(fc, "nonlocal"), img, odd),
        E("cbam_shared_mlp", "attention", lambda fc: AttentionNet(fc, "cbam"), img, odd),
        E("channels_last_input", "layout", ChannelsLast, (32, 32, 3), (35, 33, 3)),
        # several inputs: positional, keyword
        E("image_and_metadata", "inputs", ImageAndMetadata, img, odd, more=((5,),)),
        E("masked_keyword", "inputs", MaskedKeyword, img, odd, keywords=(("mask", (1, 8, 8)),)),
        # forum bugs: the batch folded into the features (right only at batch 1)
        E("forum_torch_flatten", "batch-leak", lambda fc: Plain(fc, flatten="flatten0"), img, odd,
          batch_ok=False),
        E("forum_reshape_minus1", "batch-leak", lambda fc: Plain(fc, flatten="reshape"), img, odd,
          batch_ok=False),
        E("forum_flatten_start0", "batch-leak", lambda fc: Plain(fc, module_flatten=nn.Flatten(0)), img, odd,
          batch_ok=False),
    ]


ZOO: dict[str, Entry] = {e.name: e for e in _zoo()}


# ----------------------------------------------------------------------------- the oracles


def make_input(entry: Entry, shape: Shape, batch: int) -> torch.Tensor:
    """A real CPU input (token id 0 for embedding models)."""
    if entry.dtype == torch.long:
        return torch.zeros((batch, *shape), dtype=torch.long)
    return torch.randn((batch, *shape), generator=torch.Generator().manual_seed(0))


def make_inputs(entry: Entry, shape: Shape,
                batch: int) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    """Every real input of the forward: positional, then keyword (``make_input`` is the first)."""
    gen = torch.Generator().manual_seed(1)
    more = tuple(torch.randn((batch, *s), generator=gen) for s in entry.more)
    keywords = {k: torch.rand((batch, *s), generator=gen) for k, s in entry.keywords}
    return (make_input(entry, shape, batch), *more), keywords


def trace_inputs(entry: Entry, shape: Shape, batch: int) -> tuple[Any, dict[str, Shape]]:
    """``(input_shape, inputs)`` for ``convwidget.trace``: one shape or a list, and keywords."""
    first = (batch, *shape)
    shapes = [first, *((batch, *s) for s in entry.more)] if entry.more else first
    return shapes, {k: (batch, *s) for k, s in entry.keywords}


def first_tensor(obj: Any) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = first_tensor(o)
            if t is not None:
                return t
    return None


def is_layer(module: nn.Module) -> bool:
    """A ``torch.nn`` layer or a subclass of one (containers never end up as leaf calls)."""
    return any(c.__module__.startswith("torch.nn.modules") for c in type(module).__mro__[:-2])


@dataclass
class Forward:
    """What a real forward did: every leaf layer call as (name, input shape, output shape)
    in order (first tensor of each), the ``in_features`` each Linear received (first call),
    and the output shape."""

    calls: list[tuple[str, Shape | None, Shape | None]] = field(default_factory=list)
    linear_in: dict[str, int] = field(default_factory=dict)
    output_shape: Shape | None = None


def _shape(obj: Any) -> Shape | None:
    t = first_tensor(obj)
    return None if t is None else tuple(t.shape)


def real_forward(model: nn.Module, x: torch.Tensor, *more: torch.Tensor, **keywords: torch.Tensor) -> Forward:
    """Run ``model`` in eval mode on real ``x`` with hooks on every module (names as
    ``named_modules`` gives them, first name for a shared module). A leaf call is a call of
    a layer during which no other module ran; parametrization internals are not counted."""
    names = {id(m): n for n, m in model.named_modules()}
    seen = Forward()
    stack: list[list[Any]] = []

    def pre(m: nn.Module, args: tuple) -> None:
        if stack:
            stack[-1][1] = True
        stack.append([m, False, _shape(args)])
        if isinstance(m, nn.Linear) and stack[-1][2]:
            seen.linear_in.setdefault(names[id(m)], stack[-1][2][-1])

    def post(m: nn.Module, args: tuple, out: Any) -> None:
        _, had_child, in_shape = stack.pop()
        if not had_child and is_layer(m):
            seen.calls.append((names[id(m)], in_shape, _shape(out)))

    handles = []
    for name, m in model.named_modules():
        if "parametrizations" not in name.split("."):
            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        with torch.no_grad():
            out = model.eval()(x, *more, **keywords)
    finally:
        for h in handles:
            h.remove()
    seen.output_shape = _shape(out)
    return seen


_TRUE_FC: dict[tuple[str, Shape], dict[str, int]] = {}


def true_fc(entry: Entry, shape: Shape) -> dict[str, int]:
    """The in_features each ``fc_in`` Linear needs at this input shape (execution order), from
    a real batch-1 forward of the model built with ``nn.LazyLinear`` there. ``{}`` without one."""
    key = (entry.name, shape)
    if key not in _TRUE_FC:
        found: dict[str, int] = {}
        if entry.fc:
            model = entry.build(None)
            lazy = {n for n, m in model.named_modules()
                    if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()}  # type: ignore[misc]
            args, keywords = make_inputs(entry, shape, 1)
            seen = real_forward(model, *args, **keywords).linear_in
            found = {n: v for n, v in seen.items() if n in lazy}
            assert set(found) == lazy, f"{entry.name}: lazy {lazy} but ran {found}"
        _TRUE_FC[key] = found
    return dict(_TRUE_FC[key])


def fc_value(entry: Entry, shape: Shape) -> int | None:
    """The one ``fc_in`` that makes the model right at ``shape`` (None without an fc step)."""
    values = set(true_fc(entry, shape).values())
    assert len(values) <= 1, f"{entry.name}: the fc Linears need different sizes {values}"
    return values.pop() if values else None


def build_right(entry: Entry, shape: Shape) -> nn.Module:
    """The model with the right ``fc_in`` for ``shape`` (same weights every time; the global
    random state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return entry.build(fc_value(entry, shape))


def leaf_calls(entry: Entry, shape: Shape, batch: int) -> Forward:
    """The real forward of a fresh, right model at ``(batch, *shape)``."""
    args, keywords = make_inputs(entry, shape, batch)
    return real_forward(build_right(entry, shape), *args, **keywords)


# ----------------------------------------------------------------------------- the untouched-model check

_HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
               "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
               "_backward_pre_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
               "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")
_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_hooks_with_kwargs",
                 "_global_forward_hooks_always_called", "_global_forward_pre_hooks",
                 "_global_backward_hooks", "_global_backward_pre_hooks",
                 "_global_module_registration_hooks", "_global_parameter_registration_hooks",
                 "_global_buffer_registration_hooks")


@dataclass
class TensorState:
    obj: torch.Tensor
    facts: tuple
    values: torch.Tensor | None


def _tensor_state(t: torch.Tensor) -> TensorState:
    if isinstance(t, (UninitializedParameter, UninitializedBuffer)):
        return TensorState(t, (type(t), t.requires_grad), None)
    facts = (type(t), t.device, t.dtype, tuple(t.shape), t.requires_grad, t.data_ptr(), t._version,
             Same(t.grad))
    values = None if t.device.type == "meta" else t.detach().clone()
    return TensorState(t, facts, values)


def _walk(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor reachable from an attribute value, through lists, tuples and dicts."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif depth < 4 and isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]", depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}[{k!r}]", depth + 1)


class Same:
    """Equal only to the same object; holds it, so its ``id`` cannot be reused meanwhile."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj

    def __repr__(self) -> str:
        return f"<{type(self.obj).__name__} object at {id(self.obj):#x}>"


def snapshot(model: nn.Module) -> dict[str, Any]:
    """Everything a call must leave as it was: each module (by every path it is reachable
    by) with its attributes (names and objects), training flag, hooks and submodules, and
    every parameter, buffer and tensor reachable from its attributes through lists, tuples
    and dicts (object, device, dtype, shape, requires_grad, data_ptr, version counter, grad,
    values); the global module hooks, grad mode, function modes and default dtype."""
    state: dict[str, Any] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        where = name or "<model>"
        state[f"{where}: module"] = Same(m)
        state[f"{where}: training"] = m.training
        for k, v in vars(m).items():
            if k in _HOOK_DICTS:
                state[f"{where}: {k}"] = [(h, Same(f)) for h, f in v.items()]
                continue
            state[f"{where}: attribute {k}"] = Same(v)
            if k == "_modules":
                state[f"{where}: submodules"] = [(c, Same(sub)) for c, sub in v.items()]
                continue
            for path, t in _walk(v, k):
                state[f"{where}: tensor {path}"] = _tensor_state(t)
    from torch.nn.modules import module as torch_module
    for g in _GLOBAL_HOOKS:
        state[f"global {g}"] = [(k, Same(v)) for k, v in getattr(torch_module, g, {}).items()]
    state["global grad mode"] = torch.is_grad_enabled()
    state["global function modes"] = len(torch.overrides._get_current_function_mode_stack())
    state["global default dtype"] = torch.get_default_dtype()
    return state


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Sentences naming what differs between two snapshots."""
    out = [f"{k}: gone" for k in before if k not in after]
    out += [f"{k}: new" for k in after if k not in before]
    for k, old in before.items():
        if k not in after:
            continue
        new = after[k]
        if isinstance(old, TensorState):
            if new.obj is not old.obj:
                out.append(f"{k}: replaced by another tensor ({new.facts[1:4]})")
            elif new.facts != old.facts:
                out.append(f"{k}: {old.facts} -> {new.facts}")
            elif old.values is not None and not torch.equal(old.values, new.obj.detach()):
                out.append(f"{k}: values changed")
        elif new != old:
            out.append(f"{k}: {old!r} -> {new!r}"[:300])
    return out


def assert_unchanged(before: dict[str, Any], model: nn.Module) -> None:
    """Fail with the list of differences if ``model`` is not as ``snapshot`` saw it."""
    found = changes(before, snapshot(model))
    assert not found, f"{len(found)} change(s) to the model:\n" + "\n".join(found[:25])
