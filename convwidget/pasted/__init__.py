"""Pasted PyTorch text -> ``torch.nn.Sequential``, without ever running the text.

People paste models into forums in every shape: an ``nn.Sequential(...)``
fragment, lines of ``nn.X(...)`` with comments and trailing commas, a whole
class with ``__init__`` and ``forward`` (and helper classes such as U-Net's
``DoubleConv``), the printed ``repr`` of a model, a paste cut off mid-way,
prose, markdown fences and ``>>>`` prompts around it. :func:`parse`
turns all of these into an ``nn.Sequential`` whose layers live on the meta
device (no weight memory, so ``nn.Linear(100000, 100000)`` costs nothing),
ready for :func:`convwidget.trace`.

Safety: the text is read with :mod:`ast` only; nothing in it is evaluated,
executed or imported. The only code that runs is the constructor of a real
``torch.nn`` class, called with literal arguments (numbers, strings,
booleans, ``None``, tuples/lists of those, and bounded integer arithmetic).
Anything else is refused with a :class:`PasteError` (a ``ValueError``) that
names the offending piece and its line. Every step is bounded (``limits``), so
refusal is quick and reading is linear in the text's length.

The rooms, in the order a paste goes through them:

- ``limits``: the bounds and :class:`PasteError` (standard library only);
- ``clean``: text -> source: prose, fences and prompts stripped, a printed repr turned
  into code, brackets of a truncated paste closed, the parse budget (standard library);
- ``literals``: literal values from the AST, bounded arithmetic, ``if`` conditions;
- ``construct``: the one call of a ``torch.nn`` constructor, on the meta device;
- ``reader``: layer expressions (``nn.Conv2d(...)``, ``nn.Sequential``, ``OrderedDict``);
- ``forward``: a ``forward`` that is a simple chain -> the order of the layers;
- ``classes``: ``__init__`` and ``forward`` of pasted classes;
- ``toplevel``: the statements of the paste;
- ``assemble``: names, the missing ``nn.Flatten()``, lines, the ``nn.Sequential``;
- ``unknowns``: names the paste leaves open (``num_classes``, ``cfg.hidden``): answered with
  a stand-in where they cannot change the first ``nn.Linear``'s input, else the question;
- ``viewas``: :class:`ViewAs`, ``x.view(...)`` as a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Union

from torch import nn

from .assemble import build, insert_flatten, lines_of, name_items
from .classes import ModelReader
from .clean import (
    REINDENTED,
    ParseBudget,
    cut_points,
    from_repr,
    is_prose_fallback,
    is_repr,
    parse_variants,
    repair,
    strip_non_code,
)
from .limits import MAX_CHARS, MAX_NODES, PasteError
from .reader import Item
from .toplevel import read_module
from .unknowns import check_values, judge
from .viewas import ViewAs

__all__ = ["PasteError", "Pasted", "ViewAs", "load_model", "parse", "read"]


@dataclass(frozen=True)
class Pasted:
    """What :func:`read` makes of pasted text: the model and what parse assumed.

    Attributes
    ----------
    model : torch.nn.Sequential
        The layers on the meta device, named as in the code.
    notes : tuple of str
        Sentences saying what was assumed or changed (an inserted ``nn.Flatten()``,
        prose ignored, a truncated paste closed).
    lines : dict of str to int
        Qualified layer name -> line of the pasted text.

    >>> pasted = read("nn.Conv2d(3, 8, 3)\\nnn.ReLU()")
    >>> pasted.model
    Sequential(
      (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))
      (1): ReLU()
    )
    >>> pasted.lines
    {'0': 1, '1': 2}
    >>> pasted.notes
    ()
    """

    model: nn.Sequential
    notes: tuple[str, ...]
    lines: dict[str, int]


def read(text: str, values: dict[str, Any] | None = None) -> Pasted:
    """Read pasted PyTorch text without running it: the model, the notes, the lines.

    The same reading as :func:`parse`, which returns only the model; see there for
    what is accepted and refused.

    Parameters
    ----------
    text : str
        The pasted code.
    values : dict of str to value, optional
        Values for names the paste uses but never gives, as the paste writes them:
        ``{"num_classes": 10, "cfg.hidden": 32, "classes": ("cat", "dog")}``.

    Returns
    -------
    Pasted
        ``.model`` (an ``nn.Sequential`` on the meta device), ``.notes`` and ``.lines``.

    Raises
    ------
    PasteError
        (a ``ValueError``) for anything other than torch.nn layers built from literals.

    Examples
    --------
    >>> pasted = read("```\\nnn.Conv2d(3, 8, 3), nn.Linear(8, 2)\\n```")
    >>> [type(m).__name__ for m in pasted.model]
    ['Conv2d', 'Flatten', 'Linear']
    >>> pasted.notes[-1]  # doctest: +ELLIPSIS
    "inserted nn.Flatten() as 'flatten' before '1' ..."
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the pasted text as a str, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise PasteError(f"the text is {len(text)} characters long; parse reads at most "
                         f"{MAX_CHARS} (paste only the model's code)")
    given = check_values(values)
    notes: list[str] = []
    src = strip_non_code(text, notes)
    if is_repr(src):
        src = from_repr(src, notes)
    unknowns: list = []
    items = _first_reading(_candidates(src), notes, text, _Reading(ParseBudget(), given, unknowns))
    items = name_items(items, notes)
    insert_flatten(items, notes)
    model = build(items)
    judge(model, unknowns, notes)
    notes = list(dict.fromkeys(notes))  # nested pasted classes repeat theirs
    return Pasted(model=model, notes=tuple(notes), lines=lines_of(items))


@dataclass(frozen=True)
class _Reading:
    """What every candidate reading shares: the parse budget, the given values, and the
    layers built with a stand-in by the reading that succeeded."""

    budget: ParseBudget
    values: dict[str, Any]
    unknowns: list


# A reading to try: the source, the notes it earns, the line it was cut at (None: not cut).
_Candidate = tuple[str, list[str], Union[int, None]]  # noqa: UP007 - a runtime alias, 3.10


def _candidates(src: str) -> Iterator[_Candidate]:
    """Readings of the source to try in turn, each with the notes it earns: the source
    repaired, then, for a truncated paste, cut back to the last few complete lines (each
    made only when the readings before it failed: a cut is scanned again)."""
    repaired, repair_note = repair(src)
    yield repaired, [repair_note] if repair_note else [], None
    if not (repair_note and "truncated" in repair_note):
        return
    seen = {repaired}
    for point in cut_points(src):
        cut, _ = repair(src[:point])
        if cut not in seen:
            seen.add(cut)
            tail = " ".join(src[point:].split())
            shown = tail if len(tail) <= 60 else tail[:57] + "..."
            earned = [repair_note, f"ignored the incomplete end of the truncated paste: `{shown}`"]
            yield cut, earned, src.count("\n", 0, point) + 1


def _first_reading(candidates: Iterable[_Candidate], notes: list[str], text: str,
                   reading: _Reading) -> list[Item]:
    """The items of the first candidate that reads; the first refusal if none does. A cut
    below the line the reader refused would meet it again: only cuts above it are tried
    (a syntax error may come from the end, as an indentation that the closing brackets
    added at the end change, so every cut is tried for it)."""
    first_error: PasteError | SyntaxError | None = None
    for candidate, earned, cut_line in candidates:
        if (isinstance(first_error, PasteError) and first_error.line and cut_line is not None
                and first_error.line < cut_line):
            continue
        tried_notes = list(notes)
        try:
            # a whole paste closed at its end is not indented again: its cuts are read instead
            items = _parse_source(candidate, tried_notes, reading, not earned or cut_line is not None)
        except (PasteError, SyntaxError) as err:
            if isinstance(err, PasteError) and err.fatal:
                raise
            first_error = first_error or err
            continue
        notes[:] = tried_notes + earned
        return items
    if isinstance(first_error, SyntaxError):
        raise _not_python(first_error, text) from first_error
    assert first_error is not None
    raise first_error


def _not_python(err: SyntaxError, text: str) -> PasteError:
    line = err.lineno
    bad = text.split("\n")[line - 1].strip() if line and line <= text.count("\n") + 1 else ""
    return PasteError(f"not Python code that parse can read ({err.msg}): `{bad[:60]}`", line)


def parse(text: str, values: dict[str, Any] | None = None) -> nn.Sequential:
    """Build an ``nn.Sequential`` on the meta device from pasted PyTorch text.

    The text is read with :mod:`ast` and never run. Accepted: an
    ``nn.Sequential(...)`` fragment, lines of ``nn.X(...)`` (comments, trailing
    commas), a class with ``__init__`` (and ``forward``: when it is a simple
    chain, its order and its functional calls are used; classes defined in the
    paste and used as layers become nested Sequentials), the printed repr of a
    model, a truncated paste, prose/markdown fences/``>>>`` prompts around it; lost or mixed
    indentation (indented again from the ``class``/``def`` lines), ``.to(device)``/``.cuda()``/
    ``.float()``/``.double()`` and script lines around the model (dropped with a note), an
    unknown function of one tensor in ``forward`` (assumed to keep the shape, with a note).
    Without a ``forward`` (``__init__`` only, ``print(model)`` of a class), a note says the
    answer assumes the layers run once each, in the order written; a ``forward`` that joins
    two branches of layers (``out += self.shortcut(x)``, ``torch.cat``) is refused.

    Parameters
    ----------
    text : str
        The pasted code.
    values : dict of str to value, optional
        Values for names the paste uses but never gives (``{"num_classes": 10}``,
        ``{"cfg.hidden": 32}``). Without them, such a name is answered anyway where it
        cannot change what reaches the first ``nn.Linear`` (a note lists it), and is
        refused, named, where it can.

    Returns
    -------
    torch.nn.Sequential
        Layers named as in the code (``self.conv1`` -> ``'conv1'``), nested
        ``nn.Sequential`` kept nested. Parameters are on the meta device.
        Extra attributes: ``convwidget_notes`` (list of sentences saying what
        parse assumed or changed, such as an inserted ``nn.Flatten()``) and
        ``convwidget_lines`` (qualified name -> line of the pasted text).

    Raises
    ------
    PasteError
        (a ``ValueError``) for anything other than torch.nn layers built from
        literals; the message names the piece and its line.

    Examples
    --------
    >>> model = parse('''
    ... Here is my model:
    ... nn.Conv2d(3, 6, 5),   # conv
    ... nn.ReLU(),
    ... nn.MaxPool2d(2),
    ... nn.Linear(6 * 14 * 14, 10
    ... ''')
    >>> model
    Sequential(
      (0): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))
      (1): ReLU()
      (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
      (flatten): Flatten(start_dim=1, end_dim=-1)
      (3): Linear(in_features=1176, out_features=10, bias=True)
    )
    >>> model[0].weight.device
    device(type='meta')
    >>> print(model.convwidget_notes[-1])  # doctest: +ELLIPSIS
    inserted nn.Flatten() as 'flatten' before '3' (nn.Linear '3' comes after conv/pool layers...
    >>> parse("nn.Linear(open('/etc/passwd'), 3)")
    Traceback (most recent call last):
    ...
    convwidget.pasted.PasteError: line 1: refused `open('/etc/passwd')` (a call); ...
    """
    pasted = read(text, values)
    model = pasted.model
    # kept until the tracer reads `read(text)` instead
    model.convwidget_notes = list(pasted.notes)  # type: ignore[assignment]
    model.convwidget_lines = dict(pasted.lines)  # type: ignore[assignment]
    return model


def _parse_source(src: str, notes: list[str], reading: _Reading, indent_again: bool = True) -> list[Item]:
    tree, src = _syntax_tree(src, notes, reading.budget, indent_again)
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:  # fatal: cutting a truncated paste shorter saves a few lines only
        raise PasteError(f"the code has {count} syntax nodes; parse reads at most {MAX_NODES}",
                         fatal=True)
    reader = ModelReader(src, notes)
    reader.variables.update(reading.values)
    items = read_module(reader, tree)
    reading.unknowns[:] = reader.unknowns
    if not items:
        raise PasteError("found no torch.nn layers in the text; paste nn.Sequential(...), "
                         "lines of nn.X(...), or a class with __init__")
    return items


def _syntax_tree(src: str, notes: list[str], budget: ParseBudget,
                 indent_again: bool) -> tuple[ast.Module, str]:
    """ast.parse, dropping prose lines that ast points at, a bounded number of times."""
    for _ in range(50):
        lines = src.split("\n")

        def prose_at(err: SyntaxError, lines: list[str] = lines) -> bool:
            i = (err.lineno or 0) - 1
            return 0 <= i < len(lines) and is_prose_fallback(lines[i])

        try:
            tree, variant = parse_variants(src, budget, prose_at, indent_again)
            if variant.endswith(REINDENTED):
                notes.append("indented the code again from its class and def lines (its indentation "
                             "was lost or mixed)")
            return tree, variant
        except SyntaxError as err:
            if not prose_at(err):
                raise
            i = (err.lineno or 0) - 1
            lines[i] = ""
            src = "\n".join(lines)
            notes.append(f"ignored line {i + 1} (not code)")
    raise PasteError("too many lines that are not code; paste only the model's code")


def __getattr__(name: str) -> Any:
    """``load_model`` moved to :mod:`convwidget.loading`; re-exported (lazily: that module
    imports this package) until every caller imports it from there."""
    if name == "load_model":
        from ..loading import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
