"""Shared helpers of the browser tests and the browser benchmark: a JupyterLab server on
loopback (temporary config, settings and workspaces; a token; kernels stopped by PID), a
headless Chromium, and the page-side snippets that wait for a kernel, run a notebook, read a
picture's bytes, run code in the page's kernel, and read what a learner sees: every text's
colour against its background (WCAG contrast) and the texts cut short.

Imported by ``tests/test_notebooks_browser.py``, ``tests/test_browser_readability.py`` and
``benchmarks/bench_browser.py`` (tests/ is on sys.path: there is no package).
"""

from __future__ import annotations

import contextlib
import json
import os
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


def require_browser() -> None:
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


def free_port() -> int:
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
    settings_dir: Path

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


def start_lab(tmp: Path) -> LabServer:
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
    port = free_port()
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
        "--JupyterNotebookApp.expose_app_in_browser=True",  # Notebook 7, served beside Lab
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
    ]
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=root
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, dirs["runtime"], log, process,
                       dirs["settings"])
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise LabExited(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status", timeout=2)
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                stop_lab(server)
                raise RuntimeError(f"JupyterLab did not answer in 60 s:\n{server.log_tail()}") from None
            time.sleep(0.2)


def stop_lab(server: LabServer) -> None:
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


def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A started server for a module-scoped fixture (``yield from running_lab(...)``)."""
    require_browser()
    # The free port is chosen before the server binds it; with port_retries=0 a port taken
    # in between makes the server exit at once: try again on another port.
    for attempt in range(3):
        try:
            server = start_lab(tmp_path_factory.mktemp("jupyterlab"))
            break
        except LabExited:
            if attempt == 2:
                raise
    try:
        yield server
    finally:
        stop_lab(server)


def set_theme(lab: LabServer, theme: str) -> None:
    """JupyterLab's theme for pages opened from now on (its user-settings file), e.g.
    ``"JupyterLab Dark"``; the page's ``body`` then carries ``data-jp-theme-light``."""
    target = lab.settings_dir / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"theme": theme}))


# --------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------


def start_browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium under Playwright's sync API, for a module-scoped fixture.

    Module scope, not session: while Playwright's sync API is started it keeps an asyncio loop
    running in this thread, and later tests' asyncio.run() would fail ("cannot be called from
    a running event loop").
    """
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = start_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------------------
# A notebook in the page
# --------------------------------------------------------------------------------------


def shut_down_sessions(lab: LabServer) -> None:
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


def open_notebook(page, lab: LabServer, name: str, workspace: str, collapse_left: bool = True) -> None:
    """Open ``notebooks/<name>`` in its own workspace (a shared one would reopen the previous
    test's notebooks) and wait until its kernel really answers."""
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/notebooks/{name}?token={lab.token}")
    page.wait_for_function(KERNEL_READY_JS, arg=f"notebooks/{name}", timeout=60_000)
    if collapse_left:
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the notebook gets the width


def run_all(page, name: str, timeout_s: float = 120) -> None:
    result = page.evaluate(RUN_ALL_JS, [f"notebooks/{name}", timeout_s * 1000])
    assert result.get("errors") == [], f"cells raised: {result}"
    assert result["ok"] is True and result["unrun"] == 0, f"Run All did not finish: {result}"
    page.wait_for_function(KERNEL_READY_JS, arg=f"notebooks/{name}")


# The Image widget shows its PNG through a blob: URL that is new on every update, so compare
# the bytes behind it. (A blob revoked mid-fetch answers null; the caller polls again.)
#: The explorer's picture in the page: the frames-ahead view (the default), or the kernel's
#: Image (``ahead=False``, a quiz, a 1-D or 3-D setting). The first one shown is taken.
PICTURE = ".cw-explorer .cw-picture-ahead img, .cw-explorer .cw-picture"

PICTURE_DIGEST_JS = """async (selector) => {
  // the first shown: a 2-D explorer's frames ahead, or its own Image for a 1-D or 3-D setting
  const imgs = Array.from(document.querySelectorAll(selector))
    .map(el => el.tagName === 'IMG' ? el : el.querySelector('img'))
    .filter(el => el && el.offsetParent !== null);
  const img = imgs[0];
  if (!img || !img.src) return null;
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
    return page.evaluate(PICTURE_DIGEST_JS, PICTURE)


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


def wait_text(page, selector: str, pattern: str, timeout: float = 15_000) -> None:
    """Wait until the first element matching ``selector`` shows text matching ``pattern``."""
    page.wait_for_function(
        "([sel, pat]) => { const el = document.querySelector(sel);"
        " return !!el && new RegExp(pat, 's').test(el.innerText); }",
        arg=[selector, pattern],
        timeout=timeout,
    )



def press_on(page, css_class: str, key: str) -> None:
    """Keyboard: focus the slider's handle and press a key (JupyterLab lets arrows through)."""
    handle = page.locator(f".cw-explorer .{css_class} .noUi-handle")
    handle.focus()
    page.keyboard.press(key)



def notebook_json(*sources: str) -> str:
    """A notebook of code cells (no outputs) for the Python 3 kernel, as JSON text."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {}, "outputs": [],
         "source": source}
        for i, source in enumerate(sources)
    ]
    return json.dumps({
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    })


# Runs code in the current notebook's kernel (like a hidden cell: widgets it changes update in
# the page) and returns what it printed; an exception comes back as its traceback's last line.
KERNEL_EXECUTE_JS = """async ([code, timeoutMs]) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, store_history: false});
  let text = '', error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
  };
  const timer = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  const done = await Promise.race([future.done.then(() => 'done'), timer]);
  return {done, text, error};
}"""


def kernel_execute(page, code: str, timeout_s: float = 30) -> str:
    """Run ``code`` in the page's notebook kernel; return its printed text."""
    result = page.evaluate(KERNEL_EXECUTE_JS, [code, timeout_s * 1000])
    assert result["error"] is None, f"the kernel raised: {result['error']}\n{code}"
    assert result["done"] == "done", f"the kernel did not answer in {timeout_s} s:\n{code}"
    return result["text"]


# --------------------------------------------------------------------------------------
# Reading what a learner sees
# --------------------------------------------------------------------------------------

# Every visible text inside .cw-explorer: its colour and the background it is seen on.
# MathJax draws glyphs from CSS, so each formula (mjx-container) counts as one text.
TEXT_COLOURS_JS = """() => {
  const parse = (s) => {
    let m = s.match(/^rgba?\\(([^)]*)\\)/);
    let scale = 1;
    if (!m) { m = s.match(/^color\\(srgb ([^)]*)\\)/); scale = 255; }
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let colour = [255, 255, 255, 1];  // the browser's canvas under everything
    for (const c of layers.reverse()) colour = over(c, colour);
    return colour;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const where = (el) => {
    const names = [];
    for (let e = el; e && !e.classList.contains('cw-explorer'); e = e.parentElement) {
      const cw = [...e.classList].filter(c => c.startsWith('cw-'));
      if (cw.length) { names.push(cw.join('.')); break; }
    }
    const cls = typeof el.className === 'string' ? el.className.trim() : '';
    const own = cls.split(/\\s+/).slice(0, 2).join('.');
    return (names[0] || 'cw-explorer') + ' > ' + el.tagName.toLowerCase() + (own ? '.' + own : '');
  };
  const measure = (el, text) => {
    const style = getComputedStyle(el);
    // a colour this reader cannot parse fails loudly (ratio 0) rather than passing unseen
    const fg = parse(style.color) || [0, 0, 0, 0];
    const bg = background(el);
    fg[3] *= opacity(el);
    const seen = over(fg, bg);
    const disabled = !!el.closest('.mod-disabled, [disabled], .jupyter-widgets-disabled');
    return {text: text.trim().slice(0, 60), where: where(el), color: style.color,
            background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(', ') + ')',
            ratio: ratio(seen, bg), fontSize: style.fontSize, disabled};
  };
  const root = document.querySelector('.cw-explorer');
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.data.trim() || !el || el.closest('mjx-assistive-mml, style, script')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rect = range.getBoundingClientRect();
    if (!range.getClientRects().length || rect.width < 1 || rect.height < 1) continue;
    if (getComputedStyle(el).visibility !== 'visible') continue;
    out.push(measure(el, node.data));
  }
  root.querySelectorAll('mjx-container, input[type=text], input[type=number], select, textarea')
    .forEach((el) => {
      if (el.offsetParent === null || !el.getClientRects().length) return;
      const text = el.tagName === 'MJX-CONTAINER' ? '(formula) ' + el.textContent : (el.value || '');
      out.push(measure(el, text));
    });
  return out.filter(t => t.text);
}"""


# Text cut short: a visible text wider than the nearest ancestor that hides its overflow
# (ipywidgets' labels end in '…' there), or an input box narrower than its value.
TRUNCATED_JS = """() => {
  const root = document.querySelector('.cw-explorer');
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.data.trim() || !el || el.closest('style, script, mjx-container')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (!range.getClientRects().length) continue;
    const r = range.getBoundingClientRect();
    for (let e = el; e && e !== root.parentElement; e = e.parentElement) {
      if (!['hidden', 'clip'].includes(getComputedStyle(e).overflowX)) continue;
      const box = e.getBoundingClientRect();
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        const shown = Math.round(Math.min(r.right, box.right) - Math.max(r.left, box.left));
        const text = node.data.trim().slice(0, 60);
        out.push({text, shown, needs: Math.round(r.width), cls: String(e.className)});
      }
      break;
    }
  }
  // a number or text box narrower than its value (Chromium lays the value out wider than the
  // box: the digit is clipped, e.g. only a sliver of '1' shows beside its hidden spin buttons)
  for (const box of root.querySelectorAll('input[type=number], input[type=text]')) {
    if (box.offsetParent === null || !box.value || box.scrollWidth <= box.clientWidth + 1) continue;
    const label = box.closest('.widget-inline-hbox');
    out.push({text: box.value, shown: box.clientWidth, needs: box.scrollWidth,
              cls: 'input in ' + (label ? label.innerText.trim() : box.className)});
  }
  return out;
}"""


@contextlib.contextmanager
def recorded_page(browser: Any, request: pytest.FixtureRequest, viewport: dict[str, int], *,
                  timeout_ms: int = 30_000, logs: tuple[tuple[str, Any], ...] = (),
                  **options: Any) -> Iterator[Any]:
    """A fresh browser context and page for one test. When the test fails, what the page
    showed is kept in tests/artifacts/: ``<test>.png`` (the whole page) and, for each
    ``(suffix, text)`` of ``logs``, ``<test>-<suffix>`` holding ``text(page)``."""
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    failed_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed_before:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            for suffix, text in logs:
                with contextlib.suppress(Exception):
                    (ARTIFACTS / f"{request.node.name}-{suffix}").write_text(text(page))
        context.close()
