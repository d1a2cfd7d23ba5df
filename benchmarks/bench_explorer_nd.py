"""ConvExplorer in 1-D, 2-D and 3-D: time from a setting change to every panel updated.

In-process, no browser (widget comms are not connected): ``explorer.set(stride=...)``
alternates between two values and the clock stops when the calculator, the picture (PNG
bytes, cold: the frame cache is emptied first, so both colourings are drawn) and the
PyTorch panel show the new setting. Also a step (the lit output cell) and, in 3-D, a depth
slice. The three explorers are measured interleaved in the same run, so machine load hits
them alike; the ratio column is against 2-D in the same run.

Run: python benchmarks/bench_explorer_nd.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

from convwidget import ConvExplorer  # noqa: E402

SETTINGS: dict[str, dict[str, Any]] = {
    "1-D (12,)": {"input_size": (12,), "kernel_size": 3, "padding": 1},
    "2-D (12, 12)": {"input_size": (12, 12), "kernel_size": 3, "padding": 1},
    "3-D (5, 12, 12)": {"input_size": (5, 12, 12), "kernel_size": 3, "padding": 1},
}


def timed(action: Callable[[], None]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one call."""
    w, c = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def setting_change(e: ConvExplorer, i: int) -> Callable[[], None]:
    def run() -> None:
        e.picture_panel.clear_cache()
        e.set(stride=1 + i % 2)
        assert bytes(e.picture.value)[:4] == b"\x89PNG"
    return run


def step_change(e: ConvExplorer, i: int) -> Callable[[], None]:
    def run() -> None:
        e.picture_panel.clear_cache()
        e.state.step = (i * 7) % e.state.geometry.n_steps
    return run


def depth_change(e: ConvExplorer, i: int) -> Callable[[], None]:
    def run() -> None:
        e.picture_panel.clear_cache()
        e.state.depth = i % 2
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    explorers = {name: ConvExplorer(ahead=False, **s) for name, s in SETTINGS.items()}
    actions = {"setting change": setting_change, "step": step_change, "depth slice (3-D)": depth_change}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i in range(args.repeat + 2):  # two warm-up rounds
        for what, make in actions.items():
            for name, e in explorers.items():
                if what.endswith("(3-D)") and not name.startswith("3-D"):
                    continue
                t = timed(make(e, i))
                if i >= 2:
                    times.setdefault((what, name), []).append(t)
    load = os.getloadavg()[0]
    print(f"ConvExplorer update, medians of {args.repeat} (cold frames), load average {load:.2f}\n")
    print(f"{'change':<20}{'explorer':<18}{'wall ms':>9}{'CPU ms':>9}{'vs 2-D':>8}")
    for (what, name), values in times.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        base = times.get((what, "2-D (12, 12)"))
        ratio = f"{wall / statistics.median(v[0] for v in base):.2f}" if base else "—"
        print(f"{what:<20}{name:<18}{wall:>9.1f}{cpu:>9.1f}{ratio:>8}")
    for e in explorers.values():
        e.close()


if __name__ == "__main__":
    main()
