"""Reference models for the tracer tests and benchmarks, built from ``torch.nn`` only.

(torchvision does not import beside the CPU torch here, so VGG-16 and ResNet-50 are
written out.) Every builder takes the ``in_features`` of the Linear that follows the
flatten step as ``fc_in``: the right value, a deliberately wrong one, or ``None`` for an
``nn.LazyLinear`` whose dry run on a real tensor tells the truth (``true_in_features``).
``width`` divides channel counts so the PyTorch oracle can run a real forward cheaply;
``device="meta"`` builds a model without allocating its weights.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


def _linear(fc_in: int | None, out: int, device: Any = None) -> nn.Module:
    if fc_in is None:
        return nn.LazyLinear(out, device=device)
    return nn.Linear(fc_in, out, device=device)


class LeNet(nn.Module):
    """LeNet-5 as in the PyTorch 60-minute blitz: functional pooling, ``x.view(-1, N)``."""

    def __init__(self, fc_in: int | None = 400) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = _linear(fc_in, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class CifarNet(nn.Module):
    """The forum CIFAR-10 net: three conv blocks, then ``Linear(4096, 1024)``.

    ``view`` chooses the flatten written in ``forward``: ``"size"`` is
    ``x.view(x.size(0), -1)``, ``"minus1"`` the trap ``x.view(-1, fc_in)``.
    """

    def __init__(self, fc_in: int | None = 4096, view: str = "size", width: int = 1,
                 device: Any = None) -> None:
        super().__init__()
        c32, c64, c128, c256 = (c // width for c in (32, 64, 128, 256))
        kw = {"device": device}
        self.conv_layer = nn.Sequential(
            nn.Conv2d(3, c32, kernel_size=3, padding=1, **kw),
            nn.BatchNorm2d(c32, **kw),
            nn.ReLU(inplace=True),
            nn.Conv2d(c32, c64, kernel_size=3, padding=1, **kw),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(c64, c128, kernel_size=3, padding=1, **kw),
            nn.BatchNorm2d(c128, **kw),
            nn.ReLU(inplace=True),
            nn.Conv2d(c128, c128, kernel_size=3, padding=1, **kw),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(c128, c256, kernel_size=3, padding=1, **kw),
            nn.BatchNorm2d(c256, **kw),
            nn.ReLU(inplace=True),
            nn.Conv2d(c256, c256, kernel_size=3, padding=1, **kw),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.fc_layer = nn.Sequential(
            nn.Dropout(p=0.1),
            _linear(fc_in, 1024, device),
            nn.ReLU(inplace=True),
            nn.Linear(1024, 512, **kw),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.1),
            nn.Linear(512, 10, **kw),
        )
        self.view = view
        self.fc_in = fc_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_layer(x)
        x = x.view(-1, self.fc_in) if self.view == "minus1" else x.view(x.size(0), -1)
        return self.fc_layer(x)


VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M"]


class VGG(nn.Module):
    """VGG-16 (configuration D) with batch norm off, as torchvision builds it."""

    def __init__(self, fc_in: int | None = 512 * 7 * 7, width: int = 1, num_classes: int = 1000,
                 adaptive: bool = True, device: Any = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                out = int(v) // width
                layers += [nn.Conv2d(c, out, kernel_size=3, padding=1, device=device),
                           nn.ReLU(inplace=True)]
                c = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7)) if adaptive else nn.Identity()
        hidden = 4096 // width
        self.classifier = nn.Sequential(
            _linear(fc_in, hidden, device),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(hidden, hidden, device=device),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(hidden, num_classes, device=device),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, device: Any = None) -> None:
        super().__init__()
        kw = {"device": device}
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False, **kw)
        self.bn1 = nn.BatchNorm2d(planes, **kw)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False, **kw)
        self.bn2 = nn.BatchNorm2d(planes, **kw)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False, **kw)
        self.bn3 = nn.BatchNorm2d(planes * 4, **kw)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return F.relu(out)


class ResNet50(nn.Module):
    """ResNet-50: bottleneck residual blocks, functional stem pooling and head pooling."""

    def __init__(self, fc_in: int | None = 2048, width: int = 1, num_classes: int = 1000,
                 global_pool: bool = True, device: Any = None) -> None:
        super().__init__()
        kw = {"device": device}
        self.inplanes = 64 // width
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, stride=2, padding=3, bias=False, **kw)
        self.bn1 = nn.BatchNorm2d(self.inplanes, **kw)
        self.layer1 = self._make_layer(64 // width, 3, 1, device)
        self.layer2 = self._make_layer(128 // width, 4, 2, device)
        self.layer3 = self._make_layer(256 // width, 6, 2, device)
        self.layer4 = self._make_layer(512 // width, 3, 2, device)
        self.fc = _linear(fc_in, num_classes, device)
        self.global_pool = global_pool

    def _make_layer(self, planes: int, blocks: int, stride: int, device: Any) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False, device=device),
                nn.BatchNorm2d(planes * 4, device=device),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, device)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, device=device) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = F.adaptive_avg_pool2d(x, 1) if self.global_pool else F.avg_pool2d(x, 7)
        x = torch.flatten(x, 1)
        return self.fc(x)


class AudioNet(nn.Module):
    """M5-style 1-D audio net on raw 8 kHz waveforms."""

    def __init__(self, fc_in: int | None = 64 * 7, n_classes: int = 35) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, 32, kernel_size=80, stride=16),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.MaxPool1d(4),
            nn.Conv1d(32, 32, kernel_size=3),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.MaxPool1d(4),
            nn.Conv1d(32, 64, kernel_size=3),
            nn.ReLU(),
            nn.MaxPool1d(4, ceil_mode=True),
        )
        self.head = nn.Sequential(nn.Flatten(), _linear(fc_in, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class VideoNet(nn.Module):
    """A small Conv3d net for clips (N, C, T, H, W)."""

    def __init__(self, fc_in: int | None = 16 * 4 * 8 * 8, fc_out: int = 10,
                 fc_device: Any = None) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(1, 8, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm3d(8),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(2),
            nn.Conv3d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=2, stride=2),
        )
        self.fc = _linear(fc_in, fc_out, fc_device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.flatten(1)
        return self.fc(x)


def dilated_ceil_net(fc_in: int | None = 32 * 4 * 4) -> nn.Sequential:
    """Dilated convolutions and ceil-mode / padded pooling, as a plain chain."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, dilation=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        nn.Conv2d(16, 32, 3, padding=2, dilation=2),
        nn.MaxPool2d(2, padding=1, ceil_mode=True),
        nn.AvgPool2d(3, stride=2, ceil_mode=True),
        nn.MaxPool2d(2, stride=2, dilation=2, ceil_mode=True),
        nn.Flatten(),
        _linear(fc_in, 10),
    )


class Autoencoder(nn.Module):
    """Conv encoder -> Linear bottleneck -> transposed-conv decoder."""

    def __init__(self, fc_in: int | None = 64 * 7 * 7, latent: int = 32) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
            _linear(fc_in, latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, 64 * 7 * 7),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, padding=2, dilation=2),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def flatten2_head(fc_in: int | None = 15 * 15) -> nn.Sequential:
    """``Flatten(start_dim=2)``: the Linear acts on each channel's H*W pixels."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(start_dim=2),
        _linear(fc_in, 10),
    )


def true_in_features(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """The oracle: run PyTorch itself on a real CPU tensor and record what each Linear gets.

    Works for models whose Linears are right or lazy (``fc_in=None``); the Lazy ones
    materialize during the dry run.
    """
    seen: dict[str, int] = {}
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.LazyLinear)):
            def hook(mod: nn.Module, args: tuple, name: str = name) -> None:
                seen.setdefault(name, args[0].shape[-1])
            handles.append(m.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model.eval()
            model(torch.zeros(input_shape))
    finally:
        for h in handles:
            h.remove()
    return seen


def run_explorer_setting(s: dict[str, Any]) -> torch.Tensor:
    """Run the ``torch.nn`` layer that a ConvExplorer setting describes (``ConvExplorer.settings``:
    kind, channels, per-dimension pairs, flags) on zeros of its input size: the oracle for the
    explorer's tests, built from torch's own constructors, not from convwidget's code."""
    kind = s["kind"]
    if kind == "conv":
        layer: nn.Module = nn.Conv2d(s["in_channels"], s["out_channels"], s["kernel_size"],
                                     s["stride"], s["padding"], s["dilation"], s["groups"])
    elif kind == "conv_transpose":
        layer = nn.ConvTranspose2d(s["in_channels"], s["out_channels"], s["kernel_size"],
                                   s["stride"], s["padding"], s["output_padding"], s["groups"],
                                   dilation=s["dilation"])
    elif kind == "max_pool":
        layer = nn.MaxPool2d(s["kernel_size"], s["stride"], s["padding"], s["dilation"],
                             ceil_mode=s["ceil_mode"])
    else:
        layer = nn.AvgPool2d(s["kernel_size"], s["stride"], s["padding"], ceil_mode=s["ceil_mode"],
                             count_include_pad=s["count_include_pad"])
    with torch.no_grad():
        return layer(torch.zeros(1, s["in_channels"], *s["input_size"]))
