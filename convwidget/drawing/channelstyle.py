"""The channel picture's colours and type sizes, per theme, and the pairs its contrast test reads.

Per group of channels, a pale fill for a plane's smallest value, a stronger one for its largest
and a stroke for its outline and label (Okabe–Ito hues without the orange and vermilion that the
lit window and a max pool's winner use); the page's background and text are the sliding-window
picture's (:data:`convwidget.drawing.palettes.PALETTES`).

>>> CHANNEL_PALETTES["dark"]["background"] == PALETTES["dark"]["background"]
True
>>> min(contrast(text, fill) for text, fill, _ in text_pairs("light")) >= 4.5
True
"""

from __future__ import annotations

from .palettes import PALETTES, contrast

__all__ = ["CHANNEL_PALETTES", "GROUP_COLOURS", "LABEL_PX", "TITLE_PX", "VALUE_PX", "contrast", "text_pairs"]

#: Font sizes in pixels at scale 1 (the brief's floor is 11 px).
VALUE_PX, LABEL_PX, TITLE_PX = 11, 11, 13

#: Per group (cycled): (fill for the smallest value, fill for the largest, stroke and label).
#: Okabe–Ito hues without the orange and vermilion the window and the winner use.
GROUP_COLOURS: dict[str, list[tuple[str, str, str]]] = {
    "light": [("#e3f1fa", "#92cdee", "#0072b2"), ("#dff3ea", "#8fd3b8", "#00795a"),
              ("#f8e6f0", "#e3a6c8", "#a0457a"), ("#fbf8d5", "#ede07a", "#6e6400"),
              ("#e9e6f8", "#b3abeb", "#5a4fb0"), ("#eeeeee", "#c4c4c4", "#555555")],
    "dark": [("#13242f", "#1d5a80", "#56b4e9"), ("#0f2a22", "#0e5e46", "#3fbf8f"),
             ("#2b1a24", "#6a3556", "#d58ab5"), ("#29270e", "#5e5812", "#e0d44a"),
             ("#1e1b3a", "#3d3680", "#a99ff5"), ("#222222", "#4a4a4a", "#bdbdbd")],
}

#: The picture's other colours per theme (background and text follow the sliding-window picture's).
CHANNEL_PALETTES: dict[str, dict[str, str]] = {
    "light": {"background": "#ffffff", "text": "#1a1a1a", "muted": "#555555", "tap": "#e69f00",
              "tap_text": "#1a1a1a", "edge": "#d55e00", "winner": "#b34700", "winner_text": "#ffffff",
              "grid": "#7f7f7f", "unused": "#d9d9d9",
              "ring": "#f4f4f4", "hatch": "#c8c8c8"},
    "dark": {"background": "#111111", "text": "#ececec", "muted": "#b0b0b0", "tap": "#e69f00",
             "tap_text": "#111111", "edge": "#e8711a", "winner": "#b34700", "winner_text": "#ffffff",
             "grid": "#6b6b6b", "unused": "#2e2e2e",
             "ring": "#1a1a1a", "hatch": "#3a3a3a"},
}
# the page's background and text are the sliding-window picture's (one place for them)
for _theme, _colours in CHANNEL_PALETTES.items():
    _colours.update({k: PALETTES[_theme][k] for k in ("background", "text")})


def text_pairs(theme: str) -> list[tuple[str, str, str]]:
    """Every (text colour, fill, what) this picture draws in ``theme``, for the contrast test.

    >>> text_pairs("dark")[0]
    ('#ececec', '#111111', 'titles, sum, parameters')
    """
    p = CHANNEL_PALETTES[theme]
    pairs = [(p["text"], p["background"], "titles, sum, parameters"), (p["muted"], p["background"], "notes"),
             (p["tap_text"], p["tap"], "a value under the window"),
             (p["winner_text"], p["winner"], "the max pool's winner"),
             (p["text"], p["unused"], "a kernel tap that met padding (or no input cell)")]
    for lo, hi, stroke in GROUP_COLOURS[theme]:
        pairs += [(p["text"], lo, "a value, smallest fill"), (p["text"], hi, "a value, largest fill"),
                  (stroke, p["background"], "a plane's label")]
    return pairs
