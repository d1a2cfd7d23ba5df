"""The tracer judged by real forward passes over the zoo (issue 9, "Tests").

For every architecture in ``zoo.ZOO``:

* step by step: forward hooks on every leaf layer of a fresh copy, a real forward, and the
  trace's row for each call must show the same output shape, in the same order; also the
  ``in_features`` of every Linear and the output shape (batch 2, batch 3, an odd size);
* a wrong first Linear is named with the in_features a real forward gives it;
* the model is left exactly as it was (``zoo.snapshot`` / ``zoo.assert_unchanged``) after a
  trace that succeeds, one that is refused, and one whose forward raises.

Where the tracer is known to be wrong, the case is a strict xfail naming the defect (``XFAIL``),
so it flips to a failure the day the tracer is fixed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).parent))

from zoo import (  # noqa: E402
    ZOO,
    Entry,
    assert_unchanged,
    build_right,
    first_tensor,
    leaf_calls,
    make_inputs,
    snapshot,
    trace_inputs,
    true_fc,
)

import convwidget  # noqa: E402
from convwidget.tracer import TraceReport  # noqa: E402

# (test, entry or entry-variant) -> the defect that case shows today, a strict xfail. Empty:
# every defect issue 9 listed for the tracer is fixed; a new one goes here with its reason.
XFAIL: dict[tuple[str, str], str] = {}


def cases(test: str, combos: list[tuple[Any, ...]]) -> list[Any]:
    """pytest params for ``test`` (one per tuple ``(entry, variant...)``), the known defects
    as strict xfails."""
    out = []
    for combo in combos:
        pid = "-".join(map(str, combo))
        reason = XFAIL.get((test, pid)) or XFAIL.get((test, combo[0]))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(*combo, marks=marks, id=pid))
    return out


def _variants() -> list[tuple[str, str]]:
    out = []
    for name, e in ZOO.items():
        for v in (("b2", "b3", "odd") if e.batch_ok else ("b1", "odd")):
            out.append((name, v))
    return out


def _where(entry: Entry, variant: str) -> tuple[tuple[int, ...], int]:
    shape = entry.odd if variant == "odd" else entry.shape
    batch = {"b1": 1, "b2": 2, "b3": 3}.get(variant, 2 if entry.batch_ok else 1)
    return shape, batch


def trace(model: nn.Module, entry: Entry, shape: tuple[int, ...], batch: int) -> TraceReport:
    """The trace of ``model`` on the entry's inputs (several for some) at ``batch``."""
    shapes, keywords = trace_inputs(entry, shape, batch)
    return convwidget.trace(model, shapes, inputs=keywords or None)


# ----------------------------------------------------------------------------- step by step


@pytest.mark.parametrize(("name", "variant"), cases("steps", _variants()))
def test_every_layer_call_matches_a_real_forward(name: str, variant: str) -> None:
    entry = ZOO[name]
    shape, batch = _where(entry, variant)
    real = leaf_calls(entry, shape, batch)
    report = trace(build_right(entry, shape), entry, shape, batch)
    assert report.error is None, str(report)
    leaves = {n for n, _, _ in real.calls}
    traced = [(r.name, r.input_shape, r.output_shape) for r in report.rows
              if r.is_module and r.name in leaves]
    assert traced == real.calls
    assert report.linear_in_features == real.linear_in
    assert report.output_shape == real.output_shape
    if entry.batch_ok:
        assert report.problems == [], str(report)


# ----------------------------------------------------------------------------- a wrong Linear

WRONG = [(n, d) for n, e in ZOO.items() if e.fc for d in (-1, 5)]


@pytest.mark.parametrize(("name", "delta"), cases("wrong", WRONG))
def test_a_wrong_first_linear_is_named_with_its_true_in_features(name: str, delta: int) -> None:
    entry = ZOO[name]
    need = true_fc(entry, entry.shape)  # from a real forward
    value = next(iter(need.values()))
    model = entry.build(value + delta)
    if entry.batch_ok:
        refused = pytest.raises(RuntimeError, match="shapes cannot be multiplied|mat1 and mat2|size mismatch")
        args, keywords = make_inputs(entry, entry.shape, 2)
        with refused, torch.no_grad():
            model.eval()(*args, **keywords)  # PyTorch refuses it
    report = trace(model, entry, entry.shape, 2)
    problems = report.problems
    if not entry.batch_ok:  # first the step that folds the batch into the features, then the Linear
        assert problems and "batch" in problems[0].message and "Linear" not in problems[0].fix, str(report)
        problems = problems[1:]
    # one problem per wrong Linear (a Linear called twice may say so twice)
    assert list(dict.fromkeys(p.step for p in problems)) == list(need), str(report)
    for p in problems:
        assert p.fix.startswith(f"nn.Linear({value}, "), p.fix
        assert str(value) in p.message
    assert {k: report.linear_in_features.get(k) for k in need} == need
    rows = [r for r in report.rows if r.is_module and r.name in need]
    assert rows and all(r.needed == {"in_features": need[r.name]} for r in rows)
    assert report.error is None


# ----------------------------------------------------------------------------- batch in the advice

LEAKS = [(n, b) for n, e in ZOO.items() if not e.batch_ok for b in (1, 2)]


@pytest.mark.parametrize(("name", "batch"), cases("batch", LEAKS))
def test_folding_the_batch_into_the_features_is_reported(name: str, batch: int) -> None:
    entry = ZOO[name]
    need = true_fc(entry, entry.shape)
    report = trace(build_right(entry, entry.shape), entry, entry.shape, batch)
    assert {k: report.linear_in_features.get(k) for k in need} == need  # per sample
    steps = [p for p in report.problems if "batch" in p.message]
    assert steps, str(report)
    assert any(f in steps[0].fix for f in ("flatten(1)", "nn.Flatten()", "x.size(0)")), steps[0].fix


# ----------------------------------------------------------------------------- the model untouched


class Raising(nn.Module):
    """Runs the whole model, then fails as a user's forward might."""

    def __init__(self, model: nn.Module, error: type[BaseException]) -> None:
        super().__init__()
        self.model = model
        self.error = error

    def forward(self, *args: torch.Tensor, **keywords: torch.Tensor) -> torch.Tensor:
        self.model(*args, **keywords)
        raise self.error("the user's forward failed after the model ran")


HOW = ("success", "warm", "refused", "raises", "interrupt")


@pytest.mark.parametrize(("name", "how"), cases("untouched", [(n, h) for n in ZOO for h in HOW]))
def test_the_model_is_left_exactly_as_it_was(name: str, how: str) -> None:
    entry = ZOO[name]
    model = build_right(entry, entry.shape)
    batch = 2 if entry.batch_ok else 1
    args, keywords = make_inputs(entry, entry.shape, batch)
    out = None
    if how == "warm":  # used once for real: caches hold real tensors, lazy layers are set
        with torch.no_grad():
            out = first_tensor(model.eval()(*args, **keywords))
    if how in ("raises", "interrupt"):
        model = Raising(model, RuntimeError if how == "raises" else KeyboardInterrupt)
    before = snapshot(model)
    report = None
    try:
        report = trace(model, entry, (*entry.shape, 1) if how == "refused" else entry.shape, batch)
    except KeyboardInterrupt:
        assert how == "interrupt"
    assert_unchanged(before, model)
    if report is not None:  # the extra dimension is refused, a raising forward stops the trace
        assert (report.error is None) == (how in ("success", "warm")), str(report)
    if how in ("success", "warm"):
        with torch.no_grad():  # and it still runs for real, with the same result
            again = first_tensor(model.eval()(*args, **keywords))
        assert again is not None
        if out is not None:
            assert torch.equal(out, again)


# ----------------------------------------------------------------------------- the check itself


def _mutations() -> dict[str, tuple[Callable[[Any], Any], str]]:
    """Ways a call could change a model, each with what ``assert_unchanged`` must say."""
    from torch.nn.modules import module as torch_module

    def global_hook(m: Any) -> None:
        handle = torch_module.register_module_forward_hook(lambda *a: None)
        _cleanups.append(handle.remove)

    def bump(m: Any) -> None:  # same values, the version counter moves
        with torch.no_grad():
            m.head.weight.add_(0)

    return {
        "param replaced": (lambda m: setattr(m.head, "weight", nn.Parameter(m.head.weight.detach())),
                           r"head: tensor _parameters\['weight'\]: replaced"),
        "param to meta": (lambda m: m.head.to("meta"), r"head: tensor _parameters\['weight'\]: replaced"),
        "values": (lambda m: m.head.weight.data.mul_(2),  # .data: no version bump
                   r"head: tensor _parameters\['weight'\]: values changed"),
        "data swapped": (lambda m: setattr(m.head.weight, "data", torch.zeros(10, 8)),
                         r"_parameters\['weight'\]: \(.*\) -> "),
        "version only": (bump, r"_parameters\['weight'\]: \(.*\) -> "),
        "requires_grad": (lambda m: m.head.weight.requires_grad_(False), r"_parameters\['weight'\]"),
        "buffer": (lambda m: m.anchors.fill_(0), r"tensor _buffers\['anchors'\]: \(.*\) -> "),
        "tensor in a list": (lambda m: m.grid.__setitem__(0, torch.zeros(1)), r"tensor grid\[0\]: replaced"),
        "dict entry added": (lambda m: m.cache.__setitem__("k", torch.zeros(1)), r"tensor cache\['k'\]: new"),
        "attribute added": (lambda m: setattr(m, "seen", 1), r"<model>: attribute seen: new"),
        "attribute replaced": (lambda m: setattr(m, "grid", list(m.grid)), r"attribute grid: <list"),
        "training flag": (lambda m: m.head.eval(), r"head: training: True -> False"),
        "module hook": (lambda m: m.head.register_forward_hook(lambda *a: None),
                        r"head: _forward_hooks: \[\] -> "),
        "submodule swapped": (lambda m: setattr(m, "head", nn.Linear(8, 10)), r"<model>: submodules"),
        "global hook": (global_hook, r"global _global_forward_hooks: \[\] -> "),
        "grad mode": (lambda m: torch.set_grad_enabled(False), r"global grad mode: True -> False"),
    }


_cleanups: list[Any] = []


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(8, 10)
        self.register_buffer("anchors", torch.ones(3))
        self.grid = [torch.ones(2)]
        self.cache: dict[str, torch.Tensor] = {}


@pytest.mark.parametrize("what", list(_mutations()))
def test_the_check_sees_every_kind_of_change(what: str) -> None:
    change, says = _mutations()[what]
    model = Toy()
    before = snapshot(model)
    assert_unchanged(before, model)  # nothing happened yet
    grad = torch.is_grad_enabled()
    try:
        change(model)
        with pytest.raises(AssertionError, match=says):
            assert_unchanged(before, model)
    finally:
        torch.set_grad_enabled(grad)
        while _cleanups:
            _cleanups.pop()()
