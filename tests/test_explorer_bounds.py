"""Phase 2 of the explorer: every change bounded in time, hostile widget messages answered.

Expected shapes come from real torch layers on the meta device (nothing allocated).
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as W
import pytest
import torch
from torch import nn

from convwidget import ConvExplorer

HOSTILE = [
    (dict(padding=10**4, input_size=8), nn.Conv2d(1, 1, 3, padding=10**4), 8),
    (dict(input_size=4096), nn.Conv2d(1, 1, 3), 4096),
    (dict(kind="conv_transpose", stride=100000, input_size=8),
     nn.ConvTranspose2d(1, 1, 3, stride=100000), 8),
    (dict(input_size=2048, kernel_size=1000), nn.Conv2d(1, 1, 1000), 2048),
    (dict(kind="max_pool", input_size=3000, kernel_size=700, stride=1), nn.MaxPool2d(700, stride=1), 3000),
]


def meta_shape(layer: nn.Module, n: int, channels: int = 1) -> tuple[int, ...]:
    return tuple(layer.to("meta")(torch.empty(1, channels, n, n, device="meta")).shape)


@pytest.mark.parametrize(("settings", "layer", "n"), HOSTILE, ids=lambda v: str(v)[:40])
def test_huge_settings_answer_quickly_without_allocating(settings: dict[str, Any], layer: nn.Module,
                                                         n: int) -> None:
    e = ConvExplorer(kernel_size=3)
    start = time.perf_counter()
    e.set(**settings)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, elapsed  # the goal is 0.3 s; slack for a loaded test machine
    expected = meta_shape(layer, n)
    assert e.output_size == expected[2:]  # the calculator still answers
    t = e.torch_result
    assert t is not None and t.output_shape == expected and not t.computed
    assert "Not drawn" in e.picture_error.value and "limit" in e.picture_error.value
    assert e.picture.layout.display == "none"
    assert e.error_box.layout.display == "none", e.error_box.value
    e.export_gif.click()  # refuses with the same sentence, writes nothing
    assert "Nothing exported" in e.export_link.value
    e.set(input_size=7, kernel_size=3, padding=0, stride=1, kind="conv")  # back to a drawable one
    assert e.picture.layout.display == "" and e.picture_error.layout.display == "none"
    assert e.output_size == (5, 5)


def test_huge_channel_counts_and_groups_answer_quickly() -> None:
    e = ConvExplorer()
    start = time.perf_counter()
    e.set(in_channels=10**9, out_channels=10**9, groups=3)
    assert time.perf_counter() - start < 1.5
    assert e.output_size is None and "use groups in [1, 2, 4, 5" in e.formula.value
    e.set(groups=4)
    layer = nn.Conv2d(8, 8, 3, groups=4)
    assert e.output_size == meta_shape(layer, 7, 8)[2:]


def browser_messages(e: ConvExplorer) -> list[tuple[W.Widget, str, Any]]:
    """Values a browser can send that the Python side never would."""
    return [
        (e.kind, "index", None),
        (e.padding_mode, "index", None),
        (e.groups, "min", 0), (e.groups, "value", 0),
        (e.in_channels, "min", 0), (e.in_channels, "value", 0),
        (e.out_channels, "min", -5), (e.out_channels, "value", -5),
        (e.kernel.h, "min", -10), (e.kernel.h, "value", -10),
        (e.stride.h, "min", 0), (e.stride.h, "value", 0),
        (e.input.h, "min", 0), (e.input.h, "value", 0),
        (e.dilation.h, "min", 0), (e.dilation.h, "value", 0),
        (e.step, "max", 10**6), (e.step, "value", 10**6),
        (e.row, "max", 500), (e.row, "value", 499),
        (e.col, "max", 500), (e.col, "value", 499),
        (e.play, "max", 10**6), (e.play, "value", 10**6),
    ]


@pytest.mark.parametrize("kind", ["conv", "max_pool"])
def test_messages_a_browser_can_send_leave_a_sentence_and_a_usable_widget(kind: str) -> None:
    from tests.test_widgets import assert_consistent  # the torch oracle of the widget tests

    e = ConvExplorer(kind=kind, input_size=6, kernel_size=3)
    for widget, name, value in browser_messages(e):
        try:
            setattr(widget, name, value)
        except Exception as err:  # noqa: BLE001 - ipywidgets' own validation may refuse it first
            assert type(err).__name__ == "TraitError", err
        assert "Internal error" not in e.error_box.value, (widget, name, value, e.error_box.value)
        if e.error_box.layout.display == "":
            assert "must" in e.error_box.value  # a sentence naming the rule
        assert e.output_size is not None  # the state never took the bad value
    e.kernel.h.min = 1
    e.kernel.h.value = 2
    assert e.error_box.layout.display == "none"
    e.set(stride=1, dilation=1, input_size=6, in_channels=1, out_channels=1, groups=1)
    assert_consistent(e)
