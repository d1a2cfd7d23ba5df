"""Layer expressions in pasted code -> meta-device modules (or nested lists of them).

An *item* is ``(name, module or list of items, line)``: the reader's intermediate
model, named and assembled into an ``nn.Sequential`` by :mod:`.assemble`.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Union

from torch import nn

from .construct import DENIED, build_layer, cost, nn_class
from .limits import MAX_EXPR_DEPTH, MAX_LAYERS, ONCE_IN_ORDER, PasteError, Unknown
from .literals import Literals

__all__ = ["Item", "Reader"]

# An intermediate model: (name, leaf module or nested list of items, line).
Item = tuple[str, Union[nn.Module, list], int]  # noqa: UP007 - a runtime alias, Python 3.10


_DEVICE_CALLS = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval",
                 "requires_grad_", "share_memory"}


class Reader(Literals):
    """Walks the AST of pasted text and builds layers; never evaluates the text.

    Classes defined in the paste are read by :class:`.classes.ModelReader`, which
    overrides :meth:`pasted_class`.
    """

    def __init__(self, source: str, notes: list[str]) -> None:
        super().__init__(source, notes)
        self.classes: dict[str, ast.ClassDef] = {}
        self.used_lists: set[str] = set()  # "<layers>name" unpacked into a Sequential
        self.built = 0
        self.module_vars: dict[str, Any] = {}  # literals at the top of the paste
        self.reading: list[str] = []  # pasted classes being read (to refuse recursion)
        self.outer = 0  # how deep the pasted class being read sits in the model
        # layers built with a stand-in for a name the paste leaves open: (layer, why, parameter)
        self.unknowns: list[tuple[nn.Module, Unknown, str]] = []

    def without_device(self, node: ast.AST, note: bool = False) -> ast.AST:
        """``nn.Sequential(...).to(device)`` -> ``nn.Sequential(...)``: device and dtype calls
        (``.to``, ``.cuda()``, ``.float()``, ``.double()``...) change no shape; dropped with a note."""
        base, dropped = node, []
        while (isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)
               and base.func.attr in _DEVICE_CALLS):
            dropped.append(base)
            base = base.func.value
        if not dropped or not self.is_layer_expr(base):
            return node
        if note:
            calls = ", ".join(dict.fromkeys(f".{d.func.attr}(...)" for d in reversed(dropped)
                                            if isinstance(d.func, ast.Attribute)))
            self.notes.append(f"dropped {calls} on line {dropped[0].end_lineno}: the device and dtype "
                              "change no shape (the layers are read on the meta device)")
        return base

    def is_layer_expr(self, node: ast.AST) -> bool:
        node = self.without_device(node)
        if isinstance(node, ast.Call):
            return self.nn_class_name(node.func) is not None or (
                isinstance(node.func, ast.Name) and node.func.id in self.classes)
        if isinstance(node, (ast.Tuple, ast.List)):
            return bool(node.elts) and all(self.is_layer_expr(e) for e in node.elts)
        return False

    def layer(self, node: ast.AST, depth: int = 0) -> nn.Module | list:
        """A torch.nn constructor call -> a meta-device module, or a list of items for
        containers (Sequential, ModuleList, printed repr containers, pasted classes)."""
        if depth + self.outer > MAX_EXPR_DEPTH:
            raise self.refuse(node, f"layers nested more than {MAX_EXPR_DEPTH} deep (pasted classes "
                                    "included)")
        node = self.without_device(node, note=True)
        if not isinstance(node, ast.Call):
            if isinstance(node, ast.Attribute) and self.nn_class_name(node):
                self.literal(node)  # raises the "class, not a layer" message
            raise self.refuse(node, "expected a torch.nn layer such as nn.Conv2d(3, 16, 3)")
        name = self.nn_class_name(node.func)
        if name is None:
            return self.not_nn(node, depth)
        cls = nn_class(name)
        if name in DENIED:
            raise self.refuse(node, f"parse cannot build nn.{name} from text (a dict or wrapper "
                                    "of modules, or the base class); use "
                                    "nn.Sequential, or import the model and trace it")
        if cls is None:
            raise self.refuse(node, f"`{name}` is not a public torch.nn layer class")
        if cls is nn.Sequential or cls is nn.ModuleList:
            return self.container(node, name, depth)
        return self.constructor(node, cls, depth)

    def not_nn(self, node: ast.Call, depth: int) -> list:
        """A call of something that is not a torch.nn class: a pasted class, or a custom
        block of a printed repr; anything else is refused."""
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.classes:
            note = (f"read the pasted class {func.id} as a nested Sequential of its layers "
                    "(first use on line {})")
            if not any(n.startswith(note.split("(first")[0]) for n in self.notes):
                self.notes.append(note.format(node.lineno))
            return self.pasted_class(node, func.id, depth + 1)
        # printed repr: a custom block `Block(conv1=Conv2d(...), ...)`
        if (isinstance(func, ast.Name) and node.keywords and not node.args
                and all(k.arg and self.is_layer_expr(k.value) for k in node.keywords)):
            self.notes.append(f"'{func.id}' (not a torch.nn class) is read as a "
                              "sequence of its children; its forward may differ, and the answer "
                              f"{ONCE_IN_ORDER}")
            return self.children_from_keywords(node, depth)
        if isinstance(func, ast.Name) and nn_class(func.id) is None and hasattr(nn, func.id):
            raise self.refuse(node, f"`{func.id}` is not a torch.nn layer class")
        raise self.refuse(node)

    def pasted_class(self, node: ast.Call, cname: str, depth: int) -> list:
        raise self.refuse(node, f"class {cname} is defined in the paste but not read here")

    def container(self, node: ast.Call, name: str, depth: int) -> list:
        """nn.Sequential(...) / nn.ModuleList([...]) -> its children as items."""
        if node.keywords:
            if not node.args and all(k.arg for k in node.keywords):
                return self.children_from_keywords(node, depth)
            raise self.refuse(node, f"nn.{name} takes layers as positional arguments")
        elts = list(node.args)
        if name == "ModuleList":
            if len(elts) != 1 or not isinstance(elts[0], (ast.List, ast.Tuple)):
                raise self.refuse(node, "nn.ModuleList takes one list of layers")
            elts = list(elts[0].elts)
            self.notes.append(f"nn.ModuleList on line {node.lineno} is read as a Sequential "
                              "in list order")
        if len(elts) == 1:
            pairs = self.ordered_dict_items(elts[0])
            if pairs is not None:
                return pairs
        items: list[Item] = []
        for e in elts:
            if isinstance(e, ast.Starred):  # nn.Sequential(*layers), layers a pasted list
                items.extend(self.unpacked(e, len(items)))
            else:
                items.append((str(len(items)), self.layer(e, depth + 1),
                              getattr(e, "lineno", node.lineno)))
        return items

    def unpacked(self, node: ast.Starred, base: int) -> list[Item]:
        key = f"<layers>{node.value.id}" if isinstance(node.value, ast.Name) else ""
        if key not in self.variables:
            raise self.refuse(node, "only a list of layers written out in the paste "
                                    "can be unpacked with *")
        self.used_lists.add(key)
        return [(str(base + k), layer, ln) for k, (_, layer, ln) in enumerate(self.variables[key])]

    def constructor(self, node: ast.Call, cls: type, depth: int) -> nn.Module:
        """nn.Conv2d(3, 16, kernel_size=3) with literal arguments -> the layer, on meta."""
        name = cls.__name__
        missing: list[tuple[Unknown, str]] = []  # names the paste leaves open, by parameter
        args = [self.argument(a, depth, str(i), missing) for i, a in enumerate(node.args)]
        kwargs: dict[str, Any] = {}
        for k in node.keywords:
            if k.arg is None:
                raise self.refuse(k.value, "`**kwargs` cannot be read without running code")
            if k.arg.startswith("_"):
                raise self.refuse(k.value, f"private keyword `{k.arg}` refused")
            if k.arg == "device":
                self.notes.append(f"ignored device= of nn.{name} on line {node.lineno}: layers "
                                  "are built on the meta device")
                continue
            kwargs[k.arg] = self.argument(k.value, depth, k.arg, missing)
        self.count_layer(node.lineno, cost(cls, args, kwargs, node.lineno))
        if not missing:
            return build_layer(cls, args, kwargs, node.lineno, self.notes)
        try:
            layer = build_layer(cls, args, kwargs, node.lineno, self.notes)
        except PasteError as err:  # the stand-in does not fit: the name is the question
            raise missing[0][0] from err
        self.unknowns.extend((layer, err, param) for err, param in missing)
        return layer

    def argument(self, node: ast.AST, depth: int, param: str,
                 missing: list[tuple[Unknown, str]]) -> Any:
        """A layer argument's literal value; a name the paste leaves open gets the stand-in 1,
        judged once the model is assembled (:mod:`.unknowns`)."""
        try:
            return self.literal(node, depth + 1)
        except Unknown as err:
            missing.append((err, param))
            return 1

    def count_layer(self, line: int, layers: int = 1) -> None:
        """Bound the work: layers built (those a constructor builds in a loop too), copied
        and pasted classes read."""
        self.built += layers
        if self.built > MAX_LAYERS:
            # fatal: no use retrying a truncated paste at another cut
            raise PasteError(f"more than {MAX_LAYERS} layers; parse reads at most {MAX_LAYERS} "
                             "(counting each layer that num_layers repeats, a Transformer layer "
                             "as forty, and each copy forward reuses)",
                             line, fatal=True)

    def children_from_keywords(self, node: ast.Call, depth: int) -> list[Item]:
        items: list[Item] = []
        for k in node.keywords:
            assert k.arg is not None
            key = k.arg[1:] if re.fullmatch(r"_\d+", k.arg) else k.arg
            items.append((key, self.layer(k.value, depth + 1), k.value.lineno))
        return items

    def ordered_dict_items(self, node: ast.AST) -> list[Item] | None:
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
        items: list[Item] = []
        for pair in seq.elts:
            if not (isinstance(pair, ast.Tuple) and len(pair.elts) == 2
                    and isinstance(pair.elts[0], ast.Constant)
                    and isinstance(pair.elts[0].value, str)):
                raise self.refuse(pair, "expected a ('name', nn.Layer(...)) pair")
            items.append((pair.elts[0].value, self.layer(pair.elts[1], 1), pair.lineno))
        return items

    def layers_of(self, node: ast.expr) -> list[Item]:
        """A layer expression or a tuple/list of them -> list of items (unnamed)."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return [("", self.layer(e), e.lineno) for e in node.elts]
        return [("", self.layer(node), node.lineno)]
