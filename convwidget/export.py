"""Export the sliding-window animation: a GIF, or a self-contained HTML/JS player.

Frames are drawn by :class:`~convwidget.drawing.WindowFigure` itself (a step blits only the
moving artists) and encoded with Pillow, which Matplotlib already depends on: many times
faster than ``FuncAnimation.save`` (which redraws every frame in full, twice).

Nothing is dropped silently. A pass with more output cells than ``max_frames`` (or, for HTML,
more bytes than ``max_bytes``) is subsampled evenly, first and last step kept, and the result's
``note`` says so (the HTML player shows the note under the picture).

>>> import os, tempfile
>>> from convwidget.geometry import layer_geometry
>>> g = layer_geometry("conv", (5, 5), kernel_size=3, stride=2, padding=1)
>>> path = os.path.join(tempfile.mkdtemp(), "conv.gif")
>>> result = to_gif(g, path, fps=2)
>>> result.frames, result.note is None
((0, 1, 2, 3, 4, 5, 6, 7, 8), True)
>>> player = to_html(g, max_frames=4)
>>> player.frames, "<img" in player.html
((0, 3, 5, 8), True)
>>> player.note
'this pass has 9 steps; the player shows 4 of them, evenly spaced (max_frames=4)'
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import itertools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from .drawing import WindowFigure
from .geometry import Geometry, Window

__all__ = ["ExportResult", "frame_steps", "text_progress", "to_gif", "to_html"]

Progress = Union[Callable[[int, int], Any], bool, None]
Source = Union[Geometry, WindowFigure]

_player_ids = itertools.count()


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Attributes
    ----------
    path
        The file written, or None (``to_html`` without a path).
    frames
        The steps (output cells, row-major) shown, in order.
    n_steps
        Steps in the full pass.
    note
        Why frames were left out, or None when every step is shown.
    nbytes
        Size of the GIF file, or of the HTML text.
    html
        The player (``to_html`` only); also shown when the result is displayed in a notebook.
    dropped
        How many windows PyTorch drops were appended as extra frames.
    """

    path: str | None
    frames: tuple[int, ...]
    n_steps: int
    note: str | None
    nbytes: int
    html: str | None = None
    dropped: int = 0

    def _repr_html_(self) -> str:
        if self.html is not None:
            return self.html
        note = f"<br>{html_lib.escape(self.note)}" if self.note else ""
        return f"<p>wrote {html_lib.escape(str(self.path))}: {len(self.frames)} frames{note}</p>"


def frame_steps(n_steps: int, max_frames: int) -> tuple[int, ...]:
    """The steps to show, at most ``max_frames``, evenly spaced, first and last kept.

    >>> frame_steps(5, 10)
    (0, 1, 2, 3, 4)
    >>> frame_steps(10, 4)
    (0, 3, 6, 9)
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got max_frames={max_frames}")
    if n_steps <= max_frames:
        return tuple(range(n_steps))
    if max_frames == 1:
        steps: tuple[int, ...] = (0,)
    else:
        steps = tuple(round(i * (n_steps - 1) / (max_frames - 1)) for i in range(max_frames))
    return steps


def text_progress(i: int, n: int) -> None:
    """A plain-text progress line on stderr (pass ``progress=True`` to use it)."""
    end = "\n" if i >= n else ""
    print(f"\rrendering frame {i}/{n}", end=end, file=sys.stderr, flush=True)


def _progress(progress: Progress) -> Callable[[int, int], Any] | None:
    if progress is True:
        return text_progress
    if progress is False or progress is None:
        return None
    if not callable(progress):
        raise TypeError(f"progress must be a callable(i, n), True or None, got {progress!r}")
    return progress


@contextmanager
def _figure(source: Source, figsize: tuple[float, float], dpi: float) -> Iterator[WindowFigure]:
    """A WindowFigure for ``source``; a caller's figure gets its step back afterwards."""
    if isinstance(source, WindowFigure):
        if source.geometry is None or source.error is not None:
            raise ValueError("the figure shows no layer (no geometry, or an error): nothing to animate")
        step, window = source.step, source.window
        try:
            yield source
        finally:
            if window is not None and window.step is None:
                source.show_window(window)
            else:
                source.show_step(step)
        return
    if not isinstance(source, Geometry):
        raise TypeError(f"source must be a Geometry or a WindowFigure, got {type(source).__name__}")
    fig = WindowFigure(source, figsize=figsize, dpi=dpi)
    try:
        yield fig
    finally:
        fig.close()


def _frames(fig: WindowFigure, steps: Sequence[int], dropped: Sequence[Window]) -> Iterator[Any]:
    """Show each step (then each dropped window) and yield the rendered RGBA buffer."""
    for step in steps:
        fig.show_step(step)
        yield fig.render()
    for window in dropped:
        fig.show_window(window)
        yield fig.render()


def _rgb_image(buf: Any) -> Any:
    from PIL import Image

    h, w = buf.shape[:2]
    return Image.frombuffer("RGBA", (w, h), buf, "raw", "RGBA", 0, 1).convert("RGB")


def _palette_image(fig: WindowFigure, steps: Sequence[int], dropped: Sequence[Window]) -> Any:
    """One palette for all frames, from a few sample frames (first, middle, last, dropped)."""
    from PIL import Image

    picks = sorted({steps[0], steps[len(steps) // 2], steps[-1]})
    samples = [_rgb_image(b) for b in _frames(fig, picks, dropped[:1])]
    w, h = samples[0].size
    sheet = Image.new("RGB", (w, h * len(samples)))
    for i, im in enumerate(samples):
        sheet.paste(im, (0, i * h))
    return sheet.quantize(colors=255, method=Image.Quantize.FASTOCTREE)


def _plan(fig: WindowFigure, max_frames: int, include_dropped: bool) -> tuple[tuple[int, ...], str | None, tuple[Window, ...]]:
    g = fig.geometry
    assert g is not None
    steps = frame_steps(g.n_steps, max_frames)
    note = None
    if len(steps) < g.n_steps:
        note = (f"this pass has {g.n_steps} steps; the {{what}} shows {len(steps)} of them, "
                f"evenly spaced (max_frames={max_frames})")
    dropped = g.dropped_windows() if include_dropped else ()
    if g.ndim == 2 and len(dropped) > 2:
        # the first dropped window along each edge is enough to show the rule
        dropped = tuple(w for w in dropped if min(w.out_cell) == 0)[:2]
    return steps, note, dropped


def to_gif(
    source: Source,
    path: str | Path,
    *,
    fps: float = 4.0,
    max_frames: int = 300,
    include_dropped: bool = True,
    progress: Progress = None,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: float = 100.0,
) -> ExportResult:
    """Write the sliding-window animation to a GIF.

    Parameters
    ----------
    source
        A :class:`~convwidget.geometry.Geometry`, or a :class:`~convwidget.drawing.WindowFigure`
        (its current step is restored afterwards).
    path
        The file to write.
    fps
        Frames per second.
    max_frames
        At most this many steps are drawn, evenly spaced; the result's ``note`` says so.
    include_dropped
        Append frames for the windows a ``ceil_mode`` pool drops (at most one per edge).
    progress
        ``callable(i, n)`` called after each frame (e.g. to move an ``ipywidgets.IntProgress``),
        or True for a text line on stderr.
    figsize, dpi
        Picture size when ``source`` is a Geometry.

    >>> import os, tempfile
    >>> from convwidget.geometry import layer_geometry
    >>> g = layer_geometry("max_pool", (5, 5), kernel_size=2, padding=1, ceil_mode=True)
    >>> r = to_gif(g, os.path.join(tempfile.mkdtemp(), "pool.gif"), max_frames=3)
    >>> r.frames, r.dropped
    ((0, 4, 8), 2)
    >>> r.note
    'this pass has 9 steps; the GIF shows 3 of them, evenly spaced (max_frames=3)'
    """
    from PIL import Image

    report = _progress(progress)
    with _figure(source, figsize, dpi) as fig:
        steps, note, dropped = _plan(fig, max_frames, include_dropped)
        if note:
            note = note.format(what="GIF")
        n = len(steps) + len(dropped)
        palette = _palette_image(fig, steps, dropped)
        images = []
        for i, buf in enumerate(_frames(fig, steps, dropped), 1):
            images.append(_rgb_image(buf).quantize(palette=palette, dither=Image.Dither.NONE))
            if report is not None:
                report(i, n)
        duration = max(20, round(1000 / fps))
        path = str(path)
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)
    return ExportResult(path, steps, fig.geometry.n_steps if fig.geometry else 0, note,
                        Path(path).stat().st_size, dropped=len(dropped))


_PLAYER = """<div class="convwidget-player" id="{id}" style="font-family:sans-serif;max-width:{width}px">
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


def to_html(
    source: Source,
    path: str | Path | None = None,
    *,
    fps: float = 4.0,
    max_frames: int = 300,
    max_bytes: int = 10_000_000,
    include_dropped: bool = True,
    progress: Progress = None,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: float = 100.0,
) -> ExportResult:
    """A self-contained HTML/JS player (palette PNG frames, play button and slider).

    For static notebooks and slides: no server, no external files. The player holds at most
    ``max_frames`` frames and about ``max_bytes`` of HTML; a longer pass is subsampled evenly
    and the player says so under the picture (Matplotlib's ``to_jshtml`` instead stops at
    its embed limit with only a log warning).

    Parameters are as for :func:`to_gif`, plus ``path`` (optional: the HTML file to write) and
    ``max_bytes``. Displaying the result in a notebook shows the player.

    >>> from convwidget.geometry import layer_geometry
    >>> g = layer_geometry("conv_transpose", (2, 2), kernel_size=3, stride=2)
    >>> r = to_html(g)
    >>> len(r.frames), r.note, r.html.count("<button")
    (25, None, 4)
    """
    from PIL import Image

    report = _progress(progress)
    with _figure(source, figsize, dpi) as fig:
        steps, note, dropped = _plan(fig, max_frames, include_dropped)
        g = fig.geometry
        assert g is not None
        # palette PNGs (one palette for the pass): half the size of RGBA ones, and faster
        palette = _palette_image(fig, steps, dropped)
        encoded: dict[int, str] = {}

        def frame_png() -> str:
            image = _rgb_image(fig.render()).quantize(palette=palette, dither=Image.Dither.NONE)
            out = io.BytesIO()
            image.save(out, format="png", compress_level=6)
            return base64.b64encode(out.getvalue()).decode("ascii")

        def encode(step: int) -> str:
            if step not in encoded:
                fig.show_step(step)
                encoded[step] = frame_png()
            return encoded[step]

        extra = []
        for window in dropped:
            fig.show_window(window)
            extra.append(frame_png())
        player_id = f"convwidget-player-{next(_player_ids)}"
        width = int(fig.figure.bbox.width)
        # Size the player from the first frame, then build it and check its real size: when
        # too big, fewer frames, still evenly spaced (never a cut-off tail).
        per_frame = len(encode(steps[0])) + 40
        budget = max(1, (max_bytes - 2 * per_frame - 4000 - sum(len(f) for f in extra)) // per_frame)
        capped = len(steps) > budget
        if capped:
            steps = frame_steps(g.n_steps, budget)
        while True:
            n = len(steps) + len(dropped)
            for i, step in enumerate(steps, 1):
                encode(step)
                if report is not None:
                    report(i, n)
            if capped:
                note = (f"this pass has {g.n_steps} steps; the player shows {len(steps)} of them, "
                        f"evenly spaced, to stay under max_bytes={max_bytes}")
            elif note:
                note = note.format(what="player")
            text = _player_html(player_id, width, [encoded[s] for s in steps] + extra,
                                [f"step {s + 1} / {g.n_steps}" for s in steps]
                                + ["dropped by PyTorch"] * len(extra), note, fps)
            size = len(text.encode("utf-8"))
            if size <= max_bytes or len(steps) == 1:
                break
            steps = frame_steps(g.n_steps, min(len(steps) - 1, int(len(steps) * max_bytes / size)))
            capped = True
        if report is not None:
            for j in range(len(steps) + 1, n + 1):
                report(j, n)
    out_path = None
    if path is not None:
        out_path = str(path)
        Path(out_path).write_text(f"<!DOCTYPE html>\n<meta charset=\"utf-8\">\n{text}\n", encoding="utf-8")
    return ExportResult(out_path, steps, g.n_steps, note, size, text, len(dropped))


def _player_html(player_id: str, width: int, frames: list[str], labels: list[str],
                 note: str | None, fps: float) -> str:
    note_html = (f'<p class="convwidget-player-note" style="color:#a04000;margin:4px 0">'
                 f"{html_lib.escape(note)}</p>\n" if note else "")
    return _PLAYER.format(
        id=player_id,
        width=width,
        first="data:image/png;base64," + frames[0],
        last=len(frames) - 1,
        note=note_html,
        frames=json.dumps(frames),
        labels=json.dumps(labels),
        interval=max(20, round(1000 / fps)),
    )
