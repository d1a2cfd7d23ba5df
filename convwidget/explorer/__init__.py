"""The explorer (ipywidgets): a state with a trait per setting, controls, panels, the picture.

Rooms, each with one job:

* :mod:`.state`: :class:`ExplorerState`, the settings as validated traits and the results
  (output size, explanation, geometry, PyTorch's answer) as read-only traits;
* :mod:`.controls`: sliders, dropdowns and checkboxes that move the state, bounded by validity;
* :mod:`.panels`: plain functions from results to HTML (calculator, parameters, receptive
  field, PyTorch panel), testable without a kernel;
* :mod:`.picture`: the sliding-window picture, its frame cache and idle prefetch;
* :mod:`.app`: :class:`ConvExplorer`, composed from these; :mod:`.model`: ``ModelExplorer``;
* :mod:`.quizmode`: ``ConvExplorer(quiz=True)`` and :func:`quiz`: predict the output size first.

``import convwidget.explorer`` imports neither torch nor matplotlib; ``ModelExplorer``
(which traces models with torch) is imported when first asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from .app import CSS_CLASSES, ConvExplorer
from .quizmode import quiz
from .state import ExplorerState

__all__ = ["CSS_CLASSES", "ConvExplorer", "ExplorerState", "ModelExplorer", "quiz"]


def __getattr__(name: str) -> Any:
    if name == "ModelExplorer":
        return importlib.import_module(".model", __name__).ModelExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
