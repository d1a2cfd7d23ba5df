"""A corpus of pastes as people paste them, judged by the models they mean (issue 9).

Each text in ``tests/pastes/`` is model code written the way it arrives in forum questions:
whole classes, lost or mixed indentation, ``.to(device)``/``.cuda()``/``.float()``, unknown
names as arguments, cut off mid-line, prose, fences, ``>>>`` and ``In [3]:`` prompts, a
``forward`` nested by mistake, script lines, helpers defined elsewhere, ``__init__`` only,
``print(model)`` output. ``tests/pastes/reference.py`` builds the model each paste means with
torch.nn, and a real forward at the paste's input shape gives the truth: the per-sample feature
count the first ``nn.Linear`` receives, and whether the pasted ``in_features`` is right.

Two tests per paste:

* the contract: ``trace(text, shape)`` gives the true answer (``linear_in_features`` and the
  flatten row per sample, an ``nn.Linear`` fix exactly when the paste is wrong, and where the
  paste folds the batch into the features a problem naming the batch with a per-sample flatten
  as its fix), or refuses with a ``ValueError`` quoting the offending text, or hedges its fix
  (a note saying it assumes the layers run once each in the order written) — never a confident
  wrong answer;
* the goal: what issue 9 asks for this paste (the answer; for a paste without a forward, the
  answer or a hedged one; for a name that decides the answer, a refusal naming it; for a forward
  issue 9 does not ask the reader to follow, such as a residual sum, the answer or a refusal). Where
  today's reader falls short, the case is a strict xfail naming the gap, so it flips when fixed.

Besides: ``parse(text, values={...})`` must answer what unknown names leave open (strict xfails
until it exists), and the pastes that run as plain Python are run for real to check that their
references in ``tests/pastes/reference.py`` mean what they say.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
import torch
from pastes import reference as ref
from torch import nn

import convwidget
from convwidget.tracer import Problem

PASTES = Path(__file__).parent / "pastes"

ANSWER = "answer"  # the true in_features, and the fix exactly when the paste is wrong
ANSWER_OR_HEDGE = "answer or hedge"  # no forward in the paste: the order of calls is a guess
QUESTION = "question"  # an unknown name decides the answer: refuse, naming it
ANSWER_OR_REFUSAL = "answer or refusal"  # a forward issue 9 does not ask the reader to follow


@dataclass(frozen=True)
class Case:
    """One paste: its file (``name`` before any ``@``), the input shape it is asked about, and
    what issue 9 expects; ``reference.<file stem>()`` builds the model it means."""

    name: str
    shape: tuple[int, ...]
    styles: str
    expect: str = ANSWER
    asks: str = ""  # for QUESTION: the unknown name the refusal must name
    values: tuple[tuple[str, Any], ...] = ()  # the unknown names' values, for parse(values=)
    gap: str = ""  # today's reader falls short of the goal: strict xfail with this reason
    wrong: str = ""  # how today's reader answers confidently and wrongly: the contract fails
    unquoted: bool = False  # today's reader refuses without quoting the text: the contract fails
    merges_batch: bool = False  # the paste folds the batch into the features: say so, fix it

    @property
    def stem(self) -> str:
        return self.name.split("@")[0]

    @property
    def text(self) -> str:
        return (PASTES / f"{self.stem}.txt").read_text(encoding="utf-8")

    def build(self) -> nn.Module:
        return getattr(ref, self.stem)()


UNQUOTED_REASON = "issue 9: every refusal quotes the offending line and says what to do"

CIFAR = (2, 3, 32, 32)
MNIST = (2, 1, 28, 28)
AUDIO = (2, 1, 16000)

CASES = [
    # whole classes, read as written
    Case("lenet_class", CIFAR, "class; prose and fence; pool reused; torch.flatten(x, 1)"),
    Case("lenet_class_64px", (4, 3, 64, 64), "class; prose; view(x.size(0), -1); wrong"),
    Case("lenet_view_minus_one", CIFAR, "class; view(-1, 16*5*5); script line"),
    Case("mnist_view_320", MNIST, "class; F.max_pool2d; view(-1, 320)"),
    Case("mnist_view_320@32", (2, 1, 32, 32), "view(-1, 320) folding the batch; wrong",
         merges_batch=True),
    Case("num_classes_default", MNIST, "class(num_classes=10); reshape(out.size(0), -1)"),
    Case("keras_habit", CIFAR, "class; prose; nn.Flatten attribute; wrong"),
    Case("mel_1d_class", (2, 40, 101), "1-D mel net; constructor defaults"),
    Case("volume_3d", (2, 1, 64, 64, 64), "3-D net; prose; wrong"),
    Case("alexnet_like", (1, 3, 224, 224), "AlexNet; view(x.size(0), 256*6*6)"),
    Case("alexnet_adaptive", (1, 3, 128, 128), "AlexNet body without class line; adaptive pool"),
    Case("vgg_blocks", (1, 3, 64, 64), "VGG blocks; prose; bare fence; wrong"),
    Case("cifar_forum", (2, 3, 64, 64), "the forum CIFAR net; prose; fence; wrong"),
    # the batch folded into the features
    Case("flatten_batch_default", (4, 3, 32, 32), "torch.flatten(x): start_dim=0 at batch 4",
         merges_batch=True),
    Case("flatten_batch_default@1", (1, 3, 32, 32), "torch.flatten(x) at batch 1",
         merges_batch=True),
    Case("reshape_minus_one", MNIST, "x.reshape(-1) at batch 2", merges_batch=True),
    Case("reshape_minus_one@1", (1, 1, 28, 28), "x.reshape(-1) at batch 1", merges_batch=True),
    # lost or mixed indentation
    Case("lenet_flush_left", MNIST, "everything flush left; prose"),
    Case("half_flush_left", CIFAR, "defs and forward flush left, __init__ indented"),
    Case("mnist_mixed_indent", MNIST, "tabs and spaces mixed; uneven indents"),
    # device and dtype calls
    Case("sequential_to_device", MNIST, "nn.Sequential(...).to(device)"),
    Case("sequential_cuda", CIFAR, "nn.Sequential(...).cuda(); wrong"),
    Case("sequential_float", (8, 12, 140), ">>> prompts; .float(); traceback; 1-D; wrong"),
    Case("sequential_double", (2, 1, 32, 32), "nn.Sequential(...).double()"),
    Case("class_to_device_script", MNIST, "class; Model().to(device); optimizer lines"),
    # unknown names as arguments
    Case("len_classes", CIFAR, "len(classes) as out_features", values=(("classes", ref.CLASSES),)),
    Case("num_classes_undefined", CIFAR, "num_classes never defined, after the first Linear",
         values=(("num_classes", 5),)),
    Case("cfg_out_features", CIFAR, "cfg.num_classes, cfg.dropout: cannot change the answer",
         values=(("cfg.num_classes", ref.CFG.num_classes), ("cfg.dropout", ref.CFG.dropout))),
    Case("cfg_hidden_channels", CIFAR, "cfg.hidden decides the channels before the Linear",
         expect=QUESTION, asks="cfg.hidden", values=(("cfg.hidden", ref.CFG.hidden),)),
    # cut off
    Case("cut_mid_sequential", MNIST, "nn.Sequential cut mid-line"),
    Case("cut_in_forward", AUDIO, "1-D audio class; forward cut mid-line"),
    Case("cut_mid_line", CIFAR, "class cut mid-line before its forward (pool reused)",
         expect=ANSWER_OR_HEDGE),
    # prompts and console output
    Case("repl_prompts", (2, 3, 224, 224), ">>> and ... prompts; output lines"),
    Case("jupyter_prompts", (1, 3, 48, 48), "In [3]: / ...: prompts; traceback; wrong"),
    # forward in the wrong place, script around it, helpers from elsewhere
    Case("nested_forward", MNIST, "forward nested inside __init__"),
    Case("script_lines", CIFAR, "model = CNN(); print; .cuda(); training loop"),
    Case("unknown_helper", CIFAR, "swish() defined in the paste, called in forward"),
    Case("unknown_activation_elsewhere", MNIST, "mish() defined elsewhere, called in forward"),
    Case("residual_block", CIFAR, "ResNet blocks; out += self.shortcut(x); F.avg_pool2d",
         expect=ANSWER_OR_REFUSAL),
    Case("two_branch_cat", CIFAR, "two branches; torch.cat; prose", expect=ANSWER_OR_REFUSAL),
    # no forward
    Case("init_only_pool_reused", CIFAR, "__init__ only, indented; pool reused",
         expect=ANSWER_OR_HEDGE),
    Case("init_only_in_order", (2, 1, 32, 32), "__init__ only; layers in forward order",
         expect=ANSWER_OR_HEDGE),
    Case("print_model_pool_reused", CIFAR, "print(model) of a class; pool reused",
         expect=ANSWER_OR_HEDGE),
    Case("init_only_wrong", (16, 3, 120, 120), "__init__ body only, prose; wrong",
         expect=ANSWER_OR_HEDGE),
    Case("print_model_wrong", (2, 1, 32, 32), ">>> print(model) of a class; wrong",
         expect=ANSWER_OR_HEDGE),
    Case("print_model_sequential", MNIST, "print(model) of an nn.Sequential"),
    # plain layer lines
    Case("layer_lines", CIFAR, "prose; lines of nn.X(...) with comments"),
    Case("audio_1d_sequential", AUDIO, "self.net = nn.Sequential(...) alone; 1-D audio; wrong"),
]


# --------------------------------------------------------------------------- the truth


@dataclass(frozen=True)
class Truth:
    """What a real forward of the model a paste means says about its first nn.Linear."""

    in_features: int  # the per-sample feature count the first Linear receives
    pasted: int  # the in_features the paste wrote

    @property
    def right(self) -> bool:
        return self.in_features == self.pasted


class _Reached(Exception):
    """Stops the forward at the first Linear: a wrong one would fail there anyway."""


def first_linear_input(model: nn.Module, shape: tuple[int, ...]) -> Truth:
    """Run ``model`` forward on a random input of ``shape`` up to its first nn.Linear."""
    torch.manual_seed(0)
    model.eval()
    seen: list[tuple[nn.Linear, torch.Tensor]] = []

    def stop(module: nn.Linear, args: tuple) -> None:
        seen.append((module, args[0]))
        raise _Reached

    handles = [m.register_forward_pre_hook(stop) for m in model.modules() if isinstance(m, nn.Linear)]
    dtype = next(model.parameters()).dtype
    try:
        with torch.no_grad(), pytest.raises(_Reached):
            model(torch.randn(shape, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
    linear, x = seen[0]
    assert x.dim() == 2 and x.shape[0] == shape[0], f"the first Linear receives {x.shape}"
    return Truth(in_features=x[0].numel(), pasted=linear.in_features)


@functools.cache
def truth(case: Case) -> Truth:
    return first_linear_input(case.build(), case.shape)


# --------------------------------------------------------------------------- what trace says

RIGHT, REFUSED, HEDGED = "right", "refused", "hedged"
UNQUOTED, NO_ANSWER, WRONG = "refused without quoting the text", "no answer", "confident wrong"
LINEAR_FIX = re.compile(r"nn\.Linear\((?:in_features=)?(\d+)")
QUOTED = re.compile(r"`([^`]+)`")
BATCH_FIX = re.compile(r"flatten\(1\)|nn\.Flatten\(\)|start_dim=1|\.size\(0\), -1|\.shape\[0\], -1")


def squash(text: str) -> str:
    return " ".join(text.split())


PROMPT = re.compile(r"(?m)^(>>> ?|\.\.\. ?|In \[\d*\]: ?| +\.\.\.: ?)")


def quotes_the_text(message: str, text: str) -> bool:
    """The message quotes (between backticks, maybe shortened with ...) a piece of the paste,
    whose ``>>>``/``...``/``In [3]:`` prompts the quote may leave out."""
    pasted = squash(PROMPT.sub("", text))
    for piece in QUOTED.findall(message):
        piece = squash(PROMPT.sub("", piece)).removesuffix("...").strip()
        if len(piece) >= 3 and piece in pasted:
            return True
    return False


def hedged(said: str) -> bool:
    """A line (a note, or a problem's sentence) saying the fix assumes the layers run once each
    in the order written."""
    return any(re.search(r"assum", line) and re.search(r"\bonce\b", line) for line in said.splitlines())


def names_the_batch(problem: Problem) -> bool:
    """A sentence naming the batch, and a fix that flattens per sample."""
    return "batch" in problem.message and bool(BATCH_FIX.search(problem.fix))


def verdict(case: Case, source: str | nn.Module | None = None) -> tuple[str, str]:
    """(outcome, what trace said) for ``trace(case.text, case.shape)`` (or ``source``)."""
    text, want = case.text, truth(case)
    try:
        report = convwidget.trace(text if source is None else source, case.shape)
    except ValueError as err:
        return (REFUSED if quotes_the_text(str(err), text) else UNQUOTED), str(err)
    said = str(report)
    first = next((r for r in report.rows if r.is_module and r.op in ("Linear", "LazyLinear")), None)
    fixes = {int(n) for p in report.problems for n in LINEAR_FIX.findall(f"{p.fix} {p.alternative}")}
    claims = set(fixes)
    if first is not None and first.name in report.linear_in_features:
        claims.add(report.linear_in_features[first.name])
    if not claims:
        return NO_ANSWER, said
    flat = report.flatten_row
    batch_kept = flat is not None and flat.output_shape is not None and len(flat.output_shape) > 1 \
        and flat.output_shape[0] == case.shape[0]
    ok = (claims == {want.in_features}
          and (not fixes if want.right else want.in_features in fixes)
          and (not batch_kept or math.prod(flat.output_shape[1:]) == want.in_features)
          and (not case.merges_batch or any(names_the_batch(p) for p in report.problems)))
    if ok:
        return RIGHT, said
    return (HEDGED if hedged(said) else WRONG), said


def goal_met(case: Case, outcome: str, said: str) -> bool:
    if case.expect == QUESTION:
        return outcome == REFUSED and case.asks in said
    if case.expect == ANSWER:
        return outcome == RIGHT
    if case.expect == ANSWER_OR_REFUSAL:
        return outcome in (RIGHT, REFUSED)
    # no forward in the paste: a right fix is hedged too, since it rests on the same guess
    return outcome == HEDGED or (outcome == RIGHT and (truth(case).right or hedged(said)))


def params(kind: str) -> list:
    out = []
    for case in CASES:
        wrong = f"issue 9: confident wrong answer ({case.wrong})" if case.wrong else ""
        wrong = wrong or (UNQUOTED_REASON if case.unquoted else "")
        reason = (case.gap or wrong) if kind == "goal" else wrong
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


# --------------------------------------------------------------------------- the tests


def test_the_corpus_covers_every_paste_and_both_kinds_of_linear() -> None:
    files = {p.stem for p in PASTES.glob("*.txt")}
    assert files == {c.stem for c in CASES}
    assert len(files) >= 30
    rights = [truth(c).right for c in CASES]
    assert 10 <= sum(rights) <= len(rights) - 10  # right and wrong first Linears both common


@pytest.mark.parametrize("case", params("contract"))
def test_trace_never_answers_a_paste_confidently_wrong(case: Case) -> None:
    outcome, said = verdict(case)
    assert outcome in (RIGHT, REFUSED, HEDGED), (
        f"{case.name} ({case.styles}): {outcome}; truth {truth(case)}\n{said}")


@pytest.mark.parametrize("case", params("goal"))
def test_trace_reads_the_paste_as_issue_9_asks(case: Case) -> None:
    outcome, said = verdict(case)
    assert goal_met(case, outcome, said), (
        f"{case.name} ({case.styles}): {outcome}, expected {case.expect}; truth {truth(case)}\n{said}")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES if c.values])
def test_values_for_the_unknown_names_give_the_answer(case: Case) -> None:
    model = convwidget.parse(case.text, values=dict(case.values))
    outcome, said = verdict(case, model)
    assert outcome == RIGHT, f"{case.name}: {outcome}; truth {truth(case)}\n{said}"


# Pastes that run as Python once the fence around them is dropped (our own text: running it is
# safe here), and what to build from them. A check of the references, not of convwidget: the
# paste run for real reaches its first Linear exactly as the model written out in
# pastes/reference.py does.
RUNNABLE = {
    "lenet_class": "Net()", "lenet_view_minus_one": "net", "mnist_view_320": "Net()",
    "num_classes_default": "MyNet()", "alexnet_like": "AlexNet()",
    "cifar_forum": "CNN()", "len_classes": "SimpleCNN()",
    "unknown_helper": "SwishNet()", "sequential_to_device": "model", "sequential_double": "model",
}


def run_paste(text: str, build: str) -> nn.Module:
    code = text.split("```")[1].split("\n", 1)[1] if "```" in text else text
    namespace: dict[str, Any] = {"torch": torch, "nn": nn, "F": torch.nn.functional, "optim": torch.optim}
    exec(compile(code, "<trusted test text>", "exec"), namespace)  # noqa: S102 - our own text
    name = build.removesuffix("()")
    return namespace[name]() if build.endswith("()") else namespace[name]


@pytest.mark.parametrize("stem", sorted(RUNNABLE))
def test_a_runnable_paste_run_for_real_agrees_with_its_reference(stem: str) -> None:
    case = next(c for c in CASES if c.name == stem)
    assert first_linear_input(run_paste(case.text, RUNNABLE[stem]), case.shape) == truth(case)


# --------------------------------------------------------------------------- equivalent pastes
# The same code pasted another way must get the same verdict, right or not: a table of
# equivalent cases over the pastes that are bare code (no prose, prompts or fence of their own,
# and an indentation that means what it says).


def _prompted(first: str, rest: str) -> Callable[[str], str]:
    def add(text: str) -> str:
        lines = text.rstrip("\n").split("\n")
        return "\n".join([first + lines[0]] + [rest + line for line in lines[1:]]) + "\n"

    return add


RESTYLED: dict[str, Callable[[str], str]] = {
    "prose and fence": lambda s: f"Here is my model:\n\n```python\n{s.rstrip()}\n```\n\nAny idea why?\n",
    "repl": _prompted(">>> ", "... "),
    "jupyter": _prompted("In [7]: ", "   ...: "),
    "crlf and trailing spaces": lambda s: s.replace("\n", "  \r\n"),
    "tabs": lambda s: re.sub(r"(?m)^(?:    )+", lambda m: "\t" * (len(m.group(0)) // 4), s),
    "indented": lambda s: "".join(f"    {line}" if line.strip() else line for line in s.splitlines(True)),
}
BARE = ["lenet_view_minus_one", "mnist_view_320@32", "num_classes_default", "reshape_minus_one",
        "sequential_to_device", "sequential_double", "len_classes", "cfg_hidden_channels",
        "cut_mid_sequential", "cut_mid_line", "nested_forward", "script_lines", "unknown_helper",
        "print_model_sequential"]


@dataclass(frozen=True)
class Restyled(Case):
    """A case whose text is another case's, pasted in another style."""

    style: str = ""

    @property
    def text(self) -> str:
        return RESTYLED[self.style](super().text)


@pytest.mark.parametrize("name", BARE)
@pytest.mark.parametrize("style", list(RESTYLED))
def test_the_same_code_pasted_another_way_gets_the_same_verdict(name: str, style: str) -> None:
    case = next(c for c in CASES if c.name == name)
    restyled = Restyled(**{f.name: getattr(case, f.name) for f in fields(case)}, style=style)
    assert verdict(restyled)[0] == outcome_of(case)


@functools.cache
def outcome_of(case: Case) -> str:
    return verdict(case)[0]
