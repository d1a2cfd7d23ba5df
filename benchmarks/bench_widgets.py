"""ConvExplorer: time from a slider value change to every panel updated.

In-process, no browser (widget comms are not connected, so no messages are sent): a
control's ``.value`` is set and the clock stops when the calculator, the picture (PNG
bytes) and the PyTorch panel all show the new setting. Beside it, in the same run and
interleaved with it (so machine load hits both alike):

* ``rebuild (same picture)``: what an ``ipywidgets.interact`` callback does with the
  same drawing code: a new WindowFigure for every change, rendered to PNG, plus the same
  calculator and torch work;
* ``interact + pyplot imshow``: a careful hand-written interact callback: ``plt.subplots``,
  one ``imshow`` per grid, the window outline, ``savefig(bbox_inches="tight")`` as the
  inline backend does, plus the same calculator and torch work (a plainer picture than ours);
* ``interact + pyplot``: the same with one Rectangle per cell, as many tutorials draw grids.

ConvExplorer is measured cold (the frame cache is emptied before every change, so the
figure is redrawn in both colourings, light and dark: the honest first-visit cost), warm
(the value was seen before: dragging a slider back and forth), "cold, loop" (inside an
event loop, as in a kernel: the light picture goes out with the change, the dark one in the
loop's next turn, timed apart as "dark, next turn") and "after pause": inside an event loop,
one notch, a pause of 150 ms, then the next notch, which ConvExplorer rendered while idle.

Run: python benchmarks/bench_widgets.py [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # a benchmark script may choose; the library never does
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from convwidget import explain  # noqa: E402
from convwidget.drawing import WindowFigure  # noqa: E402
from convwidget.explorer import panels  # noqa: E402
from convwidget.explorer.state import MAX_VALUE_CELLS as panels_cells  # noqa: E402
from convwidget.explorer.state import compute  # noqa: E402
from convwidget.geometry import layer_geometry  # noqa: E402
from convwidget.torchlayers import LayerSpec, run_layer  # noqa: E402
from convwidget.widgets import ConvExplorer  # noqa: E402

SIZES = (5, 32, 64)


def non_picture_work(n: int, stride: int) -> tuple[object, object]:
    """The calculator and PyTorch work every approach does (identical for all)."""
    e = explain((n, n), (3, 3), (stride, stride), (1, 1), (1, 1), kind="conv")
    t = run_layer(LayerSpec.from_settings(kind="conv", kernel_size=3, stride=stride, padding=1), (n, n))
    return e, t


def rebuild_same_picture(n: int, stride: int) -> bytes:
    non_picture_work(n, stride)
    fig = WindowFigure(layer_geometry("conv", (n, n), 3, stride, 1))
    try:
        return fig.to_png()
    finally:
        fig.close()


def interact_pyplot(n: int, stride: int) -> bytes:
    """A typical hand-written interact callback (pyplot, patches, tight savefig)."""
    expl, _ = non_picture_work(n, stride)
    g = layer_geometry("conv", (n, n), 3, stride, 1)
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(8, 4))
    for ax, size, off in ((ax_in, n + 2, -1), (ax_out, g.output_size[0], 0)):
        for r in range(size):
            for c in range(size):
                ax.add_patch(Rectangle((c + off, r + off), 1, 1, facecolor="#dddddd", edgecolor="white"))
        ax.set_xlim(off, size + off)
        ax.set_ylim(size + off, off)
        ax.set_aspect("equal")
        ax.axis("off")
    w = g.window(0)
    for r, c in w.taps:
        ax_in.add_patch(Rectangle((c, r), 1, 1, facecolor="#E69F00", alpha=0.8))
    ax_out.add_patch(Rectangle((0, 0), 1, 1, facecolor="#0072B2"))
    fig.suptitle(str(expl).splitlines()[0][:80], fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def interact_imshow(n: int, stride: int) -> bytes:
    """A careful interact callback: pyplot, one imshow per grid, a window Rectangle, tight savefig."""
    import numpy as np

    expl, _ = non_picture_work(n, stride)
    g = layer_geometry("conv", (n, n), 3, stride, 1)
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(8, 4))
    padded = np.zeros((n + 2, n + 2))
    padded[1:-1, 1:-1] = 1
    ax_in.imshow(padded, cmap="Blues", vmin=0, vmax=2, extent=(-1.5, n + 0.5, n + 0.5, -1.5))
    ax_out.imshow(np.ones(g.output_size), cmap="Greens", vmin=0, vmax=2)
    (r0, c0), (r1, c1) = g.window(0).taps[0], g.window(0).taps[-1]
    ax_in.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                              edgecolor="#D55E00", linewidth=2))
    ax_out.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="#D55E00", linewidth=2))
    for ax in (ax_in, ax_out):
        ax.axis("off")
    fig.suptitle(str(expl).splitlines()[0][:80], fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def prefetched_notches(n: int, repeat: int) -> list[float]:
    """Keyboard-style use inside an event loop (as in a kernel): one notch, a pause, the next
    notch. The pause lets ConvExplorer render the next notch ahead of time."""
    import asyncio

    samples: list[float] = []

    async def scenario() -> None:
        e = ConvExplorer(kind="conv", input_size=(n, n), kernel_size=3, stride=1, padding=1)
        for _ in range(repeat):
            e.picture_panel.clear_cache()
            e.stride.h.value = 2
            await asyncio.sleep(0.15)  # the learner looks at the picture
            t0 = time.perf_counter()
            e.stride.h.value = 3
            samples.append(time.perf_counter() - t0)
            assert "stride=3" in e.values_panel.value
            e.picture_panel.cancel()
            e.stride.h.value = 1

    asyncio.run(scenario())
    return samples


def cold_in_a_loop(n: int, repeat: int) -> tuple[list[float], list[float]]:
    """Inside an event loop (as in a kernel), prefetch off: the change with its light picture,
    and the dark picture rendered in the loop's next turn."""
    import asyncio

    change: list[float] = []
    dark: list[float] = []

    async def scenario() -> None:
        e = ConvExplorer(kind="conv", input_size=(n, n), kernel_size=3, stride=1, padding=1)
        e.prefetch = False
        for _ in range(repeat):
            e.picture_panel.clear_cache()
            t0 = time.perf_counter()
            e.stride.h.value = 2
            t1 = time.perf_counter()
            await asyncio.sleep(0)
            t2 = time.perf_counter()
            change.append(t1 - t0)
            dark.append(t2 - t1)
            assert "stride=2" in e.values_panel.value
            e.stride.h.value = 1
            await asyncio.sleep(0)

    asyncio.run(scenario())
    return change, dark


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def run(repeat: int) -> list[tuple[str, int, float]]:
    rows: list[tuple[str, int, float]] = []
    for n in SIZES:
        for name, samples in measure(n, repeat).items():
            rows.append((name, n, median_ms(samples)))
    return rows


def measure(n: int, repeat: int) -> dict[str, list[float]]:
    """Every row's samples for an n×n input (one function per size: the closures bind n, e)."""
    e = ConvExplorer(kind="conv", input_size=(n, n), kernel_size=3, stride=1, padding=1)
    times: dict[str, list[float]] = {k: [] for k in (
        "ConvExplorer slider, cold", "ConvExplorer slider, warm",
        "ConvExplorer slider, cold, loop", "  dark, next turn", "ConvExplorer slider, after pause",
        "  of which calculator",
        "  of which torch panel", "ConvExplorer step, cold", "ConvExplorer step, warm",
        "rebuild (same picture)", "interact + pyplot imshow", "interact + pyplot")}

    def clock(name: str, fn: Callable[[], object]) -> None:
        t0 = time.perf_counter()
        fn()
        times[name].append(time.perf_counter() - t0)

    for i in range(repeat):
        # cold: the frame cache is emptied, so the figure really is redrawn
        e.picture_panel.clear_cache()
        before = e.picture.value  # stride 1
        clock("ConvExplorer slider, cold", lambda: setattr(e.stride.h, "value", 2))
        assert e.picture.value != before and "stride=2" in e.values_panel.value
        after = e.picture.value
        e.stride.h.value = 1
        # warm: back to a value seen a moment ago (dragging a slider to and fro)
        clock("ConvExplorer slider, warm", lambda: setattr(e.stride.h, "value", 2))
        assert e.picture.value == after and "stride=2" in e.values_panel.value
        e.stride.h.value = 1
        res = e.state.results
        clock("  of which calculator", lambda r=res: e._show_calculator(
            compute(r.spec, r.input_size, run_torch=False)))
        clock("  of which torch panel", lambda r=res: panels.torch_html(replace(
            r, torch_result=run_layer(r.spec, r.input_size, max_cells=panels_cells))))
        # a step of the animation (a Play tick): the figure is current, only the window moves
        e.picture_panel.clear_cache()
        e.step.value = 1 + i % e.step.max  # drawn in full: the next step blits
        step = 1 + (i + 1) % e.step.max
        clock("ConvExplorer step, cold", lambda st=step: setattr(e.step, "value", st))
        e.step.value = 0
        clock("ConvExplorer step, warm", lambda st=step: setattr(e.step, "value", st))
        e.step.value = 0
        stride = 1 + i % 2
        clock("rebuild (same picture)", lambda s=stride: rebuild_same_picture(n, s))
        clock("interact + pyplot imshow", lambda s=stride: interact_imshow(n, s))
        if n <= 32 or i < 3:  # one patch per cell: 64×64 takes seconds; fewer samples
            clock("interact + pyplot", lambda s=stride: interact_pyplot(n, s))
    times["ConvExplorer slider, after pause"] = prefetched_notches(n, repeat)
    times["ConvExplorer slider, cold, loop"], times["  dark, next turn"] = cold_in_a_loop(n, repeat)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    rows = run(args.repeat)
    table: dict[str, dict[int, float]] = {}
    for name, n, ms in rows:
        table.setdefault(name, {})[n] = ms
    head = f"{'median ms per change':32}" + "".join(f"{f'{n}×{n}':>10}" for n in SIZES)
    print(f"ConvExplorer update benchmark, {args.repeat} repeats, Python {sys.version.split()[0]}, "
          f"matplotlib {matplotlib.__version__}, load avg {os.getloadavg()[0]:.1f}")
    print(head)
    print("-" * len(head))
    for name, by_size in table.items():
        print(f"{name:32}" + "".join(f"{by_size[n]:10.2f}" for n in SIZES))
    print("-" * len(head))
    for base in ("rebuild (same picture)", "interact + pyplot imshow", "interact + pyplot"):
        for ours in ("ConvExplorer slider, cold", "ConvExplorer slider, after pause"):
            ratios = "".join(f"{table[base][n] / table[ours][n]:9.1f}×" for n in SIZES)
            label = base.replace("interact + pyplot", "pyplot").replace(" (same picture)", "")
            print(f"{(label + ' / ' + ours.split(', ')[1])[:32]:32}{ratios}")
    print("(no frontend: widget messages are not sent; the machine's other load hits every row alike)")
    print("goals: slider update <= 16 ms median; >= 4x faster than rebuilding")


if __name__ == "__main__":
    main()
