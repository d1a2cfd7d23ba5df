"""The channel view in a real browser (issue 12): a learner opens the folded panel, moves the
output-channel slider with the keyboard, and the picture and the lit cell's sum follow.

JupyterLab in headless Chromium; the kernel is asked what it drew, and PyTorch (a real
``nn.Conv2d`` built in the kernel from torch's own constructor) computes the value the sum
line must end with.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

# tests/browser.py: the server, the browser and the page helpers (tests/ is on sys.path)
from browser import (
    ARTIFACTS,
    PICTURE_DIGEST_JS,
    LabServer,
    chromium,
    kernel_execute,
    notebook_json,
    open_notebook,
    run_all,
    running_lab,
    shut_down_sessions,
    wait_text,
)

SETTING = "input_size=6, kernel_size=3, in_channels=4, out_channels=4, groups=2"
PICTURE = ".cw-explorer .cw-channels-picture"

# What PyTorch computes for the view's lit cell: the view's input, kernels and bias (a bias of
# 1, as the view says), in a layer built by torch's own constructor; printed as the view writes
# a number (an int when whole).
TORCH_VALUE = """
import torch
from convwidget.cellmath import preset_weights, sample_input
v = e.values_view
conv = torch.nn.Conv2d(4, 4, 3, groups=2).double()
with torch.no_grad():
    conv.weight.copy_(torch.tensor(preset_weights(v.preset.value, e.state.results.spec), dtype=torch.float64))
    conv.bias.fill_(1.0)
    y = conv(torch.tensor([sample_input(4, (6, 6))], dtype=torch.float64))
r, c = e.state.geometry.out_cell(e.state.step)
value = float(y[0, v.channel.value, r, c])
print(int(value) if value.is_integer() else value)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    yield from running_lab(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as started:
        yield started


def digest(page: Any) -> str | None:
    return page.evaluate(PICTURE_DIGEST_JS, PICTURE)


def wait_new_picture(page: Any, old: str | None, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = digest(page)
        if now is not None and now != old:
            return now
        page.wait_for_timeout(100)
    raise AssertionError("the channel picture did not change")


@pytest.mark.browser
def test_moving_the_output_channel_redraws_the_channel_picture_and_the_sum(browser: Any,
                                                                          lab: LabServer) -> None:
    name = "channels_view.ipynb"
    (lab.root / "notebooks" / name).write_text(notebook_json(
        "from convwidget import ConvExplorer",
        f"e = ConvExplorer({SETTING}); e",
    ))
    context = browser.new_context(viewport={"width": 1366, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        open_notebook(page, lab, name, workspace="channels-view")
        run_all(page, name)
        wait_text(page, ".cw-explorer .cw-output-size", "4 × 4")
        assert digest(page) is None  # folded: nothing drawn, nothing sent
        page.get_by_text("Channels, values and the lit cell's sum").click()
        wait_text(page, ".cw-explorer .cw-cell-sum", r"out 0 at")
        first = wait_new_picture(page, None)
        sum_before = page.inner_text(".cw-explorer .cw-cell-sum")
        handle = page.locator(".cw-explorer .cw-out-channel .noUi-handle")
        handle.focus()
        page.keyboard.press("ArrowRight")
        wait_text(page, ".cw-explorer .cw-cell-sum", r"out 1 at")
        second = wait_new_picture(page, first)
        assert second != first
        # shown at its natural size (numbers >= 11 px), scrolling sideways if the notebook is narrower
        natural, shown_width = page.evaluate(
            "(sel) => { let i = document.querySelector(sel);"
            " if (i.tagName !== 'IMG') i = i.querySelector('img');"
            " return [i.naturalWidth, i.clientWidth]; }", PICTURE)
        assert natural == shown_width > 0, (natural, shown_width)
        assert kernel_execute(page, "print(e.values_view.channel.value)").strip() == "1"
        # the sum line ends with PyTorch's value for channel 1's lit cell, and says they agree
        sum_after = page.inner_text(".cw-explorer .cw-cell-sum")
        assert sum_after != sum_before and "✓ the same" in sum_after
        expected = kernel_execute(page, TORCH_VALUE).strip()
        shown = re.search(r"PyTorch's value: (\S+)", sum_after)
        assert shown is not None and shown.group(1) == expected, (sum_after, expected)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        view = page.locator(".cw-explorer .cw-values-view")
        view.screenshot(path=str(ARTIFACTS / "channels_view_browser.png"))
    finally:
        with contextlib.suppress(Exception):
            (ARTIFACTS / "channels_view_browser-page.txt").write_text(page.inner_text("body"))
        context.close()
        shut_down_sessions(lab)
