"""The command line's refusals: every bad flag, file or model is exit status 2 and one line.

In-process through ``convwidget.cli.main`` (what ``python -m convwidget`` runs), so the
matrix stays fast; one subprocess checks the real entry point.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from convwidget.cli import main

MODEL = "nn.Conv2d(3, 8, 3)\nnn.Flatten()\nnn.Linear(8 * 30 * 30, 10)\n"
USER_MODULE = '''
import torch
from torch import nn


class Boom(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("no weights file\\nsecond line")


class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()


def scripted():
    return torch.jit.script(nn.Sequential(nn.Linear(4, 2)))


not_a_model = 42
'''


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "model.txt").write_text(MODEL)
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x01\x80" * 100)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "prose.txt").write_text("my model does not work, please help\n")
    (tmp_path / "usermodels.py").write_text(USER_MODULE)
    (tmp_path / "broken_import.py").write_text("raise ImportError('needs a GPU build')\n")
    (tmp_path / "broken_other.py").write_text("1 / 0\n")
    (tmp_path / "adir").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


BAD: list[tuple[list[str], str]] = [
    # flags
    (["trace", "model.txt"], "the following arguments are required: --input"),
    (["trace", "--input", "1,3,32,32"], "the following arguments are required: FILE"),
    (["trace", "model.txt", "--input", "1,3,32,32", "--bogus"], "unrecognized arguments: --bogus"),
    (["trace", "model.txt", "--input"], "expected one argument"),
    (["trace", "model.txt", "--input", "1,3,32,32,x"], "part 5 of '1,3,32,32,x' is empty"),
    (["trace", "model.txt", "--input", "1,3,,32"], "part 3 of '1,3,,32' is empty"),
    (["trace", "model.txt", "--input", "1,3,32,"], "part 4 of '1,3,32,' is empty"),
    (["trace", "model.txt", "--input", ""], "no number given"),
    (["trace", "model.txt", "--input", "1,3,32.5,32"], "'32.5' is not a whole number"),
    (["trace", "model.txt", "--input", "1,3,-32,32"], "'-32' is negative"),
    (["trace", "model.txt", "--input", "1,3,10^100,32"],
     "'10^100' is a power, not a number written in digits, and more than any tensor dimension"),
    (["trace", "model.txt", "--input", "1,3,2**5,32"], "'2**5' is a power, not a number written in "
                                                      "digits: write 32"),
    (["trace", "model.txt", "--input", "1,3," + "9" * 30 + ",32"], "more than the 2**48"),
    (["trace", "model.txt", "--input", "1,3,1099511627776,1099511627776"], "more than the 2**48"),
    (["trace", "model.txt", "--input", "3,32,32", "--sizes", "--sizes=1"], "--sizes"),
    (["size", "thirty", "--kernel", "3"], "'thirty' is not a size"),
    (["size", "10^100", "--kernel", "3"], "'10^100' is a power"),
    (["size", "32,,32", "--kernel", "3"], "part 2 of '32,,32' is empty"),
    (["nothing"], "invalid choice: 'nothing'"),
    ([], "the following arguments are required: command"),
    # files
    (["trace", "nowhere/model.txt", "--input", "1,3,32,32"], "cannot load a model from 'nowhere/model.txt'"),
    (["trace", "adir", "--input", "1,3,32,32"], "cannot load a model from 'adir'"),
    (["trace", "binary.txt", "--input", "1,3,32,32"], "cannot load a model from 'binary.txt'"),
    (["trace", "empty.txt", "--input", "1,3,32,32"], "cannot load a model from 'empty.txt'"),
    (["trace", "prose.txt", "--input", "1,3,32,32"], "cannot load a model from 'prose.txt'"),
    # models
    (["trace", "usermodels:Boom", "--input", "1,3"],
     "RuntimeError: no weights file"),
    (["trace", "usermodels:NeedsArgs", "--input", "1,3"], "cannot be built with no arguments"),
    (["trace", "usermodels:not_a_model", "--input", "1,3"], "is not an nn.Module class"),
    (["trace", "usermodels:Missing", "--input", "1,3"], "has no 'Missing'"),
    (["trace", "broken_import:Net", "--input", "1,3"], "needs a GPU build"),
    (["trace", "broken_other:Net", "--input", "1,3"], "ZeroDivisionError: division by zero"),
    (["trace", "no_such_module:Net", "--input", "1,3"], "cannot import 'no_such_module'"),
    (["trace", "usermodels:scripted", "--input", "1,4"], "cannot follow TorchScript"),
]


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_flags_files_and_models_exit_2_with_one_line(argv: list[str], message: str, workdir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0]
    assert lines[0].startswith(("convwidget trace: ", "python -m convwidget"))
    assert "Traceback" not in err and out == ""


def test_the_user_constructor_really_raises(workdir: Path) -> None:
    import usermodels  # type: ignore[import-not-found]

    with pytest.raises(RuntimeError, match="no weights file"):
        usermodels.Boom()


class _BytesStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def read(self, *args: Any) -> str:
        raise AssertionError("standard input must be read as bytes and decoded leniently")


def test_non_utf8_standard_input_is_read_leniently(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = "# mod\xe8le de caf\xe9 (Latin-1)\nnn.Linear(4, 2)\n"
    with pytest.raises(UnicodeDecodeError):
        text.encode("latin-1").decode("utf-8")
    monkeypatch.setattr(sys, "stdin", _BytesStdin(text.encode("latin-1")))
    code, out, err = run(["trace", "-", "--input", "1,4"], capsys)
    assert code == 0, err
    assert "[1, 2]" in out and tuple(nn.Linear(4, 2)(torch.zeros(1, 4)).shape) == (1, 2)


def test_a_file_works_as_before(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["trace", "model.txt", "--input", "1x3x32x32"], capsys)
    assert code == 0 and err == ""
    real = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten())(torch.zeros(1, 3, 32, 32))
    assert f"Linear in_features needed: 2={real.shape[1]}" in out


def test_the_entry_point_refuses_in_one_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "convwidget", "trace", "-", "--input", "1,3,32,32,x"],
                         input=b"nn.Linear(4, 2)\n", capture_output=True, cwd=tmp_path)
    err = out.stderr.decode()
    assert out.returncode == 2 and len(err.strip().splitlines()) == 1
    assert "part 5 of '1,3,32,32,x' is empty" in err and "Traceback" not in err


SIZES_TEXT = st.text(alphabet="0123456789,x× -+.^*e_aé\x00\t", max_size=24)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=SIZES_TEXT)
def test_any_input_text_is_a_trace_or_one_line(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["trace", "torch.nn:Identity", f"--input={text}"], capsys)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and out == "", err
    else:
        assert code == 0 and err == "" and "Identity traced on input" in out
        shape = tuple(int(p) for p in text.replace("×", ",").replace("x", ",").split(","))
        assert f"output [{', '.join(map(str, shape))}]" in out


SHAPE_PART = st.one_of(st.integers(-3, 2**50), st.integers(2**60, 2**80), st.floats(allow_nan=True),
                       st.text(max_size=3), st.none(), st.booleans())


@settings(max_examples=200, deadline=2000)
@given(shape=st.one_of(st.lists(SHAPE_PART, max_size=5), st.text(max_size=6), st.integers()))
def test_any_input_shape_is_a_report_or_a_sentence(shape: Any) -> None:
    from convwidget.tracer import trace

    try:
        report = trace(nn.Flatten(), shape)
    except (ValueError, TypeError) as err:
        assert str(err).startswith("input_shape ") and "\n" not in str(err)
    else:
        assert report.input_shape == tuple(int(s) for s in shape)


# ---------------------------------------------------------------- --solve (issue 11)
def _solve_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, int]]:
    from convwidget.cli import main

    assert main(argv) == 0
    out = capsys.readouterr().out
    return [{k: int(v) for k, v in (pair.split("=") for pair in line.split())}
            for line in out.splitlines()[1:] if line.startswith("  kernel_size=")]


@pytest.mark.parametrize("given", [
    {"kernel": 3}, {"stride": 2}, {"padding": 1}, {"dilation": 2},
    {"kernel": 3, "stride": 2, "padding": 1}, {"kernel": 1, "dilation": 2},
])
def test_solve_honours_every_parameter_given(given: dict[str, int],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import torch
    from torch import nn

    argv = ["size", "32", "--solve", "16"] + [a for k, v in given.items() for a in (f"--{k}", str(v))]
    rows = _solve_lines(argv, capsys)
    assert rows, argv
    names = {"kernel": "kernel_size", "stride": "stride", "padding": "padding", "dilation": "dilation"}
    for row in rows:
        assert all(row[names[k]] == v for k, v in given.items()), (argv, row)
        layer = nn.Conv1d(1, 1, row["kernel_size"], row["stride"], row["padding"], row["dilation"])
        assert layer(torch.zeros(1, 1, 32)).shape[-1] == 16  # torch agrees with every line


def test_solve_drops_windows_a_simpler_setting_gives(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _solve_lines(["size", "32", "--solve", "16"], capsys)
    assert {"kernel_size": 1, "stride": 2, "padding": 0, "dilation": 1} in rows
    assert not [r for r in rows if r["kernel_size"] == 1 and r["dilation"] > 1]  # one tap: one cell
    assert [r for r in rows if r["kernel_size"] == 3 and r["dilation"] == 2]  # a wider window: kept
    tr = _solve_lines(["size", "3", "--kernel", "3", "--transposed", "--solve", "6"], capsys)
    assert tr and all(r["kernel_size"] == 3 for r in tr)


def test_solve_refuses_what_it_cannot_search_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from convwidget.cli import main

    assert main(["size", "32", "--solve", "16", "--padding", "same"]) == 1
    assert "give a number" in capsys.readouterr().err
    assert main(["size", "32", "--solve", "16", "--kernel", "3,5"]) == 1
    assert "one --kernel value" in capsys.readouterr().err
    assert main(["size", "32"]) == 1
    assert "size needs --kernel" in capsys.readouterr().err
