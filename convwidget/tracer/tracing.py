"""``trace``: run a model's own forward on meta stand-ins and collect the report.

The user's model is neither moved nor copied: its parameters, buffers and the tensors its
attributes hold are swapped for meta stand-ins for the duration of the call, per tensor
object, and put back by identity afterwards (:mod:`.standins`), with every module's attribute
set restored, every hook we add removed and every module's train/eval flag put back, in
``finally``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter

from ..pasted.limits import ONCE_IN_ORDER
from .batch import Event, suspicious, verdict
from .calls import explain_module, first_tensor, is_builtin
from .inputs import MAX_ELEMENTS, Inputs, check_shape, check_size, read_inputs
from .inside import DataDependent
from .mode import Recorder
from .report import Problem, Shape, TraceReport, fmt_shape
from .standins import Standins

if TYPE_CHECKING:
    from ..pasted import Pasted

__all__ = ["MAX_ELEMENTS", "check_options", "check_shape", "trace", "warm_up"]

_warm_lock = threading.Lock()
_warmed = False


def warm_up(background: bool = False) -> threading.Thread | None:
    """Pay the one-off costs of a first trace now (a tiny trace), once per process.

    They are small: the tracer answers convolution, pooling, linear, adaptive pooling,
    activations, normalization and broadcasting arithmetic itself, which spares most
    models PyTorch's Python meta kernels, whose first use imports sympy and
    ``torch._dynamo`` (1-2 s here). Ops outside that list still pay it once.

    With ``background=True`` the work runs in a daemon thread, returned so callers may join.

    >>> warm_up()
    """
    def run() -> None:
        global _warmed
        with _warm_lock:
            if _warmed:
                return
            tiny = nn.Sequential(nn.Conv2d(1, 1, 3, device="meta"), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Flatten(), nn.Linear(1, 1, device="meta"))
            trace(tiny, (1, 1, 4, 4))
            _warmed = True
    if background:
        thread = threading.Thread(target=run, name="convwidget-warm-up", daemon=True)
        thread.start()
        return thread
    run()
    return None


def check_options(training: Any, dtype: Any, explain: Any = True) -> None:
    """Refuse a ``training``/``explain`` that is not a bool, a ``dtype`` that is not a torch dtype.

    >>> check_options(True, torch.float64)
    >>> check_options("no", None)
    Traceback (most recent call last):
    ...
    TypeError: training must be True or False, got 'no'
    """
    for name, flag in (("training", training), ("explain", explain)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch dtype such as torch.float32 (or None for the "
                        f"model's own), got {dtype!r}")


def _scripted(model: nn.Module) -> None:
    """Refuse a TorchScript model or submodule: its compiled forward takes no hooks."""
    for name, m in model.named_modules():
        if isinstance(m, torch.jit.ScriptModule):
            where = f"its submodule {name!r}" if name else "the model"
            raise ValueError(
                f"trace() cannot follow TorchScript: {where} is a {type(m).__name__} made by "
                f"torch.jit.script or torch.jit.trace, whose compiled forward runs no hooks; "
                f"trace the nn.Module it was made from instead")


def _as_module(model: Any) -> tuple[nn.Module, list[str]]:
    """The module to trace and the notes that come with it (pasted text is read)."""
    if isinstance(model, str):
        from ..pasted import read

        model = read(model)
    if isinstance(getattr(model, "model", None), nn.Module) and hasattr(model, "notes"):
        return model.model, list(model.notes)  # a convwidget.pasted.Pasted
    if not isinstance(model, nn.Module):
        raise TypeError(f"trace() needs a torch.nn.Module or pasted PyTorch text, got "
                        f"{type(model).__name__}")
    return model, list(getattr(model, "convwidget_notes", None) or [])


def _input_dtype(model: nn.Module, dtype: torch.dtype | None) -> torch.dtype:
    if dtype is not None:
        return dtype
    first_leaf = next((m for m in model.modules() if not m._modules), None)
    if isinstance(first_leaf, (nn.Embedding, nn.EmbeddingBag)):
        return torch.long  # token ids
    return next((p.dtype for p in model.parameters()
                 if not isinstance(p, UninitializedParameter) and p.is_floating_point()),
                torch.float32)


@contextmanager
def _hooked(model: nn.Module, recorder: _Runner, training: bool) -> Iterator[None]:
    """The recorder's hooks on every module and ``training`` set, all undone on exit."""
    modules = list(model.modules())
    modes = [m.training for m in modules]
    handles = []
    lazy_hooks: list[tuple[nn.Module, dict[Any, Any], dict[Any, Any]]] = []
    # a parametrization (weight_norm, spectral_norm) computes its layer's weight: no row
    inner = {id(m) for n, m in model.named_modules() if "parametrizations" in n.split(".")}
    try:
        for m in modules:
            if m.training != training:
                m.training = training
            if id(m) in inner:
                continue
            if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params():
                # Its own pre-hook would materialize real weights in the user's model:
                # set it aside (the dicts are restored as they were, order included).
                hook_id = m._initialize_hook.id
                lazy_hooks.append((m, dict(m._forward_pre_hooks),
                                   dict(m._forward_pre_hooks_with_kwargs)))
                m._forward_pre_hooks.pop(hook_id, None)
                m._forward_pre_hooks_with_kwargs.pop(hook_id, None)
            handles.append(m.register_forward_pre_hook(recorder.pre_hook))
            handles.append(m.register_forward_hook(recorder.hook))
        yield
    finally:
        for h in handles:
            h.remove()
        for m, pre, pre_kw in lazy_hooks:
            m._forward_pre_hooks.clear()
            m._forward_pre_hooks.update(pre)
            m._forward_pre_hooks_with_kwargs.clear()
            m._forward_pre_hooks_with_kwargs.update(pre_kw)
        for m, mode in zip(modules, modes, strict=True):
            if m.training != mode:
                m.training = mode


def _failure(recorder: Recorder, err: Exception) -> Problem:
    """The model's own failure as a Problem naming the layer, its input and the steps before."""
    cause = str(err).strip().split("\n")[0]
    if isinstance(err, DataDependent):
        return Problem(err.call, f"{err}.")
    if isinstance(err, TypeError) and "required" in cause and "argument" in cause:
        cause += ("; give every input the forward takes: trace(model, [shape_a, shape_b]) or "
                  "trace(model, shape, inputs={'name': shape})")
    if not recorder.stack:
        return Problem("forward", f"the forward pass failed: {cause}")
    frame = recorder.stack[-1]
    kind = type(frame.module).__name__
    shape = frame.input_shapes[0] if frame.input_shapes else None
    explanation = None
    if shape is not None and is_builtin(frame.module):
        explanation = explain_module(frame.module, shape)
    reason = getattr(explanation, "error", None) or cause
    where = f"{frame.name} ({kind})" if frame.name else kind
    after = (f"; the steps before it are listed above (up to "
             f"{recorder.rows[-1].name})" if recorder.rows else "")
    return Problem(frame.name or kind,
                   f"{where} cannot take input {fmt_shape(shape)}: {reason}{after}.")


def trace(model: nn.Module | str | Pasted, input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None,
          *, inputs: Mapping[str, Sequence[int]] | None = None, training: bool = False,
          dtype: torch.dtype | None = None, explain: bool = True) -> TraceReport:
    """Trace ``model`` on an input of ``input_shape`` without touching its weights.

    Parameters
    ----------
    model : an ``nn.Module`` (left exactly as it was: parameters, buffers, device, dtype,
        train/eval flags, hooks), or pasted PyTorch text (see ``convwidget.parse``), or
        what ``convwidget.pasted.read`` made of it (its notes join the report's).
    input_shape : the full input shape, batch first, e.g. ``(1, 3, 32, 32)``; for a forward
        that takes several inputs, a list of shapes (``[(1, 3, 32, 32), (1, 10)]``).
    inputs : keyword inputs by name, ``{"mask": (1, 32, 32)}``, passed as ``model(..., mask=m)``.
    training : trace the training-mode path (default: eval mode, as for inference).
    dtype : the input's dtype (default: ``torch.long`` when the first layer is an
        ``nn.Embedding``, else the model's first floating parameter's, else float32).
    explain : attach ``convwidget.explain`` derivations to conv/pool rows.

    Returns
    -------
    TraceReport, with ``rows``, ``problems``, ``linear_in_features``, ``ok``. A forward
    that fails is reported there too (``error``, the last problem), not raised.

    Raises
    ------
    TypeError : ``model`` is neither a module nor pasted text, ``training`` or ``explain``
        is not a bool, ``dtype`` not a torch dtype.
    ValueError : a malformed ``input_shape``, one over :data:`MAX_ELEMENTS` elements, a
        TorchScript model or submodule (its compiled forward takes no hooks), or pasted
        text that cannot be read.

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 24 * 24, 10))
    >>> r = trace(net, (2, 1, 28, 28))
    >>> r.ok, r.output_shape, r.linear_in_features
    (True, (2, 10), {'3': 2304})
    >>> r.flatten_row.flatten
    '4 channels × 24 × 24 = 2304'
    >>> print(trace(nn.Sequential(nn.Flatten(0), nn.Linear(2304, 10)), (1, 4, 24, 24)).problems[0].fix)
    nn.Flatten()  # start_dim=1 keeps the batch: 4 channels × 24 × 24 = 2304 per sample
    """
    model, notes = _as_module(model)
    given = read_inputs(input_shape, inputs)
    check_options(training, dtype, explain)
    _scripted(model)
    dtype = _input_dtype(model, dtype)
    names = {id(m): n for n, m in model.named_modules()}
    names[id(model)] = ""
    total = sum(p.numel() for p in model.parameters()
                if not isinstance(p, UninitializedParameter))
    standins = Standins(model)
    run = _Runner(model, names, dtype, explain, standins)
    with _hooked(model, run, training), standins:
        recorder, output_shape, error = _batch_aware(run, given)
    if len(given.args) + len(given.kwargs) > 1:
        notes.append(f"inputs: {given.label()}")
    return TraceReport(
        model_name=type(model).__name__, input_shape=given.first, rows=recorder.rows,
        output_shape=output_shape, linear_in_features=recorder.linear_in,
        problems=_hedged(recorder.problems, notes), error=error, notes=notes, total_params=total,
        _model=model, _options={"training": training, "dtype": dtype})


def _hedged(problems: list[Problem], notes: list[str]) -> list[Problem]:
    """Problems of pasted text read without a forward say that their order is assumed."""
    if not any(ONCE_IN_ORDER in note for note in notes):
        return problems
    hedge = (f" This {ONCE_IN_ORDER} (no forward was pasted); if forward reuses or reorders "
             "layers, trace the real model instead.")
    return [replace(p, message=p.message + hedge) for p in problems]


Pass = tuple[Recorder, Shape | None, str | None]


@dataclass(frozen=True)
class _Runner:
    """Forward passes of ``model`` on meta stand-ins, each recorded by its own Recorder; the
    hooks and stand-ins are set up once for all passes (the model is rewound between them)
    and undone by :func:`trace`."""

    model: nn.Module
    names: dict[int, str]
    dtype: torch.dtype
    explain: bool
    standins: Standins
    current: list[Recorder] = field(default_factory=list)

    def pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        return self.current[-1].pre_hook(module, args)

    def hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        return self.current[-1].hook(module, args, output)

    def __call__(self, given: Inputs, probe: list[Event] | None = None, probe_batch: int | None = None,
                 explain: bool | None = None, flagged: frozenset[int] = frozenset()) -> Pass:
        recorder = Recorder(self.names, given.batch, self.explain if explain is None else explain,
                            probe, probe_batch, flagged)
        if self.current:
            self.standins.rewind()  # what the last pass cached or created is gone
        self.current.append(recorder)
        output_shape = error = None
        args, kwargs = given.tensors(self.dtype)
        try:
            with torch.no_grad(), recorder:
                out = self.model(*args, **kwargs)
            t = first_tensor(out)
            output_shape = tuple(t.shape) if t is not None else None
        except Exception as err:  # the model's own failure: report it with context
            problem = _failure(recorder, err)
            error = problem.message
            recorder.note(problem)
        return recorder, output_shape, error


def _batch_aware(run: _Runner, given: Inputs) -> Pass:
    """The trace at the user's batch; where a step could hide a batch problem, a second pass
    at batch + 1 tells which sizes follow the batch, and a third reports the steps that
    lose it (:mod:`.batch`). A probe that meets problems the first pass did not (the first
    size is not free to vary: an unbatched input) is ignored."""
    first = run(given)
    recorder = first[0]
    batch = recorder.batch
    if batch is None or not any(suspicious(e, batch) for e in recorder.events):
        return first
    other = given.with_batch(batch + 1)
    try:
        for s in (*other.args, *other.kwargs.values()):
            check_size(s)
    except ValueError:
        return first
    probe = run(other, explain=False)[0]
    flagged = _flagged(recorder.events, probe.events, batch)
    # the probe must agree up to the first step it flags: later, a lost batch changes shapes
    if not flagged or probe.problems_until(min(flagged)) != recorder.problems_until(min(flagged)):
        return first
    return run(given, probe.events, batch + 1, flagged=flagged)


def _flagged(events: list[Event], probe: list[Event], batch: int) -> frozenset[int]:
    """The events that lost the batch: a step that merges or drops it only when its output
    goes straight to a Linear (a whole-tensor flatten for a loss or a concatenation is fine)."""
    found = set()
    for k, (e, p) in enumerate(zip(events, probe, strict=False)):
        seen = verdict(e, p, batch, batch + 1)
        if seen is None:
            continue
        feeds_linear = (k + 1 < len(events) and events[k + 1].kind == "linear"
                        and events[k + 1].into == e.out)
        if seen.what not in ("merges", "drops") or feeds_linear:
            found.add(k)
    return frozenset(found)
