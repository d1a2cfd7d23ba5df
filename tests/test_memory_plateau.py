"""Issue 10, item 2, at full size: a long classroom session keeps widgets and memory flat.

5,000 random changes (through ``ConvExplorer.set`` and through the control widgets, hostile
values included) and 500 open/close cycles (ConvExplorers, and ModelExplorer layer switches).
The registered widget count must come back exactly to where it started and RSS must reach a
plateau. tests/test_explorer_state.py holds a small version that runs with every test run.
"""

from __future__ import annotations

import contextlib
import gc
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import traitlets
from torch import nn

from convwidget import ConvExplorer, ModelExplorer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm"),
]

# RSS noise allowed between the two halves of a run, in MB. What may legitimately grow after the
# warm-up is bounded by design: the frame cache (32 MB, picture.cache_bytes) and the text-mask
# cache (8 MB, raster.TEXT_CACHE_BYTES) fill in the first half, and glibc's allocator keeps freed
# arenas (a few MB each) in its pools instead of returning them to the system. A leak of the old
# size is far above it: 200 layer switches kept 730 MB, 60 open/close cycles 225 MB, one visit
# to input 4096 kept 780 MB.
NOISE_MB = 48

SETTINGS: dict[str, list[Any]] = {
    "kind": ["conv", "conv_transpose", "max_pool", "avg_pool"],
    "input_size": [1, 2, 5, 8, 13, 64, (7, 30), 300, 4096, 10**6],
    "kernel_size": [1, 2, 3, 5, (1, 7), 40, 1000],
    "stride": [1, 2, 3, (2, 1), 7, 100000],
    "padding": [0, 1, 2, (0, 3), "same", "valid", 10**4],
    "dilation": [1, 2, 3, 50],
    "output_padding": [0, 1, 2],
    "ceil_mode": [False, True],
    "count_include_pad": [True, False],
    "in_channels": [1, 3, 4, 256, 10**9],
    "out_channels": [1, 2, 8, 10**9],
    "groups": [1, 2, 3, 4, 10**9],
}


def open_widgets() -> int:
    from ipywidgets.widgets.widget import _instances  # Widget.widgets, without its deprecation

    return len(_instances)


def rss_mb() -> float:
    import os

    gc.collect()
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def change_by_set(e: ConvExplorer, rng: random.Random) -> None:
    names = rng.sample(sorted(SETTINGS), rng.choice([1, 1, 1, 2, 3]))
    with contextlib.suppress(ValueError):  # a refused combination is an answer (a sentence)
        e.set(**{name: rng.choice(SETTINGS[name]) for name in names})


def controls(e: ConvExplorer) -> list[Any]:
    return [e.kind, e.padding_mode, e.ceil_mode, e.count_include_pad, e.in_channels, e.out_channels,
            e.groups, e.step, e.row, e.col, *(w for pair in e.pairs for w in (pair.h, pair.w))]


def hostile(widget: Any, rng: random.Random) -> tuple[str, Any]:
    """A message a browser could send that Python never would (see the explorer-state test)."""
    if hasattr(widget, "index") and hasattr(widget, "options"):
        return "index", None
    if isinstance(widget.value, bool):
        return "value", rng.choice([0, 1])
    return rng.choice(["min", "max", "value"]), rng.choice([0, -10, 10**6, widget.max + 1])


def change_by_widget(e: ConvExplorer, rng: random.Random) -> None:
    widget = rng.choice(controls(e))
    if rng.random() < 0.2:
        name, value = hostile(widget, rng)
        old = getattr(widget, name)
        with contextlib.suppress(traitlets.TraitError):  # ipywidgets' own validation may refuse it
            setattr(widget, name, value)
        with contextlib.suppress(traitlets.TraitError):
            setattr(widget, name, old)  # the next message is an ordinary one again
        return
    if hasattr(widget, "options"):
        widget.value = rng.choice([v if not isinstance(v, tuple) else v[1] for v in widget.options])
    elif isinstance(widget.value, bool):
        widget.value = not widget.value
    else:
        widget.value = rng.randint(widget.min, widget.max)


def session(e: ConvExplorer, rng: random.Random, n: int, slowest: list[tuple[float, str]]) -> None:
    for _ in range(n):
        change = change_by_set if rng.random() < 0.5 else change_by_widget
        before = repr(e.settings)
        start = time.perf_counter()
        change(e, rng)
        slowest.append((time.perf_counter() - start, f"{before} -> {e.settings}"))
        assert "Internal error" not in e.error_box.value, (e.settings, e.error_box.value)


def assert_plateau(marks: list[float], what: str) -> None:
    """marks: RSS at the start, the middle and the end of the measured part."""
    first, second = marks[1] - marks[0], marks[2] - marks[1]
    # a leak grows linearly (second ~ first, both well above the noise); a plateau does not grow
    # in the second half beyond the allocator's noise, whatever the first half filled
    assert second < NOISE_MB, f"{what}: RSS {marks} MB, +{first:.0f} then +{second:.0f}"


def test_5000_random_changes_keep_widgets_and_memory_flat() -> None:
    rng = random.Random(10)
    e = ConvExplorer(input_size=8)
    widgets = open_widgets()
    # A refused avg_pool padding makes torch import sympy once per process (~2 s on a loaded
    # machine): done here, out of the timed changes.
    e.set(kind="avg_pool", padding=10**4)
    session(e, rng, 500, [])  # warm-up: caches meant to stay fill (layers, fonts, frames)
    slowest: list[tuple[float, str]] = []
    marks = [rss_mb()]
    for _ in range(2):
        session(e, rng, 2250, slowest)
        assert open_widgets() == widgets  # a change creates no widget that outlives it
        marks.append(rss_mb())
    assert_plateau(marks, "5,000 changes")
    e.set(kind="conv", input_size=8, kernel_size=3, stride=1, padding=0, dilation=1, in_channels=1,
          out_channels=1, groups=1)
    assert e.output_size == (6, 6) and "Internal error" not in e.error_box.value
    slowest.sort()
    assert slowest[-len(slowest) // 100][0] < 0.3, slowest[-len(slowest) // 100:]  # 99 % within the goal
    assert slowest[-1][0] < 2.0, slowest[-1]  # all: generous, for a loaded shared machine
    e.close()


def open_close_cycles(make: Callable[[int], None], n: int) -> tuple[list[int], list[float]]:
    make(0)  # anything built once per process (fonts, torch layers, the first trace)
    widgets, marks = [open_widgets()], [rss_mb()]
    for half in range(2):
        for i in range(n // 2):
            make(half * n + i)
        widgets.append(open_widgets())
        marks.append(rss_mb())
    return widgets, marks


def test_500_open_close_cycles_release_every_widget() -> None:
    def explorer(i: int) -> None:
        e = ConvExplorer(input_size=9 + i % 7, kernel_size=1 + i % 5,
                         kind=("conv", "max_pool", "conv_transpose")[i % 3])
        e.stride.h.value = 2
        e.close()

    widgets, marks = open_close_cycles(explorer, 250)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                          nn.Flatten(), nn.Linear(16 * 14 * 14, 10))
    m = ModelExplorer(model, (1, 3, 32, 32))

    def switch(i: int) -> None:
        m.open_layer((0, 2, 3)[i % 3])  # a conv, a pool, a conv: a new ConvExplorer each time
        m.layer.value = None

    m_widgets, m_marks = open_close_cycles(switch, 250)
    m.close()
    assert widgets[0] == widgets[1] == widgets[2], widgets  # exactly: close() released everything
    assert m_widgets[0] == m_widgets[1] == m_widgets[2], m_widgets
    assert_plateau(marks, "250 ConvExplorer open/close cycles")
    assert_plateau(m_marks, "250 ModelExplorer layer switches")
