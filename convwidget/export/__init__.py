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

Without a ``path`` nothing is written anywhere: the result carries the file's bytes
(``result.data``, with ``result.mime`` and a suggested ``result.filename``), e.g. for a
browser download from a Voila app. Exports draw the light theme (a file outlives the notebook's
theme) unless ``theme="dark"`` is given.

Rooms: :mod:`~convwidget.export.checks` (options, paths, atomic writes),
:mod:`~convwidget.export.frames` (which steps, rendered and quantised) and
:mod:`~convwidget.export.player` (the HTML/JS player); this module plans and writes.

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
>>> download = to_gif(g)  # no path: the bytes, nothing written
>>> download.data[:6], download.mime, download.filename, download.path
(b'GIF89a', 'image/gif', 'conv_5x5_k3_s2_p1.gif', None)
"""

from __future__ import annotations

import html as html_lib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..drawing import WindowFigure
from ..drawing.palettes import check_theme
from ..geometry import Geometry
from .checks import Options, Progress, check_options, check_target, number, text_progress, write_atomically
from .frames import (
    Plan,
    Source,
    check_source,
    figure_for,
    frame_steps,
    palette_image,
    render_frames,
    rgb_image,
    suggested_name,
)
from .player import PngFrames, fit_player, player_ids

__all__ = ["MAX_PIXELS", "MAX_TAPS", "ExportResult", "frame_steps", "text_progress", "to_gif", "to_html"]

#: Kernel taps drawn over a whole export (frames × taps per window): about 5 s of drawing.
MAX_TAPS = 500_000
#: Pixels in one frame (``figsize`` × ``dpi``²): 2,000 × 2,000.
MAX_PIXELS = 4_000_000


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
    data
        The file's bytes when no path was given (a whole HTML page for ``to_html``), else None.
    mime
        Its media type: ``"image/gif"`` or ``"text/html"``.
    filename
        A file name saying what it shows, for a download (``conv_5x5_k3_s2_p1.gif``).
    """

    path: str | None
    frames: tuple[int, ...]
    n_steps: int
    note: str | None
    nbytes: int
    html: str | None = None
    dropped: int = 0
    data: bytes | None = None
    mime: str | None = None
    filename: str | None = None

    def __repr__(self) -> str:
        """One line: what was written (or kept in memory), the frames, the size (the player is
        in :attr:`html`, the bytes in :attr:`data`).

        >>> ExportResult("pass.gif", (0, 1, 2), 9, "3 of 9 steps", 2048)
        ExportResult(path='pass.gif', frames=3 of 9 steps, 2.0 KiB, note='3 of 9 steps')
        >>> ExportResult(None, (0, 1), 2, None, 1024, data=b"GIF89a", filename="conv.gif")
        ExportResult(filename='conv.gif' in memory, frames=2 of 2 steps, 1.0 KiB)
        """
        if self.path is not None:
            where = f"path={self.path!r}"
        elif self.data is not None:
            where = f"filename={self.filename!r} in memory"
        else:
            where = "html player"
        dropped = f" + {self.dropped} dropped" if self.dropped else ""
        note = f", note={self.note!r}" if self.note else ""
        return (f"{type(self).__name__}({where}, frames={len(self.frames)}{dropped} of {self.n_steps} "
                f"steps, {self.nbytes / 1024:.1f} KiB{note})")

    def _repr_html_(self) -> str:
        if self.html is not None:
            return self.html
        note = f"<br>{html_lib.escape(self.note)}" if self.note else ""
        if self.path is None:
            return (f"<p>{html_lib.escape(str(self.filename))} in memory ({self.nbytes / 1024:.1f} KiB): "
                    f"{len(self.frames)} frames{note}</p>")
        return f"<p>wrote {html_lib.escape(str(self.path))}: {len(self.frames)} frames{note}</p>"


def _capped_dpi(options: Options) -> tuple[float, str | None]:
    """The dpi to draw at, lowered to keep a frame under MAX_PIXELS, and the note saying so."""
    width, height = options.figsize
    pixels = width * height * options.dpi ** 2
    if pixels <= MAX_PIXELS:
        return options.dpi, None
    dpi = math.floor(math.sqrt(MAX_PIXELS / (width * height)))
    note = (f"drawn at dpi={dpi} instead of {options.dpi:g}: figsize={options.figsize} at that dpi "
            f"would be {pixels:,.0f} pixels a frame (the limit is MAX_PIXELS={MAX_PIXELS:,})")
    return float(dpi), note


def _plan(g: Geometry, options: Options, dpi_note: str | None) -> Plan:
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
    return Plan(steps, dropped, frames_note, dpi_note)


def to_gif(
    source: Source,
    path: str | Path | None = None,
    *,
    fps: float = 4.0,
    max_frames: int = 300,
    include_dropped: bool = True,
    progress: Progress = None,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: float = 100.0,
    theme: str = "light",
) -> ExportResult:
    """Write the sliding-window animation to a GIF (or, without a path, return its bytes).

    Parameters
    ----------
    source
        A :class:`~convwidget.geometry.Geometry`, or a :class:`~convwidget.drawing.WindowFigure`
        (its current step is restored afterwards).
    path
        The file to write; its name must end in ``.gif``. It appears complete or not at all.
        None: nothing is written; the result's ``data`` holds the GIF.
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
    theme
        ``"light"`` (the default, whatever the notebook shows) or ``"dark"``.

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
    options = check_options(fps, max_frames, include_dropped, progress, figsize, dpi)
    theme = check_theme(theme)
    g = check_source(source)
    target = None if path is None else check_target(path, (".gif",), "to_gif")
    dpi_used, dpi_note = _capped_dpi(options)
    plan = _plan(g, options, None if isinstance(source, WindowFigure) else dpi_note)
    with figure_for(source, options.figsize, dpi_used, theme) as fig:
        images = _gif_frames(fig, plan, options.report)
    duration = max(20, round(1000 / options.fps))

    def write(file: IO[bytes]) -> None:
        images[0].save(file, format="GIF", save_all=True, append_images=images[1:],
                       duration=duration, loop=0)

    data = None
    if target is None:
        buffer = io.BytesIO()
        write(buffer)
        data = buffer.getvalue()
        size = len(data)
    else:
        size = write_atomically(target, write)
    return ExportResult(None if target is None else str(path), plan.steps, g.n_steps, plan.note("GIF"), size,
                        dropped=len(plan.dropped), data=data, mime="image/gif",
                        filename=suggested_name(g, ".gif"))


def _gif_frames(fig: WindowFigure, plan: Plan, report: Callable[[int, int], Any] | None) -> list[Any]:
    """Every frame of the plan as a palette image (one palette for the whole pass)."""
    from PIL import Image

    n = len(plan.steps) + len(plan.dropped)
    palette = palette_image(fig, plan.steps, plan.dropped)
    images = []
    for i, buf in enumerate(render_frames(fig, plan.steps, plan.dropped), 1):
        images.append(rgb_image(buf).quantize(palette=palette, dither=Image.Dither.NONE))
        if report is not None:
            report(i, n)
    return images


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
    theme: str = "light",
) -> ExportResult:
    """A self-contained HTML/JS player (palette PNG frames, play button and slider).

    For static notebooks and slides: no server, no external files. The player holds at most
    ``max_frames`` frames and about ``max_bytes`` of HTML; a longer pass is subsampled evenly
    and the player says so under the picture (Matplotlib's ``to_jshtml`` instead stops at
    its embed limit with only a log warning).

    Parameters are as for :func:`to_gif`, plus ``path`` (optional: the HTML file to write,
    ending in ``.html`` or ``.htm``) and ``max_bytes``. Displaying the result in a notebook
    shows the player. Without a path nothing is written: ``html`` is the player (to embed)
    and ``data`` the whole page as bytes (to download).

    >>> from convwidget.geometry import layer_geometry
    >>> g = layer_geometry("conv_transpose", (2, 2), kernel_size=3, stride=2)
    >>> r = to_html(g)
    >>> len(r.frames), r.note, r.html.count("<button")
    (25, None, 4)
    >>> r.data[:15], r.mime, r.filename
    (b'<!DOCTYPE html>', 'text/html', 'conv_transpose_2x2_k3_s2.html')
    """
    options = check_options(fps, max_frames, include_dropped, progress, figsize, dpi)
    theme = check_theme(theme)
    budget = number("max_bytes", max_bytes, 20_000, 2e9, "max_bytes=10_000_000")
    g = check_source(source)
    target = None if path is None else check_target(path, (".html", ".htm"), "to_html")
    dpi_used, dpi_note = _capped_dpi(options)
    plan = _plan(g, options, None if isinstance(source, WindowFigure) else dpi_note)
    with figure_for(source, options.figsize, dpi_used, theme) as fig:
        frames = PngFrames(fig, palette_image(fig, plan.steps, plan.dropped))
        extra = [frames.window(w) for w in plan.dropped]
        player_id = f"convwidget-player-{next(player_ids)}"
        text, steps, note = fit_player(g, plan, frames, extra, int(budget), options,
                                        player_id, int(fig.figure.bbox.width))
    size = len(text.encode("utf-8"))
    page = f"<!DOCTYPE html>\n<meta charset=\"utf-8\">\n{text}\n".encode()
    if target is not None:
        write_atomically(target, lambda file: file.write(page))
    return ExportResult(None if path is None else str(path), steps, g.n_steps, note, size, text,
                        len(plan.dropped), data=page if target is None else None, mime="text/html",
                        filename=suggested_name(g, ".html"))
