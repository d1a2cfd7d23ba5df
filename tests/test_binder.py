"""The Binder configuration installs into a fresh virtual environment and runs the tutorials.

Nothing here can build a repo2docker image (no Docker engine), so this does what repo2docker's
Python build pack does for ``binder/requirements.txt``: from a copy of the repository root as
the working directory, ``pip install -r binder/requirements.txt`` into a new environment — here
a fresh venv, with ``--retries 0`` so PyTorch's CPU index, unreachable from this machine, costs
one failed request per package instead of minutes of retries — and then executes every notebook
in that environment, importing the *installed* package (not the checkout).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# repo2docker picks the first of these it finds; any of them would shadow requirements.txt.
SHADOWING = ("Dockerfile", "environment.yml", "Pipfile", "Pipfile.lock", "Project.toml",
             "REQUIRE", "install.R", "DESCRIPTION", "setup.py")


def _requirement_lines() -> list[str]:
    text = (BINDER / "requirements.txt").read_text()
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_binder_uses_the_requirements_build_pack_with_python_3_11() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    assert not (REPO / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"
    assert [name for name in SHADOWING if (BINDER / name).exists()] == []
    for script in ("postBuild", "start"):
        if (BINDER / script).exists():
            assert os.access(BINDER / script, os.X_OK), f"binder/{script} must be executable"


def test_binder_installs_the_checkout_and_a_cpu_torch_pinned_like_ci() -> None:
    lines = _requirement_lines()
    # "." is resolved against the working directory, which repo2docker sets to the repository
    # root; a local reference also makes it install after copying the whole repository.
    assert "." in lines
    assert f"--extra-index-url={TORCH_CPU_INDEX}" in lines
    torch_pins = [line for line in lines if re.match(r"torch\b", line)]
    assert len(torch_pins) == 1 and re.fullmatch(r"torch==[\d.]+", torch_pins[0]), torch_pins
    constraints = (REPO / "constraints.txt").read_text().split()
    assert torch_pins[0] in constraints, "Binder and CI should run the same torch"


def test_readme_binder_links_open_an_existing_notebook() -> None:
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s\]]+", readme)
    assert links, "README.md has no Binder badge"
    for link in links:
        found = re.search(r"[?&]urlpath=(?:lab/tree|voila/render)/(notebooks/[^&#]+\.ipynb)", link)
        assert found, f"{link} does not open a notebook (?urlpath=lab/tree/notebooks/...)"
        assert (REPO / found.group(1)).is_file(), link


def _copy_checkout(target: Path) -> Path:
    junk = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.egg-info", "build",
                                  "dist", "artifacts", ".pytest_cache", ".hypothesis",
                                  ".ipynb_checkpoints")
    return Path(shutil.copytree(REPO, target, ignore=junk))


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "MPLBACKEND", "JUPYTER_PATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "MPLCONFIGDIR"):
        path = tmp / name.lower()
        path.mkdir(exist_ok=True)
        env[name] = str(path)
    return env


RUN_NOTEBOOKS = textwrap.dedent("""
    import sys, time
    import nbformat
    from nbclient import NotebookClient
    import convwidget, torch

    assert convwidget.__file__.startswith(sys.prefix), convwidget.__file__
    assert torch.version.cuda is None, torch.__version__
    for path in sys.argv[1:]:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
        print(f"{path}: ran in {time.perf_counter() - start:.1f} s")
""")


@pytest.mark.slow
def test_binder_requirements_install_into_a_fresh_venv_and_run_every_notebook(tmp_path: Path) -> None:
    assert NOTEBOOKS, "no notebooks found"
    checkout = _copy_checkout(tmp_path / "checkout")
    env = _clean_env(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    # repo2docker's base environment brings Jupyter; a fresh venv needs the kernel and a runner.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--retries", "0", "--timeout", "20",
         "-r", "binder/requirements.txt", "ipykernel", "nbclient"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    script = tmp_path / "run_notebooks.py"
    script.write_text(RUN_NOTEBOOKS)
    run = subprocess.run(
        [str(python), str(script), *(nb.name for nb in NOTEBOOKS)],
        # the notebooks' own folder, as on Binder; it holds no convwidget package to shadow the
        # installed one
        cwd=checkout / "notebooks", env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert run.stdout.count("ran in") == len(NOTEBOOKS), run.stdout
