"""ConvExplorer(live=True): the frames its ipympl canvas sends rebuild, in the page, the picture
the PNG path draws; each diff image says what Matplotlib's own diff image says; a frame goes
out unasked, right after the output size and before the other panels' texts.

The checks run in a subprocess: importing ipympl switches Matplotlib's backend for the whole
process. The page is played by hand: its three first messages (``refresh``, ``send_image_mode``,
``initialized``), then each frame decoded by Pillow and laid over the last as the page lays
it (a ``full`` frame replaces the picture; a ``diff`` frame's transparent pixels keep it).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

LIVE_CANVAS_CHECK = r'''
import asyncio, io, json, random
import numpy as np
import matplotlib
matplotlib.use("module://ipympl.backend_nbagg")  # what `%matplotlib widget` does
from matplotlib.backends.backend_webagg_core import FigureCanvasWebAggCore
from PIL import Image
from convwidget import ConvExplorer
from convwidget.drawing import WindowFigure


def decode(png):
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"))


class Page:
    """What ipympl's frontend keeps: the picture, rebuilt from the frames it receives."""

    def __init__(self, canvas):
        self.canvas, self.picture, self.last, self.events, self.frames = canvas, None, None, [], 0
        self.order = []  # the frames and the panels' messages, as sent
        canvas.send = self.receive

    def receive(self, content, buffers=None):
        message = json.loads(content["data"])
        if message["type"] != "binary":
            self.events.append(message["type"])
            return
        c = self.canvas
        mine, full = decode(buffers[0]), c._image_mode == "full"
        if self.last is not None:  # the oracle: Matplotlib's own diff of the same two buffers
            now = c._last_buff
            assert np.array_equal(mine, matplotlib_diff(c, self.last, full)), "not Matplotlib's frame"
            c._last_buff, c._png_is_old, c._force_full = now, False, False
        self.last = c._last_buff.copy()
        self.frames += 1
        self.order.append("frame")
        if full or self.picture is None:
            self.picture = mine.copy()
        else:
            shown = mine[..., 3] > 0
            self.picture[shown] = mine[shown]

    def say(self, kind):
        self.canvas._handle_message(self.canvas, {"type": kind}, [])


def reference(fig):
    """The PNG path's picture of what the live figure shows."""
    ref = WindowFigure()
    if fig.error is not None:
        ref.show_error(fig.error)
    else:
        ref.set_geometry(fig.geometry, step=fig.step, output_labels=fig.output_labels)
    return ref.to_rgba()


def matplotlib_diff(c, last, full):
    """Matplotlib's frame of the canvas's buffer after ``last`` (``full``: a whole picture)."""
    c._last_buff, c._png_is_old, c._force_full = last, True, full
    return decode(FigureCanvasWebAggCore.get_diff_image(c))


async def main():
    e = ConvExplorer(live=True, input_size=7, kernel_size=3)
    c = e.live_canvas
    page = Page(c)
    # before the page says "initialized", ipympl's own path: a "draw" event, no frame
    e.kernel.h.value = 2
    assert page.frames == 0 and "draw" in page.events, page.events
    for kind in ("refresh", "send_image_mode", "initialized"):
        page.say(kind)
    page.say("draw")  # the page answers the "draw" events it was sent
    assert page.frames >= 1
    # the frame goes out right after the output size, before the other panels' texts
    for name in ("output_label", "torch_panel", "formula"):
        widget = getattr(e, name)
        send = widget.send_state
        widget.send_state = lambda key=None, name=name, send=send: (page.order.append(name), send(key))
    rng = random.Random(11)
    checked = refused = ordered = 0
    for _ in range(60):
        page.events.clear()
        page.order.clear()
        frames, last = page.frames, c._last_buff.copy()
        slider = rng.choice([e.kernel.h, e.stride.h, e.padding.h, e.dilation.h, e.step])
        if slider.disabled:
            continue
        value = rng.randint(slider.min, min(slider.max, 6))
        if value == slider.value:
            continue
        slider.value = value
        await asyncio.sleep(0)
        assert "draw" not in page.events, f"a frame waited for the page to ask: {page.events}"
        # one frame a change (none when the figure did not change: the same refusal sentence)
        assert page.frames - frames <= 1, (slider.description, value, page.frames - frames)
        want = reference(e.figure)
        bad = np.argwhere((page.picture != want).any(axis=-1))
        assert not len(bad), f"{len(bad)} pixels differ from the PNG path, first at {bad[:3].tolist()}"
        if "frame" in page.order and "torch_panel" in page.order:
            assert page.order.index("output_label") < page.order.index("frame") < \
                page.order.index("torch_panel"), page.order
            ordered += 1
        checked += 1
        refused += e.figure.error is not None
    assert checked >= 30 and refused >= 1 and ordered >= 10, (checked, refused, ordered)
    e.close()
    frames = page.frames
    e.figure.figure.canvas.draw_idle()
    await asyncio.sleep(0)
    assert page.frames == frames, "a closed explorer sent a frame"
    print("live canvas ok", checked, refused)


asyncio.run(main())
'''


def test_live_canvas_frames_rebuild_the_png_paths_picture() -> None:
    if importlib.util.find_spec("ipympl") is None:  # not importorskip: importing it switches backends
        pytest.skip("ipympl is not installed")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", LIVE_CANVAS_CHECK], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "live canvas ok" in done.stdout
