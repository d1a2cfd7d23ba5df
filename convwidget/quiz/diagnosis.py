"""Diagnose a learner's predicted output size: right, a known misconception, or neither.

Standard library only. A correct answer is never diagnosed as a misconception: a wrong
formula that happens to give the right value for this setting is simply not mentioned.
"""

from __future__ import annotations

import html
import math
import operator
from dataclasses import dataclass
from typing import Any

from .mistakes import MISCONCEPTIONS
from .question import Question

__all__ = ["Diagnosis", "Match", "diagnose", "read_answer"]


@dataclass(frozen=True)
class Match:
    """A misconception whose wrong formula gives the learner's answer, with this question's numbers."""

    name: str
    title: str
    sentence: str
    fix: str
    value: int


@dataclass(frozen=True)
class Diagnosis:
    """What a predicted output size tells about the learner's formula.

    ``answer`` is the number read from the learner's input (None if it was not a whole
    number); ``matches`` the misconceptions that give exactly that number; ``message`` the
    feedback as plain text (:attr:`html` for a widget).

    >>> d = diagnose(Question("padding_stride", "conv", 5, kernel_size=2, stride=2), 3)
    >>> d.right, d.misconceptions
    (2, ('minus_one_left_out', 'ceil_instead_of_floor', 'same_shortcut'))
    >>> d.html.count("<li>"), d.html.startswith("<p>Not quite: nn.Conv1d(1, 1, kernel_size=2, stride=2)")
    (3, True)
    """

    question: Question
    correct: bool
    right: int
    answer: int | None
    matches: tuple[Match, ...]
    message: str

    @property
    def misconceptions(self) -> tuple[str, ...]:
        """The names of the matching misconceptions."""
        return tuple(m.name for m in self.matches)

    @property
    def html(self) -> str:
        """The feedback as HTML: one paragraph, then one item per matching misconception."""
        if not self.matches:
            return f"<p>{html.escape(self.message)}</p>"
        head = html.escape(self.message.split("\n")[0])
        items = "".join(
            f"<li><b>{html.escape(m.title)}</b>: {html.escape(m.sentence)} "
            f"<i>Fix: {html.escape(m.fix)}</i></li>" for m in self.matches)
        return f"<p>{head}</p><ul>{items}</ul>"


_NOT_A_NUMBER = "{} is not a number: type the output size as a whole number of cells, e.g. 12"
_TOO_BIG = 10**6  # no question here has an output anywhere near this


def _shown(answer: Any) -> str:
    """A short, safe repr of whatever the learner gave."""
    try:
        text = repr(answer)
    except Exception:  # an int past Python's 4300 digits, a broken __repr__: not the learner's fault
        text = "a huge number" if isinstance(answer, int) else f"a {type(answer).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


def _read_text(answer: str) -> int | str:
    text = answer.strip().replace("−", "-")  # a typographic minus, as in the formulas shown
    try:
        return read_answer(int(text))
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return _NOT_A_NUMBER.format(_shown(answer))
    if not math.isfinite(number) and "n" not in text.lower():  # '1e400' or 5000 digits, not 'inf'
        return _too_big(_shown(answer))
    return read_answer(number)


def _too_big(shown: str) -> str:
    return f"{shown} is far from any output size here: type a whole number of cells, e.g. 12"


def read_answer(answer: Any) -> int | str:
    """The answer as an int, or a sentence saying why it is not a whole number.

    Strings are read as a text box gives them (spaces around, ``'12.0'``); ``True`` is not
    a number here.

    >>> read_answer(" 12 "), read_answer(12.0)
    (12, 12)
    >>> read_answer("twelve")
    "'twelve' is not a number: type the output size as a whole number of cells, e.g. 12"
    >>> read_answer(2.5)
    'an output size is a whole number of cells, not 2.5'
    """
    if isinstance(answer, str):
        return _read_text(answer)
    if isinstance(answer, float):
        if math.isfinite(answer) and answer == int(answer):
            return read_answer(int(answer))
        return f"an output size is a whole number of cells, not {_shown(answer)}"
    try:
        value = None if isinstance(answer, bool) else operator.index(answer)
    except TypeError:
        value = None
    if value is None:
        kind = "" if answer is None or isinstance(answer, (bool, int)) else f" ({type(answer).__name__})"
        return _NOT_A_NUMBER.format(_shown(answer) + kind)
    if abs(value) >= _TOO_BIG:
        return _too_big(_shown(answer))
    return value


def _matches(question: Question, value: int, right: int) -> tuple[Match, ...]:
    found = []
    for m in MISCONCEPTIONS:
        wrong = m.value(question)
        if wrong is not None and wrong != right and wrong == value:
            found.append(Match(m.name, m.title, m.sentence(question), m.fix_term(question), wrong))
    return tuple(found)


def _wrong_message(question: Question, value: int, matches: tuple[Match, ...]) -> str:
    right = question.answer
    head = f"Not quite: {question.layer} on {question.size} cells gives {right}, not {value}."
    if value < 0:
        head += " A size is never negative: an output has at least 1 cell."
    elif value == 0:
        head += " An output has at least 1 cell: PyTorch refuses a setting that would leave none."
    if not matches:
        return (f"{head} {value} matches none of the usual mistakes; PyTorch's formula with your "
                f"numbers: {question.derivation}.")
    if len(matches) == 1:
        m = matches[0]
        return f"{head} {value} is what “{m.title}” gives: {m.sentence} Fix: {m.fix}."
    lines = [f"{head} {value} is what {len(matches)} usual mistakes give:"]
    lines += [f"- “{m.title}”: {m.sentence} Fix: {m.fix}." for m in matches]
    return "\n".join(lines)


def diagnose(question: Question, answer: Any) -> Diagnosis:
    """Compare a predicted output size with the right one and with the usual wrong formulas.

    Never raises for a bad answer: a non-number, a fraction or a negative gets a sentence.

    >>> q = Question("dilation", "conv", size=20, kernel_size=3, stride=1, dilation=2)
    >>> diagnose(q, 16).message
    'Right: 16 cells, ⌊(20 + 2·0 − 2·(3 − 1) − 1) / 1⌋ + 1 = 16.'
    >>> d = diagnose(q, "18")
    >>> d.correct, d.misconceptions
    (False, ('dilation_ignored',))
    >>> print(d.message)
    Not quite: nn.Conv1d(1, 1, kernel_size=3, dilation=2) on 20 cells gives 16, not 18. 18 is what
        “dilation ignored” gives: dilation=2 spreads the 3 taps 2 cells apart, over d·(k − 1) + 1 = 5
        cells, not 3: ⌊(20 + 2·0 − 3) / 1⌋ + 1 = 18, but ⌊(20 + 2·0 − 2·(3 − 1) − 1) / 1⌋ + 1 = 16.
        Fix: d·(k − 1) + 1 = 5 in place of k = 3.
    >>> print(diagnose(q, 7).message)
    Not quite: nn.Conv1d(1, 1, kernel_size=3, dilation=2) on 20 cells gives 16, not 7. 7 matches none of
        the usual mistakes; PyTorch's formula with your numbers: ⌊(20 + 2·0 − 2·(3 − 1) − 1) / 1⌋ + 1 = 16.
    >>> diagnose(q, "sixteen").message
    "'sixteen' is not a number: type the output size as a whole number of cells, e.g. 12"
    """
    right = question.answer
    value = read_answer(answer)
    if isinstance(value, str):
        return Diagnosis(question, False, right, None, (), value)
    if value == right:
        return Diagnosis(question, True, right, value, (), f"Right: {right} cells, {question.derivation}.")
    matches = _matches(question, value, right)
    return Diagnosis(question, False, right, value, matches, _wrong_message(question, value, matches))
