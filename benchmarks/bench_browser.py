"""Slider latency a learner feels: JupyterLab in headless Chromium, keydown to picture painted.

For each input size (5×5, 32×32, 64×64) one notebook holds a ConvExplorer (PNG path) and an
``ipywidgets.interactive`` + pyplot callback drawing a comparable picture (input grid with its
padding, the kernel window, the output grid, a title; cell numbers when small) and printing the
output size. The same key presses go to the kernel slider of each, interleaved press by press
so machine load hits both alike: ArrowRight from kernel 3 up to a bound, then ArrowLeft back,
and so on (the kernel moves, the output size changes on every press).

Timed in the page with ``performance.now()``: from the ``keydown`` (a capture listener) to

* **picture**: the shown ``<img>`` has a new ``src`` (a MutationObserver) and ``img.decode()``
  resolved (ConvExplorer: the image of the theme in view; interact: the new inline PNG);
* **label**: the calculator's text shows the new output size (interact: the printed line);
* **both**: the later of the two, what a learner waits for.

Beside them, p50 of the kernel's busy time while the press is answered (its own clock,
busy -> idle of each request) and of the widget updates (comm messages) the page receives.

A third row, **bare round trip**, is the floor under the current load: a plain IntSlider whose
kernel-side observer writes the same label (no picture).

p50 and p95 over 30 presses (after 2 warm-up presses), the load average before and after, and
interact's p50 over ConvExplorer's, measured in the same run. Goals (issue 11): ConvExplorer
p50 <= 30 ms and p95 <= 60 ms, at least 3x faster than interact + pyplot.

``--ipympl``: the live canvas instead (issue 11's ipympl goal: p50 <= 50 ms, p95 printed). The
notebook's first cell runs ``%matplotlib widget``; it holds ``ConvExplorer(live=True)``, the same
explorer on ipympl's canvas as shipped (``ipympl as shipped``: its own ``draw_idle``, where the
page asks for each frame, and Pillow's PNG encoder), and, after ``%matplotlib inline``, the
interact + pyplot cell and the bare round trip above, all pressed in turn. Here **picture** is
the first ``drawImage`` onto the ipympl view's visible ``<canvas>`` after the keydown (the 2D
context's ``drawImage`` is wrapped in the page): ipympl's frontend loads each PNG it receives
into an ``Image``, draws it on its offscreen canvas and that onto the visible one, so this is
the moment the canvas's pixels changed. **label** is the calculator's output size, as above.
A row **bare ipympl** is that mode's floor under the same load: a slider whose observer writes
the label and moves a window over a grid on ipympl's canvas (one imshow, no axes: Agg draws it
in about 6 ms, as the explorer's figure), sending the frame at once with ``canvas.draw()``; no
picture on ipympl's canvas can reach the page sooner.

``--delay MS`` puts an asyncio proxy on loopback between Chromium and JupyterLab that holds
every chunk MS milliseconds in each direction (HTTP and WebSocket alike): a Binder-like round
trip of about 2 x MS (issue 14).

Run: python benchmarks/bench_browser.py [--presses 30] [--sizes 5 32 64] [--delay 0] [--ipympl]
[--setup FILE] (``--setup``: Python run in the kernel before the explorers are built)
(``BENCH_RAW=1`` prints each ConvExplorer press)
(needs Playwright and Chromium at /usr/bin/chromium, as the browser tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
# tests/browser.py: the JupyterLab server and Chromium helpers the browser tests use
from browser import (  # noqa: E402
    chromium,
    notebook_json,
    open_notebook,
    run_all,
    shut_down_sessions,
    start_lab,
    stop_lab,
)

PADDING = 1
MAX_KERNEL = 13  # the sweep's top at large inputs (keeps both pictures' work comparable)
GOALS = {"p50": 30.0, "p95": 60.0, "ratio": 3.0}
IPYMPL_GOALS = {"p50": 50.0, "p95": float("nan"), "ratio": 3.0}  # issue 11: p95 printed, no goal

INTERACT_CELL = '''
import ipywidgets as W
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from IPython.display import display

N, P = {n}, {p}

def draw(kernel):
    out = N + 2 * P - kernel + 1
    print(f"Output: {{out}} × {{out}}")
    fig, (a, b) = plt.subplots(1, 2, figsize=(5.8, 3.1), dpi=100)
    grid = [[0.6 if P <= r < N + P and P <= c < N + P else 0.9 for c in range(N + 2 * P)]
            for r in range(N + 2 * P)]
    a.imshow(grid, cmap="Blues", vmin=0, vmax=1.5)
    a.add_patch(Rectangle((-0.5, -0.5), kernel, kernel, fill=True, alpha=0.6, color="orange"))
    b.imshow([[0.5] * out for _ in range(out)], cmap="Greens", vmin=0, vmax=1.5)
    b.add_patch(Rectangle((-0.5, -0.5), 1, 1, alpha=0.6, color="orange"))
    if N + 2 * P <= 12:
        for r in range(N):
            for c in range(N):
                a.text(c + P, r + P, r * N + c, ha="center", va="center", fontsize=8)
    a.set_title(f"input {{N}}×{{N}}, padding {{P}}")
    b.set_title(f"output {{out}}×{{out}}")
    for ax in (a, b):
        ax.set_xticks([]), ax.set_yticks([])
    plt.show()

# the floor: a bare slider whose kernel-side callback writes the same label (no picture)
echo_slider = W.IntSlider(3, 1, N + 2 * P, description="kernel")
echo_slider.add_class("cw-bench-kernel")
echo_label = W.HTML("Output: {{0}} × {{0}}".format(N + 2 * P - 2))
echo_label.add_class("cw-output-size")
echo_slider.observe(lambda c: setattr(echo_label, "value", f"Output: {{N + 2 * P - c.new + 1}} × "
                                      f"{{N + 2 * P - c.new + 1}}"), names="value")
echo = W.VBox([echo_slider, echo_label])
echo.add_class("cw-bench-echo")
display(echo)

slider = W.IntSlider(3, 1, N + 2 * P, description="kernel")
slider.add_class("cw-bench-kernel")
app = W.interactive(draw, kernel=slider)
app.add_class("cw-bench-interact")
display(app)
'''

# ipympl mode: the same live explorer with ipympl's canvas as shipped (the page asks for each
# frame after the kernel's "draw" event; Pillow encodes it), pressed in the same run
STOCK_CELL = """import types
from ipympl.backend_nbagg import Canvas
stock = ConvExplorer(live=True, {setting})
stock.live_canvas.push = None  # ipympl's own draw_idle
stock.live_canvas.get_diff_image = types.MethodType(Canvas.get_diff_image, stock.live_canvas)
stock.add_class("cw-bench-stock")
stock"""

# ipympl mode: the floor of any picture on ipympl's canvas, under the same load: a slider whose
# observer writes the label, moves a window over an N x N grid (one imshow, one Rectangle) and
# sends the frame at once (canvas.draw(): Agg, then ipympl's diff PNG to the page, unasked)
FLOOR_CELL = """import numpy as np
import ipywidgets as W
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from ipympl.backend_nbagg import Canvas, FigureManager
N, P = {n}, {p}
floor_fig = Figure(figsize=(5.8, 3.1), dpi=100)
floor_canvas = Canvas(floor_fig)
FigureManager(floor_canvas, 0)
floor_canvas.header_visible = False
floor_canvas.add_class("cw-picture-live")
floor_ax = floor_fig.add_axes((0, 0, 1, 1))  # no ticks: Agg draws it in about 6 ms, as ours
floor_ax.set_axis_off()
floor_ax.imshow(np.arange((N + 2 * P) ** 2).reshape(N + 2 * P, -1) % 7, cmap="Greys")
floor_box = Rectangle((-0.5, -0.5), 3, 3, fill=False, color="orange", lw=2)
floor_ax.add_patch(floor_box)
floor_slider = W.IntSlider(3, 1, N + 2 * P, description="kernel")
floor_slider.add_class("cw-bench-kernel")
floor_label = W.HTML("Output: {{0}} × {{0}}".format(N + 2 * P - 2))
floor_label.add_class("cw-output-size")
def floor_move(change):
    k = change.new
    floor_label.value = f"Output: {{N + 2 * P - k + 1}} × {{N + 2 * P - k + 1}}"
    floor_box.set_width(k), floor_box.set_height(k)
    floor_canvas.draw()
floor_slider.observe(floor_move, names="value")
floor = W.VBox([floor_slider, floor_label, floor_canvas])
floor.add_class("cw-bench-floor")
floor"""

# Arms one measurement: the clock starts at the next keydown; the result is a promise kept on
# window.__cwResult. ``root`` holds the picture and the label; ``want`` is the label's new text.
ARM_JS = """([root, want, timeoutMs]) => {
  const box = document.querySelector(root);
  const picture = () => {
    for (const img of box.querySelectorAll('img')) {
      if (img.offsetParent !== null && img.getClientRects().length) return img;
    }
    return null;
  };
  const labelText = () => {
    const el = box.querySelector('.cw-output-size') || box.querySelector('.widget-output');
    return el ? el.innerText : '';
  };
  const before = (picture() || {}).src;
  // ipympl's live canvas (ConvExplorer(live=True)): the visible <canvas> of its view
  const live = box.querySelector('.cw-picture-live canvas');
  // no picture in this widget (the bare round trip): only the label is waited for
  const s = {t0: null, img: picture() || live ? null : NaN, label: null, decoding: false, busy: 0, comms: 0,
             draws: 0};
  // ipympl paints a frame with drawImage: the PNG it received onto its offscreen canvas, then
  // that onto each view's visible canvas. The first drawImage onto a canvas inside ``box``
  // after the keydown is the new picture on screen (pixels changed, synchronously).
  window.__cwOnDraw = (canvas) => {
    if (s.t0 === null || !live || !box.contains(canvas)) return;
    s.draws += 1;
    if (s.img === null) { s.img = performance.now(); check(); }
  };
  if (!window.__cwDrawWrapped) {
    window.__cwDrawWrapped = true;
    const drawImage = CanvasRenderingContext2D.prototype.drawImage;
    CanvasRenderingContext2D.prototype.drawImage = function (...args) {
      const out = drawImage.apply(this, args);
      if (window.__cwOnDraw) window.__cwOnDraw(this.canvas);
      return out;
    };
  }
  // the kernel's own clock: busy -> idle of each request it handles while we wait, and how
  // many widget updates (comm messages) reach the page
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const started = {};
  const onMessage = (_, {msg, direction}) => {
    if (direction !== 'recv' || msg.channel !== 'iopub' || s.t0 === null) return;
    if (msg.header.msg_type === 'comm_msg') s.comms += 1;
    if (msg.header.msg_type !== 'status') return;
    const parent = msg.parent_header.msg_id, at = Date.parse(msg.header.date);
    if (msg.content.execution_state === 'busy') started[parent] = at;
    else if (started[parent] !== undefined) { s.busy += at - started[parent]; delete started[parent]; }
    if (s.result && !Object.keys(started).length) s.finishBusy();  // the last request ended
  };
  kernel.anyMessage.connect(onMessage);
  document.addEventListener('keydown', () => { s.t0 = performance.now(); }, {capture: true, once: true});
  let finish;
  window.__cwResult = new Promise(resolve => { finish = resolve; });
  const timer = setTimeout(() => {
    obs.disconnect(); kernel.anyMessage.disconnect(onMessage); window.__cwOnDraw = null;
    finish({timeout: true, img: s.img, label: s.label});
  }, timeoutMs);
  const done = () => {
    if (s.img === null || s.label === null || s.t0 === null) return;
    obs.disconnect(); clearTimeout(timer); window.__cwOnDraw = null;
    // the times are taken; the kernel's busy time is complete when its requests are idle
    const result = {img: Number.isNaN(s.img) ? null : s.img - s.t0, label: s.label - s.t0, comms: s.comms,
                    draws: s.draws};
    s.result = result;
    const settle = () => { kernel.anyMessage.disconnect(onMessage); finish({...result, busy: s.busy}); };
    s.finishBusy = settle;
    if (!Object.keys(started).length) settle(); else setTimeout(settle, 3000);
  };
  const check = async () => {
    if (s.label === null && labelText().includes(want)) s.label = performance.now();
    const img = live ? null : picture();
    if (s.img === null && !s.decoding && img && img.src && img.src !== before) {
      s.decoding = true;
      const src = img.src;
      try { await img.decode(); } catch (err) { /* replaced meanwhile: the next mutation */ }
      s.decoding = false;
      if (img.src === src && img.isConnected) s.img = performance.now(); else { check(); return; }
    }
    done();
  };
  const obs = new MutationObserver(check);
  obs.observe(box, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def sweep(top: int, presses: int) -> list[tuple[str, int]]:
    """Keys and the kernel each leaves: up from 3 to ``top``, down to 2, and again."""
    keys: list[tuple[str, int]] = []
    kernel, step = 3, 1
    while len(keys) < presses:
        if not 2 <= kernel + step <= top:
            step = -step
        kernel += step
        keys.append(("ArrowRight" if step > 0 else "ArrowLeft", kernel))
    return keys


def measure(page: Any, root: str, handle: str, key: str, want: str) -> dict[str, Any]:
    page.locator(handle).focus()
    page.evaluate(ARM_JS, [root, want, 10_000])
    page.keyboard.press(key)
    return page.evaluate("() => window.__cwResult")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN when every press was missed."""
    if not values:
        return float("nan")
    if q == 50:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


TARGETS = {  # approach -> (its root, the kernel slider's handle)
    "ConvExplorer": (".cw-explorer", ".cw-explorer .cw-kernel-h .noUi-handle"),
    "interact + pyplot": (".cw-bench-interact", ".cw-bench-interact .cw-bench-kernel .noUi-handle"),
    "bare round trip": (".cw-bench-echo", ".cw-bench-echo .cw-bench-kernel .noUi-handle"),
}
IPYMPL_TARGETS = {
    "ConvExplorer": (".cw-bench-live", ".cw-bench-live .cw-kernel-h .noUi-handle"),
    "ipympl as shipped": (".cw-bench-stock", ".cw-bench-stock .cw-kernel-h .noUi-handle"),
    "bare ipympl": (".cw-bench-floor", ".cw-bench-floor .cw-bench-kernel .noUi-handle"),
    "interact + pyplot": TARGETS["interact + pyplot"],
    "bare round trip": TARGETS["bare round trip"],
}


def open_size(page: Any, lab: Any, n: int, ipympl: bool = False, setup: str = "") -> int:
    """Open the notebook of an n×n input, run it; return the sweep's top kernel."""
    name = f"bench_{n}{'_ipympl' if ipympl else ''}.ipynb"
    setting = f"input_size={n}, kernel_size=3, stride=1, padding={PADDING}"
    if ipympl:  # the live canvas; interact + pyplot keeps the inline PNG of the PNG mode
        cells = ["%matplotlib widget\nfrom convwidget import ConvExplorer",
                 f"explorer = ConvExplorer(live=True, {setting})\nexplorer.add_class('cw-bench-live')\n"
                 "explorer",
                 STOCK_CELL.format(setting=setting),
                 FLOOR_CELL.format(n=n, p=PADDING),
                 "%matplotlib inline\n" + INTERACT_CELL.format(n=n, p=PADDING)]
    else:
        cells = ["from convwidget import ConvExplorer", f"explorer = ConvExplorer({setting}); explorer",
                 INTERACT_CELL.format(n=n, p=PADDING)]
    if setup:  # code to try before the explorers are built (e.g. a patch under test)
        cells.insert(1, setup)
    (lab.root / "notebooks" / name).write_text(notebook_json(*cells))
    open_notebook(page, lab, name, workspace=f"bench{n}{'i' if ipympl else ''}")
    run_all(page, name)
    page.locator(".cw-bench-interact .widget-output img").first.wait_for(state="visible")
    if ipympl:
        for root in (".cw-bench-live", ".cw-bench-stock", ".cw-bench-floor"):
            page.locator(f"{root} .cw-picture-live canvas").first.wait_for(state="visible")
    else:
        page.locator(".cw-explorer img").first.wait_for(state="attached")
    page.locator(".cw-explorer").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # the explorer's prefetch of the next notches settles
    # the sweep stays inside every slider's range (the explorer bounds its kernel slider)
    tops = [int(float(page.locator(handle).get_attribute("aria-valuemax") or MAX_KERNEL))
            for _, handle in (IPYMPL_TARGETS if ipympl else TARGETS).values()]
    return min([n + 2 * PADDING, MAX_KERNEL, *tops])


Times = dict[str, dict[str, list[float]]]  # approach -> 'picture'/'label'/'both' -> ms per press


def run_size(page: Any, lab: Any, n: int, presses: int, ipympl: bool = False,
             setup: str = "") -> tuple[Times, list[str]]:
    """Press keys on every approach's slider in turn; the timings and the presses missed."""
    top = open_size(page, lab, n, ipympl, setup)
    targets = IPYMPL_TARGETS if ipympl else TARGETS
    times: Times = {t: {"picture": [], "label": [], "both": [], "kernel": [], "updates": []} for t in targets}
    missed = []
    for i, (key, kernel) in enumerate(sweep(top, presses + 2)):
        out = n + 2 * PADDING - kernel + 1
        for target, (root, handle) in targets.items():
            result = measure(page, root, handle, key, f"{out} × {out}")
            if result.get("timeout"):
                missed.append(f"{target} at {n}×{n}, kernel {kernel}: no new picture and label "
                              f"'{out} × {out}' within 10 s ({result})")
            elif i >= 2:  # two warm-up presses
                picture = result["img"] if result["img"] is not None else result["label"]
                times[target]["picture"].append(picture)
                if os.environ.get("BENCH_RAW") and target in ("ConvExplorer", "ipympl as shipped"):
                    print(f"  {n}x{n} {target[:8]} kernel {kernel}: picture {picture:.1f} "
                          f"label {result['label']:.1f} ms"
                          f" (kernel busy {result['busy']:.0f} ms, {result['comms']} updates, "
                          f"{result['draws']} canvas draws)", flush=True)
                times[target]["label"].append(result["label"])
                times[target]["both"].append(max(picture, result["label"]))
                times[target]["kernel"].append(result["busy"])
                times[target]["updates"].append(result["comms"])
            page.wait_for_timeout(150)  # a learner's pace between presses
    shut_down_sessions(lab)
    return times, missed


def _verdict(p50: float, p95: float, ratio: float, goals: dict[str, float]) -> str:
    p95_goal = "" if math.isnan(goals["p95"]) else \
        f" {'<=' if p95 <= goals['p95'] else '>'} {goals['p95']:g}"
    return (f"p50 {p50:.1f} ms {'<=' if p50 <= goals['p50'] else '>'} {goals['p50']:g}; "
            f"p95 {p95:.1f} ms{p95_goal}; "
            f"{ratio:.1f}x interact {'>=' if ratio >= goals['ratio'] else '<'} {goals['ratio']:g}x")


def report(results: dict[int, Times], loads: list[tuple[float, float, float]], delay: float,
           ipympl: bool = False) -> None:
    goals = IPYMPL_GOALS if ipympl else GOALS
    print(f"\nkeydown -> painted, ms (p50 / p95); round trip added by the proxy: {2 * delay:g} ms")
    if ipympl:
        print("ConvExplorer: live=True, ipympl's canvas (%matplotlib widget); picture = first drawImage "
              "onto its visible <canvas>;\nipympl as shipped: the same explorer on ipympl's own draw_idle "
              "and PNG encoder; bare ipympl: a label and a window over\na grid on ipympl's canvas (the "
              "floor of that canvas); interact + pyplot: inline PNG")
    (b1, b5, _), (a1, a5, _) = loads
    print(f"load average (1, 5 min) before {b1:.2f} {b5:.2f}, after {a1:.2f} {a5:.2f} "
          f"({os.cpu_count()} cores)")
    head = (f"{'input':>7}  {'approach':<18} {'picture':>15} {'label':>15} {'both':>15} {'interact/us':>12} "
            f"{'kernel, updates':>17}")
    print(head)
    print("-" * len(head))
    verdicts = []
    for n, times in results.items():
        both = times["ConvExplorer"]["both"]
        p50, p95 = percentile(both, 50), percentile(both, 95)
        ratio = percentile(times["interact + pyplot"]["both"], 50) / p50
        for target, series in times.items():
            cols = [f"{percentile(series[k], 50):6.1f} / {percentile(series[k], 95):6.1f}"
                    for k in ("picture", "label", "both")]
            busy, updates = percentile(series["kernel"], 50), percentile(series["updates"], 50)
            cols.append(f"{busy:5.0f} ms, {updates:3.0f}")
            if target == "bare round trip":
                cols[0] = "-"  # no picture: the floor any kernel-side widget pays
            mark = f"{ratio:.1f}x" if target == "ConvExplorer" else ""
            if target == "ipympl as shipped":  # its p50 over ConvExplorer's, the same run
                mark = f"({percentile(series['both'], 50) / p50:.1f}x us)"
            if target == "bare ipympl":  # ConvExplorer's p50 over the canvas's floor
                mark = f"(us {p50 / percentile(series['both'], 50):.1f}x)"
            print(f"{n:>3}x{n:<3}  {target:<18} {cols[0]:>15} {cols[1]:>15} {cols[2]:>15} {mark:>12} "
                  f"{cols[3]:>17}")
        verdicts.append(f"{n}x{n}: {_verdict(p50, p95, ratio, goals)}")
    print("\ngoals (issue 11, ConvExplorer 'both'):")
    for line in verdicts:
        print("  " + line)


# --------------------------------------------------------------------------------------
# A delay proxy on loopback (optional)
# --------------------------------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward chunks, each held ``delay`` seconds, in order (a link's latency, not its bandwidth)."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def sender() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            writer.write(chunk)
            await writer.drain()

    task = asyncio.ensure_future(sender())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, chunk))
    finally:
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(Exception):
            await task
        writer.close()


@contextlib.contextmanager
def delay_proxy(target_port: int, delay_ms: float) -> Iterator[int]:
    """A TCP proxy on a loopback port in a thread; yields its port."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        delay = delay_ms / 1000
        await asyncio.gather(_pipe(reader, up_writer, delay), _pipe(up_reader, writer, delay),
                             return_exceptions=True)

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=30)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5, 32, 64])
    ap.add_argument("--delay", type=float, default=0.0, help="ms held per chunk, each way")
    ap.add_argument("--ipympl", action="store_true",
                    help="ConvExplorer(live=True) on ipympl's canvas (%%matplotlib widget) instead of PNGs")
    ap.add_argument("--setup", type=Path, help="a Python file run in the kernel before the explorers are "
                    "built (a change to try; it applies to every explorer of the run)")
    args = ap.parse_args()
    setup = args.setup.read_text() if args.setup else ""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        lab = start_lab(Path(tmp))
        direct = lab.url
        try:
            with contextlib.ExitStack() as stack:
                if args.delay > 0:  # the page goes through the proxy (the server's API calls too)
                    port = stack.enter_context(delay_proxy(int(lab.url.rsplit(":", 1)[1]), args.delay))
                    lab.url = f"http://127.0.0.1:{port}"
                browser = stack.enter_context(chromium())
                context = browser.new_context(viewport={"width": 1600, "height": 1400})
                context.set_default_timeout(60_000)
                page = context.new_page()
                loads = [os.getloadavg()]
                missed: list[str] = []
                for n in args.sizes:
                    results[n], misses = run_size(page, lab, n, args.presses, args.ipympl, setup)
                    missed += misses
                loads.append(os.getloadavg())
                context.close()
        finally:
            lab.url = direct
            stop_lab(lab)
    if setup:
        print(f"\nkernel setup from {args.setup} (every explorer of the run)")
    report(results, loads, args.delay, args.ipympl)
    for line in missed:
        print("missed: " + line)


if __name__ == "__main__":
    main()
