"""URL presets (convwidget.explorer.presets): a link opens the explorer at a prepared setting.

The oracle for what a link means is PyTorch: each preset is turned into a ``torch.nn`` layer
here, from the link's own keys and the documented defaults (a 7 × 7 input, kernel 3, stride 1
for a convolution and the kernel size for a pool), and the explorer the link opens must give
the output size that layer gives, or refuse where it refuses.
"""

from __future__ import annotations

import re
import warnings
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from convwidget import ConvExplorer
from convwidget.explorer.presets import (
    binder_link,
    explorer_from_url,
    query_from_settings,
    settings_from_query,
    share_box,
    share_link,
)
from convwidget.explorer.state import ExplorerState

PRESET_QUERY = "kind=max_pool&input=7&kernel=2&ceil_mode=1"


@pytest.mark.parametrize(("query", "expected"), [
    (PRESET_QUERY, {"kind": "max_pool", "input_size": 7, "kernel_size": 2, "ceil_mode": True}),
    ("?input=7x9&kernel=3x2", {"input_size": (7, 9), "kernel_size": (3, 2)}),
    ("input_size=5&kernel_size=5x5", {"input_size": 5, "kernel_size": 5}),
    ("padding=same", {"padding": "same"}),
    ("padding=VALID", {"padding": "valid"}),
    ("padding=2x1&stride=1x2", {"padding": (2, 1), "stride": (1, 2)}),
    ("kind=conv_transpose&output_padding=1&dilation=2",
     {"kind": "conv_transpose", "output_padding": 1, "dilation": 2}),
    ("kind=avg_pool&count_include_pad=no&ceil_mode=yes",
     {"kind": "avg_pool", "count_include_pad": False, "ceil_mode": True}),
    ("ceil_mode=false&kind=max_pool", {"ceil_mode": False, "kind": "max_pool"}),
    ("in_channels=4&out_channels=6&groups=2", {"in_channels": 4, "out_channels": 6, "groups": 2}),
    ("step=3&presentation=1", {"step": 3, "presentation": True}),
    ("kind=max_pool&out_channels=3&in_channels=3", {"kind": "max_pool", "out_channels": 3, "in_channels": 3}),
    ("kind=conv&ceil_mode=0", {"kind": "conv", "ceil_mode": False}),   # neutral: harmless
    ("voila-theme=dark&token=abc&kernel=4", {"kernel_size": 4}),      # Voila's own keys
    ("theme=dark&template=lab&kind=avg_pool", {"kind": "avg_pool"}),
    ("", {}),
])
def test_a_query_gives_explorer_settings(query: str, expected: dict[str, Any]) -> None:
    assert settings_from_query(query) == expected


@pytest.mark.parametrize(("query", "match"), [
    ("kernal=3", r"unknown key 'kernal' \(kernal=3\); it takes kind, dims, input, kernel, stride"),
    ("kind=maxpool", r"kind=maxpool in the link: kind must be one of conv, conv_transpose, max_pool"),
    ("kernel=0", r"kernel=0 in the link: kernel must be a whole number from 1 to 4096, or height x width"),
    ("input=7x9x3x2", r"input=7x9x3x2 in the link: input must be a whole number from 1 to 4096"),
    ("input=5000", r"input=5000 in the link: input must be a whole number from 1 to 4096"),
    ("stride=-1", r"stride=-1 in the link: stride must be a whole number from 1"),
    ("stride=2.5", r"stride=2.5 in the link: stride must be a whole number"),
    ("padding=full", r"padding=full in the link: padding must be .*'same' or 'valid'"),
    ("ceil_mode=maybe", r"ceil_mode=maybe in the link: ceil_mode must be 1 or 0 \(also true/false, yes/no\)"),
    ("groups=0", r"groups=0 in the link: groups must be a whole number from 1 to 4096"),
    ("kernel=", r"kernel= in the link has no value; write e.g. kernel=2, or leave kernel out"),
    ("kernel=2&kernel_size=3", r"the link gives kernel twice \(kernel=2 and kernel=3\); keep one"),
    ("kind=avg_pool&dilation=2",
     r"dilation=2 in the link: average pooling \(nn.AvgPool2d\) has no dilation; leave dilation out"),
    ("kind=conv&ceil_mode=1", r"ceil_mode=1 in the link: a convolution \(nn.Conv2d\) has no ceil_mode"),
    ("kind=max_pool&groups=2", r"groups=2 in the link: max pooling \(nn.MaxPool2d\) has no groups"),
    ("output_padding=1", r"output_padding=1 in the link: a convolution \(nn.Conv2d\) has no output_padding"),
    ("kind=max_pool&padding=same",
     r"padding=same in the link: 'same' and 'valid' are only for a convolution \(kind=conv\)"),
])
def test_a_bad_link_is_one_sentence_naming_key_value_and_what_is_allowed(query: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        settings_from_query(query)


# ---------------------------------------------------------------------- torch is the oracle
def _torch_output(preset: dict[str, Any]) -> tuple[int, ...] | None:
    """The output (H, W) of the torch.nn layer the link describes, None where torch refuses."""
    kind = preset.get("kind", "conv")
    pool = kind in ("max_pool", "avg_pool")
    kernel = preset.get("kernel_size", 3)
    stride = preset.get("stride", kernel if pool else 1)
    padding = preset.get("padding", 0)
    dilation = preset.get("dilation", 1)
    cin = preset.get("in_channels", 1)
    size = preset.get("input_size", 7)
    size = size if isinstance(size, tuple) else (size, size)
    try:
        if kind == "conv":
            layer: nn.Module = nn.Conv2d(cin, preset.get("out_channels", 1), kernel, stride, padding,
                                         dilation, preset.get("groups", 1))
        elif kind == "conv_transpose":
            layer = nn.ConvTranspose2d(cin, preset.get("out_channels", 1), kernel, stride, padding,
                                       preset.get("output_padding", 0), preset.get("groups", 1),
                                       dilation=dilation)
        elif kind == "max_pool":
            layer = nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=preset.get("ceil_mode", False))
        else:
            layer = nn.AvgPool2d(kernel, stride, padding, ceil_mode=preset.get("ceil_mode", False),
                                 count_include_pad=preset.get("count_include_pad", True))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # 'same' with an even kernel: a copy, fine
            out = layer(torch.zeros(1, cin, *size))
    except (RuntimeError, ValueError):
        return None
    return tuple(out.shape[-2:]) if out.numel() else None


def _dims(lo: int, hi: int) -> st.SearchStrategy[str]:
    one = st.integers(lo, hi).map(str)
    return st.one_of(one, st.tuples(one, one).map("x".join))


@st.composite
def presets(draw: st.DrawFn) -> str:
    """A random link a teacher could write: a kind and some of the settings that kind has."""
    kind = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
    keys: dict[str, st.SearchStrategy[str]] = {
        "input": _dims(1, 12), "kernel": _dims(1, 5), "stride": _dims(1, 3),
        "padding": st.one_of(_dims(0, 3), st.just("same"), st.just("valid")) if kind == "conv"
        else _dims(0, 3),
    }
    if kind != "avg_pool":
        keys["dilation"] = _dims(1, 3)
    if kind == "conv_transpose":
        keys["output_padding"] = _dims(0, 2)
    if kind in ("max_pool", "avg_pool"):
        keys["ceil_mode"] = st.sampled_from(["1", "0", "true", "no"])
    if kind == "avg_pool":
        keys["count_include_pad"] = st.sampled_from(["1", "0"])
    if kind in ("conv", "conv_transpose"):
        keys["in_channels"] = st.sampled_from(["1", "2", "4"])
        keys["out_channels"] = st.sampled_from(["1", "2", "6"])
        keys["groups"] = st.sampled_from(["1", "2"])
    chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True))
    parts = [f"kind={kind}"] + [f"{key}={draw(keys[key])}" for key in chosen]
    return "&".join(draw(st.permutations(parts)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presets())
def test_a_random_preset_opens_the_output_size_torch_gives(query: str) -> None:
    preset = settings_from_query(query)
    expected = _torch_output(preset)
    made = explorer_from_url(query)
    try:
        if isinstance(made, ConvExplorer):
            assert made.output_size == expected, (query, made.output_size, expected)
        else:  # the explorer refused the combination outright: so must torch
            assert "cw-preset-error" in made.children[0]._dom_classes
            assert expected is None, query
    finally:
        made.close()


@st.composite
def states(draw: st.DrawFn) -> ExplorerState:
    kind = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
    pair = st.one_of(st.integers(1, 9), st.tuples(st.integers(1, 9), st.integers(1, 9)))
    kw: dict[str, Any] = {"kind": kind, "input_size": draw(pair), "kernel_size": draw(pair),
                          "stride": draw(pair), "dilation": draw(pair),
                          "padding": draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3),
                                                                                 st.integers(0, 3)))),
                          "output_padding": draw(st.integers(0, 2)), "ceil_mode": draw(st.booleans()),
                          "count_include_pad": draw(st.booleans()),
                          "in_channels": draw(st.sampled_from([1, 2, 4])),
                          "out_channels": draw(st.sampled_from([1, 2, 6])),
                          "groups": draw(st.sampled_from([1, 2]))}
    if kind == "conv" and draw(st.booleans()):
        kw["padding"] = draw(st.sampled_from(["same", "valid"]))
    try:
        state = ExplorerState(run_torch=False, **kw)
    except ValueError:
        assume(False)
        raise
    state.step = draw(st.integers(0, 50))
    return state


@settings(max_examples=150, deadline=None)
@given(states())
def test_settings_round_trip_through_a_link(state: ExplorerState) -> None:
    full = {**state.settings, "step": state.step}
    query = query_from_settings(full)
    back = settings_from_query(query)
    step = back.pop("step", 0)
    again = ExplorerState(run_torch=False, **back)
    again.step = step
    assert again.settings == state.settings, query
    assert again.step == state.step, query
    assert query_from_settings({**again.settings, "step": again.step}) == query   # one spelling
    state.close()
    again.close()


# ---------------------------------------------------------------------- the app's functions
def test_explorer_from_url_reads_voilas_query_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUERY_STRING", PRESET_QUERY)
    explorer = explorer_from_url(default={"kernel_size": 5})
    layer = nn.MaxPool2d(2, ceil_mode=True)
    assert isinstance(explorer, ConvExplorer)
    assert explorer.output_size == tuple(layer(torch.zeros(1, 1, 7, 7)).shape[-2:]) == (4, 4)
    assert explorer.kind.value == "max_pool" and explorer.settings["ceil_mode"] is True
    explorer.close()


def test_without_a_setting_in_the_link_the_app_opens_at_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUERY_STRING", raising=False)
    default = {"kind": "conv", "input_size": (7, 7), "kernel_size": 3, "stride": 2, "padding": 1}
    explorer = explorer_from_url(default=default)
    expected = nn.Conv2d(1, 1, 3, 2, 1)(torch.zeros(1, 1, 7, 7)).shape[-2:]
    assert explorer.output_size == tuple(expected)
    explorer.close()
    explorer = explorer_from_url("step=2", default=default)  # a step alone keeps the default setting
    assert explorer.output_size == tuple(expected) and explorer.state.step == 2
    explorer.close()


def test_a_bad_link_shows_its_sentence_above_a_default_explorer() -> None:
    box = explorer_from_url("kernal=3", default={"kernel_size": 5})
    note, explorer = box.children
    assert "cw-preset-error" in note._dom_classes
    assert "unknown key &#x27;kernal&#x27; (kernal=3)" in note.value
    assert "Traceback" not in note.value
    assert isinstance(explorer, ConvExplorer)
    assert explorer.output_size == tuple(nn.Conv2d(1, 1, 5)(torch.zeros(1, 1, 7, 7)).shape[-2:])
    box.close()
    explorer.close()


def test_a_setting_the_explorer_refuses_is_a_sentence_too() -> None:
    # a readable link, but PyTorch's pools refuse 'same': the state's own sentence is shown
    box = explorer_from_url("kind=max_pool&padding=same")
    assert "only for a convolution" in box.children[0].value
    box.children[1].close()
    box.close()


def test_the_step_is_set_and_clamped_like_the_slider() -> None:
    explorer = explorer_from_url("input=5&kernel=3&step=4")      # a 3 × 3 output: steps 0..8
    assert explorer.state.step == 4
    # the page's Play <-> step jslink copies Play's value to the slider first (test_voila)
    assert explorer.play.value == explorer.step.value == 4
    explorer.close()
    explorer = explorer_from_url("input=5&kernel=3&step=100")
    assert explorer.state.step == 8
    explorer.close()


def test_presentation_in_a_link_turns_on_projector_mode_where_the_explorer_has_it() -> None:
    import inspect

    explorer = explorer_from_url("presentation=1&kernel=2")
    assert explorer.settings["kernel_size"] == (2, 2)
    if "presentation" in inspect.signature(ConvExplorer.__init__).parameters:
        assert explorer.presentation is True
    explorer.close()


def test_the_share_link_reopens_the_same_setting_and_step() -> None:
    explorer = ConvExplorer(kind="conv_transpose", input_size=(5, 6), kernel_size=(3, 2), stride=2,
                            padding=1, output_padding=1, in_channels=2, out_channels=4, groups=2)
    explorer.state.step = 7
    base = "http://127.0.0.1:8866/voila/render/explorer_app.ipynb"
    link = share_link(explorer, base)
    assert link.startswith(base + "?kind=conv_transpose&input=5x6&kernel=3x2&stride=2")
    again = explorer_from_url(urlsplit(link).query)
    assert again.settings == explorer.settings and again.state.step == 7
    layer = nn.ConvTranspose2d(2, 4, (3, 2), 2, 1, 1, groups=2)
    assert again.output_size == tuple(layer(torch.zeros(1, 2, 5, 6)).shape[-2:])
    explorer.close()
    again.close()


def test_the_share_link_is_the_page_voila_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOILA_REQUEST_URL",
                       "http://127.0.0.1:9000/voila/render/explorer_app.ipynb?kind=conv&kernel=5")
    explorer = ConvExplorer(kind="avg_pool", input_size=6, kernel_size=2, count_include_pad=False)
    assert share_link(explorer) == ("http://127.0.0.1:9000/voila/render/explorer_app.ipynb"
                                    "?kind=avg_pool&input=6&kernel=2&count_include_pad=0")
    box = share_box(explorer)
    assert "cw-share-link" in box._dom_classes
    explorer.set(kernel_size=3)
    assert "kernel=3" in box.value and "stride=2" in box.value   # the pool keeps stride 2
    explorer.close()
    box.close()


def test_share_link_refuses_what_is_not_an_explorer() -> None:
    with pytest.raises(ValueError, match="share_link needs a ConvExplorer .*, not int"):
        share_link(3)


def test_the_binder_link_carries_the_preset_into_voila() -> None:
    link = binder_link(PRESET_QUERY)
    urlpath = parse_qs(urlsplit(link).query)["urlpath"][0]
    assert unquote(urlpath) == urlpath  # parse_qs decoded it once: Binder gets the plain path
    assert urlpath == f"voila/render/notebooks/explorer_app.ipynb?{PRESET_QUERY}"


@pytest.mark.parametrize(("script_name", "alone"), [
    ("/", True),                                                       # voila notebooks/explorer_app.ipynb
    ("/voila/render/explorer_app.ipynb", False),                       # voila notebooks/
    ("/user/ab-c/voila/render/notebooks/explorer_app.ipynb", False),   # Binder (Jupyter Server)
])
def test_a_single_notebook_voila_says_why_tutorial_links_cannot_open_and_offers_binder(
        monkeypatch: pytest.MonkeyPatch, script_name: str, alone: bool) -> None:
    from pathlib import Path

    from convwidget.explorer.presets import served_alone

    monkeypatch.chdir(Path(__file__).resolve().parents[1] / "notebooks")  # Voila's kernel cwd
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    monkeypatch.setenv("SCRIPT_NAME", script_name)
    assert served_alone() is alone
    explorer = ConvExplorer()
    box = share_box(explorer)
    assert ("This Voila serves this one notebook" in box.value) is alone
    if alone:
        assert "voila notebooks/" in box.value
        for n in range(1, 7):
            assert f"?urlpath=voila/render/notebooks/0{n}_" in box.value
    explorer.close()
    box.close()


def test_projector_mode_is_part_of_the_link_where_the_explorer_has_it() -> None:
    import inspect

    if "presentation" not in inspect.signature(ConvExplorer.__init__).parameters:
        pytest.skip("this ConvExplorer has no projector mode yet")
    explorer = explorer_from_url("presentation=1&kernel=2")
    box = share_box(explorer)
    assert "presentation=1" in share_link(explorer) and "presentation=1" in box.value
    explorer.presentation = False
    assert "presentation" not in box.value
    explorer.close()
    box.close()


def test_the_teaching_guides_links_open_the_setting_it_says() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "teaching.md").read_text()
    section = guide.split("## Hand out a link", 1)[1]
    binder, local = re.findall(r"^(https?://\S+)$", section, re.M)[:2]
    assert binder == binder_link(PRESET_QUERY)
    assert urlsplit(local).query == PRESET_QUERY
    explorer = explorer_from_url(urlsplit(local).query)
    assert explorer.output_size == tuple(nn.MaxPool2d(2, ceil_mode=True)(torch.zeros(1, 1, 7, 7)).shape[-2:])
    assert "output 4 × 4" in section
    explorer.close()
    quotes = re.findall(r'"([^"]+) …"', section)   # the sentences it quotes are ours
    assert len(quotes) == 2
    for quoted, query in zip(quotes, ["kernal=3", "kind=avg_pool&dilation=2"], strict=True):
        with pytest.raises(ValueError, match=re.escape(quoted)):
            settings_from_query(query)
