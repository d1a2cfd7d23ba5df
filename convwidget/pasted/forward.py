"""A pasted ``forward`` that is a simple chain of calls -> the order of the layers.

``x = self.conv1(x)``, ``F.relu(x)``, ``torch.flatten(x, 1)``, ``x.view(-1, 16 * 5 * 5)``:
each step is a layer of ``__init__`` (by name) or a functional call turned into the
module that does the same (``F.relu`` -> ``nn.ReLU()``). Anything else (a branch, a
skip connection, two inputs) is not a chain: :class:`NotChain` says where, and the
layers stay in ``__init__`` order.
"""

from __future__ import annotations

import ast

from torch import nn

from .construct import build_layer
from .limits import MAX_EXPR_DEPTH, PasteError
from .reader import Reader
from .viewas import ViewAs

__all__ = ["Forward", "NotChain", "combined_branches", "is_name"]

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
_NOT_HELPERS = {"len", "print", "range", "int", "float", "list", "tuple", "dict", "super", "type",
                "sum", "max", "min", "abs", "round", "getattr", "isinstance", "iter", "next"}
_METHODS = {"relu", "sigmoid", "tanh", "flatten", "softmax", "log_softmax"}


class NotChain(Exception):
    def __init__(self, why: str, node: ast.AST) -> None:
        super().__init__(why)
        self.node = node


class Forward:
    """Reads a forward that is a simple chain into steps:
    ('attr', name, line) for self.name(x), ('fn', name, module, line) for functional calls."""

    def __init__(self, reader: Reader, fn: ast.FunctionDef) -> None:
        self.r = reader
        self.fn = fn
        self.batch: set[str] = set()
        self.steps: list[tuple] = []
        self.helpers: set[str] = set()  # unknown functions assumed to keep the shape

    def read(self) -> list[tuple]:
        args = [a.arg for a in self.fn.args.args]
        if len(args) != 2 or self.fn.args.vararg or self.fn.args.kwonlyargs:
            raise NotChain("forward takes more than one input", self.fn)
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
            raise NotChain("not a simple chain of layer calls", stmt)
        raise NotChain("forward has no return", self.fn)

    def statement(self, value: ast.AST, data: str, stmt: ast.stmt) -> None:
        try:
            self.expr(value, data)
        except NotChain as nc:
            what = f"`{self.r.segment(nc.node)}` " if nc.node is not value else ""
            raise NotChain(f"{what}not a simple chain of calls on `{data}`", stmt) from nc

    def size_dim(self, node: ast.AST, data: str) -> int | None:
        """i for x.size(i), x.shape[i], x.size()[i]; 0 for a batch-size alias."""
        if isinstance(node, ast.Name) and node.id in self.batch:
            return 0
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "size" and is_name(node.func.value, data)
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                and type(node.args[0].value) is int):
            return node.args[0].value
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and type(node.slice.value) is int:
            v = node.value
            if isinstance(v, ast.Attribute) and v.attr == "shape" and is_name(v.value, data):
                return node.slice.value
            if (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute)
                    and v.func.attr == "size" and not v.args and is_name(v.func.value, data)):
                return node.slice.value
        return None

    def expr(self, node: ast.AST, data: str, depth: int = 0) -> None:
        if is_name(node, data):
            return
        if depth > MAX_EXPR_DEPTH:  # x.relu().relu()... 990 deep overflowed Python's stack
            raise NotChain(f"calls nested more than {MAX_EXPR_DEPTH} deep", node)
        if not isinstance(node, ast.Call):
            raise NotChain("not a simple chain of layer calls", node)
        func = node.func
        # self.layer(x)
        if (isinstance(func, ast.Attribute) and is_name(func.value, "self")
                and len(node.args) == 1 and not node.keywords):
            self.expr(node.args[0], data, depth + 1)
            self.steps.append(("attr", func.attr, node.lineno))
            return
        # F.relu(x, ...), torch.flatten(x, 1), torch.nn.functional.relu(x)
        fname = self.functional_name(func)
        if fname is not None and node.args:
            self.expr(node.args[0], data, depth + 1)
            self.steps.append(("fn", fname, self.functional(fname, node.args[1:], node),
                               node.lineno))
            return
        # x.view(...), x.flatten(1), x.relu()
        if isinstance(func, ast.Attribute):
            inner = func.value
            if func.attr in ("view", "reshape"):
                self.expr(inner, data, depth + 1)
                self.steps.append(("fn", func.attr, self.view(node, func.attr, inner, data),
                                   node.lineno))
                return
            if func.attr in _METHODS:
                self.expr(inner, data, depth + 1)
                self.steps.append(("fn", func.attr, self.functional(func.attr, node.args, node),
                                   node.lineno))
                return
        if self.helper(node, func):
            self.expr(node.args[0], data, depth + 1)
            return
        raise NotChain("not a simple chain of layer calls", node)

    def helper(self, node: ast.Call, func: ast.AST) -> bool:
        """``swish(x)``: a function of one tensor that parse cannot see (defined elsewhere, or
        in the paste but not read), assumed to keep the shape, as activations do; said in a note."""
        if not (isinstance(func, ast.Name) and len(node.args) == 1 and not node.keywords
                and func.id not in _NOT_HELPERS and func.id not in getattr(self.r, "classes", {})
                and self.r.nn_class_name(func) is None):
            return False
        if func.id in self.helpers:
            return True
        self.helpers.add(func.id)
        self.r.notes.append(f"assumed `{func.id}(...)` (first on line {node.lineno}) keeps the shape of its "
                            f"input, as an activation does: parse does not read `{func.id}`; if it "
                            "changes the shape, the answer is wrong")
        return True

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
            raise NotChain(f"too many arguments for {fname}", node)
        given: dict[str, ast.AST] = dict(zip(names, args, strict=False))
        for k in node.keywords:
            if k.arg is None or k.arg not in names:
                raise NotChain(f"unexpected keyword for {fname}", node)
            given[k.arg] = k.value
        given.pop("training", None)  # F.dropout(x, training=self.training): the layer knows
        if fname == "flatten":  # torch.flatten and x.flatten start at dim 0 by default
            given.setdefault("start_dim", ast.Constant(0))
        try:
            kwargs = {k: self.r.literal(v) for k, v in given.items()}
        except PasteError as err:
            raise NotChain(f"an argument of {fname} is not a literal ({err})", node) from err
        self.r.count_layer(node.lineno)
        return build_layer(cls, [], kwargs, node.lineno, self.r.notes)

    def view(self, node: ast.Call, method: str, inner: ast.AST, data: str) -> nn.Module:
        args = list(node.args)
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            args = list(args[0].elts)
        if node.keywords or not args:
            raise NotChain(f"unusual x.{method}(...)", node)
        # the tensor being viewed is the data after the inner steps; x.size(i) refers to
        # the name in the source, which is the current data name when inner is that name
        src = inner.id if isinstance(inner, ast.Name) else data
        shape: list[int | None] = []
        for i, a in enumerate(args):
            dim = self.size_dim(a, src)
            if dim is not None:
                if dim != i:
                    raise NotChain(f"x.{method} uses x.size({dim}) at position {i}", node)
                shape.append(None)
                continue
            try:
                v = self.r.literal(a)
            except PasteError as err:
                raise NotChain(f"an argument of x.{method} is not a literal ({err})",
                                node) from err
            if not isinstance(v, int) or isinstance(v, bool):
                raise NotChain(f"x.{method} with a non-integer size", node)
            shape.append(v)
        if shape == [None, -1]:
            return nn.Flatten(1)
        return ViewAs(*shape, method=method)


_COMBINE = {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "add", "mul", "sub",
            "matmul", "bmm", "einsum"}


def combined_branches(fn: ast.FunctionDef, layers: set[str]) -> ast.AST | None:
    """The first place where ``fn`` combines two tensors that each went through layers of
    ``layers`` (``out += self.shortcut(x)``, ``torch.cat([a, b], 1)``, ``a + b``): laid end to
    end, such branches give wrong shapes. A skip of the bare input (``self.conv(x) + x``) is not
    one: the layers before and after it still form a chain."""
    layered: set[str] = set()

    def through_layers(node: ast.AST) -> bool:
        return any((isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                    and is_name(n.func.value, "self") and n.func.attr in layers)
                   or (isinstance(n, ast.Name) and n.id in layered) for n in ast.walk(node))

    def operands(node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.BinOp):
            return [node.left, node.right]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in _COMBINE:
            # a.add(b): `a` is an operand too (for torch.cat it is `torch`, never layered)
            args = [node.func.value, *node.args, *(k.value for k in node.keywords)]
            return [e for a in args for e in (a.elts if isinstance(a, (ast.List, ast.Tuple)) else [a])]
        return []

    statements = sorted((n for n in ast.walk(fn) if isinstance(n, ast.stmt) and n is not fn),
                        key=lambda n: (n.lineno, n.col_offset))
    for stmt in statements:
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) \
                and stmt.target.id in layered and through_layers(stmt.value):
            return stmt
        for node in ast.walk(stmt) if isinstance(stmt, (ast.Assign, ast.Return, ast.Expr)) else ():
            if sum(through_layers(o) for o in operands(node)) >= 2:
                return stmt
        if isinstance(stmt, ast.Assign) and through_layers(stmt.value):
            layered.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return None


def is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name
