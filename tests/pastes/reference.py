"""The models the pastes in this folder mean, written out properly with torch.nn.

Each function builds the real model a paste describes: its forward as the author wrote it
(pools reused, functional calls, helpers defined elsewhere given a body), its indentation
restored, its unknown names given values (``num_classes``, ``cfg.hidden``, ``classes``).
``tests/test_paste_corpus.py`` runs each one forward at the paste's input shape to find the
true answer; no expected number is typed by hand. A first ``nn.Linear`` keeps the
``in_features`` the paste wrote, right or wrong: the forward stops at it.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CFG = SimpleNamespace(hidden=32, num_classes=7, dropout=0.2)
r, mp = nn.ReLU, nn.MaxPool2d  # short names for the Sequentials below


def swish(x: torch.Tensor) -> torch.Tensor:
    """The paste's own helper (unknown_helper.txt defines it above the class)."""
    return x * torch.sigmoid(x)


def mish(x: torch.Tensor) -> torch.Tensor:
    """An activation "defined in my utils.py": any elementwise function will do."""
    return F.mish(x)


class LeNet(nn.Module):
    """The CIFAR-10 tutorial net: one pool module used twice, ``torch.flatten(x, 1)``.

    ``x.view(x.size(0), -1)``, ``x.view(-1, 16 * 5 * 5)`` (at the size where it is right) and
    the printed repr / ``__init__``-only pastes of the same class mean the same forward.
    """

    def __init__(self, channels: int = 3, fc1_in: int = 16 * 5 * 5, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(fc1_in, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class TwoConvPool(nn.Module):
    """conv -> act -> pool, conv -> act -> pool, flatten, fc1 (-> act -> fc2): the most pasted
    shape of all, with the activation and the padding as parameters."""

    def __init__(self, cin: int, mid: int, cout: int, k: int, fc1: tuple[int, int],
                 fc2_out: int | None = None, padding: int = 0, act=F.relu) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid, k, padding=padding)
        self.conv2 = nn.Conv2d(mid, cout, k, padding=padding)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(*fc1)
        self.fc2 = nn.Linear(fc1[1], fc2_out) if fc2_out else None
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.act(self.conv1(x)))
        x = self.pool(self.act(self.conv2(x)))
        x = self.fc1(torch.flatten(x, 1))
        return self.fc2(self.act(x)) if self.fc2 is not None else x


class TorchMnist(nn.Module):
    """pytorch/examples' MNIST net (mnist_mixed_indent.txt): no pool between the convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return F.log_softmax(self.fc2(self.dropout2(x)), dim=1)


class OldMnist(nn.Module):
    """The old pytorch/examples MNIST net with ``x.view(-1, 320)`` (mnist_view_320.txt).

    The view is written here as the per-sample flatten it means: the same where 320 is the
    per-sample count (28 x 28 input); at any other size the view folds the batch into the
    features, and the true answer is still the per-sample count.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.relu(self.fc1(x.flatten(1)))
        return F.log_softmax(self.fc2(F.dropout(x, training=self.training)), dim=1)


class NestedForwardNet(nn.Module):
    """nested_forward.txt with its ``forward`` moved out of ``__init__`` where it belongs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.fc1(x.flatten(1)))  # x.view(-1, 4*4*50): per sample at 28 x 28
        return F.log_softmax(self.fc2(x), dim=1)


class ThreeConvPool(nn.Module):
    """script_lines.txt: three conv/pool stages sharing one pool, dropout used twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, 10)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv1, self.conv2, self.conv3):
            x = self.pool(F.relu(conv(x)))
        x = self.dropout(x.flatten(1))  # x.view(-1, 64 * 4 * 4): per sample at 32 x 32
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


def alexnet(flatten: nn.Module, adaptive: bool) -> nn.Module:
    """torchvision's AlexNet, with the pasted flatten and (alexnet_adaptive.txt) avgpool."""
    features = nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), r(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), r(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), r(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), r(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), r(), nn.MaxPool2d(3, 2))
    classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), r(), nn.Dropout(), nn.Linear(4096, 4096),
        r(), nn.Linear(4096, 1000))
    pool = [nn.AdaptiveAvgPool2d((6, 6))] if adaptive else []
    return nn.Sequential(features, *pool, flatten, classifier)


def vgg_blocks() -> nn.Module:
    """vgg_blocks.txt: three VGG blocks (two conv-BN-ReLU and a pool each)."""

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2))

    classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                               nn.Linear(4096, 200))
    return nn.Sequential(block(3, 64), block(64, 128), block(128, 256), nn.Flatten(), classifier)


def cifar_forum() -> nn.Module:
    """cifar_forum.txt: the forum's CIFAR-10 CNN (three conv blocks, x.view(x.size(0), -1))."""
    conv = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), r(inplace=True),
        nn.Conv2d(32, 64, 3, padding=1), r(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), r(inplace=True),
        nn.Conv2d(128, 128, 3, padding=1), r(inplace=True), nn.MaxPool2d(2, 2),
        nn.Dropout2d(p=0.05),
        nn.Conv2d(128, 256, 3, padding=1), nn.BatchNorm2d(256), r(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), r(inplace=True), nn.MaxPool2d(2, 2))
    fc = nn.Sequential(nn.Dropout(p=0.1), nn.Linear(4096, 1024), r(inplace=True),
                       nn.Linear(1024, 512), r(inplace=True), nn.Dropout(p=0.1),
                       nn.Linear(512, 10))
    return nn.Sequential(conv, nn.Flatten(), fc)


class AudioNet(nn.Module):
    """cut_in_forward.txt: raw-audio Conv1d net (the forward's last line is cut off)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, kernel_size=80, stride=16)
        self.bn1 = nn.BatchNorm1d(16)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(16, 32, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(32)
        self.pool2 = nn.MaxPool1d(4)
        self.fc1 = nn.Linear(32 * 61, 64)
        self.fc2 = nn.Linear(64, 35)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F.relu(self.bn2(self.conv2(x))))
        return self.fc2(F.relu(self.fc1(x.view(x.size(0), -1))))


def audio_1d_sequential() -> nn.Module:
    """audio_1d_sequential.txt: keyword spotting on 16 kHz audio."""
    return nn.Sequential(
        nn.Conv1d(1, 32, kernel_size=80, stride=4), nn.BatchNorm1d(32), r(), nn.MaxPool1d(4),
        nn.Conv1d(32, 32, kernel_size=3), nn.BatchNorm1d(32), r(), nn.MaxPool1d(4),
        nn.Conv1d(32, 64, kernel_size=3), nn.BatchNorm1d(64), r(), nn.MaxPool1d(4),
        nn.Flatten(), nn.Linear(64 * 60, 35))


class SpeechCNN(nn.Module):
    """mel_1d_class.txt: Conv1d over mel bands, constructor defaults n_mels=40, n_classes=12."""

    def __init__(self, n_mels: int = 40, n_classes: int = 12) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, 64, kernel_size=5, padding=2)
        self.conv2 = nn.Conv1d(64, 64, kernel_size=5, stride=2)
        self.conv3 = nn.Conv1d(64, 128, kernel_size=3, stride=2)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(128 * 24, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv3(F.relu(self.conv2(F.relu(self.conv1(x))))))
        return self.fc(self.drop(torch.flatten(x, 1)))


def volume_3d() -> nn.Module:
    """volume_3d.txt: a 3-D CNN for 64^3 volumes."""
    return nn.Sequential(
        nn.Conv3d(1, 8, kernel_size=3, padding=1), r(), nn.MaxPool3d(2),
        nn.Conv3d(8, 16, kernel_size=3, padding=1), r(), nn.MaxPool3d(2),
        nn.Conv3d(16, 32, kernel_size=3), r(), nn.MaxPool3d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8 * 8, 64), r(), nn.Linear(64, 2))


# --------------------------------------------------------------------------- one model a paste
# Named after the paste's file. Nothing is typed from a hand computation: where a paste's
# in_features is wrong, it is copied wrong, and the forward finds the truth.


def lenet_class() -> nn.Module:
    return LeNet()


def lenet_class_64px() -> nn.Module:
    return LeNet(classes=2)


def lenet_view_minus_one() -> nn.Module:
    return LeNet()  # x.view(-1, 16 * 5 * 5) is per sample at the 32 x 32 it is asked about


def init_only_pool_reused() -> nn.Module:
    return LeNet()  # "forward is the usual one": the tutorial's, pool used twice


def print_model_pool_reused() -> nn.Module:
    return LeNet()  # the printed repr of the tutorial net


def lenet_flush_left() -> nn.Module:
    return LeNet(channels=1, fc1_in=16 * 4 * 4)


def mnist_view_320() -> nn.Module:
    return OldMnist()


def mnist_mixed_indent() -> nn.Module:
    return TorchMnist()


def nested_forward() -> nn.Module:
    return NestedForwardNet()


def script_lines() -> nn.Module:
    return ThreeConvPool()


def cut_in_forward() -> nn.Module:
    return AudioNet()


def mel_1d_class() -> nn.Module:
    return SpeechCNN()


def alexnet_like() -> nn.Module:
    return alexnet(nn.Flatten(), adaptive=False)  # x.view(x.size(0), 256 * 6 * 6)


def alexnet_adaptive() -> nn.Module:
    return alexnet(nn.Flatten(), adaptive=True)


def keras_habit() -> nn.Module:
    return TwoConvPool(3, 32, 64, 3, (64, 10), padding=1)


def half_flush_left() -> nn.Module:
    return TwoConvPool(3, 16, 32, 3, (32 * 6 * 6, 64), 10)


def jupyter_prompts() -> nn.Module:
    return TwoConvPool(3, 32, 64, 5, (64 * 5 * 5, 100), 10)


def num_classes_undefined() -> nn.Module:
    num_classes = 5
    return TwoConvPool(3, 32, 64, 3, (64 * 6 * 6, 256), num_classes)


def cfg_hidden_channels() -> nn.Module:
    # one pool only, after conv2 (TwoConvPool pools after conv1 too: 2048 instead of 8192)
    h = CFG.hidden
    return nn.Sequential(nn.Conv2d(3, h, 3, padding=1), nn.ReLU(), nn.Conv2d(h, h, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 16 * 16, 128))


def cut_mid_line() -> nn.Module:
    # the forward the paste lost is the usual one: conv -> relu -> pool, twice
    return TwoConvPool(3, 16, 32, 3, (32 * 8 * 8, 256), 1, padding=1)


def unknown_helper() -> nn.Module:
    return TwoConvPool(3, 32, 64, 3, (64 * 8 * 8, 128), 10, padding=1, act=swish)


class MishNet(nn.Module):
    """unknown_activation_elsewhere.txt: mish from the user's utils.py, pool used once."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(mish(self.conv2(mish(self.conv1(x)))))
        return self.fc2(mish(self.fc1(x.flatten(1))))


def unknown_activation_elsewhere() -> nn.Module:
    return MishNet()


def num_classes_default() -> nn.Module:
    num_classes = 10
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.BatchNorm2d(16), r(), mp(2, 2)),
        nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), nn.BatchNorm2d(32), r(), mp(2, 2)),
        nn.Flatten(), nn.Linear(7 * 7 * 32, num_classes))


def sequential_to_device() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), r(), mp(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), r(), mp(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), r(), nn.Linear(128, 10))


def sequential_cuda() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), r(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), r(),
        nn.Flatten(), nn.Linear(32 * 16 * 16, 10))


def sequential_float() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(12, 32, 7), r(), nn.MaxPool1d(2), nn.Conv1d(32, 64, 5), r(), nn.MaxPool1d(2),
        nn.Flatten(), nn.Linear(64 * 29, 5)).float()


def sequential_double() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(8, 16, 3), nn.Tanh(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16 * 6 * 6, 1)).double()


def class_to_device_script() -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 16, 3), r(), mp(2), nn.Conv2d(16, 32, 3), r(), mp(2)),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 10))


def len_classes() -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), r(), mp(2),
                      nn.Conv2d(32, 64, 3, padding=1), r(), mp(2)),
        nn.Flatten(), nn.Linear(64 * 8 * 8, len(CLASSES)))


def cfg_out_features() -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), r(),
                      nn.Conv2d(32, 64, 3, stride=2, padding=1), r()),
        nn.Flatten(), nn.Dropout(CFG.dropout), nn.Linear(64 * 8 * 8, CFG.num_classes))


def cut_mid_sequential() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 10, kernel_size=5), mp(2), r(), nn.Conv2d(10, 20, kernel_size=5), mp(2), r(),
        nn.Flatten(), nn.Linear(320, 50), r(), nn.Dropout(), nn.Linear(50, 1))


def repl_prompts() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), r(inplace=True),
        mp(kernel_size=3, stride=2, padding=1), nn.Flatten(), nn.Linear(64 * 56 * 56, 10))


def init_only_in_order() -> nn.Module:
    # the forward the paste does not show runs the layers in the order written
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), mp(2), nn.Conv2d(8, 16, 3, padding=1), mp(2),
        nn.Flatten(), nn.Linear(16 * 8 * 8, 10))


def print_model_sequential() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, 1, 1), r(), mp(2), nn.Conv2d(32, 64, 3, 1, 1), r(), mp(2),
        nn.Flatten(), nn.Linear(3136, 128), r(), nn.Linear(128, 10))


def layer_lines() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, 1), r(), mp(2), nn.Conv2d(32, 64, 3, 1, 1), r(), mp(2),
        nn.Conv2d(64, 128, 3, 1, 1), r(), mp(2), nn.Flatten(),
        nn.Linear(128 * 4 * 4, 256), r(), nn.Linear(256, 10))



# The batch folded into the features: the flatten is written as the per-sample flatten the
# paste means (its own spelling fails, or works only at batch 1); the truth is per sample.


def flatten_batch_default() -> nn.Module:
    return TwoConvPool(3, 6, 16, 5, (16 * 5 * 5, 120), 10)  # torch.flatten(x): start_dim=0


def reshape_minus_one() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3), r(), mp(2), nn.Flatten(),  # x.reshape(-1)
                         nn.Linear(8 * 13 * 13, 10))


def init_only_wrong() -> nn.Module:
    # "the usual forward": each conv -> bn -> relu -> its own pool, once, in the order written
    def stage(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, kernel_size=3, padding=1), nn.BatchNorm2d(cout), r(), mp(2)]

    return nn.Sequential(*stage(3, 32), *stage(32, 64), *stage(64, 128), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(128 * 7 * 7, 512), r(), nn.Linear(512, 2))


def print_model_wrong() -> nn.Module:
    # the class's forward runs features, flattens, runs head
    features = nn.Sequential(nn.Conv2d(1, 16, 3), r(), mp(2), nn.Conv2d(16, 32, 3), r(), mp(2))
    head = nn.Sequential(nn.Dropout(0.5), nn.Linear(800, 64), r(), nn.Linear(64, 10))
    return nn.Sequential(features, nn.Flatten(), head)


# Forwards that are not a chain: a residual sum, two branches concatenated.


class BasicBlock(nn.Module):
    """residual_block.txt: the CIFAR ResNet block (kuangliu's), shortcut added in forward."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


def residual_block() -> nn.Module:
    num_classes = 10
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(16), r(),
        BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2),
        nn.AvgPool2d(4), nn.Flatten(), nn.Linear(64, num_classes))


class TwoBranch(nn.Module):
    """two_branch_cat.txt: a 3x3 and a 5x5 branch concatenated on channels."""

    def __init__(self) -> None:
        super().__init__()
        self.branch3 = nn.Conv2d(3, 16, 3, padding=1)
        self.branch5 = nn.Conv2d(3, 16, 5, padding=2)
        self.pool = nn.MaxPool2d(4)
        self.fc = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([F.relu(self.branch3(x)), F.relu(self.branch5(x))], dim=1)
        return self.fc(torch.flatten(self.pool(x), 1))


def two_branch_cat() -> nn.Module:
    return TwoBranch()
