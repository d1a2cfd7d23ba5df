"""Issue 10's benchmarks: the worst case of every family, before and after the bounds.

Each case runs in its own subprocess with a timeout, once against the code as it was before
the bounds (commit 83afdd9, checked out as a throwaway git worktree and put first on
PYTHONPATH) and once against this tree. The child prints the wall time of the call and the
peak RSS above the RSS just before the call (``/proc/self/clear_refs`` resets the peak, so
setup and imports are not counted), plus what the call answered (a shape, an error's first
words, widget counts). Fast cases are the median of 3 runs, slow ones a single run; a case
that does not return within the timeout is reported as killed.

Run: python benchmarks/bench_bounds.py [--quick] [--timeout S] [--before PATH]

``--before`` names an existing checkout of the old code; without it the script makes
``git worktree add /tmp/cw_before 83afdd9`` and removes it at the end. ``--quick`` skips the
slowest old cases (those known to run past the timeout) and uses a 20 s timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OLD_COMMIT = "83afdd9"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SLOW = 5.0  # seconds: a case slower than this is run once, not three times


# ---------------------------------------------------------------- measuring (in the child)
def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # Linux: reset VmHWM to the current RSS
    except OSError:
        pass


def open_widgets() -> int:
    from ipywidgets.widgets.widget import _instances

    return len(_instances)


def explorer_class() -> Any:
    import convwidget

    return convwidget.ConvExplorer  # old: convwidget.widgets; new: convwidget.explorer (both lazy)


def error_text(e: Any) -> str:
    import re

    text = re.sub(r"<[^>]+>", " ", e.error_box.value or "")
    text = " ".join(text.split())
    if text:
        return text[:70]
    picture = " ".join(re.sub(r"<[^>]+>", " ", e.picture_error.value or "").split())
    return f"output {e.output_size}" + (f"; picture: {picture[:60]}" if picture else "")


def small_model() -> Any:
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


# Each case: setup() -> state, run(state) -> outcome text. Only run() is timed.
def case_set(**settings: Any) -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        return explorer_class()()

    def run(e: Any) -> str:
        e.set(**settings)
        return error_text(e)

    return setup, run


def case_slider_7x7() -> tuple[Callable[[], Any], Callable[[], str]]:
    def setup() -> Any:
        return explorer_class()(input_size=32, kernel_size=5)

    def run(e: Any) -> str:
        e.kernel.h.value = 7  # a learner drags the kernel slider to 7 (square kernel follows)
        e.kernel.w.value = 7
        return error_text(e)

    return setup, run


def case_parse(text: str) -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        import convwidget

        return convwidget.parse

    def run(parse: Any) -> str:
        try:
            result = parse(text)
        except Exception as err:  # the outcome is what we report
            return f"{type(err).__name__}: {str(err)[:50]}"
        return f"returned {type(result).__name__}"

    return setup, run


def case_trace(jit: bool, shape: tuple[int, ...]) -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        import torch

        import convwidget

        model = small_model().eval()
        if jit:
            model = torch.jit.script(model)
        return convwidget.trace, model

    def run(state: Any) -> str:
        trace, model = state
        try:
            report = trace(model, shape)
        except Exception as err:
            return f"{type(err).__name__}: {str(err)[:50]}"
        out = getattr(report, "output_shape", None)
        problems = getattr(report, "problems", ())
        first = str(problems[0])[:50] if problems else ""
        return f"output {out}" + (f"; {first}" if first else "")

    return setup, run


def case_export() -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        from convwidget.export import to_gif
        from convwidget.geometry import layer_geometry

        tmp = tempfile.mkdtemp()
        return to_gif, layer_geometry("conv", (80, 80), (64, 64)), os.path.join(tmp, "a.gif")

    def run(state: Any) -> str:
        to_gif, geometry, path = state
        try:
            result = to_gif(geometry, path)
        except Exception as err:
            return f"{type(err).__name__}: {str(err)[:50]}"
        note = getattr(result, "note", None) or ""
        return f"{os.path.getsize(path) // 1024} KB; {note[:50]}"

    return setup, run


def case_model_switches(n: int = 200) -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        import gc

        import convwidget

        m = convwidget.ModelExplorer(small_model(), (1, 3, 32, 32))
        m.open_layer(0)
        m.layer.value = None
        gc.collect()
        return m, open_widgets(), rss_mb()

    def run(state: Any) -> str:
        import gc

        m, widgets, rss = state
        for _ in range(n):
            m.open_layer(0)
            m.layer.value = None
        gc.collect()
        return f"+{open_widgets() - widgets} widgets, RSS +{rss_mb() - rss:.0f} MB kept"

    return setup, run


def case_open_close(n: int = 60) -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        import gc

        explorer_class()().close()  # anything made once per process
        gc.collect()
        return open_widgets(), rss_mb()

    def run(state: Any) -> str:
        import gc

        widgets, rss = state
        for i in range(n):
            e = explorer_class()(input_size=9, kernel_size=1 + i % 5)
            e.close()
        gc.collect()
        return f"+{open_widgets() - widgets} widgets, RSS +{rss_mb() - rss:.0f} MB kept"

    return setup, run


def case_cache_back_to_8() -> tuple[Callable[[], Any], Callable[[Any], str]]:
    def setup() -> Any:
        e = explorer_class()(input_size=8)
        return e, rss_mb()

    def run(state: Any) -> str:
        import gc

        e, rss = state
        e.set(input_size=4096)
        e.set(input_size=8)
        gc.collect()
        return f"back at 8: RSS +{rss_mb() - rss:.0f} MB kept"

    return setup, run


CASES: dict[str, Callable[[], tuple[Callable[[], Any], Callable[[Any], str]]]] = {
    "parse LSTM num_layers=10**9": lambda: case_parse("nn.LSTM(10, 20, num_layers=10**9)"),
    "parse 199,000 spaces + ReLU": lambda: case_parse(" " * 199_000 + "nn.ReLU()"),
    "parse 19,900 spaces + ReLU": lambda: case_parse(" " * 19_900 + "nn.ReLU()"),
    "parse 50,000 tabs + ReLU": lambda: case_parse("\t" * 50_000 + "nn.ReLU()"),
    "parse small paste (ordinary)": lambda: case_parse(
        "nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
        "              nn.Conv2d(16, 32, 3), nn.Flatten(), nn.Linear(32 * 14 * 14, 10))"),
    "set channels 10**9, groups=3": lambda: case_set(in_channels=10**9, out_channels=10**9, groups=3),
    "set padding=10**4": lambda: case_set(padding=10**4),
    "set input 4096": lambda: case_set(input_size=4096),
    "set input 2048, kernel 1000": lambda: case_set(input_size=2048, kernel_size=1000),
    "set transposed stride 100000": lambda: case_set(kind="conv_transpose", stride=100000),
    "kernel slider 5 -> 7 (ordinary)": case_slider_7x7,
    "to_gif 64x64 kernel (input 80x80)": case_export,
    "ModelExplorer 200 layer switches": case_model_switches,
    "60 ConvExplorer open/close": case_open_close,
    "cache: input 4096 then 8": case_cache_back_to_8,
    "trace torch.jit.script model": lambda: case_trace(True, (1, 3, 32, 32)),
    "trace input 2**40 per side": lambda: case_trace(False, (1, 3, 2**40, 2**40)),
    "trace small model (ordinary)": lambda: case_trace(False, (1, 3, 32, 32)),
}

def kept_mb(outcome: str) -> float:
    """The MB kept, from an outcome such as 'back at 8: RSS +12 MB kept'."""
    return float(outcome.rsplit("+", 1)[1].split()[0])


# Goals from the issue, checked on the AFTER result: (text, check(seconds, peak MB, outcome)).
WIDGET = ("<= 0.3 s, <= 100 MB", lambda s, mb, out: s <= 0.3 and mb <= 100)
PARSE = ("returns or refuses < 2 s", lambda s, mb, out: s < 2.0)
TRACE = ("a sentence (ValueError), < 2 s",
         lambda s, mb, out: s < 2.0 and out.split(":")[0] in ("output (1, 10)", "ValueError", "ShapeError"))
# The frame (32 MB) and text-mask (8 MB) caches fill once, by design: what is kept must stay below.
FLAT = ("0 widgets kept, RSS kept <= 100 MB",
        lambda s, mb, out: out.startswith("+0 widgets") and kept_mb(out) <= 100)
GOALS: dict[str, tuple[str, Callable[[float, float, str], bool]]] = {
    "parse LSTM num_layers=10**9": PARSE,
    "parse 199,000 spaces + ReLU": PARSE,
    "parse 19,900 spaces + ReLU": PARSE,
    "parse 50,000 tabs + ReLU": PARSE,
    "parse small paste (ordinary)": ("as fast as before", lambda s, mb, out: True),
    "kernel slider 5 -> 7 (ordinary)": WIDGET,
    "to_gif 64x64 kernel (input 80x80)": ("capped, note says so, < 20 s",
                                       lambda s, mb, out: s < 20 and "KB; " in out and len(out) > 12),
    "ModelExplorer 200 layer switches": FLAT,
    "60 ConvExplorer open/close": FLAT,
    "cache: input 4096 then 8": ("<= 100 MB kept", lambda s, mb, out: kept_mb(out) <= 100),
    "trace torch.jit.script model": TRACE,
    "trace input 2**40 per side": TRACE,
    "trace small model (ordinary)": ("as fast as before", lambda s, mb, out: True),
}
for _name in CASES:
    if _name.startswith("set "):
        GOALS[_name] = WIDGET

# Old cases that the issue reports as running for minutes: skipped with --quick.
KNOWN_ENDLESS = {"parse LSTM num_layers=10**9", "set channels 10**9, groups=3", "set input 2048, kernel 1000"}


def child(name: str, repeat: int) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import convwidget

    setup, run = CASES[name]()
    times, peaks, outcome = [], [], ""
    for _ in range(repeat):
        state = setup()
        import gc

        gc.collect()
        reset_peak()
        before = rss_mb()
        start = time.perf_counter()
        outcome = run(state)
        times.append(time.perf_counter() - start)
        peaks.append(max(0.0, peak_mb() - before))
        if times[-1] > SLOW:
            break
    print(json.dumps({"seconds": statistics.median(times), "peak_mb": statistics.median(peaks),
                      "runs": len(times), "outcome": outcome, "module": convwidget.__file__}))


# ---------------------------------------------------------------- driving (in the parent)
def measure(name: str, path: Path, timeout: float, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(path), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--repeat", str(repeat)]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"killed": True, "seconds": time.perf_counter() - start}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"crashed": tail[:70]}
    result: dict[str, Any] = json.loads(lines[-1])
    if not result["module"].startswith(str(path)):
        raise SystemExit(f"{name}: imported {result['module']}, not from {path}")
    return result


def cell(r: dict[str, Any] | None, timeout: float) -> str:
    if r is None:
        return "skipped (--quick)"
    if r.get("killed"):
        return f"> {timeout:.0f} s (killed)"
    if "crashed" in r:
        return f"crashed: {r['crashed']}"
    runs = "" if r["runs"] > 1 else " (1 run)"
    return f"{r['seconds']:.3g} s{runs}, +{r['peak_mb']:.0f} MB; {r['outcome']}"


def verdict(name: str, r: dict[str, Any], before: dict[str, Any] | None) -> str:
    goal, check = GOALS[name]
    if r.get("killed") or "crashed" in r:
        return f"{goal}: **no**"
    if goal == "as fast as before":
        if before is None or "seconds" not in before or "runs" not in before:
            return f"{goal}: n/a"
        # within noise of a shared machine: at most 50 ms or 50 % slower
        ok = r["seconds"] <= max(before["seconds"] * 1.5, before["seconds"] + 0.05)
        return f"{goal}: {'yes' if ok else '**no**'}"
    return f"{goal}: {'yes' if check(r['seconds'], r['peak_mb'], r['outcome']) else '**no**'}"


def table(rows: list[tuple[str, dict[str, Any] | None, dict[str, Any]]], timeout: float) -> str:
    out = ["| case | before (83afdd9) | after (this tree) | goal: met? |", "|---|---|---|---|"]
    for name, before, after in rows:
        cells = (cell(before, timeout), cell(after, timeout), verdict(name, after, before))
        out.append(f"| {name} | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(out)


def old_tree(path: str | None) -> tuple[Path, bool]:
    if path:
        return Path(path), False
    target = Path(tempfile.gettempdir()) / "cw_before"
    if not target.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(target), OLD_COMMIT], cwd=ROOT,
                       check=True, capture_output=True)
        return target, True
    return target, False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 s timeout, skip the old endless cases")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per case (default 60)")
    ap.add_argument("--before", default=None, help="a checkout of the old code (default: a worktree)")
    ap.add_argument("--only", default=None, help="run the cases whose name contains this")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return
    timeout = args.timeout or (20.0 if args.quick else 60.0)
    before_path, made = old_tree(args.before)
    rows = []
    try:
        for name in CASES:
            if args.only and args.only not in name:
                continue
            skip = args.quick and name in KNOWN_ENDLESS
            before = None if skip else measure(name, before_path, timeout, args.repeat)
            after = measure(name, ROOT, timeout, args.repeat)
            rows.append((name, before, after))
            print(f"{name}: before {cell(before, timeout)} | after {cell(after, timeout)}", flush=True)
    finally:
        if made:
            subprocess.run(["git", "worktree", "remove", "--force", str(before_path)], cwd=ROOT,
                           capture_output=True)
    print()
    print(table(rows, timeout))


if __name__ == "__main__":
    main()
