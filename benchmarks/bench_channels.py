"""Benchmark: the channel picture with values (issue 12), per animation step and per full update.

Run: ``python benchmarks/bench_channels.py [--quick] [--against REF]``. Prints one table of
medians (ms), wall-clock and CPU time of the measuring process, with the load average.

Measured in the same run, per setting:

* picture step: ``ChannelPicture.png(cell)`` for one theme (the lit cell moves);
* picture full: a new ``ChannelPicture`` (a new setting: the bands drawn again) + ``png``;
* view step: ``state.step = i`` on a :class:`~convwidget.explorer.valuesview.ValuesView`: both
  themes' frames, their PNGs and the sum line (what the Play button costs this view);
* view full: the view's redraw after a setting change (input values, weights, the real layer
  in float64, both themes' pictures and frames), without the explorer's own recomputation;
* view change: the same redraw through the view's own control, the followed output channel
  moved back and forth between the first and the last (titles, kernels and the outlined map
  change: what caches of the last picture's texts save is what a learner's change saves).

``--against REF`` (a git commit, e.g. ``3c99ba6``) measures that commit too, from a detached
worktree under the system's temporary folder, each setting in its own process, old and new in
turn, and prints the ratios old / new (CPU) of the same run.

Goals (issue 12): a multi-channel frame with values <= 12 ms per animation step and
<= 16 ms per full update (the one-plane figures in the same run of bench_drawing: 3.4 and
5.2 ms). Wall-clock and CPU-time medians are both printed with the load average: a busy
machine stretches wall-clock time, CPU time much less.
"""

from __future__ import annotations

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

HERE = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("BENCH_ROOT", HERE))  # the checkout measured (a worktree for --against)
sys.path[:0] = [str(ROOT)]

from convwidget.cellmath import preset_weights, sample_input  # noqa: E402
from convwidget.drawing.channels import ChannelPicture  # noqa: E402
from convwidget.explorer.state import ExplorerState  # noqa: E402
from convwidget.explorer.valuesview import ValuesView, bias_values  # noqa: E402
from convwidget.spec import LayerSpec  # noqa: E402
from convwidget.torchlayers import run_values  # noqa: E402

QUICK = "--quick" in sys.argv
RUNS = 15 if QUICK else 60
GOALS = {"step": 12.0, "full": 16.0}
COLUMNS = ["picture step", "picture full", "view step", "view full", "view change"]

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

    def change(i: int) -> None:
        view.channel.value = 0 if view.channel.value else n_out - 1  # a full redraw, another channel

    out["view change"] = median_ms(change)
    view.close()
    return out


def run_elsewhere(root: Path, label: str) -> dict[str, tuple[float, float]]:
    """:func:`measure` of setting ``label`` in a new process importing the checkout at ``root``."""
    env = {**os.environ, "BENCH_ROOT": str(root)}
    args = [sys.executable, __file__, "--json", label] + (["--quick"] if QUICK else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return {k: (v[0], v[1]) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def worktree(ref: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"convwidget-bench-{ref.replace('/', '_').replace('~', '-')}"
    if not path.exists():
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(path), ref],
                       check=True, capture_output=True)
    return path


def main() -> None:
    if "--json" in sys.argv:
        print(json.dumps(measure(dict(SETTINGS)[sys.argv[sys.argv.index("--json") + 1]])))
        return
    against = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
    old_root = worktree(against) if against else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"channel picture with values: medians of {RUNS} runs, wall / CPU ms (load average {load:.1f})")
    print(f"{'setting':32}{'code':8}" + "".join(f"{c:>20}" for c in COLUMNS))
    worst = {"step": 0.0, "full": 0.0}
    for label, settings in SETTINGS:
        rows = [("new", run_elsewhere(HERE, label) if old_root else measure(settings))]
        if old_root:
            rows.insert(0, (against or "", run_elsewhere(old_root, label)))
        for code, result in rows:
            print(f"{label:32}{code[:7]:8}" + "".join(f"{result[c][0]:>10.2f} / {result[c][1]:<7.2f}"
                                                    for c in COLUMNS))
        if old_root:
            print(f"{label:32}{'old/new':8}" + "".join(f"{rows[0][1][c][1] / rows[1][1][c][1]:>15.2f}     "
                                                       for c in COLUMNS))
        result = rows[-1][1]
        if "no values" not in label:
            worst["step"] = max(worst["step"], result["view step"][1])
            worst["full"] = max(worst["full"], result["view full"][1], result["view change"][1])
    for what, goal in GOALS.items():
        verdict = "meets" if worst[what] <= goal else "MISSES"
        print(f"view {what} (both themes, CPU, worst setting with values, new code): {worst[what]:.2f} ms "
              f"{verdict} the goal of <= {goal:g} ms")


if __name__ == "__main__":
    main()
