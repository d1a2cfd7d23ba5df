"""Meta stand-ins for a model's tensors, swapped per tensor object and put back by identity.

A trace must leave the user's model exactly as it was (issue 9): every parameter, buffer and
tensor reachable from a module's attributes (through lists, tuples and dicts, as caches and
``nn.LSTM``'s ``_flat_weights`` hold them) stays the same object with the same data and
version counter, and each module's attribute set is what it was, whatever ``forward`` did
(filled a cache, created an attribute) and however it ended (an exception, Ctrl-C).

The swap is per tensor object, not per registered name: a module registered under two
names, or a weight tied to another module, gets one stand-in, and each original goes back
to the very slot it came from. Every module's ``__dict__`` and every container reachable
from it are copied shallowly before the forward and restored after it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

__all__ = ["MAX_DEPTH", "Standins"]

# How deep through lists, tuples and dicts the tensors of an attribute are swapped.
MAX_DEPTH = 4
_UNINITIALIZED = (UninitializedParameter, UninitializedBuffer)
# Module attributes handled apart: the tensor stores are swapped entry by entry, the
# submodules are walked as modules, and hooks are the recorder's business.
_STORES = ("_parameters", "_buffers")
_SKIP = frozenset({"_modules", "_forward_hooks", "_forward_hooks_with_kwargs",
                   "_forward_hooks_always_called", "_forward_pre_hooks",
                   "_forward_pre_hooks_with_kwargs", "_backward_hooks", "_backward_pre_hooks",
                   "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                   "_load_state_dict_post_hooks", *_STORES})


_PLAIN = frozenset({bool, int, float, str, type(None)})
# Meta tensors hold no data, so tensors of one shape and dtype may share a stand-in across
# traces (a tied weight still gets one stand-in within a trace: ``Standins._meta``).
_SHARED: dict[tuple[tuple[int, ...], torch.dtype], torch.Tensor] = {}


def _meta_like(t: torch.Tensor) -> torch.Tensor:
    """A meta tensor of ``t``'s shape and dtype (``t`` itself for a layout meta lacks)."""
    if t.layout != torch.strided or t.is_quantized:
        return t
    key = (tuple(t.shape), t.dtype)
    meta = _SHARED.get(key)
    if meta is None:
        if len(_SHARED) > 4096:
            _SHARED.clear()
        meta = _SHARED[key] = torch.empty(key[0], dtype=t.dtype, device="meta")
    return meta


class Standins:
    """Context manager: the model's tensors are meta stand-ins inside, the originals after.

    >>> lin = nn.Linear(2, 3)
    >>> model = nn.Sequential(lin, nn.ReLU(), lin.__class__(3, 3))
    >>> model[2].weight = lin.weight = nn.Parameter(torch.ones(3, 3))  # tied
    >>> weight = lin.weight
    >>> with Standins(model):
    ...     print(lin.weight.device, model[2].weight is lin.weight)
    meta True
    >>> lin.weight is weight, lin.weight.device.type
    (True, 'cpu')
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._meta: dict[int, torch.Tensor] = {}
        self._dicts: list[tuple[dict[Any, Any], dict[Any, Any]]] = []
        self._lists: list[tuple[list[Any], list[Any]]] = []
        self._seen: set[int] = set()
        self._swapped: list[tuple[Any, Any]] = []

    def standin(self, t: torch.Tensor) -> torch.Tensor:
        """The one meta stand-in of tensor ``t`` (the same for every slot that holds ``t``)."""
        meta = self._meta.get(id(t))
        if meta is None:
            meta = _meta_like(t)
            self._meta[id(t)] = meta
            self._meta[id(meta)] = meta
        return meta

    def _swap(self, value: Any, depth: int) -> Any:
        """``value`` with its tensors swapped for stand-ins; lists and dicts are changed in
        place (after a shallow copy is saved), tuples rebuilt."""
        if isinstance(value, torch.Tensor):
            return value if isinstance(value, _UNINITIALIZED) else self.standin(value)
        if depth >= MAX_DEPTH:
            return value
        if isinstance(value, list):
            if id(value) not in self._seen:
                self._seen.add(id(value))
                self._lists.append((value, list(value)))
                value[:] = [self._swap(v, depth + 1) for v in value]
            return value
        if isinstance(value, dict):
            self._save(value)
            for k, v in list(value.items()):
                new = self._swap(v, depth + 1)
                if new is not v:
                    value[k] = new
            return value
        if type(value) is tuple:
            items = tuple(self._swap(v, depth + 1) for v in value)
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value

    def _save(self, d: dict[Any, Any]) -> bool:
        if id(d) in self._seen:
            return False
        self._seen.add(id(d))
        self._dicts.append((d, dict(d)))
        return True

    def _swap_module(self, m: nn.Module) -> None:
        attrs = vars(m)
        self._save(attrs)
        for store in _STORES:
            tensors = attrs.get(store)
            if isinstance(tensors, dict) and self._save(tensors):
                for k, t in list(tensors.items()):
                    if isinstance(t, torch.Tensor) and not isinstance(t, _UNINITIALIZED):
                        tensors[k] = self.standin(t)
        if isinstance(attrs.get("_modules"), dict):
            self._save(attrs["_modules"])
        for k, v in list(attrs.items()):
            if type(v) in _PLAIN or (type(v) is tuple and all(type(i) in _PLAIN for i in v)):
                continue  # most of a layer's attributes: nothing to swap, quickly
            if k not in _SKIP:
                new = self._swap(v, 0)
                if new is not v:
                    attrs[k] = new

    def __enter__(self) -> Standins:
        try:
            for m in self.model.modules():
                self._swap_module(m)
        except BaseException:
            self.restore()
            raise
        self._swapped = [(d, dict(d)) for d, _ in self._dicts] + [(x, list(x)) for x, _ in self._lists]
        return self

    def rewind(self) -> None:
        """Back to the state just after the swap: what a forward cached or created is gone
        (a second pass starts where the first did)."""
        _put_back(self._swapped)

    def restore(self) -> None:
        """Put every saved dict and list back as it was (same objects, same order)."""
        _put_back([*self._lists, *self._dicts])
        self._lists.clear()
        self._dicts.clear()
        self._seen.clear()
        self._meta.clear()
        self._swapped.clear()

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.restore()


def _put_back(saved: list[tuple[Any, Any]]) -> None:
    """Each container's contents as saved, where they changed (lists first, then dicts)."""
    for box, items in reversed(saved):
        if isinstance(box, list):
            if len(box) != len(items) or any(a is not b for a, b in zip(box, items, strict=True)):
                box[:] = items
        elif box.keys() != items.keys() or any(box[k] is not v for k, v in items.items()):
            box.clear()
            box.update(items)
