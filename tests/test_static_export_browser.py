"""ConvExplorer's default picture (frames ahead, an anywidget) in a static HTML export.

Issue 14 asks that the frames ahead keep working in a static HTML export. This runs a small
notebook with ``jupyter nbconvert --execute`` keeping the widget state (three explorers at
seeded random settings, two of them changed again by a later cell), opens the HTML in
headless Chromium from a file, as a learner who downloaded it would, and serves the CDN files
the page loads (require.js, html-manager, anywidget) from their npm packages
(tests/offline_cdn.py). What a learner must see with no kernel behind the page: the picture of
the saved setting (the explorer's own drawing of it, loaded), the calculator's output size
PyTorch gives for it, no script error; a moved slider keeps that picture, marked as not live.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.metadata
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

# tests/browser.py: the browser; tests/offline_cdn.py: the CDN files from npm (tests/ is on sys.path)
from browser import ARTIFACTS, chromium, notebook_json, recorded_page
from offline_cdn import NpmUnavailable, OfflineCdn, npm_package, script_urls

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The html-manager the export's `@*` address gets today (the 1.0 line goes with ipywidgets 8.1)
HTML_MANAGER = "1.0.15"
SEED = int(time.time()) % 10_000
THEMES = ("light", "dark")
EXPLORERS = 3
#: changed by a later cell (the saved picture must be the final setting's, not the first one)
CHANGED = (1, 2)

# the picture's bytes (a blob: URL, fetched in the page), its size, what the page says
PICTURES_JS = """() => [...document.querySelectorAll('.cw-explorer')].map(async (root) => {
  const img = root.querySelector('.cw-ahead-img');
  const ahead = root.querySelector('.cw-ahead');
  const mark = root.querySelector('.cw-ahead-mark');
  const torch = root.querySelector('.cw-torch-panel');
  let bytes = null;
  if (img && img.getAttribute('src')) {
    try {
      const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      let text = ''; for (const b of buf) text += String.fromCharCode(b);
      bytes = btoa(text);
    } catch (err) { bytes = null; }
  }
  return {
    bytes, src: img ? img.getAttribute('src') : null,
    width: img ? img.naturalWidth : 0, complete: img ? img.complete : false,
    shown: img ? getComputedStyle(img).display !== 'none' : false,
    confirmed: ahead ? ahead.dataset.confirmed : null, live: ahead ? ahead.dataset.live : null,
    output: (root.querySelector('.cw-output-size') || {}).innerText || '',
    mark: mark && getComputedStyle(mark).display !== 'none' ? mark.textContent : null,
    torchNote: torch ? getComputedStyle(torch, '::after').content : null,
    root: root.className,
  };
})"""


def random_setting(rng: random.Random) -> dict[str, Any]:
    """A 2-D setting PyTorch accepts on a 7 x 7 input: a conv, a max pool or an average pool."""
    kind = rng.choice(["conv", "max_pool", "avg_pool"])
    kernel = rng.randint(1, 5) if kind == "conv" else rng.randint(2, 4)
    return {"kind": kind, "input_size": 7, "kernel_size": kernel, "stride": rng.randint(1, 3),
            "padding": rng.randint(0, kernel // 2)}


def torch_output(setting: dict[str, Any]) -> tuple[int, int]:
    """(height, width) PyTorch's layer gives for ``setting``."""
    args = (setting["kernel_size"], setting["stride"], setting["padding"])
    layer = {"conv": lambda: torch.nn.Conv2d(1, 1, *args), "max_pool": lambda: torch.nn.MaxPool2d(*args),
             "avg_pool": lambda: torch.nn.AvgPool2d(*args)}[setting["kind"]]()
    with torch.no_grad():
        shape = layer(torch.zeros(1, 1, 7, 7)).shape
    return int(shape[-2]), int(shape[-1])


def settings_text(setting: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in setting.items())


@dataclass
class Export:
    html: dict[str, Path]  # theme -> the exported file (nbconvert's light and dark templates)
    final: list[dict[str, Any]]  # each explorer's saved setting
    pngs: dict[str, list[bytes]]  # theme -> the explorer's own picture of each, drawn here
    seconds: float  # to execute and export the notebook


@dataclass
class Opened:
    page: Any
    errors: list[str]  # page errors and console errors (failed loads aside)
    seconds: float  # from goto until every picture has settled


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    """The notebook, executed by nbconvert with its widget state, as static HTML."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor

    rng = random.Random(SEED)
    first = [random_setting(rng) for _ in range(EXPLORERS)]
    final = [random_setting(rng) if i in CHANGED else first[i] for i in range(EXPLORERS)]
    cells = ["from convwidget import ConvExplorer\nexplorers = []"]
    cells += [f"explorers.append(ConvExplorer({settings_text(s)}))\nexplorers[-1]" for s in first]
    cells.append("\n".join(f"_ = explorers[{i}].set({settings_text(final[i])})" for i in CHANGED))
    tmp = tmp_path_factory.mktemp("static_export")
    notebook = nbformat.reads(notebook_json(*cells), as_version=4)
    start = time.perf_counter()
    ExecutePreprocessor(timeout=180, kernel_name="python3", store_widget_state=True).preprocess(
        notebook, {"metadata": {"path": str(tmp)}})
    html = {}
    for theme in THEMES:
        body, _ = HTMLExporter(theme=theme).from_notebook_node(notebook)
        html[theme] = tmp / f"explorers-{theme}.html"
        html[theme].write_text(body, encoding="utf-8")
    seconds = time.perf_counter() - start
    drawn = [expected_pngs(s) for s in final]
    return Export(html, final, {t: [d[t] for d in drawn] for t in THEMES}, seconds)


def saved_anywidget_version(html: str) -> str:
    """The anywidget version range the saved FrameAhead models ask for."""
    match = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    assert match, "the export holds no widget state (store_widget_state was not applied)"
    state = json.loads(match.group(1))["state"]
    ranges = {m["model_module_version"] for m in state.values() if m["model_module"] == "anywidget"}
    assert len(ranges) == 1, f"the FrameAhead models ask for anywidget {sorted(ranges)}"
    return ranges.pop()


@pytest.fixture(scope="module")
def cdn(export: Export) -> OfflineCdn:
    """The CDN files the export names, from npm (cached in tests/artifacts/npm-cache/)."""
    html = export.html["light"].read_text(encoding="utf-8")
    urls = script_urls(html)
    require = [re.search(r"/require\.js/([\d.]+)/", u) for u in urls]
    versions = [m.group(1) for m in require if m]
    assert versions, f"the export loads no require.js from cdnjs; it names {urls}"
    assert any("unpkg.com/@jupyter-widgets/html-manager@" in u for u in urls), urls
    wanted = saved_anywidget_version(html)  # e.g. '~0.11.*'
    installed = importlib.metadata.version("anywidget")
    prefix = wanted.lstrip("~^").replace(".*", "").rstrip(".")
    assert installed.startswith(prefix), f"the page asks for anywidget {wanted}, Python has {installed}"
    try:
        return OfflineCdn(requirejs=npm_package("requirejs", versions[0]),
                          html_manager=npm_package("@jupyter-widgets/html-manager", HTML_MANAGER),
                          modules={"anywidget": npm_package("anywidget", installed)})
    except NpmUnavailable as err:
        pytest.skip(f"the export's CDN files cannot be fetched: {err}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@contextlib.contextmanager
def open_export(browser: Any, request: pytest.FixtureRequest, html: Path,
                cdn: OfflineCdn) -> Iterator[Opened]:
    """The exported file in a new page (from a file:// address, as a download is opened), once
    every explorer's picture has its controls read."""
    with recorded_page(browser, request, {"width": 1280, "height": 900}) as page:
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(f"page error: {err}"))
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and "Failed to load resource" not in msg.text else None)
        cdn.route(page)
        start = time.perf_counter()
        page.goto(html.resolve().as_uri())
        page.wait_for_function(
            f"() => document.querySelectorAll('.cw-explorer .cw-ahead').length === {EXPLORERS}"
            " && [...document.querySelectorAll('.cw-ahead')].every(a => a.dataset.current)",
            timeout=30_000)
        page.wait_for_timeout(300)  # the pictures decode
        yield Opened(page, errors, time.perf_counter() - start)


@pytest.fixture
def opened(export: Export, cdn: OfflineCdn, browser: Any, request: pytest.FixtureRequest) -> Iterator[Opened]:
    with open_export(browser, request, export.html["light"], cdn) as page:
        yield page


def pictures(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(f"async () => Promise.all(({PICTURES_JS})())")


def expected_pngs(setting: dict[str, Any]) -> dict[str, bytes]:
    """The explorer's own picture of ``setting`` in each theme, drawn in this process."""
    from convwidget import ConvExplorer

    explorer = ConvExplorer(**setting)
    try:
        return {theme: explorer.picture_png(theme) for theme in THEMES}
    finally:
        explorer.close()


def test_the_saved_setting_is_shown_without_a_kernel(export: Export, cdn: OfflineCdn, opened: Opened) -> None:
    page = opened.page
    seen = pictures(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "static-export-saved.png"), full_page=True)
    print(f"seed {SEED}: export {export.seconds:.1f} s, page ready {opened.seconds:.1f} s, "
          f"served {len(cdn.served)}, refused {cdn.refused}")
    assert opened.errors == [], opened.errors
    assert len(seen) == EXPLORERS
    for i, (shown, setting, png) in enumerate(zip(seen, export.final, export.pngs["light"], strict=True)):
        where = f"explorer {i} (seed {SEED}, saved setting {settings_text(setting)})"
        h, w = torch_output(setting)
        assert shown["width"] > 0 and shown["complete"] and shown["shown"], \
            f"{where}: no picture is shown (src {shown['src']!r}, natural width {shown['width']})"
        assert re.search(rf"Output:\s*{h}\s*×\s*{w}\b", shown["output"]), \
            f"{where}: the calculator says {shown['output']!r}, PyTorch gives {h} × {w}"
        assert shown["confirmed"] == "1" and shown["live"] == "0", where
        assert "cw-waiting" not in shown["root"] and shown["mark"] is None, \
            f"{where}: the saved setting is marked as waiting ({shown['root']}, mark {shown['mark']!r})"
        assert base64.b64decode(shown["bytes"] or "") == png, \
            f"{where}: the picture shown is not the explorer's picture of the saved setting"
    # only what no learner needs offline was refused (MathJax, mermaid)
    assert all("mathjax" in u or "mermaid" in u for u in cdn.refused), cdn.refused


def test_a_moved_slider_keeps_the_saved_picture_marked_not_live(export: Export, opened: Opened) -> None:
    page = opened.page
    before = pictures(page)
    index = CHANGED[0]
    root = page.locator(".cw-explorer").nth(index)
    handle = root.locator(".cw-kernel-h .noUi-handle")
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(i) => document.querySelectorAll('.cw-explorer')[i].querySelector('.cw-ahead')"
        ".dataset.confirmed === '0'", arg=index, timeout=5_000)
    page.wait_for_timeout(400)  # the torch panel's note shows after .15 s
    after = pictures(page)
    page.screenshot(path=str(ARTIFACTS / "static-export-moved.png"), full_page=True)
    moved, still = after[index], before[index]
    assert opened.errors == [], opened.errors
    assert moved["bytes"] == still["bytes"] and moved["width"] > 0, \
        "a moved slider in a page without a kernel changed or lost the saved picture"
    assert moved["mark"] and "not live" in moved["mark"], f"the picture is not marked: {moved['mark']!r}"
    assert "no kernel" in (moved["torchNote"] or ""), \
        f"PyTorch's panel says {moved['torchNote']!r}, not that no kernel runs the page"
    assert "waiting for the kernel" not in (moved["torchNote"] or "")
    for i in set(range(EXPLORERS)) - {index}:  # the other explorers are untouched
        assert after[i]["mark"] is None and after[i]["bytes"] == before[i]["bytes"], i


def test_a_dark_export_shows_the_dark_picture(export: Export, cdn: OfflineCdn, browser: Any,
                                              request: pytest.FixtureRequest) -> None:
    """``nbconvert --HTMLExporter.theme=dark``: the page is dark, so is the saved picture."""
    with open_export(browser, request, export.html["dark"], cdn) as opened:
        page = opened.page
        assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
        seen = pictures(page)
        page.screenshot(path=str(ARTIFACTS / "static-export-dark.png"), full_page=True)
        assert opened.errors == [], opened.errors
        for i, (shown, png) in enumerate(zip(seen, export.pngs["dark"], strict=True)):
            assert shown["width"] > 0 and base64.b64decode(shown["bytes"] or "") == png, \
                f"explorer {i} (seed {SEED}, {settings_text(export.final[i])}): not its dark picture"
