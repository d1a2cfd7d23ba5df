"""Predict-then-reveal cells for the tutorials: a prompt, an answer box, a Check button, the
diagnosis of a wrong answer, then the reveal (the right answer and PyTorch's formula worked out).

ipywidgets is imported here and only here in the quiz: ``import convwidget.quiz`` stays free of
it (this module is imported by name, ``from convwidget.quiz.widget import predict``). The
``in_features`` exercise asks :func:`convwidget.trace` (torch) for its answer, and imports it
when such an exercise is made.

Every callback is guarded: whatever the learner types, the feedback is a sentence, never a
traceback. Widgets carry ``cw-*`` CSS classes (for tests and styling) and colours come from
JupyterLab's CSS variables, so an exercise reads in the light and the dark theme.

>>> ex = predict(size=11, kernel_size=3, stride=2, padding=1)
>>> ex.answer_box.value = "11"
>>> ex.check_button.click()
>>> print(ex.feedback_text)
Not quite: nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1) on 11 cells gives 6, not 11. 11 is what
    “stride ignored” gives: ...
>>> ex.answer_box.value = "6"; ex.check_button.click(); ex.revealed
True
"""

from __future__ import annotations

import html
import io
import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from .diagnosis import diagnose
from .question import LEVELS, Question
from .session import QuizSession

__all__ = ["Exercise", "Feedback", "InFeaturesExercise", "QuestionExercise", "predict",
           "predict_in_features", "predict_number", "question_from_settings", "read_number"]

# JupyterLab's theme variables, with fallbacks for a page without them (nbviewer, Voila themes)
_TEXT = "var(--jp-ui-font-color1, #1f1f1f)"
_PANEL = "var(--jp-layout-color2, #eeeeee)"
_RIGHT = "var(--jp-success-color1, #388e3c)"
_WRONG = "var(--jp-warn-color1, #f57c00)"
_INFO = "var(--jp-brand-color1, #1976d2)"


@dataclass(frozen=True)
class Feedback:
    """What a check says: ``correct`` (None when the entry was not an answer at all) and a text."""

    correct: bool | None
    text: str
    html: str


def _box(body: str, colour: str) -> str:
    """A themed panel: the text colour and background follow JupyterLab's theme."""
    return (f'<div style="color: {_TEXT}; background: {_PANEL}; border-left: 4px solid {colour}; '
            f'padding: 6px 10px; margin: 4px 0; line-height: 1.5">{body}</div>')


def _button(description: str, style: str = "") -> widgets.Button:
    return widgets.Button(description=description, button_style=style, layout=widgets.Layout(width="auto"))


def _text_to_html(text: str) -> str:
    lines = [html.escape(line) for line in text.split("\n")]
    return "<br>".join(lines)


class Exercise(widgets.VBox):
    """A predict-then-reveal cell: ``check(text) -> Feedback`` decides, ``solution`` is revealed.

    The solution shows after a right answer or a click on "Show the answer"; a wrong answer
    gets its diagnosis and the learner may try again.

    >>> ex = Exercise("2 + 2?", lambda t: Feedback(t.strip() == "4", "ok" if t.strip() == "4" else "no",
    ...               ""), "<b>4</b>")
    >>> ex.answer_box.value = "5"; ex.check_button.click(); (ex.feedback_text, ex.revealed)
    ('no', False)
    >>> ex.reveal_button.click(); ex.revealed
    True
    """

    def __init__(self, prompt_html: str, check: Callable[[str], Feedback], solution_html: str, *,
                 title: str = "Predict, then check", placeholder: str = "your answer") -> None:
        self._check = check
        self._solution_html = solution_html
        self.last: Feedback | None = None
        self.title = title
        self.prompt = widgets.HTML(self._prompt_html(prompt_html))
        self.answer_box = widgets.Text(placeholder=placeholder, continuous_update=False,
                                       layout=widgets.Layout(width="12em"))
        self.check_button = _button("Check", style="primary")
        self.reveal_button = _button("Show the answer")
        self.feedback = widgets.HTML("")
        self.solution = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.buttons = widgets.HBox([self.answer_box, self.check_button, self.reveal_button])
        for widget, name in ((self.prompt, "prompt"), (self.answer_box, "answer"),
                             (self.check_button, "check"), (self.reveal_button, "reveal"),
                             (self.feedback, "feedback"), (self.solution, "solution"), (self.buttons, "row")):
            widget.add_class(f"cw-exercise-{name}")
        super().__init__([self.prompt, self.buttons, self.feedback, self.solution])
        self.add_class("cw-exercise")
        self.check_button.on_click(lambda _: self._guarded(self._on_check))
        self.reveal_button.on_click(lambda _: self._guarded(self.reveal))
        self.answer_box.observe(lambda _: self._guarded(self._on_check), names="value")

    # ------------------------------------------------------------------ state a test reads
    @property
    def feedback_text(self) -> str:
        """The last feedback as plain text ('' before the first check)."""
        return self.last.text if self.last is not None else ""

    @property
    def revealed(self) -> bool:
        return self.solution.layout.display != "none"

    # ------------------------------------------------------------------ callbacks
    def _prompt_html(self, prompt_html: str) -> str:
        return (f'<div style="color: {_TEXT}; line-height: 1.5"><b style="color: {_INFO}">'
                f"{html.escape(self.title)}.</b> {prompt_html}</div>")

    def _guarded(self, action: Callable[[], Any]) -> None:
        """Run a callback; any exception becomes a sentence in the feedback, never a traceback."""
        try:
            action()
        except Exception as err:  # a widget callback must not break the cell: say what happened
            text = (f"This answer could not be checked ({type(err).__name__}: {err}). "
                    "The answer is shown below.")
            self._show(Feedback(None, text, _box(html.escape(text), _WRONG)))
            self.reveal()

    def _on_check(self) -> None:
        text = self.answer_box.value
        if not text.strip():
            return  # an emptied box is no answer; nothing to say
        feedback = self._check(text)
        self._show(feedback)
        if feedback.correct:
            self.reveal()

    def _show(self, feedback: Feedback) -> None:
        self.last = feedback
        self.feedback.value = feedback.html
        for name in ("cw-feedback-right", "cw-feedback-wrong"):
            self.feedback.remove_class(name)
        if feedback.correct is not None:
            self.feedback.add_class("cw-feedback-right" if feedback.correct else "cw-feedback-wrong")

    def reveal(self) -> None:
        """Show the right answer and how it is worked out."""
        self.solution.value = _box(self._solution_html, _INFO)
        self.solution.layout.display = None

    def hide(self) -> None:
        self.solution.layout.display = "none"

    # ------------------------------------------------------------------ a static picture
    def prompt_text(self) -> str:
        """The prompt as plain text (for the static picture)."""
        return re.sub(r"<[^>]+>", "", html.unescape(self.prompt.value))

    def to_png(self, width: float = 8.0) -> bytes:
        """A picture of the exercise as it first appears (prompt, empty box, buttons), for pages
        that show a notebook without running it (GitHub, nbviewer). Needs Matplotlib."""
        return _card_png(self.prompt_text(), width)


def _card_png(prompt: str, width: float) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    lines = textwrap.wrap(prompt, width=int(width * 11.5))
    height = 0.55 + 0.26 * len(lines) + 0.6
    fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((0.05, 0.05), width - 0.1, height - 0.1,
                                boxstyle="round,pad=0,rounding_size=0.05",
                                facecolor="#f3f6fa", edgecolor="#1976d2", linewidth=1.5))
    y = height - 0.35
    for line in lines:
        ax.text(0.2, y, line, fontsize=10.5, va="center", color="#1f1f1f")
        y -= 0.26
    y -= 0.2
    for x, w, label, face in ((0.2, 1.6, "your answer", "white"), (1.95, 0.75, "Check", "#1976d2"),
                              (2.85, 1.45, "Show the answer", "#e0e0e0")):
        ax.add_patch(FancyBboxPatch((x, y - 0.16), w, 0.32, boxstyle="round,pad=0,rounding_size=0.03",
                                    facecolor=face, edgecolor="#9e9e9e"))
        colour = "white" if label == "Check" else "#616161"
        ax.text(x + 0.1, y, label, fontsize=9.5, va="center", color=colour,
                style="italic" if label == "your answer" else "normal")
    ax.text(width - 0.2, y, "run the notebook to answer", fontsize=9, va="center", ha="right",
            color="#616161")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# ---------------------------------------------------------------------------- output sizes

def _level_of(kind: str, stride: int, padding: int, dilation: int) -> str:
    if kind == "conv_transpose":
        return "transposed"
    if kind.endswith("pool"):
        return "pooling"
    if dilation != 1:
        return "dilation"
    return "plain" if stride == 1 and padding == 0 else "padding_stride"


def question_from_settings(size: int, kernel_size: int, kind: str = "conv", stride: int | None = None,
                           padding: int = 0, dilation: int = 1, output_padding: int = 0,
                           ceil_mode: bool = False) -> Question:
    """A :class:`~convwidget.quiz.Question` from PyTorch's parameter names (one dimension).

    ``stride`` defaults as in PyTorch (the kernel size for a pool, else 1); the level follows
    from the settings.

    >>> question_from_settings(7, 2, kind="max_pool").layer
    'nn.MaxPool1d(kernel_size=2)'
    >>> question_from_settings(20, 3, dilation=2).level
    'dilation'
    """
    if stride is None:
        stride = kernel_size if kind.endswith("pool") else 1
    level = _level_of(kind, stride, padding, dilation)
    return Question(level, kind, size, kernel_size, stride, padding, dilation, output_padding, ceil_mode)


def _question_feedback(question: Question, text: str) -> Feedback:
    d = diagnose(question, text)
    colour = _RIGHT if d.correct else _WRONG
    mark = "✓ " if d.correct else ""
    body = d.html if d.matches else f"<p>{html.escape(d.message)}</p>"
    if mark:
        body = body.replace("<p>", f"<p>{mark}", 1)
    correct = d.correct if d.answer is not None else None
    return Feedback(correct, mark + d.message, _box(body, colour))


def _question_solution(question: Question) -> str:
    tensor = f"torch.zeros(1, 1, {question.size})"
    return (f"<b>{question.answer} cells.</b> PyTorch's formula with these numbers: "
            f"<code>{html.escape(question.derivation)}</code><br>"
            f"Check it yourself: <code>{html.escape(question.layer)}({tensor}).shape[-1]</code>")


class QuestionExercise(Exercise):
    """Predict a layer's output size; a wrong answer is diagnosed by :func:`~convwidget.quiz.diagnose`.

    With a :class:`~convwidget.quiz.QuizSession` (``predict(level=...)``) it also has "New
    question" and "Same again, harder" buttons and a running score.
    """

    def __init__(self, question: Question, session: QuizSession | None = None) -> None:
        self.question = question
        self.session = session
        super().__init__(html.escape(question.prompt), self._feedback, _question_solution(question))
        if session is not None:
            self._add_session_controls()

    def _feedback(self, text: str) -> Feedback:
        if self.session is not None:
            self.session.answer(text)
            self.score.value = self._score_html()
        return _question_feedback(self.question, text)

    def _score_html(self) -> str:
        assert self.session is not None
        return f'<span style="color: {_TEXT}">Score: {html.escape(self.session.score)}</span>'

    def _add_session_controls(self) -> None:
        self.next_button = _button("New question")
        self.harder_button = _button("Same again, harder")
        self.score = widgets.HTML(self._score_html())
        for widget, name in ((self.next_button, "next"), (self.harder_button, "harder"),
                             (self.score, "score")):
            widget.add_class(f"cw-exercise-{name}")
        self.next_button.on_click(lambda _: self._guarded(lambda: self._ask("next")))
        self.harder_button.on_click(lambda _: self._guarded(lambda: self._ask("harder")))
        session_row = widgets.HBox([self.next_button, self.harder_button, self.score])
        self.children = (self.prompt, self.buttons, self.feedback, self.solution, session_row)

    def _ask(self, how: str) -> None:
        assert self.session is not None
        question = self.session.next() if how == "next" else self.session.harder()
        self.question = question
        self._solution_html = _question_solution(question)
        self.prompt.value = self._prompt_html(html.escape(question.prompt))
        self.last = None
        self.feedback.value = ""
        self.answer_box.value = ""  # an empty box is not checked
        self.hide()


def predict(question: Question | None = None, *, level: str | None = None, seed: int | None = None,
            difficulty: int = 0, **settings: Any) -> QuestionExercise:
    """An output-size exercise: a given question, one from settings, or a random one at ``level``.

    ``settings`` are PyTorch's names for one dimension plus ``size`` (see
    :func:`question_from_settings`). ``level`` (one of :data:`~convwidget.quiz.LEVELS`)
    draws questions at random, with a score and "Same again, harder".

    >>> predict(size=10, kernel_size=3).question.answer
    8
    >>> ex = predict(level="pooling", seed=1)
    >>> ex.question.level, ex.score.value.endswith("0 of 0 right</span>")
    ('pooling', True)
    >>> predict(level="hard")
    Traceback (most recent call last):
    ...
    ValueError: level must be one of 'plain', 'padding_stride', 'dilation', 'pooling', 'transposed', not
        'hard'
    """
    if level is not None:
        if question is not None or settings:
            raise ValueError("give a question, settings, or level=..., not several of them")
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, not {level!r}")
        session = QuizSession(level, seed=seed, difficulty=difficulty)
        return QuestionExercise(session.question, session)
    if question is None:
        if "size" not in settings or "kernel_size" not in settings:
            raise ValueError("give a Question, or size= and kernel_size= (and PyTorch's other settings), "
                             "or level=... for a random question")
        question = question_from_settings(**settings)
    elif settings:
        raise ValueError(f"give a Question or settings, not both (got {', '.join(sorted(settings))})")
    return QuestionExercise(question)


# ---------------------------------------------------------------------------- in_features

_PRODUCT = re.compile(r"^-?\d+(?:\s*[*×x·]\s*\d+)*$")
_MAX_FEATURES = 10**9


def read_number(text: str, what: str = "in_features") -> int | str:
    """A whole number, or a product such as ``256*4*4``; else a sentence naming ``what`` to type.

    >>> read_number(" 256 × 4 × 4 "), read_number("4,096")
    (4096, 4096)
    >>> read_number("lots")
    "'lots' is not a number: type in_features as a whole number (or a product such as 64*5*5)"
    """
    cleaned = text.strip().replace(",", "").replace("_", "").replace("−", "-")
    shown = text if len(text) <= 40 else text[:37] + "..."
    if not _PRODUCT.match(cleaned) or len(cleaned) > 60:
        return f"{shown!r} is not a number: type {what} as a whole number (or a product such as 64*5*5)"
    value = 1
    for factor in re.split(r"\s*[*×x·]\s*", cleaned):
        value *= int(factor)
        if abs(value) > _MAX_FEATURES:
            return f"{shown!r} is far bigger than anything here: type {what} as a whole number"
    return value


@dataclass(frozen=True)
class _Flatten:
    """What reaches the Linear: the traced answer and the shapes it is made of."""

    name: str
    right: int
    batch: int
    dims: tuple[int, ...]
    earlier: tuple[tuple[str, tuple[int, ...]], ...]   # (step, feature-map shape) before the flatten
    declared: int | None = None                          # the in_features the model has now


def _traced(model: Any, input_shape: tuple[int, ...], linear: str | None) -> _Flatten:
    from ..tracer import trace  # torch: only when an in_features exercise is made

    report = trace(model, input_shape)
    if not report.linear_in_features:
        raise ValueError("the model has no nn.Linear to ask about")
    name = linear if linear is not None else next(iter(report.linear_in_features))
    if name not in report.linear_in_features:
        names = ", ".join(report.linear_in_features)
        raise ValueError(f"the model has no Linear named {name!r}; its Linear layers: {names}")
    row = report.flatten_row
    dims = tuple(row.flatten_dims) if row is not None and row.flatten_dims else ()
    earlier = [("the input", tuple(input_shape[1:]))]
    for r in report.rows:
        if row is not None and r.index >= row.index:
            break
        if r.output_shape is not None and len(r.output_shape) == len(input_shape):
            earlier.append((f"{r.name} ({r.op})", tuple(r.output_shape[1:])))
    return _Flatten(name, report.linear_in_features[name], input_shape[0], dims, tuple(earlier),
                    _declared(model, name))


def _declared(model: Any, name: str) -> int | None:
    """The ``in_features`` the model's Linear has now (None for pasted text)."""
    try:
        value = model.get_submodule(name).in_features
    except Exception:  # pasted text, or a name the tracer made up for a functional call
        return None
    return value if isinstance(value, int) else None


def _features_mistake(f: _Flatten, value: int) -> str | None:
    """The usual wrong in_features, in a sentence; None if the value matches none."""
    if not f.dims:
        return None
    channels, spatial = f.dims[0], f.dims[1:]
    shape = " × ".join(map(str, spatial))
    area = math.prod(spatial)
    if value == channels:
        return (f"{value} is the channels alone: the flatten keeps every position of every channel, "
                f"{channels} channels × {shape}.")
    if value == area:
        return f"{value} is one channel's {shape} map: multiply by the {channels} channels."
    if value == f.declared:
        return (f"{value} is what the model declares now, but the input of this size provides "
                f"{channels} channels × {shape}: the declared number is the bug.")
    if value == f.batch * f.right and f.batch > 1:
        return (f"{value} counts the batch of {f.batch} too: in_features is per example, the batch "
                "stays the first dimension.")
    for step, dims in reversed(f.earlier[:-1]):
        if len(dims) == len(f.dims) and value == channels * math.prod(dims[1:]):
            before = " × ".join(map(str, dims[1:]))
            return f"{value} uses the size after {step}, {before}; the layers after it change it to {shape}."
    return None


def _features_feedback(f: _Flatten, text: str) -> Feedback:
    value = read_number(text)
    if isinstance(value, str):
        return Feedback(None, value, _box(html.escape(value), _WRONG))
    made_of = f" = {f.dims[0]} channels × {' × '.join(map(str, f.dims[1:]))}" if f.dims else ""
    if value == f.right:
        text = f"✓ Right: {f.name} (the Linear) needs in_features = {f.right}{made_of}."
        return Feedback(True, text, _box(html.escape(text), _RIGHT))
    mistake = _features_mistake(f, value)
    head = f"Not quite: {f.name} (the Linear) needs a different in_features than {value}."
    why = mistake or (f"{value} matches none of the usual mistakes: follow the size through every layer to "
                      "the flatten (conv: the output-size formula; pool: floor of n / 2 for a 2×2 pool).")
    text = f"{head} {why}"
    return Feedback(False, text, _box(_text_to_html(text), _WRONG))


class InFeaturesExercise(Exercise):
    """"What ``in_features`` must this Linear have?" on a real model; :func:`convwidget.trace` checks."""

    def __init__(self, model: Any, input_shape: tuple[int, ...], linear: str | None = None) -> None:
        self.traced = _traced(model, tuple(input_shape), linear)
        f = self.traced
        prompt = (f"The model gets an input of shape <code>{tuple(input_shape)}</code>. What "
                  f"<code>in_features</code> must <code>{html.escape(f.name)}</code> (its first "
                  "<code>nn.Linear</code> after the flatten) have?")
        made_of = (f" = {f.dims[0]} channels × {' × '.join(map(str, f.dims[1:]))}" if f.dims else "")
        solution = (f"<b>in_features = {f.right}</b>{html.escape(made_of)}, traced by "
                    f"<code>convwidget.trace(model, {tuple(input_shape)})</code> (PyTorch's meta device, no "
                    "weights touched).")
        super().__init__(prompt, lambda text: _features_feedback(self.traced, text), solution,
                         placeholder="in_features")


def predict_in_features(model: Any, input_shape: tuple[int, ...], linear: str | None = None
                        ) -> InFeaturesExercise:
    """"What ``in_features``?" for ``model`` (a module or pasted text) on ``input_shape``.

    ``linear`` names the Linear to ask about (default: the first one).

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(100, 10))
    >>> ex = predict_in_features(net, (2, 3, 12, 12))
    >>> ex.answer_box.value = "8"; ex.check_button.click(); print(ex.feedback_text)
    Not quite: 3 (the Linear) needs a different in_features than 8. 8 is the channels alone: the flatten
        keeps every position of every channel, 8 channels × 5 × 5.
    >>> ex.answer_box.value = "8*5*5"; ex.check_button.click(); print(ex.feedback_text)
    ✓ Right: 3 (the Linear) needs in_features = 200 = 8 channels × 5 × 5.
    """
    return InFeaturesExercise(model, input_shape, linear)


# ---------------------------------------------------------------------------- any number

def _number_feedback(answer: int, what: str, mistakes: dict[int, str], text: str) -> Feedback:
    value = read_number(text, what)
    if isinstance(value, str):
        return Feedback(None, value, _box(html.escape(value), _WRONG))
    if value == answer:
        message = f"✓ Right: {answer}."
        return Feedback(True, message, _box(html.escape(message), _RIGHT))
    why = mistakes.get(value, f"{value} matches none of the usual mistakes: try again, or show the answer.")
    message = f"Not quite: {why}"
    return Feedback(False, message, _box(html.escape(message), _WRONG))


def predict_number(prompt: str, answer: int, solution: str, mistakes: dict[int, str] | None = None,
                   what: str = "the number") -> Exercise:
    """A predict-then-reveal cell for any whole-number answer (a receptive field, a tap count).

    ``mistakes`` maps the usual wrong answers to the sentence that explains them; ``prompt``
    and ``solution`` are HTML.

    >>> ex = predict_number("Receptive field of two 3-tap convolutions?", 5, "3 + 2 = <b>5</b>",
    ...                     {6: "6 = 3 + 3 counts the shared cell twice."})
    >>> ex.answer_box.value = "6"; ex.check_button.click(); ex.feedback_text
    'Not quite: 6 = 3 + 3 counts the shared cell twice.'
    >>> ex.answer_box.value = "5"; ex.check_button.click(); (ex.feedback_text, ex.revealed)
    ('✓ Right: 5.', True)
    """
    table = dict(mistakes or {})
    return Exercise(prompt, lambda text: _number_feedback(answer, what, table, text), solution)
