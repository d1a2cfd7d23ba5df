"""Quiz mode of the explorer, without a kernel: hidden means hidden, diagnoses, score, close().

The right answers come from real torch.nn layers; the wrong answers from the usual wrong
formulas, written out here (not taken from convwidget.quiz).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator

import ipywidgets as W
import pytest
import torch
from torch import nn

from convwidget.explorer import ConvExplorer, quiz
from convwidget.explorer.css import CSS_CLASSES
from convwidget.quiz import LEVELS, Question

SEEDS = range(12)


def torch_answer(q: Question) -> int:
    """The output size PyTorch gives for a 1-D question."""
    x = torch.zeros(1, 1, q.size)
    layer: nn.Module
    if q.kind == "conv":
        layer = nn.Conv1d(1, 1, q.kernel_size, q.stride, q.padding, q.dilation)
    elif q.kind == "conv_transpose":
        layer = nn.ConvTranspose1d(1, 1, q.kernel_size, q.stride, q.padding, q.output_padding,
                                   dilation=q.dilation)
    elif q.kind == "max_pool":
        layer = nn.MaxPool1d(q.kernel_size, q.stride, q.padding, q.dilation, ceil_mode=q.ceil_mode)
    else:
        layer = nn.AvgPool1d(q.kernel_size, q.stride, q.padding, ceil_mode=q.ceil_mode)
    with torch.no_grad():
        return int(layer(x).shape[-1])


def visible(widget: W.Widget) -> Iterator[W.Widget]:
    """The widgets a learner sees: none inside a box hidden with display: none."""
    layout = getattr(widget, "layout", None)
    if layout is not None and layout.display == "none":
        return
    yield widget
    for child in getattr(widget, "children", ()):
        yield from visible(child)


def shown_text(widget: W.Widget) -> str:
    """Every text and number a widget shows: its value, description, tooltip, options, range."""
    parts = [getattr(widget, name, None) for name in ("description", "tooltip", "placeholder")]
    value = getattr(widget, "value", None)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        parts.append(value)
    if isinstance(widget, (W.IntSlider, W.Play, W.BoundedIntText)):
        parts += [widget.min, widget.max]
    if isinstance(widget, W.Dropdown):
        parts += list(widget._options_labels)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", str(p))) for p in parts if p not in (None, ""))


def numbers(text: str) -> set[int]:
    return {int(t) for t in re.findall(r"\d+", text)}


def allowed_numbers(explorer: ConvExplorer) -> set[int]:
    """Numbers a hidden quiz may show: the question's settings, the strip's height, the score."""
    q = explorer.question
    session = explorer.quiz.session
    return {0, 1, q.size, q.kernel_size, q.stride, q.padding, q.dilation, q.output_padding,
            q.difficulty + 1, session.right, session.answered}


def assert_hidden(explorer: ConvExplorer, typed: str = "") -> None:
    """Nothing visible states the answer; ``typed`` is what the learner typed (the feedback
    quotes it, and a sentence's example '12')."""
    right = torch_answer(explorer.question)
    assert explorer.output_size == (right,)  # the explorer holds the question's setting (1-D)
    assert not explorer.revealed
    allowed = allowed_numbers(explorer) | (numbers(typed) | {12} if typed else set())
    for w in visible(explorer):
        text = shown_text(w)
        assert numbers(text) <= allowed, (type(w).__name__, w._dom_classes, text)
        if right not in allowed:
            assert str(right) not in re.findall(r"\d+", text), text
        # no calculator headline, no torch shapes, no derivation ('... + 1 = 6')
        assert "Output:" not in text and "torch.Size" not in text and " = " not in text, text
    # hidden boxes hold nothing either (the page's HTML is not the place to find the answer)
    for w in (explorer.output_label, explorer.formula, explorer.formula_text, explorer.torch_panel,
              explorer.values_panel, explorer.step_label, explorer.params, explorer.receptive):
        assert w.value == ""
    assert explorer.picture.value == explorer.picture_dark.value == b""
    assert all(s.max == 0 for s in explorer.player.sliders)
    for box in (explorer.controls, explorer.animation_panel, explorer.calculator_panel,
                explorer.torch_panel, explorer.export_row, explorer.foldouts):
        assert box.layout.display == "none"
    assert not re.search(r"\d", repr(explorer)), repr(explorer)


def assert_revealed(explorer: ConvExplorer) -> None:
    right = torch_answer(explorer.question)
    assert explorer.revealed
    assert f"Output: {right}</b> (length)" in explorer.output_label.value
    assert f"= {right}" in explorer.formula_text.value
    assert "✓ agrees with the calculator" in explorer.torch_panel.value
    assert explorer.picture.value[:4] == b"\x89PNG"
    assert explorer.step.max == right - 1 and explorer.col.max == right - 1  # the player's ranges
    assert explorer.quiz.picture.layout.display == "none"  # the strip: now in the full picture
    assert explorer.quiz.picture_dark.layout.display == "none"
    for box in (explorer.controls, explorer.animation_panel, explorer.calculator_panel,
                explorer.torch_panel, explorer.export_row):
        assert box.layout.display == ""
    assert f"output_size=({right},)" in repr(explorer)


def type_answer(explorer: ConvExplorer, text: str) -> str:
    """Type ``text`` into the box and press Enter (the box sends its value then)."""
    explorer.quiz.answer_box.value = text
    return explorer.quiz.feedback.value


# ---------------------------------------------------------------- hidden means hidden
@pytest.mark.parametrize("level", LEVELS)
def test_nothing_on_screen_tells_the_answer(level: str) -> None:
    for seed in SEEDS:
        e = quiz(level, seed=seed)
        try:
            assert e.question.level == level
            assert_hidden(e)
            e.quiz.next_button.click()
            assert_hidden(e)
        finally:
            e.close()


def test_the_picture_shows_the_input_strip_only() -> None:
    e = quiz("padding_stride", seed=4)
    try:
        png = e.quiz.picture.value
        assert png[:4] == b"\x89PNG"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width > 4 * height  # a strip, one cell high, without the output grid below it
        dark = e.quiz.picture_dark.value  # the same strip in the dark colouring, cut the same
        assert dark[:4] == b"\x89PNG" and dark != png and dark[16:24] == png[16:24]
        q = e.question
        assert f"input 1×{q.size}" in e.quiz.picture_note.value
    finally:
        e.close()
    t = quiz("transposed", seed=0)  # the stretched input is the method: shown with the answer
    try:
        assert t.quiz.picture.layout.display == "none"
        type_answer(t, str(torch_answer(t.question)))
        assert_revealed(t)
    finally:
        t.close()


# ---------------------------------------------------------------- diagnoses
def _conv_dims(q: Question) -> tuple[int, int, int, int, int]:
    return q.size, q.kernel_size, q.stride, q.padding, q.dilation


def _forgot_plus_one(q: Question) -> int | None:
    if q.kind == "conv_transpose":
        return None
    n, k, s, p, d = _conv_dims(q)
    rounding = math.ceil if q.ceil_mode else math.floor
    return rounding((n + 2 * p - d * (k - 1) - 1) / s)


def _dilation_ignored(q: Question) -> int | None:
    if q.kind != "conv" or q.dilation == 1:
        return None
    n, k, s, p, _ = _conv_dims(q)
    return (n + 2 * p - k) // s + 1


def _padding_once(q: Question) -> int | None:
    if q.kind != "conv" or q.padding == 0:
        return None
    n, k, s, p, d = _conv_dims(q)
    return (n + p - d * (k - 1) - 1) // s + 1


def _floor_despite_ceil_mode(q: Question) -> int | None:
    if not q.ceil_mode:
        return None
    n, k, s, p, d = _conv_dims(q)
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _transposed_as_conv(q: Question) -> int | None:
    if q.kind != "conv_transpose":
        return None
    n, k, s, p, d = _conv_dims(q)
    return (n + 2 * p - d * (k - 1) - 1) // s + 1 if n + 2 * p >= d * (k - 1) + 1 else None


WRONG_FORMULAS = {
    "forgot_plus_one": (_forgot_plus_one, ("plain", "padding_stride", "dilation", "pooling")),
    "dilation_ignored": (_dilation_ignored, ("dilation",)),
    "padding_once": (_padding_once, ("padding_stride", "dilation")),
    "floor_despite_ceil_mode": (_floor_despite_ceil_mode, ("pooling",)),
    "transposed_as_conv": (_transposed_as_conv, ("transposed",)),
}


@pytest.mark.parametrize("name", sorted(WRONG_FORMULAS))
def test_a_typed_wrong_answer_gets_its_misconception(name: str) -> None:
    formula, levels = WRONG_FORMULAS[name]
    seen = 0
    for level in levels:
        e = quiz(level, seed=0)
        try:
            for _ in SEEDS:
                q, right = e.question, torch_answer(e.question)
                wrong = formula(q)
                if wrong is not None and wrong != right and wrong > 0:
                    feedback = type_answer(e, str(wrong))
                    diagnosis = e.quiz.session.history[-1]
                    assert name in diagnosis.misconceptions, (q, wrong, diagnosis.message)
                    assert "Not quite" in feedback and "Fix:" in feedback
                    assert f"gives {right}, not {wrong}" in feedback
                    assert_revealed(e)
                    seen += 1
                e.quiz.next_button.click()
                assert_hidden(e)
        finally:
            e.close()
    assert seen >= 3, f"only {seen} questions where {name} gives a wrong answer"


def test_a_right_answer_is_confirmed_and_reveals() -> None:
    e = quiz("padding_stride", seed=2)
    try:
        right = torch_answer(e.question)
        feedback = type_answer(e, f" {right} ")
        assert "✓" in feedback and f"Right: {right} cells" in feedback
        assert e.quiz.session.history[-1].misconceptions == ()
        assert_revealed(e)
        assert e.score == "1 of 1 right"
    finally:
        e.close()


def test_a_non_number_gets_the_sentence_and_keeps_the_answer_hidden() -> None:
    e = quiz("dilation", seed=5)
    try:
        for text in ("twelve", "2.5", "1e400", "-", "∞"):
            feedback = type_answer(e, text)
            assert "number" in feedback or "far from any output size" in feedback, feedback
            assert_hidden(e, typed=text)
            assert e._error_text is None  # a sentence in the feedback, not an error
        assert e.score == "0 of 0 right"
        e.quiz.answer_box.value = ""  # clearing the box checks nothing
        assert_hidden(e, typed="∞")
        assert "'∞' is not a number" in html.unescape(e.quiz.feedback.value)
    finally:
        e.close()


def test_enter_then_check_is_one_answer() -> None:
    e = quiz("plain", seed=1)
    try:
        type_answer(e, "3")
        e.quiz.check_button.click()  # the same text again: no second diagnosis
        assert len(e.quiz.session.history) == 1
        e.quiz.answer_box.value = str(torch_answer(e.question))
        e.quiz.check_button.click()
        assert len(e.quiz.session.history) == 2
        assert e.score == ("1 of 1 right" if e.quiz.session.history[0].correct else "0 of 1 right")
    finally:
        e.close()


# ---------------------------------------------------------------- score, next, harder, level
def test_score_counts_first_answers() -> None:
    e = quiz("plain", seed=3)
    try:
        right = torch_answer(e.question)
        type_answer(e, str(right + 5))
        type_answer(e, str(right))  # a second try gets feedback, not a point
        assert e.score == "0 of 1 right"
        assert "0 of 1 right" in e.quiz.score_label.value
        for _ in range(3):
            e.quiz.next_button.click()
            type_answer(e, str(torch_answer(e.question)))
        assert e.score == "3 of 4 right"
        assert "3 of 4 right" in e.quiz.score_label.value
    finally:
        e.close()


def test_same_again_harder() -> None:
    e = quiz("padding_stride", seed=6)
    try:
        type_answer(e, str(torch_answer(e.question)))
        e.quiz.harder_button.click()
        assert (e.question.level, e.question.difficulty) == ("padding_stride", 1)
        assert_hidden(e)
        assert e.quiz.answer_box.value == "" and e.quiz.feedback.value == ""
        e.quiz.harder_button.click()
        e.quiz.harder_button.click()  # past the top difficulty: the next level
        assert e.question.level == "dilation"
        assert e.quiz.level.value == "dilation"
        assert_hidden(e)
        assert e._error_text is None
    finally:
        e.close()


def test_level_dropdown_asks_at_that_level() -> None:
    e = quiz("plain", seed=7)
    try:
        type_answer(e, str(torch_answer(e.question)))
        for level in ("pooling", "transposed", "dilation"):
            e.quiz.level.value = level
            assert e.question.level == level
            assert_hidden(e)
            type_answer(e, str(torch_answer(e.question)))
            assert_revealed(e)
        assert e.score == "4 of 4 right"
    finally:
        e.close()


def test_after_the_reveal_the_sliders_move_and_next_hides_again() -> None:
    e = quiz("padding_stride", seed=8)
    try:
        type_answer(e, str(torch_answer(e.question)))
        e.stride.h.value = 1  # the learner explores: the stride (1-D: one slider a setting)
        q = e.question
        expected = int(nn.Conv1d(1, 1, q.kernel_size, 1, q.padding)(torch.zeros(1, 1, q.size)).shape[-1])
        assert e.output_size == (expected,)
        assert f"Output: {expected}</b>" in e.output_label.value
        e.quiz.next_button.click()
        assert_hidden(e)  # the new question's setting, whatever the sliders held
    finally:
        e.close()


def test_every_quiz_widget_has_a_cw_class() -> None:
    e = quiz("pooling", seed=0)
    try:
        classes = set()
        stack: list[W.Widget] = [e]
        while stack:
            w = stack.pop()
            own = [c for c in w._dom_classes if c.startswith("cw-")]
            assert own, f"{type(w).__name__} {getattr(w, 'description', '')!r} has no cw- class"
            classes.update(own)
            stack.extend(getattr(w, "children", ()))
        assert {c for c in CSS_CLASSES if c.startswith("cw-quiz")} <= classes
    finally:
        e.close()


# ---------------------------------------------------------------- refusals and cleanup
def test_a_bad_level_is_a_sentence() -> None:
    with pytest.raises(ValueError, match="level must be one of 'plain'.*not 'hard'"):
        ConvExplorer(quiz=True, level="hard")
    e = ConvExplorer()
    try:
        with pytest.raises(ValueError, match=r"answer\(\) is for a quiz"):
            e.answer(3)
        assert e.question is None and e.score is None and e.revealed
    finally:
        e.close()


def test_close_releases_every_widget() -> None:
    from ipywidgets.widgets.widget import _instances  # Widget.widgets, without its deprecation

    quiz("plain", seed=0).close()  # first use: imports and module-level widgets settle
    before = len(_instances)
    e = quiz("pooling", seed=9)
    type_answer(e, "1")
    e.quiz.next_button.click()
    e.quiz.harder_button.click()
    e.quiz.level.value = "transposed"
    type_answer(e, str(torch_answer(e.question)))
    assert len(_instances) > before
    e.close()
    assert len(_instances) == before


def test_nothing_escapes_a_quiz_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    e = quiz("plain", seed=2)
    try:
        def broken(value: object) -> None:
            raise RuntimeError("the session broke")

        monkeypatch.setattr(e.quiz.session, "answer", broken)
        type_answer(e, "4")  # raises inside the callback: shown, not raised
        assert "Internal error (please report it): RuntimeError: the session broke" in e.error_box.value
        assert e.error_box.layout.display == ""
        monkeypatch.undo()
        e.quiz.next_button.click()
        type_answer(e, str(torch_answer(e.question)))
        assert_revealed(e)
    finally:
        e.close()
