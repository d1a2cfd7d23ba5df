"""URL presets: a link that opens the ConvExplorer at a prepared setting.

A teacher hands out ``.../voila/render/explorer_app.ipynb?kind=max_pool&input=7&kernel=2&ceil_mode=1``
and every learner's explorer opens at that setting. Voila gives the kernel the page's query
string as ``os.environ["QUERY_STRING"]``; :func:`explorer_from_url` reads it.

The keys are PyTorch's parameter names, with ``input`` and ``kernel`` short for
``input_size`` and ``kernel_size`` (the long names work too):

========================  ==============================================================
``kind``                  ``conv``, ``conv_transpose``, ``max_pool`` or ``avg_pool``
``dims``                  ``1`` (a strip: ``nn.Conv1d``...), ``2`` (the default) or ``3``
                          (a volume, depth ``x`` height ``x`` width)
``input``, ``kernel``,    a whole number, or height ``x`` width (``7x9``); 3-D: depth ``x``
                          height ``x`` width (``3x7x9``); ``dims=1``: one number
``stride``, ``dilation``,
``output_padding``
``padding``               a number, height ``x`` width, ``same`` or ``valid``
``ceil_mode``,            ``1``/``0``, ``true``/``false``, ``yes``/``no``
``count_include_pad``,
``presentation``
``in_channels``,          a whole number
``out_channels``,
``groups``
``step``                  the output cell the picture lights first (0 is the first)
========================  ==============================================================

Keys Voila itself reads (``theme=dark``, ``template``, ``voila-...``) and ``token`` are left
to it. A setting not given takes the explorer's default (a 7 × 7 input, kernel 3, stride 1
for a convolution, the kernel size for a pool). An unknown key or a bad value is a
``ValueError`` whose sentence names the key, the value and what is allowed; the app shows
that sentence above a default explorer, never a traceback.

>>> settings_from_query("kind=max_pool&input=7&kernel=2&ceil_mode=1")
{'kind': 'max_pool', 'input_size': 7, 'kernel_size': 2, 'ceil_mode': True}
>>> query_from_settings({'kind': 'max_pool', 'input_size': (7, 7), 'kernel_size': (2, 2),
...                      'stride': (2, 2), 'ceil_mode': True})
'kind=max_pool&input=7&kernel=2&ceil_mode=1'
>>> settings_from_query("kernal=3")
Traceback (most recent call last):
...
ValueError: the link has an unknown key 'kernal' (kernal=3); ...
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import ipywidgets as W

from ..spec import KINDS
from .state import DEFAULTS

__all__ = [
    "BINDER_APP", "LINK_KEYS", "MAX_VALUE", "binder_link", "explorer_from_url", "query_from_settings",
    "served_alone", "settings_from_query", "share_box", "share_link",
]

#: The largest number a link may give (a size, a channel count, a step is bounded apart).
MAX_VALUE = 4096
_MAX_STEP = 10**7
#: The README's Binder link to the Voila app; a preset's query goes after it (URL-encoded).
BINDER_APP = ("https://mybinder.org/v2/gh/convwidget/convwidget/main"
              "?urlpath=voila/render/notebooks/explorer_app.ipynb")

_PAIR_HELP = "a whole number from {lo} to {hi}, or height x width (e.g. {ex})"
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
               "0": False, "false": False, "no": False, "off": False}
#: Query keys Voila (or the server) reads for itself: not the explorer's.
_NOT_OURS = re.compile(r"^(voila-.*|token|theme|template)$")


def _number(key: str, raw: str, lo: int, hi: int, allowed: str) -> int:
    if not re.fullmatch(r"\d{1,9}", raw) or not lo <= int(raw) <= hi:
        raise ValueError(f"{key}={raw} in the link: {key} must be {allowed}")
    return int(raw)


def _whole(lo: int, hi: int = MAX_VALUE) -> Callable[[str, str], Any]:
    def parse(key: str, raw: str) -> int:
        return _number(key, raw, lo, hi, f"a whole number from {lo} to {hi}")
    return parse


def _pair(lo: int, example: str) -> Callable[[str, str], Any]:
    allowed = _PAIR_HELP.format(lo=lo, hi=MAX_VALUE, ex=example)

    def parse(key: str, raw: str) -> Any:
        parts = raw.lower().split("x")
        if len(parts) > 3:
            raise ValueError(f"{key}={raw} in the link: {key} must be {allowed}")
        values = tuple(_number(key, part, lo, MAX_VALUE, allowed) for part in parts)
        # a 3-part value stays 3 numbers: it says the explorer is 3-D (dims=3)
        return values[0] if len(values) == 1 or values == values[:1] * 2 else values
    return parse


def _padding(key: str, raw: str) -> Any:
    if raw.lower() in ("same", "valid"):
        return raw.lower()
    try:
        return _pair(0, "1, 2x1, same or valid")(key, raw)
    except ValueError:
        raise ValueError(f"{key}={raw} in the link: padding must be a whole number from 0 to "
                         f"{MAX_VALUE}, height x width (e.g. 2x1), 'same' or 'valid'") from None


def _flag(key: str, raw: str) -> bool:
    try:
        return _BOOL_WORDS[raw.lower()]
    except KeyError:
        raise ValueError(f"{key}={raw} in the link: {key} must be 1 or 0 (also true/false, "
                         "yes/no)") from None


def _kind(key: str, raw: str) -> str:
    if raw not in KINDS:
        raise ValueError(f"{key}={raw} in the link: kind must be one of {', '.join(KINDS)}")
    return raw


#: link key -> (setting name, parser of the value); the order is the order links are written in.
LINK_KEYS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "kind": ("kind", _kind),
    "dims": ("ndim", _whole(1, 3)),
    "input": ("input_size", _pair(1, "7 or 7x9")),
    "kernel": ("kernel_size", _pair(1, "3 or 3x2")),
    "stride": ("stride", _pair(1, "2 or 2x1")),
    "padding": ("padding", _padding),
    "dilation": ("dilation", _pair(1, "2 or 2x1")),
    "output_padding": ("output_padding", _pair(0, "1 or 1x0")),
    "ceil_mode": ("ceil_mode", _flag),
    "count_include_pad": ("count_include_pad", _flag),
    "in_channels": ("in_channels", _whole(1)),
    "out_channels": ("out_channels", _whole(1)),
    "groups": ("groups", _whole(1)),
    "step": ("step", _whole(0, _MAX_STEP)),
    "presentation": ("presentation", _flag),
}
_ALIASES = {"input_size": "input", "kernel_size": "kernel", "ndim": "dims"}

#: The settings each kind has; a link giving another one must leave it at its neutral value.
_KIND_HAS = {
    "conv": {"dilation", "in_channels", "out_channels", "groups"},
    "conv_transpose": {"dilation", "output_padding", "in_channels", "out_channels", "groups"},
    "max_pool": {"dilation", "ceil_mode", "in_channels"},
    "avg_pool": {"ceil_mode", "count_include_pad", "in_channels"},
}
_NEUTRAL = {"dilation": 1, "output_padding": 0, "ceil_mode": False, "count_include_pad": True,
            "out_channels": None, "groups": 1}
#: Written into every link even at their defaults: what a reader of the link looks for first.
_ALWAYS = ("kind", "input_size", "kernel_size")
_LAYER = {"conv": "a convolution (nn.Conv2d)", "conv_transpose": "a transposed convolution "
          "(nn.ConvTranspose2d)", "max_pool": "max pooling (nn.MaxPool2d)",
          "avg_pool": "average pooling (nn.AvgPool2d)"}


def _pairs(query: str) -> Iterator[tuple[str, str]]:
    for key, raw in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if _NOT_OURS.match(key):
            continue
        name = _ALIASES.get(key, key)
        if name not in LINK_KEYS:
            raise ValueError(f"the link has an unknown key {key!r} ({key}={raw}); it takes "
                             f"{', '.join(LINK_KEYS)}")
        if raw.strip() == "":
            raise ValueError(f"{key}= in the link has no value; write e.g. {name}=2, or leave {key} out")
        yield name, raw.strip()


def settings_from_query(query: str) -> dict[str, Any]:
    """The explorer settings a URL query string asks for (see the module docstring).

    Returns ConvExplorer keyword settings in PyTorch's names, and ``step`` and
    ``presentation`` when the link gives them; a setting the link leaves out is not in the
    dict. A per-dimension value is one int when height and width agree, else a pair.

    >>> settings_from_query("?input=7x9&padding=same&kernel=3&dilation=2")
    {'input_size': (7, 9), 'padding': 'same', 'kernel_size': 3, 'dilation': 2}
    >>> settings_from_query("kind=avg_pool&dilation=2")
    Traceback (most recent call last):
    ...
    ValueError: dilation=2 in the link: average pooling (nn.AvgPool2d) has no dilation; ...
    """
    settings: dict[str, Any] = {}
    given: dict[str, str] = {}
    for name, raw in _pairs(query):
        if name in given:
            raise ValueError(f"the link gives {name} twice ({name}={given[name]} and {name}={raw}); "
                             "keep one")
        given[name] = raw
        setting, parse = LINK_KEYS[name]
        settings[setting] = parse(name, raw)
    _check_kind(settings, given)
    return settings


def _check_kind(settings: dict[str, Any], given: dict[str, str]) -> None:
    """Settings the kind lacks must keep their neutral value; 'same'/'valid' only for conv."""
    kind = settings.get("kind", DEFAULTS["kind"])
    has = _KIND_HAS[kind]
    for name, neutral in _NEUTRAL.items():
        if name in settings and name not in has:
            if neutral is None:
                neutral = settings.get("in_channels", DEFAULTS["in_channels"])
            if settings[name] != neutral:
                raise ValueError(f"{name}={given[name]} in the link: {_LAYER[kind]} has no {name}; "
                                 f"leave {name} out of the link, or choose a kind that has it")
    padding = settings.get("padding")
    if isinstance(padding, str) and kind != "conv":
        raise ValueError(f"padding={given['padding']} in the link: 'same' and 'valid' are only for "
                         f"a convolution (kind=conv), not {_LAYER[kind]}; give padding as a number")


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (tuple, list)):
        values = tuple(int(v) for v in value)
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))
    return str(value)


def _default(name: str, settings: Mapping[str, Any]) -> Any:
    if name == "stride":
        pool = settings.get("kind", DEFAULTS["kind"]) in ("max_pool", "avg_pool")
        return settings.get("kernel_size", DEFAULTS["kernel_size"]) if pool else 1
    if name == "out_channels" and settings.get("kind", DEFAULTS["kind"]) in ("max_pool", "avg_pool"):
        return settings.get("in_channels", DEFAULTS["in_channels"])
    return {**DEFAULTS, "step": 0, "presentation": False}.get(name)


def query_from_settings(settings: Mapping[str, Any]) -> str:
    """The query string that opens an explorer at ``settings`` (the inverse of
    :func:`settings_from_query`).

    ``settings`` are in PyTorch's names, as :attr:`ConvExplorer.settings` gives them (``step``
    and ``presentation`` may be added). A setting at its default, or one the kind does not
    have, is left out, so links stay short; ``kind``, ``input`` and ``kernel`` are always written.

    >>> query_from_settings({"kind": "conv", "input_size": (7, 9), "kernel_size": 3,
    ...                      "padding": "same", "dilation": (2, 2), "step": 4})
    'kind=conv&input=7x9&kernel=3&padding=same&dilation=2&step=4'
    """
    kind = settings.get("kind", DEFAULTS["kind"])
    parts = []
    for key, (name, _parse) in LINK_KEYS.items():
        if name not in settings or settings[name] is None:
            continue
        if name in _NEUTRAL and name not in _KIND_HAS[kind]:
            continue  # the kind lacks it: its value is neutral, not part of the setting
        text = _text(name, settings[name])
        if name in _ALWAYS or text != _text(name, _default(name, settings)):
            parts.append(f"{key}={quote(text)}")
    return "&".join(parts)


# ---------------------------------------------------------------------- the app
def _explorer_class() -> Any:
    from .app import ConvExplorer  # the widget only where one is built

    return ConvExplorer


def _build(settings: dict[str, Any], options: Mapping[str, Any] | None = None) -> Any:
    cls = _explorer_class()
    settings = dict(settings)
    step = settings.pop("step", None)
    explorer = cls(**settings, **(options or {}))
    if step is not None:
        explorer.state.step = step  # clamped to the last output cell, as the slider is (Play too)
    return explorer


def explorer_from_url(query: str | None = None, default: Mapping[str, Any] | None = None,
                      **options: Any) -> Any:
    """The ConvExplorer a page's URL asks for, or the reason it cannot open above a default one.

    ``query`` is the URL's query string; None reads ``os.environ["QUERY_STRING"]``, which
    Voila sets for the notebook's kernel. With no setting in the query the explorer opens
    at ``default`` (ConvExplorer keyword settings; None: the explorer's own defaults). A
    link with a bad key or value, or a setting the explorer refuses, gives a ``VBox``: the
    sentence saying what is wrong (CSS class ``cw-preset-error``), then the default explorer.
    ``options`` go to ConvExplorer as they are (e.g. ``ahead=True``).

    >>> explorer_from_url("kind=max_pool&input=7&kernel=2&ceil_mode=1").output_size
    (4, 4)
    >>> box = explorer_from_url("kernel=0")
    >>> print(box.children[0].value)  # doctest: +ELLIPSIS
    <div ...>✗ This link's setting cannot be opened: kernel=0 in the link: kernel must be ...
    """
    if query is None:
        query = os.environ.get("QUERY_STRING", "")
    try:
        settings = settings_from_query(query)
        if not set(settings) - {"step", "presentation"}:  # no setting given: the app's own
            settings = {**(default or {}), **settings}
        return _build(settings, options)
    except ValueError as err:
        problem = err
    note = W.HTML(
        "<div style='color: var(--jp-ui-font-color0, #222); border-left: 4px solid #D55E00; "
        "padding: 2px 8px'>✗ This link's setting cannot be opened: "
        f"{html.escape(str(problem).rstrip('.'))}. The explorer below starts at its usual setting.</div>")
    note.add_class("cw-preset-error")
    box = W.VBox([note, _build(dict(default or {}), options)])
    box.add_class("cw-preset")
    return box


def _find_explorer(widget: Any) -> Any:
    cls = _explorer_class()
    if isinstance(widget, cls):
        return widget
    for child in getattr(widget, "children", ()):
        found = _find_explorer(child)
        if found is not None:
            return found
    return None


def _required_explorer(widget: Any, caller: str) -> Any:
    found = _find_explorer(widget)
    if found is None:
        raise ValueError(f"{caller} needs a ConvExplorer (or a box holding one), not "
                         f"{type(widget).__name__}")
    return found


def _explorer_settings(explorer: Any) -> dict[str, Any]:
    settings = dict(explorer.settings)
    settings["step"] = explorer.state.step
    if getattr(explorer, "presentation", False) is True:
        settings["presentation"] = True
    return settings


def share_link(explorer: Any, base: str | None = None) -> str:
    """The link that opens ``explorer``'s current setting (and lit output cell).

    ``base`` is the app's address; None takes the address Voila served this page at
    (``VOILA_REQUEST_URL`` without its query) and, outside Voila, the app's name
    ``explorer_app.ipynb`` (relative: it resolves beside the page in a Voila folder).

    >>> from convwidget import ConvExplorer
    >>> share_link(ConvExplorer(kind="max_pool", input_size=7, kernel_size=2, ceil_mode=True),
    ...            "http://127.0.0.1:8866/voila/render/explorer_app.ipynb")
    'http://127.0.0.1:8866/voila/render/explorer_app.ipynb?kind=max_pool&input=7&kernel=2&ceil_mode=1'
    """
    found = _required_explorer(explorer, "share_link")
    if base is None:
        url = os.environ.get("VOILA_REQUEST_URL", "")
        base = urlunsplit(urlsplit(url)._replace(query="", fragment="")) if url else "explorer_app.ipynb"
    query = query_from_settings(_explorer_settings(found))
    return f"{base}?{query}" if query else base


def binder_link(query: str) -> str:
    """The Binder link that opens the Voila app at a preset (the query is URL-encoded into
    Binder's ``urlpath``).

    >>> binder_link("kind=max_pool&input=7")  # doctest: +ELLIPSIS
    'https://mybinder.org/.../explorer_app.ipynb%3Fkind%3Dmax_pool%26input%3D7'
    """
    return f"{BINDER_APP}{quote('?' + query, safe='')}" if query else BINDER_APP


_LINK_STYLE = "color: var(--jp-content-link-color, #1a5fa8)"
_TEXT_STYLE = "color: var(--jp-ui-font-color1, #333)"


def served_alone() -> bool:
    """True in a kernel that a single-notebook Voila (``voila NAME.ipynb``) runs.

    Such a server renders that one notebook: every other path goes to its file handler, which
    serves images only, so a link to another notebook answers 403 there. A Voila serving a
    folder (``voila notebooks/``), or Voila inside Jupyter Server (Binder), renders any notebook
    under ``/voila/render/``, where relative ``NAME.ipynb`` links work.

    >>> served_alone()  # not under Voila
    False
    """
    under_voila = os.environ.get("SERVER_SOFTWARE", "").startswith("voila/")
    return under_voila and "/voila/render/" not in os.environ.get("SCRIPT_NAME", "")


def _tutorials_html() -> str:
    """Binder links to the tutorials beside this notebook (for a single-notebook Voila)."""
    names = sorted(p for p in os.listdir(".") if re.fullmatch(r"\d\d_\w+\.ipynb", p))
    links = " · ".join(
        f"<a href='{html.escape(BINDER_APP.rsplit('/', 1)[0])}/{quote(name)}' target='_blank' "
        f"style='{_LINK_STYLE}'>{html.escape(name[:-6].replace('_', ' '))}</a>" for name in names)
    return (f"<div style='{_TEXT_STYLE}'>This Voila serves this one notebook, so the tutorial links "
            "above cannot open here; serve the folder instead (<code>voila notebooks/</code>, then "
            "open <code>/voila/render/explorer_app.ipynb</code>)"
            + (f", or open them on Binder: {links}" if links else "") + ".</div>")


def _share_html(explorer: Any) -> str:
    """Under Voila: this page's link and Binder's. Elsewhere (JupyterLab opens a notebook
    link without running it as an app): Binder's, and the query to add to a Voila address."""
    query = query_from_settings(_explorer_settings(_find_explorer(explorer)))
    binder = (f"<a href='{html.escape(binder_link(query))}' target='_blank' "
              f"style='{_LINK_STYLE}'>on Binder</a>")
    if os.environ.get("VOILA_REQUEST_URL"):
        here = html.escape(share_link(explorer))
        line = f"<a href='{here}' target='_blank' style='{_LINK_STYLE}'><code>{here}</code></a> · {binder}"
    else:
        line = (f"{binder} · under Voila, add <code>?{html.escape(query)}</code> to "
                "<code>.../voila/render/explorer_app.ipynb</code>")
    return (f"<div style='{_TEXT_STYLE}'>Link to this setting: {line}</div>"
            + (_tutorials_html() if served_alone() else ""))


def share_box(explorer: Any) -> W.HTML:
    """A line with the link to the explorer's current setting, kept up to date as it moves
    (CSS class ``cw-share-link``): copy it to hand the setting out.

    >>> from convwidget import ConvExplorer
    >>> e = ConvExplorer(input_size=7)
    >>> box = share_box(e)
    >>> "<code>?kind=conv&amp;input=7&amp;kernel=3</code>" in box.value  # not under Voila
    True
    >>> _ = e.set(stride=2)
    >>> "<code>?kind=conv&amp;input=7&amp;kernel=3&amp;stride=2</code>" in box.value
    True
    """
    found = _required_explorer(explorer, "share_box")
    box = W.HTML(_share_html(found))
    box.add_class("cw-share-link")

    def update(_change: Any = None) -> None:
        box.value = _share_html(found)

    found.state.observe(update, names=["results", "step"])
    toggle = getattr(found, "presentation_button", None)  # projector mode is part of the link
    if isinstance(toggle, W.ValueWidget):
        toggle.observe(update, names="value")
    return box
