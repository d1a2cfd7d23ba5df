"""Export the sliding-window animation: a GIF, or a self-contained HTML/JS player.

Frames are drawn by :class:`~convwidget.drawing.WindowFigure` itself (a step blits only the
moving artists) and encoded with Pillow, which Matplotlib already depends on: many times
faster than ``FuncAnimation.save`` (which redraws every frame in full, twice).

Nothing is dropped silently. A pass with more output cells than ``max_frames`` (or, for HTML,
more bytes than ``max_bytes``) is subsampled evenly, first and last step kept, and the result's
``note`` says so (the HTML player shows the note under the picture).

Every export is bounded before a frame is drawn: the options are checked first (a sentence for
each bad one), at most :data:`MAX_TAPS` kernel taps are drawn over the whole export (a 64×64
kernel draws 4,096 squares a frame, so it gets fewer frames) and a frame has at most
:data:`MAX_PIXELS` pixels (a bigger ``figsize``·``dpi`` is drawn at a lower dpi); the note says
what was capped. Files are written to a temporary name in the same folder and renamed into
place, so a failed export leaves no partial file behind.

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
import math
import operator
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .arithmetic import check_bool
from .drawing import WindowFigure
from .geometry import Geometry, Window

__all__ = ["MAX_PIXELS", "MAX_TAPS", "ExportResult", "frame_steps", "text_progress", "to_gif", "to_html"]

Progress = Callable[[int, int], Any] | bool | None
Source = Geometry | WindowFigure

#: Kernel taps drawn over a whole export (frames × taps per window): about 5 s of drawing.
MAX_TAPS = 100_000
#: Pixels in one frame (``figsize`` × ``dpi``²): 2,000 × 2,000.
MAX_PIXELS = 4_000_000
_FPS = (0.01, 50.0)  # GIF frames last 20 ms to 100 s; browsers slow shorter ones down
_DPI = (20.0, 600.0)
_MIN_SIDE_PX = 100

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


def _number(name: str, value: Any, low: float, high: float, example: str) -> float:
    """A real number in [low, high], or a sentence naming the parameter, value and range."""
    if isinstance(value, (bool, str)) or not hasattr(value, "__float__"):
        raise TypeError(
            f"{name} must be a number, got {value!r} ({type(value).__name__}); use e.g. {example}"
        )
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name}={value!r} is outside {low:g} to {high:g}; use e.g. {example}")
    return number


@dataclass(frozen=True)
class _Options:
    """Checked export options (before anything is drawn or written)."""

    fps: float
    max_frames: int
    include_dropped: bool
    figsize: tuple[float, float]
    dpi: float
    report: Callable[[int, int], Any] | None


def _options(fps: Any, max_frames: Any, include_dropped: Any, progress: Progress, figsize: Any,
             dpi: Any) -> _Options:
    rate = _number("fps", fps, *_FPS, "fps=4 (frames per second)")
    resolution = _number("dpi", dpi, *_DPI, "dpi=100")
    if isinstance(max_frames, bool) or not hasattr(max_frames, "__index__"):
        raise TypeError(f"max_frames must be a whole number, got {max_frames!r}; use e.g. max_frames=300")
    frames = operator.index(max_frames)
    if frames < 1:
        raise ValueError(f"max_frames must be at least 1, got max_frames={frames}")
    try:
        width, height = figsize
    except (TypeError, ValueError):
        raise TypeError(
            f"figsize must be (width, height) in inches, got {figsize!r}; use e.g. figsize=(8, 4)"
        ) from None
    size = (_number("figsize width", width, 0.01, 1000.0, "figsize=(8, 4)"),
            _number("figsize height", height, 0.01, 1000.0, "figsize=(8, 4)"))
    if min(size) * resolution < _MIN_SIDE_PX:
        raise ValueError(
            f"figsize={figsize!r} at dpi={dpi!r} is {size[0] * resolution:.0f} × {size[1] * resolution:.0f} "
            f"pixels; a frame needs at least {_MIN_SIDE_PX} pixels a side to show the grids: use e.g. "
            "figsize=(8, 4) with dpi=100"
        )
    dropped = check_bool("include_dropped", include_dropped)
    return _Options(rate, frames, dropped, size, resolution, _progress(progress))


def _capped_dpi(options: _Options) -> tuple[float, str | None]:
    """The dpi to draw at, lowered to keep a frame under MAX_PIXELS, and the note saying so."""
    width, height = options.figsize
    pixels = width * height * options.dpi ** 2
    if pixels <= MAX_PIXELS:
        return options.dpi, None
    dpi = math.floor(math.sqrt(MAX_PIXELS / (width * height)))
    note = (f"drawn at dpi={dpi} instead of {options.dpi:g}: figsize={options.figsize} at that dpi "
            f"would be {pixels:,.0f} pixels a frame (the limit is MAX_PIXELS={MAX_PIXELS:,})")
    return float(dpi), note


def _target(path: str | os.PathLike[str], suffixes: tuple[str, ...], what: str) -> Path:
    """The file to write, checked before anything is drawn."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name, got {path!r} ({type(path).__name__})")
    target = Path(path)
    if target.is_dir():
        example = str(target / ("animation" + suffixes[0]))
        raise ValueError(f"path={str(path)!r} is a folder; give a file name such as {example!r}")
    if target.suffix.lower() not in suffixes:
        raise ValueError(
            f"{what} writes {' or '.join(suffixes)} files, but path={str(path)!r} ends in "
            f"{target.suffix or 'no extension'!r}; use a name ending in {suffixes[0]}"
        )
    if not target.parent.is_dir():
        raise ValueError(
            f"the folder {str(target.parent)!r} does not exist; create it first or choose another path"
        )
    return target


def _write_atomically(target: Path, write: Callable[[IO[bytes]], Any]) -> int:
    """Write through ``write(file)`` into a temporary file beside ``target``, then rename it
    into place: a failure (a full disk, an error while encoding) leaves nothing behind.
    Returns the size written."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:  # "x": a new file, created with the usual permissions
            write(file)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target.stat().st_size


@contextmanager
def _figure(source: Source, figsize: tuple[float, float], dpi: float) -> Iterator[WindowFigure]:
    """A WindowFigure for ``source``; a caller's figure gets its step back afterwards."""
    if isinstance(source, WindowFigure):
        step, window = source.step, source.window
        try:
            yield source
        finally:
            if window is not None and window.step is None:
                source.show_window(window)
            else:
                source.show_step(step)
        return
    fig = WindowFigure(source, figsize=figsize, dpi=dpi)
    try:
        yield fig
    finally:
        fig.close()


def _check_source(source: Any) -> Geometry:
    if isinstance(source, WindowFigure):
        if source.geometry is None or source.error is not None:
            raise ValueError("the figure shows no layer (no geometry, or an error): nothing to animate")
        return source.geometry
    if not isinstance(source, Geometry):
        raise TypeError(f"source must be a Geometry or a WindowFigure, got {type(source).__name__}")
    return source


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


@dataclass(frozen=True)
class _Plan:
    """Which frames to draw, and the notes saying what was left out or capped."""

    steps: tuple[int, ...]
    dropped: tuple[Window, ...]
    frames_note: str | None  # with a "{what}" for the GIF or the player
    dpi_note: str | None

    def note(self, what: str, frames_note: str | None = None) -> str | None:
        """The notes, joined; ``frames_note`` replaces the plan's own (a player cut to size)."""
        first = frames_note or (self.frames_note.format(what=what) if self.frames_note else None)
        return "; ".join(n for n in (first, self.dpi_note) if n) or None


def _plan(g: Geometry, options: _Options, dpi_note: str | None) -> _Plan:
    dropped = g.dropped_windows() if options.include_dropped else ()
    if g.ndim == 2 and len(dropped) > 2:
        # the first dropped window along each edge is enough to show the rule
        dropped = tuple(w for w in dropped if min(w.out_cell) == 0)[:2]
    taps = math.prod(g.kernel_size)
    by_taps = max(1, MAX_TAPS // taps - len(dropped))
    max_frames = min(options.max_frames, by_taps)
    steps = frame_steps(g.n_steps, max_frames)
    frames_note = None
    if len(steps) < g.n_steps:
        why = (f"max_frames={options.max_frames}" if max_frames == options.max_frames else
               f"each window draws {taps:,} kernel taps and an export draws at most "
               f"MAX_TAPS={MAX_TAPS:,}")
        frames_note = (f"this pass has {g.n_steps} steps; the {{what}} shows {len(steps)} of them, "
                       f"evenly spaced ({why})")
    return _Plan(steps, dropped, frames_note, dpi_note)


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
        The file to write; its name must end in ``.gif``. It appears complete or not at all.
    fps
        Frames per second (0.01 to 50).
    max_frames
        At most this many steps are drawn, evenly spaced; the result's ``note`` says so.
        Fewer for big kernels: at most :data:`MAX_TAPS` kernel taps are drawn in all.
    include_dropped
        Append frames for the windows a ``ceil_mode`` pool drops (at most one per edge).
    progress
        ``callable(i, n)`` called after each frame (e.g. to move an ``ipywidgets.IntProgress``),
        or True for a text line on stderr.
    figsize, dpi
        Picture size when ``source`` is a Geometry (at most :data:`MAX_PIXELS` pixels a frame:
        beyond, the dpi is lowered and the note says so).

    Raises
    ------
    ValueError, TypeError
        For a bad option or path, before anything is drawn.

    >>> import os, tempfile
    >>> from convwidget.geometry import layer_geometry
    >>> g = layer_geometry("max_pool", (5, 5), kernel_size=2, padding=1, ceil_mode=True)
    >>> r = to_gif(g, os.path.join(tempfile.mkdtemp(), "pool.gif"), max_frames=3)
    >>> r.frames, r.dropped
    ((0, 4, 8), 2)
    >>> r.note
    'this pass has 9 steps; the GIF shows 3 of them, evenly spaced (max_frames=3)'
    >>> to_gif(g, "pool.png")
    Traceback (most recent call last):
    ...
    ValueError: to_gif writes .gif files, but path='pool.png' ends in '.png'; use a name ending in .gif
    """
    options = _options(fps, max_frames, include_dropped, progress, figsize, dpi)
    g = _check_source(source)
    target = _target(path, (".gif",), "to_gif")
    dpi_used, dpi_note = _capped_dpi(options)
    plan = _plan(g, options, None if isinstance(source, WindowFigure) else dpi_note)
    with _figure(source, options.figsize, dpi_used) as fig:
        images = _gif_frames(fig, plan, options.report)
        duration = max(20, round(1000 / options.fps))

        def write(file: IO[bytes]) -> None:
            images[0].save(file, format="GIF", save_all=True, append_images=images[1:],
                           duration=duration, loop=0)

        size = _write_atomically(target, write)
    return ExportResult(str(path), plan.steps, g.n_steps, plan.note("GIF"), size, dropped=len(plan.dropped))


def _gif_frames(fig: WindowFigure, plan: _Plan, report: Callable[[int, int], Any] | None) -> list[Any]:
    """Every frame of the plan as a palette image (one palette for the whole pass)."""
    from PIL import Image

    n = len(plan.steps) + len(plan.dropped)
    palette = _palette_image(fig, plan.steps, plan.dropped)
    images = []
    for i, buf in enumerate(_frames(fig, plan.steps, plan.dropped), 1):
        images.append(_rgb_image(buf).quantize(palette=palette, dither=Image.Dither.NONE))
        if report is not None:
            report(i, n)
    return images


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

    Parameters are as for :func:`to_gif`, plus ``path`` (optional: the HTML file to write,
    ending in ``.html`` or ``.htm``) and ``max_bytes``. Displaying the result in a notebook
    shows the player.

    >>> from convwidget.geometry import layer_geometry
    >>> g = layer_geometry("conv_transpose", (2, 2), kernel_size=3, stride=2)
    >>> r = to_html(g)
    >>> len(r.frames), r.note, r.html.count("<button")
    (25, None, 4)
    """
    options = _options(fps, max_frames, include_dropped, progress, figsize, dpi)
    budget = _number("max_bytes", max_bytes, 20_000, 2e9, "max_bytes=10_000_000")
    g = _check_source(source)
    target = None if path is None else _target(path, (".html", ".htm"), "to_html")
    dpi_used, dpi_note = _capped_dpi(options)
    plan = _plan(g, options, None if isinstance(source, WindowFigure) else dpi_note)
    with _figure(source, options.figsize, dpi_used) as fig:
        frames = _PngFrames(fig, _palette_image(fig, plan.steps, plan.dropped))
        extra = [frames.window(w) for w in plan.dropped]
        player_id = f"convwidget-player-{next(_player_ids)}"
        text, steps, note = _fit_player(g, plan, frames, extra, int(budget), options,
                                        player_id, int(fig.figure.bbox.width))
    size = len(text.encode("utf-8"))
    if target is not None:
        page = f"<!DOCTYPE html>\n<meta charset=\"utf-8\">\n{text}\n".encode()
        _write_atomically(target, lambda file: file.write(page))
    return ExportResult(None if path is None else str(path), steps, g.n_steps, note, size, text,
                        len(plan.dropped))


class _PngFrames:
    """Palette PNG frames (base64) of a figure, one palette for the pass: half the size of
    RGBA ones, and faster; each step is encoded once."""

    def __init__(self, fig: WindowFigure, palette: Any) -> None:
        self.fig, self.palette = fig, palette
        self.encoded: dict[int, str] = {}

    def _png(self) -> str:
        from PIL import Image

        image = _rgb_image(self.fig.render()).quantize(palette=self.palette, dither=Image.Dither.NONE)
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


def _fit_player(g: Geometry, plan: _Plan, frames: _PngFrames, extra: list[str], max_bytes: int,
                options: _Options, player_id: str, width: int) -> tuple[str, tuple[int, ...], str | None]:
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
        text = _player_html(player_id, width, [frames.step(s) for s in steps] + extra, labels, note,
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
