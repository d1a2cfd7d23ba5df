"""Benchmark: the sliding-window picture and its export, against what people usually write.

Run: ``python benchmarks/bench_drawing.py [--quick] [--themes-only]``. Prints one table of medians (ms).

Compared in the same run:

* ``WindowFigure`` step: ``show_step`` + ``to_png`` (what a step slider or the Play button does);
* ``WindowFigure`` full update: ``set_geometry`` (a new setting) + ``to_png``;
* rebuild (Rectangles): what ``ipywidgets.interact`` users write -- a new pyplot figure each
  time, one ``Rectangle`` per cell, ``savefig`` to PNG, ``close``;
* rebuild (imshow): the same but the grids drawn with ``imshow`` (a faster rebuild);
* GIF export per frame: ``convwidget.export.to_gif`` against ``FuncAnimation`` +
  ``PillowWriter`` animating the same picture (imshow grids, moving Rectangles, blit=True);
* themes and scale, at the picture's natural size (580x310 at scale 1, as the explorer shows
  it): a step and a full update in one theme against the PNG pair (light and dark, both put in
  the page), at scale 1 and 1.5 (a projector).

Goals (issue 4): step <= 12 ms, full update <= 16 ms, >= 4x faster than rebuilding, GIF
export >= 5x faster than PillowWriter. Wall-clock and CPU-time (this process) medians are both
printed with the machine's load average: a busy machine stretches wall-clock time, CPU time
much less; the ratios hold up either way.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # a script, not the library: it may choose its backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from convwidget.drawing import WindowFigure  # noqa: E402
from convwidget.export import to_gif, to_html  # noqa: E402
from convwidget.geometry import Geometry, layer_geometry  # noqa: E402

QUICK = "--quick" in sys.argv
SIZES = [(5, 5), (32, 32), (64, 64)]
FIGSIZE, DPI = (8.0, 4.0), 100.0


def median_ms(fn: Callable[[int], object], runs: int, warmup: int = 2) -> tuple[float, float]:
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


def geometry(size: tuple[int, int], padding: int = 1) -> Geometry:
    return layer_geometry("conv", size, kernel_size=3, stride=1, padding=padding)


# ---------------------------------------------------------------- the rebuild baselines
def rebuild_rectangles(g: Geometry, step: int) -> bytes:
    """One Rectangle per cell, a new pyplot figure per change: the interact() way."""
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI)
    (r0, c0), (nr, nc) = g.grid_start, g.grid_shape
    for r in range(r0, r0 + nr):
        for c in range(c0, c0 + nc):
            color = "#bfe2f6" if g.cell_role((r, c)) == "input" else "#dcdcdc"
            ax_in.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=color, edgecolor="grey", lw=0.5))
    w = g.window(step)
    for r, c in w.taps:
        ax_in.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#e69f00", alpha=0.7))
    oh, ow = g.output_size
    for r in range(oh):
        for c in range(ow):
            lit = (r, c) == w.out_cell
            ax_out.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#e69f00" if lit else "#bde6d6",
                                       edgecolor="grey", lw=0.5))
    for ax, (x0, x1, y0, y1) in ((ax_in, (c0, c0 + nc, r0, r0 + nr)), (ax_out, (0, ow, 0, oh))):
        ax.set_xlim(x0 - 0.5, x1 - 0.5)
        ax.set_ylim(y1 - 0.5, y0 - 0.5)
        ax.set_aspect("equal")
        ax.set_axis_off()
    ax_in.set_title(f"input {g.input_size}")
    ax_out.set_title(f"output {g.output_size}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _imshow_figure(g: Geometry):
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI)
    (r0, c0), (nr, nc) = g.grid_start, g.grid_shape
    roles = np.array([[g.cell_role((r, c)) == "input" for c in range(c0, c0 + nc)]
                      for r in range(r0, r0 + nr)])
    ax_in.imshow(roles, cmap="Blues", vmin=-1, vmax=3,
                 extent=(c0 - 0.5, c0 + nc - 0.5, r0 + nr - 0.5, r0 - 0.5))
    ax_out.imshow(np.zeros(g.output_size), cmap="Greens", vmin=-1, vmax=3)
    for ax in (ax_in, ax_out):
        ax.set_axis_off()
    ax_in.set_title(f"input {g.input_size}")
    ax_out.set_title(f"output {g.output_size}")
    taps = [ax_in.add_patch(Rectangle((0, 0), 1, 1, facecolor="#e69f00", alpha=0.7))
            for _ in g.window(0).taps]
    lit = ax_out.add_patch(Rectangle((0, 0), 1, 1, facecolor="#e69f00"))
    return fig, taps, lit


def _move(g: Geometry, step: int, taps, lit) -> None:
    w = g.window(step)
    for patch, (r, c) in zip(taps, w.taps, strict=True):
        patch.set_xy((c - 0.5, r - 0.5))
    lit.set_xy((w.out_cell[1] - 0.5, w.out_cell[0] - 0.5))


def rebuild_imshow(g: Geometry, step: int) -> bytes:
    fig, taps, lit = _imshow_figure(g)
    _move(g, step, taps, lit)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def funcanimation_gif(g: Geometry, frames: int, path: str) -> None:
    fig, taps, lit = _imshow_figure(g)

    def update(i: int):
        _move(g, i, taps, lit)
        return [*taps, lit]

    anim = FuncAnimation(fig, update, frames=frames, blit=True)
    anim.save(path, writer=PillowWriter(fps=4))
    plt.close(fig)


# ---------------------------------------------------------------- run
Row = tuple[str, str, float, float, str]


def _size_rows(fig: WindowFigure, size: tuple[int, int], runs: int) -> list[Row]:
    """A step, a full update and the two rebuild baselines for one input size."""
    name = f"{size[0]}x{size[1]}"
    g = geometry(size)
    fig.set_geometry(g, 0)
    fig.to_png()
    n = g.n_steps
    step = median_ms(lambda i: (fig.show_step((i * 7) % n), fig.to_png()), runs * 2)
    alt = [geometry(size, 1), geometry(size, 0)]
    full = median_ms(lambda i: (fig.set_geometry(alt[i % 2]), fig.to_png()), runs)
    reb_imshow = median_ms(lambda i: rebuild_imshow(g, (i * 7) % n), max(3, runs // 3), warmup=1)
    reb_rect_runs = 3 if size[0] >= 64 else max(3, runs // 4)
    reb_rect = median_ms(lambda i: rebuild_rectangles(g, (i * 7) % n), reb_rect_runs, warmup=1)
    return [
        (name, "WindowFigure step (show_step + PNG)", *step, "goal <= 12"),
        (name, "WindowFigure full update (set_geometry + PNG)", *full, "goal <= 16"),
        (name, "rebuild, imshow (pyplot figure + savefig)", *reb_imshow,
         f"{reb_imshow[0] / full[0]:.1f}x full update, {reb_imshow[0] / step[0]:.1f}x step"),
        (name, "rebuild, Rectangle per cell (interact style)", *reb_rect,
         f"{reb_rect[0] / full[0]:.1f}x full update, {reb_rect[0] / step[0]:.1f}x step"),
    ]


def _theme_rows(size: tuple[int, int], runs: int) -> list[Row]:
    """One theme against both (the explorer puts a light and a dark PNG in the page), scale 1
    and 1.5, at the default (natural) size."""
    name = f"{size[0]}x{size[1]}"
    g = geometry(size)
    alt = [geometry(size, 1), geometry(size, 0)]
    n = g.n_steps
    rows: list[Row] = []
    for scale in (1.0, 1.5):
        fig = WindowFigure(g, scale=scale)
        fig.to_png()
        fig.to_png(theme="dark")

        def pair(fig: WindowFigure = fig) -> None:
            fig.to_png()
            fig.to_png(theme="dark")

        def step(i: int, fig: WindowFigure = fig) -> None:
            fig.show_step((i * 7) % n)

        def update(i: int, fig: WindowFigure = fig) -> None:
            fig.set_geometry(alt[i % 2])

        one = median_ms(lambda i: (step(i), fig.to_png()), runs * 2)  # noqa: B023 - called in this turn
        both = median_ms(lambda i: (step(i), pair()), runs * 2)
        full_one = median_ms(lambda i: (update(i), fig.to_png()), runs)  # noqa: B023 - called in this turn
        full_both = median_ms(lambda i: (update(i), pair()), runs)
        fig.close()
        rows += [
            (name, f"scale {scale:g}: step, one theme", *one, ""),
            (name, f"scale {scale:g}: step, PNG pair (light + dark)", *both,
             f"goal <= 12; {both[0] / one[0]:.2f}x one theme"),
            (name, f"scale {scale:g}: full update, one theme", *full_one, ""),
            (name, f"scale {scale:g}: full update, PNG pair", *full_both,
             f"goal <= 16; {full_both[0] / full_one[0]:.2f}x one theme"),
        ]
    return rows


def _export_rows() -> list[Row]:
    """GIF and HTML export per frame, against FuncAnimation + PillowWriter."""
    frames = 24 if QUICK else 60
    g = layer_geometry("conv", (32, 32), kernel_size=3, stride=2, padding=1)
    with tempfile.TemporaryDirectory() as tmp:
        timings: dict[str, list[tuple[float, float]]] = {"ours": [], "theirs": [], "html": []}

        def timed(key: str, fn: Callable[[], object]) -> None:
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            timings[key].append(((time.perf_counter() - t0) / frames, (time.process_time() - c0) / frames))

        for _ in range(2 if QUICK else 3):
            timed("ours", lambda: to_gif(g, os.path.join(tmp, "ours.gif"), max_frames=frames,
                                         include_dropped=False))
            timed("html", lambda: to_html(g, max_frames=frames, include_dropped=False))
            timed("theirs", lambda: funcanimation_gif(g, frames, os.path.join(tmp, "theirs.gif")))
    med = {k: (1000 * statistics.median(w for w, _ in v), 1000 * statistics.median(c for _, c in v))
           for k, v in timings.items()}
    ours, theirs = med["ours"], med["theirs"]
    return [
        ("32x32 s2", f"to_gif, per frame ({frames} frames)", *ours, "goal >= 5x faster than PillowWriter"),
        ("32x32 s2", "FuncAnimation + PillowWriter, per frame", *theirs,
         f"{theirs[0] / ours[0]:.1f}x to_gif (wall), {theirs[1] / ours[1]:.1f}x (CPU)"),
        ("32x32 s2", f"to_html player, per frame ({frames} frames)", *med["html"], ""),
    ]


def main() -> None:
    runs = 7 if QUICK else 25
    rows: list[Row] = []
    fig = WindowFigure(figsize=FIGSIZE, dpi=DPI)
    for size in SIZES:
        rows += _size_rows(fig, size, runs)
    fig.close()
    if "--themes-only" in sys.argv:
        rows = []
    for size in SIZES:
        rows += _theme_rows(size, runs)
    if "--themes-only" not in sys.argv:
        rows += _export_rows()

    load = os.getloadavg()
    print(f"convwidget drawing benchmark: medians in ms; {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; matplotlib {matplotlib.__version__}; figure "
          f"{FIGSIZE[0]:g}x{FIGSIZE[1]:g} in at {DPI:g} dpi")
    width = max(len(r[1]) for r in rows)
    print(f"{'input':<9} {'what':<{width}} {'wall ms':>8} {'CPU ms':>8}  note")
    for size, what, wall, cpu, note in rows:
        print(f"{size:<9} {what:<{width}} {wall:>8.2f} {cpu:>8.2f}  {note}")


if __name__ == "__main__":
    main()
