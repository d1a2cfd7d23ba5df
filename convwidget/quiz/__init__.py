"""Quiz: propose a layer setting, take the learner's predicted output size, diagnose a wrong one.

Standard library only (no torch, numpy, matplotlib or ipywidgets): the quiz widget is built
on top of this. A wrong answer is compared with what the usual wrong formulas give (the
+ 1 forgotten, dilation ignored, padding counted once, ceil instead of floor, ``ceil_mode``
without the dropped window, a transposed convolution computed as a convolution, ...), and
the feedback names the misconception with the term of the formula that fixes it.

>>> import random
>>> q = Question("padding_stride", "conv", size=11, kernel_size=3, stride=2, padding=1)
>>> print(q.prompt)
An input of 11 cells goes through nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1). How many cells
    does the output have?
>>> diagnose(q, 6).correct
True
>>> diagnose(q, 11).misconceptions
('stride_ignored',)
>>> q2 = propose("transposed", random.Random(3))
>>> q2.kind
'conv_transpose'
"""

from __future__ import annotations

import importlib
from typing import Any

from .diagnosis import Diagnosis, Match, diagnose, read_answer
from .mistakes import MISCONCEPTIONS, Misconception, misconception
from .propose import MAIN_MISTAKES, harder, propose
from .question import DIFFICULTIES, LEVELS, Question
from .session import QuizSession

__all__ = [
    "DIFFICULTIES",
    "LEVELS",
    "MAIN_MISTAKES",
    "MISCONCEPTIONS",
    "Diagnosis",
    "Match",
    "Misconception",
    "Question",
    "QuizSession",
    "diagnose",
    "harder",
    "misconception",
    "propose",
    "read_answer",
]

# The answer widget needs ipywidgets: imported on first use, so ``import convwidget.quiz``
# stays standard-library only (not in __all__, so ``import *`` does not pull it in either).
_WIDGET_NAMES = ("Exercise", "predict", "predict_in_features")


def __getattr__(name: str) -> Any:
    if name in _WIDGET_NAMES:
        return getattr(importlib.import_module(".widget", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
