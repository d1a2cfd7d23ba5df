"""Where a press's time goes on ipympl's canvas: a Chromium trace of JupyterLab, read back.

``bench_browser.py --ipympl`` times a key press on a slider until ipympl's canvas is painted.
This script records the page's main thread (Chromium's tracing, the events DevTools' Performance
panel shows) over the same presses, for ``ConvExplorer(live=True)`` and for the canvas's floor
(``bare ipympl``: a label and a window over a grid), and splits each press at the moments
ipympl's page code passes through when a frame arrives: it puts the PNG into a blob URL and
an ``Image`` loads it (``requested``: the image's request, i.e. the frame arrived and was
handled), the image's bytes are read (``loaded``), then the image's ``load`` event runs, where
ipympl draws it (``load event``). Beside them, the widget messages the page handled between
``loaded`` and ``load event`` (``messages``: tasks that ran JupyterLab's WebSocket handler)
and the main thread's busy time there.

p50 over the presses (after warm-up), all in ms from the keydown.

Run: python benchmarks/trace_ipympl.py [--presses 12] [--size 32]
(needs Playwright and Chromium at /usr/bin/chromium, as the browser tests do).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_browser as bb  # noqa: E402 - the same notebook, targets and presses

APPROACHES = ("ConvExplorer", "bare ipympl")
CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "loading", "toplevel"]


def record(n: int, presses: int, trace: Path) -> list[str]:
    """Press ``presses`` keys on each approach in turn while tracing; the approach of each press."""
    order = []
    with tempfile.TemporaryDirectory() as tmp:
        lab = bb.start_lab(Path(tmp))
        try:
            with bb.chromium() as browser:
                context = browser.new_context(viewport={"width": 1600, "height": 1400})
                context.set_default_timeout(60_000)
                page = context.new_page()
                top = bb.open_size(page, lab, n, ipympl=True)
                keys = bb.sweep(top, presses + 3)
                for i, (key, kernel) in enumerate(keys):
                    if i == 3:  # three warm-up presses each, untraced
                        browser.start_tracing(page=page, path=str(trace), categories=CATEGORIES)
                    out = n + 2 * bb.PADDING - kernel + 1
                    for approach in APPROACHES:
                        root, handle = bb.IPYMPL_TARGETS[approach]
                        result = bb.measure(page, root, handle, key, f"{out} × {out}")
                        if result.get("timeout"):
                            raise SystemExit(f"{approach}: no new picture within 10 s ({result})")
                        if i >= 3:
                            order.append(approach)
                        page.wait_for_timeout(300)
                browser.stop_tracing()
                context.close()
        finally:
            bb.stop_lab(lab)
    return order


def main_thread(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The renderer's main thread's events (the busiest CrRendererMain), by time."""
    names = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M"
             and e.get("name") == "thread_name" and e["args"]["name"] == "CrRendererMain"}
    counts: dict[tuple[int, int], int] = {}
    for e in events:
        if (e.get("pid"), e.get("tid")) in names:
            counts[(e["pid"], e["tid"])] = counts.get((e["pid"], e["tid"]), 0) + 1
    thread = max(counts, key=counts.__getitem__)
    return sorted((e for e in events if (e.get("pid"), e.get("tid")) == thread and "ts" in e),
                  key=lambda e: e["ts"])


def split(events: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Each keydown's moments (ms after it) and what ran between the image's bytes and its load."""
    main = main_thread(events)
    data = [(e, e.get("args", {}).get("data", {})) for e in events]
    sends = sorted((e["ts"], d["requestId"]) for e, d in data
                   if e["name"] == "ResourceSendRequest" and str(d.get("url", "")).startswith("blob:"))
    finished = {d.get("requestId"): e["ts"] for e, d in data if e["name"] == "ResourceFinish"}
    tasks = [e for e in main if e["name"] == "ThreadControllerImpl::RunTask" and e.get("ph") == "X"]
    ws = [e["ts"] for e in main if e["name"] == "FunctionCall"
          and e.get("args", {}).get("data", {}).get("functionName") == "_onWSMessage"]
    rows = []
    keydowns = [e["ts"] for e in main
                if e["name"] == "EventDispatch" and e["args"]["data"].get("type") == "keydown"]
    for t0 in keydowns:
        request = next(((ts, rid) for ts, rid in sends if ts > t0), None)
        if request is None:
            continue
        loaded = finished.get(request[1], request[0])
        load = next((e["ts"] for e in main if e["ts"] > loaded and e["name"] == "EventDispatch"
                     and e["args"]["data"].get("type") == "load"), None)
        if load is None:
            continue
        busy = sum(min(t["ts"] + t["dur"], load) - max(t["ts"], loaded) for t in tasks
                   if t["ts"] < load and t["ts"] + t["dur"] > loaded)
        rows.append({"requested": (request[0] - t0) / 1e3, "loaded": (loaded - t0) / 1e3,
                     "load event": (load - t0) / 1e3,
                     "messages": float(sum(loaded <= ts <= load for ts in ws)), "busy": busy / 1e3})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=12)
    ap.add_argument("--size", type=int, default=32)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.json"
        load = os.getloadavg()[0]
        order = record(args.size, args.presses, trace)
        raw = json.loads(trace.read_text())
    rows = split(raw["traceEvents"] if isinstance(raw, dict) else raw)
    if len(rows) != len(order):
        raise SystemExit(f"{len(rows)} presses found in the trace for {len(order)} pressed")
    print(f"\n{args.size}x{args.size}, {args.presses} presses each, p50 ms after the keydown "
          f"(load average {load:.2f} before, {os.cpu_count()} cores)")
    cols = ("requested", "loaded", "load event", "messages", "busy")
    head = f"{'approach':<14}" + "".join(f"{c:>12}" for c in cols)
    print(head + "\n" + "-" * len(head))
    for approach in APPROACHES:
        mine = [row for row, who in zip(rows, order, strict=True) if who == approach]
        print(f"{approach:<14}" + "".join(f"{statistics.median(r[c] for r in mine):12.1f}" for c in cols))
    print("messages: widget messages the page handled between 'loaded' and 'load event'; busy: the "
          "main thread's busy ms there")


if __name__ == "__main__":
    main()
