"""A quiz in progress: the current question, the running score, "same again, harder".

Standard library only; the quiz widget keeps one of these and shows its texts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from .diagnosis import Diagnosis, diagnose
from .mistakes import misconception
from .propose import harder, propose
from .question import Question

__all__ = ["QuizSession"]

_REDRAWS = 20  # a level has dozens of settings: two equal draws in a row are already rare


def _setting(q: Question) -> tuple[object, ...]:
    """What the learner sees: two questions with these equal are the same question."""
    return (q.kind, q.size, q.kernel_size, q.stride, q.padding, q.dilation, q.output_padding, q.ceil_mode)


class QuizSession:
    """The current question, the score and the misconceptions met so far.

    A question counts once, at its first answer that is a whole number; later tries get
    feedback but do not change the score, and a non-number or a skipped question is not
    counted.

    >>> quiz = QuizSession("plain", seed=0)
    >>> right = quiz.question.answer
    >>> quiz.answer(right - 1).misconceptions
    ('forgot_plus_one',)
    >>> quiz.answer(right).correct, quiz.score
    (True, '0 of 1 right')
    >>> q = quiz.next()
    >>> quiz.answer(q.answer).correct, quiz.score
    (True, '1 of 2 right')
    >>> quiz.harder().difficulty, quiz.level
    (1, 'plain')
    >>> print(quiz.summary())
    1 of 2 right; mistakes met: the + 1 forgotten.
    """

    def __init__(self, level: str = "plain", seed: int | None = None, difficulty: int = 0) -> None:
        self._rng = random.Random(seed)
        self.question: Question = propose(level, self._rng, difficulty)
        self.answered = 0
        self.right = 0
        self.mistakes: Counter[str] = Counter()
        self.history: list[Diagnosis] = []
        self._counted = False

    @property
    def level(self) -> str:
        return self.question.level

    @property
    def score(self) -> str:
        """The running score, e.g. ``'3 of 4 right'``."""
        return f"{self.right} of {self.answered} right"

    def answer(self, value: Any) -> Diagnosis:
        """Diagnose ``value`` (a number or the text of an answer box) for the current question."""
        d = diagnose(self.question, value)
        self.history.append(d)
        if d.answer is not None and not self._counted:
            self._counted = True
            self.answered += 1
            self.right += d.correct
            self.mistakes.update(d.misconceptions)
        return d

    def _ask(self, draw: Callable[[], Question]) -> Question:
        """Make a fresh draw the current question: never the setting just asked (if avoidable)."""
        question = draw()
        for _ in range(_REDRAWS):
            if _setting(question) != _setting(self.question):
                break
            question = draw()
        self.question = question
        self._counted = False
        return question

    def next(self) -> Question:
        """Another question at the same level and difficulty, never the one just asked."""
        return self._ask(lambda: propose(self.question.level, self._rng, self.question.difficulty))

    def harder(self) -> Question:
        """"Same again, harder": bigger numbers, then the next level (see :func:`~.propose.harder`)."""
        return self._ask(lambda: harder(self.question, self._rng))

    def at_level(self, level: str, difficulty: int | None = None) -> Question:
        """A new question at ``level`` (difficulty kept unless given), made the current one.

        The score and the mistakes met so far are kept; the question asked before, if not
        answered yet, is not counted. A bad ``level`` or ``difficulty`` raises ``ValueError``
        and leaves the current question in place.

        >>> quiz = QuizSession("plain", seed=1)
        >>> q = quiz.at_level("pooling")
        >>> (q.level, q.difficulty, quiz.question is q, quiz.level)
        ('pooling', 0, True, 'pooling')
        >>> quiz.at_level("dilation", difficulty=2).difficulty
        2
        >>> quiz.at_level("hard")
        Traceback (most recent call last):
        ...
        ValueError: level must be one of 'plain', 'padding_stride', 'dilation', 'pooling', 'transposed',
            not 'hard'
        """
        difficulty = self.question.difficulty if difficulty is None else difficulty
        return self._ask(lambda: propose(level, self._rng, difficulty))

    def summary(self) -> str:
        """The score and the misconceptions met at first answers, most frequent first."""
        if not self.mistakes:
            return f"{self.score}."
        met = "; ".join(misconception(name).title + (f" ({n}×)" if n > 1 else "")
                        for name, n in self.mistakes.most_common())
        return f"{self.score}; mistakes met: {met}."
