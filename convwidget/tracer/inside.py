"""What the tracer answers itself for calls made inside torch.nn layers, and where it stops.

* ``nn.LSTM``/``GRU``/``RNN`` and ``nn.MultiheadAttention`` by their shape rules: on the meta
  device PyTorch runs them through Python decompositions, step by step (~0.4 s for a small LSTM,
  ~30 ops for one attention);
* a call that needs a tensor's values (``nonzero``, a boolean mask, ``.item()``, an ``if`` on a
  tensor) becomes :class:`DataDependent`, a sentence naming the step, never torch's internals;
* a flatten that keeps dimension 0 (:func:`keeps_first`) cannot lose the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["MIXED_DEVICES", "RNN_CALLS", "VALUE_CALLS", "VALUE_MESSAGES", "DataDependent",
           "attention_outputs", "keeps_first", "rnn_outputs"]

# A meta tensor like the second argument with the shape of the first (the Recorder's, paused).
Empty = Callable[[Sequence[int], torch.Tensor], torch.Tensor]

RNN_CALLS = frozenset({"lstm", "gru", "rnn_tanh", "rnn_relu"})
MIXED_DEVICES = "is not on the expected device meta"
# Calls that read a tensor's values (a trace has none), and what PyTorch says when one is made.
VALUE_CALLS = frozenset({"item", "tolist", "__bool__", "__int__", "__float__", "__index__", "nonzero",
                         "argwhere", "masked_select", "unique", "unique_consecutive", "bincount",
                         "repeat_interleave", "numpy"})
VALUE_MESSAGES = ("cannot be called on meta tensors", "Cannot copy out of meta tensor",
                  "data-dependent", "nonzero", "meta tensors do not", "expected a meta tensor")


class DataDependent(RuntimeError):
    """A step whose output shape (or a Python value) depends on the data a trace does not have."""

    def __init__(self, call: str, name: str) -> None:
        self.call = call
        if name in ("item", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__"):
            why = "it reads a value from a tensor (.item(), an if, int() or a comparison on a tensor)"
        else:
            why = "how many values it keeps depends on the data (nonzero, a boolean mask, unique)"
        super().__init__(
            f"{call} needs the values in a tensor: {why}, and a trace has shapes only (the meta "
            f"device holds no data), so it stops there with every step before it listed above. "
            f"Data-dependent steps (detection post-processing, masks) cannot be traced: trace the "
            f"model up to that step, or run it on a real input")


def keeps_first(name: str, x: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """True for ``torch.flatten(x, s)`` / ``x.flatten(s)`` with ``s >= 1`` and ``squeeze(d)``
    with ``d != 0``: dimension 0 comes through untouched."""
    key = "start_dim" if name == "flatten" else "dim" if name == "squeeze" else None
    if key is None:
        return False
    dim = args[1] if len(args) > 1 else kwargs.get(key, 0 if name == "flatten" else None)
    return isinstance(dim, int) and x.dim() > 0 and dim % x.dim() >= 1


def attention_outputs(module: nn.MultiheadAttention, args: tuple[Any, ...], kwargs: dict[str, Any],
                  empty: Empty) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """``F.multi_head_attention_forward`` by its shape rule (on meta it runs ~30 ops through
    Python decompositions); None, and PyTorch runs it, for anything unusual."""
    q, k, v = (args[i] if len(args) > i else None for i in range(3))
    if not all(isinstance(t, torch.Tensor) for t in (q, k, v)):
        return None
    assert isinstance(q, torch.Tensor) and isinstance(k, torch.Tensor) and isinstance(v, torch.Tensor)
    batched = q.dim() == 3
    right = (q.dim() in (2, 3) and k.dim() == q.dim() == v.dim() and q.shape[-1] == module.embed_dim
             and k.shape[-1] == module.kdim and v.shape[-1] == module.vdim
             and k.shape[:-1] == v.shape[:-1] and (not batched or q.shape[1] == k.shape[1]))
    if not right:
        return None
    out = empty(q.shape, q)
    if not kwargs.get("need_weights", True):
        return out, None
    heads = () if kwargs.get("average_attn_weights", True) else (module.num_heads,)
    lead = (q.shape[1],) if batched else ()
    return out, empty((*lead, *heads, q.shape[0], k.shape[0]), q)

def rnn_outputs(module: nn.RNNBase, name: str, x: torch.Tensor, empty: Empty) -> tuple[torch.Tensor, ...]:
    """``_VF.lstm/gru/rnn_*`` answered by their shape rule: on the meta device they run a
    Python decomposition step by step (~0.4 s for a small LSTM)."""
    length, batch = (x.shape[1], x.shape[0]) if module.batch_first else (x.shape[0], x.shape[1])
    d = 2 if module.bidirectional else 1
    h_out = module.proj_size if module.proj_size > 0 else module.hidden_size
    seq = (batch, length) if module.batch_first else (length, batch)
    out = empty((*seq, d * h_out), x)
    h_n = empty((d * module.num_layers, batch, h_out), x)
    if name == "lstm":
        return out, h_n, empty((d * module.num_layers, batch, module.hidden_size), x)
    return out, h_n
