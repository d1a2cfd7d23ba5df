"""Values in pasted code, read from the AST: literals, bounded arithmetic, `if` conditions.

Nothing is evaluated: a number, string, True/False/None, tuple or list, a name bound
to one of those earlier in the paste, and ``+ - * / // % **`` on numbers within
bounds. Anything else is refused with a sentence naming the piece and its line.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

import torch

from .construct import nn_class
from .limits import MAX_EXPR_DEPTH, MAX_INT, MAX_SEQ, MAX_STR, PasteError, Unknown

__all__ = ["Literals"]

_KINDS = {
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string", ast.Call: "a call", ast.Attribute: "an attribute lookup",
    ast.Subscript: "a subscript", ast.Name: "a name", ast.Dict: "a dict", ast.Set: "a set",
    ast.NamedExpr: "an assignment expression", ast.Await: "an await",
    ast.Starred: "a starred expression", ast.IfExp: "a conditional expression",
    ast.Compare: "a comparison", ast.BoolOp: "a boolean expression",
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Is: operator.is_, ast.IsNot: operator.is_not, ast.Eq: operator.eq,
    ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def describe(node: ast.AST) -> str:
    """'a call', 'a lambda', ...: what a refused piece of code is."""
    return _KINDS.get(type(node), f"a {type(node).__name__} expression")


def _columns(line: str, start: int, end: int | None) -> str:
    """``line[start:end]`` in ast's UTF-8 byte offsets."""
    if line.isascii():
        return line[start:end]
    return line.encode()[start:end].decode(errors="replace")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Literals:
    """The names a paste binds (torch.nn aliases, literal variables) and the reading of
    literal values from its AST; never evaluates the text."""

    def __init__(self, source: str, notes: list[str]) -> None:
        self.source = source
        self.notes = notes
        self.nn_names = {"nn"}  # names bound to torch.nn
        self.f_names = {"F"}  # names bound to torch.nn.functional
        self.bare: dict[str, str] = {}  # from torch.nn import Conv2d as C -> {'C': 'Conv2d'}
        self.variables: dict[str, Any] = {}
        self.init_args: set[str] = set()
        self._lines: list[str] | None = None  # the source's lines, split when first needed

    # ----- messages
    def segment(self, node: ast.AST, limit: int = 60) -> str:
        """The source of ``node``, shortened, for a message (ast.get_source_segment without
        splitting the whole source again at every call: linear time for many refusals)."""
        seg = self._source_of(node) or type(node).__name__
        seg = " ".join(seg.split())
        return seg if len(seg) <= limit else seg[: limit - 3] + "..."

    def _source_of(self, node: ast.AST) -> str:
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if first is None or last is None or start is None or end is None:
            return ""
        if self._lines is None:
            self._lines = self.source.split("\n")
        if last > len(self._lines):
            return ""
        if first == last:
            return _columns(self._lines[first - 1], start, end)
        return "\n".join([_columns(self._lines[first - 1], start, None),
                          *self._lines[first: last - 1], _columns(self._lines[last - 1], 0, end)])

    def refuse(self, node: ast.AST, why: str = "") -> PasteError:
        msg = f"refused `{self.segment(node)}`"
        msg += f": {why}" if why else (
            f" ({describe(node)}); parse only builds torch.nn layers from literal arguments "
            "(numbers, strings, True/False/None, tuples, small integer arithmetic) and never "
            "runs pasted code")
        return PasteError(msg, getattr(node, "lineno", None))

    # ----- names
    def imports(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            full = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            bound = alias.asname or alias.name
            if full == "torch.nn" and alias.asname:
                self.nn_names.add(bound)
            elif full == "torch.nn.functional":
                self.f_names.add(bound)
            elif isinstance(node, ast.ImportFrom) and node.module == "torch.nn":
                self.bare[bound] = alias.name

    def nn_class_name(self, func: ast.AST) -> str | None:
        """'Conv2d' for nn.Conv2d / torch.nn.Conv2d / Conv2d (a torch.nn class), else None."""
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name) and base.id in self.nn_names:
                return func.attr
            if (isinstance(base, ast.Attribute) and base.attr == "nn"
                    and isinstance(base.value, ast.Name) and base.value.id == "torch"):
                return func.attr
            return None
        if isinstance(func, ast.Name):
            name = self.bare.get(func.id, func.id)
            if name not in self.variables and nn_class(name) is not None:
                return name
        return None

    # ----- literals
    def literal(self, node: ast.AST, depth: int = 0) -> Any:
        """The value of a literal expression, or a PasteError saying why it is not one."""
        if depth > MAX_EXPR_DEPTH:
            raise self.refuse(node, "expression nested too deeply")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, (ast.Tuple, ast.List)):
            if len(node.elts) > MAX_SEQ:
                raise self.refuse(node, f"more than {MAX_SEQ} elements")
            values = [self.literal(e, depth + 1) for e in node.elts]
            return tuple(values) if isinstance(node, ast.Tuple) else values
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.literal(node.operand, depth + 1)
            if not _is_number(v):
                raise self.refuse(node, "unary minus/plus of a non-number")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node, depth)
        return self.named(node, depth)

    def named(self, node: ast.AST, depth: int) -> Any:
        """A name bound earlier (or given in values), self.x, cfg.x, torch.float32, len(...)."""
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"
                and len(node.args) == 1 and not node.keywords):
            return self.length(node, depth)
        raise self.refuse(node)

    def length(self, node: ast.Call, depth: int) -> int:
        """len(classes), classes a literal tuple or list (or a string)."""
        v = self.literal(node.args[0], depth + 1)  # an unknown `classes` is named as it is
        if not isinstance(v, (tuple, list, str)):
            raise self.refuse(node, "len() of something that is not a literal tuple, list or string")
        return len(v)

    def unknown(self, node: ast.AST, name: str, why: str) -> Unknown:
        return Unknown(f"refused `{self.segment(node)}`: {why}; give it with "
                       f"convwidget.parse(text, values={{{name!r}: ...}}), or replace it by its value",
                       getattr(node, "lineno", None), name)

    def constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, float):
            return v
        if isinstance(v, int):
            return self.bounded(v, node)
        if isinstance(v, str):
            if len(v) > MAX_STR:
                raise self.refuse(node, f"string longer than {MAX_STR} characters")
            return v
        raise self.refuse(node, f"{type(v).__name__} literals are not layer arguments")

    def name(self, node: ast.Name) -> Any:
        if node.id in self.variables:
            return self.variables[node.id]
        if node.id in self.init_args:
            raise self.unknown(node, node.id, f"`{node.id}` is an argument of __init__ with no default "
                                              "in the paste; give it a default, paste the line that "
                                              f"builds the model with it, e.g. `Net({node.id}=10)`")
        raise self.unknown(node, node.id, f"`{node.id}` is not given a literal value in the pasted text")

    def attribute(self, node: ast.Attribute) -> Any:
        """self.hidden (bound earlier), torch.float32, or the 'class, not a layer' refusal."""
        base = node.value
        if isinstance(base, ast.Name) and base.id == "self" and f"self.{node.attr}" in self.variables:
            return self.variables[f"self.{node.attr}"]
        if (isinstance(base, ast.Name) and base.id == "torch" and not node.attr.startswith("_")
                and isinstance(getattr(torch, node.attr, None), torch.dtype)):
            return getattr(torch, node.attr)
        if isinstance(base, ast.Name) and base.id not in ("self", "torch", *self.nn_names, *self.f_names):
            dotted = f"{base.id}.{node.attr}"  # cfg.num_classes: a config the paste does not show
            if dotted in self.variables:
                return self.variables[dotted]
            if base.id not in self.variables and nn_class(node.attr) is None:
                raise self.unknown(node, dotted, f"`{dotted}` is not given a value in the pasted text")
        name = self.nn_class_name(node)
        if name and nn_class(name) is not None:
            raise self.refuse(node, f"`{self.segment(node)}` is a class, not a layer; "
                                    f"write `nn.{name}()` (nn.Sequential refuses a class too)")
        raise self.refuse(node)

    def condition(self, node: ast.AST, depth: int = 0) -> bool:
        """Truth of an `if` test made of literals: not, and/or, is (not) None, comparisons."""
        if depth > MAX_EXPR_DEPTH:
            raise self.refuse(node, "condition nested too deeply")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.condition(node.operand, depth + 1)
        if isinstance(node, ast.BoolOp):
            values = [self.condition(v, depth + 1) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self.compare(node, depth)
        return bool(self.literal(node, depth + 1))

    def compare(self, node: ast.Compare, depth: int) -> bool:
        a = self.literal(node.left, depth + 1)
        b = self.literal(node.comparators[0], depth + 1)
        op = type(node.ops[0])
        identity = op in (ast.Is, ast.IsNot)
        if op not in _COMPARE or (identity and not any(
                v is None or isinstance(v, bool) for v in (a, b))):
            raise self.refuse(node, "only ==, !=, <, <=, >, >= and `is None` are read")
        try:
            return bool(_COMPARE[op](a, b))
        except TypeError as err:
            raise self.refuse(node, str(err)) from err

    def bounded(self, v: Any, node: ast.AST) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
            raise self.refuse(node, f"the number is larger than 2**40 ({MAX_INT})")
        if isinstance(v, float) and not math.isfinite(v):
            raise self.refuse(node, "the number is not finite")
        return v

    def arithmetic(self, node: ast.BinOp, depth: int) -> Any:
        if type(node.op) not in _ARITHMETIC:
            raise self.refuse(node, "only + - * / // % ** are accepted in arithmetic")
        a = self.literal(node.left, depth + 1)
        b = self.literal(node.right, depth + 1)
        if not (_is_number(a) and _is_number(b)):
            raise self.refuse(node, "arithmetic on something that is not a number")
        if isinstance(node.op, (ast.FloorDiv, ast.Mod, ast.Div)) and b == 0:
            raise self.refuse(node, "division by zero")
        if isinstance(node.op, ast.Pow) and (
                b < 0 or b > 64 or (abs(a) > 1 and b * math.log2(abs(a)) > 40)):
            raise self.refuse(node, "the power is larger than 2**40")
        try:
            return self.bounded(_ARITHMETIC[type(node.op)](a, b), node)
        except (OverflowError, ZeroDivisionError, ValueError) as err:
            raise self.refuse(node, str(err)) from err
