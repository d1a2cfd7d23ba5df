"""The explorer's dimensions: 1 (a strip, ``nn.Conv1d``...), 2 (an image) or 3 (a volume).

How many spatial dimensions an explorer has (``ndim``), read from its settings; the names of
the dimensions; per-dimension settings carried from one ``ndim`` to another; and the
sentences that refuse an ``input_size`` of the wrong length. Standard library and traitlets
only (the state's :class:`SettingError` is a ``TraitError``).

>>> infer_ndim({"input_size": (10,)}), axis_names(3), fit_dims((5, 7), 1)
(1, ('depth', 'height', 'width'), (7,))
"""

from __future__ import annotations

from typing import Any

import traitlets as T

from ..spec import LayerSpec

__all__ = ["LAYER_NDIMS", "NDIMS", "SettingError", "axis_names", "check_input_length", "check_ndim",
           "dims", "explorer_layer_spec", "fit_dims", "infer_ndim", "layer_input"]


class SettingError(T.TraitError, ValueError):
    """A refused setting: a TraitError for ipywidgets, a ValueError for everyone else."""


SettingError.__module__ = "convwidget.explorer.state"  # its public home, as tracebacks name it


def dims(value: Any, ndim: int = 2) -> tuple[int, ...]:
    """A per-dimension setting as ``ndim`` ints: ``dims(3, 1) == (3,)``."""
    return value if isinstance(value, tuple) else (value,) * ndim


def fit_dims(value: Any, ndim: int) -> Any:
    """A per-dimension setting carried to ``ndim`` dimensions: the last ones are kept (1-D is
    the width), a new leading one copies the first; ints and padding strings stay as they are.

    >>> fit_dims((5, 7), 1), fit_dims((5, 7), 3), fit_dims(3, 1), fit_dims("same", 3)
    ((7,), (5, 5, 7), 3, 'same')
    """
    if not isinstance(value, tuple) or len(value) == ndim:
        return value
    if len(value) > ndim:
        return value[-ndim:]
    return (value[0],) * (ndim - len(value)) + value


def infer_ndim(settings: dict[str, Any]) -> int:
    """The explorer's dimensions: ``ndim`` if given, else the length of a sequence
    ``input_size`` (``(10,)``: 1-D), else 2 (an int ``input_size`` is a square).

    >>> infer_ndim({"input_size": (10,)}), infer_ndim({"input_size": 10}), infer_ndim({})
    (1, 2, 2)
    """
    if settings.get("ndim") is not None:
        return check_ndim(settings["ndim"])
    size = settings.get("input_size")
    if isinstance(size, (tuple, list)) and len(size) in NDIMS:
        return len(size)
    return 2


#: The dimensions an explorer draws.
NDIMS = (1, 2, 3)
_NDIM_WORDS = {1: "a strip", 2: "an image", 3: "a volume"}


def axis_names(ndim: int) -> tuple[str, ...]:
    """The names of ``ndim`` spatial dimensions, in PyTorch's order.

    >>> axis_names(1), axis_names(3)
    (('length',), ('depth', 'height', 'width'))
    """
    return {1: ("length",), 2: ("height", "width")}.get(ndim, ("depth", "height", "width"))


def check_ndim(value: Any) -> int:
    """``value`` as an explorer's ``ndim``, or a sentence saying which are allowed."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in NDIMS:
        words = ", ".join(f"{n} ({_NDIM_WORDS[n]})" for n in NDIMS)
        raise SettingError(f"ndim (the spatial dimensions) must be {words}, not {value!r}")
    return int(value)


def check_input_length(size: Any, ndim: int) -> None:
    """An ``input_size`` sequence of the wrong length for ``ndim``, refused with a sentence."""
    if isinstance(size, (tuple, list)) and len(size) != ndim:
        shown = tuple(size)
        names = {1: "(length,)", 2: "(height, width)", 3: "(depth, height, width)"}
        fix = (f"give {names[ndim]}" if ndim in names else "give 1, 2 or 3 sizes")
        also = f", or ndim={len(size)}" if len(size) in NDIMS else ""
        count = f"{len(shown)} value" + ("" if len(shown) == 1 else "s")
        raise SettingError(f"input_size={shown!r} has {count} but the explorer is "
                           f"{ndim}-D (ndim={ndim}); {fix}{also}")


#: The layers' dimensions the explorer opens.
LAYER_NDIMS = (1, 2, 3)


def explorer_layer_spec(layer: Any) -> LayerSpec:
    """The settings of a layer the explorer shows, or a sentence saying what to use instead.

    >>> class LPPool1d:  # duck-typed, as convwidget.spec reads layers
    ...     norm_type, kernel_size, stride, ceil_mode = 2, 3, 3, False
    >>> explorer_layer_spec(LPPool1d())
    Traceback (most recent call last):
    ...
    ValueError: ConvExplorer shows Conv, ConvTranspose, MaxPool and AvgPool layers (1d / 2d / 3d), ...
    """
    spec = LayerSpec.from_layer(layer)
    if spec.ndim not in LAYER_NDIMS or spec.norm_type is not None:
        shown = " / ".join(f"{d}d" for d in LAYER_NDIMS)
        raise ValueError(
            f"ConvExplorer shows Conv, ConvTranspose, MaxPool and AvgPool layers ({shown}), not "
            f"{type(layer).__name__} ({spec.torch_class}); use convwidget.explain or "
            "convwidget.trace for it")
    return spec


_SHAPES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def layer_input(input_size: Any, spec: LayerSpec) -> tuple[int, ...]:
    """``input_size`` for a layer of ``spec.ndim`` dimensions (spatial, with channels, or with a
    batch too), or a sentence naming its length and the shapes that fit.

    >>> spec = LayerSpec.from_settings(ndim=3, kernel_size=2, in_channels=4)
    >>> layer_input((1, 4, 5, 6, 7), spec)
    (1, 4, 5, 6, 7)
    >>> layer_input((6, 7), spec)
    Traceback (most recent call last):
    ...
    ValueError: input_size=(6, 7) has 2 numbers, but nn.Conv3d is 3-D: give (D, H, W), ...
    """
    n = spec.ndim
    try:
        size = tuple(int(v) for v in input_size)
    except (TypeError, ValueError):
        size = ()
    if len(size) not in (n, n + 1, n + 2):
        names = ", ".join(_SHAPES[n])
        shapes = f"({names},), (C, {names}) or (N, C, {names})" if n == 1 else (
            f"({names}), (C, {names}) or (N, C, {names})")
        example = (1, spec.in_channels, *(8,) * n)
        count = (f"{len(size)} number" + ("" if len(size) == 1 else "s")) if size else "no sizes"
        channels = f"{spec.in_channels} input channel" + ("" if spec.in_channels == 1 else "s")
        raise ValueError(f"input_size={input_size!r} has {count}, but nn.{spec.torch_class} is {n}-D: "
                         f"give {shapes} (e.g. {example} for its {channels})")
    return size
