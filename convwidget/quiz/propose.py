"""Random questions per level, drawn so that the level's usual mistakes give wrong answers.

Standard library only. Sizes stay small enough to work out by hand (input <= 40 cells).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..errors import ShapeError
from .mistakes import misconception
from .question import DIFFICULTIES, LEVELS, Question

__all__ = ["harder", "propose"]

#: The mistakes each level is about: a question is re-drawn until they all give wrong answers.
MAIN_MISTAKES = {
    "plain": ("forgot_plus_one", "minus_one_left_out", "same_shortcut"),
    "padding_stride": ("forgot_plus_one", "minus_one_left_out", "padding_once", "stride_ignored",
                       "ceil_instead_of_floor"),
    "dilation": ("forgot_plus_one", "dilation_ignored", "dilation_times_kernel"),
    "pooling": ("forgot_plus_one", "stride_ignored", "floor_despite_ceil_mode", "ceil_instead_of_floor"),
    "transposed": ("forgot_plus_one", "transposed_as_conv", "output_padding_ignored", "dilation_ignored",
                   "padding_once", "stride_ignored"),
}

_TRIES = 200
_MAX_ANSWER = 48  # a learner works it out by hand


def _n(rng: random.Random, difficulty: int) -> int:
    return rng.randint((5, 8, 12)[difficulty], (20, 28, 40)[difficulty])


def _draw_plain(rng: random.Random, difficulty: int) -> Question:
    n = _n(rng, difficulty)
    k = rng.randint(2, (5, 6, 7)[difficulty])
    return Question("plain", "conv", n, k, 1, difficulty=difficulty)


def _draw_padding_stride(rng: random.Random, difficulty: int) -> Question:
    n = _n(rng, difficulty)
    # a 1×1 kernel with a stride (ResNet's shortcut) only at the top difficulty: there it teaches
    # that stride alone subsamples; below, it would only make the window disappear
    k = rng.randint(1 if difficulty == 2 else 2, (4, 5, 7)[difficulty])
    s = rng.randint(2, (3, 3, 4)[difficulty])
    # with r = (n + 2p − k) mod s, the five mistakes are all wrong only if r = s − 1 ("− 1 left
    # out"), r > 0 (ceil vs floor) and r < p (padding once): so p = 0 or p >= s, never p = 1
    p = rng.choice((0, 2, 3))
    return Question("padding_stride", "conv", n, k, s, p, difficulty=difficulty)


def _draw_dilation(rng: random.Random, difficulty: int) -> Question:
    n = max(_n(rng, difficulty), 8)
    d = rng.randint(2, (3, 3, 4)[difficulty])
    k = rng.randint(2, (3, 4, 5)[difficulty])
    s = rng.randint(1, (1, 2, 2)[difficulty])
    p = rng.randint(0, (1, 2, 3)[difficulty])
    return Question("dilation", "conv", n, k, s, p, d, difficulty=difficulty)


def _draw_pooling(rng: random.Random, difficulty: int) -> Question:
    kind = rng.choice(("max_pool", "avg_pool"))
    n = _n(rng, difficulty)
    k = rng.randint(2, (3, 3, 4)[difficulty])
    s = k if rng.random() < 0.5 else rng.randint(1, k + 1)
    p = rng.randint(0, k // 2)
    d = rng.randint(1, 2) if kind == "max_pool" and difficulty == 2 else 1
    ceil_mode = rng.random() < 2 / 3
    return Question("pooling", kind, n, k, s, p, d, ceil_mode=ceil_mode, difficulty=difficulty)


def _draw_transposed(rng: random.Random, difficulty: int) -> Question:
    n = rng.randint(2, (8, 10, 16)[difficulty])
    k = rng.randint(2, (4, 4, 5)[difficulty])  # k = 1 only stretches: no overlap to count
    s = rng.randint(1, (2, 3, 3)[difficulty])
    p = rng.randint(0, (1, 2, 2)[difficulty])
    d = 2 if rng.random() < (0.25, 0.5, 0.5)[difficulty] else 1
    # output_padding exists only with a stride or dilation > 1: asked for there, half the time
    op = rng.randint(1, max(s, d) - 1) if max(s, d) > 1 and rng.random() < 0.5 else 0
    return Question("transposed", "conv_transpose", n, k, s, p, d, op, difficulty=difficulty)


_DRAW: dict[str, Callable[[random.Random, int], Question]] = {
    "plain": _draw_plain, "padding_stride": _draw_padding_stride, "dilation": _draw_dilation,
    "pooling": _draw_pooling, "transposed": _draw_transposed,
}


def _score(question: Question, names: tuple[str, ...]) -> tuple[int, int]:
    """(how many of the level's mistakes give a wrong answer, how many distinct answers they give)."""
    right = question.answer
    values = [v for v in (misconception(name).value(question) for name in names) if v is not None]
    wrong = [v for v in values if v != right]
    return len(wrong), len(set(wrong))


def _best_of(level: str, rng: random.Random, difficulty: int, want_drop: bool | None) -> Question:
    names = MAIN_MISTAKES[level]
    if want_drop:
        # with the last window dropped, ⌊…⌋ + 1 is always right: the mistake is keeping the window
        names = tuple(n for n in names if n != "floor_despite_ceil_mode") + ("ceil_mode_without_drop",)
    best: tuple[tuple[int, int, int], Question] | None = None
    for _ in range(_TRIES):
        try:
            q = _DRAW[level](rng, difficulty)
        except ShapeError:
            continue  # a setting PyTorch refuses: draw again
        if not 2 <= q.answer <= _MAX_ANSWER:
            continue  # one output cell is no question; fifty are no fun by hand
        fits = _fits(q, want_drop)
        wrong, distinct = _score(q, names)
        applicable = sum(misconception(name).value(q) is not None for name in names)
        key = (int(fits), wrong, distinct)
        if best is None or key > best[0]:
            best = (key, q)
        if fits and wrong == applicable:
            return q  # agreeing mistakes are fine (the diagnosis names them all); variety is not
    # no draw had every mistake wrong: the one closest to it
    assert best is not None, f"no {level} question drawn in {_TRIES} tries"
    return best[1]


def _dropped(q: Question) -> bool:
    return q.explanation.dropped_last_window


def _fits(q: Question, want_drop: bool | None) -> bool:
    """A pool question as asked for: ``ceil_mode`` off (None), or on with the last window dropped or not.

    Decided before the draw, so that the filter (which finds ``ceil_mode=False`` harder to
    satisfy: ⌈…⌉ must differ from ⌊…⌋) does not make it rare.
    """
    if not q.is_pool:
        return True
    if want_drop is None:
        return not q.ceil_mode
    return q.ceil_mode and _dropped(q) == want_drop


def propose(level: str, rng: random.Random | None = None, difficulty: int = 0) -> Question:
    """A random question at ``level`` that PyTorch accepts, its usual mistakes giving wrong answers.

    ``difficulty`` (0 to 2) makes the numbers bigger and more settings non-default. The draw
    is repeated (a bounded number of times) until every mistake of :data:`MAIN_MISTAKES`
    for the level that applies gives an answer different from the right one (mistakes that
    agree with each other are kept: the diagnosis names them all, and refusing them would
    leave few settings to draw). Every setting the level is about varies; pooling questions
    use ``ceil_mode`` two times in three, and then drop the last window half of the time.

    >>> q = propose("dilation", random.Random(0))
    >>> q.level, q.kind, q.dilation > 1, q.size <= 40
    ('dilation', 'conv', True, True)
    >>> propose("hard")
    Traceback (most recent call last):
    ...
    ValueError: level must be one of 'plain', 'padding_stride', 'dilation', 'pooling', 'transposed', not
        'hard'
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, not {level!r}")
    if not 0 <= difficulty < DIFFICULTIES:
        raise ValueError(f"difficulty must be 0 to {DIFFICULTIES - 1}, not {difficulty!r}")
    rng = rng if rng is not None else random.Random()
    want_drop = None
    if level == "pooling" and rng.random() < 2 / 3:
        want_drop = rng.random() < 0.5
    return _best_of(level, rng, difficulty, want_drop)


def harder(question: Question, rng: random.Random | None = None) -> Question:
    """"Same again, harder": bigger numbers at the same level, then the next level.

    >>> q = propose("plain", random.Random(1))
    >>> [(h.level, h.difficulty) for h in (harder(q), harder(harder(q)), harder(harder(harder(q))))]
    [('plain', 1), ('plain', 2), ('padding_stride', 0)]
    >>> harder(propose("transposed", random.Random(1), difficulty=2)).level
    'transposed'
    """
    if question.difficulty + 1 < DIFFICULTIES:
        return propose(question.level, rng, question.difficulty + 1)
    index = LEVELS.index(question.level)
    if index + 1 < len(LEVELS):
        return propose(LEVELS[index + 1], rng, 0)
    return propose(question.level, rng, question.difficulty)
