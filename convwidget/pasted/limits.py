"""The bounds that keep reading a paste quick whatever is pasted, and the one refusal.

Standard library only: the text cleaning and the bounds need no torch.
"""

from __future__ import annotations

__all__ = ["PasteError", "Unknown"]

MAX_CHARS = 200_000  # a long real model paste is ~20 kB
MAX_LINES = 10_000
MAX_NODES = 50_000  # AST nodes after parsing
MAX_BRACKET_DEPTH = 50
MAX_EXPR_DEPTH = 60  # nesting of the expressions we evaluate
MAX_INT = 2**40
MAX_STR = 1_000
MAX_SEQ = 1_000  # elements of a literal tuple/list
MAX_REPEAT = 200  # arguments that make a constructor loop (num_layers, ...)
MAX_LAYERS = 2_000  # ResNet-152 has about 500 leaf modules
MAX_CUTS = 4  # places tried to cut a truncated paste back to

# The hedge of every answer read without a forward (the corpus test looks for "assum" and "once").
ONCE_IN_ORDER = "assumes the layers run once each, in the order written"


class PasteError(ValueError):
    """Pasted text that :func:`convwidget.parse` refuses, with the line it is on.

    ``fatal`` marks a refusal that no other reading of the text (a truncated paste
    cut at another place) can avoid, such as too many layers.

    >>> err = PasteError("refused `open(...)`", line=3)
    >>> str(err), err.line, err.fatal
    ('line 3: refused `open(...)`', 3, False)
    """

    __module__ = "convwidget.pasted"  # its public home, shown in tracebacks

    def __init__(self, message: str, line: int | None = None, *, fatal: bool = False) -> None:
        self.line = line
        self.fatal = fatal
        super().__init__(f"line {line}: {message}" if line else message)


class Unknown(PasteError):
    """A name the paste uses but never gives a value (``num_classes``, ``cfg.hidden``,
    ``len(classes)``): ``name`` is how the paste writes it, the key of ``parse(values=...)``."""

    __module__ = "convwidget.pasted"

    def __init__(self, message: str, line: int | None, name: str) -> None:
        super().__init__(message, line)
        self.name = name
