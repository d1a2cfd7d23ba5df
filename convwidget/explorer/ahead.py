"""Frames ahead of the learner: the next pictures are already in the browser (issue 14).

On Binder every slider notch is a network round trip. :class:`FrameAhead` (an anywidget)
shows the picture and holds, in the browser, the frames of the settings a learner is likely
to ask for next: ±1 and ±2 notches of every movable slider and the steps of the animation.
When a watched control moves, the browser shows the held frame of exactly the controls'
new values at once; anything else keeps the confirmed picture, dimmed and marked pending,
until the kernel confirms.

A frame is keyed by *all* watched controls' values (and a ``context`` string for whatever
else the picture depends on), not by "base + the one slider that moved": an exact match is
the only way a held frame is shown, so a frame can never show a setting other than the
controls' (two sliders moved, a dropdown changed, the kernel behind), and frames stay
useful after the next confirmation (``kernel=5`` is still ``kernel=5`` when the base moves).

The kernel is the only one that decides what the browser holds: frames are sent in custom
messages (binary buffers, no base64, at most ``message_bytes`` each) with the keys to drop,
so both sides agree on the bytes held (at most ``budget_bytes``) without a reply. The
confirmed frame always goes first (a trait change, in the same message as its key); the
neighbours follow while the kernel is idle, a few at a time.

>>> frame_key("ctx", {"stride": 2, "kernel": 3})
'ctx|[["kernel",3],["stride",2]]'
>>> [v["kernel"] for v in neighbour_values({"kernel": 3, "stride": 1}, {"kernel": (1, 11)})]
[4, 2, 5, 1]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import traitlets as T

__all__ = ["FrameAhead", "Values", "frame_key", "neighbour_values", "slider_ranges"]

#: A control name -> its value (ints for sliders; bools and strings for other controls).
Values = dict[str, Any]
#: ``render(values, theme)``: the PNG of the setting ``values`` mean, or None (not drawn).
Render = Callable[[Values, str], "bytes | None"]
#: ``describe(values)``: what the page's text widgets (:attr:`FrameAhead.targets`) say for
#: the setting ``values`` mean, sent with its frame (target name -> the widget's HTML value).
Describe = Callable[[Values], "dict[str, str]"]

#: The front end's source, as text: given a Path, anywidget watches the file and its
#: "changed" signal keeps every widget ever made alive (a leaked explorer per close).
_ESM = (Path(__file__).with_name("static") / "ahead.js").read_text(encoding="utf-8")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def frame_key(context: str, values: Mapping[str, Any]) -> str:
    """The key of the frame for ``values`` (every watched control) in ``context``.

    The browser builds the same string (``JSON.stringify`` of ``[name, value]`` pairs in
    name order): names are ASCII, values ints, bools or strings.

    >>> frame_key("", {"b": True, "a": "same"})
    '|[["a","same"],["b",true]]'
    """
    pairs = [[name, values[name]] for name in sorted(values)]
    return f"{context}|{json.dumps(pairs, separators=(',', ':'), ensure_ascii=False)}"


def neighbour_values(values: Mapping[str, Any], ranges: Mapping[str, tuple[int, int]],
                     notches: Iterable[int] = (1, 2), sweep: str | None = None,
                     sweep_range: tuple[int, int] | None = None,
                     sweep_count: int | None = None) -> list[Values]:
    """The settings one learner action away, nearest first: every slider in ``ranges`` moved
    ±1 notch, then ±2 (within its range); then, for ``sweep`` (the Play step), every other
    step in play order (from the next one, wrapping round), at most ``sweep_count`` of them
    (a 20,000 × 20,000 output has 400 million steps: only the next few are ever wanted).

    >>> [v["s"] for v in neighbour_values({"k": 1, "s": 2}, {"k": (1, 3)}, sweep="s",
    ...                                   sweep_range=(0, 4))][2:]
    [3, 4, 0, 1]
    >>> len(neighbour_values({"s": 0}, {}, sweep="s", sweep_range=(0, 10**9), sweep_count=48))
    48
    """
    found: list[Values] = []
    for notch in notches:
        for name, (lo, hi) in ranges.items():
            for moved in (values[name] + notch, values[name] - notch):
                if lo <= moved <= hi:
                    found.append({**values, name: moved})
    if sweep is not None and sweep_range is not None:
        lo, hi = sweep_range
        here = values[sweep]
        span = hi - lo + 1
        for offset in range(1, span if sweep_count is None else min(span, sweep_count + 1)):
            found.append({**values, sweep: lo + (here - lo + offset) % span})
    return found


def slider_ranges(controls: Mapping[str, W.Widget]) -> dict[str, tuple[int, int]]:
    """(min, max) of every control a learner can move by notches: an int slider that is
    neither disabled nor hidden."""
    ranges = {}
    for name, widget in controls.items():
        if not isinstance(widget, (W.IntSlider, W.BoundedIntText)) or widget.disabled:
            continue
        if getattr(widget.layout, "display", None) == "none":
            continue
        ranges[name] = (int(widget.min), int(widget.max))
    return ranges


class FrameAhead(anywidget.AnyWidget):
    """The picture, with the next frames already in the browser.

    Parameters
    ----------
    render
        ``render(values, theme)`` -> PNG bytes of the setting the control values mean
        (``theme`` is ``"light"`` or ``"dark"``), or None where nothing is drawn.
    budget_bytes, message_bytes
        At most this many bytes of frames held in the browser, and sent per message.
    describe
        ``describe(values)`` -> the values of the text widgets named in :attr:`targets` for
        that setting (e.g. the calculator's output size): sent with its frame, and shown by
        the page together with it. While targets are set, the page shows in them the texts
        of the frame it shows: a held frame's, or the confirmed :attr:`texts`.

    Use: :meth:`watch` the controls (name -> widget), then after every change the kernel
    has made, :meth:`confirm` the values with the frame's two PNGs.

    >>> import ipywidgets as W
    >>> k = W.IntSlider(3, min=1, max=5)
    >>> ahead = FrameAhead(lambda values, theme: b"png %d" % values["k"])
    >>> ahead.watch({"k": k})
    >>> ahead.confirm({"k": 3}, b"light", b"dark")
    >>> ahead.base, ahead.value
    ('|[["k",3]]', b'light')
    >>> [key[-3:-2] for key in ahead.plan()]
    ['4', '2', '5', '1']
    """

    _esm = _ESM
    #: the confirmed frame (both themes) and its key
    value = T.Bytes(b"").tag(sync=True)
    value_dark = T.Bytes(b"").tag(sync=True)
    base = T.Unicode("").tag(sync=True)
    #: what the picture depends on besides the watched controls (part of every key)
    context = T.Unicode("").tag(sync=True)
    #: the watched controls: name -> model id (the browser reads their values)
    sliders = T.Dict(T.Unicode()).tag(sync=True)
    #: leave disabled controls out of the keys: their values are the kernel's to set (an
    #: 'H = W' width slider follows the height), so they must not make the page wait
    skip_disabled = T.Bool(False).tag(sync=True)
    #: the theme the page shows (set by the browser): neighbours are sent in it only
    theme = T.Unicode("light").tag(sync=True)
    #: which store the page's views share (anywidget hands each view its own model proxy)
    uid = T.Unicode("").tag(sync=True)
    #: the kernel says the picture is behind (e.g. it is still working): shown dimmed
    pending = T.Bool(False).tag(sync=True)
    #: the browser's cap on held bytes (the kernel keeps under it; the page double-checks)
    budget = T.Int(8 * 2**20).tag(sync=True)
    #: text widgets the page fills with the shown frame's texts: target name -> model id
    targets = T.Dict(T.Unicode()).tag(sync=True)
    #: the confirmed frame's texts (target name -> HTML), sent with it (see ``describe``)
    texts = T.Dict(T.Unicode()).tag(sync=True)

    #: Seconds of quiet after a confirmation before neighbours are rendered (a drag or
    #: rapid presses keep it from starting), and the longest one batch may render.
    delay = 0.03
    batch_seconds = 0.02
    #: How many steps of the animation are sent ahead of the current one (Play refills the
    #: window as it walks: each step it reaches is confirmed and the window moves on).
    sweep_ahead = 48
    #: ... and after a change of any other control: the steps of a setting the learner may
    #: leave at once fill the budget and push out the notches he comes back to (measured:
    #: 2 of 30 presses then waited for the kernel at 32 x 32; Play refills 48 from its first step)
    sweep_after_move = 16

    def __init__(self, render: Render, *, budget_bytes: int = 8 * 2**20,
                 message_bytes: int = 512 * 2**10, describe: Describe | None = None, **kwargs: Any) -> None:
        super().__init__(budget=budget_bytes, uid=uuid.uuid4().hex, **kwargs)
        self.render = render
        self.describe = describe
        self.message_bytes = message_bytes
        self.controls: dict[str, W.Widget] = {}
        self.values: Values = {}
        self.held: OrderedDict[str, int] = OrderedDict()  # key -> bytes, as the browser holds
        self.sent = 0  # frames sent ahead (tests, benchmarks)
        self.sweep: str | None = None
        #: the controls the last change moved (their frames are sent first)
        self.moved: set[str] = set()
        #: the movable sliders' ranges (default: :func:`slider_ranges` of the watched controls)
        self.ranges: Callable[[], dict[str, tuple[int, int]]] | None = None
        self._queue: list[Values] = []
        self._wanted: set[str] = set()
        self._handle: asyncio.TimerHandle | None = None
        # ipykernel 7 handles comm messages (slider changes) on a thread of its own while
        # timers run on the main loop: renders and the held-set bookkeeping take turns
        self.lock = threading.RLock()
        self._generation = 0
        self._requested: tuple[Values, dict[str, str] | None] | None = None
        self._waiting = 0  # callers waiting for the lock: a batch being rendered stops early
        self._request_handle: asyncio.TimerHandle | None = None
        # (key, theme) -> the PNG drawn lately, newest last (see recent_bytes)
        self._recent: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._recent_size = 0
        self.on_msg(self._on_browser)
        #: a page has shown this widget (its "hello"): until then nothing waits on a coalesced
        #: request, and whatever runs the notebook (nbconvert, nbclient, papermill) saves the
        #: widget's state only from messages sent while a cell runs
        self.page_seen = False
        self.observe(self._on_theme, names="theme")

    # ------------------------------------------------------------------ bookkeeping
    @property
    def held_bytes(self) -> int:
        return sum(self.held.values())

    def key(self, values: Mapping[str, Any]) -> str:
        """The frame key of ``values``: a selection (Dropdown) is keyed by its index, the only
        thing its model in the page holds."""
        skip = {n for n, w in self.controls.items() if self.skip_disabled and getattr(w, "disabled", False)}
        return frame_key(self.context, {n: self._key_value(n, v) for n, v in values.items() if n not in skip})

    def _key_value(self, name: str, value: Any) -> Any:
        options = getattr(self.controls.get(name), "_options_values", None)
        if options is None:
            return value
        return options.index(value) if value in options else None

    def watch(self, controls: Mapping[str, W.Widget], sweep: str | None = None) -> None:
        """Watch these controls (name -> widget); ``sweep`` names the Play step's slider,
        whose every step is sent ahead. A change of the set drops every held frame."""
        ids = {name: widget.model_id for name, widget in controls.items()}
        self.controls = dict(controls)
        self.sweep = sweep
        if ids != self.sliders:
            self.reset()
            self.sliders = ids

    def set_context(self, context: str) -> None:
        """Something the picture depends on besides the controls changed (a scale, a kind
        the controls do not show): every held frame is dropped."""
        if context != self.context:
            self.reset()
            self.context = context

    def reset(self) -> None:
        """Drop every frame held in the browser but the confirmed one."""
        with self.lock:
            self._reset()

    def _reset(self) -> None:
        self.cancel()
        if self.held:
            self.send({"type": "reset"})
        self.held.clear()
        if self.value:  # the page files the confirmed frame again, as after a confirmation
            self.held[self.base] = len(self.value) + len(self.value_dark)

    # ------------------------------------------------------------------ confirming
    def confirm(self, values: Mapping[str, Any], light: bytes, dark: bytes,
                texts: Mapping[str, str] | None = None) -> None:
        """The kernel shows ``values``: its frame (and its ``texts``) goes first, in one
        message, then the neighbours are queued and sent while the kernel is idle."""
        with self.turn():
            self._requested = None  # a request still coalescing is older than this
            self._confirm(values, light, dark, texts)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """The lock, asked for by a change (use it around the state's update and
        :meth:`confirm`): frames being rendered ahead give way after the current one, so a
        slider message waits for one frame at most, not a whole batch."""
        self._waiting += 1
        try:
            with self.lock:
                yield
        finally:
            self._waiting -= 1

    def _confirm(self, values: Mapping[str, Any], light: bytes, dark: bytes,
                 texts: Mapping[str, str] | None = None) -> None:
        self.cancel()
        moved = {n for n in values if self.values.get(n) != values[n]}
        if moved - {self.sweep}:  # the slider moved last is the likeliest to move next
            self.moved = moved - {self.sweep}
        self.values = dict(values)
        key = self.key(values)
        with self.hold_sync():
            self.value, self.value_dark, self.base = light, dark, key
            self.texts = dict(texts or {})
        if light or dark:  # the browser files the confirmed frame under its key (the themes sent)
            self._hold(key, len(light) + len(dark))
        self.schedule(first_sweep=moved == {self.sweep})

    #: Bytes of the frames drawn lately kept here: the setting a learner moves to is likeliest
    #: one sent ahead, and its confirmation then costs no drawing (at 32 x 32 about 12 ms of
    #: the kernel's answer after a press; what the page shows is the same bytes).
    recent_bytes = 4 * 2**20

    def _drawn(self, values: Values, theme: str, key: str | None = None) -> bytes | None:
        """``render(values, theme)``, from the frames drawn lately when it is among them."""
        slot = (self.key(values) if key is None else key, theme)
        png = self._recent.get(slot)
        if png is not None:
            self._recent.move_to_end(slot)
            return png
        png = self.render(values, theme)
        if png:
            self._recent[slot] = png
            self._recent_size += len(png)
            while self._recent_size > self.recent_bytes and len(self._recent) > 1:
                self._recent_size -= len(self._recent.popitem(last=False)[1])
        return png

    #: Seconds a :meth:`request` waits for a newer one (rapid presses render only the last).
    coalesce = 0.012

    def request(self, values: Mapping[str, Any], texts: Mapping[str, str] | None = None) -> None:
        """Confirm ``values`` (and ``texts``) with their own frames (``render``), soon: of
        several requests in quick succession (rapid presses, a drag) only the last is rendered
        and sent; a frame among those drawn lately is confirmed at once. Without a running
        event loop (scripts, tests) or before a page has shown the widget, at once and in both
        themes: a notebook run without a page (``nbconvert --execute``) saves the confirmed
        frame in its widget state only if it is sent while the cell runs (a static HTML export
        shows that frame)."""
        with self.turn():
            self._requested = (dict(values), None if texts is None else dict(texts))
            if self._request_handle is not None:
                return
            loop = _running_loop()
            # a frame drawn lately (sent ahead, most often) costs nothing: confirmed at once
            if loop is None or not self.page_seen or (self.key(values), self.theme) in self._recent:
                self._flush()
                return
            self._request_handle = loop.call_later(self.coalesce, self._flush)

    def _flush(self) -> None:
        with self.turn():
            self._request_handle = None
            requested, self._requested = self._requested, None
            if requested is None:
                return
            values, texts = requested
            loop = _running_loop() if self.page_seen else None  # no page: both themes now
            first = self.theme if loop is not None else "light"
            try:
                png = self._drawn(values, first) or b""
                other = b"" if loop is not None or not png else self._drawn(values, "dark") or b""
            except Exception:  # noqa: BLE001 - a timer must never raise into the loop
                png = other = b""
            light, dark = (png, other) if first == "light" else (other, png)
            self._confirm(values, light, dark, texts)
            if loop is not None and png:  # the other theme's picture once the kernel is quiet
                # (drawn at once it held up the next of rapid presses by a whole frame)
                loop.call_later(self.delay, self._other_theme, self.base, values)

    def _other_theme(self, key: str, values: Values) -> None:
        """The confirmed frame in the theme the page does not show (a later theme switch shows
        it at once), if ``key`` is still the confirmed one and no change waits for the lock."""
        if self._waiting:
            return  # a change comes: its confirmation sends its own frames
        with self.turn():
            if key != self.base or (self.value and self.value_dark):
                return
            light = not self.value
            try:
                png = self._drawn(values, "light" if light else "dark") or b""
            except Exception:  # noqa: BLE001 - a loop callback must never raise into the loop
                return
            if light:
                self.value = png
            else:
                self.value_dark = png
            self._hold(key, len(self.value) + len(self.value_dark))

    def plan(self, first_sweep: bool = False) -> list[str]:
        """Keys of the frames wanted next, in the order they are sent (see :meth:`_order`)."""
        return [self.key(v) for v in self._order(first_sweep)]

    def _order(self, first_sweep: bool) -> list[Values]:
        ranges = self.ranges() if self.ranges is not None else slider_ranges(self.controls)
        sweep_range = None
        if self.sweep is not None:
            ranges.pop(self.sweep, None)
            widget = self.controls.get(self.sweep)
            if widget is not None and not widget.disabled:
                sweep_range = (int(widget.min), int(widget.max))
        values = {n: self.values[n] for n in self.controls if n in self.values}
        if len(values) != len(self.controls):
            return []  # not confirmed yet
        near = neighbour_values(values, ranges)
        if self.moved:  # the notches of the slider moved last first, then every other one's
            mine = [v for v in near if any(v[n] != values[n] for n in self.moved if n in v)]
            taken = {id(v) for v in mine}
            near = mine + [v for v in near if id(v) not in taken]
        steps = neighbour_values(values, {}, sweep=self.sweep, sweep_range=sweep_range,
                                 sweep_count=self.sweep_ahead if first_sweep else self.sweep_after_move)
        return steps + near if first_sweep else near + steps

    def schedule(self, first_sweep: bool = False) -> None:
        """Queue the wanted frames the browser lacks; render them while the kernel is idle
        (only inside a running event loop, i.e. a kernel; :meth:`fill` does it at once)."""
        order = self._order(first_sweep)
        self._wanted = {self.key(v) for v in order} | {self.base}
        self._queue = [v for v in order if self.key(v) not in self.held]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._queue:
            self._handle = loop.call_later(self.delay, self._pump, self._generation)

    def cancel(self) -> None:
        self._generation += 1  # a pump already running on another thread stops
        self._queue = []
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def fill(self) -> int:
        """Send every queued frame now (scripts, tests); how many were sent."""
        with self.lock:
            before = self.sent
            while self._queue and self._send_batch(deadline=None):
                pass
            return self.sent - before

    # ------------------------------------------------------------------ sending
    def _pump(self, generation: int) -> None:
        with self.lock:
            if generation != self._generation:
                return  # a newer confirmation replaced this queue
            self._handle = None
            if self._waiting:  # a change is waiting for the lock: let it go first
                self._handle = asyncio.get_running_loop().call_later(0.01, self._pump, generation)
                return
            try:
                more = self._send_batch(deadline=time.perf_counter() + self.batch_seconds)
            except Exception:  # noqa: BLE001 - a background task must never raise into the loop
                self._queue = []
                return
            if more and self._queue:
                self._handle = asyncio.get_running_loop().call_later(0.01, self._pump, generation)

    def _send_batch(self, deadline: float | None) -> bool:
        """Render queued frames until the message is full or the time is up, and send them.
        False when the budget is full (nothing more is sent for this setting)."""
        keys: list[str] = []
        buffers: list[bytes] = []
        texts: list[dict[str, str]] = []
        drop: list[str] = []
        size = 0
        theme = self.theme
        while self._queue:
            values = self._queue[0]
            key = self.key(values)
            if key in self.held or key in keys:
                self._queue.pop(0)
                continue
            png = self._drawn(values, theme, key)
            if png is None:
                self._queue.pop(0)
                continue
            if size and size + len(png) > self.message_bytes:
                break
            freed = self._make_room(len(png))
            if freed is None:
                self._queue = []
                break
            self._queue.pop(0)
            drop += freed
            keys.append(key)
            buffers.append(png)
            texts.append(self.describe(values) if self.describe is not None else {})
            size += len(png)
            self.held[key] = len(png)
            if self._waiting or (deadline is not None and time.perf_counter() > deadline):
                break
        if keys or drop:
            self.send({"type": "frames", "keys": keys, "theme": theme, "drop": drop, "texts": texts},
                      buffers)
            self.sent += len(keys)
        return bool(self._queue)

    def _make_room(self, size: int) -> list[str] | None:
        """Keys to drop (oldest first, never a wanted one) so ``size`` more bytes fit in the
        budget; None when they cannot."""
        if size > self.budget:
            return None
        total = self.held_bytes
        drop = []
        for key, held in self.held.items():
            if total + size <= self.budget:
                break
            if key not in self._wanted:
                drop.append(key)
                total -= held
        if total + size > self.budget:
            return None
        for key in drop:
            del self.held[key]
        return drop

    def _hold(self, key: str, size: int) -> None:
        """The browser filed a frame under ``key`` by itself (the confirmed one). Over the
        budget, the oldest frames not wanted next make room (a wanted one dropped here would
        never be sent again: the queue was planned with it held)."""
        self.held.pop(key, None)
        self.held[key] = size
        total = self.held_bytes
        drop = []
        for old in list(self.held):
            if total <= self.budget:
                break
            if old == key or old in self._wanted:
                continue
            total -= self.held.pop(old)
            drop.append(old)
        if drop:
            self.send({"type": "frames", "keys": [], "theme": self.theme, "drop": drop})

    # ------------------------------------------------------------------ browser
    def _on_browser(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "hello":
            self.page_seen = True  # from now on a request waits a moment for a newer one
            with self.lock:  # a new page (or a reload): it holds the confirmed frame only
                self.held.clear()
                self._reset()
                self.schedule()

    def _on_theme(self, change: dict[str, Any]) -> None:
        with self.lock:  # held neighbours are in the old theme: drop them, send the new theme's
            self._reset()
            self.schedule()

    def close(self) -> None:
        with self.lock:
            self.cancel()
            if self._request_handle is not None:
                self._request_handle.cancel()
                self._request_handle = None
            self._recent.clear()
            self._recent_size = 0
        super().close()
