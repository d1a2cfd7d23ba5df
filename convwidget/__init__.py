"""convwidget: exact convolution arithmetic, explained, with widgets to see it.

``import convwidget`` imports neither torch, nor matplotlib, nor ipywidgets: the
arithmetic core is standard-library Python. The faces that need a framework
(the tracer, the widgets) are imported on first use.

>>> import convwidget
>>> convwidget.conv_output_size(32, kernel_size=3, stride=2, padding=1)
16
"""

from __future__ import annotations

import importlib
from typing import Any

from .arithmetic import (
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    same_padding,
)
from .errors import ShapeError
from .explanations import DimExplanation, Explanation, explain
from .inverse import (
    ReceptiveField,
    Setting,
    conv_transpose_output_sizes,
    receptive_field,
    solve,
)
from .layers import output_shape

__all__ = [
    "ConvExplorer",
    "DimExplanation",
    "Explanation",
    "ModelExplorer",
    "ReceptiveField",
    "Setting",
    "ShapeError",
    "conv_output_size",
    "conv_transpose_output_size",
    "conv_transpose_output_sizes",
    "explain",
    "input_size_range",
    "output_shape",
    "parse",
    "pool_output_size",
    "receptive_field",
    "same_padding",
    "solve",
    "trace",
]

__version__ = "0.1.0"  # the one source of the version: pyproject.toml reads it

# Faces that need torch, matplotlib or ipywidgets: imported when first used.
_LAZY = {
    "trace": "convwidget.tracer",
    "input_size_range": "convwidget.tracer",
    "parse": "convwidget.pasted",
    "ConvExplorer": "convwidget.explorer",
    "ModelExplorer": "convwidget.explorer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convwidget' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
