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
    from .pasted import MAX_CHARS, parse  # here: .pasted re-exports this function

    if spec == "-":
        return parse(sys.stdin.read(MAX_CHARS + 1))
    if os.path.exists(spec):
        with open(spec, encoding="utf-8", errors="replace") as f:
            return parse(f.read(MAX_CHARS + 1))
    m = re.fullmatch(r"([A-Za-z_][\w.]*):([A-Za-z_][\w.]*)", spec)
    if not m:
        raise ValueError(f"{spec!r} is neither a file nor 'package.module:ClassName'")
    module_name, attr = m.groups()
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:  # the user's own package in the current directory, as `python -m` would see it
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import {module_name!r} for {spec!r}: {err}") from err
    finally:
        if added:
            sys.path.remove(os.getcwd())
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise ValueError(f"{module_name!r} has no {attr!r} (from {spec!r})") from err
    if isinstance(obj, nn.Module):
        return obj
    if callable(obj):
        try:
            model = obj()
        except TypeError as err:
            raise ValueError(f"{spec} cannot be built with no arguments: {err}") from err
        if isinstance(model, nn.Module):
            return model
    raise ValueError(f"{spec} is not an nn.Module class (got {type(obj).__name__})")
