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

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = REPO / "docs" / "screenshot_explorer.png"
CHROMIUM = os.environ.get("CONVWIDGET_CHROMIUM", "/usr/bin/chromium")
# Flags found to work on these machines; the background-networking ones stop Chromium
# from reaching for outside hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require_browser() -> None:
    """Skip (fail in CI) with a clear reason when the browser stack is missing."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the Python package playwright is not installed (pip install playwright)"
    else:
        if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
            reason = (
                f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, "
                "or set CONVWIDGET_CHROMIUM); never `playwright install` here"
            )
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    runtime_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def api(self, method: str, path: str, timeout: float = 5) -> bytes:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method == "POST" else None,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kernel_processes(self) -> list:
        """Kernels of this server: their connection files live in its runtime dir."""
        import psutil

        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if any(str(self.runtime_dir) in part for part in cmdline):
                found.append(proc)
        return found


class LabExited(RuntimeError):
    """The server stopped while starting (e.g. its port was taken)."""


def _start_lab(tmp: Path) -> LabServer:
    root = tmp / "root"
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    dirs = {
        name: tmp / name
        for name in ("config", "data", "runtime", "ipython", "mpl", "settings", "workspaces")
    }
    for path in dirs.values():
        path.mkdir()
    # Lab's own settings: no news or update check (they reach for the internet), no
    # autosave, and every cell rendered (no windowing) so the page holds the whole notebook.
    overrides = {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    }
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        target = dirs["settings"] / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))

    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the pytest run's Agg must not reach the kernel
    env.pop("JUPYTER_PATH", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        MPLCONFIGDIR=str(dirs["mpl"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        # the kernel imports the package from this checkout, installed or not
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    token = secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
    ]
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=root
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, dirs["runtime"], log, process)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise LabExited(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status", timeout=2)
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                _stop_lab(server)
                raise RuntimeError(f"JupyterLab did not answer in 60 s:\n{server.log_tail()}") from None
            time.sleep(0.2)


def _stop_lab(server: LabServer) -> None:
    """POST /api/shutdown, then end what is left: kernels run in their own session, so
    stopping the server's process group would miss them."""
    kernels = server.kernel_processes()
    with contextlib.suppress(Exception):
        server.api("POST", "/api/shutdown", timeout=5)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.terminate()
        try:
            server.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)
    for proc in kernels + server.kernel_processes():
        with contextlib.suppress(Exception):
            if proc.is_running():
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    _require_browser()
    # The free port is chosen before the server binds it; with port_retries=0 a port taken
    # in between makes the server exit at once: try again on another port.
    for attempt in range(3):
        try:
            server = _start_lab(tmp_path_factory.mktemp("jupyterlab"))
            break
        except LabExited:
            if attempt == 2:
                raise
    try:
        yield server
    finally:
        _stop_lab(server)


# --------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------


def start_browser(playwright) -> object:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# Module scope, not session: while Playwright's sync API is started it keeps an asyncio loop
# running in this thread, and later tests' asyncio.run() would fail ("cannot be called from
# a running event loop"). It is stopped when this module's last test is done.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = start_browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[object]:
    # tall enough that the whole ConvExplorer fits in the notebook's scroll area for the
    # screenshot; wide enough for its panels to sit side by side
    context = browser.new_context(viewport={"width": 1600, "height": 2000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    failed_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed_before:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            with contextlib.suppress(Exception):
                (ARTIFACTS / f"{request.node.name}-jupyterlab.log").write_text(lab.log_tail(400))
            with contextlib.suppress(Exception):
                (ARTIFACTS / f"{request.node.name}-page.txt").write_text(page.inner_text("body"))
        context.close()
        _shut_down_sessions(lab)


def _shut_down_sessions(lab: LabServer) -> None:
    """End the test's kernels so the next test does not share the CPU with them."""
    with contextlib.suppress(Exception):
        for session in json.loads(lab.api("GET", "/api/sessions")):
            lab.api("DELETE", f"/api/sessions/{session['id']}")


# The page can see the app (``--LabApp.expose_app_in_browser``): wait on the kernel's own
# state, because the toolbar's "idle" shows about a second before a Run All is accepted.
KERNEL_READY_JS = """(path) => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.context || !panel.context.isReady) return false;
  if (panel.context.path !== path) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

# A kernel_info round trip proves the shell channel answers before Run All is sent; the
# whole call is bounded so a lost request fails the test instead of hanging it.
RUN_ALL_JS = """async ([path, timeoutMs]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path) return {error: 'wrong panel'};
  const work = (async () => {
    await panel.sessionContext.ready;
    await panel.sessionContext.session.kernel.requestKernelInfo();
    return await app.commands.execute('notebook:run-all-cells');
  })();
  const timer = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  const ok = await Promise.race([work, timer]);
  const errors = [];
  let unrun = 0;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    if (cell.model.executionCount === null) unrun += 1;
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
    }
  }
  const dialog = document.querySelector('.jp-Dialog');
  return {ok, unrun, errors, dialog: dialog ? dialog.innerText : null};
}"""


def open_notebook(page, lab: LabServer, name: str, workspace: str) -> None:
    """Open ``notebooks/<name>`` in its own workspace (a shared one would reopen the previous
    test's notebooks) and wait until its kernel really answers."""
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/notebooks/{name}?token={lab.token}")
    page.wait_for_function(KERNEL_READY_JS, arg=f"notebooks/{name}", timeout=60_000)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the notebook gets the width


def run_all(page, name: str, timeout_s: float = 120) -> None:
    result = page.evaluate(RUN_ALL_JS, [f"notebooks/{name}", timeout_s * 1000])
    assert result.get("errors") == [], f"cells raised: {result}"
    assert result["ok"] is True and result["unrun"] == 0, f"Run All did not finish: {result}"
    page.wait_for_function(KERNEL_READY_JS, arg=f"notebooks/{name}")


# --------------------------------------------------------------------------------------
# Reading the ConvExplorer on the page
# --------------------------------------------------------------------------------------

# The Image widget shows its PNG through a blob: URL that is new on every update, so compare
# the bytes behind it. (A blob revoked mid-fetch answers null; the caller polls again.)
PICTURE_DIGEST_JS = """async (selector) => {
  let img = document.querySelector(selector);
  if (img && img.tagName !== 'IMG') img = img.querySelector('img');
  if (!img || !img.src || img.offsetParent === null) return null;
  try {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const hash = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(hash), b => b.toString(16).padStart(2, '0')).join('');
  } catch (err) {
    return null;
  }
}"""

SETTLE_S = 0.8


def picture_digest(page) -> str | None:
    return page.evaluate(PICTURE_DIGEST_JS, ".cw-explorer .cw-picture")


def wait_picture_settled(page, previous: str | None, timeout: float = 20) -> str:
    """Wait until the picture differs from ``previous`` and then stays unchanged SETTLE_S."""
    deadline = time.monotonic() + timeout
    candidate, since = None, 0.0
    while time.monotonic() < deadline:
        digest = picture_digest(page)
        now = time.monotonic()
        if digest is None or digest == previous:
            candidate = None
        elif digest != candidate:
            candidate, since = digest, now
        elif now - since >= SETTLE_S:
            return digest
        page.wait_for_timeout(100)
    raise AssertionError(f"the picture did not change and settle within {timeout} s")


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


def press_on(page, css_class: str, key: str) -> None:
    """Keyboard: focus the slider's handle and press a key (JupyterLab lets arrows through)."""
    handle = page.locator(f".cw-explorer .{css_class} .noUi-handle")
    handle.focus()
    page.keyboard.press(key)


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


@pytest.mark.browser
def test_tutorial_01_sliders_move_the_formula_picture_and_pytorch_panel(page, lab) -> None:
    notebook = "01_output_size_formula.ipynb"
    open_notebook(page, lab, notebook, workspace="t01")
    run_all(page, notebook)
    page.locator(".cw-explorer .cw-picture").first.wait_for(state="visible")
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

    # 32 -> 40 with the keyboard: 256 × 5 × 5 = 6400, and the pasted Linear(4096, ...) is flagged
    handle = page.locator(".cw-model-explorer .cw-model-size-height .noUi-handle").first
    handle.focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    wait_text(page, answer, r"fc_layer\.1 needs in_features = 6400 = 256 channels × 5 × 5 ⚠ has 4096")
    wait_text(page, ".cw-model-explorer .cw-model-problems", r"nn\.Linear\(6400, 1024\)")


def wait_text(page, selector: str, pattern: str, timeout: float = 15_000) -> None:
    """Wait until the first element matching ``selector`` shows text matching ``pattern``."""
    page.wait_for_function(
        "([sel, pat]) => { const el = document.querySelector(sel);"
        " return !!el && new RegExp(pat, 's').test(el.innerText); }",
        arg=[selector, pattern],
        timeout=timeout,
    )


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
    wait_output_label(page, f"1 × {right}")
    wait_text(page, ".cw-explorer .cw-torch-panel", rf"torch\.Size\(\[1, 1, 1, {right}\]\).*✓ agrees")
    page.locator(".cw-explorer .cw-picture").first.wait_for(state="visible")
    wait_picture_settled(page, None)
    for shown in ("cw-output-size", "cw-torch-panel", "cw-picture", "cw-controls"):
        assert page.locator(f".cw-explorer .{shown}").first.is_visible(), shown
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".cw-explorer").first.screenshot(path=str(ARTIFACTS / "quiz_explorer.png"))
