"""FrameAhead in a real JupyterLab (headless Chromium): the picture switches in the browser and
never shows a frame of another setting (issue 14).

A small harness (``HARNESS``: an ExplorerState, int sliders, a FrameAhead and the callback
that confirms) runs in a notebook; the page records every ``src`` the picture shows, with its
key, its pending mark and the sliders' readouts at that moment. After rapid presses, two
sliders moved quickly and a busy kernel, the picture must end on the final setting, and every
frame shown unmarked must be the frame of the sliders' values (its key, and its bytes against
the kernel's own rendering of those values). ``benchmarks/bench_binder.py`` reuses the harness.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

# tests/browser.py: the server, the browser and the page helpers (tests/ is on sys.path)
from browser import (
    REPO,
    LabServer,
    chromium,
    kernel_execute,
    notebook_json,
    open_notebook,
    recorded_page,
    run_all,
    running_lab,
    shut_down_sessions,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMES = ("kernel_size", "padding", "step", "stride")

HARNESS = '''
import ipywidgets as W
from convwidget.explorer.ahead import FrameAhead
from convwidget.explorer.aheadframes import ExplorerFrames
from convwidget.explorer.state import ExplorerState

state = ExplorerState(input_size=32, kernel_size=3, padding=1, run_torch=False)
sliders = {
    "kernel_size": W.IntSlider(3, min=1, max=7, description="kernel"),
    "stride": W.IntSlider(1, min=1, max=4, description="stride"),
    "padding": W.IntSlider(1, min=0, max=3, description="padding"),
    "step": W.IntSlider(0, min=0, max=1023, description="step"),
}
for _name, _slider in sliders.items():
    _slider.add_class("h-" + _name.replace("_", "-"))
play = W.Play(0, min=0, max=1023, interval=100)
play.add_class("h-play")
W.jslink((play, "value"), (sliders["step"], "value"))
frames = ExplorerFrames(lambda: state.settings)
ahead = FrameAhead(frames)
ahead.add_class("cw-picture")
ahead.watch(sliders, sweep="step")
_busy = [False]
confirmed = []

def confirm(change=None):
    if _busy[0]:
        return
    _busy[0] = True
    try:
        with ahead.turn():  # the state and the confirmation together (two kernel threads)
            _confirm()
    finally:
        _busy[0] = False

def _confirm():
    values = {n: s.value for n, s in sliders.items()}
    try:
        state.set(**{n: v for n, v in values.items() if n != "step"})
    except ValueError:
        pass
    geometry, step = frames.geometry(values)
    if geometry is not None:
        sliders["step"].max = play.max = geometry.n_steps - 1
        values["step"] = sliders["step"].value = step
    ahead.set_context(frames.context(values))
    ahead.request(values)  # rendered a few ms later: rapid presses render only the last
    confirmed.append(dict(values))

for _slider in sliders.values():
    _slider.observe(confirm, names="value")
confirm()
box = W.VBox([W.HBox([sliders["kernel_size"], sliders["stride"]]),
              W.HBox([sliders["padding"], sliders["step"], play]), ahead])
box.add_class("cw-explorer")
box
'''

# Every src the picture shows, with its key, its pending mark, the sliders' readouts at that
# moment and the SHA-256 of its bytes (fetched at once: a dropped frame's URL is revoked).
RECORDER_JS = """(names) => {
  const img = document.querySelector('.cw-ahead-img');
  window.__shown = [];
  const readouts = () => {
    const out = {};
    for (const n of names) {
      const el = document.querySelector('.h-' + n.replace('_', '-') + ' .widget-readout');
      out[n] = el ? el.innerText.trim() : null;
    }
    return out;
  };
  const record = () => {
    const src = img.getAttribute('src');
    const entry = {src, key: img.dataset.key, pending: img.dataset.pending, readouts: readouts(),
                   t: performance.now(), hash: null};
    window.__shown.push(entry);
    fetch(src).then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b))
      .then(h => {
        entry.hash = Array.from(new Uint8Array(h), x => x.toString(16).padStart(2, '0')).join('');
      })
      .catch(() => { entry.hash = 'unreadable'; });
  };
  new MutationObserver(record).observe(img, {attributes: true, attributeFilter: ['src']});
  return !!img;
}"""

# The picture shows the confirmed frame of exactly the sliders' values, unmarked.
SETTLED_JS = """(names) => {
  const img = document.querySelector('.cw-ahead-img');
  if (!img || img.dataset.pending !== '0' || !img.dataset.key) return false;
  const values = Object.fromEntries(JSON.parse(img.dataset.key.slice(img.dataset.key.indexOf('|') + 1)));
  for (const n of names) {
    const el = document.querySelector('.h-' + n.replace('_', '-') + ' .widget-readout');
    if (!el || String(values[n]) !== el.innerText.trim()) return false;
  }
  return true;
}"""


def _values(key: str) -> dict[str, Any]:
    return dict(json.loads(key.split("|", 1)[1]))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    for server in running_lab(tmp_path_factory):
        snapshot_package(server)
        yield server


def snapshot_package(server: LabServer) -> None:
    """A copy of the package beside the notebooks (the kernel's working directory comes first
    on its sys.path): modules imported later in the test (the drawing, at the first frame)
    are the ones of the test's start, whatever else changes in the checkout meanwhile."""
    shutil.copytree(REPO / "convwidget", server.root / "notebooks" / "convwidget",
                    ignore=shutil.ignore_patterns("__pycache__"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    name = f"ahead_{request.node.name.replace('[', '_').replace(']', '')}.ipynb"
    (lab.root / "notebooks" / name).write_text(notebook_json(HARNESS))
    try:
        with recorded_page(browser, request, {"width": 1366, "height": 900}) as page:
            open_notebook(page, lab, name, workspace=name.replace(".", "-"))
            run_all(page, name)
            page.wait_for_selector(".cw-ahead-img", state="visible")
            assert page.evaluate(RECORDER_JS, list(NAMES))
            yield page
    finally:
        shut_down_sessions(lab)


def wait_filled(page, timeout: float = 60) -> int:
    """Wait until the kernel has sent every frame it wants ahead; how many it sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = kernel_execute(page, "print(len(ahead._queue), ahead._handle is None, ahead.sent)")
        queued, idle, sent = out.split()
        if queued == "0" and idle == "True":
            return int(sent)
        time.sleep(0.3)
    raise AssertionError("the kernel did not finish sending frames ahead")


def press(page, name: str, key: str, times: int = 1, gap_ms: int = 0) -> None:
    handle = page.locator(f".h-{name.replace('_', '-')} .noUi-handle")
    handle.focus()
    for _ in range(times):
        page.keyboard.press(key)
        if gap_ms:
            page.wait_for_timeout(gap_ms)


def settle_and_check(page) -> list[dict[str, Any]]:
    """Wait for the final setting, then check every frame the picture showed."""
    page.wait_for_function(SETTLED_JS, arg=list(NAMES), timeout=30_000)
    page.wait_for_timeout(300)
    shown = page.evaluate("() => window.__shown")
    readouts = page.evaluate(
        "(names) => Object.fromEntries(names.map(n => [n, document.querySelector("
        "'.h-' + n.replace('_', '-') + ' .widget-readout').innerText.trim()]))", list(NAMES))
    base = kernel_execute(page, "print(ahead.base)").strip()
    assert {n: str(v) for n, v in _values(base).items()} == readouts, (base, readouts)
    unmarked = [s for s in shown if s["pending"] == "0"]
    for entry in unmarked:  # the key of every unmarked frame is the sliders' values then
        assert {n: str(v) for n, v in _values(entry["key"]).items()} == entry["readouts"], entry
    # ... and its bytes are the kernel's own drawing of that setting
    keys = sorted({s["key"] for s in unmarked if s["hash"] and s["hash"] != "unreadable"})
    code = ("import hashlib, json\nout = {}\n"
            f"for key in {keys!r}:\n"
            "    values = dict(json.loads(key.split('|', 1)[1]))\n"
            "    out[key] = hashlib.sha256(frames(values, ahead.theme) or b'').hexdigest()\n"
            "print(json.dumps(out))")
    expected = json.loads(kernel_execute(page, code))
    for entry in unmarked:
        if entry["key"] in expected:
            assert entry["hash"] == expected[entry["key"]], f"a frame of another setting: {entry}"
    return shown


def test_rapid_presses_show_frames_ahead_and_end_on_the_final_setting(page) -> None:
    sent = wait_filled(page)
    assert sent > 10
    press(page, "kernel_size", "ArrowRight", times=3)
    press(page, "kernel_size", "ArrowLeft", times=1)
    shown = settle_and_check(page)
    assert len(shown) >= 3
    assert any(s["pending"] == "0" for s in shown[:2]), "the first press found its frame held"


def test_two_sliders_moved_quickly(page) -> None:
    wait_filled(page)
    press(page, "stride", "ArrowRight", times=2)
    press(page, "padding", "ArrowLeft", times=1)
    press(page, "kernel_size", "ArrowRight", times=2)
    settle_and_check(page)


def test_busy_kernel_keeps_pending_until_it_confirms(page) -> None:
    wait_filled(page)
    # busy where it counts: ipykernel handles widget messages on a thread of its own, so a
    # plain sleep in a cell does not stop the confirmations; holding the frames' lock does
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                  ".requestExecute({code: 'import time\\nwith ahead.lock:\\n    time.sleep(3)',"
                  " store_history: false})")
    page.wait_for_timeout(300)
    press(page, "padding", "ArrowRight", times=1)
    press(page, "kernel_size", "ArrowRight", times=2)
    press(page, "step", "ArrowRight", times=3)
    page.wait_for_timeout(200)
    during = page.evaluate("() => document.querySelector('.cw-ahead-img').dataset.pending")
    assert during == "1", "two sliders moved while the kernel sleeps: the picture waits, marked"
    shown = settle_and_check(page)
    assert shown[0]["pending"] == "0", "the first press (one notch) was shown from the browser"


def test_a_value_the_kernel_set_is_not_sent_back(page) -> None:
    """A value the kernel sets itself while the page moves on is never undone by the page:
    here the kernel makes stride follow kernel size 4 and is busy 0.3 s before its change
    reaches the page. (A page reporting all its sliders' values in a message of its own sent
    the old stride back and left the kernel on another setting than the sliders.)"""
    kernel_execute(page, (
        "import time\n"
        "def _follow(change):\n"
        "    if change.new == 4:\n"
        "        with sliders['stride'].hold_sync():\n"
        "            sliders['stride'].value = 2\n"
        "            time.sleep(0.3)\n"
        "sliders['kernel_size'].observe(_follow, names='value')\n"))
    wait_filled(page)
    press(page, "kernel_size", "ArrowRight", times=1)
    page.wait_for_function(
        "() => document.querySelector('.h-stride .widget-readout').innerText.trim() === '2'")
    settle_and_check(page)
    assert kernel_execute(page, "print(sliders['kernel_size'].value, sliders['stride'].value)").split() \
        == ["4", "2"]


def test_play_walks_held_steps(page) -> None:
    wait_filled(page)
    page.locator(".h-play button").first.click()  # play
    page.wait_for_timeout(1500)
    page.locator(".h-play button").nth(1).click()  # pause
    shown = settle_and_check(page)
    steps = [s for s in shown if s["pending"] == "0"]
    assert len(steps) >= 8, f"Play at 100 ms showed {len(steps)} frames in 1.5 s"


def test_a_drag_shows_only_the_frames_of_the_sliders_values(page) -> None:
    """The mouse drags the kernel slider right and back: the page shows frames as the handle
    passes their notches, each one the sliders' setting, and ends on the kernel's."""
    wait_filled(page)
    handle = page.locator(".h-kernel-size .noUi-handle")
    handle.scroll_into_view_if_needed()
    grip = handle.bounding_box()
    track = page.locator(".h-kernel-size .noUi-target").bounding_box()
    assert grip and track
    y = grip["y"] + grip["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 0.95, y, steps=16)
    page.mouse.move(track["x"] + track["width"] * 0.45, y, steps=8)
    page.mouse.up()
    shown = settle_and_check(page)
    assert len({s["key"] for s in shown if s["pending"] == "0"}) >= 3, shown


def test_a_restarted_kernel_leaves_the_page_honest(page) -> None:
    """After a kernel restart nothing will confirm a move: a held frame is still the sliders'
    setting and is shown; past the held notches the last picture stays, marked as not live."""
    wait_filled(page)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function("() => { const k = window.jupyterapp.shell.currentWidget.sessionContext"
                           ".session.kernel; return k && k.status === 'idle'; }", timeout=60_000)
    page.wait_for_timeout(500)
    press(page, "kernel_size", "ArrowRight", times=1)  # 4: held (±2 notches of 3)
    state = ("() => { const el = document.querySelector('.cw-ahead'); const i = el.querySelector('img');"
             " return {pending: i.dataset.pending, key: i.dataset.key, live: el.dataset.live,"
             " mark: el.querySelector('.cw-ahead-mark').textContent}; }")
    held = page.evaluate(state)
    assert held["pending"] == "0" and held["live"] == "0" and _values(held["key"])["kernel_size"] == 4, held
    press(page, "kernel_size", "ArrowRight", times=3)  # 7: never sent
    page.wait_for_timeout(300)
    after = page.evaluate(state)
    assert after["pending"] == "1" and after["mark"] == "not live: the saved setting", after
    for entry in page.evaluate("() => window.__shown"):
        if entry["pending"] == "0":
            assert {n: str(v) for n, v in _values(entry["key"]).items()} == entry["readouts"], entry


def test_voila_renders_the_picture_and_switches_in_the_page(browser, lab: LabServer) -> None:
    """Voila (served by the same server at /voila/render/...) loads the anywidget front end."""
    name = "ahead_voila.ipynb"
    (lab.root / "notebooks" / name).write_text(notebook_json(HARNESS))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{lab.url}/voila/render/notebooks/{name}?token={lab.token}", timeout=120_000)
        page.wait_for_selector(".cw-ahead-img", state="visible", timeout=120_000)
        assert page.evaluate(RECORDER_JS, list(NAMES))
        page.wait_for_timeout(3000)  # the frames ahead arrive
        press(page, "kernel_size", "ArrowRight")
        page.wait_for_function(SETTLED_JS, arg=list(NAMES), timeout=30_000)
        # the first picture after the press came from the page, not from the kernel
        assert page.evaluate("() => window.__shown.map(s => s.pending)")[:1] == ["0"]
        key = page.evaluate("() => document.querySelector('.cw-ahead-img').dataset.key")
        assert _values(key)["kernel_size"] == 4
    finally:
        context.close()
        shut_down_sessions(lab)


# The seam as the lead would plug it: a ConvExplorer's own controls drive a FrameAhead.
SEAM = '''
from convwidget import ConvExplorer
e = ConvExplorer(input_size=16, kernel_size=3, padding=1, ahead=True)
ahead = e.ahead
ahead.widget.add_class("cw-seam")
e
'''


def test_conv_explorer_controls_drive_frames_ahead(browser, lab: LabServer) -> None:
    name = "ahead_seam.ipynb"
    (lab.root / "notebooks" / name).write_text(notebook_json(SEAM))
    context = browser.new_context(viewport={"width": 1366, "height": 1400})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        open_notebook(page, lab, name, workspace="ahead-seam")
        run_all(page, name)
        page.wait_for_selector(".cw-seam .cw-ahead-img", state="visible")
        state = "() => { const el = document.querySelector('.cw-seam'); const i = el.querySelector('img');" \
                " return [i.dataset.pending, el.dataset.current === i.dataset.key] }"
        for key, kernel in (("ArrowRight", 4), ("ArrowRight", 5), ("ArrowLeft", 4)):
            deadline = time.monotonic() + 60
            while kernel_execute(page, "print(len(ahead.widget._queue))").strip() != "0":
                assert time.monotonic() < deadline, "the frames ahead were not sent"
                time.sleep(0.3)
            handle = page.locator(".cw-explorer .cw-kernel-h .noUi-handle")
            handle.focus()
            page.keyboard.press(key)
            # at once, before the kernel answers: the held frame of the controls' values
            assert page.evaluate(state) == ["0", True], f"kernel {kernel}: not shown from the page"
            # then the kernel's confirmation of the same setting (the held frame above shows
            # before the kernel has even heard of the press)
            page.wait_for_function(
                "() => { const el = document.querySelector('.cw-seam'); const i = el.querySelector('img');"
                " return i.dataset.pending === '0' && el.dataset.current === i.dataset.key"
                " && el.dataset.confirmed === '1'; }")
            assert kernel_execute(page, "print(e.state.kernel_size)").strip() == str(kernel)
            base = kernel_execute(page, "print(ahead.widget.base)").strip()
            assert base == page.evaluate("() => document.querySelector('.cw-seam').dataset.current")
    finally:
        context.close()
        shut_down_sessions(lab)


# Every change of the explorer's texts in view, with the kernel slider's readout and whether
# the explorer marks them as waiting for the kernel.
TEXTS_LOG_JS = """() => {
  const root = document.querySelector('.cw-explorer');
  const text = (sel) => root.querySelector(sel).innerText;
  window.__texts = [];
  const record = () => window.__texts.push({
    kernel: text('.cw-kernel-h .widget-readout').trim(), torch: text('.cw-torch-panel'),
    output: text('.cw-output-size'), waiting: root.classList.contains('cw-waiting'),
    confirmed: root.querySelector('.cw-seam').dataset.confirmed});
  new MutationObserver(record).observe(root, {subtree: true, childList: true, characterData: true,
                                              attributes: true, attributeFilter: ['class']});
  return true;
}"""


def _said(kernel: int) -> tuple[str, str]:
    """What PyTorch's verdict and the headline say at kernel ``kernel`` (input 16, padding 1):
    the size of the real nn.Conv2d's output."""
    import torch

    out = torch.nn.Conv2d(1, 1, kernel, padding=1)(torch.zeros(1, 1, 16, 16)).shape
    return f"torch.Size([{', '.join(map(str, out))}])", f"Output: {out[2]} × {out[3]}"


def test_conv_explorer_verdict_moves_with_the_frame(browser, lab: LabServer) -> None:
    """PyTorch's verdict (the real layer, run by the kernel for each frame it sends ahead) and
    the output size switch with the picture, before the kernel hears of the press; under rapid
    presses no verdict unmarked as waiting ever names another setting than the slider's."""
    name = "ahead_verdict.ipynb"
    (lab.root / "notebooks" / name).write_text(notebook_json(SEAM))
    context = browser.new_context(viewport={"width": 1366, "height": 1400})
    context.set_default_timeout(30_000)
    page = context.new_page()
    settled = ("() => document.querySelector('.cw-seam').dataset.confirmed === '1'"
               " && !document.querySelector('.cw-explorer').classList.contains('cw-waiting')")
    try:
        open_notebook(page, lab, name, workspace="ahead-verdict")
        run_all(page, name)
        page.wait_for_selector(".cw-seam .cw-ahead-img", state="visible")
        handle = page.locator(".cw-explorer .cw-kernel-h .noUi-handle")
        for key, kernel in (("ArrowRight", 4), ("ArrowLeft", 3)):
            deadline = time.monotonic() + 60
            while kernel_execute(page, "print(len(ahead.widget._queue))").strip() != "0":
                assert time.monotonic() < deadline, "the frames ahead were not sent"
                time.sleep(0.3)
            kernel_execute(page, "import time; time.sleep(0)")  # the kernel is idle
            handle.focus()
            page.keyboard.press(key)
            # at once, from the page (the kernel has not confirmed it yet): the held texts
            now = page.evaluate(
                "() => { const r = document.querySelector('.cw-explorer'); return [r.querySelector("
                "'.cw-torch-panel').innerText, r.querySelector('.cw-output-size').innerText,"
                " r.classList.contains('cw-waiting')]; }")
            torch_size, output = _said(kernel)
            assert torch_size in now[0] and "agrees" in now[0] and output in now[1] and not now[2], now
            page.wait_for_function(settled)
        assert page.evaluate(TEXTS_LOG_JS)
        for key in ("ArrowRight",) * 5 + ("ArrowLeft",) * 3:
            page.keyboard.press(key)
        page.wait_for_function(settled)
        page.wait_for_timeout(300)
        log = page.evaluate("() => window.__texts")
        final = page.evaluate("() => document.querySelector('.cw-explorer .cw-kernel-h .widget-readout')"
                              ".innerText.trim()")
        assert final == "5" and kernel_execute(page, "print(e.state.kernel_size)").strip() == "5"
        unmarked = [entry for entry in log if not entry["waiting"]]
        assert len(unmarked) >= 5, log
        for entry in unmarked:
            torch_size, output = _said(int(entry["kernel"]))
            assert torch_size in entry["torch"] and output in entry["output"], entry
        page_verdict = page.evaluate("() => document.querySelector('.cw-explorer .cw-torch-panel')"
                                     ".innerText")
        assert _said(5)[0] in page_verdict
        assert _said(5)[0] in kernel_execute(page, "print(e.torch_panel.value)")
    finally:
        context.close()
        shut_down_sessions(lab)
