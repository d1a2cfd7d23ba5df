"""The README never lies: CI runs the README's test command, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW_MAIN = "https://raw.githubusercontent.com/convwidget/convwidget/main/"


def _commands(script: str) -> list[str]:
    return [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _test_command(script: str) -> str:
    """The one line of .ci/run that runs pytest."""
    lines = [ln for ln in _commands(script) if "pytest" in ln]
    assert len(lines) == 1, f".ci/run should run pytest on exactly one line, not {lines}"
    return lines[0]


def _function_of(script: str, command: str) -> str | None:
    """The shell function whose body holds ``command``, or None at the top level."""
    name = None
    for line in script.splitlines():
        opened = re.fullmatch(r"([A-Za-z_]\w*)\(\)\s*\{", line.strip())
        if opened:
            name = opened.group(1)
        elif line.strip() == "}":
            name = None
        elif line.strip() == command:
            return name
    raise AssertionError(f"{command!r} not found in .ci/run")


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    command = _test_command(script)
    assert "pytest" in command
    readme = (ROOT / "README.md").read_text()
    assert f"\n{command}\n" in readme, f"README.md does not show CI's command: {command}"
    # and CI really executes it: at the top level, or in a function that the top level calls
    function = _function_of(script, command)
    if function is not None:
        assert function in _commands(script), f".ci/run defines {function}() but never calls it"


def test_readme_tutorial_command_names_a_real_notebook():
    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if "jupyter lab" in ln and "notebooks/" in ln)
    path = line.split("notebooks/", 1)[1].split()[0]
    assert (ROOT / "notebooks" / path).is_file()


def test_readme_images_are_absolute_links_to_files_of_the_repository():
    # relative image paths break on the package index page, where the README is shown too
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    assert images, "README.md shows no image"
    for url in images:
        if "mybinder.org" in url:  # the Binder badge
            continue
        assert url.startswith(RAW_MAIN), f"{url} should be {RAW_MAIN}<path> to render on PyPI"
        assert (ROOT / url.removeprefix(RAW_MAIN)).is_file(), f"{url} names no file of the repo"


def test_readme_cpu_torch_command_installs_the_pinned_torch():
    readme = (ROOT / "README.md").read_text()
    pins = re.findall(r"^torch==\S+$", (ROOT / "constraints.txt").read_text(), flags=re.M)
    assert len(pins) == 1, pins
    cpu = [ln for ln in readme.splitlines() if "download.pytorch.org/whl/cpu" in ln]
    assert cpu, "README.md should say how to get PyTorch's CPU build on Linux"
    assert all(pins[0] in ln.split() for ln in cpu), (pins, cpu)
