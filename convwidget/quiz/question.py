"""One quiz question: a 1-D layer setting and an input size, with its right answer.

Standard library only. The right answer and its derivation come from the core
(:func:`convwidget.explanations.explain_dim`, which the test suite checks against torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import ShapeError
from ..explanations import DimExplanation, explain_dim
from ..spec import LayerSpec, torch_class_name

__all__ = ["DIFFICULTIES", "LEVELS", "Question"]

#: The quiz levels, easiest first: what a question at each level exercises.
LEVELS = ("plain", "padding_stride", "dilation", "pooling", "transposed")

#: Difficulty steps within a level (bigger numbers, more settings away from their default).
DIFFICULTIES = 3

_KIND_BY_LEVEL = {
    "plain": ("conv",), "padding_stride": ("conv",), "dilation": ("conv",),
    "pooling": ("max_pool", "avg_pool"), "transposed": ("conv_transpose",),
}


@dataclass(frozen=True)
class Question:
    """A layer setting (one spatial dimension) and an input size; the learner predicts the output.

    Checked when built: a setting PyTorch refuses raises :class:`~convwidget.ShapeError`
    with the core's sentence. For a pool, ``stride`` equal to ``kernel_size`` is shown as
    PyTorch's default (left out of :attr:`layer`).

    >>> q = Question("padding_stride", "conv", size=11, kernel_size=3, stride=2, padding=1)
    >>> q.answer, q.layer
    (6, 'nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)')
    >>> q.derivation
    '⌊(11 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 6'
    >>> Question("plain", "conv", size=2, kernel_size=3, stride=1)
    Traceback (most recent call last):
    ...
    convwidget.errors.ShapeError: kernel spans 3 cells (kernel_size=3) but the padded input has 2 (input 2 +
        2×padding 0); use padding >= 1 or a smaller kernel
    """

    level: str
    kind: str
    size: int
    kernel_size: int
    stride: int
    padding: int = 0
    dilation: int = 1
    output_padding: int = 0
    ceil_mode: bool = False
    difficulty: int = 0

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, not {self.level!r}")
        if self.kind not in _KIND_BY_LEVEL[self.level]:
            kinds = " or ".join(map(repr, _KIND_BY_LEVEL[self.level]))
            raise ValueError(f"a {self.level!r} question is about kind {kinds}, not {self.kind!r}")
        if not 0 <= self.difficulty < DIFFICULTIES:
            raise ValueError(f"difficulty must be 0 to {DIFFICULTIES - 1}, not {self.difficulty!r}")
        error = self.explanation.error
        if error is not None:
            raise ShapeError(error)

    # ------------------------------------------------------------------ the answer
    @cached_property
    def explanation(self) -> DimExplanation:
        """The core's derivation of the output size (formula with these numbers)."""
        return explain_dim(self.kind, self.size, self.kernel_size, self.stride, self.padding,
                           self.dilation, self.output_padding, self.ceil_mode)

    @property
    def answer(self) -> int:
        """The output size PyTorch gives.

        >>> Question("pooling", "max_pool", size=5, kernel_size=2, stride=2, padding=1,
        ...          ceil_mode=True).answer
        3
        """
        out = self.explanation.output
        assert out is not None  # checked in __post_init__
        return out

    @property
    def derivation(self) -> str:
        """PyTorch's formula with this question's numbers, ending in the answer."""
        return self.explanation.text

    @property
    def span(self) -> int:
        """Cells the (dilated) kernel spans: ``d·(k − 1) + 1``."""
        return self.dilation * (self.kernel_size - 1) + 1

    @property
    def is_pool(self) -> bool:
        return self.kind.endswith("pool")

    @property
    def stride_defaulted(self) -> bool:
        """A pool whose stride is PyTorch's default (the kernel size), so not written out."""
        return self.is_pool and self.stride == self.kernel_size

    # ------------------------------------------------------------------ showing it
    @property
    def layer(self) -> str:
        """The layer as PyTorch code, defaults left out.

        >>> Question("pooling", "avg_pool", size=9, kernel_size=2, stride=2, ceil_mode=True).layer
        'nn.AvgPool1d(kernel_size=2, ceil_mode=True)'
        """
        args = [] if self.is_pool else ["1", "1"]
        args.append(f"kernel_size={self.kernel_size}")
        if not (self.stride_defaulted or (self.stride == 1 and not self.is_pool)):
            args.append(f"stride={self.stride}")
        for name, value in (("padding", self.padding), ("output_padding", self.output_padding)):
            if value:
                args.append(f"{name}={value}")
        if self.dilation != 1:
            args.append(f"dilation={self.dilation}")
        if self.ceil_mode:
            args.append("ceil_mode=True")
        return f"nn.{torch_class_name(self.kind, 1)}({', '.join(args)})"

    @property
    def prompt(self) -> str:
        """The question as a learner reads it.

        >>> print(Question("plain", "conv", size=10, kernel_size=3, stride=1).prompt)
        An input of 10 cells goes through nn.Conv1d(1, 1, kernel_size=3). How many cells does the output
            have?
        """
        return (f"An input of {self.size} cells goes through {self.layer}. "
                "How many cells does the output have?")

    def settings(self) -> dict[str, Any]:
        """The layer's settings in PyTorch's names (what ``ConvExplorer`` takes), one dimension.

        >>> Question("dilation", "conv", size=20, kernel_size=3, stride=1, dilation=2).settings()
        {'kind': 'conv', 'kernel_size': 3, 'stride': 1, 'padding': 0, 'dilation': 2}
        """
        out: dict[str, Any] = {"kind": self.kind, "kernel_size": self.kernel_size, "stride": self.stride,
                               "padding": self.padding}
        if self.kind != "avg_pool":
            out["dilation"] = self.dilation
        if self.kind == "conv_transpose":
            out["output_padding"] = self.output_padding
        if self.is_pool:
            out["ceil_mode"] = self.ceil_mode
        return out

    def spec(self, ndim: int = 1) -> LayerSpec:
        """The setting as a :class:`~convwidget.spec.LayerSpec` with ``ndim`` equal dimensions.

        >>> Question("plain", "conv", size=10, kernel_size=3, stride=1).spec(ndim=2).kernel_size
        (3, 3)
        """
        return LayerSpec.from_settings(ndim=ndim, **self.settings())
