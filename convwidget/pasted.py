"""Pasted PyTorch text -> ``torch.nn.Sequential``, without ever running the text.

People paste models into forums in every shape: an ``nn.Sequential(...)``
fragment, lines of ``nn.X(...)`` with comments and trailing commas, a whole
class with ``__init__`` and ``forward`` (and helper classes such as U-Net's
``DoubleConv``), the printed ``repr`` of a model, a paste cut off mid-way,
prose, markdown fences and ``>>>`` prompts around it. :func:`parse`
turns all of these into an ``nn.Sequential`` whose layers live on the meta
device (no weight memory, so ``nn.Linear(100000, 100000)`` costs nothing),
ready for :func:`convwidget.trace`.

Safety: the text is read with :mod:`ast` only; nothing in it is evaluated,
executed or imported. The only code that runs is the constructor of a real
``torch.nn`` class, called with literal arguments (numbers, strings,
booleans, ``None``, tuples/lists of those, and bounded integer arithmetic).
Anything else is refused with a :class:`PasteError` (a ``ValueError``) that
names the offending piece and its line.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import inspect
import keyword
import math
import os
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

import torch
from torch import nn

__all__ = ["PasteError", "Pasted", "ViewAs", "load_model", "parse", "read"]

# Bounds that make refusal quick whatever is pasted.
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

# torch.nn classes that are not layers one can build from literals.
_DENIED = {"Module", "Container", "DataParallel", "ParameterList", "ParameterDict", "ModuleDict"}

# Layer kinds for the flatten rule (by class name: covers Conv*, ConvTranspose*, Lazy*,
# MaxPool*, AvgPool*, Adaptive*Pool*, LPPool*, FractionalMaxPool*).
_SPATIAL = re.compile(r"(Conv|Pool)\dd$|Conv(Transpose)?\dd$")
_ELEMENTWISE = (
    nn.modules.dropout._DropoutNd,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh,
    nn.Softplus, nn.Softsign, nn.Tanhshrink, nn.Identity, nn.LogSigmoid, nn.Threshold,
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^\s*(>>>|\.\.\.)( |$)")
_IPY_PROMPT = re.compile(r"^\s*(In \[\d*\]:|\s+\.\.\.:)( |$)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SOFT_KEYWORDS = {"match", "case", "type", "_"}
_LONE_WORD = re.compile(r"^\s*([A-Za-z_]\w*)\s*[:!?.]+\s*$")
_WEB_CHARACTERS = str.maketrans({
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": "",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2212": "-",
})


class PasteError(ValueError):
    """Pasted text that :func:`parse` refuses, with the line it is on.

    >>> err = PasteError("refused `open(...)`", line=3)
    >>> str(err), err.line
    ('line 3: refused `open(...)`', 3)
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class ViewAs(nn.Module):
    """``x.view(*shape)`` exactly as written in a pasted ``forward``.

    ``None`` in ``shape`` stands for ``x.size(i)`` at that position. Kept as
    written, including the classic bug: ``x.view(-1, N)`` with a wrong ``N``
    silently changes the batch size instead of failing, and the tracer flags it.

    >>> import torch
    >>> v = ViewAs(-1, 8)
    >>> v
    ViewAs(-1, 8)
    >>> v(torch.zeros(2, 4, 2, 2)).shape   # batch 2 became 4
    torch.Size([4, 8])
    >>> ViewAs(None, -1)(torch.zeros(2, 4, 2, 2)).shape
    torch.Size([2, 16])
    """

    def __init__(self, *shape: int | None, method: str = "view") -> None:
        super().__init__()
        if method not in ("view", "reshape"):
            raise ValueError(f"method must be 'view' or 'reshape', not {method!r}")
        self.shape = tuple(shape)
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [x.size(i) if s is None else s for i, s in enumerate(self.shape)]
        return x.view(*shape) if self.method == "view" else x.reshape(*shape)

    def extra_repr(self) -> str:
        parts = [f"x.size({i})" if s is None else str(s) for i, s in enumerate(self.shape)]
        if self.method != "view":
            parts.append(f"method={self.method!r}")
        return ", ".join(parts)


# --------------------------------------------------------------------------- text cleanup


_PROSE_TOKEN = re.compile(
    r"(?P<s>[rbfuRBFU]{0,2}('[^'\n]*'|\"[^\"\n]*\"))|(?P<w>[A-Za-z_]\w*)|(?P<n>\d[\w.]*)"
    r"|(?P<c>[)\]}])|(?P<o>\S)")


def _is_prose(line: str) -> bool:
    """A name after a name, number, string or closing bracket, with only a space between
    ("my model", "print(model) gives") never happens in Python code outside keywords."""
    if _REPR_ENTRY.match(line):  # "(0-2): 3 x Linear(...)" in a printed model
        return False
    lone = _LONE_WORD.match(line)  # "Model:", "Thanks!", "Edit." are never code
    if lone and not keyword.iskeyword(lone.group(1)):
        return True
    prev: tuple[str, str, int] | None = None
    for m in _PROSE_TOKEN.finditer(line):
        kind = m.lastgroup or "o"
        text = m.group()
        if kind == "o" and text == "#":
            break
        if kind == "w" and (keyword.iskeyword(text) or text in _SOFT_KEYWORDS):
            kind = "k"
        if (prev is not None and kind == "w" and prev[0] in ("w", "n", "c", "s")
                and line[prev[2]: m.start()].strip() == "" and prev[2] < m.start()):
            return True
        prev = (kind, text, m.end())
    return False


def _string_lines(lines: list[str]) -> set[int]:
    """Indexes of lines that start inside a triple-quoted string."""
    inside: str | None = None
    result = set()
    for i, line in enumerate(lines):
        if inside:
            result.add(i)
        pos = 0
        while True:
            if inside:
                j = line.find(inside, pos)
                if j < 0:
                    break
                inside, pos = None, j + 3
            else:
                m = re.compile(r"\"\"\"|'''|#").search(line, pos)
                if not m or m.group() == "#":
                    break
                inside, pos = m.group(), m.end()
    return result


def _clean(text: str, notes: list[str]) -> str:
    """Strip what is not code, keeping line numbers (removed lines become blank)."""
    if any(chr(c) in text for c in _WEB_CHARACTERS):  # copied from a web page or a word processor
        text = text.translate(_WEB_CHARACTERS)
        notes.append("replaced typographic quotes / non-breaking spaces copied from a web page")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    if len(lines) > MAX_LINES:
        raise PasteError(f"the text has {len(lines)} lines; parse reads at most {MAX_LINES}")
    # Markdown fences: keep only what is inside them.
    if any(_FENCE.match(line) for line in lines):
        inside = False
        for i, line in enumerate(lines):
            if _FENCE.match(line):
                inside = not inside
                lines[i] = ""
            elif not inside:
                lines[i] = ""
    # Interactive prompts: keep the input, drop the printed output.
    for prompt in (_PROMPT, _IPY_PROMPT):
        if any(prompt.match(line) and line.strip()[:3] in (">>>", "In ") for line in lines):
            for i, line in enumerate(lines):
                m = prompt.match(line)
                lines[i] = line[m.end():] if m else ""
            notes.append("read the code after the interactive prompts; printed output ignored")
    in_string = _string_lines(lines)
    dropped = 0
    for i, line in enumerate(lines):
        if i not in in_string and _is_prose(line):
            lines[i] = ""
            dropped += 1
    if dropped:
        notes.append(f"ignored {dropped} line(s) of prose around the code")
    return "\n".join(lines)


_REPR_ENTRY = re.compile(r"^(\s*)\(([\w-]+)\): (?:(\d+) x )?(.*)$")


def _from_repr(src: str, notes: list[str]) -> str:
    """Printed ``print(model)`` output -> code: ``(conv1): Conv2d(...)`` -> ``conv1=Conv2d(...),``."""
    out = []
    for line in src.split("\n"):
        m = _REPR_ENTRY.match(line)
        if m:
            indent, name, count, rest = m.groups()
            if "-" in name:  # "(0-2): 3 x Linear(...)": repeated identical modules
                lo, hi = (int(p) for p in name.split("-", 1))
                if not rest.rstrip().endswith(")") or rest.rstrip().endswith("("):
                    raise PasteError("a repeated block '(a-b): n x ...' spanning several lines "
                                     "is not supported; paste the code instead")
                out.append(indent + " ".join(f"_{k}={rest}," for k in range(lo, hi + 1)))
                continue
            line = f"{indent}_{name}={rest}" if name.isdigit() else f"{indent}{name}={rest}"
        if line.rstrip().endswith(")"):
            line = line.rstrip() + ","
        out.append(line)
    notes.append("read the printed repr of a model: containers keep their children in "
                 "printed (__init__) order, which is not always the order forward runs them")
    return "\n".join(out)


def _scan_brackets(src: str) -> tuple[list[tuple[str, int]], list[int], int | None]:
    """Bracket stack left open at the end, offsets of unmatched closers, and where an
    unterminated string starts (or None). Refuses deep nesting before ``ast`` sees it."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    extra: list[int] = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
        elif c == "#":
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "'\"":
            quote = src[i: i + 3] if src[i: i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n:
                if src[j] == "\\":
                    j += 2
                    continue
                if src.startswith(quote, j):
                    break
                if src[j] == "\n" and len(quote) == 1:
                    break
                j += 1
            if j >= n or (len(quote) == 1 and src[j] == "\n"):
                return stack, extra, i
            line += src.count("\n", i, j)
            i = j + len(quote)
            continue
        elif c in "([{":
            stack.append((c, line))
            if len(stack) > MAX_BRACKET_DEPTH:
                raise PasteError(f"brackets nested more than {MAX_BRACKET_DEPTH} deep", line)
        elif c in pairs:
            if stack and stack[-1][0] == pairs[c]:
                stack.pop()
            elif not stack:
                extra.append(i)
            # a mismatched closer is left for ast to report
        i += 1
    return stack, extra, None


def _repair(src: str) -> tuple[str, str | None]:
    """Close brackets left open by a truncated paste; drop stray closers at the end."""
    stack, extra, cut = _scan_brackets(src)
    note = None
    if cut is not None:
        src = src[:cut]
        stack, extra, _ = _scan_brackets(src)
        note = "the paste ends inside a string; ignored it from there"
    if extra:
        src = "".join(c for i, c in enumerate(src) if i not in set(extra))
        note = f"ignored {len(extra)} unmatched closing bracket(s)"
    if stack:
        closers = "".join({"(": ")", "[": "]", "{": "}"}[b] for b, _ in reversed(stack))
        src = src.rstrip().rstrip("\\") + "\n" + closers  # own line: the last may be a comment
        note = (f"the paste looks truncated (bracket opened on line {stack[-1][1]} is never "
                f"closed); closed it with {closers!r}")
    return src, note


def _ast_parse(src: str) -> ast.Module:
    try:
        return ast.parse(src)
    except (RecursionError, MemoryError) as err:
        raise PasteError("the text is nested too deeply to read") from err


def _parse_variants(src: str) -> tuple[ast.Module, str]:
    """ast.parse, retrying as a dedented fragment, with all indentation removed
    (no class/def), or wrapped in parentheses (comma-separated layer lines)."""
    first: SyntaxError | None = None
    variants = [textwrap.dedent(src)]
    if not re.search(r"^\s*(class|def)\s", src, re.M):
        variants.append("\n".join(line.strip() for line in src.split("\n")))
        variants.append("(" + variants[-1] + "\n)")
    for variant in variants:
        try:
            return _ast_parse(variant), variant
        except SyntaxError as err:
            first = first or err
    assert first is not None
    raise first


def _cut_points(src: str, limit: int = MAX_CUTS) -> list[int]:
    """Offsets just after the last few ')' that end a line, for a truncated paste."""
    points = [m.end() for m in re.finditer(r"\)[ \t]*,?[ \t]*(#[^\n]*)?$", src, re.M)]
    return points[::-1][:limit]


# --------------------------------------------------------------------------- evaluation

# An intermediate model: (name, leaf module or nested list, line).
_Item = tuple[str, Union[nn.Module, list], int]


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
        ast.JoinedStr: "an f-string", ast.Call: "a call", ast.Attribute: "an attribute lookup",
        ast.Subscript: "a subscript", ast.Name: "a name", ast.Dict: "a dict", ast.Set: "a set",
        ast.NamedExpr: "an assignment expression", ast.Await: "an await",
        ast.Starred: "a starred expression", ast.IfExp: "a conditional expression",
        ast.Compare: "a comparison", ast.BoolOp: "a boolean expression",
    }
    return kinds.get(type(node), f"a {type(node).__name__} expression")


class _Reader:
    """Walks the AST of pasted text and builds layers; never evaluates the text."""

    def __init__(self, source: str, notes: list[str]) -> None:
        self.source = source
        self.notes = notes
        self.nn_names = {"nn"}  # names bound to torch.nn
        self.f_names = {"F"}  # names bound to torch.nn.functional
        self.bare: dict[str, str] = {}  # from torch.nn import Conv2d as C -> {'C': 'Conv2d'}
        self.classes: dict[str, ast.ClassDef] = {}
        self.variables: dict[str, Any] = {}
        self.used_lists: set[str] = set()  # "<layers>name" unpacked into a Sequential
        self.init_args: set[str] = set()
        self.built = 0
        self.module_vars: dict[str, Any] = {}  # literals at the top of the paste
        self.reading: list[str] = []  # pasted classes being read (to refuse recursion)

    # ----- helpers
    def segment(self, node: ast.AST, limit: int = 60) -> str:
        seg = ast.get_source_segment(self.source, node) or type(node).__name__
        seg = " ".join(seg.split())
        return seg if len(seg) <= limit else seg[: limit - 3] + "..."

    def refuse(self, node: ast.AST, why: str = "") -> PasteError:
        what = _describe(node)
        msg = f"refused `{self.segment(node)}`"
        msg += f": {why}" if why else (
            f" ({what}); parse only builds torch.nn layers from literal arguments "
            "(numbers, strings, True/False/None, tuples, small integer arithmetic) and never "
            "runs pasted code")
        return PasteError(msg, getattr(node, "lineno", None))

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
            if name not in self.variables and _nn_class(name) is not None:
                return name
        return None

    # ----- literals
    def literal(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_EXPR_DEPTH:
            raise self.refuse(node, "expression nested too deeply")
        if isinstance(node, ast.Constant):
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
        if isinstance(node, (ast.Tuple, ast.List)):
            if len(node.elts) > MAX_SEQ:
                raise self.refuse(node, f"more than {MAX_SEQ} elements")
            values = [self.literal(e, depth + 1) for e in node.elts]
            return tuple(values) if isinstance(node, ast.Tuple) else values
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.literal(node.operand, depth + 1)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise self.refuse(node, "unary minus/plus of a non-number")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node, depth)
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return self.variables[node.id]
            if node.id in self.init_args:
                raise self.refuse(node, f"`{node.id}` is an argument of __init__ with no default "
                                        "in the paste; give it a default, or paste the line that "
                                        f"builds the model with it, e.g. `Net({node.id}=10)`")
            raise self.refuse(node, f"`{node.id}` is not given a literal value in the pasted "
                                    "text; replace it by its value")
        if isinstance(node, ast.Attribute):
            if (isinstance(node.value, ast.Name) and node.value.id == "self"
                    and f"self.{node.attr}" in self.variables):
                return self.variables[f"self.{node.attr}"]
            if (isinstance(node.value, ast.Name) and node.value.id == "torch"
                    and not node.attr.startswith("_")
                    and isinstance(getattr(torch, node.attr, None), torch.dtype)):
                return getattr(torch, node.attr)
            if self.nn_class_name(node) and _nn_class(self.nn_class_name(node) or "") is not None:
                name = self.nn_class_name(node)
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
            a = self.literal(node.left, depth + 1)
            b = self.literal(node.comparators[0], depth + 1)
            compare: dict[type, Callable[[Any, Any], bool]] = {
                ast.Is: lambda x, y: x is y, ast.IsNot: lambda x, y: x is not y,
                ast.Eq: lambda x, y: x == y, ast.NotEq: lambda x, y: x != y,
                ast.Lt: lambda x, y: x < y, ast.LtE: lambda x, y: x <= y,
                ast.Gt: lambda x, y: x > y, ast.GtE: lambda x, y: x >= y,
            }
            op = type(node.ops[0])
            if op not in compare or (op in (ast.Is, ast.IsNot) and not (
                    a is None or b is None or isinstance(a, bool) or isinstance(b, bool))):
                raise self.refuse(node, "only ==, !=, <, <=, >, >= and `is None` are read")
            try:
                return bool(compare[op](a, b))
            except TypeError as err:
                raise self.refuse(node, str(err)) from err
        return bool(self.literal(node, depth + 1))

    def bounded(self, v: Any, node: ast.AST) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
            raise self.refuse(node, f"the number is larger than 2**40 ({MAX_INT})")
        if isinstance(v, float) and not math.isfinite(v):
            raise self.refuse(node, "the number is not finite")
        return v

    def arithmetic(self, node: ast.BinOp, depth: int) -> Any:
        ops: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
            ast.Mod: lambda a, b: a % b, ast.Div: lambda a, b: a / b,
            ast.Pow: lambda a, b: a**b,
        }
        if type(node.op) not in ops:
            raise self.refuse(node, "only + - * / // % ** are accepted in arithmetic")
        a = self.literal(node.left, depth + 1)
        b = self.literal(node.right, depth + 1)
        for v in (a, b):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise self.refuse(node, "arithmetic on something that is not a number")
        if isinstance(node.op, (ast.FloorDiv, ast.Mod, ast.Div)) and b == 0:
            raise self.refuse(node, "division by zero")
        if isinstance(node.op, ast.Pow):
            if b < 0 or b > 64 or (abs(a) > 1 and b * math.log2(abs(a)) > 40):
                raise self.refuse(node, "the power is larger than 2**40")
        try:
            return self.bounded(ops[type(node.op)](a, b), node)
        except (OverflowError, ZeroDivisionError, ValueError) as err:
            raise self.refuse(node, str(err)) from err

    # ----- layers
    def is_layer_expr(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call):
            return self.nn_class_name(node.func) is not None or (
                isinstance(node.func, ast.Name) and node.func.id in self.classes)
        if isinstance(node, (ast.Tuple, ast.List)):
            return bool(node.elts) and all(self.is_layer_expr(e) for e in node.elts)
        return False

    def layer(self, node: ast.AST, depth: int = 0) -> nn.Module | list:
        """A torch.nn constructor call -> a meta-device module, or a list of _Items for
        containers (Sequential, ModuleList, printed repr containers)."""
        if depth > MAX_EXPR_DEPTH:
            raise self.refuse(node, "layers nested too deeply")
        if not isinstance(node, ast.Call):
            if isinstance(node, ast.Attribute) and self.nn_class_name(node):
                self.literal(node)  # raises the "class, not a layer" message
            raise self.refuse(node, "expected a torch.nn layer such as nn.Conv2d(3, 16, 3)")
        name = self.nn_class_name(node.func)
        if name is None:
            func = node.func
            if isinstance(func, ast.Name) and func.id in self.classes:
                note = (f"read the pasted class {func.id} as a nested Sequential of its layers "
                        "(first use on line {})")
                if not any(n.startswith(note.split("(first")[0]) for n in self.notes):
                    self.notes.append(note.format(node.lineno))
                return _read_pasted_class(self, node, func.id, depth + 1)
            if isinstance(func, ast.Name) and node.keywords and not node.args:
                # printed repr: a custom block `Block(conv1=Conv2d(...), ...)`
                if all(k.arg and self.is_layer_expr(k.value) for k in node.keywords):
                    self.notes.append(f"'{func.id}' (not a torch.nn class) is read as a "
                                      "sequence of its children; its forward may differ")
                    return self.children_from_keywords(node, depth)
            if isinstance(func, ast.Name) and _nn_class(func.id) is None and hasattr(nn, func.id):
                raise self.refuse(node, f"`{func.id}` is not a torch.nn layer class")
            raise self.refuse(node)
        cls = _nn_class(name)
        if name in _DENIED:
            raise self.refuse(node, f"parse cannot build nn.{name} from text (a dict or wrapper "
                                    "of modules, or the base class); use "
                                    "nn.Sequential, or import the model and trace it")
        if cls is None:
            raise self.refuse(node, f"`{name}` is not a public torch.nn layer class")
        line = node.lineno
        if cls is nn.Sequential or cls is nn.ModuleList:
            if node.keywords:
                if not node.args and all(k.arg for k in node.keywords):
                    return self.children_from_keywords(node, depth)
                raise self.refuse(node, f"nn.{name} takes layers as positional arguments")
            elts = list(node.args)
            if cls is nn.ModuleList:
                if len(elts) != 1 or not isinstance(elts[0], (ast.List, ast.Tuple)):
                    raise self.refuse(node, "nn.ModuleList takes one list of layers")
                elts = list(elts[0].elts)
                self.notes.append(f"nn.ModuleList on line {line} is read as a Sequential "
                                  "in list order")
            if len(elts) == 1 and self.ordered_dict_items(elts[0]) is not None:
                return self.ordered_dict_items(elts[0]) or []
            items: list[_Item] = []
            for e in elts:
                if isinstance(e, ast.Starred):  # nn.Sequential(*layers), layers a pasted list
                    key = f"<layers>{e.value.id}" if isinstance(e.value, ast.Name) else ""
                    if key not in self.variables:
                        raise self.refuse(e, "only a list of layers written out in the paste "
                                             "can be unpacked with *")
                    self.used_lists.add(key)
                    base = len(items)
                    items.extend([(str(base + k), layer, ln)
                                  for k, (_, layer, ln) in enumerate(self.variables[key])])
                    continue
                items.append((str(len(items)), self.layer(e, depth + 1),
                              getattr(e, "lineno", line)))
            return items
        args = [self.literal(a, depth + 1) for a in node.args]
        kwargs: dict[str, Any] = {}
        for k in node.keywords:
            if k.arg is None:
                raise self.refuse(k.value, "`**kwargs` cannot be read without running code")
            if k.arg.startswith("_"):
                raise self.refuse(k.value, f"private keyword `{k.arg}` refused")
            if k.arg == "device":
                self.notes.append(f"ignored device= of nn.{name} on line {line}: layers are "
                                  "built on the meta device")
                continue
            kwargs[k.arg] = self.literal(k.value, depth + 1)
        self.count_layer(line)
        return _build_layer(cls, args, kwargs, line)

    def count_layer(self, line: int) -> None:
        """Bound the work: layers built plus pasted classes read."""
        self.built += 1
        if self.built > MAX_LAYERS:
            err = PasteError(f"more than {MAX_LAYERS} layers; parse reads at most {MAX_LAYERS}",
                             line)
            err.fatal = True  # no use retrying a truncated paste at another cut
            raise err

    def children_from_keywords(self, node: ast.Call, depth: int) -> list:
        items: list[_Item] = []
        for k in node.keywords:
            assert k.arg is not None
            key = k.arg[1:] if re.fullmatch(r"_\d+", k.arg) else k.arg
            items.append((key, self.layer(k.value, depth + 1), k.value.lineno))
        return items

    def ordered_dict_items(self, node: ast.AST) -> list | None:
        """OrderedDict([('conv', nn.Conv2d(...)), ...]) -> items, or None if not that shape."""
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords):
            return None
        f = node.func
        if not ((isinstance(f, ast.Name) and f.id == "OrderedDict")
                or (isinstance(f, ast.Attribute) and f.attr == "OrderedDict"
                    and isinstance(f.value, ast.Name) and f.value.id == "collections")):
            return None
        seq = node.args[0]
        if not isinstance(seq, (ast.List, ast.Tuple)):
            raise self.refuse(seq, "OrderedDict takes a literal list of (name, layer) pairs")
        items: list[_Item] = []
        for pair in seq.elts:
            if not (isinstance(pair, ast.Tuple) and len(pair.elts) == 2
                    and isinstance(pair.elts[0], ast.Constant)
                    and isinstance(pair.elts[0].value, str)):
                raise self.refuse(pair, "expected a ('name', nn.Layer(...)) pair")
            items.append((pair.elts[0].value, self.layer(pair.elts[1], 1), pair.lineno))
        return items

    def layers_of(self, node: ast.AST) -> list:
        """A layer expression or a tuple/list of them -> list of _Items (unnamed)."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return [("", self.layer(e), e.lineno) for e in node.elts]
        return [("", self.layer(node), node.lineno)]


def _nn_class(name: str) -> type | None:
    if not name or name.startswith("_") or name in _DENIED:
        return None
    cls = getattr(nn, name, None)
    if isinstance(cls, type) and issubclass(cls, nn.Module):
        return cls
    return None


@functools.lru_cache(maxsize=None)
def _signature(cls: type) -> inspect.Signature | None:
    """The constructor's signature (cached: inspect.signature is slow next to building)."""
    try:
        return inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - all torch.nn classes have one
        return None


def _build_layer(cls: type, args: list, kwargs: dict, line: int) -> nn.Module:
    """Construct a torch.nn layer on the meta device (no weight memory)."""
    name = cls.__name__
    sig = _signature(cls)
    try:  # name the positional arguments too: nn.Transformer(512, 8, 10**6)
        named = sig.bind_partial(*args, **kwargs).arguments if sig else dict(kwargs)
    except TypeError:
        named = dict(kwargs)
    loops = [v for k, v in named.items() if "layers" in k]
    if issubclass(cls, nn.RNNBase) and len(args) > 2:
        loops.append(args[2])
    if any(isinstance(v, int) and v > MAX_REPEAT for v in loops):
        raise PasteError(f"refused nn.{name}(...): more than {MAX_REPEAT} layers", line)
    params = sig.parameters if sig else {}
    if "device" in params or issubclass(cls, nn.RNNBase):
        kwargs = {**kwargs, "device": "meta"}
    try:
        return cls(*args, **kwargs)
    except Exception as err:  # torch's own refusal of the arguments
        shown = ", ".join([repr(a) for a in args]
                          + [f"{k}={v!r}" for k, v in kwargs.items() if k != "device"])
        raise PasteError(f"torch refused nn.{name}({shown}): {err}", line) from err


# --------------------------------------------------------------------------- forward chains

# functional name -> (module class, parameter names after the input, in order)
_FUNCTIONAL: dict[str, tuple[type, tuple[str, ...]]] = {
    "relu": (nn.ReLU, ("inplace",)), "relu_": (nn.ReLU, ()),
    "relu6": (nn.ReLU6, ("inplace",)),
    "elu": (nn.ELU, ("alpha", "inplace")), "selu": (nn.SELU, ("inplace",)),
    "leaky_relu": (nn.LeakyReLU, ("negative_slope", "inplace")),
    "gelu": (nn.GELU, ()), "silu": (nn.SiLU, ("inplace",)), "mish": (nn.Mish, ("inplace",)),
    "sigmoid": (nn.Sigmoid, ()), "tanh": (nn.Tanh, ()),
    "hardswish": (nn.Hardswish, ("inplace",)),
    "softmax": (nn.Softmax, ("dim",)), "log_softmax": (nn.LogSoftmax, ("dim",)),
    "dropout": (nn.Dropout, ("p", "training", "inplace")),
    "dropout1d": (nn.Dropout1d, ("p", "training", "inplace")),
    "dropout2d": (nn.Dropout2d, ("p", "training", "inplace")),
    "dropout3d": (nn.Dropout3d, ("p", "training", "inplace")),
    "flatten": (nn.Flatten, ("start_dim", "end_dim")),
    "interpolate": (nn.Upsample, ("size", "scale_factor", "mode", "align_corners")),
    "pixel_shuffle": (nn.PixelShuffle, ("upscale_factor",)),
}
for _d in (1, 2, 3):
    _FUNCTIONAL[f"max_pool{_d}d"] = (getattr(nn, f"MaxPool{_d}d"), (
        "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"))
    _FUNCTIONAL[f"avg_pool{_d}d"] = (getattr(nn, f"AvgPool{_d}d"), (
        "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
        "divisor_override")[: 6 if _d > 1 else 5])
    _FUNCTIONAL[f"adaptive_avg_pool{_d}d"] = (getattr(nn, f"AdaptiveAvgPool{_d}d"),
                                              ("output_size",))
    _FUNCTIONAL[f"adaptive_max_pool{_d}d"] = (getattr(nn, f"AdaptiveMaxPool{_d}d"),
                                              ("output_size", "return_indices"))
_TORCH_FUNCS = {"relu", "sigmoid", "tanh", "flatten", "softmax", "log_softmax", "dropout"}
_METHODS = {"relu", "sigmoid", "tanh", "flatten", "softmax", "log_softmax"}


class _NotChain(Exception):
    def __init__(self, why: str, node: ast.AST) -> None:
        super().__init__(why)
        self.node = node


class _Forward:
    """Reads a forward that is a simple chain into steps:
    ('attr', name, line) for self.name(x), ('fn', name, module, line) for functional calls."""

    def __init__(self, reader: _Reader, fn: ast.FunctionDef) -> None:
        self.r = reader
        self.fn = fn
        self.batch: set[str] = set()
        self.steps: list[tuple] = []

    def read(self) -> list[tuple]:
        args = [a.arg for a in self.fn.args.args]
        if len(args) != 2 or self.fn.args.vararg or self.fn.args.kwonlyargs:
            raise _NotChain("forward takes more than one input", self.fn)
        data = args[1]
        for stmt in self.fn.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # docstring
            if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                    and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print"):
                continue  # debugging prints are common in forum code
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], ast.Name):
                target = stmt.targets[0].id
                if self.size_dim(stmt.value, data) == 0:
                    self.batch.add(target)
                    continue
                self.statement(stmt.value, data, stmt)
                data = target
                continue
            if isinstance(stmt, ast.Return) and stmt.value is not None:
                self.statement(stmt.value, data, stmt)
                return self.steps
            raise _NotChain("not a simple chain of layer calls", stmt)
        raise _NotChain("forward has no return", self.fn)

    def statement(self, value: ast.AST, data: str, stmt: ast.stmt) -> None:
        try:
            self.expr(value, data)
        except _NotChain as nc:
            what = f"`{self.r.segment(nc.node)}` " if nc.node is not value else ""
            raise _NotChain(f"{what}not a simple chain of calls on `{data}`", stmt) from nc

    def size_dim(self, node: ast.AST, data: str) -> int | None:
        """i for x.size(i), x.shape[i], x.size()[i]; 0 for a batch-size alias."""
        if isinstance(node, ast.Name) and node.id in self.batch:
            return 0
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "size" and _is_name(node.func.value, data)
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                and type(node.args[0].value) is int):
            return node.args[0].value
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and type(node.slice.value) is int:
            v = node.value
            if isinstance(v, ast.Attribute) and v.attr == "shape" and _is_name(v.value, data):
                return node.slice.value
            if (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute)
                    and v.func.attr == "size" and not v.args and _is_name(v.func.value, data)):
                return node.slice.value
        return None

    def expr(self, node: ast.AST, data: str) -> None:
        if _is_name(node, data):
            return
        if not isinstance(node, ast.Call):
            raise _NotChain("not a simple chain of layer calls", node)
        func = node.func
        # self.layer(x)
        if (isinstance(func, ast.Attribute) and _is_name(func.value, "self")
                and len(node.args) == 1 and not node.keywords):
            self.expr(node.args[0], data)
            self.steps.append(("attr", func.attr, node.lineno))
            return
        # F.relu(x, ...), torch.flatten(x, 1), torch.nn.functional.relu(x)
        fname = self.functional_name(func)
        if fname is not None and node.args:
            self.expr(node.args[0], data)
            self.steps.append(("fn", fname, self.functional(fname, node.args[1:], node),
                               node.lineno))
            return
        # x.view(...), x.flatten(1), x.relu()
        if isinstance(func, ast.Attribute):
            inner = func.value
            if func.attr in ("view", "reshape"):
                self.expr(inner, data)
                self.steps.append(("fn", func.attr, self.view(node, func.attr, inner, data),
                                   node.lineno))
                return
            if func.attr in _METHODS:
                self.expr(inner, data)
                self.steps.append(("fn", func.attr, self.functional(func.attr, node.args, node),
                                   node.lineno))
                return
        raise _NotChain("not a simple chain of layer calls", node)

    def functional_name(self, func: ast.AST) -> str | None:
        if not isinstance(func, ast.Attribute) or func.attr not in _FUNCTIONAL:
            return None
        base = func.value
        if isinstance(base, ast.Name) and base.id in self.r.f_names:
            return func.attr
        if isinstance(base, ast.Name) and base.id == "torch" and func.attr in _TORCH_FUNCS:
            return func.attr
        if isinstance(base, ast.Attribute) and base.attr == "functional":
            return func.attr
        return None

    def functional(self, fname: str, args: list, node: ast.Call) -> nn.Module:
        cls, names = _FUNCTIONAL[fname]
        if len(args) > len(names):
            raise _NotChain(f"too many arguments for {fname}", node)
        given: dict[str, ast.AST] = dict(zip(names, args))
        for k in node.keywords:
            if k.arg is None or k.arg not in names:
                raise _NotChain(f"unexpected keyword for {fname}", node)
            given[k.arg] = k.value
        given.pop("training", None)  # F.dropout(x, training=self.training): the layer knows
        if fname == "flatten":  # torch.flatten and x.flatten start at dim 0 by default
            given.setdefault("start_dim", ast.Constant(0))
        try:
            kwargs = {k: self.r.literal(v) for k, v in given.items()}
        except PasteError as err:
            raise _NotChain(f"an argument of {fname} is not a literal ({err})", node) from err
        return _build_layer(cls, [], kwargs, node.lineno)

    def view(self, node: ast.Call, method: str, inner: ast.AST, data: str) -> nn.Module:
        args = list(node.args)
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            args = list(args[0].elts)
        if node.keywords or not args:
            raise _NotChain(f"unusual x.{method}(...)", node)
        # the tensor being viewed is the data after the inner steps; x.size(i) refers to
        # the name in the source, which is the current data name when inner is that name
        src = inner.id if isinstance(inner, ast.Name) else data
        shape: list[int | None] = []
        for i, a in enumerate(args):
            dim = self.size_dim(a, src)
            if dim is not None:
                if dim != i:
                    raise _NotChain(f"x.{method} uses x.size({dim}) at position {i}", node)
                shape.append(None)
                continue
            try:
                v = self.r.literal(a)
            except PasteError as err:
                raise _NotChain(f"an argument of x.{method} is not a literal ({err})",
                                node) from err
            if not isinstance(v, int) or isinstance(v, bool):
                raise _NotChain(f"x.{method} with a non-integer size", node)
            shape.append(v)
        if shape == [None, -1]:
            return nn.Flatten(1)
        return ViewAs(*shape, method=method)


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


# --------------------------------------------------------------------------- assembling


def _unique(name: str, used: set[str]) -> str:
    """torch.fx's convention: relu, relu_1, relu_2, ..."""
    if name not in used:
        used.add(name)
        return name
    i = 1
    while f"{name}_{i}" in used:
        i += 1
    used.add(f"{name}_{i}")
    return f"{name}_{i}"


def _call_values(r: _Reader, init: ast.FunctionDef | None, call: ast.Call,
                 strict: bool) -> dict[str, Any]:
    """Literal values of a call of a pasted class, by __init__ parameter name."""
    if init is None:
        return {}
    params = [p.arg for p in init.args.args[1:]]
    if len(call.args) > len(params) and strict:
        raise r.refuse(call, f"more arguments than {r.segment(call.func)}.__init__ takes")
    given: dict[str, ast.AST] = dict(zip(params, call.args))
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    values = {}
    for name, node in given.items():
        try:
            values[name] = r.literal(node)
        except PasteError:
            if strict:
                raise
    return values


def _class_body_values(r: _Reader, cls: ast.ClassDef) -> None:
    """Class attributes with literal values: `class Net: hidden = 64` -> self.hidden."""
    for stmt in cls.body:
        t = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else (
            stmt.target if isinstance(stmt, ast.AnnAssign) else None)
        if isinstance(t, ast.Name) and stmt.value is not None:  # type: ignore[union-attr]
            try:
                r.variables[f"self.{t.id}"] = r.literal(stmt.value)  # type: ignore[union-attr]
            except PasteError:
                pass


def _read_pasted_class(r: _Reader, node: ast.Call, cname: str, depth: int) -> list:
    """A class defined in the paste used as a layer, e.g. U-Net's DoubleConv(64, 128):
    read it like the model class, in a scope of its own, as a nested Sequential."""
    if cname in r.reading or depth > 10:
        raise r.refuse(node, f"class {cname} contains itself")
    r.count_layer(node.lineno)
    cls = r.classes[cname]
    methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef)}
    if "__init__" not in methods:
        raise r.refuse(node, f"class {cname} in the paste has no __init__ defining layers")
    values = _call_values(r, methods.get("__init__"), node, strict=True)
    saved = r.variables, r.init_args
    r.variables, r.init_args = dict(r.module_vars), set()
    r.reading.append(cname)
    try:
        _class_body_values(r, cls)
        return _read_class(r, methods.get("__init__"), methods.get("forward"), cname, values)
    finally:
        r.reading.pop()
        r.variables, r.init_args = saved


def _init_statements(r: _Reader, body: list[ast.stmt], entries: dict[str, tuple[Any, int]],
                     depth: int = 0) -> None:
    """Read __init__'s statements: layer and literal assignments, and `if` on literals."""
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        if isinstance(stmt, ast.Expr) and _is_super_init(stmt.value):
            continue
        if isinstance(stmt, ast.If) and depth < 10:
            # `if not mid_channels: mid_channels = out_channels` (U-Net): decided on literals
            try:
                branch = stmt.body if r.condition(stmt.test) else stmt.orelse
            except PasteError as err:
                raise r.refuse(stmt.test, f"the condition is not decided by literals ({err})"
                               ) from err
            _init_statements(r, branch, entries, depth + 1)
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            if len(targets) != 1 or value is None:
                raise r.refuse(stmt, "only `self.name = nn.Layer(...)` assignments are read")
            t = targets[0]
            is_self = isinstance(t, ast.Attribute) and _is_name(t.value, "self")
            if not (is_self or isinstance(t, ast.Name)):
                raise r.refuse(stmt, "only `self.name = nn.Layer(...)` assignments are read")
            key = t.attr if isinstance(t, ast.Attribute) else t.id
            if r.is_layer_expr(value) or _looks_like_layer(r, value):
                layer = r.layer(value) if not isinstance(value, (ast.Tuple, ast.List)) \
                    else [(str(i), r.layer(e), e.lineno) for i, e in enumerate(value.elts)]
                if is_self:
                    entries[key] = (layer, stmt.lineno)
                else:
                    r.variables[f"<layer>{key}"] = (layer, stmt.lineno)
                    if isinstance(layer, list):
                        r.variables[f"<layers>{key}"] = layer
            elif isinstance(value, ast.Name) and f"<layer>{value.id}" in r.variables and is_self:
                entries[key] = r.variables[f"<layer>{value.id}"]
            else:
                r.variables[f"self.{key}" if is_self else key] = r.literal(value)
            continue
        raise r.refuse(stmt, "parse reads only straight-line `self.name = nn.Layer(...)` "
                             "assignments (and `if` on literal values) in __init__; build "
                             "this model in Python and pass it to convwidget.trace")


def _read_class(r: _Reader, init: ast.FunctionDef | None, forward: ast.FunctionDef | None,
                cname: str, values: dict[str, Any] | None = None) -> list:
    entries: dict[str, tuple[Any, int]] = {}
    if init is None:
        raise PasteError(f"class {cname} has no __init__ defining its layers", None)
    # literal defaults of __init__'s arguments: def __init__(self, num_classes=10)
    a = init.args
    r.init_args.update(p.arg for p in a.args[1:] + a.kwonlyargs)
    r.variables.update(values or {})
    for arg, default in zip(a.args[len(a.args) - len(a.defaults):], a.defaults):
        try:
            r.variables.setdefault(arg.arg, r.literal(default))
        except PasteError:
            pass
    for arg, kwdefault in zip(a.kwonlyargs, a.kw_defaults):
        if kwdefault is not None and arg.arg not in r.variables:
            try:
                r.variables[arg.arg] = r.literal(kwdefault)
            except PasteError:
                pass
    _init_statements(r, init.body, entries)
    order: list[tuple[str, Any, int]] = []
    if forward is not None:
        try:
            steps = _Forward(r, forward).read()
            unknown = [s for s in steps if s[0] == "attr" and s[1] not in entries]
            if unknown:
                raise _NotChain(f"self.{unknown[0][1]} is not a layer defined in __init__",
                                forward)
        except _NotChain as nc:
            line = getattr(nc.node, "lineno", forward.lineno)
            r.notes.append(f"forward is not a simple chain ({nc}, line {line}: "
                           f"`{r.segment(nc.node)}`); layers are in __init__ order")
        else:
            used: set[str] = set(entries)
            seen: set[str] = set()
            for step in steps:
                if step[0] == "attr":
                    layer, line = entries[step[1]]
                    if step[1] in seen:
                        name = _unique(step[1], used)
                        r.notes.append(f"self.{step[1]} is used more than once in forward; "
                                       f"its use on line {step[2]} is a copy named '{name}'")
                        order.append((name, copy.deepcopy(layer), step[2]))
                    else:
                        seen.add(step[1])
                        order.append((step[1], layer, line))
                else:
                    order.append((_unique(step[1], used), step[2], step[3]))
            unused = [k for k in entries if k not in seen]
            if unused:
                r.notes.append("defined in __init__ but not used by forward, left out: "
                               + ", ".join(repr(k) for k in unused))
            added = [name for name, _, _ in order if name not in entries]
            if [name for name, _, _ in order if name in entries] != list(entries):
                r.notes.append(f"layers of {cname} are in the order forward calls them")
            if added:
                r.notes.append(f"functional calls in forward of {cname} became modules named "
                               f"after the function: {', '.join(added)}")
            return order
    elif forward is None:
        r.notes.append(f"no forward in the paste; layers of {cname} are in __init__ order")
    return [(k, layer, line) for k, (layer, line) in entries.items()]


def _looks_like_layer(r: _Reader, node: ast.AST) -> bool:
    """Calls that are not literals: let layer() refuse them with the right message."""
    return isinstance(node, ast.Call) and r.ordered_dict_items(node) is None and not (
        isinstance(node.func, ast.Name) and node.func.id in ("int", "float"))


def _is_super_init(node: ast.AST) -> bool:
    """super().__init__(), super(Net, self).__init__(), nn.Module.__init__(self)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"):
        return False
    v = node.func.value
    return (isinstance(v, ast.Call) and _is_name(v.func, "super")) or (
        isinstance(v, ast.Attribute) and v.attr == "Module")


def _read_module(r: _Reader, tree: ast.Module) -> list:
    body = tree.body
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            r.imports(stmt)
        elif isinstance(stmt, ast.ClassDef):
            r.classes[stmt.name] = stmt
    funcs = {s.name: s for s in body if isinstance(s, ast.FunctionDef)}
    if r.classes:
        # the model is the last class defined that no other pasted class uses
        used = {n.func.id for c in r.classes.values() for n in ast.walk(c)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                and n.func.id in r.classes and n.func.id != c.name}
        tops = [c for c in r.classes.values() if c.name not in used]
        cls = tops[-1] if tops else list(r.classes.values())[-1]
        methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef)}
        others = [s for s in body if not isinstance(s, (ast.ClassDef, ast.Import, ast.ImportFrom))
                  and not _is_literal_assign(r, s)]
        r.module_vars = dict(r.variables)
        _class_body_values(r, cls)
        if others:
            r.notes.append(f"read class {cls.name}; ignored {len(others)} statement(s) outside "
                           f"it (first on line {others[0].lineno}: `{r.segment(others[0])}`)")
        calls = [n for s in others for n in ast.walk(s) if isinstance(n, ast.Call)
                 and _is_name(n.func, cls.name)]
        values = {}
        if calls:  # `model = Net(num_classes=10)` in the paste: those values
            values = _call_values(r, methods.get("__init__"), calls[0], strict=False)
            r.notes.append(f"__init__ arguments from `{r.segment(calls[0])}` on line "
                           f"{calls[0].lineno}")
        r.reading.append(cls.name)
        return _read_class(r, methods.get("__init__"), methods.get("forward"), cls.name,
                           values)
    if "__init__" in funcs:
        return _read_class(r, funcs["__init__"], funcs.get("forward"), "the pasted methods")
    items: list = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                continue  # a docstring or a string of prose
            if _is_super_init(stmt.value):
                continue  # lines pasted from inside __init__
            v = stmt.value
            if isinstance(v, ast.Name) or (
                    isinstance(v, ast.Call) and _is_name(v.func, "print")
                    and all(isinstance(a, ast.Name) for a in v.args) and not v.keywords):
                r.notes.append(f"ignored `{r.segment(v)}` on line {stmt.lineno}")
                continue  # `model` or `print(model)` after the definition
            items.extend(r.layers_of(stmt.value))
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], (ast.Name, ast.Attribute)):
            t = stmt.targets[0]
            name = t.id if isinstance(t, ast.Name) else t.attr
            if isinstance(t, ast.Attribute) and not _is_name(t.value, "self"):
                raise r.refuse(t)
            if isinstance(t, ast.Name) and isinstance(stmt.value, (ast.List, ast.Tuple)) \
                    and r.is_layer_expr(stmt.value):
                made = r.layers_of(stmt.value)
                r.variables[f"<layers>{name}"] = made
                items.append((f"<layers>{name}", made, stmt.lineno))  # unless unpacked later
                continue
            if r.is_layer_expr(stmt.value) or isinstance(stmt.value, ast.Call):
                made = r.layers_of(stmt.value)
                if len(made) == 1 and isinstance(made[0][1], list) and len(body) == 1:
                    return made[0][1]  # model = nn.Sequential(...): its children, top level
                items.extend((name if len(made) == 1 else "", m, ln) for _, m, ln in made)
            else:
                r.variables[name if isinstance(t, ast.Name) else f"self.{name}"] = \
                    r.literal(stmt.value)
        elif isinstance(stmt, ast.FunctionDef):
            r.notes.append(f"ignored def {stmt.name} on line {stmt.lineno}")
        else:
            raise r.refuse(stmt, "not a torch.nn layer, a list of them, or a literal assignment")
    # lists that were unpacked into a Sequential are part of it, not layers of their own
    items = [it for it in items if it[0] not in r.used_lists]
    items = [(("" if n.startswith("<layers>") else n), layer, ln) for n, layer, ln in items]
    if len(items) == 1 and isinstance(items[0][1], list):
        return items[0][1]  # a lone nn.Sequential(...): its children are the model
    return items


def _is_literal_assign(r: _Reader, stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        try:
            r.variables[stmt.targets[0].id] = r.literal(stmt.value)
            return True
        except PasteError:
            return False
    return False


def _name_items(items: list) -> list:
    """Give unnamed items their position as name; make names unique."""
    used: set[str] = set()
    named = []
    for i, (name, layer, line) in enumerate(items):
        name = _unique(name or str(i), used)
        if isinstance(layer, list):
            layer = _name_items(layer)
        named.append((name, layer, line))
    return named


def _insert_flatten(items: list, notes: list[str]) -> None:
    """Insert nn.Flatten() before a Linear that follows conv/pool layers with no flatten."""
    state: dict[str, Any] = {"spatial": None}

    def walk(items: list, prefix: str) -> bool:
        """Returns True when the flatten belongs before this container (at its start)."""
        i = 0
        while i < len(items):
            name, layer, line = items[i]
            need = False
            if isinstance(layer, list):
                need = walk(layer, f"{prefix}{name}.")
                if not need:
                    i += 1
                    continue
            else:
                kind = type(layer).__name__
                if _SPATIAL.search(kind):
                    state["spatial"] = prefix + name
                elif isinstance(layer, (nn.Flatten, ViewAs, nn.Linear, nn.LazyLinear,
                                        nn.Bilinear)):
                    if isinstance(layer, (nn.Linear, nn.LazyLinear)) and state["spatial"]:
                        need = True
                        state["linear"] = prefix + name
                    else:
                        state["spatial"] = None
                if not need:
                    i += 1
                    continue
            j = i
            while j > 0 and not isinstance(items[j - 1][1], list) \
                    and isinstance(items[j - 1][1], _ELEMENTWISE):
                j -= 1
            if j == 0 and prefix:
                return True
            used = {n for n, _, _ in items}
            fname = _unique("flatten", used)
            before = items[j][0]
            where = f"{prefix}{before}"
            items.insert(j, (fname, nn.Flatten(), line))
            notes.append(f"inserted nn.Flatten() as '{prefix}{fname}' before '{where}' "
                         f"(nn.Linear '{state['linear']}' comes after conv/pool layers, last "
                         f"'{state['spatial']}', with no flatten in the text; the flatten "
                         "usually lives in forward)")
            state["spatial"] = None
            i += 2
        return False

    walk(items, "")


def _build(items: list) -> nn.Sequential:
    from collections import OrderedDict

    return nn.Sequential(OrderedDict(
        (name, _build(layer) if isinstance(layer, list) else layer) for name, layer, _ in items))


def _lines(items: list, prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for name, layer, line in items:
        out[prefix + name] = line
        if isinstance(layer, list):
            out.update(_lines(layer, f"{prefix}{name}."))
    return out


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Pasted:
    """What :func:`read` makes of pasted text: the model and what parse assumed.

    Attributes
    ----------
    model : torch.nn.Sequential
        The layers on the meta device, named as in the code.
    notes : tuple of str
        Sentences saying what was assumed or changed (an inserted ``nn.Flatten()``,
        prose ignored, a truncated paste closed).
    lines : dict of str to int
        Qualified layer name -> line of the pasted text.

    >>> pasted = read("nn.Conv2d(3, 8, 3)\\nnn.ReLU()")
    >>> pasted.model
    Sequential(
      (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))
      (1): ReLU()
    )
    >>> pasted.lines
    {'0': 1, '1': 2}
    >>> pasted.notes
    ()
    """

    model: nn.Sequential
    notes: tuple[str, ...]
    lines: dict[str, int]


def read(text: str) -> Pasted:
    """Read pasted PyTorch text without running it: the model, the notes, the lines.

    The same reading as :func:`parse`, which returns only the model; see there for
    what is accepted and refused.

    Parameters
    ----------
    text : str
        The pasted code.

    Returns
    -------
    Pasted
        ``.model`` (an ``nn.Sequential`` on the meta device), ``.notes`` and ``.lines``.

    Raises
    ------
    PasteError
        (a ``ValueError``) for anything other than torch.nn layers built from literals.

    Examples
    --------
    >>> pasted = read("```\\nnn.Conv2d(3, 8, 3), nn.Linear(8, 2)\\n```")
    >>> [type(m).__name__ for m in pasted.model]
    ['Conv2d', 'Flatten', 'Linear']
    >>> pasted.notes[-1]  # doctest: +ELLIPSIS
    "inserted nn.Flatten() as 'flatten' before '1' ..."
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the pasted text as a str, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise PasteError(f"the text is {len(text)} characters long; parse reads at most "
                         f"{MAX_CHARS} (paste only the model's code)")
    notes: list[str] = []
    src = _clean(text, notes)
    if _REPR_ENTRY.search(src.split("\n", 1)[0]) or any(
            _REPR_ENTRY.match(line) for line in src.split("\n")):
        src = _from_repr(src, notes)
    repaired, repair_note = _repair(src)
    candidates = [(repaired, "")]
    if repair_note and "truncated" in repair_note:
        for point in _cut_points(src):
            cut, _ = _repair(src[:point])
            if cut not in [c for c, _ in candidates]:
                candidates.append((cut, " ".join(src[point:].split())))
    first_error: Exception | None = None
    for candidate, tail in candidates:
        tried_notes = list(notes)
        try:
            items = _parse_source(candidate, tried_notes)
        except (PasteError, SyntaxError) as err:
            if getattr(err, "fatal", False):
                raise
            first_error = first_error or err
            continue
        if repair_note:
            tried_notes.append(repair_note)
        if tail:
            shown = tail if len(tail) <= 60 else tail[:57] + "..."
            tried_notes.append(f"ignored the incomplete end of the truncated paste: `{shown}`")
        notes = tried_notes
        break
    else:
        assert first_error is not None
        if isinstance(first_error, SyntaxError):
            line = first_error.lineno
            bad = (text.split("\n")[line - 1].strip() if line and line <= text.count("\n") + 1
                   else "")
            raise PasteError(f"not Python code that parse can read ({first_error.msg}): "
                             f"`{bad[:60]}`", line) from first_error
        raise first_error
    items = _name_items(items)
    _insert_flatten(items, notes)
    notes = list(dict.fromkeys(notes))  # nested pasted classes repeat theirs
    return Pasted(model=_build(items), notes=tuple(notes), lines=_lines(items))




def parse(text: str) -> nn.Sequential:
    """Build an ``nn.Sequential`` on the meta device from pasted PyTorch text.

    The text is read with :mod:`ast` and never run. Accepted: an
    ``nn.Sequential(...)`` fragment, lines of ``nn.X(...)`` (comments, trailing
    commas), a class with ``__init__`` (and ``forward``: when it is a simple
    chain, its order and its functional calls are used; classes defined in the
    paste and used as layers become nested Sequentials), the printed repr of a
    model, a truncated paste, prose/markdown fences/``>>>`` prompts around it.

    Parameters
    ----------
    text : str
        The pasted code.

    Returns
    -------
    torch.nn.Sequential
        Layers named as in the code (``self.conv1`` -> ``'conv1'``), nested
        ``nn.Sequential`` kept nested. Parameters are on the meta device.
        Extra attributes: ``convwidget_notes`` (list of sentences saying what
        parse assumed or changed, such as an inserted ``nn.Flatten()``) and
        ``convwidget_lines`` (qualified name -> line of the pasted text).

    Raises
    ------
    PasteError
        (a ``ValueError``) for anything other than torch.nn layers built from
        literals; the message names the piece and its line.

    Examples
    --------
    >>> model = parse('''
    ... Here is my model:
    ... nn.Conv2d(3, 6, 5),   # conv
    ... nn.ReLU(),
    ... nn.MaxPool2d(2),
    ... nn.Linear(6 * 14 * 14, 10
    ... ''')
    >>> model
    Sequential(
      (0): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))
      (1): ReLU()
      (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
      (flatten): Flatten(start_dim=1, end_dim=-1)
      (3): Linear(in_features=1176, out_features=10, bias=True)
    )
    >>> model[0].weight.device
    device(type='meta')
    >>> print(model.convwidget_notes[-1])  # doctest: +ELLIPSIS
    inserted nn.Flatten() as 'flatten' before '3' (nn.Linear '3' comes after conv/pool layers...
    >>> parse("nn.Linear(open('/etc/passwd'), 3)")
    Traceback (most recent call last):
    ...
    convwidget.pasted.PasteError: line 1: refused `open('/etc/passwd')` (a call); ...
    """
    pasted = read(text)
    model = pasted.model
    # kept until the tracer reads `read(text)` instead
    model.convwidget_notes = list(pasted.notes)  # type: ignore[assignment]
    model.convwidget_lines = dict(pasted.lines)  # type: ignore[assignment]
    return model


def _parse_source(src: str, notes: list[str]) -> list:
    budget = 20 * MAX_CHARS  # characters given to ast.parse, so refusal stays quick
    for _ in range(50):  # drop prose lines that ast points at, a bounded number of times
        budget -= 3 * len(src)
        if budget < 0:
            raise PasteError("too many lines that are not code; paste only the model's code")
        try:
            tree, src = _parse_variants(src)
            break
        except SyntaxError as err:
            lines = src.split("\n")
            i = (err.lineno or 0) - 1
            if 0 <= i < len(lines) and _is_prose_fallback(lines[i]):
                lines[i] = ""
                src = "\n".join(lines)
                notes.append(f"ignored line {i + 1} (not code)")
                continue
            raise
    else:
        raise PasteError("too many lines that are not code")
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise PasteError(f"the code has {count} syntax nodes; parse reads at most {MAX_NODES}")
    reader = _Reader(src, notes)
    items = _read_module(reader, tree)
    if not items:
        raise PasteError("found no torch.nn layers in the text; paste nn.Sequential(...), "
                         "lines of nn.X(...), or a class with __init__")
    return items


def _is_prose_fallback(line: str) -> bool:
    """A line ast refuses that has no code punctuation ("Model:", "Thanks!")."""
    s = line.strip()
    return bool(s) and not re.search(r"[()\[\]=,]", s) and not keyword.iskeyword(
        s.split()[0].rstrip(":"))


from .loading import load_model  # noqa: E402  (re-exported until the tracer imports it from .loading)
