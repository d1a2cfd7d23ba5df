"""Benchmark: the whole-net picture (``report.plot()``) for the CIFAR net, VGG-16 and ResNet-50.

Run: ``python benchmarks/bench_netpicture.py [--quick] [--against REF]``. Prints one table of
medians (ms), wall-clock and CPU time of the measuring process, with the machine's load
average (a busy machine stretches wall-clock time, CPU time much less).

* first: ``report.plot().to_png()`` -- artists built, one frame drawn and encoded;
* update: ``picture.update(report_at_another_size)`` -- what a size slider does to the artists
  (the trace itself is timed apart: it is the tracer's cost, not the picture's);
* light PNG: update + ``to_png()``;
* both themes: update + ``to_png()`` + ``to_png(theme="dark")``;
* explorer: ``ModelExplorer._draw_picture(report)`` -- exactly what the explorer does for its
  picture after a size change (update, the light and the dark PNG into its two Image widgets),
  back and forth between the two sizes;
* drag: the same along a slider drag, a new size each time (17 sizes down and back up), so the
  picture's height changes often (a new Agg buffer each time it does).

``--against REF`` (a git commit, e.g. ``HEAD~3``) measures that commit too, from a detached
worktree under the system's temporary folder, each net in its own process, old and new in
turn, and prints the ratios old / new of the same run.

Goal (issue 12): redraw after a size change <= 50 ms for VGG-16 and ResNet-50 -- the explorer
column, both themes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("BENCH_ROOT", HERE))  # the checkout measured (a worktree for --against)
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from models import VGG, CifarNet, ResNet50  # noqa: E402

import convwidget  # noqa: E402

QUICK = "--quick" in sys.argv
RUNS = 3 if QUICK else 9
COLUMNS = ("first", "update", "light PNG", "both themes", "explorer", "drag")


def median_ms(fn: Callable[[int], object], runs: int = RUNS, warmup: int = 2) -> tuple[float, float]:
    """Median wall-clock and CPU (this process) milliseconds of ``fn(i)``, once background threads
    (the tracer's meta warm-up, an explorer's render-ahead) are done: their CPU is this process's."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(timeout=60)
    for i in range(warmup):
        fn(i)
    wall, cpu = [], []
    for i in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(i)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


NETS = {
    "CIFAR net": (lambda: CifarNet(fc_in=None), (32, 40)),
    "VGG-16": (lambda: VGG(device="meta"), (224, 192)),
    "ResNet-50": (lambda: ResNet50(device="meta"), (224, 160)),
}
DRAG = {"CIFAR net": range(32, 66, 2), "VGG-16": range(96, 232, 8), "ResNet-50": range(96, 232, 8)}


def measure(name: str) -> dict[str, object]:
    """Every column for one net, in this process."""
    from convwidget.explorer.model import ModelExplorer

    build, sizes = NETS[name]
    model = build()
    reports = [convwidget.trace(model, (1, 3, s, s)) for s in sizes]  # type: ignore[arg-type]
    out: dict[str, object] = {"trace": median_ms(
        lambda i: convwidget.trace(model, (1, 3, sizes[i % 2], sizes[i % 2])), runs=3, warmup=1)}  # type: ignore[arg-type]
    out["first"] = median_ms(lambda i: reports[0].plot().to_png())
    picture = reports[0].plot()
    png = picture.to_png()

    def step(i: int, themes: tuple[str, ...]) -> None:
        picture.update(reports[(i + 1) % 2])
        for theme in themes:
            picture.to_png(theme=theme)

    out["update"] = median_ms(lambda i: step(i, ()))
    out["light PNG"] = median_ms(lambda i: step(i, ("light",)))
    out["both themes"] = median_ms(lambda i: step(i, ("light", "dark")))
    app = ModelExplorer(model, (1, 3, sizes[0], sizes[0]))  # type: ignore[arg-type]
    app.layer.value = None  # no ConvExplorer open: its render-ahead thread would count as this CPU
    out["explorer"] = median_ms(lambda i: app._draw_picture(reports[(i + 1) % 2]))
    drag = [convwidget.trace(model, (1, 3, s, s)) for s in DRAG[name]]  # type: ignore[arg-type]
    drag += drag[-2::-1]
    out["drag"] = median_ms(lambda i: app._draw_picture(drag[i % len(drag)]), runs=len(drag) - 2)
    app.close()
    out["picture"] = f"{len(picture.steps)} boxes, {len(png) // 1024} kB PNG"
    return out


def run_elsewhere(root: Path, name: str) -> dict[str, object]:
    """:func:`measure` in a new process importing the checkout at ``root``."""
    env = {**os.environ, "BENCH_ROOT": str(root)}
    args = [sys.executable, __file__, "--json", name] + (["--quick"] if QUICK else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def worktree(ref: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"convwidget-bench-{ref.replace('/', '_').replace('~', '-')}"
    if not path.exists():
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(path), ref],
                       check=True, capture_output=True)
    return path


def cells(row: dict[str, object]) -> str:
    return "  ".join(f"{row[c][0]:6.1f} {row[c][1]:6.1f}" for c in COLUMNS)  # type: ignore[index]


def main() -> None:
    if "--json" in sys.argv:
        print(json.dumps(measure(sys.argv[sys.argv.index("--json") + 1])))
        return
    against = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
    old_root = worktree(against) if against else None
    print(f"load average {os.getloadavg()[0]:.1f} (1 min); medians of {RUNS} runs, ms (wall, cpu)")
    print(f"{'net':<10} {'code':<8} {'picture':<22} " + "  ".join(f"{c:>13}" for c in COLUMNS) + "  trace")
    for name in NETS:
        rows = [("new", run_elsewhere(HERE, name) if old_root else measure(name))]
        if old_root:
            rows.insert(0, (against or "", run_elsewhere(old_root, name)))
        for code, row in rows:
            print(f"{name:<10} {code:<8} {row['picture']:<22} {cells(row)}   {row['trace'][0]:5.1f}")  # type: ignore[index]
        if old_root:
            ratio = "  ".join(f"{rows[0][1][c][1] / rows[1][1][c][1]:13.1f}" for c in COLUMNS)  # type: ignore[index]
            print(f"{name:<10} {'old/new':<8} {'(cpu)':<22} {ratio}")
    print("goal: the explorer column (update + light and dark PNG) <= 50 ms for VGG-16 and ResNet-50; "
          "the trace is the tracer's own cost")


if __name__ == "__main__":
    main()
