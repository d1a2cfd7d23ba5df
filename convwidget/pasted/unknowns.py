"""Names a paste uses but never gives (``num_classes``, ``cfg.dropout``, ``len(classes)``).

A layer argument that is such a name is built with the stand-in 1; once the model is
assembled, the stand-in is kept only where it cannot change what reaches the first
``nn.Linear`` (a layer after it, the first Linear's ``out_features``, a dropout rate), with a
note listing the names; anywhere else the name is the question, and the refusal names it.
``parse(text, values={...})`` gives the values.
"""

from __future__ import annotations

import re
from typing import Any

from torch import nn

from .limits import MAX_SEQ, MAX_STR, Unknown

__all__ = ["check_values", "judge"]

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")
# keyword arguments that never change a shape
_SHAPELESS = {"p", "inplace", "negative_slope", "eps", "momentum", "affine", "track_running_stats",
              "bias", "alpha", "approximate", "dropout"}


def check_values(values: dict[str, Any] | None) -> dict[str, Any]:
    """The ``values`` of :func:`parse`, checked: names (``num_classes``, ``cfg.hidden``) to
    literal values (numbers, strings, booleans, None, tuples and lists of those).

    >>> check_values({"num_classes": 10, "cfg.dropout": 0.2})
    {'num_classes': 10, 'cfg.dropout': 0.2}
    >>> check_values({"a b": 1})
    Traceback (most recent call last):
    ...
    ValueError: values: 'a b' is not a name as the paste writes it (like num_classes or cfg.hidden)
    """
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TypeError(f"values must be a dict of name -> value, not {type(values).__name__}")
    for name, value in values.items():
        if not isinstance(name, str) or not _DOTTED.fullmatch(name):
            raise ValueError(f"values: {name!r} is not a name as the paste writes it "
                             "(like num_classes or cfg.hidden)")
        if not _is_literal(value):
            raise ValueError(f"values: {name!r} must be a number, string, bool, None, or a tuple or "
                             f"list of those (at most {MAX_SEQ}), not {type(value).__name__}")
    return dict(values)


def _is_literal(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_STR
    if isinstance(value, (tuple, list)) and depth < 3:
        return len(value) <= MAX_SEQ and all(_is_literal(v, depth + 1) for v in value)
    return False


def judge(model: nn.Module, unknowns: list[tuple[nn.Module, Unknown, str]], notes: list[str]) -> None:
    """Keep the stand-ins that cannot change the first Linear's input (with a note naming
    them); raise the first that can."""
    if not unknowns:
        return
    order = {id(m): i for i, m in enumerate(model.modules())}
    first = next((order[id(m)] for m in model.modules() if isinstance(m, nn.Linear)), None)
    for layer, err, param in unknowns:
        at = order.get(id(layer))
        if at is None or param in _SHAPELESS or "Dropout" in type(layer).__name__:
            continue  # not in the model (unused by forward), or a rate that shapes nothing
        if first is not None and (at > first or (at == first and param not in ("0", "in_features"))):
            continue
        raise err
    names = ", ".join(dict.fromkeys(f"`{err.name}` (line {err.line})" for _, err, _ in unknowns))
    notes.append(f"not given in the paste: {names}; built with the stand-in 1, which cannot change "
                 "what reaches the first nn.Linear; give the values with "
                 "convwidget.parse(text, values={...}) for the rest of the model")
