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
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
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


@dataclass
class BinderEnv:
    root: Path          # the copied checkout, as repo2docker sees the repository
    python: Path        # the fresh venv's interpreter
    env: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    tmp = tmp_path_factory.mktemp("binder")
    checkout = _copy_checkout(tmp / "checkout")
    env = _clean_env(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    # repo2docker's base environment brings Jupyter; a fresh venv needs the kernel and a runner.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--retries", "0", "--timeout", "20",
         "-r", "binder/requirements.txt", "ipykernel", "nbclient"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return BinderEnv(checkout, python, env, tmp)


@pytest.mark.slow
def test_binder_requirements_install_into_a_fresh_venv_and_run_every_notebook(
    binder_env: BinderEnv,
) -> None:
    assert NOTEBOOKS, "no notebooks found"
    script = binder_env.tmp / "run_notebooks.py"
    script.write_text(RUN_NOTEBOOKS)
    run = subprocess.run(
        [str(binder_env.python), str(script), *(nb.name for nb in NOTEBOOKS)],
        # the notebooks' own folder, as on Binder; it holds no convwidget package to shadow the
        # installed one
        cwd=binder_env.root / "notebooks", env=binder_env.env, capture_output=True, text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert run.stdout.count("ran in") == len(NOTEBOOKS), run.stdout


@pytest.mark.slow
@pytest.mark.browser
def test_binder_voila_serves_the_explorer_app_and_its_slider_works(binder_env: BinderEnv) -> None:
    """The Voila link (?urlpath=voila/render/notebooks/explorer_app.ipynb): the app renders
    from the Binder environment and a slider still drives the calculator."""
    from test_notebooks_browser import _free_port, _require_browser, start_browser

    _require_browser()
    from playwright.sync_api import sync_playwright

    port = _free_port()
    log = binder_env.tmp / "voila.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(binder_env.python), "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
             f"--port={port}", "--show_tracebacks=True", "explorer_app.ipynb"],
            cwd=binder_env.root / "notebooks", env=binder_env.env, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    # its own Playwright, stopped before the test ends: a started sync API keeps an asyncio
    # loop running that later tests' asyncio.run() would trip over
    try:
        with sync_playwright() as playwright:
            browser = start_browser(playwright)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 2000})
                deadline = time.monotonic() + 60
                while True:                      # until Voila answers on its port
                    try:
                        page.goto(f"http://127.0.0.1:{port}/")
                        break
                    except Exception:
                        assert server.poll() is None, log.read_text(errors="replace")[-3000:]
                        assert time.monotonic() < deadline, "Voila did not answer in 60 s"
                        time.sleep(0.3)
                label = page.locator(".cw-explorer .cw-output-size")
                label.wait_for(timeout=60_000)
                assert "4 × 4" in label.inner_text()           # 7×7, kernel 3, stride 2, padding 1
                page.locator(".cw-explorer .cw-kernel-h .noUi-handle").focus()
                page.keyboard.press("ArrowRight")               # kernel 4: ⌊(7 + 2 − 4) / 2⌋ + 1
                page.wait_for_function(
                    "() => document.querySelector('.cw-explorer .cw-output-size')"
                    ".innerText.includes('3 × 3')", timeout=15_000)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        # Voila's kernels run in their own sessions: end the ones it started, by their PIDs.
        import psutil

        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if cmdline[:1] and cmdline[0].startswith(str(binder_env.python.parent)) \
                    and "ipykernel_launcher" in cmdline:
                proc.kill()
