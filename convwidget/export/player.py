"""The self-contained HTML/JS player: palette PNG frames, a play button and a slider.

See :func:`convwidget.export.to_html`.
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import itertools
import json
from typing import Any

from ..drawing import WindowFigure
from ..geometry import Geometry, Window
from .checks import Options
from .frames import Plan, frame_steps, rgb_image

__all__ = ["PngFrames", "fit_player", "player_ids"]

player_ids = itertools.count()


PLAYER = """<div class="convwidget-player" id="{id}" style="font-family:sans-serif;max-width:{width}px">
<img alt="sliding window, frame by frame" style="width:100%;image-rendering:auto" src="{first}">
<div style="display:flex;gap:6px;align-items:center;margin-top:4px">
<button type="button" data-act="first" title="first frame" aria-label="first frame">|&#x25C0;&#x25C0;</button>
<button type="button" data-act="prev" title="previous frame" aria-label="previous frame">&#x25C0;|</button>
<button type="button" data-act="play" title="play / pause" aria-label="play or pause">&#x25B6;</button>
<button type="button" data-act="next" title="next frame" aria-label="next frame">|&#x25B6;</button>
<input type="range" min="0" max="{last}" value="0" step="1" style="flex:1" aria-label="frame">
<span class="convwidget-player-label" style="min-width:9em"></span>
</div>
{note}<script>
(function() {{
  var root = document.getElementById("{id}");
  var frames = {frames};
  var labels = {labels};
  var img = root.querySelector("img"), slider = root.querySelector("input"),
      label = root.querySelector(".convwidget-player-label"),
      play = root.querySelector('[data-act="play"]');
  var i = 0, timer = null;
  function show(k) {{
    i = (k + frames.length) % frames.length;
    img.src = "data:image/png;base64," + frames[i];
    slider.value = i; label.textContent = labels[i];
  }}
  function stop() {{ if (timer) {{ clearInterval(timer); timer = null; play.innerHTML = "&#x25B6;"; }} }}
  root.querySelector('[data-act="first"]').onclick = function() {{ stop(); show(0); }};
  root.querySelector('[data-act="prev"]').onclick = function() {{ stop(); show(i - 1); }};
  root.querySelector('[data-act="next"]').onclick = function() {{ stop(); show(i + 1); }};
  play.onclick = function() {{
    if (timer) {{ stop(); return; }}
    play.innerHTML = "||";
    timer = setInterval(function() {{ show(i + 1); }}, {interval});
  }};
  slider.oninput = function() {{ stop(); show(parseInt(slider.value, 10)); }};
  show(0);
}})();
</script></div>"""


class PngFrames:
    """Palette PNG frames (base64) of a figure, one palette for the pass: half the size of
    RGBA ones, and faster; each step is encoded once."""

    def __init__(self, fig: WindowFigure, palette: Any) -> None:
        self.fig, self.palette = fig, palette
        self.encoded: dict[int, str] = {}

    def _png(self) -> str:
        from PIL import Image

        image = rgb_image(self.fig.render()).quantize(palette=self.palette, dither=Image.Dither.NONE)
        out = io.BytesIO()
        image.save(out, format="png", compress_level=6)
        return base64.b64encode(out.getvalue()).decode("ascii")

    def step(self, step: int) -> str:
        if step not in self.encoded:
            self.fig.show_step(step)
            self.encoded[step] = self._png()
        return self.encoded[step]

    def window(self, window: Window) -> str:
        self.fig.show_window(window)
        return self._png()


def fit_player(g: Geometry, plan: Plan, frames: PngFrames, extra: list[str], max_bytes: int,
                options: Options, player_id: str, width: int) -> tuple[str, tuple[int, ...], str | None]:
    """The player's HTML with as many of the plan's steps as fit in ``max_bytes``.

    Sized from the first frame, then built and its real size checked: when too big, fewer
    frames, still evenly spaced (never a cut-off tail)."""
    report = options.report
    steps = plan.steps
    per_frame = len(frames.step(steps[0])) + 40
    room = max(1, (max_bytes - 2 * per_frame - 4000 - sum(len(f) for f in extra)) // per_frame)
    capped = len(steps) > room
    if capped:
        steps = frame_steps(g.n_steps, room)
    n = len(steps) + len(extra)
    while True:
        n = len(steps) + len(extra)
        for i, step in enumerate(steps, 1):
            frames.step(step)
            if report is not None:
                report(i, n)
        note = plan.note("player", (f"this pass has {g.n_steps} steps; the player shows {len(steps)} "
                                    f"of them, evenly spaced, to stay under max_bytes={max_bytes}")
                         if capped else None)
        labels = [f"step {s + 1} / {g.n_steps}" for s in steps] + ["dropped by PyTorch"] * len(extra)
        text = player_html(player_id, width, [frames.step(s) for s in steps] + extra, labels, note,
                            options.fps)
        size = len(text.encode("utf-8"))
        if size <= max_bytes or len(steps) == 1:
            break
        steps = frame_steps(g.n_steps, min(len(steps) - 1, int(len(steps) * max_bytes / size)))
        capped = True
    if report is not None:
        for j in range(len(steps) + 1, n + 1):
            report(j, n)
    return text, steps, note


def player_html(player_id: str, width: int, frames: list[str], labels: list[str],
                 note: str | None, fps: float) -> str:
    note_html = (f'<p class="convwidget-player-note" style="color:#a04000;margin:4px 0">'
                 f"{html_lib.escape(note)}</p>\n" if note else "")
    return PLAYER.format(
        id=player_id,
        width=width,
        first="data:image/png;base64," + frames[0],
        last=len(frames) - 1,
        note=note_html,
        frames=json.dumps(frames),
        labels=json.dumps(labels),
        interval=max(20, round(1000 / fps)),
    )
