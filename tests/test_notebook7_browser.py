"""ConvExplorer's default picture (frames held in the browser, an anywidget) in Notebook 7.

Issue 14 asks that the frames ahead keep working beyond JupyterLab. Voila is covered by
tests/test_voila.py; this opens a notebook in Notebook 7 (served by the same server as the
browser tests' JupyterLab) in headless Chromium, moves the kernel slider with the mouse
(Notebook 7 keeps the arrow keys for its own navigation) and checks that the picture, the
output size and PyTorch's panel all end on the slider's setting, with PyTorch's own answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

# tests/browser.py: the server, the browser and the page helpers (tests/ is on sys.path)
from browser import (
    ARTIFACTS,
    KERNEL_READY_JS,
    PICTURE,
    LabServer,
    chromium,
    notebook_json,
    picture_digest,
    recorded_page,
    run_all,
    running_lab,
    shut_down_sessions,
    wait_picture_settled,
)

pytest.importorskip("notebook", minversion="7")
NAME = "notebook7_explorer.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    yield from running_lab(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as started:
        yield started


def torch_output(kernel: int, n: int = 9) -> int:
    import torch

    with torch.no_grad():
        return int(torch.nn.Conv2d(1, 1, kernel)(torch.zeros(1, 1, n, n)).shape[-1])


def readout(page: Any, css_class: str) -> int:
    return int(page.locator(f".cw-explorer .{css_class} .widget-readout").first.inner_text())


@pytest.mark.browser
def test_frames_ahead_in_notebook_7(browser: Any, lab: LabServer, request: pytest.FixtureRequest) -> None:
    (lab.root / "notebooks" / NAME).write_text(notebook_json(
        "from convwidget import ConvExplorer\n"
        "e = ConvExplorer(input_size=9, kernel_size=3)\n"
        "assert e.ahead is not None  # the default\n"
        "e"))
    try:
        with recorded_page(browser, request, {"width": 1366, "height": 900}) as page:
            page.goto(f"{lab.url}/notebooks/notebooks/{NAME}?token={lab.token}")
            page.wait_for_function(KERNEL_READY_JS, arg=f"notebooks/{NAME}", timeout=60_000)
            run_all(page, NAME)
            page.locator(".cw-explorer .cw-picture-ahead img").first.wait_for(state="visible")
            first = wait_picture_settled(page, None)
            assert page.locator(PICTURE).first.evaluate("i => i.naturalWidth") > 400
            # the mouse: one notch to the right of the kernel slider's handle
            handle = page.locator(".cw-explorer .cw-kernel-h .noUi-handle").first
            track = page.locator(".cw-explorer .cw-kernel-h .noUi-target").first.bounding_box()
            box = handle.bounding_box()
            assert track is not None and box is not None
            notch = track["width"] / (9 - 1)  # the kernel slider runs 1 .. 9 on a 9 x 9 input
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + notch, y, steps=4)
            page.mouse.up()
            kernel = readout(page, "cw-kernel-h")
            assert kernel != 3, "the drag did not move the kernel slider"
            out = torch_output(kernel)
            want = f"{out} × {out}"
            page.wait_for_function(
                "(want) => document.querySelector('.cw-explorer .cw-output-size').innerText.includes(want)",
                arg=want, timeout=15_000)
            moved = wait_picture_settled(page, first)
            assert moved != first
            page.wait_for_function(
                "(want) => document.querySelector('.cw-explorer .cw-torch-panel').innerText.includes(want)",
                arg=f"torch.Size([1, 1, {out}, {out}])", timeout=15_000)
            # the page and the kernel agree on the setting the picture shows
            deadline = time.monotonic() + 15
            while True:
                state = page.evaluate(
                    "() => { const el = document.querySelector('.cw-explorer .cw-ahead');"
                    " return [el.dataset.confirmed, el.classList.contains('cw-ahead-pending')]; }")
                if state == ["1", False]:
                    break
                assert time.monotonic() < deadline, state
                page.wait_for_timeout(100)
            assert picture_digest(page) == moved
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "notebook7_explorer.png"))
    finally:
        shut_down_sessions(lab)
