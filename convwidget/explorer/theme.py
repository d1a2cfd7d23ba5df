"""Colours that read in JupyterLab Light and Dark, and the one ``<style>`` block that picks them.

HTML panels never hard-code a colour: they name a class (``cw-ok``, ``cw-bad``, ``cw-note``,
``cw-muted``, ``cw-lit``) and :data:`STYLE` gives each class a light-theme and a dark-theme
shade. JupyterLab marks its theme on ``<body data-jp-theme-light="true|false">``; without the
attribute (Voila's default template, an HTML export) the light shades apply. Grey text uses
JupyterLab's own variables, with a fallback for pages that lack them.

Every shade reaches 4.5:1 (WCAG AA) against the output area's background of its theme
(``--jp-layout-color0``: white in Light, ``#111`` in Dark); :func:`contrast` computes it.

>>> light, dark = COLOURS["ok"]
>>> round(contrast(light, LIGHT_BACKGROUND), 1), round(contrast(dark, DARK_BACKGROUND), 1)
(6.1, 11.2)
>>> all(contrast(light, LIGHT_BACKGROUND) >= 4.5 and contrast(dark, DARK_BACKGROUND) >= 4.5
...     for light, dark in COLOURS.values())
True
"""

from __future__ import annotations

__all__ = [
    "BORDERS",
    "COLOURS",
    "DARK",
    "DARK_BACKGROUND",
    "LIGHT_BACKGROUND",
    "MUTED_VARIABLE",
    "PRESENTATION_SCALE",
    "STYLE",
    "blend",
    "contrast",
    "luminance",
    "span",
]

#: --jp-layout-color0 of JupyterLab Light and Dark: the output area's background.
LIGHT_BACKGROUND = "#ffffff"
DARK_BACKGROUND = "#111111"

#: class name (without ``cw-``) -> (light-theme shade, dark-theme shade). The Okabe-Ito hues
#: (bluish green, vermilion, blue), darkened for white and lightened for near-black.
COLOURS: dict[str, tuple[str, str]] = {
    "ok": ("#00704f", "#3ee0a4"),
    "bad": ("#b34700", "#ff9a5c"),
    "note": ("#005f95", "#56b4e9"),
}

#: Borders and rules (not text: 3:1 is enough, WCAG 1.4.11): the Okabe-Ito hues themselves
#: reach it on both backgrounds.
BORDERS: dict[str, str] = {"ok": "#009e73", "bad": "#d55e00", "note": "#0072b2"}

#: Grey text: JupyterLab's secondary content colour (rgba(0,0,0,.54) in Light,
#: rgba(255,255,255,.7) in Dark), or this fallback where the variable is missing.
MUTED_VARIABLE = ("--jp-content-font-color2", "#595959")
#: The variable's value in each theme, as (red, green, blue, alpha) for the contrast test.
MUTED_IN_THEME = {"light": (0, 0, 0, 0.54), "dark": (255, 255, 255, 0.7)}

#: The lit cell of the values table: (background, text) in each theme.
LIT = {"light": ("#0072b2", "#ffffff"), "dark": ("#56b4e9", "#111111")}

#: Projector mode: text and picture this many times bigger.
PRESENTATION_SCALE = 1.5

DARK = 'body[data-jp-theme-light="false"]'


def _rules() -> str:
    rules = []
    for name, (light, dark) in COLOURS.items():
        rules.append(f".cw-{name}{{color:{light}}} {DARK} .cw-{name}{{color:{dark}}}")
    var, fallback = MUTED_VARIABLE
    rules.append(f".cw-muted{{color:var({var}, {fallback})}}")
    (lb, lt), (db, dt) = LIT["light"], LIT["dark"]
    rules.append(f".cw-lit{{background:{lb};color:{lt};font-weight:bold}} "
                 f"{DARK} .cw-lit{{background:{db};color:{dt}}}")
    rules.append(f".cw-refusal-box{{border:2px dashed {BORDERS['bad']};padding:6px}} "
                 f".cw-note-box{{border:2px dashed {BORDERS['note']};padding:6px}}")
    # the picture: both colourings are in the page, the theme shows one (light by default).
    # No !important: a hidden picture (display none, inline) stays hidden in either theme.
    rules.append(f".cw-explorer .cw-picture-dark{{display:none}} "
                 f"{DARK} .cw-explorer .cw-picture-dark{{display:block}} "
                 f"{DARK} .cw-explorer .cw-picture{{display:none}}")
    rules.append(f".cw-model-picture-dark{{display:none}} {DARK} .cw-model-picture-dark{{display:block}} "
                 f"{DARK} .cw-model-picture{{display:none}}")
    # the net picture at its natural size (a VBox stretches an image to its width, ipywidgets
    # shrink it to the box: ResNet-50's words would fall under 11 px); wider ones scroll sideways
    rules.append(".cw-quiz-picture, .cw-quiz-picture-dark"
                 "{max-width:none;width:auto;align-self:flex-start;flex-shrink:0}")
    rules.append(".cw-model-picture, .cw-model-picture-dark"
                 "{max-width:none;width:auto;align-self:flex-start;flex-shrink:0} "
                 ".cw-model-explorer{overflow-x:auto}")
    rules.append(f".cw-explorer .cw-quiz-picture-dark{{display:none}} "
                 f"{DARK} .cw-explorer .cw-quiz-picture-dark{{display:block}} "
                 f"{DARK} .cw-explorer .cw-quiz-picture{{display:none}}")
    # the folded panels' titles: ipywidgets draws them in --jp-ui-font-color2 on
    # --jp-layout-color2 (4.4:1 in Light, 4.2:1 in Dark); the primary text colour reads
    rules.append(".cw-explorer .jupyter-widget-Collapse-header{color:var(--jp-ui-font-color1, #1a1a1a)}")
    # compact controls: short readouts (ipywidgets' are at least 69 px wide), less padding
    rules.append(".cw-explorer .cw-controls .widget-readout{min-width:24px;margin-left:2px} "
                 ".cw-explorer .cw-controls .widget-inline-hbox{margin-top:1px;margin-bottom:1px} "
                 ".cw-explorer .cw-controls .widget-label{margin-right:4px}")
    # frames ahead (explorer/ahead.py): the picture and the texts a held frame carries already
    # show the new setting; what the page does not hold follows from the kernel, dimmed, with a
    # marker, if it takes more than a moment (most answers arrive before it would be seen)
    waiting = ".cw-explorer.cw-waiting"
    rules.append(".cw-explorer .cw-torch-panel, .cw-explorer .cw-formula, .cw-explorer .cw-step-label, "
                 ".cw-explorer .cw-output-size{transition:opacity 0s} "
                 f"{waiting} .cw-torch-panel, {waiting} .cw-formula, {waiting} .cw-step-label, "
                 ".cw-explorer.cw-behind .cw-output-size{opacity:.45;transition:opacity .1s linear .15s} "
                 ".cw-explorer .cw-torch-panel{position:relative} "
                 f"{waiting} .cw-torch-panel::after{{content:'… waiting for the kernel';"
                 "position:absolute;right:4px;top:0;font-style:italic;visibility:hidden;"
                 "animation:cw-late 0s linear .15s forwards} @keyframes cw-late{to{visibility:visible}}")
    # projector mode: ipywidgets size their text from these variables; set on the root, they
    # cascade to every control and panel inside it
    k = PRESENTATION_SCALE
    rules.append(f".cw-explorer.cw-presentation-on{{font-size:{k}em;"
                 f"--jp-widgets-font-size:{13 * k:g}px;--jp-ui-font-size1:{13 * k:g}px;"
                 f"--jp-content-font-size1:{14 * k:g}px;--jp-widgets-inline-height:{28 * k:g}px;"
                 f"--jp-widgets-slider-handle-size:{16 * k:g}px}}")
    return "\n".join(rules)


#: The ``<style>`` block an explorer adds once (in a W.HTML with class ``cw-style``).
STYLE = f"<style>\n{_rules()}\n</style>"


def span(kind: str, text: str) -> str:
    """``text`` (already HTML) in a theme-aware colour class.

    >>> span("ok", "✓ agrees")
    "<span class='cw-ok'>✓ agrees</span>"
    """
    return f"<span class='cw-{kind}'>{text}</span>"


def luminance(colour: str | tuple[float, float, float]) -> float:
    """WCAG relative luminance of ``#rrggbb`` or an (r, g, b) triple of 0-255 values.

    >>> luminance("#ffffff"), luminance("#000000")
    (1.0, 0.0)
    """
    if isinstance(colour, str):
        h = colour.lstrip("#")
        rgb: tuple[float, ...] = tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    else:
        rgb = tuple(colour)

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def blend(rgba: tuple[float, float, float, float], background: str) -> tuple[float, float, float]:
    """A translucent colour as seen over ``background`` (``#rrggbb``).

    >>> blend((0, 0, 0, 0.5), "#ffffff")
    (127.5, 127.5, 127.5)
    """
    h = background.lstrip("#")
    under = [int(h[i:i + 2], 16) for i in (0, 2, 4)]
    r, g, b, a = rgba
    return (r * a + under[0] * (1 - a), g * a + under[1] * (1 - a), b * a + under[2] * (1 - a))


def contrast(a: str | tuple[float, float, float], b: str | tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two colours (1 to 21).

    >>> round(contrast("#000000", "#ffffff"))
    21
    """
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
