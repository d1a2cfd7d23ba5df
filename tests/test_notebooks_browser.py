"""The tutorials in a real JupyterLab, driven through a real (headless) Chromium.

Unit tests of widget models cannot show that a learner's slider moves the picture: this
does. One JupyterLab server serves all the tests of this module, on loopback with a token, from a
temporary copy of ``notebooks/`` (so Run All never writes outputs into the repository)
and with every Jupyter/IPython/Matplotlib config directory made temporary.

Skips with a reason where Playwright or Chromium is missing, except in CI (``CI=true``),
where a missing browser is a failure: the test must run there.

A screenshot of the page is kept under ``tests/artifacts/`` when a test fails. The widget
screenshot for the README is written to ``tests/artifacts/screenshot_explorer.png`` on
every run and copied to ``docs/screenshot_explorer.png`` when that file is missing or
``CONVWIDGET_UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

# tests/browser.py: the server, the browser and the page helpers (tests/ is on sys.path)
from browser import (
    ARTIFACTS,
    PICTURE,
    REPO,
    LabServer,
    chromium,
    open_notebook,
    press_on,
    recorded_page,
    run_all,
    running_lab,
    shut_down_sessions,
    wait_picture_settled,
    wait_text,
)

# tests/test_binder.py imports these three from here
from browser import free_port as _free_port  # noqa: F401
from browser import require_browser as _require_browser  # noqa: F401
from browser import start_browser as start_browser

SCREENSHOT = REPO / "docs" / "screenshot_explorer.png"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    yield from running_lab(tmp_path_factory)


# Module scope, not session: while Playwright's sync API is started it keeps an asyncio loop
# running in this thread, and later tests' asyncio.run() would fail ("cannot be called from
# a running event loop"). It is stopped when this module's last test is done.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[object]:
    # tall enough that the whole ConvExplorer fits in the notebook's scroll area for the
    # screenshot; wide enough for its panels to sit side by side
    logs = (("jupyterlab.log", lambda _: lab.log_tail(400)), ("page.txt", lambda p: p.inner_text("body")))
    try:
        with recorded_page(browser, request, {"width": 1600, "height": 2000}, logs=logs) as page:
            yield page
    finally:
        shut_down_sessions(lab)


# --------------------------------------------------------------------------------------
# Reading the ConvExplorer on the page
# --------------------------------------------------------------------------------------


def readout(page, css_class: str) -> int:
    return int(page.locator(f".cw-explorer .{css_class} .widget-readout").inner_text().strip())


def output_label(page) -> str:
    return page.locator(".cw-explorer .cw-output-size").inner_text()


def wait_output_label(page, expected: str) -> None:
    page.wait_for_function(
        "(want) => { const el = document.querySelector('.cw-explorer .cw-output-size');"
        " return !!el && el.innerText.includes(want); }",
        arg=expected,
        timeout=15_000,
    )


def wait_label_matches_sliders(page, timeout: float = 15) -> tuple[int, int]:
    """Wait until the output-size label shows what PyTorch gives for the sliders' values.

    The sliders settle first (a linked "H = W" partner follows a moment later), so the
    readouts are read again on every poll.
    """
    deadline = time.monotonic() + timeout
    while True:
        height, width = torch_oracle(page)
        label = output_label(page)
        if f"{height} × {width}" in label:
            return height, width
        if time.monotonic() > deadline:
            raise AssertionError(f"label {label!r} never showed PyTorch's {height} × {width}")
        page.wait_for_timeout(100)


def torch_oracle(page) -> tuple[int, int]:
    """The output size real PyTorch gives for the settings the sliders show."""
    import torch

    kernel = (readout(page, "cw-kernel-h"), readout(page, "cw-kernel-w"))
    stride = (readout(page, "cw-stride"), readout(page, "cw-stride-w"))
    padding = (readout(page, "cw-padding"), readout(page, "cw-padding-w"))
    size = (readout(page, "cw-input-h"), readout(page, "cw-input-w"))
    layer = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, 1, *size)).shape[-2:])


def check_panels_agree(page, previous_picture: str | None) -> str:
    """Output label, picture and PyTorch panel all show the sliders' setting."""
    height, width = wait_label_matches_sliders(page)
    picture = wait_picture_settled(page, previous_picture)
    torch_panel = page.locator(".cw-explorer .cw-torch-panel")
    expect_text = f"torch.Size([1, 1, {height}, {width}])"
    page.wait_for_function(
        "(want) => { const el = document.querySelector('.cw-explorer .cw-torch-panel');"
        " return !!el && el.innerText.includes(want); }",
        arg=expect_text,
        timeout=15_000,
    )
    text = torch_panel.inner_text()
    assert "✓" in text and "✗" not in text, text
    assert f"({height} × {width})" in text, text
    return picture


def drag_to_minimum(page, css_class: str) -> None:
    """Mouse: press on the slider's handle and drag it past the left end of its track."""
    handle = page.locator(f".cw-explorer .{css_class} .noUi-handle")
    handle.scroll_into_view_if_needed()
    grip = handle.bounding_box()
    track = page.locator(f".cw-explorer .{css_class} .noUi-target").bounding_box()
    assert grip and track
    y = grip["y"] + grip["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] - 20, y, steps=8)
    page.mouse.up()


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


@pytest.mark.browser
def test_tutorial_01_sliders_move_the_formula_picture_and_pytorch_panel(page, lab) -> None:
    notebook = "01_output_size_formula.ipynb"
    open_notebook(page, lab, notebook, workspace="t01")
    run_all(page, notebook)
    page.locator(PICTURE).first.wait_for(state="visible")
    # the notebook leaves the classic picture: 5×5 input, 3×3 kernel, stride 2, padding 1
    wait_output_label(page, "3 × 3")
    first = check_panels_agree(page, previous_picture=None)

    press_on(page, "cw-kernel-h", "ArrowRight")                      # keyboard: kernel 3 -> 4
    assert readout(page, "cw-kernel-h") == 4
    kernel4 = check_panels_agree(page, first)
    assert output_label(page).count("2 × 2") == 1

    drag_to_minimum(page, "cw-stride")                               # mouse: stride 2 -> 1
    assert readout(page, "cw-stride") == 1
    check_panels_agree(page, kernel4)
    assert "4 × 4" in output_label(page)

    press_on(page, "cw-stride", "ArrowRight")                        # back: stride 2
    again = check_panels_agree(page, None)
    assert again == kernel4, "the same setting drew a different picture"
    press_on(page, "cw-kernel-h", "ArrowLeft")                       # back: kernel 3
    back = check_panels_agree(page, kernel4)
    assert back == first, "returning to the first setting did not give the first picture back"

    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "screenshot_explorer.png"
    page.locator(".cw-explorer").first.screenshot(path=str(shot))
    if not SCREENSHOT.exists() or os.environ.get("CONVWIDGET_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


@pytest.mark.browser
def test_tutorial_05_model_explorer_answers_4096_and_follows_the_input_size(page, lab) -> None:
    notebook = "05_conv_to_linear.ipynb"
    open_notebook(page, lab, notebook, workspace="t05")
    run_all(page, notebook)
    answer = ".cw-model-explorer .cw-model-answer"
    page.locator(answer).first.wait_for(state="visible")
    wait_text(page, answer, r"fc_layer\.1 needs in_features = 4096 = 256 channels × 4 × 4 ✓")
    assert "4096" in page.locator(".cw-model-explorer .cw-model-table").first.inner_text()
    # the net picture at its natural size: not stretched to the notebook's width, nor shrunk
    sizes = page.evaluate("() => Array.from(document.querySelectorAll("
                          "'.cw-model-explorer img.cw-model-picture')).filter(i => i.offsetParent !== null)"
                          ".map(i => [i.naturalWidth, i.clientWidth])")
    assert sizes and all(natural == shown > 0 for natural, shown in sizes), sizes

    # 32 -> 40 with the keyboard: 256 × 5 × 5 = 6400, and the pasted Linear(4096, ...) is flagged
    handle = page.locator(".cw-model-explorer .cw-model-size-height .noUi-handle").first
    handle.focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    wait_text(page, answer, r"fc_layer\.1 needs in_features = 6400 = 256 channels × 5 × 5 ⚠ has 4096")
    wait_text(page, ".cw-model-explorer .cw-model-problems", r"nn\.Linear\(6400, 1024\)")


def _quiz_notebook(seed: int) -> dict:
    source = ["from convwidget.explorer import quiz\n", f"quiz('padding_stride', seed={seed})"]
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "quiz", "metadata": {},
                   "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def _quiz_case() -> tuple[int, Any, int]:
    """A seed whose first question shows no number equal to its answer (the strip's caption
    restates the settings), with the question and torch's answer."""
    import torch

    from convwidget.quiz import QuizSession

    for seed in range(200):
        question = QuizSession("padding_stride", seed=seed).question
        layer = torch.nn.Conv1d(1, 1, question.kernel_size, question.stride, question.padding,
                                question.dilation)
        with torch.no_grad():
            right = int(layer(torch.zeros(1, 1, question.size)).shape[-1])
        shown = {question.size, question.kernel_size, question.stride, question.padding,
                 question.dilation}
        if right not in shown:
            return seed, question, right
    raise AssertionError("no padding_stride question in 200 seeds hides its answer")


@pytest.mark.browser
def test_quiz_diagnoses_a_typed_wrong_answer_then_confirms_and_reveals(page, lab) -> None:
    seed, question, right = _quiz_case()  # the notebook's first question
    # the '+ 1' forgotten: the steps between the first and the last window, not the windows
    wrong = (question.size + 2 * question.padding - question.dilation * (question.kernel_size - 1) - 1
             ) // question.stride
    assert wrong != right

    notebook = "quiz_check.ipynb"  # in the served temporary copy, not in notebooks/
    (lab.root / "notebooks" / notebook).write_text(json.dumps(_quiz_notebook(seed)))
    open_notebook(page, lab, notebook, workspace="quiz")
    run_all(page, notebook)
    box = page.locator(".cw-explorer .cw-quiz-answer input").first
    box.wait_for(state="visible")
    prompt = page.locator(".cw-explorer .cw-quiz-prompt").first.inner_text()
    assert f"An input of {question.size} cells" in prompt, prompt
    # hidden: the calculator, the picture's output side and the PyTorch panel are not on screen
    for hidden in ("cw-output-size", "cw-torch-panel", "cw-picture", "cw-controls"):
        assert not page.locator(f".cw-explorer .{hidden}").first.is_visible(), hidden
    sizes = page.evaluate("() => Array.from(document.querySelectorAll('.cw-explorer img.cw-quiz-picture'))"
                          ".filter(i => i.offsetParent !== null).map(i => [i.naturalWidth, i.clientWidth])")
    assert all(natural == shown for natural, shown in sizes), sizes  # the input strip, not stretched
    outside_prompt = page.locator(".cw-explorer").first.inner_text().replace(prompt, "")
    assert not re.search(rf"(?<![\d.]){right}(?![\d.])", outside_prompt), outside_prompt

    box.fill(str(wrong))
    box.press("Enter")
    feedback = ".cw-explorer .cw-quiz-feedback"
    wait_text(page, feedback, rf"Not quite: .* gives {right}, not {wrong}\..*the \+ 1 forgotten.*Fix: \+ 1")
    wait_text(page, ".cw-explorer .cw-quiz-score", r"0 of 1 right")

    box.fill(str(right))
    page.locator(".cw-explorer .cw-quiz-check").first.click()  # the button, this time
    wait_text(page, feedback, rf"✓\s*Right: {right} cells")
    wait_output_label(page, f"Output: {right} (length)")  # the question's nn.Conv1d: a 1-D explorer
    wait_text(page, ".cw-explorer .cw-torch-panel",
              rf"nn\.Conv1d\(.*torch\.Size\(\[1, 1, {right}\]\).*✓ agrees")
    page.locator(".cw-explorer .cw-picture").first.wait_for(state="visible")
    wait_picture_settled(page, None)
    for shown in ("cw-output-size", "cw-torch-panel", "cw-picture", "cw-controls"):
        assert page.locator(f".cw-explorer .{shown}").first.is_visible(), shown
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".cw-explorer").first.screenshot(path=str(ARTIFACTS / "quiz_explorer.png"))
