"""FrameAhead without a browser: the key scheme, the neighbours, the budget, the order of
messages, and that every frame sent ahead is the picture of its key's setting (issue 14).

The browser half (the page shows a held frame only for the sliders' exact values) is
tests/test_ahead_browser.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import ipywidgets as W
import pytest
import torch

from convwidget.drawing import WindowFigure
from convwidget.explorer.ahead import FrameAhead, frame_key, neighbour_values, slider_ranges
from convwidget.explorer.aheadframes import DEFAULT_BASE, ExplorerFrames, settings_of
from convwidget.explorer.state import ExplorerState
from convwidget.geometry import layer_geometry


def values_of(key: str) -> dict[str, Any]:
    return dict(json.loads(key.split("|", 1)[1]))


class Recorder:
    """Every message the widget sends: ('update', names) for trait syncs, ('frames', ...)."""

    def __init__(self, widget: FrameAhead) -> None:
        self.messages: list[tuple[str, Any, list[bytes]]] = []
        original = widget._send

        def send(msg: dict[str, Any], buffers: Any = None) -> None:
            if msg.get("method") == "custom":
                self.messages.append(("custom", msg["content"], list(buffers or [])))
            else:
                # bytes traits travel as buffers: their names are in buffer_paths
                names = [*msg.get("state", {}), *(path[0] for path in msg.get("buffer_paths", []))]
                self.messages.append((msg.get("method", ""), sorted(names), []))
            original(msg, buffers)

        widget._send = send  # type: ignore[method-assign]

    def frames(self) -> list[tuple[dict[str, Any], list[bytes]]]:
        return [(c, b) for kind, c, b in self.messages if kind == "custom" and c["type"] == "frames"]


# ---------------------------------------------------------------------- the key scheme
@pytest.mark.parametrize(("values", "key"), [
    ({"stride": 2, "kernel": 3}, 'c|[["kernel",3],["stride",2]]'),
    ({"b": True, "a": "same"}, 'c|[["a","same"],["b",true]]'),
    ({"x_square": False, "x_h": 0}, 'c|[["x_h",0],["x_square",false]]'),
])
def test_key_is_the_json_the_page_builds(values: dict[str, Any], key: str) -> None:
    assert frame_key("c", values) == key
    assert frame_key("c", dict(reversed(list(values.items())))) == key  # order of names: sorted
    assert values_of(key) == values
    assert frame_key("other", values) != key  # the context is part of every key


# ---------------------------------------------------------------------- neighbours
@pytest.mark.parametrize(("value", "lo", "hi", "expected"), [
    (3, 1, 11, [4, 2, 5, 1]),
    (1, 1, 11, [2, 3]),
    (11, 1, 11, [10, 9]),
    (2, 1, 2, [1]),
    (0, 0, 0, []),
])
def test_neighbours_stay_in_the_slider_range(value: int, lo: int, hi: int, expected: list[int]) -> None:
    found = neighbour_values({"k": value, "s": 1}, {"k": (lo, hi)})
    assert [v["k"] for v in found] == expected
    assert all(v["s"] == 1 for v in found)  # one slider moved at a time


def test_neighbours_one_notch_of_every_slider_before_two() -> None:
    found = neighbour_values({"a": 5, "b": 5}, {"a": (0, 9), "b": (0, 9)})
    moved = [(n, v[n] - 5) for v in found for n in "ab" if v[n] != 5]
    assert moved == [("a", 1), ("a", -1), ("b", 1), ("b", -1), ("a", 2), ("a", -2), ("b", 2), ("b", -2)]


def test_sweep_walks_every_other_step_in_play_order() -> None:
    found = neighbour_values({"step": 3}, {}, sweep="step", sweep_range=(0, 5))
    assert [v["step"] for v in found] == [4, 5, 0, 1, 2]


def test_slider_ranges_skip_disabled_and_hidden_sliders() -> None:
    controls = {"a": W.IntSlider(1, min=0, max=4), "b": W.IntSlider(1, disabled=True),
                "c": W.IntSlider(1, layout=W.Layout(display="none")), "d": W.Checkbox(True),
                "e": W.BoundedIntText(2, min=1, max=8)}
    assert slider_ranges(controls) == {"a": (0, 4), "e": (1, 8)}


# ---------------------------------------------------------------------- budget and order
def sized(size: int):
    def render(values: dict[str, Any], theme: str) -> bytes:
        return (json.dumps(values, sort_keys=True) + theme).encode().ljust(size, b".")
    return render


def make(render, budget: int = 8 * 2**20, message: int = 512 * 2**10, **sliders: W.IntSlider):
    ahead = FrameAhead(render, budget_bytes=budget, message_bytes=message)
    ahead.watch(sliders, sweep="step" if "step" in sliders else None)
    return ahead


def test_budget_and_message_size_hold_over_many_changes() -> None:
    k, s = W.IntSlider(3, min=1, max=11), W.IntSlider(0, min=0, max=400)
    ahead = make(sized(30_000), budget=600_000, message=100_000, k=k, step=s)
    rec = Recorder(ahead)
    for kernel in (3, 4, 5, 4, 9):
        ahead.confirm({"k": kernel, "step": 0}, b"L" * 30_000, b"D" * 30_000)
        ahead.fill()
        assert ahead.held_bytes <= 600_000
    assert rec.frames()
    for content, buffers in rec.frames():
        assert sum(map(len, buffers)) <= 100_000
        assert len(content["keys"]) == len(buffers)
    # the page's bookkeeping, replayed from the messages, agrees with the kernel's
    page: dict[str, int] = {}
    for kind, content, buffers in rec.messages:
        if kind != "custom":
            continue
        for key in content["drop"]:
            page.pop(key, None)
        page.update({key: len(b) for key, b in zip(content["keys"], buffers, strict=True)})
    held_ahead = {key: n for key, n in ahead.held.items() if key != ahead.base}
    assert {key: page[key] for key in held_ahead} == held_ahead


def test_a_frame_larger_than_the_budget_is_never_sent() -> None:
    ahead = make(sized(5_000), budget=4_000, k=W.IntSlider(3, min=1, max=9))
    rec = Recorder(ahead)
    ahead.confirm({"k": 3}, b"", b"")
    assert ahead.fill() == 0 and not rec.frames()


def test_the_current_frame_goes_first_in_one_message_then_nearest_neighbours() -> None:
    renders: list[dict[str, Any]] = []

    def render(values: dict[str, Any], theme: str) -> bytes:
        renders.append(values)
        return b"x" * 100

    ahead = make(render, k=W.IntSlider(3, min=1, max=9), s=W.IntSlider(2, min=1, max=4))
    rec = Recorder(ahead)
    ahead.confirm({"k": 3, "s": 2}, b"light", b"dark")
    assert renders == []  # nothing is rendered ahead while the change is being answered
    updates = [m for m in rec.messages if m[0] == "update"]
    assert updates == [("update", ["base", "value", "value_dark"], [])]
    ahead.fill()
    sent = [key for content, _ in rec.frames() for key in content["keys"]]
    distance = [max(abs(values_of(key)[n] - v) for n, v in (("k", 3), ("s", 2))) for key in sent]
    assert distance == sorted(distance) and set(distance) == {1, 2}
    assert ahead.base not in sent


def test_step_changes_send_the_animation_first() -> None:
    ahead = make(sized(10), k=W.IntSlider(3, min=1, max=9), step=W.IntSlider(0, min=0, max=99))
    ahead.confirm({"k": 3, "step": 0}, b"l", b"d")
    ahead.confirm({"k": 3, "step": 1}, b"l", b"d")  # Play moved on: its steps first
    first = [values_of(k) for k in ahead.plan(first_sweep=True)[:ahead.sweep_ahead]]
    assert [v["step"] for v in first] == list(range(2, 2 + ahead.sweep_ahead))
    assert [values_of(k)["step"] for k in ahead.plan()[:4]] == [1, 1, 1, 1]


def test_context_change_and_new_page_drop_what_is_held() -> None:
    ahead = make(sized(10), k=W.IntSlider(3, min=1, max=9))
    rec = Recorder(ahead)
    ahead.confirm({"k": 3}, b"l", b"d")
    ahead.fill()
    assert len(ahead.held) == 5
    ahead.set_context("kind=max_pool")
    assert ("custom", {"type": "reset"}, []) in rec.messages
    assert list(ahead.held) == [ahead.base]  # the page files the confirmed frame again
    ahead.confirm({"k": 3}, b"l", b"d")
    assert ahead.base.startswith("kind=max_pool|")
    ahead.fill()
    ahead._on_browser(ahead, {"type": "hello"}, [])  # a reloaded page holds nothing else
    assert list(ahead.held) == [ahead.base]


def test_theme_change_resends_in_the_page_theme() -> None:
    ahead = make(sized(10), k=W.IntSlider(3, min=1, max=9))
    rec = Recorder(ahead)
    ahead.confirm({"k": 3}, b"l", b"d")
    ahead.fill()
    ahead.theme = "dark"
    ahead.fill()
    themes = [content["theme"] for content, _ in rec.frames()]
    assert themes[0] == "light" and themes[-1] == "dark"


def test_frames_are_sent_while_the_loop_is_idle_and_a_new_change_replaces_the_queue() -> None:
    async def scenario() -> tuple[int, int]:
        ahead = make(sized(10), k=W.IntSlider(3, min=1, max=30), s=W.IntSlider(3, min=1, max=30))
        ahead.delay = 0.0
        ahead.confirm({"k": 3, "s": 3}, b"l", b"d")
        ahead.confirm({"k": 4, "s": 3}, b"l", b"d")  # before the first queue ran
        for _ in range(50):
            await asyncio.sleep(0.01)
        old = sum(1 for key in ahead.held if values_of(key)["k"] == 3 and values_of(key)["s"] != 3)
        return ahead.sent, old

    sent, old = asyncio.run(scenario())
    # the second setting's neighbours (k 4 and s 3, +-1 and +-2) but k=3, s=3: the page holds
    # it (the first confirmed frame); nothing of the first setting's queue
    assert sent == 7
    assert old == 0


def test_the_slider_moved_last_has_its_notches_sent_first() -> None:
    ahead = make(sized(10), a=W.IntSlider(5, min=1, max=9), b=W.IntSlider(5, min=1, max=9))
    ahead.confirm({"a": 5, "b": 5}, b"l", b"d")
    assert [values_of(k) for k in ahead.plan()[:2]] == [{"a": 6, "b": 5}, {"a": 4, "b": 5}]
    ahead.confirm({"a": 5, "b": 6}, b"l", b"d")  # b moved: b's notches (+-1, +-2) lead
    assert [values_of(k)["b"] for k in ahead.plan()[:4]] == [7, 5, 8, 4]
    assert {values_of(k)["a"] for k in ahead.plan()[:4]} == {5}
    assert len(ahead.plan()) == 8  # every notch of both is still wanted


def test_in_a_kernel_the_confirmed_frame_comes_in_the_page_theme_first() -> None:
    """A request renders the page's theme and confirms it at once; the other theme follows
    once the kernel has been quiet for ``delay``, under the same key."""
    def render(values: dict[str, Any], theme: str) -> bytes:
        return f"{theme} k={values['k']}".encode()

    async def scenario() -> list[tuple[bytes, bytes, str]]:
        k = W.IntSlider(3, min=1, max=9)
        ahead = FrameAhead(render)
        ahead.watch({"k": k})
        ahead._handle_custom_msg({"type": "hello"}, [])  # a page shows it
        ahead.theme = "dark"
        seen = []  # what the confirmation carries (one message), then what follows it
        ahead.observe(lambda _: seen.append((ahead.value, ahead.value_dark, ahead.base)), names="base")
        ahead.coalesce = 0.0
        ahead.request({"k": 5})
        await asyncio.sleep(ahead.delay + 0.02)
        seen.append((ahead.value, ahead.value_dark, ahead.base))
        return seen

    (first, later) = asyncio.run(scenario())
    assert first == (b"", b"dark k=5", '|[["k",5]]')
    assert later == (b"light k=5", b"dark k=5", '|[["k",5]]')


def test_before_a_page_has_shown_it_a_request_is_confirmed_at_once_in_both_themes() -> None:
    """A notebook run without a page (``nbconvert --execute`` keeping the widget state) keeps
    only the messages sent while a cell runs: a request is confirmed at once, both themes in
    one message, not a few ms after the cell; once a page has said hello, requests wait for a
    newer one again (rapid presses render only the last)."""
    def render(values: dict[str, Any], theme: str) -> bytes:
        return f"{theme} k={values['k']}".encode()

    async def scenario() -> tuple[list[tuple[bytes, bytes, str]], str, str]:
        ahead = FrameAhead(render)
        ahead.watch({"k": W.IntSlider(3, min=1, max=9)})
        seen = []
        ahead.observe(lambda _: seen.append((ahead.value, ahead.value_dark, ahead.base)), names="base")
        ahead.request({"k": 5})  # no page: in the cell
        ahead._handle_custom_msg({"type": "hello"}, [])
        ahead.request({"k": 6})
        ahead.request({"k": 7})
        waiting = ahead.base
        await asyncio.sleep(0.05)
        return seen, waiting, ahead.base

    seen, waiting, later = asyncio.run(scenario())
    assert seen[0] == (b"light k=5", b"dark k=5", '|[["k",5]]')
    assert waiting == '|[["k",5]]' and later == '|[["k",7]]'
    assert [base for *_, base in seen] == ['|[["k",5]]', '|[["k",7]]']  # k=6 never rendered


# ---------------------------------------------------------------------- the explorer's frames
def test_settings_of_reads_pairs_square_boxes_and_padding_modes() -> None:
    base = dict(DEFAULT_BASE)
    assert settings_of({"kernel_size_h": 5, "kernel_size_w": 2}, base)["kernel_size"] == (5, 2)
    assert settings_of({"kernel_size_h": 5, "kernel_size_w": 2, "kernel_size_square": True},
                       base)["kernel_size"] == (5, 5)
    assert settings_of({"padding_mode": "same", "padding": 3}, base)["padding"] == "same"
    assert settings_of({"padding_mode": "same", "kind": "max_pool", "padding": 1}, base)["padding"] == (1, 1)
    assert settings_of({"step": 4}, base) == base


def test_every_frame_sent_is_the_picture_of_its_key_one_action_from_the_base() -> None:
    state = ExplorerState(input_size=9, kernel_size=3, padding=1, run_torch=False)
    frames = ExplorerFrames(lambda: state.settings)
    sliders = {"kernel_size": W.IntSlider(3, min=1, max=7), "stride": W.IntSlider(1, min=1, max=4),
               "padding": W.IntSlider(1, min=0, max=3), "step": W.IntSlider(0, min=0, max=80)}
    ahead = FrameAhead(frames)
    ahead.watch(sliders, sweep="step")
    rec = Recorder(ahead)
    base = {"kernel_size": 3, "stride": 1, "padding": 1, "step": 4}
    ahead.set_context(frames.context(base))
    ahead.confirm(base, frames(base, "light") or b"", frames(base, "dark") or b"")
    ahead.fill()
    sent = [(key, png) for content, buffers in rec.frames()
            for key, png in zip(content["keys"], buffers, strict=True)]
    assert len(sent) > 20
    for key, png in sent:
        values = values_of(key)
        moved = {n: values[n] - base[n] for n in base if values[n] != base[n]}
        assert len(moved) == 1, key
        (name, delta), = moved.items()
        assert name == "step" or abs(delta) in (1, 2), key
        # the setting recomputed from the key alone, and PyTorch's own output size for it
        k, s, p = values["kernel_size"], values["stride"], values["padding"]
        geometry = layer_geometry("conv", (9, 9), k, s, p)
        conv = torch.nn.Conv2d(1, 1, k, s, p)
        with torch.no_grad():  # the explorer's panel: cell indices in, weight 1, bias 0
            conv.weight.fill_(1.0)
            conv.bias.fill_(0.0)
            out = conv(torch.arange(81.0).reshape(1, 1, 9, 9))[0, 0]
        assert geometry.output_size == tuple(out.shape)
        step = min(values["step"], geometry.n_steps - 1)
        figure = WindowFigure()  # its output cells say PyTorch's values, as the explorer's do
        figure.set_geometry(geometry, step=step, output_labels=[str(int(v)) for v in out.flatten().tolist()])
        assert png == figure.to_png(theme="light"), key
        figure.close()
    frames.close()


def test_refused_neighbours_are_not_sent() -> None:
    state = ExplorerState(input_size=4, kernel_size=3, run_torch=False)
    frames = ExplorerFrames(lambda: state.settings)
    ahead = FrameAhead(frames)
    ahead.watch({"kernel_size": W.IntSlider(3, min=1, max=6)})
    ahead.confirm({"kernel_size": 3}, b"l", b"d")
    ahead.fill()
    held = sorted(values_of(key)["kernel_size"] for key in ahead.held)
    assert held == [1, 2, 3, 4]  # 5 and 6 span more than the 4 input cells: PyTorch refuses
    assert frames({"kernel_size": 5}, "light") is None
    frames.close()


# ---------------------------------------------------------------------- the explorer's seam
@pytest.mark.parametrize("settings", [
    {"kind": "conv", "input_size": 9, "kernel_size": 3, "padding": 1},
    {"kind": "conv", "input_size": (9, 7), "kernel_size": (3, 2), "stride": 2},
    {"kind": "max_pool", "input_size": 8, "kernel_size": 3, "ceil_mode": True},
    {"kind": "avg_pool", "input_size": 8, "kernel_size": 2, "padding": 1},
    {"kind": "conv_transpose", "input_size": 5, "kernel_size": 3, "stride": 2, "output_padding": 1},
])
def test_explorer_frames_are_what_the_controls_would_show(settings: dict[str, Any]) -> None:
    """Each frame sent ahead is the geometry the explorer computes when the controls are moved
    to the frame's key, as the page would move them."""
    from convwidget.explorer.aheadframes import ExplorerAhead
    from convwidget.explorer.controls import Controls, Player

    def fail(err: BaseException) -> None:
        raise err

    state = ExplorerState(run_torch=False, **settings)
    controls, player = Controls(state, on_error=fail), Player()
    player.show(state.geometry, state.step)
    ahead = ExplorerAhead(state, controls, player)
    rec = Recorder(ahead.widget)
    ahead.confirm()
    assert ahead.frames.geometry(ahead.values())[0] == state.geometry  # the confirmed frame
    ahead.widget.fill()
    base = ahead.values()
    keyed = values_of(ahead.widget.key(base))  # dropdowns by index, disabled sliders left out
    assert not {n for n, w in ahead.watched.items() if w.disabled} & set(keyed)
    assert keyed["kind"] == controls.kind.index
    keys = [key for content, _ in rec.frames() for key in content["keys"]]
    moved_names = {n for key in keys for n, v in values_of(key).items() if v != keyed[n]}
    assert moved_names and moved_names <= {*ahead._ranges(), "step"}
    checked = 0
    for key in keys:
        (name,) = [n for n, v in values_of(key).items() if v != keyed[n]]
        if name == "step":
            continue
        values = {**base, name: values_of(key)[name]}
        assert ahead.widget.key(values) == key
        expected, _ = ahead.frames.geometry(values)
        ahead.watched[name].value = values[name]  # the learner's move, as the page sends it
        assert state.geometry == expected, key
        ahead.watched[name].value = base[name]
        assert state.geometry == ahead.frames.geometry(base)[0]
        checked += 1
    assert checked >= 4
    ahead.close()


def test_confirming_a_frame_sent_ahead_draws_nothing_new() -> None:
    """The setting a learner moves to was sent ahead: its confirmation reuses those bytes
    (the page keeps the URL it holds); a setting never drawn is drawn; the bytes kept stay
    under ``recent_bytes``, the newest kept."""
    drawn: list[tuple[int, str]] = []

    def render(values: dict[str, Any], theme: str) -> bytes:
        drawn.append((values["k"], theme))
        return f"{theme} k={values['k']} ".encode() * 50

    k = W.IntSlider(3, min=1, max=9)
    ahead = FrameAhead(render)
    ahead.watch({"k": k})
    ahead.confirm({"k": 3}, render({"k": 3}, "light"), b"")
    ahead.fill()
    sent = {v for v, _ in drawn}
    assert sent == {1, 2, 3, 4, 5}
    drawn.clear()
    ahead.request({"k": 4})  # no event loop: at once, both themes
    assert drawn == [(4, "dark")], "the light frame sent ahead was drawn again"
    assert ahead.value == render({"k": 4}, "light")
    drawn.clear()
    ahead.request({"k": 8})
    assert drawn == [(8, "light"), (8, "dark")]
    ahead.recent_bytes = 3 * len(render({"k": 8}, "light"))
    drawn.clear()
    ahead.request({"k": 9})
    assert ahead._recent_size <= ahead.recent_bytes and list(ahead._recent)[-1][0] == ahead.key({"k": 9})
    ahead.close()


def _random_settings(seed: int) -> dict[str, Any]:
    import random

    rng = random.Random(seed)
    kind = rng.choice(["conv", "conv", "max_pool", "avg_pool", "conv_transpose"])
    settings: dict[str, Any] = {"kind": kind, "input_size": (rng.randint(4, 12), rng.randint(4, 12)),
                                "kernel_size": (rng.randint(1, 4), rng.randint(1, 4)),
                                "stride": rng.randint(1, 3), "padding": rng.randint(0, 2)}
    if kind != "avg_pool":
        settings["dilation"] = rng.randint(1, 2)
    if kind == "max_pool":
        settings["ceil_mode"] = rng.random() < 0.5
    if kind in ("conv", "conv_transpose"):
        settings["in_channels"], settings["out_channels"] = rng.choice([(1, 1), (2, 4), (4, 4)])
        settings["groups"] = rng.choice([1, 2]) if settings["in_channels"] > 1 else 1
    if kind == "conv_transpose":
        settings["output_padding"] = rng.randint(0, 1)
    if kind == "avg_pool":
        settings["count_include_pad"] = rng.random() < 0.5
    return settings


@pytest.mark.parametrize("seed", range(12))
def test_texts_sent_ahead_are_what_the_explorer_shows_there(seed: int) -> None:
    """The texts each frame carries (the headline, the formula, PyTorch's verdict from the real
    layer, the lit cell) are exactly what the explorer's widgets show once the learner has
    moved the control to the frame's setting and the kernel has answered."""
    from convwidget import ConvExplorer

    settings = _random_settings(seed)
    e = ConvExplorer(ahead=True, **settings)
    ahead = e.ahead
    assert ahead is not None
    rec = Recorder(ahead.widget)
    ahead.confirm()
    ahead.widget.fill()
    base = ahead.values()
    keyed = values_of(ahead.widget.key(base))
    sent = [(key, texts) for content, _ in rec.frames()
            for key, texts in zip(content["keys"], content["texts"], strict=True)]
    start = {n: v for n, v in e.state.settings.items() if n != "ndim"}
    checked = 0
    for key, texts in sent[:24]:
        moved = {n: v for n, v in values_of(key).items() if v != keyed[n]}
        assert len(moved) == 1, (key, keyed)
        (name, value), = moved.items()
        ahead.watched[name].value = value  # the learner's move, as the page sends it
        now = values_of(ahead.widget.key(ahead.values()))
        now.setdefault("step", 0)  # (the step slider is enabled once a refused setting is left)
        if now == {"step": 0, **values_of(key)}:  # (not when the kernel moved another control)
            shown = {"output": e.output_label.value, "formula": e.formula.value,
                     "torch": e.torch_panel.value, "step": e.step_label.value}
            assert texts == shown, (settings, name, value)
            assert "torch.Size" in texts["torch"] or "PyTorch refuses" in texts["torch"]
            checked += 1
        e.set(**start)  # back to the setting the frames were sent for
        ahead.watched["step"].value = base["step"]
        assert ahead.values() == base
    assert checked >= min(len(sent), 4)
    e.close()
