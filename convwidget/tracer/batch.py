"""The batch as a first-class dimension: which sizes follow it, and the steps that lose it.

A trace cannot tell from one shape which dimension is the batch (a ``reshape(4, 49)`` whose
first size merely equals it is not about the batch). Two traces can: sizes that change when
only the batch changes follow the batch, and the others do not. :func:`trace` runs the
model at the user's batch ``b`` and, when a step could hide a batch problem
(:func:`suspicious`), once more at ``b + 1`` (the *probe*); the steps that merge the batch
into the features, drop it or lose it (:func:`verdict`) are then reported, at batch 1 too.

Each step worth comparing is an :class:`Event`: a reshape-like call (``view``, ``reshape``,
``flatten``, ``squeeze``, ``nn.Flatten``) or a Linear's input, in execution order, so the
n-th event of one pass is the n-th of the other. Torch-free: shapes are tuples of ints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .report import Shape, fmt_shape

__all__ = ["RESHAPE_LIKE", "Event", "Verdict", "batch_dim", "suspicious", "verdict"]

# Calls that can fold the batch into other dimensions or drop it.
RESHAPE_LIKE = frozenset({"view", "reshape", "flatten", "squeeze", "ravel"})


@dataclass(frozen=True)
class Event:
    """A step worth comparing across batch sizes: ``kind`` is 'reshape' (a call or an
    ``nn.Flatten``) or 'linear' (``out`` is None when its in_features disagree); ``out``
    is None for a reshape that failed."""

    kind: str
    into: Shape
    out: Shape | None
    keeps_first: bool = False  # a flatten from dim 1 on: dim 0 comes through, whatever it is


@dataclass(frozen=True)
class Verdict:
    """What a step did to the batch: 'merges' it into the features, 'drops' it, spreads it
    over 'rows' (``view(-1, N)`` with the wrong ``N``), 'fails' to keep it, or, for a Linear,
    finds it in a 'sequence' dimension other than the first; ``dim`` is where the batch was
    in the step's input."""

    what: str
    dim: int
    probe_out: Shape | None = None


def batch_dim(shape: Shape, probe: Shape, batch: int, probe_batch: int) -> int | None:
    """The one dimension of ``shape`` that is the batch, by comparison with the same
    tensor at ``probe_batch``; None when the batch is nowhere or merged with other sizes.

    >>> batch_dim((2, 3, 4), (3, 3, 4), 2, 3), batch_dim((4, 49), (4, 49), 2, 3)
    (0, None)
    >>> batch_dim((7, 2, 16), (7, 3, 16), 2, 3), batch_dim((8, 4), (12, 4), 2, 3) is None
    (1, True)
    """
    if len(shape) != len(probe):
        return None
    moved = [d for d in range(len(shape)) if shape[d] != probe[d]]
    if len(moved) == 1 and shape[moved[0]] == batch and probe[moved[0]] == probe_batch:
        return moved[0]
    return None


def suspicious(event: Event, batch: int) -> bool:
    """True when ``event`` could hide a batch problem one trace cannot see.

    >>> suspicious(Event("reshape", (2, 16, 4, 4), (2, 256)), 2)
    False
    >>> suspicious(Event("reshape", (1, 16, 4, 4), (1, 256)), 1)  # batch 1 hides view(1, -1)
    True
    >>> suspicious(Event("reshape", (1, 16, 4, 4), (1, 256), keeps_first=True), 1)  # flatten(1)
    False
    """
    if event.kind == "linear":
        return event.out is None and len(event.into) > 2
    if event.keeps_first and event.out is not None:
        return False
    if event.out is None or batch == 1 or len(event.out) < 2:
        return True
    return bool(event.into) and event.into[0] == batch and event.out[0] != batch


def _prefix_products(shape: Shape) -> set[int]:
    return {math.prod(shape[:k]) for k in range(1, len(shape) + 1)}


def _reshape_verdict(event: Event, probe: Event, dim: int, batch: int, probe_batch: int) -> Verdict | None:
    out, pout = event.out, probe.out
    if out is None:
        return Verdict("fails", dim)
    if pout is None:
        return None
    if len(out) != len(pout):
        return Verdict("drops", dim, pout)
    moved = [d for d in range(len(out)) if out[d] != pout[d]]
    if batch_dim(out, pout, batch, probe_batch) is not None:
        return None  # kept
    if not moved:
        return Verdict("drops", dim, pout)
    if len(out) - 1 in moved:
        return Verdict("merges", dim, pout)
    if len(out) == 2 and moved == [0] and out[0] not in _prefix_products(event.into):
        return Verdict("rows", dim, pout)
    return None  # folded with leading sizes (Swin's windows, frames of a video): legitimate


def verdict(event: Event, probe: Event | None, batch: int, probe_batch: int) -> Verdict | None:
    """What ``event`` (at ``batch``) did to the batch, judged against the same event at
    ``probe_batch``; None when it kept it, never had it, or cannot be told.

    >>> v = verdict(Event("reshape", (2, 16, 2, 2), (128,)), Event("reshape", (3, 16, 2, 2), (192,)), 2, 3)
    >>> v.what, v.dim
    ('merges', 0)
    >>> verdict(Event("reshape", (4, 49), (196,)), Event("reshape", (4, 49), (196,)), 2, 3) is None
    True
    """
    if probe is None or probe.kind != event.kind:
        return None
    dim = batch_dim(event.into, probe.into, batch, probe_batch)
    if dim is None:
        return None
    if event.kind == "linear":
        return Verdict("sequence", dim) if dim != 0 and event.out is None else None
    return _reshape_verdict(event, probe, dim, batch, probe_batch)


def per_sample(shape: Shape, dim: int) -> tuple[Shape, int]:
    """The sizes of one sample (all but the batch ``dim``) and their product.

    >>> per_sample((2, 16, 4, 4), 0)
    ((16, 4, 4), 256)
    """
    sizes = tuple(n for d, n in enumerate(shape) if d != dim)
    return sizes, math.prod(sizes)


def what_happened(v: Verdict, out: Shape | None, batch: int, probe_batch: int, cause: str) -> str:
    """The clause saying what a step did to the batch, with the numbers."""
    if v.what == "fails":
        return f"fails ({cause})"
    if v.what == "rows" and out is not None:
        return f"turns the batch of {batch} into a batch of {out[0]} rows of {out[1]}"
    at_probe = f"at batch {probe_batch} it gives {fmt_shape(v.probe_out)}"
    if v.what == "merges":
        return (f"merges the batch (dimension {v.dim}, size {batch}) into the features: it gives "
                f"{fmt_shape(out)}, and {at_probe}, so every sample's values end up in one row")
    return (f"drops the batch (dimension {v.dim}, size {batch}): it gives {fmt_shape(out)}, and "
            f"{at_probe}, so the batch size is lost or hard-coded")
