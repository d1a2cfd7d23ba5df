"""Benchmark the arithmetic core; prints a Markdown table.

    python benchmarks/bench_core.py

1. ``import convwidget`` against ``import torch``, each in fresh processes
   (interpreter start-up subtracted), median of several runs. Goal: < 5 %.
2. The inverse solver over kernel 1-11, stride 1-5, padding 0-5, dilation 1-4
   for an input of 224, against explaining every candidate. Goal: < 2 ms.
3. ``output_shape`` on a Conv2d against running the layer in torch (CPU, one
   thread) and on the meta device.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def _process_seconds(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _median_seconds(fn: Callable[[], object], runs: int = 15, number: int = 1) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def _fmt(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []

    base = _process_seconds("pass", 9)
    cw = _process_seconds("import convwidget", 9) - base
    th = _process_seconds("import torch", 5) - base
    rows.append(("`import convwidget` (fresh process, start-up subtracted)", _fmt(cw),
                 f"`import torch`: {_fmt(th)}", f"{cw / th:.1%} of torch (goal < 5 %)"))

    import convwidget
    from convwidget.explanations import explain

    grid = dict(kernel_sizes=range(1, 12), strides=range(1, 6), paddings=range(0, 6),
                dilations=range(1, 5))
    t_solve = _median_seconds(lambda: convwidget.solve(224, 112, **grid), runs=25)

    def explain_everything() -> list:
        found = []
        for d in grid["dilations"]:
            for k in grid["kernel_sizes"]:
                for p in grid["paddings"]:
                    for s in grid["strides"]:
                        e = explain(224, k, s, p, d)
                        str(e)
                        if e.output_size == (112,):
                            found.append((k, s, p, d))
        return found

    t_naive = _median_seconds(explain_everything, runs=5)
    n = len(convwidget.solve(224, 112, **grid))
    rows.append((f"`solve(224, 112)` over 1,320 settings ({n} found)", _fmt(t_solve),
                 f"explaining every candidate: {_fmt(t_naive)}",
                 f"{t_naive / t_solve:.0f}× faster (goal < 2 ms)"))

    import torch
    import torch.nn as nn

    torch.set_num_threads(1)
    layer = nn.Conv2d(3, 64, 3, stride=2, padding=1)
    shape = (8, 3, 224, 224)
    x = torch.zeros(shape)
    t_ours = _median_seconds(lambda: convwidget.output_shape(layer, shape), number=200)
    with torch.no_grad():
        t_cpu = _median_seconds(lambda: layer(x), runs=7)
    meta_layer = nn.Conv2d(3, 64, 3, stride=2, padding=1, device="meta")
    xm = torch.empty(shape, device="meta")
    meta_layer(xm)  # the first meta op imports torch._dynamo; time the warm cost
    t_meta = _median_seconds(lambda: meta_layer(xm), number=50)
    rows.append(("`output_shape(Conv2d(3, 64, 3, 2, 1), (8, 3, 224, 224))`", _fmt(t_ours),
                 f"running it on CPU: {_fmt(t_cpu)}; on meta: {_fmt(t_meta)}",
                 f"{t_cpu / t_ours:.0f}× / {t_meta / t_ours:.1f}× faster"))

    print(f"Python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"medians of several runs\n")
    print("| what | convwidget | the alternative | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
