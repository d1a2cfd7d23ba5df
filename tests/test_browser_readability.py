"""Readable on a laptop, in JupyterLab Light and Dark (issue 11), checked in a real browser.

One ConvExplorer cell (5×5 input, 3×3 kernel, stride 2, padding 1) in JupyterLab at 1366×768
with the file browser open, once per theme (a user-settings file chooses it). With the cell's
top at the top of the notebook panel, and no scrolling:

- the sliders, the picture and the PyTorch verdict are inside the notebook panel on screen;
- the picture is shown at its natural pixel size;
- every visible text inside ``.cw-explorer`` has a computed contrast of at least 4.5:1 against
  the first opaque background up the tree (translucent layers blended, JupyterLab's panels
  included); the worst five are printed on failure;
- in the shown PNG, the digits in the lit output cell, the kernel-window input cells and the
  plain input and output cells reach 4.5:1 against their cell's fill (cells found by colour);
- a refused setting (kernel 9 on input 5) says its sentence once on the page.

Screenshots of what a learner sees are written to ``tests/artifacts/readability_<theme>.png``
and ``readability_<theme>_refusal.png`` on every run.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

# tests/browser.py: the server, the browser and the page helpers (tests/ is on sys.path)
from browser import (
    ARTIFACTS,
    TEXT_COLOURS_JS,
    TRUNCATED_JS,
    LabServer,
    chromium,
    kernel_execute,
    notebook_json,
    open_notebook,
    run_all,
    running_lab,
    set_theme,
    shut_down_sessions,
    wait_text,
)

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
VIEWPORT = {"width": 1366, "height": 768}
SETTING = "input_size=5, kernel_size=3, stride=2, padding=1"
MIN_CONTRAST = 4.5
# the sliders a learner needs on screen with the picture (more are checked when visible)
SLIDERS = ("cw-input-h", "cw-kernel-h", "cw-stride", "cw-padding")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    yield from running_lab(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as started:
        yield started


# One page per theme, shared by that theme's tests (opening a notebook costs ~6 s).
@pytest.fixture(scope="module", params=sorted(THEMES))
def shown(request: pytest.FixtureRequest, browser: Any, lab: LabServer) -> Iterator[tuple[Any, str]]:
    theme = request.param
    set_theme(lab, THEMES[theme])
    name = f"readability_{theme}.ipynb"
    (lab.root / "notebooks" / name).write_text(notebook_json(
        "from convwidget import ConvExplorer",
        f"explorer = ConvExplorer({SETTING}); explorer",  # one line: the output starts high
    ))
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        open_notebook(page, lab, name, workspace=f"readability-{theme}", collapse_left=False)
        page.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")
        light = page.evaluate("() => document.body.dataset.jpThemeLight")
        assert light == ("true" if theme == "light" else "false"), f"{THEMES[theme]} not applied: {light}"
        run_all(page, name)
        page.wait_for_function(VISIBLE_PICTURE_JS + "() => { const i = visiblePicture();"
                               " return !!i && i.complete && i.naturalWidth > 0; }")
        wait_text(page, ".cw-explorer .cw-output-size", "3 × 3")
        scroll_cell_to_top(page)
        page.wait_for_timeout(300)  # layout settles (fonts, MathJax)
        shot(page, f"readability_{theme}.png")
        yield page, theme
    finally:
        with contextlib.suppress(Exception):
            (ARTIFACTS / f"readability_{theme}-page.txt").write_text(page.inner_text("body"))
        context.close()
        shut_down_sessions(lab)


def shot(page: Any, name: str) -> None:
    """The viewport as a learner sees it (look at it: tests/artifacts/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(ARTIFACTS / name))


# --------------------------------------------------------------------------------------
# Page-side snippets
# --------------------------------------------------------------------------------------

# The <img> of the theme the page shows: the explorer puts a light and a dark one in the page
# (or one FrameAhead image that follows the theme).
VISIBLE_PICTURE_JS = """
const visiblePicture = () => {
  const shown = '.cw-explorer .cw-picture, .cw-explorer .cw-picture-dark, .cw-explorer .cw-ahead-img';
  for (const el of document.querySelectorAll(shown)) {
    const img = el.tagName === 'IMG' ? el : el.querySelector('img');
    if (img && img.offsetParent !== null && img.getClientRects().length) return img;
  }
  return null;
};
"""

SCROLL_CELL_JS = """() => {
  const cell = document.querySelector('.cw-explorer').closest('.jp-Cell');
  const scroller = cell.closest('.jp-WindowedPanel-outer') || cell.closest('.jp-Notebook');
  scroller.scrollTop += cell.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
  return cell.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
}"""


def scroll_cell_to_top(page: Any) -> None:
    offset = page.evaluate(SCROLL_CELL_JS)
    assert abs(offset) <= 1, f"the cell's top is {offset} px from the notebook panel's top"


# Rectangles of what must be on screen, and the notebook panel's visible rectangle.
ON_SCREEN_JS = VISIBLE_PICTURE_JS + """([sliders, verdictClasses]) => {
  const root = document.querySelector('.cw-explorer');
  const box = (r) => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  const shown = (el) => !!el && el.offsetParent !== null && el.getClientRects().length > 0;
  const items = {};
  for (const name of sliders) {
    const el = root.querySelector('.' + name);
    items[name] = shown(el) ? box(el.getBoundingClientRect()) : null;
  }
  root.querySelectorAll('.cw-controls .widget-slider').forEach((el, i) => {
    const label = el.innerText.split('\\n')[0];
    if (shown(el)) items['slider ' + i + ' (' + label + ')'] = box(el.getBoundingClientRect());
  });
  const img = visiblePicture();
  items['picture'] = img ? box(img.getBoundingClientRect()) : null;
  // the verdict: a class of its own if the explorer has one, else the '✓ agrees' words
  let verdict = null;
  for (const name of verdictClasses) {
    const el = root.querySelector('.' + name);
    if (shown(el)) { verdict = box(el.getBoundingClientRect()); break; }
  }
  if (!verdict) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, at = node.data.indexOf('agrees');
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, 0); range.setEnd(node, node.data.length);
      if (range.getClientRects().length) { verdict = box(range.getBoundingClientRect()); break; }
    }
  }
  items['PyTorch verdict'] = verdict;
  const scroller = root.closest('.jp-WindowedPanel-outer') || root.closest('.jp-Notebook');
  const panel = box(scroller.getBoundingClientRect());
  panel.right = Math.min(panel.right, window.innerWidth);
  panel.bottom = Math.min(panel.bottom, window.innerHeight);
  const widget = box(root.getBoundingClientRect());
  return {items, panel, widget};
}"""

PICTURE_BYTES_JS = VISIBLE_PICTURE_JS + """async () => {
  const img = visiblePicture();
  if (!img) return null;
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return {png: btoa(text), cls: img.className, dpr: window.devicePixelRatio,
          naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
          clientWidth: img.clientWidth, clientHeight: img.clientHeight};
}"""


def verdict_classes() -> list[str]:
    """A class of its own for the PyTorch verdict line, if the explorer names one."""
    from convwidget.explorer.css import CSS_CLASSES

    return [name for name in CSS_CLASSES if "verdict" in name or name == "cw-torch-agrees"]


# --------------------------------------------------------------------------------------
# The picture's digits, read back from the PNG
# --------------------------------------------------------------------------------------


def luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(float) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    la, lb = luminance(a), luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def hex_rgb(colour: str) -> np.ndarray:
    h = colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], float)


def hex_of(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(round(v)):02x}" for v in rgb)


def components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (top, left, bottom, right; exclusive) of 4-connected True regions."""
    seen = np.zeros_like(mask)
    boxes = []
    height, width = mask.shape
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if seen[y0, x0]:
            continue
        stack, top, left, bottom, right = [(y0, x0)], y0, x0, y0, x0
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            top, left, bottom, right = min(top, y), min(left, x), max(bottom, y), max(right, x)
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        boxes.append((int(top), int(left), int(bottom) + 1, int(right) + 1))
    return boxes


def on_segment(pixels: np.ndarray, start: np.ndarray, end: np.ndarray, tolerance: float = 12) -> np.ndarray:
    """Which pixels are a blend of ``start`` and ``end`` (an antialiased line over a fill)."""
    d = end - start
    t = np.clip(((pixels - start) @ d) / max(float(d @ d), 1e-9), 0, 1)
    return np.linalg.norm(pixels - (start + t[:, None] * d), axis=1) <= tolerance


def cell_text_contrast(rgb: np.ndarray, fill: np.ndarray, lines: tuple[np.ndarray, ...] = (),
                       tolerance: float = 4) -> list[dict[str, Any]]:
    """Every cell of colour ``fill`` (at least 8×8 px): its text pixels' best contrast
    against the fill (the text colour), and how many text pixels it has. Pixels of the
    ``lines`` colours over the fill (grid, window outline, link line) are not text."""
    near = np.abs(rgb - fill).max(axis=2) <= tolerance
    found = []
    for top, left, bottom, right in components(near):
        if bottom - top < 8 or right - left < 8:
            continue
        inset = max(2, (bottom - top) // 8)
        inner = rgb[top + inset:bottom - inset, left + inset:right - inset].reshape(-1, 3)
        text = inner[np.abs(inner - fill).max(axis=1) > tolerance]
        for line in lines:
            text = text[~on_segment(text, fill, line)]
        if len(text) < 4:  # no text in this cell
            continue
        ratios = contrast(text, fill)
        found.append({"box": (top, left, bottom, right), "pixels": len(text),
                      "ratio": float(ratios.max()), "text": hex_of(text[int(np.argmax(ratios))])})
    return found


def picture_fills(theme: str) -> dict[str, np.ndarray]:
    """The fills of a kernel tap over an input cell and of the lit output cell (alpha over
    the cell colour), and of plain input and output cells, from the drawing's palette."""
    from convwidget.drawing.palettes import PALETTES, TAP_ALPHA

    colours = PALETTES[theme]
    tap, (a, lit) = hex_rgb(colours["tap"]), (TAP_ALPHA["tap"], TAP_ALPHA["lit"])
    return {
        "kernel-window input cell": a * tap + (1 - a) * hex_rgb(colours["input"]),
        "lit output cell": lit * tap + (1 - lit) * hex_rgb(colours["output"]),
        "input cell": hex_rgb(colours["input"]),
        "output cell": hex_rgb(colours["output"]),
    }


def line_colours(theme: str) -> tuple[np.ndarray, ...]:
    """The colours of the picture's lines (not text), from the drawing's palette."""
    from convwidget.drawing.palettes import PALETTES

    names = ("edge", "grid", "faint_grid", "input_border", "tap", "hatch")
    return tuple(hex_rgb(PALETTES[theme][name]) for name in names if name in PALETTES[theme])


def decode_png(data: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        return np.asarray(image.convert("RGB"), dtype=float)


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


def outside(rect: dict[str, float] | None, panel: dict[str, float]) -> str | None:
    if rect is None:
        return "not on the page (missing or hidden)"
    cut = [f"{side} {rect[side]:.0f} beyond {panel[side]:.0f}" for side in ("left", "top")
           if rect[side] < panel[side] - 0.5]
    cut += [f"{side} {rect[side]:.0f} beyond {panel[side]:.0f}" for side in ("right", "bottom")
            if rect[side] > panel[side] + 0.5]
    return ", ".join(cut) or None


@pytest.mark.browser
def test_sliders_picture_and_verdict_on_one_screen(shown: tuple[Any, str]) -> None:
    page, theme = shown
    found = page.evaluate(ON_SCREEN_JS, [list(SLIDERS), verdict_classes()])
    panel, widget = found["panel"], found["widget"]
    off = {name: why for name, rect in found["items"].items() if (why := outside(rect, panel))}
    assert not off, (
        f"{theme}: not on screen at 1366×768 with the file browser open (notebook panel "
        f"{panel['left']:.0f}..{panel['right']:.0f} × {panel['top']:.0f}..{panel['bottom']:.0f} px; "
        f"the explorer is {widget['right'] - widget['left']:.0f} × "
        f"{widget['bottom'] - widget['top']:.0f} px): "
        + "; ".join(f"{name}: {why}" for name, why in off.items())
    )


@pytest.mark.browser
def test_picture_shown_at_its_natural_size(shown: tuple[Any, str]) -> None:
    page, theme = shown
    picture = page.evaluate(PICTURE_BYTES_JS)
    assert picture is not None, f"{theme}: no visible picture"
    # the picture's own background follows the theme: no glaring white box in the dark
    rgb = decode_png(picture["png"])
    corner = float(luminance(np.median(rgb[:4].reshape(-1, 3), axis=0)))
    assert (corner > 0.8) if theme == "light" else (corner < 0.05), (
        f"{theme}: the picture's background has luminance {corner:.3f} ({picture['cls']})")
    natural = (picture["naturalWidth"], picture["naturalHeight"])
    assert natural == (picture["clientWidth"], picture["clientHeight"]), (
        f"{theme}: the {natural[0]} × {natural[1]} PNG is shown at "
        f"{picture['clientWidth']} × {picture['clientHeight']} CSS px (devicePixelRatio {picture['dpr']})"
    )


@pytest.mark.browser
def test_every_text_reads_at_4_5_to_1(shown: tuple[Any, str]) -> None:
    page, theme = shown
    texts = page.evaluate(TEXT_COLOURS_JS)
    assert len(texts) > 10, texts
    assert_contrast(texts, theme)


def assert_contrast(texts: list[dict[str, Any]], label: str) -> None:
    low = sorted((t for t in texts if t["ratio"] < MIN_CONTRAST), key=lambda t: t["ratio"])
    worst = "\n".join(
        f"  {t['ratio']:.2f}:1 {t['text']!r} in {t['where']} ({t['color']} on {t['background']}, "
        f"{t['fontSize']}{', disabled' if t['disabled'] else ''})"
        for t in low[:5]
    )
    assert not low, f"{label}: {len(low)} of {len(texts)} texts under {MIN_CONTRAST}:1; the worst 5:\n{worst}"


@pytest.mark.browser
def test_picture_digits_read_at_4_5_to_1_on_their_cells(shown: tuple[Any, str]) -> None:
    page, theme = shown
    picture = page.evaluate(PICTURE_BYTES_JS)
    assert picture is not None, f"{theme}: no visible picture"
    rgb = decode_png(picture["png"])
    problems = []
    for name, fill in picture_fills(theme).items():
        cells = cell_text_contrast(rgb, fill, line_colours(theme))
        fill_hex = hex_of(fill)
        if not cells:
            problems.append(f"no {name} with text found (fill {fill_hex} ± 4 in the {theme} PNG; or its "
                            "text is the colour of a line: grid, outline)")
        problems += [f"{name} at {c['box']}: text {c['text']} on {fill_hex} is {c['ratio']:.2f}:1"
                     for c in cells if c["ratio"] < MIN_CONTRAST]
    assert not problems, f"{theme} picture: " + "; ".join(problems)


@pytest.mark.browser
def test_no_text_is_cut_short(shown: tuple[Any, str]) -> None:
    page, theme = shown
    cut = page.evaluate(TRUNCATED_JS)
    assert not cut, f"{theme}: {len(cut)} texts cut short: " + "; ".join(
        f"{c['text']!r} shown in {c['shown']} of {c['needs']} px ({c['cls']})" for c in cut[:8])


REFUSAL = "kernel_size=9"


@pytest.mark.browser
def test_a_refusal_is_said_once(shown: tuple[Any, str]) -> None:
    page, theme = shown
    said = json.loads(kernel_execute(page, (
        "import json\n"
        f"explorer.set({REFUSAL})\n"
        "r = explorer.state.results\n"
        "print(json.dumps({'problem': r.problem, 'torch': r.torch_result.error}))"
    )))
    try:
        assert said["problem"], said
        wait_text(page, ".cw-explorer .cw-output-size", "refused")
        page.wait_for_timeout(500)  # every panel has its message
        shot(page, f"readability_{theme}_refusal.png")
        text = squash(page.inner_text("body"))
        # 'height: kernel spans ...': the dimension may be said apart from the sentence
        sentence = squash(re.sub(r"^(height|width|depth): ", "", said["problem"]))
        times = text.count(sentence)
        torch_times = text.count(squash(said["torch"]))
        texts = page.evaluate(TEXT_COLOURS_JS)
        where = page.evaluate(SENTENCE_ON_SCREEN_JS, sentence)
    finally:
        kernel_execute(page, "explorer.set(kernel_size=3)")
        wait_text(page, ".cw-explorer .cw-output-size", "3 × 3")
    assert times == 1, f"{theme}: the refusal {sentence!r} is on the page {times} times"
    assert torch_times <= 1, f"{theme}: PyTorch's message is on the page {torch_times} times"
    assert where["on_screen"], f"{theme}: the refusal is not on screen without scrolling: {where}"
    assert_contrast(texts, f"{theme}, refused")


# Where the refusal sentence is, against the notebook panel's visible rectangle.
SENTENCE_ON_SCREEN_JS = """(sentence) => {
  const squash = (t) => t.replace(/\\s+/g, ' ').trim();
  const root = document.querySelector('.cw-explorer');
  let found = null;
  for (const el of root.querySelectorAll('*')) {
    if (el.offsetParent === null || !squash(el.innerText || '').includes(sentence)) continue;
    found = el;  // the innermost element holding the whole sentence comes last
  }
  if (!found) return {on_screen: false, why: 'not found in .cw-explorer'};
  const r = found.getBoundingClientRect();
  const p = root.closest('.jp-WindowedPanel-outer').getBoundingClientRect();
  const bottom = Math.min(p.bottom, window.innerHeight);
  return {on_screen: r.top >= p.top - 0.5 && r.bottom <= bottom + 0.5 && r.left >= p.left - 0.5,
          top: Math.round(r.top), bottom: Math.round(r.bottom), panel_bottom: Math.round(bottom),
          cls: String(found.className)};
}"""


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()

