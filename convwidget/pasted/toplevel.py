"""The statements at the top of a paste -> items: a class, pasted methods, or layer lines."""

from __future__ import annotations

import ast
from typing import Any

from .classes import ModelReader, is_super_init, methods_of
from .forward import is_name
from .limits import ONCE_IN_ORDER, PasteError
from .reader import Item

__all__ = ["read_module"]


def read_module(r: ModelReader, tree: ast.Module) -> list[Item]:
    """The model of a parsed paste: its main class, its pasted methods, or its lines."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            r.imports(stmt)
        elif isinstance(stmt, ast.ClassDef):
            r.classes[stmt.name] = stmt
    if r.classes:
        return _read_main_class(r, tree.body)
    funcs = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
    if "__init__" in funcs:
        return r.read_class(funcs["__init__"], funcs.get("forward"), "the pasted methods")
    init = _init_of_lines(r, tree.body) if "forward" in funcs else None
    if init is not None:
        return r.read_class(init, funcs["forward"], "the pasted methods")
    return _read_lines(r, tree.body)


def _init_of_lines(r: ModelReader, body: list[ast.stmt]) -> ast.FunctionDef | None:
    """`self.conv = nn.Conv2d(...)` lines and a `def forward`, pasted without their
    `def __init__`: the lines are its body, so forward gives the order."""
    lines: list[ast.stmt] = [s for s in body if isinstance(s, ast.Assign) and len(s.targets) == 1
             and isinstance(s.targets[0], ast.Attribute) and is_name(s.targets[0].value, "self")]
    others = [s for s in body if not isinstance(s, (ast.FunctionDef, ast.Import, ast.ImportFrom))
              and s not in lines and not (isinstance(s, ast.Expr) and is_super_init(s.value))]
    if not lines or others:
        return None
    r.notes.append(f"read the `self.name = ...` lines (from line {lines[0].lineno}) as the __init__ "
                   "of the pasted forward")
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg="self")], kwonlyargs=[], kw_defaults=[],
                         defaults=[])
    return ast.FunctionDef(name="__init__", args=args, body=lines, decorator_list=[],
                           lineno=lines[0].lineno, col_offset=0)


def _main_class(r: ModelReader) -> ast.ClassDef:
    """The model is the last class defined that no other pasted class uses."""
    used = {n.func.id for c in r.classes.values() for n in ast.walk(c)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id in r.classes and n.func.id != c.name}
    tops = [c for c in r.classes.values() if c.name not in used]
    return tops[-1] if tops else list(r.classes.values())[-1]


def _read_main_class(r: ModelReader, body: list[ast.stmt]) -> list[Item]:
    cls = _main_class(r)
    methods = methods_of(cls)
    others = [s for s in body if not isinstance(s, (ast.ClassDef, ast.Import, ast.ImportFrom))
              and not _is_literal_assign(r, s)]
    r.module_vars = dict(r.variables)
    r.class_body_values(cls)
    if others:
        r.notes.append(f"read class {cls.name}; ignored {len(others)} statement(s) outside "
                       f"it (first on line {others[0].lineno}: `{r.segment(others[0])}`)")
    calls = [n for s in others for n in ast.walk(s) if isinstance(n, ast.Call)
             and is_name(n.func, cls.name)]
    values: dict[str, Any] = {}
    if calls:  # `model = Net(num_classes=10)` in the paste: those values
        values = r.call_values(methods.get("__init__"), calls[0], strict=False)
        r.notes.append(f"__init__ arguments from `{r.segment(calls[0])}` on line "
                       f"{calls[0].lineno}")
    r.reading.append(cls.name)
    return r.read_class(methods.get("__init__"), methods.get("forward"), cls.name, values)


def _is_literal_assign(r: ModelReader, stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        try:
            r.variables[stmt.targets[0].id] = r.literal(stmt.value)
            return True
        except PasteError:
            return False
    return False


def _read_lines(r: ModelReader, body: list[ast.stmt]) -> list[Item]:
    """Lines of layers, lists of them and literal assignments (no class, no __init__)."""
    items = [item for stmt in body for item in _line(r, stmt)]
    script = next((stmt for stmt in body if not items and _is_script(r, stmt)), None)
    if script is not None:  # nothing but script lines: they are what was pasted, say so
        raise r.refuse(script, "builds no torch.nn layer, and parse never runs pasted code; paste "
                               "nn.Sequential(...), lines of nn.X(...), or a class with __init__")
    # lists that were unpacked into a Sequential are part of it, not layers of their own
    items = [it for it in items if it[0] not in r.used_lists]
    items = [(("" if n.startswith("<layers>") else n), layer, ln) for n, layer, ln in items]
    if len(items) == 1 and isinstance(items[0][1], list):
        return items[0][1]  # a lone (model = ) nn.Sequential(...): its children are the model
    return items


def _line(r: ModelReader, stmt: ast.stmt) -> list[Item]:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return []
    if _is_script(r, stmt):
        r.notes.append(f"ignored `{r.segment(stmt)}` on line {stmt.lineno} (builds no torch.nn layer)")
        return []
    if isinstance(stmt, ast.Expr):
        return _expression_line(r, stmt)
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], (ast.Name, ast.Attribute)):
        return _assignment_line(r, stmt, stmt.targets[0])
    if isinstance(stmt, ast.FunctionDef):
        r.notes.append(f"ignored def {stmt.name} on line {stmt.lineno}")
        return []
    raise r.refuse(stmt, "not a torch.nn layer, a list of them, or a literal assignment")


def _is_script(r: ModelReader, stmt: ast.stmt) -> bool:
    """A statement around the layers that builds none: `device = torch.device(...)`,
    `out = net(batch)`, `optimizer = optim.SGD(...)`, a training loop."""
    if not isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.For, ast.While, ast.With,
                             ast.If)):
        return False
    nodes = list(ast.walk(stmt))
    return any(isinstance(n, ast.Call) for n in nodes) and not any(
        r.is_layer_expr(n) or (isinstance(n, ast.Call) and r.nn_class_name(n.func)) for n in nodes)


def _expression_line(r: ModelReader, stmt: ast.Expr) -> list[Item]:
    v = stmt.value
    if isinstance(v, ast.Constant) and isinstance(v.value, str):
        return []  # a docstring or a string of prose
    if is_super_init(v):
        return []  # lines pasted from inside __init__
    if isinstance(v, ast.Name) or (
            isinstance(v, ast.Call) and is_name(v.func, "print")
            and all(isinstance(a, ast.Name) for a in v.args) and not v.keywords):
        r.notes.append(f"ignored `{r.segment(v)}` on line {stmt.lineno}")
        return []  # `model` or `print(model)` after the definition
    return r.layers_of(v)


def _assignment_line(r: ModelReader, stmt: ast.Assign, t: ast.Name | ast.Attribute) -> list[Item]:
    name = t.id if isinstance(t, ast.Name) else t.attr
    if isinstance(t, ast.Attribute) and not is_name(t.value, "self"):
        raise r.refuse(t)
    if isinstance(t, ast.Attribute) and r.is_layer_expr(stmt.value):
        r.notes.append(f"lines of __init__ without their forward: the answer {ONCE_IN_ORDER} "
                       "(a layer that forward uses twice, such as a pool, or another order changes it)")
    if isinstance(t, ast.Name) and isinstance(stmt.value, (ast.List, ast.Tuple)) \
            and r.is_layer_expr(stmt.value):
        made = r.layers_of(stmt.value)
        r.variables[f"<layers>{name}"] = made
        return [(f"<layers>{name}", made, stmt.lineno)]  # unless unpacked later
    if r.is_layer_expr(stmt.value) or isinstance(stmt.value, ast.Call):
        made = r.layers_of(stmt.value)
        return [(name if len(made) == 1 else "", m, ln) for _, m, ln in made]
    r.variables[name if isinstance(t, ast.Name) else f"self.{name}"] = r.literal(stmt.value)
    return []
