"""The tutorials read as lessons: goal first, exercises that ask before they tell, proofs folded away.

nbval runs every cell (``python -m pytest notebooks/NAME.ipynb``); these tests read the saved
notebooks and check what makes them lessons, and that each exercise's folded solution states
the answer real PyTorch gives.
"""

from __future__ import annotations

import ast
import base64
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from convwidget.quiz.widget import QuestionExercise, predict

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("0[1-6]_*.ipynb"))
WIDGETS = ("ConvExplorer(", "ModelExplorer(", "predict(", "predict_in_features(", "predict_number(")


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _hidden(cell) -> bool:
    return bool(cell.metadata.get("jupyter", {}).get("source_hidden")) and "hide-input" in cell.metadata.get(
        "tags", [])


def _exercises(cells: list) -> list[int]:
    return [i for i, c in enumerate(cells) if c.cell_type == "code"
            and re.search(r"^(predict|predict_in_features|predict_number)\(", c.source, re.M)]


def test_there_are_six_lessons() -> None:
    assert [p.name[:2] for p in LESSONS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_a_lesson_opens_with_its_goal_time_and_assumptions(path: Path) -> None:
    first = _cells(path)[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    for label in ("**Goal:**", "**Time:**", "**Assumes:**"):
        assert label in first.source, label
    assert re.search(r"\*\*Time:\*\* about \d+ minutes", first.source)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_at_least_three_exercises_each_with_a_folded_solution(path: Path) -> None:
    cells = _cells(path)
    exercises = _exercises(cells)
    assert len(exercises) >= 3
    fixed = [i for i in exercises if "level=" not in cells[i].source]
    assert len(fixed) >= 3
    for i in fixed:
        after = [c for c in cells[i + 1:i + 4] if c.cell_type == "markdown"]
        assert any(c.source.startswith("<details>") for c in after), cells[i].source


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_proving_asserts_are_folded_away(path: Path) -> None:
    cells = _cells(path)
    for cell in cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse("\n".join(ln for ln in cell.source.splitlines() if not ln.startswith("%")))
        has_assert = any(isinstance(node, ast.Assert) for node in ast.walk(tree))
        assert _hidden(cell) or not has_assert, cell.source
        if cell.metadata.get("jupyter", {}).get("source_hidden"):
            assert _hidden(cell), cell.source
    assert sum(_hidden(c) for c in cells) >= 3


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_widget_cells_show_a_saved_picture_and_are_not_compared(path: Path) -> None:
    for cell in _cells(path):
        if cell.cell_type != "code" or not any(w in cell.source for w in WIDGETS) or _hidden(cell):
            continue
        if "import" in cell.source:
            continue
        assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source
        pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert pngs, f"no saved picture for: {cell.source}"
        assert base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")
        assert cell.execution_count is not None  # nbval refuses saved outputs of an unrun cell


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebooks_need_nothing_binder_lacks(path: Path) -> None:
    for cell in _cells(path):
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(import|from) (pytest|hypothesis)\b", cell.source, re.M), cell.source


def _torch_length(ex: QuestionExercise) -> int:
    q = ex.question
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


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_output_size_solutions_state_what_torch_gives(path: Path) -> None:
    cells = _cells(path)
    for i in _exercises(cells):
        source = cells[i].source
        if not source.startswith("predict(") or "level=" in source:
            continue
        ex = eval(source, {"predict": predict})  # a literal predict(...) call of this repository
        real = _torch_length(ex)
        solution = next(c.source for c in cells[i + 1:i + 4] if c.source.startswith("<details>"))
        assert f"**{real} cells.**" in solution, (source, real)
        ex.answer_box.value = str(real)
        ex.check_button.click()
        assert ex.feedback_text.startswith(f"✓ Right: {real} cells"), source


def test_what_the_browser_tests_rely_on() -> None:
    """tests/test_notebooks_browser.py finds one ConvExplorer in 01 left at 5×5, k3, s2, p1 (3 × 3),
    and 05's ModelExplorer on the forum post answering 4096."""
    first = [c.source for c in _cells(LESSONS[0]) if "ConvExplorer(" in c.source]
    assert first == ['explorer = convwidget.ConvExplorer(kind="conv", input_size=(5, 5), kernel_size=3, '
                     'stride=2, padding=1)\nexplorer']
    assert any("explorer.set(kernel_size=3, stride=2)" in c.source for c in _cells(LESSONS[0]))
    fifth = "\n".join(c.source for c in _cells(LESSONS[4]))
    assert "convwidget.ModelExplorer(forum_post, (1, 3, 32, 32))" in fifth
    assert "nn.Linear(4096, 1024)" in fifth


def test_the_teaching_guide_links_every_lesson_on_binder() -> None:
    guide = (REPO / "docs" / "teaching.md").read_text()
    readme = (REPO / "README.md").read_text()
    badge = re.search(r"\((https://mybinder\.org/v2/gh/[^)?]+)\?urlpath=lab/tree/notebooks/", readme)
    assert badge
    for path in LESSONS:
        assert f"{badge.group(1)}?urlpath=lab/tree/notebooks/{path.name}" in guide, path.name
    assert "50" in guide and "minutes" in guide
    assert "ConvExplorer(" in guide
