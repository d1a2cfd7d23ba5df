"""Recording a forward pass: module hooks and a TorchFunctionMode that write one Row per step.

* module forward pre-hooks and hooks give one row per leaf module (``Conv2d``,
  ``MaxPool2d``, ...), with its qualified name;
* the ``TorchFunctionMode`` sees the functional calls a ``forward`` makes itself
  (``F.max_pool2d``, ``torch.flatten``, ``x.view``, ``x + y``) and gives them rows too;
* where a Linear's ``in_features``, a convolution's ``in_channels`` or a norm layer's
  ``num_features`` disagrees with what arrives, the pre-hook records the value the data
  needs and hands the layer an input of the shape it expects, so the trace goes on and
  one run reports every problem;
* a reshape that loses the batch (``x.view(-1, N)`` with a wrong ``N``, ``torch.flatten(x)``,
  ``nn.Flatten(0)``), judged against a second pass at another batch size (:mod:`.batch`), is
  flagged and the trace continues as if ``x.flatten(1)`` had been written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter
from torch.overrides import TorchFunctionMode

from .batch import RESHAPE_LIKE, Event, Verdict, per_sample, verdict, what_happened
from .calls import (
    base_name,
    explain_functional,
    explain_module,
    first_tensor,
    func_name,
    functional_call,
    is_builtin,
    label,
    merged,
    params_of,
    product_text,
    tensors,
)
from .inside import (
    MIXED_DEVICES,
    RNN_CALLS,
    VALUE_CALLS,
    VALUE_MESSAGES,
    DataDependent,
    attention_outputs,
    keeps_first,
    rnn_outputs,
)
from .report import Problem, Row, Shape, fmt_shape
from .rules import IGNORED, NORMS, SAME_SHAPE, shape_rule

__all__ = ["Frame", "Recorder"]

_LAZY_TYPES = (UninitializedParameter, UninitializedBuffer)
# Functional activations whose last positional argument is ``inplace``.
_INPLACE_LAST = frozenset({"relu", "relu6", "leaky_relu", "elu", "hardtanh", "selu", "celu",
                           "threshold"})


@dataclass
class Frame:
    """A module call in progress (pushed by the pre-hook, popped by the hook)."""

    module: nn.Module
    name: str
    rows_at_entry: int
    input_shapes: tuple[Shape, ...]
    source: int | None
    needed: dict[str, int]
    problem: Problem | None
    lazy: bool


def _is_inplace(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """True when a shape-keeping call writes into its input (``relu_``, ``inplace=True``)."""
    if name.endswith("_") or kwargs.get("inplace") is True:
        return True
    if name.startswith(("dropout", "alpha", "feature")):
        return len(args) > 3 and args[3] is True
    return name in _INPLACE_LAST and len(args) > 1 and args[-1] is True


def _flatten_fields(input_shapes: tuple[Shape, ...], output_shape: Shape | None) -> dict[str, Any]:
    """A Row's flatten fields when the step merges consecutive input dims, else none.

    >>> _flatten_fields(((1, 256, 4, 4),), (1, 4096))
    {'flatten': '256 channels × 4 × 4 = 4096', 'flatten_dims': (256, 4, 4), 'flatten_start': 1}
    """
    if not input_shapes or output_shape is None:
        return {}
    m = merged(input_shapes[0], output_shape)
    if m is None:
        return {}
    start, dims = m
    text = product_text(start, dims, len(input_shapes[0]))
    return {"flatten": f"{text} = {math.prod(dims)}", "flatten_dims": dims, "flatten_start": start}


class Recorder(TorchFunctionMode):
    """Hooks and function mode for one trace: collects rows, problems and Linear inputs."""

    def __init__(self, names: dict[int, str], batch: int | None, explain: bool,
                 probe: list[Event] | None = None, probe_batch: int | None = None,
                 flagged: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.names = names
        self.batch = batch
        self.probe = probe
        self.probe_batch = probe_batch
        self.flagged = flagged  # the events found to lose the batch (a probe's comparison)
        self.events: list[Event] = []
        self.problem_events: list[int] = []  # how many events had passed at each problem
        self.explain = explain
        self.rows: list[Row] = []
        self.stack: list[Frame] = []
        self.producer: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []  # keeps ids unique while the trace runs
        self.problems: list[Problem] = []
        self.linear_in: dict[str, int] = {}
        self.paused = 0

    def note(self, problem: Problem) -> None:
        """Add a problem to the report."""
        self.problems.append(problem)
        self.problem_events.append(len(self.events))

    def problems_until(self, event: int) -> list[str]:
        """The steps of the problems found before event number ``event`` was over."""
        return [p.step for p, k in zip(self.problems, self.problem_events, strict=True) if k <= event]

    # -- provenance
    def _mark(self, tensor: Any, index: int | None) -> None:
        t = first_tensor(tensor)
        if t is not None and index is not None:
            self.producer[id(t)] = index
            self.keep.append(t)

    def _source(self, tensor: Any) -> int | None:
        t = first_tensor(tensor)
        return None if t is None else self.producer.get(id(t))

    def _origin(self, index: int | None) -> str:
        if index is None:
            return "the input"
        r = self.rows[index]
        return f"{r.name} ({r.op})" if r.is_module else r.name

    def _flatten_origin(self, index: int | None, value: int) -> str:
        """How ``value`` features arose: '256 channels × 4 × 4 after conv_layer.17 (MaxPool2d)'."""
        seen = 0
        while index is not None and seen < 64:
            r = self.rows[index]
            if r.output_shape is None or not r.output_shape or r.output_shape[-1] != value:
                return ""
            if r.flatten_dims is not None and len(r.output_shape) == r.flatten_start + 1:
                text = product_text(r.flatten_start, r.flatten_dims, len(r.input_shape or ()))
                return f"{text} after {self._origin(r.source)}"
            index = r.source
            seen += 1
        return ""

    def _empty(self, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
        self.paused += 1
        try:
            return torch.empty(tuple(shape), dtype=like.dtype, device="meta")
        finally:
            self.paused -= 1

    # -- module hooks
    def pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        x = first_tensor(args)
        frame = Frame(module, self.names.get(id(module), type(module).__name__),
                      len(self.rows), tuple(tuple(t.shape) for t in tensors(args)[:2]),
                      self._source(args), {}, None,
                      isinstance(module, LazyModuleMixin) and module.has_uninitialized_params())
        self.stack.append(frame)
        if x is None or not is_builtin(module):
            return None
        fixed = self._check(module, frame, x)
        if fixed is None:
            return None
        return (fixed, *args[1:])

    def _check(self, module: nn.Module, frame: Frame, x: torch.Tensor) -> torch.Tensor | None:
        """Compare a layer's setting with its input; on a mismatch record it and return an
        input of the expected shape so the trace continues as if the layer were fixed."""
        shape = tuple(x.shape)
        if isinstance(module, nn.Linear) and shape:
            return self._check_linear(module, frame, x)
        if isinstance(module, nn.modules.conv._ConvNd) and not frame.lazy:
            return self._check_conv(module, frame, x)
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not frame.lazy:
            self._check_norm(module, frame, shape, module.num_features, "num_features")
        elif isinstance(module, nn.GroupNorm):
            self._check_norm(module, frame, shape, module.num_channels, "num_channels")
        elif isinstance(module, nn.LayerNorm):
            self._check_layer_norm(module, frame, shape)
        return None  # a fixed norm layer keeps the shape: let what arrived pass on

    def _record(self, frame: Frame, needed: dict[str, Any], problem: Problem) -> None:
        frame.needed = needed
        frame.problem = problem
        self.note(problem)

    def _linear_problem(self, module: nn.Linear, frame: Frame, shape: Shape,
                        seen: Verdict | None) -> Problem:
        name, kind, got = frame.name, type(module).__name__, shape[-1]
        origin = self._flatten_origin(frame.source, got)
        bias = "" if module.bias is not None else ", bias=False"
        head = f"{name} ({kind}) has in_features={module.in_features} but"
        if origin:
            msg = f"{head} its input provides {got} features: {origin}."
            fix = f"nn.Linear({got}, {module.out_features}{bias})  # {origin}"
        elif seen is not None:  # a sequence, the batch in dimension seen.dim: per step
            msg = (f"{head} receives {fmt_shape(shape)} from {self._origin(frame.source)}, a "
                   f"sequence with the batch in dimension {seen.dim}: a Linear acts on the last "
                   f"dimension, {got} features at every step.")
            fix = f"nn.Linear({got}, {module.out_features}{bias})"
        elif len(shape) > 2:
            per = math.prod(shape[1:])
            msg = (f"{head} receives {fmt_shape(shape)} from {self._origin(frame.source)}: a "
                   f"Linear acts on the last dimension only ({got}). To use all "
                   f"{' × '.join(map(str, shape[1:]))} = {per} values of each sample, "
                   f"flatten first.")
            fix = (f"nn.Flatten(), nn.Linear({per}, {module.out_features}{bias})  "
                   f"# or nn.Linear({got}, {module.out_features}) to act on the last dimension")
        else:
            msg = f"{head} receives {got} features from {self._origin(frame.source)}."
            fix = f"nn.Linear({got}, {module.out_features}{bias})"
        return Problem(name, msg, fix, f"# or let PyTorch infer it on the first batch: "
                                       f"nn.LazyLinear({module.out_features}{bias})")

    def _check_linear(self, module: nn.Linear, frame: Frame, x: torch.Tensor) -> torch.Tensor | None:
        shape = tuple(x.shape)
        got = shape[-1]
        self.linear_in.setdefault(frame.name, got)
        right = frame.lazy or got == module.in_features
        seen = self._judge(Event("linear", shape, shape if right else None))
        if right:
            return None
        self._record(frame, {"in_features": got}, self._linear_problem(module, frame, shape, seen))
        return self._empty((*shape[:-1], module.in_features), x)

    def _check_conv(self, module: nn.modules.conv._ConvNd, frame: Frame,
                    x: torch.Tensor) -> torch.Tensor | None:
        shape = tuple(x.shape)
        nd = len(module.kernel_size)
        if len(shape) not in (nd + 1, nd + 2):
            return None  # PyTorch's own error says it best; caught in trace()
        c_dim = len(shape) - nd - 1
        got = shape[c_dim]
        if got == module.in_channels:
            return None
        name, kind = frame.name, base_name(module)
        if c_dim == 1 and shape[-1] == module.in_channels:
            return self._channels_last(module, frame, x, nd)
        args = module.extra_repr().split(", ", 1)
        self._record(frame, {"in_channels": got}, Problem(
            name, f"{name} ({kind}) has in_channels={module.in_channels} but receives "
                  f"{got} channels from {self._origin(frame.source)} (input {fmt_shape(shape)}).",
            f"nn.{kind}({got}, {args[1] if len(args) > 1 else ''})",
            f"# or nn.Lazy{kind}({module.out_channels}, ...) infers in_channels"))
        fixed = list(shape)
        fixed[c_dim] = module.in_channels
        return self._empty(fixed, x)

    def _channels_last(self, module: nn.modules.conv._ConvNd, frame: Frame, x: torch.Tensor,
                       nd: int) -> torch.Tensor:
        """``[N, H, W, C]`` into a convolution: the channels are last, the fix is a permute."""
        shape = tuple(x.shape)
        order = (0, nd + 1, *range(1, nd + 1))
        c = module.in_channels
        self._record(frame, {}, Problem(
            frame.name, f"{frame.name} ({base_name(module)}) expects the channels first, "
                        f"[N, C, {', '.join('HW' if nd == 2 else 'L' if nd == 1 else 'DHW')}] "
                        f"with C={c}, but receives {fmt_shape(shape)} from "
                        f"{self._origin(frame.source)}: its last size is {c}, so the channels "
                        f"come last (as images from PIL or NumPy do). Move them first; in_channels "
                        f"is right.",
            f"x = x.permute{order}  # {fmt_shape(shape)} -> "
            f"{fmt_shape(tuple(shape[i] for i in order))}"))
        return self._empty(tuple(shape[i] for i in order), x)

    def _check_norm(self, module: nn.Module, frame: Frame, shape: Shape, want: int,
                    attr: str) -> None:
        if len(shape) < 2 or shape[1] == want:
            return
        got, name, kind = shape[1], frame.name, base_name(module)
        if isinstance(module, nn.GroupNorm):
            fix = f"nn.GroupNorm({module.num_groups}, {got})"
        else:
            args = module.extra_repr().split(", ", 1)
            fix = f"nn.{kind}({got}{', ' + args[1] if len(args) > 1 else ''})"
        self._record(frame, {attr: got}, Problem(
            name, f"{name} ({kind}) has {attr}={want} but receives {got} channels from "
                  f"{self._origin(frame.source)} (input {fmt_shape(shape)}).", fix))

    def _check_layer_norm(self, module: nn.LayerNorm, frame: Frame, shape: Shape) -> None:
        want = tuple(module.normalized_shape)
        got = shape[-len(want):]
        if got == want:
            return
        self._record(frame, {"normalized_shape": got[-1]} if len(got) == 1 else {}, Problem(
            frame.name, f"{frame.name} (LayerNorm) normalizes over {list(want)} but the last "
                        f"dimension(s) of its input are {list(got)}.",
            f"nn.LayerNorm({got[0] if len(got) == 1 else list(got)})"))

    def hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        frame = self.stack.pop()
        out = first_tensor(output)
        x = first_tensor(args)
        replaced = None
        if isinstance(module, nn.Flatten) and isinstance(output, torch.Tensor) and x is not None:
            subject = f"{frame.name} (nn.Flatten(start_dim={module.start_dim}))"
            keeps = module.start_dim % max(x.dim(), 1) >= 1
            fixed, frame.problem = self._batch_step(x, output, (frame.name, subject, ""), "", keeps)
            if fixed is not output:
                replaced = output = out = fixed
        if len(self.rows) == frame.rows_at_entry:
            out_shape = tuple(out.shape) if out is not None else None
            explanation = None
            if self.explain and frame.input_shapes:
                explanation = explain_module(module, frame.input_shapes[0])
            self._add(Row(len(self.rows), frame.name, type(module).__name__, True,
                          frame.input_shapes, out_shape, params_of(module), explanation,
                          needed=frame.needed, problem=frame.problem, source=frame.source,
                          module=module, **_flatten_fields(frame.input_shapes, out_shape)),
                      output)
        elif out is not None and self.rows and self._source(output) is None:
            # a container: its output comes from its last recorded step
            self._mark(output, len(self.rows) - 1)
        return replaced

    def _add(self, row: Row, output: Any) -> None:
        self.rows.append(row)
        self._mark(output, row.index)

    # -- functional calls
    def __torch_function__(self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        try:
            return self._dispatch(func, args, kwargs)
        except DataDependent:
            raise
        except RuntimeError as err:
            if MIXED_DEVICES in str(err):  # a tensor the forward made on the CPU: as a stand-in
                return self._dispatch(func, *self._all_meta(args, kwargs))
            ns, name = func_name(func)
            if name in VALUE_CALLS or any(m in str(err) for m in VALUE_MESSAGES):
                raise DataDependent(label(ns, name, args, kwargs), name) from err
            raise
        except NotImplementedError as err:  # ops the meta device lacks (nonzero, unique, ...)
            ns, name = func_name(func)
            raise DataDependent(label(ns, name, args, kwargs), name) from err

    def _all_meta(self, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call's CPU tensors (made in the forward, e.g. ``torch.ones(4)``) as meta ones."""
        def meta(a: Any) -> Any:
            if isinstance(a, torch.Tensor) and a.device.type != "meta":
                return self._empty(a.shape, a)
            if isinstance(a, (list, tuple)) and any(isinstance(t, torch.Tensor) for t in a):
                return type(a)(meta(t) for t in a)
            return a
        return tuple(meta(a) for a in args), {k: meta(v) for k, v in kwargs.items()}

    def _dispatch(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.lazy:
            args, kwargs = self._lazy_standins(frame, args, kwargs)
        ns, name = func_name(func)
        if frame is not None and is_builtin(frame.module):
            return self._inside_layer(func, name, args, kwargs, frame.module)
        if name in IGNORED:
            return self._unrecorded(func, name, args, kwargs)
        if not tensors(args):
            return func(*args, **kwargs)
        return self._recorded(func, ns, name, frame, args, kwargs)

    def _inside_layer(self, func: Callable[..., Any], name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any], module: nn.Module) -> Any:
        """A call made by a torch.nn layer's own forward: its module row says it all."""
        if name in NORMS and args and isinstance(args[0], torch.Tensor):
            return self._empty(args[0].shape, args[0])
        if (name in RNN_CALLS and isinstance(module, nn.RNNBase) and len(args) > 2
                and isinstance(args[2], list) and isinstance(args[0], torch.Tensor) and args[0].dim() == 3):
            return rnn_outputs(module, name, args[0], self._empty)
        if name == "multi_head_attention_forward" and isinstance(module, nn.MultiheadAttention):
            out = attention_outputs(module, args, kwargs, self._empty)
            if out is not None:
                return out
        return self._unrecorded(func, name, args, kwargs)

    def _unrecorded(self, func: Callable[..., Any], name: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        if name in SAME_SHAPE and args and isinstance(args[0], torch.Tensor):
            return self._same_shape(name, args, kwargs)
        out = self._run(func, name, args, kwargs)
        if isinstance(out, torch.Tensor) and id(out) not in self.producer:
            src = self._source(tensors(args)[:1])
            if src is not None:
                self._mark(out, src)
        return out

    def _recorded(self, func: Callable[..., Any], ns: str, name: str, frame: Frame | None,
                  args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A functional call in the user's own forward: run it (or its rule) and give it a row."""
        ins = tensors(args)
        x, in_shapes = ins[0], tuple(tuple(t.shape) for t in ins[:2])
        text = label(ns, name, args, kwargs)
        where = frame.name if frame is not None else ""
        row_name = f"{where}: {text}" if where else text
        reshape = ns in ("x", "torch") and name in RESHAPE_LIKE and x.dim() >= 1
        cause = ""
        try:
            if name in SAME_SHAPE and isinstance(args[0], torch.Tensor):
                out = self._same_shape(name, args, kwargs)
            else:
                out = self._run(func, name, args, kwargs)
        except Exception as err:
            if not (reshape and x.dim() >= 2 and x.shape[0] == self.batch):
                raise
            out, cause = None, str(err).split("\n")[0]
        problem = None
        if reshape:
            subject = f"{text} in {where + '.' if where else ''}forward"
            out, problem = self._batch_step(x, out, (row_name, subject, text), cause,
                                            keeps_first(name, x, args, kwargs))
        t = first_tensor(out)
        if t is None:
            return out
        op = f"{'Tensor' if ns == 'x' else ns}.{name}" if ns else name
        settings = functional_call(name, args, kwargs) if self.explain and ns in ("F", "torch") else None
        explanation = explain_functional(settings, x) if settings is not None else None
        out_shape = tuple(t.shape)
        self._add(Row(len(self.rows), row_name, op, False, in_shapes, out_shape,
                      explanation=explanation, problem=problem, source=self._source(x),
                      call=settings, **_flatten_fields(in_shapes, out_shape)), t)
        return out

    def _judge(self, event: Event) -> Verdict | None:
        """Log ``event``; with a probe pass to compare with, what it did to the batch."""
        k = len(self.events)
        self.events.append(event)
        if self.probe is None or self.batch is None or self.probe_batch is None or k not in self.flagged:
            return None
        probe = self.probe[k] if k < len(self.probe) else None
        return verdict(event, probe, self.batch, self.probe_batch)

    def _batch_step(self, x: torch.Tensor, out: Any, names: tuple[str, str, str],
                    cause: str, keeps_first: bool = False) -> tuple[Any, Problem | None]:
        """A reshape-like step: if it lost the batch, its problem and the output it should
        have had, ``(batch, per-sample values)``, for the rest of the trace. ``names`` are
        the step's row name, its subject in a sentence and the call ('' for nn.Flatten)."""
        t = out if isinstance(out, torch.Tensor) else None
        seen = self._judge(Event("reshape", tuple(x.shape), tuple(t.shape) if t is not None else None,
                                 keeps_first))
        if seen is None and t is None:
            seen = Verdict("fails", 0)  # failed with the batch first: the -1 took the batch
        if seen is None or self.batch is None:
            return out, None
        problem = self._batch_problem(x, t, seen, names, cause)
        if self.batch == 1 and t is not None and seen.what in ("merges", "drops"):
            return out, problem  # right at batch 1, as PyTorch runs it: only the advice changes
        return self._empty((self.batch, per_sample(tuple(x.shape), seen.dim)[1]), x), problem

    def _batch_problem(self, x: torch.Tensor, t: torch.Tensor | None, seen: Verdict,
                       names: tuple[str, str, str], cause: str) -> Problem:
        """A step that lost the batch (merged, dropped, spread over rows, failed)."""
        assert self.batch is not None
        step, subject, call = names
        sizes, per = per_sample(tuple(x.shape), seen.dim)
        dims = product_text(1, sizes, len(sizes) + 1)
        what = what_happened(seen, tuple(t.shape) if t is not None else None, self.batch,
                             self.probe_batch or self.batch + 1, cause)
        where = ("The -1 belongs in the feature dimension, not the batch dimension"
                 if "-1" in call and seen.what in ("rows", "fails") else
                 f"The batch of {self.batch} must stay a dimension of its own, the first")
        if call:
            fix = f"x = x.flatten(1)  # or x.view(x.size(0), -1): {dims} = {per} per sample"
        else:
            fix = f"nn.Flatten()  # start_dim=1 keeps the batch: {dims} = {per} per sample"
        problem = Problem(
            step, f"{subject} {what}: each sample has {dims} = {per} values. {where}; the rest of this "
            f"trace goes on as if the batch were kept.", fix)
        self.note(problem)
        return problem

    def _run(self, func: Callable[..., Any], name: str, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
        rule = shape_rule(name, args, kwargs)
        if rule is None:
            return func(*args, **kwargs)
        shape, dtype = rule
        if name.endswith("_") or name.startswith("__i"):
            return args[0]
        self.paused += 1
        try:
            return torch.empty(shape, dtype=dtype, device="meta")
        finally:
            self.paused -= 1

    def _same_shape(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
        x = args[0]
        return x if _is_inplace(name, args, kwargs) else self._empty(x.shape, x)

    def _lazy_shapes(self, module: nn.Module, shape: Shape) -> tuple[Shape, Shape]:
        """(weight, bias) shapes a Lazy layer would materialize for an input of ``shape``."""
        if isinstance(module, nn.Linear):
            return (module.out_features, shape[-1]), (module.out_features,)
        if isinstance(module, nn.modules.conv._ConvNd):
            nd = len(module.kernel_size)
            c = shape[len(shape) - nd - 1]
            if module.transposed:
                w = (c, module.out_channels // module.groups, *module.kernel_size)
            else:
                w = (module.out_channels, c // module.groups, *module.kernel_size)
            return w, (module.out_channels,)
        return (shape[1],), (shape[1],)  # lazy norm layers: per-channel vectors

    def _lazy_standins(self, frame: Frame, args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Meta tensors in place of a Lazy layer's uninitialized weights, shaped from its input."""
        if not any(isinstance(a, _LAZY_TYPES) for a in (*args, *kwargs.values())):
            return args, kwargs
        x = first_tensor(args)
        assert x is not None  # a lazy layer's call has its input first
        shapes = list(self._lazy_shapes(frame.module, tuple(x.shape)))

        def swap(a: Any) -> Any:
            if isinstance(a, _LAZY_TYPES):
                return self._empty(shapes.pop(0) if len(shapes) > 1 else shapes[0], x)
            return a

        new_args = tuple(swap(a) for a in args)
        return new_args, {k: swap(v) for k, v in kwargs.items()}
