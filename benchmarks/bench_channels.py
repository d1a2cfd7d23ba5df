"""Benchmark: the channel picture with values (issue 12), per animation step and per full update.

Run: ``python benchmarks/bench_channels.py [--quick]``. Prints one table of medians (ms).

Measured in the same run, per setting:

* picture step: ``ChannelPicture.png(cell)`` for one theme (the lit cell moves);
* picture full: a new ``ChannelPicture`` (a new setting: the bands drawn again) + ``png``;
* view step: ``state.step = i`` on a :class:`~convwidget.explorer.valuesview.ValuesView`: both
  themes' frames, their PNGs and the sum line (what the Play button costs this view);
* view full: the view's redraw after a setting change (input values, weights, the real layer
  in float64, both themes' pictures and frames), without the explorer's own recomputation.

Goals (issue 12): a multi-channel frame with values <= 12 ms per animation step and
<= 16 ms per full update (the one-plane figures in the same run of bench_drawing: 3.4 and
5.2 ms). Wall-clock and CPU-time medians are both printed with the load average: a busy
machine stretches wall-clock time, CPU time much less.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from convwidget.cellmath import preset_weights, sample_input
from convwidget.drawing.channels import ChannelPicture
from convwidget.explorer.state import ExplorerState
from convwidget.explorer.valuesview import ValuesView, bias_values
from convwidget.spec import LayerSpec
from convwidget.torchlayers import run_values

QUICK = "--quick" in sys.argv
RUNS = 15 if QUICK else 60
GOALS = {"step": 12.0, "full": 16.0}

#: (label, explorer settings): multi-channel frames with values written in the cells.
SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("conv 3->4, 7x7", dict(input_size=7, kernel_size=3, padding=1, in_channels=3, out_channels=4)),
    ("conv 4->4 groups 2, 8x8", dict(input_size=8, kernel_size=3, in_channels=4, out_channels=4, groups=2)),
    ("depthwise 6, 8x8", dict(input_size=8, kernel_size=3, in_channels=6, out_channels=6, groups=6)),
    ("max pool 3 ch, 9x9", dict(kind="max_pool", input_size=9, kernel_size=3, stride=2, padding=1,
                                in_channels=3)),
    ("transposed 2->2, 5x5", dict(kind="conv_transpose", input_size=5, kernel_size=3, stride=2,
                                  in_channels=2, out_channels=2)),
    ("conv 3->8, 32x32 (no values)", dict(input_size=32, kernel_size=3, in_channels=3, out_channels=8)),
]


def median_ms(fn: Callable[[int], object], runs: int = RUNS, warmup: int = 3) -> tuple[float, float]:
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


def picture_args(state: ExplorerState) -> tuple[LayerSpec, Any, Any, Any, Any]:
    spec = state.spec
    assert spec is not None
    size = state.results.input_size if state.results is not None else (1, 1)
    inputs = sample_input(spec.in_channels, size)
    weights = None if spec.is_pool else preset_weights("small integers", spec)
    bias = bias_values(spec)
    return spec, inputs, weights, bias, run_values(spec, inputs, weights, bias).values


def measure(settings: dict[str, Any]) -> dict[str, tuple[float, float]]:
    state = ExplorerState(**settings)
    geometry = state.geometry
    assert geometry is not None
    n = geometry.n_steps
    spec, inputs, weights, bias, outputs = picture_args(state)
    n_out = spec.in_channels if spec.is_pool else spec.out_channels
    pic = ChannelPicture(spec, inputs, weights, bias, outputs, out_channel=n_out - 1)
    out: dict[str, tuple[float, float]] = {}
    # steps: after one pass over every cell (the Play button loops; the first pass also
    # rasterises the sum line's new words, about 0.1 ms a glyph)
    out["picture step"] = median_ms(lambda i: pic.png(geometry.out_cell(i % n)), warmup=n)
    out["picture full"] = median_ms(lambda i: ChannelPicture(
        spec, inputs, weights, bias, outputs, out_channel=i % n_out).png(geometry.out_cell(i % n)))
    view = ValuesView(state)

    def step(i: int) -> None:
        state.step = (state.step + 1) % n

    out["view step"] = median_ms(step, warmup=n)

    def full(i: int) -> None:
        view._redraw()  # what a setting change (or a new followed channel) costs this view

    out["view full"] = median_ms(full)
    view.close()
    return out


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"channel picture with values: medians of {RUNS} runs, wall / CPU ms (load average {load:.1f})")
    columns = ["picture step", "picture full", "view step", "view full"]
    print(f"{'setting':32}" + "".join(f"{c:>20}" for c in columns))
    worst = {"step": 0.0, "full": 0.0}
    for label, settings in SETTINGS:
        result = measure(settings)
        print(f"{label:32}" + "".join(f"{result[c][0]:>10.2f} / {result[c][1]:<7.2f}" for c in columns))
        if "no values" not in label:
            worst["step"] = max(worst["step"], result["view step"][1])
            worst["full"] = max(worst["full"], result["view full"][1])
    for what, goal in GOALS.items():
        verdict = "meets" if worst[what] <= goal else "MISSES"
        print(f"view {what} (both themes, CPU, worst setting with values): {worst[what]:.2f} ms {verdict} "
              f"the goal of <= {goal:g} ms")


if __name__ == "__main__":
    main()
