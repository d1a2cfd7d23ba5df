"""Benchmark: the whole-net picture (``report.plot()``) for the CIFAR net, VGG-16 and ResNet-50.

Run: ``python benchmarks/bench_netpicture.py [--quick]``. Prints one table of medians (ms),
wall-clock and CPU time of this process, with the machine's load average (a busy machine
stretches wall-clock time, CPU time much less).

* first draw: ``report.plot()`` + rendering the pixels (artists built);
* redraw: ``picture.update(report_at_another_size)`` + rendering -- what a size slider does
  (the trace itself is timed apart: it is the tracer's cost, not the picture's);
* PNG encode: ``encode_png`` of the rendered pixels (``to_png`` = redraw + this);
* both themes: what ModelExplorer does after a size change -- ``update`` and the light and
  the dark PNG (``to_png()`` + ``to_png(theme="dark")``), pixels to bytes.

Goal (issue 12): redraw after a size change <= 50 ms for VGG-16 and ResNet-50.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from models import VGG, CifarNet, ResNet50  # noqa: E402

import convwidget  # noqa: E402
from convwidget.drawing.raster import encode_png  # noqa: E402

QUICK = "--quick" in sys.argv
RUNS = 3 if QUICK else 9


def median_ms(fn: Callable[[int], object], runs: int = RUNS, warmup: int = 2) -> tuple[float, float]:
    """Median wall-clock and CPU (this process) milliseconds of ``fn(i)``."""
    for i in range(warmup):
        fn(i)
    wall, cpu = [], []
    for i in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(i)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


NETS = [
    ("CIFAR net", lambda: CifarNet(fc_in=None), (32, 40)),
    ("VGG-16", lambda: VGG(device="meta"), (224, 192)),
    ("ResNet-50", lambda: ResNet50(device="meta"), (224, 160)),
]


def bench(name: str, build: Callable[[], object], sizes: tuple[int, int]) -> list[str]:
    model = build()
    reports = [convwidget.trace(model, (1, 3, s, s)) for s in sizes]  # type: ignore[arg-type]
    trace = median_ms(lambda i: convwidget.trace(model, (1, 3, sizes[i % 2], sizes[i % 2])),  # type: ignore[arg-type]
                      runs=3, warmup=1)
    first = median_ms(lambda i: reports[0].plot().draw())
    picture = reports[0].plot()
    picture.draw()

    def redraw(i: int) -> None:
        picture.update(reports[(i + 1) % 2])
        picture.draw()

    again = median_ms(redraw)
    pixels = picture.draw().copy()
    encode = median_ms(lambda i: encode_png(pixels, 1))

    def both_themes(i: int) -> None:
        picture.update(reports[(i + 1) % 2])
        picture.to_png()
        picture.to_png(theme="dark")

    both = median_ms(both_themes)
    boxes = f"{len(picture.steps)} boxes, {pixels.shape[1]}×{pixels.shape[0]} px"
    return [f"{name:<10} {boxes:<26} {first[0]:7.1f} {first[1]:6.1f}   {again[0]:7.1f} {again[1]:6.1f}   "
            f"{encode[0]:7.1f} {encode[1]:6.1f}   {both[0]:7.1f} {both[1]:6.1f}   {trace[0]:7.1f}"]


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} (1 min); medians of {RUNS} runs, ms (wall, cpu)")
    print(f"{'net':<10} {'picture':<26} {'first draw':>14}   {'redraw (size)':>14}   {'PNG encode':>14}   "
          f"{'both themes':>14}   {'trace':>7}")
    for name, build, sizes in NETS:
        for line in bench(name, build, sizes):
            print(line)
    print("goal: redraw <= 50 ms for VGG-16 and ResNet-50 (the trace is the tracer's own cost); "
          "'both themes' is a redraw with the light and the dark PNG encoded")


if __name__ == "__main__":
    main()
