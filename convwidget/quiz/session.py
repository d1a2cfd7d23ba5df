"""A quiz in progress: the current question, the running score, "same again, harder".

Standard library only; the quiz widget keeps one of these and shows its texts.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from .diagnosis import Diagnosis, diagnose
from .mistakes import misconception
from .propose import harder, propose
from .question import Question

__all__ = ["QuizSession"]


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

    def _ask(self, question: Question) -> Question:
        self.question = question
        self._counted = False
        return question

    def next(self) -> Question:
        """Another question at the same level and difficulty."""
        return self._ask(propose(self.question.level, self._rng, self.question.difficulty))

    def harder(self) -> Question:
        """"Same again, harder": bigger numbers, then the next level (see :func:`~.propose.harder`)."""
        return self._ask(harder(self.question, self._rng))

    def summary(self) -> str:
        """The score and the misconceptions met at first answers, most frequent first."""
        if not self.mistakes:
            return f"{self.score}."
        met = "; ".join(misconception(name).title + (f" ({n}×)" if n > 1 else "")
                        for name, n in self.mistakes.most_common())
        return f"{self.score}; mistakes met: {met}."
