"""The built distributions hold what they should.

Builds the sdist and then the wheel from the unpacked sdist (what ``python -m build`` does by
default, and what a user's pip does with the sdist), once for this module, from a copy of the
checkout so that no build output lands in the repository. The build runs in an isolated
environment with the backend that ``[build-system]`` asks for: a fresh virtual environment's
own setuptools (65 with Python 3.11) is too old for an SPDX ``license`` string, and is not used.

The wheel must ship every module of the source tree (a new subpackage cannot be forgotten), the
``py.typed`` marker and the LICENSE, with complete metadata, and nothing else; the sdist must
carry what its tests need.
"""

from __future__ import annotations

import email.parser
import email.policy
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

import convwidget

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "convwidget"
HOME = "https://github.com/convwidget/convwidget"
JUNK = ("__pycache__", "*.pyc", ".git", ".venv", "venv", "*.egg-info", "build", "dist", "artifacts",
        ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints")


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path
    log: str


def _only(paths: list[Path], what: str) -> Path:
    assert len(paths) == 1, f"expected one {what}, found {[p.name for p in paths]}"
    return paths[0]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    tmp = tmp_path_factory.mktemp("dists")
    checkout = Path(shutil.copytree(REPO, tmp / "checkout", ignore=shutil.ignore_patterns(*JUNK)))
    out = tmp / "out"
    run = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(checkout)],
        capture_output=True, text=True, timeout=600,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, (
        "python -m build failed (the `build` package comes with the test extra: "
        f'pip install -c constraints.txt -e ".[test]"):\n{log[-4000:]}'
    )
    return Dists(_only(sorted(out.glob("*.whl")), "wheel"), _only(sorted(out.glob("*.tar.gz")), "sdist"),
                 log)


def _wheel_names(dists: Dists) -> set[str]:
    with zipfile.ZipFile(dists.wheel) as whl:
        return {name for name in whl.namelist() if not name.endswith("/")}


def _dist_info(dists: Dists) -> str:
    return f"convwidget-{convwidget.__version__}.dist-info"


def _metadata(dists: Dists) -> Message:
    with zipfile.ZipFile(dists.wheel) as whl:
        text = whl.read(f"{_dist_info(dists)}/METADATA").decode()
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text)


def _sdist_names(dists: Dists) -> set[str]:
    prefix = f"convwidget-{convwidget.__version__}/"
    with tarfile.open(dists.sdist) as sdist:
        names = [member.name for member in sdist.getmembers() if member.isfile()]
    assert all(name.startswith(prefix) for name in names), names
    return {name.removeprefix(prefix) for name in names}


def _source_files(folder: Path, pattern: str) -> set[str]:
    return {path.relative_to(REPO).as_posix() for path in folder.rglob(pattern)
            if not {"__pycache__", ".ipynb_checkpoints", "artifacts"} & set(path.parts)}


def test_the_version_is_written_once_in_the_package() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"], "the version belongs in convwidget/__init__.py only"
    assert "version" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "convwidget.__version__"}


@pytest.mark.slow
def test_the_build_gives_no_deprecation_or_manifest_warning(dists: Dists) -> None:
    assert "SetuptoolsDeprecationWarning" not in dists.log, dists.log[-4000:]
    deprecated = [line for line in dists.log.lower().splitlines() if "deprecat" in line]
    assert deprecated == [], deprecated
    stale = [line for line in dists.log.splitlines() if "no files found matching" in line]
    assert stale == [], f"MANIFEST.in names files that do not exist: {stale}"


@pytest.mark.slow
def test_the_wheel_ships_every_module_of_the_source_tree_and_nothing_else(dists: Dists) -> None:
    names = _wheel_names(dists)
    shipped = {name for name in names if name.endswith(".py")}
    expected = _source_files(PACKAGE, "*.py")
    assert expected - shipped == set(), "modules missing from the wheel (packages.find in pyproject)"
    assert shipped - expected == set(), "the wheel ships modules the source tree does not have"
    assert "convwidget/py.typed" in names
    # tests, notebooks, docs and benchmarks stay out: only the package and its metadata
    outside = {name for name in names
               if not name.startswith(("convwidget/", f"{_dist_info(dists)}/"))}
    assert outside == set(), outside


@pytest.mark.slow
def test_the_wheel_carries_the_license_file(dists: Dists) -> None:
    path = f"{_dist_info(dists)}/licenses/LICENSE"
    with zipfile.ZipFile(dists.wheel) as whl:
        assert path in whl.namelist(), sorted(whl.namelist())
        text = whl.read(path).decode()
    assert text == (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the convwidget developers" in text


@pytest.mark.slow
def test_the_wheel_metadata_is_complete(dists: Dists) -> None:
    meta = _metadata(dists)
    assert meta["Name"] == "convwidget"
    assert meta["Version"] == convwidget.__version__
    assert tuple(int(n) for n in meta["Metadata-Version"].split(".")) >= (2, 4)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta["Requires-Python"] == ">=3.10"
    classifiers = set(meta.get_all("Classifier") or [])
    assert {
        "Framework :: Jupyter",
        "Intended Audience :: Education",
        "Intended Audience :: Science/Research",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Typing :: Typed",
    } <= classifiers
    # PEP 639: a license expression replaces the License :: classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert set(urls) >= {"Homepage", "Source", "Issues", "Documentation", "Changelog"}, urls
    assert all(url.startswith(HOME) for url in urls.values()), urls
    assert meta["Keywords"] and "pytorch" in meta["Keywords"].split(",")
    assert "# convwidget" in meta.get_payload()  # the README is the long description


@pytest.mark.slow
def test_the_wheel_installs_the_command_line_entry_point(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as whl:
        entry_points = whl.read(f"{_dist_info(dists)}/entry_points.txt").decode()
    assert "[console_scripts]" in entry_points
    assert "convwidget = convwidget.cli:main" in entry_points


@pytest.mark.slow
def test_the_sdist_carries_what_its_tests_need(dists: Dists) -> None:
    names = _sdist_names(dists)
    needed = {
        "tests/models.py", "tests/conftest.py", "pyproject.toml", "README.md", "LICENSE",
        "CHANGELOG.md", "CONTRIBUTING.md", "constraints.txt", "MANIFEST.in", ".ci/run",
        "binder/requirements.txt", "binder/runtime.txt",
    }
    needed |= _source_files(REPO / "tests", "*.py") | _source_files(REPO / "tests", "*.txt")
    needed |= _source_files(REPO / "notebooks", "*.ipynb")
    needed |= _source_files(REPO / "docs", "*.png") | _source_files(REPO / "docs", "*.md")
    needed |= _source_files(REPO / "benchmarks", "*.py")
    needed |= _source_files(PACKAGE, "*.py") | {"convwidget/py.typed"}
    assert needed - names == set(), "files missing from the sdist (MANIFEST.in)"
    assert not [name for name in names if name.startswith("tests/artifacts/") or name.endswith(".pyc")]
