"""The answer widget of the tutorials (convwidget.quiz.widget), without a kernel.

A learner's entry is set on the box and the Check button clicked (``button.click()`` runs
the same handlers a browser click does); the feedback must confirm what real PyTorch gives
and name the misconception behind a wrong answer.
"""

from __future__ import annotations

import html
import random
import subprocess
import sys

import pytest
import torch
from torch import nn

from convwidget.quiz import LEVELS, MAIN_MISTAKES, Question, misconception, propose
from convwidget.quiz.widget import Exercise, Feedback, predict, predict_in_features


def torch_answer(q: Question) -> int:
    """The output length real PyTorch gives for a question's layer."""
    k, s, p, d = q.kernel_size, q.stride, q.padding, q.dilation
    layer: nn.Module
    if q.kind == "conv":
        layer = nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d)
    elif q.kind == "conv_transpose":
        layer = nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=q.output_padding, dilation=d)
    elif q.kind == "max_pool":
        layer = nn.MaxPool1d(k, stride=s, padding=p, dilation=d, ceil_mode=q.ceil_mode)
    else:
        layer = nn.AvgPool1d(k, stride=s, padding=p, ceil_mode=q.ceil_mode)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, q.size)).shape[-1]


def answer(ex: Exercise, text: str) -> str:
    ex.answer_box.value = text
    ex.check_button.click()
    return ex.feedback_text


@pytest.mark.parametrize("level", LEVELS)
def test_right_answer_from_torch_is_confirmed_and_revealed(level: str) -> None:
    rng = random.Random(level)
    for _ in range(15):
        q = propose(level, rng, difficulty=rng.randrange(3))
        ex = predict(q)
        assert not ex.revealed
        real = torch_answer(q)
        text = answer(ex, f" {real} ")
        assert text.startswith(f"✓ Right: {real} cells"), text
        assert ex.last is not None and ex.last.correct is True
        assert ex.revealed and f"<b>{real} cells.</b>" in ex.solution.value
        assert q.derivation.split(" = ")[-1] == str(real)
        assert "cw-feedback-right" in ex.feedback._dom_classes


@pytest.mark.parametrize("level", LEVELS)
def test_each_main_mistake_is_named_with_its_fix(level: str) -> None:
    """A wrong answer typed in gets the title of the misconception that gives it, and its fix."""
    rng = random.Random(f"mistakes-{level}")
    seen: set[str] = set()
    for _ in range(25):
        q = propose(level, rng, difficulty=rng.randrange(3))
        real = torch_answer(q)
        for name in MAIN_MISTAKES[level] + ("ceil_mode_without_drop",):
            m = misconception(name)
            wrong = m.value(q)
            if wrong is None or wrong == real:
                continue
            ex = predict(q)
            text = answer(ex, str(wrong))
            assert text.startswith(f"Not quite: {q.layer} on {q.size} cells gives {real}, not {wrong}."), text
            assert f"“{m.title}”" in text and m.fix_term(q) in text, (name, text)
            assert f"<b>{html.escape(m.title)}</b>" in ex.feedback.value
            assert ex.last is not None and ex.last.correct is False and not ex.revealed
            assert "cw-feedback-wrong" in ex.feedback._dom_classes
            seen.add(name)
    assert set(MAIN_MISTAKES[level]) <= seen | {"ceil_instead_of_floor"}, seen


def test_an_unknown_wrong_answer_says_so_and_shows_the_formula() -> None:
    q = Question("dilation", "conv", size=20, kernel_size=3, stride=1, dilation=2)
    assert torch_answer(q) == 16
    text = answer(predict(q), "7")
    assert "7 matches none of the usual mistakes" in text and q.derivation in text


@pytest.mark.parametrize("entry, says", [
    ("sixteen", "is not a number"),
    ("2.5", "whole number of cells, not 2.5"),
    ("1e400", "far from any output size"),
    ("9" * 5000, "far from any output size"),
    ("-3", "A size is never negative"),
    ("0", "An output has at least 1 cell"),
])
def test_a_bad_entry_gets_a_sentence_not_a_traceback(entry: str, says: str) -> None:
    ex = predict(size=20, kernel_size=3, dilation=2)
    text = answer(ex, entry)
    assert says in text and "Traceback" not in text
    assert not ex.revealed


def test_an_emptied_box_says_nothing_and_a_crashing_checker_says_a_sentence() -> None:
    ex = predict(size=10, kernel_size=3)
    assert answer(ex, "   ") == "" and ex.last is None

    def broken(text: str) -> Feedback:
        raise RuntimeError("checker broke")

    ex = Exercise("2 + 2?", broken, "<b>4</b>")
    text = answer(ex, "4")
    assert text.startswith("This answer could not be checked (RuntimeError: checker broke)")
    assert ex.revealed


def test_show_the_answer_reveals_the_worked_formula_and_the_torch_line() -> None:
    ex = predict(size=11, kernel_size=3, stride=2, padding=1)
    ex.reveal_button.click()
    assert ex.revealed
    assert "⌊(11 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 6" in ex.solution.value
    assert "nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)(torch.zeros(1, 1, 11))" in ex.solution.value
    assert nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)(torch.zeros(1, 1, 11)).shape[-1] == 6


def test_level_mode_keeps_score_and_goes_harder() -> None:
    ex = predict(level="plain", seed=3)
    first = ex.question
    assert answer(ex, str(torch_answer(first) - 1)).startswith("Not quite")
    assert "0 of 1 right" in ex.score.value
    ex.next_button.click()
    assert ex.answer_box.value == "" and ex.feedback_text == "" and not ex.revealed
    assert answer(ex, str(torch_answer(ex.question))).startswith("✓ Right")
    assert "1 of 2 right" in ex.score.value
    ex.harder_button.click()
    assert (ex.question.level, ex.question.difficulty) == ("plain", 1 + first.difficulty)
    assert ex.question.prompt.split(". How")[0] in ex.prompt.value


def test_css_classes_and_theme_colours() -> None:
    ex = predict(level="pooling", seed=0)
    classes = {c for w in (ex, ex.prompt, ex.answer_box, ex.check_button, ex.reveal_button, ex.feedback,
                           ex.solution, ex.next_button, ex.harder_button, ex.score) for c in w._dom_classes}
    assert {"cw-exercise", "cw-exercise-prompt", "cw-exercise-answer", "cw-exercise-check",
            "cw-exercise-reveal", "cw-exercise-feedback", "cw-exercise-solution", "cw-exercise-next",
            "cw-exercise-harder", "cw-exercise-score"} <= classes
    answer(ex, "1")
    assert "var(--jp-ui-font-color1" in ex.feedback.value and "var(--jp-layout-color2" in ex.feedback.value
    assert "cw-explorer" not in classes  # the browser tests find the ConvExplorer by that class


def test_predict_refuses_mixed_arguments_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="not several of them"):
        predict(level="plain", size=10, kernel_size=3)
    with pytest.raises(ValueError, match="size= and kernel_size="):
        predict(stride=2)
    with pytest.raises(ValueError, match="kernel spans 5 cells"):
        predict(size=3, kernel_size=5)


def test_static_picture_is_a_png() -> None:
    png = predict(size=10, kernel_size=3).to_png()
    assert png.startswith(b"\x89PNG") and len(png) > 2000


class Cifar(nn.Module):
    """The forum CIFAR-10 net of notebook 05 (its conv part), flattened into fc."""

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = 3
        for out in (32, 64, 128, 256):
            blocks += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels = out
        self.conv = nn.Sequential(*blocks[:-3], *blocks[-3:-1])  # the last block without its pool
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(1024, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv(x))
        return self.fc(torch.flatten(x, 1))


def test_in_features_checked_by_the_tracer_against_torch() -> None:
    model = Cifar().eval()
    with torch.no_grad():
        flat = torch.flatten(model.pool(model.conv(torch.zeros(2, 3, 32, 32))), 1)
        before_pool = model.conv(torch.zeros(2, 3, 32, 32))
    right = flat.shape[1]
    assert right == 256 * 2 * 2
    ex = predict_in_features(model, (2, 3, 32, 32))
    assert answer(ex, str(right)).startswith(f"✓ Right: fc (the Linear) needs in_features = {right} = 256 "
                                             "channels × 2 × 2")
    assert ex.revealed
    ex = predict_in_features(model, (2, 3, 32, 32))
    cases = {
        "256": "is the channels alone",
        "4": "is one channel's 2 × 2 map",
        str(2 * right): "counts the batch of 2 too",
        str(before_pool[0].numel()): "uses the size after conv.10 (ReLU), 4 × 4",
        "1000": "matches none of the usual mistakes",
        "256 x 2": "matches none",
        "12ab": "is not a number",
    }
    for entry, says in cases.items():
        text = answer(ex, entry)
        assert says in text, (entry, text)
        assert not ex.revealed
    assert answer(ex, "256*2*2").startswith("✓ Right")


def test_in_features_refuses_a_model_without_that_linear() -> None:
    with pytest.raises(ValueError, match="no nn.Linear to ask about"):
        predict_in_features(nn.Sequential(nn.Conv2d(1, 1, 3)), (1, 1, 8, 8))
    with pytest.raises(ValueError, match="no Linear named 'head'"):
        predict_in_features(Cifar(), (1, 3, 32, 32), linear="head")


def test_importing_the_quiz_does_not_import_ipywidgets() -> None:
    code = ("import sys, convwidget.quiz; "
            "print(sorted(m for m in ('ipywidgets', 'torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_widget_names_load_lazily_from_the_quiz_package() -> None:
    import convwidget.quiz as quiz

    assert quiz.predict is predict
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        quiz.nothing  # noqa: B018 (the attribute access is the test)


def test_a_number_exercise_names_its_mistakes_and_refuses_text_with_a_sentence() -> None:
    from convwidget.quiz.widget import predict_number

    ex = predict_number("Taps?", 2, "<b>2</b>", {1: "1 is the edge cell's count."}, what="a tap count")
    assert answer(ex, "1") == "Not quite: 1 is the edge cell's count."
    assert answer(ex, "3").startswith("Not quite: 3 matches none of the usual mistakes")
    assert answer(ex, "two").startswith("'two' is not a number: type a tap count as a whole number")
    assert not ex.revealed
    assert answer(ex, "2") == "✓ Right: 2." and ex.revealed


def test_in_features_names_the_number_the_model_declares() -> None:
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 120))
    with torch.no_grad():
        right = lenet[:7](torch.zeros(1, 1, 28, 28)).shape[1]
    ex = predict_in_features(lenet, (1, 1, 28, 28))
    assert "400 is what the model declares now" in answer(ex, "400")
    assert answer(ex, str(right)) == (f"✓ Right: 7 (the Linear) needs in_features = {right} = 16 channels "
                                      "× 4 × 4.")
