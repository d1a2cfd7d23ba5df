"""Instant on Binder (issue 14): keydown on a slider -> the new picture painted, over a slow link.

One JupyterLab serves one notebook (a 32×32 input, padding 1) holding three pictures driven by
a kernel-size slider: a :class:`FrameAhead` harness (the next frames already in the page, see
tests/test_ahead_browser.py), today's ConvExplorer (PNG from the kernel), and
``interact`` + pyplot; plus the bare round trip (a slider whose kernel callback writes a
label). The same key presses go to each, interleaved press by press so machine load hits
all alike, for round trips of 0, 100 and 250 ms made by an asyncio proxy on loopback
(every chunk held half the round trip in each direction, HTTP and WebSocket alike; from
benchmarks/bench_browser.py, whose page-side clock is used too: keydown -> ``<img>``
``src`` changed and decoded; "label" is the kernel's answer (the output size text), so
FrameAhead's label column is one round trip: the picture does not wait for it).

Then 5 rapid presses on FrameAhead's slider (6 rounds, each from one end of the slider):
last keydown -> the final picture shown, and -> the kernel's confirmation of that setting; and
1 and 5 rapid presses on ConvExplorer's kernel slider: last keydown -> PyTorch's verdict (the
real layer's torch.Size, from a frame held in the page or from the kernel) names the final
output size, and -> the kernel has confirmed that setting.
``BENCH_RAW=1`` prints each FrameAhead press.

p50 / p95 over 20 presses (after 2 warm-up presses), the load average, and goals: FrameAhead
p50 <= 60 ms and p95 <= 100 ms at every round trip; >= 5x faster than interact + pyplot at
100 ms.

Run: python benchmarks/bench_binder.py [--presses 20] [--round-trips 0 100 250]
(needs Playwright and Chromium at /usr/bin/chromium, as the browser tests do).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
# bench_browser: the page-side clock, the delay proxy, the interact cell (and tests/ on sys.path)
from bench_browser import INTERACT_CELL, delay_proxy, measure, percentile, sweep  # noqa: E402
from browser import (  # noqa: E402
    chromium,
    kernel_execute,
    notebook_json,
    open_notebook,
    run_all,
    shut_down_sessions,
    start_lab,
    stop_lab,
)
from test_ahead_browser import HARNESS  # noqa: E402

N, PADDING = 32, 1
GOALS = {"p50": 60.0, "p95": 100.0, "ratio": 5.0, "ratio_at": 100}

# the harness in its own box (not .cw-explorer: the ConvExplorer is in the same page), with a
# label the kernel writes after each change, as the explorer's calculator does
AHEAD_LABEL = '''
box.remove_class("cw-explorer")
box.add_class("cw-bench-ahead")
label = W.HTML()
label.add_class("cw-output-size")
def _label(change=None):
    out = state.output_size
    label.value = f"Output: {out[0]} × {out[1]}" if out else "refused"
state.observe(_label, names="output_size")
_label()
box.children = (*box.children, label)
'''

TARGETS = {  # approach -> (its root, the kernel slider's handle)
    "FrameAhead": (".cw-bench-ahead", ".cw-bench-ahead .h-kernel-size .noUi-handle"),
    "ConvExplorer": (".cw-explorer", ".cw-explorer .cw-kernel-h .noUi-handle"),
    "interact + pyplot": (".cw-bench-interact", ".cw-bench-interact .cw-bench-kernel .noUi-handle"),
    "bare round trip": (".cw-bench-echo", ".cw-bench-echo .cw-bench-kernel .noUi-handle"),
}

Times = dict[str, dict[str, list[float]]]


def open_page(page: Any, lab: Any, name: str) -> int:
    """Open the notebook, run it, wait for the frames ahead; the sweep's top kernel."""
    (lab.root / "notebooks" / name).write_text(notebook_json(
        HARNESS, AHEAD_LABEL,
        "from convwidget import ConvExplorer",
        f"explorer = ConvExplorer(input_size={N}, kernel_size=3, stride=1, padding={PADDING}); explorer",
        INTERACT_CELL.format(n=N, p=PADDING),
    ))
    open_notebook(page, lab, name, workspace=name.replace(".", "-"))
    run_all(page, name, timeout_s=300)
    page.locator(".cw-bench-interact .widget-output img").first.wait_for(state="visible")
    page.locator(".cw-bench-ahead .cw-ahead-img").first.wait_for(state="visible")
    page.wait_for_timeout(3000)  # the frames ahead and the explorer's prefetch arrive
    tops = [int(float(page.locator(handle).get_attribute("aria-valuemax") or 13))
            for _, handle in TARGETS.values()]
    return min([N + 2 * PADDING, 13, *tops])


def run(page: Any, lab: Any, name: str, presses: int) -> tuple[Times, list[str]]:
    top = open_page(page, lab, name)
    times: Times = {t: {"picture": [], "label": []} for t in TARGETS}
    missed = []
    for i, (key, kernel) in enumerate(sweep(top, presses + 2)):
        out = N + 2 * PADDING - kernel + 1
        for target, (root, handle) in TARGETS.items():
            result = measure(page, root, handle, key, f"{out} × {out}")
            if result.get("timeout"):
                missed.append(f"{target}, kernel {kernel}: {result}")
            elif i >= 2:
                if target == "FrameAhead":  # was the frame in the page (not waiting for the kernel)?
                    result["held"] = page.evaluate(
                        "() => document.querySelector('.cw-bench-ahead .cw-ahead-img').dataset.pending")
                    times[target].setdefault("raw", []).append((kernel, round(result["img"]), result["held"]))
                picture = result["img"] if result["img"] is not None else result["label"]
                times[target]["picture"].append(picture)
                times[target]["label"].append(result["label"])
            page.wait_for_timeout(400)  # a learner's pace; the frames ahead refill meanwhile
    times["FrameAhead"]["rapid"] = rapid(page)
    times["ConvExplorer"]["one"] = rapid_explorer(page, presses=1, rounds=10)
    times["ConvExplorer"]["rapid"] = rapid_explorer(page)
    shut_down_sessions(lab)
    return times, missed


# Rapid presses: from the last keydown until the picture shows the final setting, confirmed by
# the kernel (not pending, and the confirmed key is the controls' key).
SETTLE_JS = """() => {
  if (window.__cwSettle) return true;  // installed once; every keydown starts a new count
  const el = document.querySelector('.cw-bench-ahead .cw-ahead');
  const img = el.querySelector('img');
  const handle = document.querySelector('.cw-bench-ahead .h-kernel-size .noUi-handle');
  let last = 0;
  const onKey = () => {  // only what follows the last key counts
    last = performance.now();
    window.__cwSettle.shown = window.__cwSettle.confirmed = null;
  };
  document.addEventListener('keydown', onKey, {capture: true});
  window.__cwSettle = {press: () => last, shown: null, confirmed: null};
  const check = () => {
    const s = window.__cwSettle;
    if (!last) return;
    const now = performance.now();
    const final = img.dataset.pending === '0' && el.dataset.current === img.dataset.key;
    if (s.shown === null && final) s.shown = now;
    if (s.confirmed === null && el.dataset.confirmed === '1') s.confirmed = now;
  };
  new MutationObserver(check).observe(el, {subtree: true, attributes: true});
  return !!handle;
}"""


def rapid(page: Any, presses: int = 5, rounds: int = 6) -> list[tuple[float, float]]:
    """ms from the last of ``presses`` rapid key presses until the final setting's picture is
    shown, and until the kernel has confirmed it."""
    times = []
    handle = page.locator(TARGETS["FrameAhead"][1])
    for i in range(rounds):
        # from one end of the slider (1..7), so every press moves it
        kernel_execute(page, f"sliders['kernel_size'].value = {1 if i % 2 == 0 else 7}")
        page.wait_for_timeout(1500)
        page.evaluate(SETTLE_JS)
        handle.focus()
        for _ in range(presses):
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function("() => { const s = window.__cwSettle;"
                               " return s.shown !== null && s.confirmed !== null; }", timeout=30_000)
        page.wait_for_timeout(300)  # no later change after the last key
        shown, confirmed = page.evaluate(
            "() => { const s = window.__cwSettle; return [s.shown - s.press(), s.confirmed - s.press()]; }")
        times.append((max(shown, 0.0), confirmed))
    return times


# ConvExplorer after one or rapid presses: from the last keydown until PyTorch's verdict names the
# final output size ("verdict": a frame held in the page carries it), and until the kernel has
# confirmed that setting and nothing is marked waiting ("confirmed").
EXPLORER_SETTLE_JS = """(size) => {
  const root = document.querySelector('.cw-explorer');
  const panel = root.querySelector('.cw-torch-panel');
  const s = window.__cwVerdict;
  if (s) { s.size = size; s.verdict = s.confirmed = null; return true; }
  let last = 0;
  window.__cwVerdict = {press: () => last, size, verdict: null, confirmed: null};
  document.addEventListener('keydown', () => {
    last = performance.now();
    window.__cwVerdict.verdict = window.__cwVerdict.confirmed = null;
  }, {capture: true});
  const check = () => {
    const v = window.__cwVerdict;
    if (!last) return;
    const now = performance.now();
    const text = panel.innerText;
    if (v.verdict === null && text.includes(v.size) && text.includes('agrees')) v.verdict = now;
    const waiting = root.classList.contains('cw-waiting');
    const confirmed = root.querySelector('.cw-ahead').dataset.confirmed === '1';
    if (v.verdict !== null && v.confirmed === null && !waiting && confirmed) v.confirmed = now;
  };
  new MutationObserver(check).observe(root, {subtree: true, attributes: true, childList: true,
                                             characterData: true});
  return true;
}"""


def rapid_explorer(page: Any, presses: int = 5, rounds: int = 6) -> list[tuple[float, float]]:
    """ms from the last of ``presses`` rapid presses on the explorer's kernel slider until
    PyTorch's verdict (the real layer's, run by the kernel ahead or after the press) is shown for
    the final setting, and until the kernel has confirmed it and nothing is marked waiting."""
    times = []
    handle = page.locator(TARGETS["ConvExplorer"][1])
    for i in range(rounds):
        start = 1 if i % 2 == 0 else 1 + presses
        final = start + presses if i % 2 == 0 else start - presses
        kernel_execute(page, f"explorer.state.kernel_size = ({start}, {start})")
        page.wait_for_timeout(1500)
        out = N + 2 * PADDING - final + 1
        page.evaluate(EXPLORER_SETTLE_JS, f"{out}, {out}]")  # torch.Size([1, 1, out, out])
        handle.focus()
        for _ in range(presses):
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function("() => window.__cwVerdict.confirmed !== null", timeout=30_000)
        verdict, confirmed = page.evaluate(
            "() => { const v = window.__cwVerdict; const t = v.press();"
            " return [v.verdict - t, v.confirmed - t]; }")
        times.append((verdict, confirmed))
    return times


def report(results: dict[int, Times], loads: list[tuple[float, ...]]) -> None:
    (b1, b5, _), (a1, a5, _) = loads
    print(f"\nkeydown -> picture painted (label: the kernel's answer), ms p50 / p95; {N}x{N}, padding "
          f"{PADDING}\nload average (1, 5 min) before {b1:.2f} {b5:.2f}, after {a1:.2f} {a5:.2f} "
          f"({os.cpu_count()} cores)")
    head = f"{'round trip':>10}  {'approach':<18} {'picture':>15} {'label':>15} {'interact/us':>12}"
    print(head)
    print("-" * len(head))
    verdicts = []
    for rtt, times in results.items():
        ahead = times["FrameAhead"]["picture"]
        p50, p95 = percentile(ahead, 50), percentile(ahead, 95)
        ratio = percentile(times["interact + pyplot"]["picture"], 50) / p50
        for target, series in times.items():
            if "picture" not in series:
                continue
            pic = f"{percentile(series['picture'], 50):6.1f} / {percentile(series['picture'], 95):6.1f}"
            lab = f"{percentile(series['label'], 50):6.1f} / {percentile(series['label'], 95):6.1f}"
            if target == "bare round trip":
                pic = "-"
            mark = f"{ratio:.1f}x" if target == "FrameAhead" else ""
            print(f"{rtt:>7} ms  {target:<18} {pic:>15} {lab:>15} {mark:>12}")
        ok_ratio = rtt != GOALS["ratio_at"] or ratio >= GOALS["ratio"]
        verdicts.append(
            f"{rtt} ms: p50 {p50:.1f} {'<=' if p50 <= GOALS['p50'] else '>'} {GOALS['p50']:g}; "
            f"p95 {p95:.1f} {'<=' if p95 <= GOALS['p95'] else '>'} {GOALS['p95']:g}; "
            f"{ratio:.1f}x interact{'' if ok_ratio else ' (goal >= 5x at 100 ms: missed)'}")
    for rtt, times in results.items():
        settle = times["FrameAhead"].get("rapid", [])
        shown = [s for s, _ in settle]  # type: ignore[misc]
        confirmed = [c for _, c in settle]  # type: ignore[misc]
        print(f"{rtt:>7} ms  FrameAhead, 5 rapid presses, last key -> final picture "
              f"{percentile(shown, 50):5.1f} / {percentile(shown, 95):5.1f}, confirmed by the kernel "
              f"{percentile(confirmed, 50):5.1f} / {percentile(confirmed, 95):5.1f} ms (goal <= {rtt} + 50)")
        for series, what in (("one", "1 press"), ("rapid", "5 rapid presses")):
            verdict = [v for v, _ in times["ConvExplorer"].get(series, [])]  # type: ignore[misc]
            done = [c for _, c in times["ConvExplorer"].get(series, [])]  # type: ignore[misc]
            if verdict:
                print(f"{rtt:>7} ms  ConvExplorer, {what}, last key -> PyTorch's verdict "
                      f"{percentile(verdict, 50):5.1f} / {percentile(verdict, 95):5.1f} ms "
                      f"(goal <= {rtt} + 30), "
                      f"confirmed {percentile(done, 50):5.1f} / {percentile(done, 95):5.1f} ms")
    print("\ngoals (issue 14, FrameAhead picture):")
    for line in verdicts:
        print("  " + line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=20)
    ap.add_argument("--round-trips", type=int, nargs="+", default=[0, 100, 250])
    args = ap.parse_args()
    results: dict[int, Times] = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        lab = start_lab(Path(tmp))
        direct = lab.url
        try:
            with chromium() as browser:
                loads = [os.getloadavg()]
                for rtt in args.round_trips:
                    with contextlib.ExitStack() as stack:
                        if rtt > 0:  # the page goes through the proxy; half the round trip each way
                            port = stack.enter_context(delay_proxy(int(direct.rsplit(":", 1)[1]), rtt / 2))
                            lab.url = f"http://127.0.0.1:{port}"
                        context = browser.new_context(viewport={"width": 1600, "height": 1400})
                        context.set_default_timeout(120_000)
                        page = context.new_page()
                        results[rtt], misses = run(page, lab, f"binder_{rtt}.ipynb", args.presses)
                        missed += [f"{rtt} ms: {m}" for m in misses]
                        context.close()
                        lab.url = direct
                loads.append(os.getloadavg())
        finally:
            lab.url = direct
            stop_lab(lab)
    report(results, loads)
    if os.environ.get("BENCH_RAW"):
        for rtt, times in results.items():
            print(rtt, "FrameAhead presses (kernel, ms, pending after):", times["FrameAhead"].get("raw"))
    for line in missed:
        print("missed: " + line)


if __name__ == "__main__":
    main()
