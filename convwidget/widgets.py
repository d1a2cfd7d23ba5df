"""ConvExplorer's old address: the explorer lives in :mod:`convwidget.explorer`.

>>> from convwidget.widgets import ConvExplorer, CSS_CLASSES
>>> "cw-explorer" in CSS_CLASSES
True
"""

from __future__ import annotations

from .explorer.app import CSS_CLASSES, ConvExplorer
from .explorer.state import DEFAULTS, SETTING_NAMES
from .spec import KIND_LABELS

__all__ = ["CSS_CLASSES", "DEFAULTS", "KIND_LABELS", "SETTING_NAMES", "ConvExplorer"]
