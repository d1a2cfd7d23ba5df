"""The model a command line names: a file of pasted text, ``-``, or ``package.module:Class``.

Beside the CLI: this is the one place that imports the user's own code (a
``module:Class`` is the user's model, so running it is the point). Pasted text
goes to :func:`convwidget.pasted.parse`, which never runs it.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

from torch import nn

from .pasted.limits import MAX_CHARS

__all__ = ["load_model"]


def load_model(spec: str) -> nn.Module:
    """The model a command line names: ``package.module:ClassName``, a file, or ``-``.

    ``package.module:ClassName`` imports the module (this runs its code: it is
    the user's own model) and builds the class with no arguments. Anything
    else is a path to pasted text (``-`` reads standard input), given to
    :func:`parse`, which never runs it.

    >>> load_model("torch.nn:Identity")
    Identity()
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("nn.Linear(4, 2)")
    >>> load_model(f.name)
    Sequential(
      (0): Linear(in_features=4, out_features=2, bias=True)
    )
    >>> os.unlink(f.name)
    """
    if spec == "-":
        return _parse(_read_stdin())
    if os.path.exists(spec):
        return _parse(_read_file(spec))
    m = re.fullmatch(r"([A-Za-z_][\w.]*):([A-Za-z_][\w.]*)", spec)
    if not m:
        raise ValueError(f"{spec!r} is neither a file nor 'package.module:ClassName'")
    module_name, attr = m.groups()
    obj = _attribute(_import(module_name, spec), module_name, attr, spec)
    if isinstance(obj, nn.Module):
        return obj
    if callable(obj):
        model = _build(obj, spec)
        if isinstance(model, nn.Module):
            return model
    raise ValueError(f"{spec} is not an nn.Module class (got {type(obj).__name__})")


def _parse(text: str) -> nn.Module:
    from .pasted import parse  # here: .pasted re-exports load_model from this module

    return parse(text)


def _read_stdin() -> str:
    """Standard input, decoded leniently like a file (a non-UTF-8 byte becomes U+FFFD)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream without bytes (a test's StringIO)
        return sys.stdin.read(MAX_CHARS + 1)
    return buffer.read(4 * (MAX_CHARS + 1)).decode("utf-8", errors="replace")[: MAX_CHARS + 1]


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(MAX_CHARS + 1)
    except OSError as err:  # a directory, no permission
        raise ValueError(f"cannot read {path!r}: {err.strerror or err}") from err


def _import(module_name: str, spec: str) -> Any:
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:  # the user's own package in the current directory, as `python -m` would see it
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import {module_name!r} for {spec!r}: {err}") from err
    finally:
        if added:
            sys.path.remove(os.getcwd())


def _attribute(obj: Any, module_name: str, attr: str, spec: str) -> Any:
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise ValueError(f"{module_name!r} has no {attr!r} (from {spec!r})") from err
    return obj


def _build(cls: Any, spec: str) -> Any:
    """Build the user's class with no arguments; its own failure becomes a sentence."""
    try:
        return cls()
    except TypeError as err:
        raise ValueError(f"{spec} cannot be built with no arguments: {err}") from err
    except Exception as err:  # the user's constructor failed: say so, with its message
        raise ValueError(f"building {spec}() raised {type(err).__name__}: {err}") from err
