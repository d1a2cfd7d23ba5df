"""A pasted ``nn.Module`` class -> its layers, in the order its ``forward`` calls them.

``__init__`` is read as straight-line assignments (``self.conv1 = nn.Conv2d(...)``,
literal values, ``if`` on literals); a ``forward`` that is a simple chain gives the
order and adds its functional calls as modules. Classes defined in the paste and used
as layers (U-Net's ``DoubleConv``) become nested Sequentials.
"""

from __future__ import annotations

import ast
import contextlib
import copy
from collections.abc import Iterable
from typing import Any

from .forward import Forward, NotChain, combined_branches, is_name
from .limits import ONCE_IN_ORDER, PasteError
from .reader import Item, Reader

__all__ = ["ModelReader", "Names", "is_super_init"]

# What __init__ binds: attribute or local name -> (layer or items, line).
_Entries = dict[str, tuple[Any, int]]


def is_super_init(node: ast.AST) -> bool:
    """super().__init__(), super(Net, self).__init__(), nn.Module.__init__(self)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"):
        return False
    v = node.func.value
    return (isinstance(v, ast.Call) and is_name(v.func, "super")) or (
        isinstance(v, ast.Attribute) and v.attr == "Module")


class Names:
    """Unique names, torch.fx's convention: relu, relu_1, relu_2, ... (each suffix search
    starts where the last one for that name stopped: linear time for many repeats).

    >>> names = Names({"relu_1"})
    >>> [names.unique("relu") for _ in range(3)]
    ['relu', 'relu_2', 'relu_3']
    """

    def __init__(self, used: Iterable[str] = ()) -> None:
        self.used = set(used)
        self._next: dict[str, int] = {}

    def unique(self, name: str) -> str:
        if name in self.used:
            i = self._next.get(name, 1)
            while f"{name}_{i}" in self.used:
                i += 1
            self._next[name] = i + 1
            name = f"{name}_{i}"
        self.used.add(name)
        return name


def _size(layer: Any) -> int:
    """Modules in a layer or a list of items."""
    if isinstance(layer, list):
        return sum(_size(item[1]) for item in layer)
    return sum(1 for _ in layer.modules())


def methods_of(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef)}


class ModelReader(Reader):
    """The reader of a whole paste: layers, and the classes defined in it."""

    def call_values(self, init: ast.FunctionDef | None, call: ast.Call,
                    strict: bool) -> dict[str, Any]:
        """Literal values of a call of a pasted class, by __init__ parameter name."""
        if init is None:
            return {}
        params = [p.arg for p in init.args.args[1:]]
        if len(call.args) > len(params) and strict:
            raise self.refuse(call, f"more arguments than {self.segment(call.func)}.__init__ takes")
        given: dict[str, ast.AST] = dict(zip(params, call.args, strict=False))
        given.update({k.arg: k.value for k in call.keywords if k.arg})
        values = {}
        for name, node in given.items():
            try:
                values[name] = self.literal(node)
            except PasteError:
                if strict:
                    raise
        return values

    def class_body_values(self, cls: ast.ClassDef) -> None:
        """Class attributes with literal values: `class Net: hidden = 64` -> self.hidden."""
        for stmt in cls.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target, value = stmt.target, stmt.value
            else:
                continue
            if isinstance(target, ast.Name):
                with contextlib.suppress(PasteError):
                    self.variables[f"self.{target.id}"] = self.literal(value)

    def pasted_class(self, node: ast.Call, cname: str, depth: int) -> list:
        """A class defined in the paste used as a layer, e.g. U-Net's DoubleConv(64, 128):
        read it like the model class, in a scope of its own, as a nested Sequential."""
        if cname in self.reading:
            raise self.refuse(node, f"class {cname} contains itself")
        if len(self.reading) > 10:
            raise self.refuse(node, "pasted classes used inside each other more than 10 deep")
        self.count_layer(node.lineno)
        cls = self.classes[cname]
        methods = methods_of(cls)
        if "__init__" not in methods:
            raise self.refuse(node, f"class {cname} in the paste has no __init__ defining layers")
        values = self.call_values(methods["__init__"], node, strict=True)
        saved = self.variables, self.init_args, self.outer
        self.variables, self.init_args = dict(self.module_vars), set()
        self.outer += depth
        self.reading.append(cname)
        try:
            self.class_body_values(cls)
            return self.read_class(methods["__init__"], methods.get("forward"), cname, values)
        finally:
            self.reading.pop()
            self.variables, self.init_args, self.outer = saved

    # ----- __init__
    def init_statements(self, body: list[ast.stmt], entries: _Entries, depth: int = 0) -> None:
        """Read __init__'s statements: layer and literal assignments, and `if` on literals."""
        for stmt in body:
            if isinstance(stmt, ast.Expr) and (
                    isinstance(stmt.value, ast.Constant) or is_super_init(stmt.value)):
                continue  # a docstring, super().__init__()
            if isinstance(stmt, ast.If) and depth < 10:
                self.init_statements(self.branch(stmt), entries, depth + 1)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                self.init_assignment(stmt, entries)
            else:
                raise self.refuse(stmt, "parse reads only straight-line `self.name = nn.Layer(...)` "
                                        "assignments (and `if` on literal values) in __init__; build "
                                        "this model in Python and pass it to convwidget.trace")

    def branch(self, stmt: ast.If) -> list[ast.stmt]:
        """`if not mid_channels: mid_channels = out_channels` (U-Net): decided on literals."""
        try:
            return stmt.body if self.condition(stmt.test) else stmt.orelse
        except PasteError as err:
            raise self.refuse(stmt.test, f"the condition is not decided by literals ({err})") from err

    def init_assignment(self, stmt: ast.Assign | ast.AnnAssign, entries: _Entries) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value, t = stmt.value, targets[0]
        is_self = isinstance(t, ast.Attribute) and is_name(t.value, "self")
        if len(targets) != 1 or value is None or not isinstance(t, (ast.Attribute, ast.Name)) or (
                isinstance(t, ast.Attribute) and not is_self):
            raise self.refuse(stmt, "only `self.name = nn.Layer(...)` assignments are read")
        key = t.attr if isinstance(t, ast.Attribute) else t.id
        if self.is_layer_expr(value) or self.looks_like_layer(value):
            layer: Any = (self.layer(value) if not isinstance(value, (ast.Tuple, ast.List))
                          else [(str(i), self.layer(e), e.lineno) for i, e in enumerate(value.elts)])
            if is_self:
                entries[key] = (layer, stmt.lineno)
            else:
                self.variables[f"<layer>{key}"] = (layer, stmt.lineno)
                if isinstance(layer, list):
                    self.variables[f"<layers>{key}"] = layer
        elif isinstance(value, ast.Name) and f"<layer>{value.id}" in self.variables and is_self:
            entries[key] = self.variables[f"<layer>{value.id}"]
        else:
            self.variables[f"self.{key}" if is_self else key] = self.literal(value)

    def looks_like_layer(self, node: ast.AST) -> bool:
        """Calls that are not literals: let layer() refuse them with the right message."""
        return isinstance(node, ast.Call) and self.ordered_dict_items(node) is None and not (
            isinstance(node.func, ast.Name) and node.func.id in ("int", "float"))

    def init_defaults(self, init: ast.FunctionDef, values: dict[str, Any] | None) -> None:
        """Literal defaults of __init__'s arguments: def __init__(self, num_classes=10)."""
        a = init.args
        self.init_args.update(p.arg for p in a.args[1:] + a.kwonlyargs)
        self.variables.update(values or {})
        defaults = list(zip(a.args[len(a.args) - len(a.defaults):], a.defaults, strict=True))
        defaults += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
                     if d is not None]
        for arg, default in defaults:
            if arg.arg not in self.variables:
                with contextlib.suppress(PasteError):
                    self.variables[arg.arg] = self.literal(default)

    # ----- the class
    def read_class(self, init: ast.FunctionDef | None, forward: ast.FunctionDef | None,
                   cname: str, values: dict[str, Any] | None = None) -> list[Item]:
        """The layers of a class: in forward's order when it is a simple chain."""
        if init is None:
            raise PasteError(f"class {cname} has no __init__ defining its layers", None)
        self.init_defaults(init, values)
        entries: _Entries = {}
        nested = [s for s in init.body if isinstance(s, ast.FunctionDef) and s.name == "forward"]
        if nested and forward is None:  # indented one level too deep: a common paste mistake
            forward = nested[0]
            self.notes.append(f"read the forward nested inside __init__ (line {forward.lineno}) as "
                              f"{cname}'s forward; in your code it is not a method: dedent it")
        self.init_statements([s for s in init.body if s is not forward], entries)
        if forward is None:
            self.notes.append(f"no forward in the paste; layers of {cname} are in __init__ order: "
                              f"the answer {ONCE_IN_ORDER} (a layer that forward uses twice, "
                              "such as a pool, or another order changes it)")
        else:
            try:
                steps = self.forward_steps(forward, entries)
            except NotChain as nc:
                self.refuse_branches(forward, entries, cname)
                line = getattr(nc.node, "lineno", forward.lineno)
                self.notes.append(f"forward is not a simple chain ({nc}, line {line}: "
                                  f"`{self.segment(nc.node)}`); layers are in __init__ order: "
                                  f"the answer {ONCE_IN_ORDER}")
            else:
                return self.in_forward_order(steps, entries, cname)
        return [(k, layer, line) for k, (layer, line) in entries.items()]

    def refuse_branches(self, forward: ast.FunctionDef, entries: _Entries, cname: str) -> None:
        """A forward that joins two branches of layers cannot fall back to __init__ order:
        one branch laid after the other gives wrong shapes, hence confident wrong fixes."""
        joined = combined_branches(forward, set(entries))
        if joined is not None:
            raise self.refuse(joined, f"forward of {cname} joins two branches that each go "
                                      "through layers; parse follows only a chain of layers and "
                                      "cannot lay branches end to end; build the model in Python "
                                      "and pass it to convwidget.trace(model, shape)")

    def forward_steps(self, forward: ast.FunctionDef, entries: _Entries) -> list[tuple]:
        steps = Forward(self, forward).read()
        unknown = [s for s in steps if s[0] == "attr" and s[1] not in entries]
        if unknown:
            raise NotChain(f"self.{unknown[0][1]} is not a layer defined in __init__", forward)
        return steps

    def in_forward_order(self, steps: list[tuple], entries: _Entries, cname: str) -> list[Item]:
        order: list[Item] = []
        names = Names(entries)
        seen: set[str] = set()
        for step in steps:
            if step[0] != "attr":
                order.append((names.unique(step[1]), step[2], step[3]))
                continue
            layer, line = entries[step[1]]
            if step[1] in seen:
                self.count_layer(step[2], _size(layer))  # a copy is built again
                name = names.unique(step[1])
                self.notes.append(f"self.{step[1]} is used more than once in forward; "
                                  f"its use on line {step[2]} is a copy named '{name}'")
                order.append((name, copy.deepcopy(layer), step[2]))
            else:
                seen.add(step[1])
                order.append((step[1], layer, line))
        unused = [k for k in entries if k not in seen]
        if unused:
            self.notes.append("defined in __init__ but not used by forward, left out: "
                              + ", ".join(repr(k) for k in unused))
        if [name for name, _, _ in order if name in entries] != list(entries):
            self.notes.append(f"layers of {cname} are in the order forward calls them")
        added = [name for name, _, _ in order if name not in entries]
        if added:
            self.notes.append(f"functional calls in forward of {cname} became modules named "
                              f"after the function: {', '.join(added)}")
        return order
