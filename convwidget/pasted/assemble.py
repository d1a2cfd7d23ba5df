"""Items -> the ``nn.Sequential``: names, the missing ``nn.Flatten()``, the line of each layer."""

from __future__ import annotations

import re
from collections import OrderedDict

from torch import nn

from .classes import Names
from .reader import Item
from .viewas import ViewAs

__all__ = ["build", "insert_flatten", "lines_of", "name_items"]

# Layer kinds for the flatten rule (by class name: covers Conv*, ConvTranspose*, Lazy*,
# MaxPool*, AvgPool*, Adaptive*Pool*, LPPool*, FractionalMaxPool*).
_SPATIAL = re.compile(r"(Conv|Pool)\dd$|Conv(Transpose)?\dd$")
_ELEMENTWISE = (
    nn.modules.dropout._DropoutNd,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh,
    nn.Softplus, nn.Softsign, nn.Tanhshrink, nn.Identity, nn.LogSigmoid, nn.Threshold,
)
_FLAT_INPUT = (nn.Flatten, ViewAs, nn.Linear, nn.LazyLinear, nn.Bilinear)


# Attributes every nn.Sequential has (methods such as `type`, `to`, `forward`, `training`):
# torch registers `self.type = nn.Linear(...)` in a class, yet nn.Sequential refuses the name
# and `model.type` would find the method, not the layer.
_TAKEN = frozenset(dir(nn.Sequential()))


def _not_shadowing(name: str, line: int, notes: list[str]) -> str:
    if name not in _TAKEN:
        return name
    new = name + "_"
    while new in _TAKEN:
        new += "_"
    notes.append(f"the layer '{name}' on line {line} is named '{new}': '{name}' is an attribute "
                 f"of every nn.Module (model.{name} would not reach the layer)")
    return new


def name_items(items: list[Item], notes: list[str]) -> list[Item]:
    """Give unnamed items their position as name; make names unique and usable as attributes.

    >>> notes = []
    >>> [n for n, _, _ in name_items([("", nn.ReLU(), 1), ("type", nn.ReLU(), 2)], notes)]
    ['0', 'type_']
    >>> print(notes[0])  # doctest: +NORMALIZE_WHITESPACE
    the layer 'type' on line 2 is named 'type_': 'type' is an attribute of every nn.Module
    (model.type would not reach the layer)
    """
    names = Names()
    named: list[Item] = []
    for i, (name, layer, line) in enumerate(items):
        name = names.unique(_not_shadowing(name or str(i), line, notes))
        if isinstance(layer, list):
            layer = name_items(layer, notes)
        named.append((name, layer, line))
    return named


class _Flattener:
    """Finds a Linear that follows conv/pool layers with no flatten between them."""

    def __init__(self, notes: list[str]) -> None:
        self.notes = notes
        self.spatial: str | None = None  # the last conv/pool layer not yet flattened
        self.linear = ""

    def needs_flatten(self, layer: nn.Module, qualified: str) -> bool:
        if _SPATIAL.search(type(layer).__name__):
            self.spatial = qualified
        elif isinstance(layer, _FLAT_INPUT):
            if isinstance(layer, (nn.Linear, nn.LazyLinear)) and self.spatial:
                self.linear = qualified
                return True
            self.spatial = None
        return False

    def walk(self, items: list[Item], prefix: str) -> bool:
        """Insert where needed; True when the flatten belongs before this container."""
        i = 0
        while i < len(items):
            name, layer, line = items[i]
            if isinstance(layer, list):
                need = self.walk(layer, f"{prefix}{name}.")
            else:
                need = self.needs_flatten(layer, prefix + name)
            if not need:
                i += 1
                continue
            j = i  # before the activations and dropouts that precede the Linear
            while j > 0 and not isinstance(items[j - 1][1], list) \
                    and isinstance(items[j - 1][1], _ELEMENTWISE):
                j -= 1
            if j == 0 and prefix:
                return True
            self.insert(items, j, prefix, line)
            i += 2
        return False

    def insert(self, items: list[Item], j: int, prefix: str, line: int) -> None:
        fname = Names(n for n, _, _ in items).unique("flatten")
        where = f"{prefix}{items[j][0]}"
        items.insert(j, (fname, nn.Flatten(), line))
        self.notes.append(f"inserted nn.Flatten() as '{prefix}{fname}' before '{where}' "
                          f"(nn.Linear '{self.linear}' comes after conv/pool layers, last "
                          f"'{self.spatial}', with no flatten in the text; the flatten "
                          "usually lives in forward)")
        self.spatial = None


def insert_flatten(items: list[Item], notes: list[str]) -> None:
    """Insert nn.Flatten() before a Linear that follows conv/pool layers with no flatten."""
    _Flattener(notes).walk(items, "")


def build(items: list[Item]) -> nn.Sequential:
    return nn.Sequential(OrderedDict(
        (name, build(layer) if isinstance(layer, list) else layer) for name, layer, _ in items))


def lines_of(items: list[Item], prefix: str = "") -> dict[str, int]:
    """Qualified name -> line of the pasted text, for every layer and container."""
    out: dict[str, int] = {}
    for name, layer, line in items:
        out[prefix + name] = line
        if isinstance(layer, list):
            out.update(lines_of(layer, f"{prefix}{name}."))
    return out
