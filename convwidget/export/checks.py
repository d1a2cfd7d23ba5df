"""Export options, checked before anything is drawn, and files that appear whole or not at all.

Each bad option or path gets a sentence naming it, its value and a fix; see
:mod:`convwidget.export`.
"""

from __future__ import annotations

import math
import operator
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..arithmetic import check_bool

__all__ = ["Options", "Progress", "check_options", "check_target", "text_progress", "write_atomically"]

Progress = Callable[[int, int], Any] | bool | None


_FPS = (0.01, 50.0)  # GIF frames last 20 ms to 100 s; browsers slow shorter ones down


_DPI = (20.0, 600.0)


_MIN_SIDE_PX = 100


def text_progress(i: int, n: int) -> None:
    """A plain-text progress line on stderr (pass ``progress=True`` to use it)."""
    end = "\n" if i >= n else ""
    print(f"\rrendering frame {i}/{n}", end=end, file=sys.stderr, flush=True)


def progress_callback(progress: Progress) -> Callable[[int, int], Any] | None:
    if progress is True:
        return text_progress
    if progress is False or progress is None:
        return None
    if not callable(progress):
        raise TypeError(f"progress must be a callable(i, n), True or None, got {progress!r}")
    return progress


def number(name: str, value: Any, low: float, high: float, example: str) -> float:
    """A real number in [low, high], or a sentence naming the parameter, value and range."""
    if isinstance(value, (bool, str)) or not hasattr(value, "__float__"):
        raise TypeError(
            f"{name} must be a number, got {value!r} ({type(value).__name__}); use e.g. {example}"
        )
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name}={value!r} is outside {low:g} to {high:g}; use e.g. {example}")
    return number


@dataclass(frozen=True)
class Options:
    """Checked export options (before anything is drawn or written)."""

    fps: float
    max_frames: int
    include_dropped: bool
    figsize: tuple[float, float]
    dpi: float
    report: Callable[[int, int], Any] | None


def check_options(fps: Any, max_frames: Any, include_dropped: Any, progress: Progress, figsize: Any,
             dpi: Any) -> Options:
    rate = number("fps", fps, *_FPS, "fps=4 (frames per second)")
    resolution = number("dpi", dpi, *_DPI, "dpi=100")
    if isinstance(max_frames, bool) or not hasattr(max_frames, "__index__"):
        raise TypeError(f"max_frames must be a whole number, got {max_frames!r}; use e.g. max_frames=300")
    frames = operator.index(max_frames)
    if frames < 1:
        raise ValueError(f"max_frames must be at least 1, got max_frames={frames}")
    try:
        width, height = figsize
    except (TypeError, ValueError):
        raise TypeError(
            f"figsize must be (width, height) in inches, got {figsize!r}; use e.g. figsize=(8, 4)"
        ) from None
    size = (number("figsize width", width, 0.01, 1000.0, "figsize=(8, 4)"),
            number("figsize height", height, 0.01, 1000.0, "figsize=(8, 4)"))
    if min(size) * resolution < _MIN_SIDE_PX:
        raise ValueError(
            f"figsize={figsize!r} at dpi={dpi!r} is {size[0] * resolution:.0f} × {size[1] * resolution:.0f} "
            f"pixels; a frame needs at least {_MIN_SIDE_PX} pixels a side to show the grids: use e.g. "
            "figsize=(8, 4) with dpi=100"
        )
    dropped = check_bool("include_dropped", include_dropped)
    return Options(rate, frames, dropped, size, resolution, progress_callback(progress))


def check_target(path: str | os.PathLike[str], suffixes: tuple[str, ...], what: str) -> Path:
    """The file to write, checked before anything is drawn."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name, got {path!r} ({type(path).__name__})")
    target = Path(path)
    if target.is_dir():
        example = str(target / ("animation" + suffixes[0]))
        raise ValueError(f"path={str(path)!r} is a folder; give a file name such as {example!r}")
    if target.suffix.lower() not in suffixes:
        raise ValueError(
            f"{what} writes {' or '.join(suffixes)} files, but path={str(path)!r} ends in "
            f"{target.suffix or 'no extension'!r}; use a name ending in {suffixes[0]}"
        )
    if not target.parent.is_dir():
        raise ValueError(
            f"the folder {str(target.parent)!r} does not exist; create it first or choose another path"
        )
    return target


def write_atomically(target: Path, write: Callable[[IO[bytes]], Any]) -> int:
    """Write through ``write(file)`` into a temporary file beside ``target``, then rename it
    into place: a failure (a full disk, an error while encoding) leaves nothing behind.
    Returns the size written."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:  # "x": a new file, created with the usual permissions
            write(file)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target.stat().st_size
