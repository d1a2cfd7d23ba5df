"""Whole-model shape tracing: "which in_features does my Linear need?".

``trace(model, input_shape)`` runs the model's own ``forward`` on the meta device, where
tensors have shapes but no data, so a VGG-16 at batch 32 traces in milliseconds and
allocates no activations; the user's model is left exactly as it was.

The work flows collect -> record -> report, one module each:

* :mod:`.tracing` -- ``trace``: hooks on, forward on meta stand-ins, all undone; a second
  pass at another batch size where a step could hide a batch problem;
* :mod:`.inputs` -- the shapes a trace runs on: one, several, or keyword inputs;
* :mod:`.standins` -- the model's tensors swapped per tensor object for meta stand-ins and
  put back by identity, every module's attributes restored (the model is never changed);
* :mod:`.mode` -- the hooks and ``TorchFunctionMode`` that record one row per step and check
  each layer's settings against what arrives (one trace reports every problem);
* :mod:`.batch` -- which sizes follow the batch, and the steps that lose it;
* :mod:`.inside` -- shape rules for calls inside torch.nn layers (recurrent, attention) and
  the sentence for a data-dependent step;
* :mod:`.rules` and :mod:`.calls` -- shape rules for the common calls (convolution and
  pooling by convwidget's arithmetic core), so PyTorch's slow meta decompositions (which
  import sympy and ``torch._dynamo`` on first use, 1-2 s) run only for the rare ops; and how
  a call is named and written back as Python;
* :mod:`.report` -- the values (``Problem``, ``Row``, ``SizeRange``, ``TraceReport``) and
  their text and HTML;
* :mod:`.search` -- ``input_size_range``: the input sizes that give the same flatten shape.

>>> import torch.nn as nn
>>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(100, 10))
>>> report = trace(model, (1, 3, 32, 32))
>>> report.ok
False
>>> report.linear_in_features
{'3': 1800}
>>> print(report.problems[0].fix)
nn.Linear(1800, 10)  # 8 channels × 15 × 15 after 1 (MaxPool2d)
"""

from __future__ import annotations

from .report import Problem, Row, SizeRange, TraceReport, report_html, report_text
from .search import input_size_range
from .tracing import trace, warm_up

__all__ = [
    "Problem",
    "Row",
    "SizeRange",
    "TraceReport",
    "input_size_range",
    "report_html",
    "report_text",
    "trace",
    "warm_up",
]
