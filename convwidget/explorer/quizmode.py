"""Quiz mode of the explorer: predict the output size first, then see everything.

``ConvExplorer(quiz=True, level=...)`` (or :func:`quiz`) proposes a setting at a level
(:data:`convwidget.quiz.LEVELS`), shows it as a 1 × n strip with the output size, the
formula, the PyTorch panel and the output side of the picture hidden, takes the learner's
answer in a box (Enter or "Check"), says what it shows (right, or the misconception by name
with the term of the formula that fixes it, from :func:`convwidget.quiz.diagnose`) and then
reveals the explorer; the sliders then move as usual. "Next" and "same again, harder" hide
everything again for a new question; a running score counts first answers.

A question is 1-D (an ``nn.Conv1d``...): the explorer is 1-D too (``input_size=(n,)``,
``kernel_size=(k,)``, ...), so its output is ``(answer,)``.

>>> from convwidget.explorer import quiz
>>> q = quiz(level="plain", seed=0)
>>> q.revealed, q.output_size == (q.question.answer,)
(False, True)
>>> q.answer(q.question.answer - 1).misconceptions
('forgot_plus_one',)
>>> q.revealed, q.score
(True, '0 of 1 right')
>>> q.close()
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from ..geometry import Geometry, layer_geometry
from ..quiz import LEVELS, Diagnosis, Question, QuizSession
from .controls import _style, button
from .theme import BORDERS

if TYPE_CHECKING:
    from .app import ConvExplorer

__all__ = ["ExplorerQuiz", "QuizAccess", "explorer_settings", "question_geometry", "quiz"]

#: The quiz levels as the level dropdown shows them.
LEVEL_LABELS = (("plain (kernel only)", "plain"), ("padding and stride", "padding_stride"),
                ("dilation", "dilation"), ("pooling (ceil_mode)", "pooling"),
                ("transposed convolution", "transposed"))


def explorer_settings(question: Question) -> dict[str, Any]:
    """The explorer's settings for a question: 1-D, as the question's ``nn.Conv1d`` is.

    Every setting is given, so a question also undoes what a learner moved after a reveal.

    >>> from convwidget.quiz import Question
    >>> s = explorer_settings(Question("padding_stride", "conv", 11, kernel_size=3, stride=2, padding=1))
    >>> s["ndim"], s["input_size"], s["kernel_size"], s["stride"], s["padding"]
    (1, (11,), (3,), (2,), (1,))
    """
    q = question
    return {"kind": q.kind, "ndim": 1, "input_size": (q.size,), "kernel_size": (q.kernel_size,),
            "stride": (q.stride,), "padding": (q.padding,), "dilation": (q.dilation,),
            "output_padding": (q.output_padding,), "ceil_mode": q.ceil_mode,
            "count_include_pad": True, "in_channels": 1, "out_channels": 1, "groups": 1}


def question_geometry(question: Question) -> Geometry | None:
    """What the question's picture draws: the input strip, its padding, the first window.

    Drawn without ``ceil_mode`` (its overhanging and dropped windows would tell the answer);
    None for a transposed convolution, whose stretched input is the method itself.

    >>> from convwidget.quiz import Question
    >>> question_geometry(Question("plain", "conv", 9, kernel_size=3, stride=1)).input_size
    (1, 9)
    """
    q = question
    if q.kind == "conv_transpose":
        return None
    return layer_geometry(q.kind, (1, q.size), (1, q.kernel_size), (1, q.stride), (0, q.padding),
                          (1, q.dilation))


def _input_side_png(figure: Any, geometry: Geometry) -> tuple[bytes, bytes]:
    """PNGs (light, dark) of the input side only: the output grid, its title, the caption and
    the legend cut off (where the light picture has ink; the dark one is cut the same)."""
    from ..drawing.compose import rows_cols
    from ..drawing.raster import encode_png

    figure.set_geometry(geometry, step=0)
    for artist in (figure.lit, figure.link):  # the output cell and the line to it
        artist.set_visible(False)
    rgba = figure.to_rgba(theme="light")
    dark = figure.to_rgba(theme="dark")
    ph, pw = rgba.shape[:2]
    dpi = figure.figure.dpi
    rows, cols = rows_cols(geometry)
    lay = figure.layout  # the drawing's own (notes that wrap to two lines move the grids)
    px = max(1, round(dpi / 100))
    in_x, in_y = lay.input_xy
    in_h, in_w = rows.grid_size * lay.cell, cols.grid_size * lay.cell
    # the grid's rows only: its title is shown as text (beside the output, a title may overlap
    # the output's)
    top, bottom = max(0, in_y - 4 * px), min(ph, in_y + in_h + 6 * px)
    band, band_dark = rgba[top:bottom].copy(), dark[top:bottom].copy()
    if not lay.stacked:  # side by side: white out the output grid (the page's colour, dark)
        band[:, in_x + in_w + 4 * px:] = 255
        band_dark[:, in_x + in_w + 4 * px:] = dark[0, 0]
    ink = (band[..., :3] < 250).any(axis=(0, 2)).nonzero()[0]
    left, right = (int(ink[0]), int(ink[-1]) + 1) if ink.size else (0, pw)
    cut = slice(max(0, left - 6 * px), min(pw, right + 6 * px))
    return encode_png(band[:, cut].copy(), 1), encode_png(band_dark[:, cut].copy(), 1)


def _button(description: str, css: str, tooltip: str, style: str = "") -> W.Button:
    return button(description, css, tooltip=tooltip, style=style)


class ExplorerQuiz:
    """The quiz row of a ``ConvExplorer(quiz=True)``: question, answer box, feedback, score.

    It keeps a :class:`~convwidget.quiz.QuizSession` and tells the explorer when to hide
    and reveal its panels (:meth:`ConvExplorer._conceal`, :meth:`ConvExplorer._reveal`).
    """

    def __init__(self, explorer: ConvExplorer, session: QuizSession,
                 on_error: Callable[[BaseException], None]) -> None:
        self.explorer = explorer
        self.session = session
        self._on_error = on_error
        self._figure: Any = None
        self._checked: tuple[Question, str] | None = None
        self.revealed = False
        self.prompt = _style(W.HTML(), "cw-quiz-prompt")
        # at its natural size (the theme's CSS): shrunk to a box, its numbers fell under 11 px
        self.picture = _style(W.Image(format="png"), "cw-quiz-picture")
        # the same strip in the dark colouring: the page's CSS (.theme) shows one of the two
        self.picture_dark = _style(W.Image(format="png"), "cw-quiz-picture-dark")
        self.picture_note = _style(W.HTML(), "cw-quiz-picture-note")
        self.answer_box = _style(W.Text(value="", placeholder="output size, then Enter",
                                        description="your answer", continuous_update=False,
                                        style={"description_width": "88px"},
                                        layout=W.Layout(width="260px")), "cw-quiz-answer")
        self.check_button = _button("Check", "cw-quiz-check", "check your answer", "primary")
        self.feedback = _style(W.HTML(), "cw-quiz-feedback")
        self.score_label = _style(W.HTML(), "cw-quiz-score")
        self.next_button = _button("Next", "cw-quiz-next", "another question at this level")
        self.harder_button = _button("Same again, harder", "cw-quiz-harder",
                                     "bigger numbers, then the next level")
        self.level = _style(W.Dropdown(options=LEVEL_LABELS, value=session.level, description="level",
                                       style={"description_width": "40px"},
                                       layout=W.Layout(width="280px")), "cw-quiz-level")
        self.box = _style(W.VBox([
            self.prompt, self.picture, self.picture_dark, self.picture_note,
            _style(W.HBox([self.answer_box, self.check_button]), "cw-quiz-answer-row"),
            self.feedback,
            _style(W.HBox([self.score_label, self.next_button, self.harder_button, self.level],
                          layout=W.Layout(align_items="center", flex_flow="row wrap")), "cw-quiz-buttons"),
        ], layout=W.Layout(border=f"1px solid {BORDERS['note']}", padding="6px", margin="4px 0")), "cw-quiz")
        self.answer_box.observe(self._on_enter, names="value")
        self.check_button.on_click(self._on_check)
        self.next_button.on_click(lambda _b: self._guarded(self.next))
        self.harder_button.on_click(lambda _b: self._guarded(self.harder))
        self.level.observe(self._on_level, names="value")

    @property
    def question(self) -> Question:
        return self.session.question

    # ------------------------------------------------------------------ callbacks
    def _guarded(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as err:  # noqa: BLE001 - a UI callback must never raise into the frontend
            self._on_error(err)

    def _on_enter(self, change: dict[str, Any]) -> None:
        if change["new"].strip():
            self._guarded(lambda: self.check(change["new"]))

    def _on_check(self, _button: W.Button) -> None:
        self._guarded(lambda: self.check(self.answer_box.value))

    def _on_level(self, change: dict[str, Any]) -> None:
        if change["new"] != self.session.level:
            self._guarded(lambda: self.ask(_level_question(self.session, change["new"])))

    # ------------------------------------------------------------------ the quiz
    def check(self, text: Any) -> Diagnosis | None:
        """Diagnose ``text`` (what the box holds); a whole number also reveals the explorer.

        The same text checked twice for the same question (Enter, then the button) is
        diagnosed once.
        """
        key = (self.question, str(text))
        if self._checked == key:
            return None
        diagnosis = self.session.answer(text)
        self._checked = key  # after the diagnosis: an entry that failed can be checked again
        kind = "ok" if diagnosis.correct else "note" if diagnosis.answer is None else "bad"
        mark = "✓ " if diagnosis.correct else ("" if diagnosis.answer is None else "✗ ")
        body = diagnosis.html
        if mark:  # the theme's shade of the colour (.theme), readable in Light and Dark
            body = body.replace("<p>", f"<p><b class='cw-{kind}'>{mark}</b>", 1)
        self.feedback.value = (f"<div style='border-left:4px solid {BORDERS[kind]};padding:2px 8px'>"
                               f"{body}</div>")
        self.score_label.value = self._score_html()
        if diagnosis.answer is not None and not self.revealed:
            self.revealed = True
            self.explorer._reveal()
            for image in (self.picture, self.picture_dark):  # the explorer's picture shows it now
                image.layout.display = "none"
            self.picture_note.value = ""
        return diagnosis

    def ask(self, question: Question) -> None:
        """Show ``question``: the explorer hides its answers and takes the question's settings."""
        self.revealed = False
        self._checked = None
        self.explorer._conceal()
        self.explorer.state.set(**explorer_settings(question))
        self.prompt.value = (f"<b>Quiz</b> ({html.escape(question.level.replace('_', ' '))}, "
                             f"difficulty {question.difficulty + 1}): {html.escape(question.prompt)}")
        self._show_picture(question)
        with self.answer_box.hold_sync():
            self.answer_box.value = ""
        self.feedback.value = ""
        self.score_label.value = self._score_html()
        if self.level.value != question.level:
            self.level.value = question.level  # _on_level sees the session's level: no new question

    def _show_picture(self, question: Question) -> None:
        geometry = question_geometry(question)
        if geometry is None:
            self.picture.layout.display = self.picture_dark.layout.display = "none"
            self.picture_note.value = ("<i>The picture (the input stretched with zeros) appears with "
                                       "the answer: it is the method.</i>")
            return
        from ..drawing import WindowFigure  # matplotlib: with the first picture
        from ..drawing.captions import input_title

        if self._figure is None:
            self._figure = WindowFigure(figsize=(8.0, 4.0), caption=False)
        self.picture.value, self.picture_dark.value = _input_side_png(self._figure, geometry)
        self.picture.layout.display = self.picture_dark.layout.display = ""
        self.picture_note.value = (f"<span class='cw-muted'>{html.escape(input_title(geometry))}: "
                                   "the input strip, its padding and the first window; the output "
                                   "appears with the answer</span>")

    def _score_html(self) -> str:
        return f"<b>Score:</b> {html.escape(self.session.score)} &nbsp;"

    def next(self) -> Question:
        """Another question at this level and difficulty (the explorer hides again)."""
        question = self.session.next()
        self.ask(question)
        return question

    def harder(self) -> Question:
        """"Same again, harder": bigger numbers, then the next level."""
        question = self.session.harder()
        self.ask(question)
        return question

    def close(self) -> None:
        if self._figure is not None:
            self._figure.close()
            self._figure = None


class QuizAccess:
    """Quiz mode's scripted face on :class:`ConvExplorer` (a mixin: the explorer holds the state)."""

    quiz: ExplorerQuiz | None
    _concealed: bool

    @property
    def question(self) -> Question | None:
        """The quiz's current :class:`~convwidget.quiz.Question` (None outside quiz mode)."""
        return self.quiz.question if self.quiz is not None else None

    @property
    def revealed(self) -> bool:
        """Quiz mode: whether the current question's answer is shown (always True otherwise)."""
        return not self._concealed

    @property
    def score(self) -> str | None:
        """Quiz mode: the running score, e.g. ``'3 of 4 right'`` (None outside quiz mode)."""
        return self.quiz.session.score if self.quiz is not None else None

    def answer(self, value: Any) -> Diagnosis | None:
        """Quiz mode: check ``value`` as if typed into the box; returns the Diagnosis."""
        if self.quiz is None:
            raise ValueError("answer() is for a quiz: make the explorer with ConvExplorer(quiz=True)")
        self.quiz._checked = None  # a scripted answer is always checked
        return self.quiz.check(value)


def _level_question(session: QuizSession, level: str) -> Question:
    """A new question at ``level`` (difficulty kept), made the session's current one."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, not {level!r}")
    return session.at_level(level)


def quiz(level: str = "padding_stride", seed: int | None = None, **options: Any) -> ConvExplorer:
    """A ``ConvExplorer`` in quiz mode: predict the output size, then see everything.

    ``level`` is one of :data:`convwidget.quiz.LEVELS`; ``seed`` makes the questions
    repeatable; ``options`` go to :class:`ConvExplorer` (e.g. ``live=False``).

    >>> q = quiz("dilation", seed=1)
    >>> q.question.level, "Output" in q.output_label.value
    ('dilation', False)
    >>> q.close()
    """
    from .app import ConvExplorer

    return ConvExplorer(quiz=True, level=level, seed=seed, **options)
