"""The sliding-window picture: PNG frames (cached, prefetched while idle) or an ipympl canvas.

The figure (:class:`convwidget.drawing.WindowFigure`, Matplotlib) is built once and updated
in place; it is imported when the first picture is made, never by ``import
convwidget.explorer``. A frame already seen (a slider dragged back and forth) comes from a
cache bounded in entries and bytes; inside a running event loop (a Jupyter kernel) the
likely next frames are rendered while the kernel is idle.

Each frame is two PNGs, the light and the dark colouring of the same step, shown in two
``<img>`` (``cw-picture``, ``cw-picture-dark``): the page's CSS (:mod:`.theme`) shows the one
matching JupyterLab's theme. Both are shown at their natural pixel size (no downscaling).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import struct
import sys
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W

from ..geometry import Geometry
from .panels import picture_error_html

__all__ = ["Picture", "ipympl_active"]

Key = Any  # (Geometry, step, output cell labels) for a drawing, or the refusal sentence
Frame = tuple[bytes, bytes]  # the light and the dark PNG of one step
THEMES = ("light", "dark")


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from a PNG's header.

    >>> png_size(bytes.fromhex("89504e470d0a1a0a0000000d49484452") + (580).to_bytes(4, "big")
    ...          + (310).to_bytes(4, "big"))
    (580, 310)
    """
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop (a Jupyter kernel's), or None (a script, a test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def ipympl_active() -> bool:
    """True when the user chose ipympl (``%matplotlib widget``); the backend is not resolved."""
    if "matplotlib" not in sys.modules:
        return False  # nobody chose a backend through matplotlib yet
    import matplotlib

    backend = str(dict.__getitem__(matplotlib.rcParams, "backend")).lower()
    return "ipympl" in backend or backend == "widget"


#: Pictures whose dark frame is due in the loop's next turn (see :meth:`Picture.show`)
_dark_due: weakref.WeakSet[Picture] = weakref.WeakSet()
_dark_due_lock = threading.Lock()  # a slider's message may add one while a cell ends
_hooked_shells: weakref.WeakSet[Any] = weakref.WeakSet()


def _finish_at_cell_end(picture: Picture) -> None:
    """Have ``picture``'s due dark frame rendered before the running cell ends, if any runs.

    A notebook run without a page (``nbconvert --execute`` keeping the widget state) saves
    only the messages sent while a cell runs: a dark frame left to the loop's next turn would
    leave the export's dark picture one setting behind. IPython's ``post_execute`` comes
    after every cell, before its reply; a slider's message runs no cell, and keeps the
    shortcut."""
    with _dark_due_lock:
        _dark_due.add(picture)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    shell = get_ipython()
    if shell is not None and shell not in _hooked_shells:
        shell.events.register("post_execute", _render_due_dark_frames)
        _hooked_shells.add(shell)


def _render_due_dark_frames() -> None:
    with _dark_due_lock:
        due = list(_dark_due)
        _dark_due.clear()
    for picture in due:
        picture.finish_dark()


@functools.cache
def _live_canvas_class() -> type:
    """ipympl's Canvas, sending each new frame without waiting to be asked, and encoded faster.

    ipympl's ``draw_idle`` only tells the page that the figure changed; the page then asks for
    a frame, and the kernel draws, diffs and encodes it when that request arrives: a round
    trip, and the wait behind whatever the kernel does meanwhile, on every slider press. Here
    ``draw_idle`` asks the owner (``push``, :meth:`Picture._push`) to draw and send the frame
    itself, in the slider's own answer; without a running loop (a script, a test) or before
    the page's canvas is initialized, it is ipympl's own. The frame is the
    same diff image ipympl makes (only the changed pixels, zero elsewhere; the whole picture
    when forced, resized or not opaque), written as an unfiltered PNG at zlib level 1
    (:func:`~convwidget.drawing.raster.encode_png`) instead of Pillow's default (about 10 ms a
    frame).
    """
    import numpy as np
    from ipympl.backend_nbagg import Canvas

    from ..drawing.raster import encode_png

    class LiveCanvas(Canvas):
        push: Callable[[], bool] | None = None
        # Matplotlib's FigureCanvasWebAggCore state, as ipympl declares it
        _png_is_old: bool
        _force_full: bool
        _last_buff: np.ndarray

        def draw_idle(self) -> None:
            # Until the page says "initialized", ipympl's send_binary sends the raw pixels (for
            # its data URL), not the PNG, which the page cannot load: ipympl's own draw_idle.
            if self.syncing_data_url or self.push is None or not self.push():
                super().draw_idle()

        def get_diff_image(self) -> bytes | None:
            if not self._png_is_old:
                return None
            pixels = np.asarray(self.get_renderer().buffer_rgba())
            buff = pixels.view(np.uint32).squeeze(2)
            if (self._force_full or buff.shape != self._last_buff.shape
                    or bool((pixels[:, :, 3] != 255).any())):  # a diff cannot say "transparent"
                self.set_image_mode("full")
                output = buff
            else:
                self.set_image_mode("diff")
                output = np.where(buff != self._last_buff, buff, 0)
            self._last_buff = buff.copy()
            self._force_full = False
            self._png_is_old = False
            return encode_png(output.view(np.uint8).reshape((*output.shape, 4)), 1)

    return LiveCanvas


def _ipympl_canvas() -> tuple[W.DOMWidget, Any]:
    """A Figure on ipympl's live canvas widget, made without pyplot (no global figure).

    Importing ipympl switches Matplotlib's backend (and pyplot's, closing its figures), so
    the explorer only uses ipympl once the user has chosen it (``%matplotlib widget``).
    """
    if "ipympl" not in sys.modules and not ipympl_active():
        raise ValueError(
            "ConvExplorer(live=True) draws on ipympl's canvas: run `%matplotlib widget` first "
            "(after `pip install ipympl`), or use live=False for the PNG picture"
        )
    try:
        from ipympl.backend_nbagg import FigureManager
    except ImportError as err:
        raise ImportError(
            "ConvExplorer(live=True) draws on ipympl's canvas; install it with "
            "`pip install ipympl`, or use live=False for the PNG picture"
        ) from err
    from matplotlib.figure import Figure

    from ..drawing import DEFAULT_DPI, DEFAULT_FIGSIZE

    figure = Figure(figsize=DEFAULT_FIGSIZE, dpi=DEFAULT_DPI, facecolor="white")
    canvas = _live_canvas_class()(figure)
    with warnings.catch_warnings():
        # ipympl's own Toolbar(canvas) call trips a traitlets deprecation: not the user's concern
        warnings.simplefilter("ignore", DeprecationWarning)
        FigureManager(canvas, 0)  # the toolbar and the messages ipympl's frontend expects
    canvas.header_visible = False
    canvas.add_class("cw-picture-live")
    return canvas, figure


class _FrameSlot(W.Image):
    """The light picture's Image, which the live canvas hides: while a caller holds its messages
    (``hold_sync``, as the explorer does in the order a learner looks: the output size, then the
    picture), the canvas's new frame waits, and goes out where the picture's message would."""

    on_release: Callable[[], None] | None = None

    @contextlib.contextmanager
    def hold_sync(self) -> Iterator[None]:
        outermost = not self._holding_sync
        try:
            with super().hold_sync():
                yield
        finally:
            if outermost and self.on_release is not None:
                self.on_release()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` holding the picture's lock: ipykernel 7 may run a widget message and a
    loop callback (the prefetch) on different threads, and both draw on the one figure."""
    @functools.wraps(method)
    def locked(self: Picture, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class Picture:
    """The picture widgets (``image``, ``error``, ``canvas``) and the figure behind them."""

    #: How many rendered frames (PNG bytes) to keep, and at most how many bytes in all.
    cache_size = 256
    cache_bytes = 32 * 2**20
    #: Render the likely next frames while the kernel is idle.
    prefetch = True
    #: Seconds of quiet after a change before prefetching starts (a drag keeps it from starting).
    prefetch_delay = 0.05
    #: Inside an event loop, send a new frame's light picture at once and its dark one in the
    #: loop's next turn (a light page shows the change ~14 ms sooner; a dark one as before).
    dark_later = True
    #: Live canvas, a change outside the explorer's held messages (see :class:`_FrameSlot`):
    #: send the new frame at once (True) or in the event loop's next turn (False).
    live_first = True

    def __init__(self, live: bool, on_error: Callable[[BaseException], None] | None = None) -> None:
        from ..drawing import WindowFigure  # matplotlib: imported with the first picture

        self.live = live
        self._lock = threading.RLock()
        self.canvas: W.DOMWidget | None = None
        self._push_due = False  # the live figure changed since its last frame was sent
        if live:
            self.canvas, figure = _ipympl_canvas()
            self.canvas.push = self._push
            self._figure = WindowFigure(figure=figure)
        else:
            self._figure = WindowFigure()
        self.image = _FrameSlot(format="png") if live else W.Image(format="png")
        if isinstance(self.image, _FrameSlot):
            self.image.on_release = self._release_frame
        self.image.add_class("cw-picture")
        self.image_dark = W.Image(format="png")
        self.image_dark.add_class("cw-picture-dark")
        self.error = W.HTML(layout=W.Layout(display="none", max_width="560px"))
        self.error.add_class("cw-picture-error")
        if self.canvas is not None:
            for image in self.images:
                image.layout.display = "none"  # the live canvas shows the figure instead
        self.frames: OrderedDict[Key, Frame] = OrderedDict()
        self._frame_bytes = 0
        self._wanted: Key = None
        self._queue: list[Key] = []
        self._handle: asyncio.TimerHandle | None = None
        self._on_error = on_error
        self.prefetched = 0  # frames rendered ahead of time (for tests and benchmarks)
        self._drawn = False  # a drawing was shown (the first comes with its dark twin at once)
        self._dark_key: Key = None  # whose dark frame the loop's next turn renders

    @property
    def widgets(self) -> list[W.Widget]:
        return [*([self.canvas] if self.canvas is not None else []), *self.images, self.error]

    @property
    def images(self) -> tuple[W.Image, W.Image]:
        """The light and the dark picture (the page shows one, by its theme)."""
        return (self.image, self.image_dark)

    @property
    def scale(self) -> float:
        """The figure's presentation scale (1: about 580 x 310 px; 1.5 on a projector)."""
        return float(self._figure.scale)

    @_locked
    def set_scale(self, scale: float) -> None:
        """Draw at ``scale`` (text, lines and cells bigger); the frames cached so far are dropped."""
        if scale != self.scale:
            self.cancel()
            self._figure.set_style(scale=scale)
            self.clear_cache()
            self._sync_figure()

    def _set_images(self, frame: Frame | tuple[bytes]) -> None:
        for image, png in zip(self.images, frame, strict=False):
            image.value = png
            width, height = (str(v) for v in png_size(png))
            if image.width != width or image.height != height:
                image.width, image.height = width, height  # 1:1, never scaled down

    @property
    def figure(self) -> Any:
        """The WindowFigure, brought up to date with what the picture shows."""
        with self._lock:
            self._sync_figure()
        return self._figure

    # ------------------------------------------------------------------ showing
    @_locked
    def show_problem(self, problem: str, said_elsewhere: bool = False) -> None:
        """The refusal in place of a drawing: a box, the drawing hidden (the figure shows the
        sentence too, for :attr:`figure` and export, but is not displayed: said once).

        ``said_elsewhere``: the PyTorch panel gives the sentence, the box points there.
        """
        self._wanted = problem
        self._display_images("none")
        if self.canvas is not None:
            self.canvas.layout.display = "none"
            self._sync_figure()  # the live figure follows at once (nothing else redraws it)
        self.error.value = picture_error_html(None if said_elsewhere else problem)
        self.error.layout.display = ""

    def show_note(self, note: str) -> None:
        """A sentence in place of the picture for a setting too big to draw (nothing drawn)."""
        self._display_images("none")
        if self.canvas is not None:
            self.canvas.layout.display = "none"
        self.error.value = f"<div class='cw-note-box'>{html.escape(note)}</div>"
        self.error.layout.display = ""

    def show_nothing(self, geometry: Geometry | None = None, step: int = 0,
                     labels: tuple[str, ...] | None = None) -> None:
        """Neither a drawing nor a sentence: another widget shows the picture (of ``step`` of
        ``geometry``, which :attr:`figure` then shows when asked; nothing is drawn here)."""
        if geometry is not None:
            self._wanted = (geometry, step, labels)
        self._display_images("none")
        if self.error.layout.display != "none":
            self.error.layout.display = "none"

    def _display_images(self, display: str) -> None:
        for image in self.images:
            if image.layout.display != display:
                image.layout.display = display

    @_locked
    def show(self, geometry: Geometry, step: int, labels: tuple[str, ...] | None = None) -> None:
        """Draw ``step`` of ``geometry`` (from the cache when it was seen before); ``labels``:
        what the output cells say (PyTorch's values), default their numbers."""
        if self.error.layout.display != "none":
            self.error.layout.display = "none"
        if self.canvas is not None:
            self.canvas.layout.display = ""
        else:
            self._display_images("")  # the page's CSS shows the one of its theme
        if self.live:
            self._wanted = (geometry, step, labels)
            self._sync_figure()  # the ipympl canvas redraws itself (draw_idle)
            return
        key = (geometry, step, labels)
        self._wanted = key
        frame = self.frames.get(key)
        if frame is not None:  # the figure is not touched (see _sync_figure)
            self.frames.move_to_end(key)
            self._set_images(frame)
            return
        self._sync_figure()
        loop = _running_loop() if self.dark_later and self._drawn else None
        self._drawn = True
        if loop is None:  # a script, or the first picture (made with the explorer): both now
            self._set_images(self._remember(key, self._render()))
            return
        # In a kernel: the light picture goes out with this change, the dark one (~14 ms more)
        # in the loop's next turn, unless another change comes first (or the cell ends).
        self._set_images((self._figure.to_png(theme="light"),))
        self._dark_key = key
        _finish_at_cell_end(self)
        loop.call_soon(self._dark_for, key)

    @_locked
    def finish_dark(self) -> None:
        """Render the dark frame due in the loop's next turn now (nothing when none is due)."""
        key, self._dark_key = self._dark_key, None
        if key is not None:
            self._dark_for(key)

    @_locked
    def _dark_for(self, key: Key) -> None:
        """The dark picture of ``key`` (its light one is shown), if ``key`` is still wanted."""
        if self._wanted != key or key in self.frames:
            return  # another change came first: it brings its own pair
        try:
            self._sync_figure()
            self._set_images(self._remember(key, self._render()))
        except Exception as err:  # noqa: BLE001 - a loop callback must never raise into the loop
            if self._on_error is not None:
                self._on_error(err)

    def _render(self) -> Frame:
        """The figure's current frame in both colourings."""
        fig = self._figure
        light, dark = (fig.to_png(theme=theme) for theme in THEMES)
        return (light, dark)

    def _sync_figure(self) -> None:
        """Make the figure show what the picture shows."""
        fig, wanted = self._figure, self._wanted
        if isinstance(wanted, str):
            if fig.error != wanted:
                fig.show_error(wanted)
        elif wanted is not None:
            self._draw(*wanted)

    def _draw(self, geometry: Geometry, step: int, labels: tuple[str, ...] | None = None) -> None:
        fig = self._figure
        if fig.error is not None or fig.geometry != geometry or fig.output_labels != labels:
            fig.set_geometry(geometry, step=step, output_labels=labels)
        elif fig.step != step:
            fig.show_step(step)

    def _remember(self, key: Key, frame: Frame) -> Frame:
        self.frames[key] = frame
        self._frame_bytes += len(frame[0]) + len(frame[1])
        while self.frames and (len(self.frames) > self.cache_size
                               or self._frame_bytes > self.cache_bytes):
            _, old = self.frames.popitem(last=False)
            self._frame_bytes -= len(old[0]) + len(old[1])
        return frame

    @_locked
    def clear_cache(self) -> None:
        self.frames.clear()
        self._frame_bytes = 0

    # ------------------------------------------------------------------ live canvas
    def _push(self) -> bool:
        """The live canvas's ``draw_idle``: inside an event loop, draw and send the frame when
        the picture's place in the explorer's messages comes (see :class:`_FrameSlot`), else
        now (:attr:`live_first`) or in the loop's next turn; once for any number of changes
        meanwhile. False outside an event loop (ipympl's own ``draw_idle``)."""
        loop = _running_loop()
        if loop is None:
            return False
        self._push_due = True
        if self.image._holding_sync:
            pass  # sent by _release_frame
        elif self.live_first:
            self._push_frame()
        else:
            loop.call_soon(self._push_frame)
        return True

    def _release_frame(self) -> None:
        """The picture's messages were sent: the frame that waited for them follows."""
        self._push_frame()

    @_locked
    def _push_frame(self) -> None:
        """Draw and send the frame that is due, if any (one for any number of changes)."""
        if not self._push_due or self.canvas is None or self.canvas.push is None:
            return  # sent already, or closed meanwhile
        self._push_due = False
        try:
            self.canvas.draw()  # Agg draws the figure; ipympl sends the diff image to the page
        except Exception as err:  # noqa: BLE001 - a loop callback must never raise into the loop
            if self._on_error is not None:
                self._on_error(err)

    # ------------------------------------------------------------------ prefetch
    def schedule(self, keys: Callable[[], list[Key]]) -> None:
        """While the kernel is idle, render the frames ``keys()`` names into the frame cache.

        Only inside a running event loop (a Jupyter kernel), so ``keys`` is called only
        there; one frame per loop turn, so a message from the browser waits for at most
        one frame. Off with ``prefetch = False``.
        """
        if not self.prefetch or self.live:
            return
        loop = _running_loop()
        if loop is None:
            return  # plain Python, tests: nothing runs in the background
        queue = [key for key in keys() if key not in self.frames]
        if queue:
            self._queue = queue
            self._handle = loop.call_later(self.prefetch_delay, self._prefetch_one)

    @_locked
    def _prefetch_one(self) -> None:
        self._handle = None
        if not self._queue:
            return
        key = self._queue.pop(0)
        try:
            if key not in self.frames:
                self._draw(*key)
                self._remember(key, self._render())
                self.prefetched += 1
                # the figure now differs from the picture; _sync_figure puts it back when needed
        except Exception as err:  # noqa: BLE001 - a background task must never raise into the loop
            if self._on_error is not None:
                self._on_error(err)
        if self._queue:
            self._handle = asyncio.get_running_loop().call_later(0.005, self._prefetch_one)

    def cancel(self) -> None:
        self._queue = []
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        """Release the frames, the figure and the picture's widgets."""
        self.cancel()
        self.clear_cache()
        if self.canvas is not None:
            self.canvas.push = None  # a frame still due is not drawn (see _push_frame)
        self._figure.close()
        for widget in self.widgets:
            for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
                if isinstance(part, W.Widget):
                    part.close()
            widget.close()
