"""The README never lies: CI runs the README's test command, verbatim."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _last_command(script: str) -> str:
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[-1]


def test_ci_runs_the_readme_test_command():
    command = _last_command((ROOT / ".ci" / "run").read_text())
    assert "pytest" in command
    readme = (ROOT / "README.md").read_text()
    assert f"\n{command}\n" in readme, f"README.md does not show CI's command: {command}"


def test_readme_tutorial_command_names_a_real_notebook():
    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if "jupyter lab" in ln and "notebooks/" in ln)
    path = line.split("notebooks/", 1)[1].split()[0]
    assert (ROOT / "notebooks" / path).is_file()
