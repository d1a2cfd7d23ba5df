"""The picture's two colourings (light and dark) and the contrast arithmetic that checks them.

Both keep the Okabe–Ito hues (orange taps, vermilion edges, sky-blue input, bluish-green
output: told apart with the common colour-vision deficiencies) and the hatching; the dark one
has dark cell fills on a JupyterLab-dark background (no white box) and light text.

Every text colour is chosen for the fills it is drawn on; :func:`text_pairs` lists those pairs
(including the digits re-drawn over the translucent kernel taps) and the tests check each has
a WCAG contrast of at least 4.5:1.

>>> round(contrast("#ffffff", "#000000"), 1)
21.0
>>> min(ratio for _, _, ratio, _ in text_pairs("dark")) >= 4.5
True
"""

from __future__ import annotations

__all__ = ["PALETTES", "TAP_ALPHA", "THEMES", "blend", "check_theme", "contrast", "luminance", "text_pairs"]

THEMES = ("light", "dark")

#: Opacity of a kernel tap over an input cell, of a tap over padding or an inserted zero, and of
#: the lit output cell.
TAP_ALPHA = {"tap": 0.7, "soft_tap": 0.35, "lit": 0.7}

PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "background": "#ffffff",
        "input": "#bfe2f6",  # light sky blue
        "padding": "#dcdcdc",  # light grey, hatched
        "zero": "#ffffff",  # inserted zeros: white, labelled "0" when small
        "output_padding": "#a9a9a9",  # darker grey, hatched
        "overhang": "#ffffff",  # outside the padded input: white, beyond the dashed edge
        "cropped": "#f2f2f2",
        "unread": "#f3dce9",  # pale reddish purple, hatched: input cells no window reads
        "output": "#bde6d6",  # light bluish green
        "ghost": "#ffffff",  # output cell of a window PyTorch drops (hatched)
        "tap": "#e69f00",  # orange: the window and the output cell it makes
        "edge": "#d55e00",  # vermilion: window outline, dropped windows
        "input_border": "#0072b2",  # blue: the real input's border
        "grid": "#7f7f7f",
        "faint_grid": "#b9b9b9",  # grid lines between cells under 8 pixels
        "hatch": "#8f8f8f",
        "output_padding_hatch": "#5f5f5f",
        "unread_hatch": "#c27ba0",
        "ghost_hatch": "#f0b48a",
        "text": "#1a1a1a",
        "zero_text": "#4d4d4d",  # the "0" of an inserted zero
        "tap_text": "#1a1a1a",  # a digit over a kernel tap or the lit output cell
        "warn_text": "#b34700",  # vermilion dark enough for text (the ceil_mode note)
        "error_bg": "#fff4e0",
    },
    "dark": {
        "background": "#111111",  # JupyterLab Dark's --jp-layout-color0
        "input": "#173a52",
        "padding": "#3a3a3a",
        "zero": "#1e1e1e",
        "output_padding": "#5a5a5a",
        "overhang": "#111111",
        "cropped": "#262626",
        "unread": "#3d2433",
        "output": "#14463a",
        "ghost": "#1a1a1a",
        "tap": "#e69f00",
        "edge": "#e8711a",
        "input_border": "#56b4e9",
        "grid": "#6b6b6b",
        "faint_grid": "#3f3f3f",
        "hatch": "#6e6e6e",
        "output_padding_hatch": "#9a9a9a",
        "unread_hatch": "#8a4f6e",
        "ghost_hatch": "#8a4a20",
        "text": "#ececec",
        "zero_text": "#bdbdbd",
        "tap_text": "#111111",  # dark digits on the bright orange of a tap
        "zero_tap_text": "#ececec",
        "warn_text": "#ff9a4d",
        "error_bg": "#3b2a12",
    },
}
PALETTES["light"]["zero_tap_text"] = PALETTES["light"]["zero_text"]


def check_theme(theme: object) -> str:
    """``theme`` if it is one of :data:`THEMES`, else a ValueError with a sentence.

    >>> check_theme("dark")
    'dark'
    """
    if theme not in THEMES:
        raise ValueError(f"theme={theme!r} is not a picture theme; use 'light' or 'dark'")
    return str(theme)


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(color: str) -> tuple[float, float, float]:
    h = color.lstrip("#")
    return int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255


def luminance(color: str) -> float:
    """WCAG relative luminance of ``'#rrggbb'`` (0 black, 1 white).

    >>> round(luminance("#111111"), 4)
    0.0056
    """
    r, g, b = (_channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def blend(top: str, alpha: float, bottom: str) -> str:
    """``top`` at opacity ``alpha`` over ``bottom``, as ``'#rrggbb'`` (what Agg paints).

    >>> blend("#ffffff", 0.5, "#000000")
    '#808080'
    """
    mixed = (round(255 * (alpha * t + (1 - alpha) * b)) for t, b in zip(_rgb(top), _rgb(bottom), strict=True))
    return "#" + "".join(f"{v:02x}" for v in mixed)


def text_pairs(theme: str) -> list[tuple[str, str, float, str]]:
    """Every (text colour, fill, contrast, what) the picture draws in ``theme``."""
    p = PALETTES[check_theme(theme)]
    tap, soft, lit = (blend(p["tap"], TAP_ALPHA[k], p[fill]) for k, fill in
                      (("tap", "input"), ("soft_tap", "zero"), ("lit", "output")))
    pairs = [
        (p["text"], p["background"], "titles, caption, legend"),
        (p["warn_text"], p["background"], "the ceil_mode note"),
        (p["text"], p["input"], "input index"),
        (p["text"], p["unread"], "index of an unread cell"),
        (p["text"], p["unread_hatch"], "index of an unread cell, over its hatching"),
        (p["text"], p["output"], "output index"),
        (p["zero_text"], p["zero"], "inserted zero"),
        (p["tap_text"], tap, "input index under a kernel tap"),
        (p["zero_tap_text"], soft, "inserted zero under a kernel tap"),
        (p["tap_text"], lit, "output index in the lit cell"),
        (p["text"], p["error_bg"], "a refusal"),
    ]
    return [(text, fill, contrast(text, fill), what) for text, fill, what in pairs]
