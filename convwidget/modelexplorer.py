"""ModelExplorer's old address: it lives in :mod:`convwidget.explorer.model`.

>>> from convwidget.modelexplorer import ModelExplorer, conv_settings
>>> ModelExplorer.__module__
'convwidget.explorer.model'
"""

from __future__ import annotations

from .explorer.model import ModelExplorer, conv_settings

__all__ = ["ModelExplorer", "conv_settings"]
