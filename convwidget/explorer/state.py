"""The explorer's state: one trait per setting, validated through :mod:`convwidget.spec`.

:class:`ExplorerState` is an ``ipywidgets.Widget`` (a model without a view), so what works
on any ipywidgets control works on it::

    widgets.link((state, "stride"), (slider, "value"))
    state.observe(f, names="output_size")
    widgets.interactive_output(f, {"results": state})   # f(results=...) after every change

(``value`` is the :class:`Results`, the name ``interactive_output`` reads from a control.)

Settings are traits in PyTorch's names. ``ndim`` is the number of spatial dimensions (1: a
strip, ``nn.Conv1d``...; 2; 3: a volume, drawn one output depth slice at a time, ``depth``):
``input_size=(n,)`` gives 1, an int gives 2, and changing ``ndim`` carries the other settings
along (the width is kept). A per-dimension setting holds one int while all
dimensions agree (as people write ``stride=2``) and a tuple otherwise, so it links to an
``IntSlider`` directly. The results (``spec``, ``output_size``, ``explanation``,
``geometry``, ``torch_result``, ``error``) are read-only traits, recomputed once per change:
a :meth:`ExplorerState.set` of several settings is one recomputation and one notification
per result that changed.

Traits synced with the browser (so ``widgets.jslink`` works on them): ``kind``, ``ndim``,
``ceil_mode``, ``count_include_pad``, ``in_channels``, ``out_channels``, ``groups``,
``step``, ``depth`` and, while all their dimensions agree (an int), ``input_size``, ``kernel_size``,
``stride``, ``padding``, ``dilation``, ``output_padding``; ``output_size`` and ``error``
are synced read-only. The other results are Python objects and stay in the kernel.
A jslink'd change reaches the kernel and is validated there like any other.

Importing this module imports neither torch nor matplotlib: the PyTorch result is computed
by :func:`convwidget.torchlayers.run_layer`, imported when it is first needed.

>>> state = ExplorerState(input_size=8, kernel_size=3, padding=1)
>>> state.output_size
(8, 8)
>>> state.set(stride=2, padding=0).output_size
(3, 3)
>>> state.stride
2
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import traitlets as T

from ..cellmath import index_values
from ..errors import ShapeError
from ..explanations import Explanation, explain
from ..geometry import DimGeometry, Geometry, layer_geometry
from ..spec import KINDS, LayerSpec, normalise_setting
from .dims import NDIMS, SettingError, axis_names, check_input_length, check_ndim, dims, fit_dims, infer_ndim

__all__ = [
    "DEFAULTS", "MAX_PICTURE_CELLS", "MAX_TAPS", "SETTING_NAMES", "ExplorerState", "Results",
    "SettingError", "axis_names", "compact", "compute", "fit_dims", "infer_ndim", "picture_limit",
    "spec_for",
]

#: The settings an explorer takes, in PyTorch's names (``ndim``: 1, 2 or 3 spatial dimensions).
SETTING_NAMES = (
    "kind", "ndim", "input_size", "kernel_size", "stride", "padding", "dilation", "output_padding",
    "ceil_mode", "count_include_pad", "in_channels", "out_channels", "groups",
)

#: What an explorer starts with: PyTorch's defaults, and a small input to watch.
DEFAULTS: dict[str, Any] = {
    "kind": "conv", "ndim": 2, "input_size": (7, 7), "kernel_size": (3, 3), "stride": None, "padding": 0,
    "dilation": 1, "output_padding": 0, "ceil_mode": False, "count_include_pad": True,
    "in_channels": 1, "out_channels": 1, "groups": 1,
}

_dims = dims  # the old private names, kept for old imports
_pair = dims

_PER_DIM = ("input_size", "kernel_size", "stride", "padding", "dilation", "output_padding")


def spec_for(settings: Mapping[str, Any]) -> LayerSpec:
    """The layer an explorer's ``settings`` (its names, ints or per-dimension tuples) mean:
    settings the kind lacks take their neutral value (a pool's ``out_channels`` are its
    ``in_channels``; an average pool's dilation is 1), as :attr:`ExplorerState.spec`.

    >>> s = spec_for({**DEFAULTS, "kind": "avg_pool", "dilation": 2, "out_channels": 8})
    >>> s.dilation, s.out_channels, s.stride
    ((1, 1), 1, (3, 3))
    """
    kind, n = settings["kind"], settings["ndim"]
    pool = kind in ("max_pool", "avg_pool")
    padding = settings["padding"]
    stride = settings["stride"]
    if stride is None:  # PyTorch's default: a pool's stride is its kernel, a convolution's 1
        stride = settings["kernel_size"] if pool else 1
    return LayerSpec(
        kind=kind, kernel_size=dims(settings["kernel_size"], n),
        stride=dims(stride, n),
        padding=padding if isinstance(padding, str) else dims(padding, n),
        dilation=(1,) * n if kind == "avg_pool" else dims(settings["dilation"], n),
        output_padding=dims(settings["output_padding"], n) if kind == "conv_transpose" else (0,) * n,
        ceil_mode=settings["ceil_mode"] if pool else False,
        count_include_pad=settings["count_include_pad"] if kind == "avg_pool" else True,
        in_channels=settings["in_channels"],
        out_channels=settings["in_channels"] if pool else settings["out_channels"],
        groups=1 if pool else settings["groups"],
    )


def compact(value: Any) -> Any:
    """One int for a tuple whose entries agree (``(2, 2)`` -> ``2``); anything else as is.

    >>> compact((2, 2)), compact((2, 3)), compact("same")
    (2, (2, 3), 'same')
    """
    if isinstance(value, tuple) and value and len(set(value)) == 1:
        return value[0]
    return value


@dataclass(frozen=True, eq=False)  # compared by identity: every recomputation notifies
class Results:
    """Everything computed from one setting, once: what every panel draws from.

    ``problem`` is the one sentence saying why PyTorch refuses the setting (None if it
    does not); ``output_size`` is None exactly then. ``torch_result`` is None until the
    PyTorch layer has run (and when the state was told not to run it).
    """

    spec: LayerSpec
    input_size: tuple[int, ...]
    explanation: Explanation
    problem: str | None
    output_size: tuple[int, ...] | None
    geometry: Geometry | None
    torch_result: Any = None
    picture_limit: str | None = None
    #: what each output cell of the picture says: the values PyTorch's panel computes (cell
    #: indices in, weight 1, bias 0; :func:`convwidget.cellmath.index_values`), or None
    cell_values: tuple[str, ...] | None = None
    #: 3-D: the depth's windows (which input depth slices each output slice reads); the
    #: ``geometry`` is then the height x width plane, drawn one output depth slice at a time
    depth: DimGeometry | None = None

    def plane_values(self, depth: int = 0) -> tuple[str, ...] | None:
        """The picture's output labels: 3-D, those of output depth slice ``depth``."""
        if self.depth is None or self.cell_values is None or self.geometry is None:
            return self.cell_values
        n = self.geometry.n_steps
        return self.cell_values[depth * n:(depth + 1) * n]


def _geometries(spec: LayerSpec, input_size: tuple[int, ...]) -> tuple[Geometry, DimGeometry | None]:
    """The drawn geometry (1-D, 2-D; 3-D: the height x width plane) and, in 3-D, the depth's."""
    def geometry(dims: slice) -> Geometry:
        padding = spec.padding if isinstance(spec.padding, str) else spec.padding[dims]
        return layer_geometry(
            spec.kind, input_size[dims], spec.kernel_size[dims], spec.stride[dims], padding,
            spec.dilation[dims],
            output_padding=spec.output_padding[dims] if spec.kind == "conv_transpose" else 0,
            ceil_mode=spec.ceil_mode if spec.is_pool else False)

    if len(input_size) < 3:
        return geometry(slice(None)), None
    return geometry(slice(1, None)), geometry(slice(0, 1)).dims[0]


def compute(spec: LayerSpec, input_size: tuple[int, ...], run_torch: bool = True) -> Results:
    """The results of one setting: the calculator, the geometry, PyTorch's answer.

    >>> r = compute(LayerSpec.from_settings(kernel_size=5), (3, 3), run_torch=False)
    >>> r.output_size is None, r.problem.startswith("height: kernel spans 5")
    (True, True)
    """
    kwargs: dict[str, Any] = {"kind": spec.kind}
    if spec.kind == "conv_transpose":
        kwargs["output_padding"] = spec.output_padding
    if spec.is_pool:
        kwargs["ceil_mode"] = spec.ceil_mode
    expl = explain(input_size, spec.kernel_size, spec.stride, spec.padding, spec.dilation, **kwargs)
    problem = expl.error or spec.groups_problem() or _avg_pool3d_problem(spec, input_size)
    geometry = depth = None
    if problem is None:
        try:
            geometry, depth = _geometries(spec, input_size)
        except ShapeError as err:
            problem = str(err)
    limit = None if geometry is None else picture_limit(spec, geometry)
    torch_result = None
    if run_torch:
        from ..torchlayers import run_layer  # torch: imported when the first result is needed

        torch_result = run_layer(spec, input_size, max_cells=MAX_VALUE_CELLS)
    output = None if problem else expl.output_size
    empty = _empty_output(spec, input_size) if problem and expl.error else None
    if empty is not None:  # PyTorch answers with an empty tensor: an output, with nothing to draw
        output, problem, limit = empty, None, _empty_note(empty)
        dims = tuple(dataclasses.replace(d, output=n, error=None)
                     for d, n in zip(expl.dims, empty, strict=True))
        expl = dataclasses.replace(expl, dims=dims, error=None)
    cells = _cell_values(spec, input_size) if geometry is not None and limit is None else None
    return Results(spec, input_size, expl, problem, output, geometry, torch_result, limit, cells, depth)


def _avg_pool3d_problem(spec: LayerSpec, input_size: tuple[int, ...]) -> str | None:
    """nn.AvgPool3d's own rule (aten's pool3d_shape_check): each input size at least the kernel,
    before padding; the same rule as :func:`convwidget.layers.spatial.pool`.

    >>> spec = LayerSpec.from_settings(ndim=3, kind="avg_pool", kernel_size=(3, 2, 2), padding=1)
    >>> _avg_pool3d_problem(spec, (2, 4, 4))[:60]
    'depth: nn.AvgPool3d needs each input size to be at least the'
    """
    if spec.kind != "avg_pool" or spec.ndim != 3:
        return None
    for name, size, k in zip(axis_names(3), input_size, spec.kernel_size, strict=True):
        if size < k:
            return (f"{name}: nn.AvgPool3d needs each input size to be at least the kernel (before "
                    f"padding): input {size} < kernel_size {k}; use a kernel <= {size} or a larger "
                    "input (avg_pool3d refuses it even with padding)")
    return None


def _cell_values(spec: LayerSpec, input_size: tuple[int, ...]) -> tuple[str, ...] | None:
    """The output cells' values as the picture writes them (3 significant digits), or None."""
    values = index_values(spec, input_size, max_cells=MAX_VALUE_CELLS)
    if values is None:
        return None
    return tuple(str(int(v)) if float(v).is_integer() else f"{v:.3g}" for v in values)


def _empty_output(spec: LayerSpec, input_size: tuple[int, ...]) -> tuple[int, ...] | None:
    """The sizes of the empty tensor PyTorch returns where the formula gives 0 cells (a
    transposed convolution on torch's oneDNN kernel), or None."""
    if spec.kind != "conv_transpose":
        return None
    from ..layers.spatial import transposed_output

    try:
        sizes = tuple(transposed_output(spec, (1, spec.in_channels, *input_size)))
    except ShapeError:
        return None  # refused, as the calculator says
    return sizes if 0 in sizes else None


def _empty_note(sizes: tuple[int, ...]) -> str:
    shown = " × ".join(map(str, sizes))
    return (f"Nothing to draw: the output is empty ({shown}). Where the formula gives 0 cells, "
            "PyTorch's oneDNN kernel (used for kernels above 3 × 3, groups above 1 or a batch above 1) "
            "returns an empty tensor; its other kernel refuses the same setting.")


#: Largest output (cells) whose values the PyTorch panel prints.
MAX_VALUE_CELLS = 144
#: The picture is drawn up to this many grid cells and this many kernel taps: a frame then
#: takes at most about 0.3 s (a 450 × 450 grid ~0.16 s, 32 × 32 taps ~0.15 s on a small CPU).
MAX_PICTURE_CELLS = 250_000
MAX_TAPS = 1024


def picture_limit(spec: LayerSpec, geometry: Geometry) -> str | None:
    """Why the picture is not drawn for a valid setting (too big to draw quickly), or None.

    Decided from the arithmetic, before anything is drawn or allocated.

    >>> g = layer_geometry("conv", (8, 8), 3, padding=10**4)
    >>> picture_limit(LayerSpec.from_settings(padding=10**4), g)[:57]
    'Not drawn: the padded input is 20008 × 20008 = 400,320,06'
    """
    grid = geometry.grid_shape
    cells = math.prod(grid)
    after = ("the calculator and PyTorch's answer still hold; a change of setting must stay "
             "under 0.3 s")
    if cells > MAX_PICTURE_CELLS:
        what = "stretched and padded input" if spec.kind == "conv_transpose" else "padded input"
        return (f"Not drawn: the {what} is {' × '.join(map(str, grid))} = {cells:,} cells, more "
                f"than the picture's limit of {MAX_PICTURE_CELLS:,}; {after}. Use a smaller "
                "input, padding or stride to watch the window slide.")
    taps = math.prod(geometry.kernel_size)  # 3-D: the drawn plane's
    if taps > MAX_TAPS:
        return (f"Not drawn: the kernel has {' × '.join(map(str, geometry.kernel_size))} = "
                f"{taps:,} taps, more than the picture's limit of {MAX_TAPS:,} (32 × 32); "
                f"{after}. Use a smaller kernel to watch the window slide.")
    return None


class _PerDim(T.Any):
    """A per-dimension setting: an int while the dimensions agree, else a tuple."""

    info_text = "an int or a (height, width) pair"


class _Checked(T.Any):
    """A scalar setting checked by :func:`convwidget.spec.normalise_setting` (its sentences),
    not by traitlets' generic type message."""


class ExplorerState(W.Widget):
    """One explorer's settings (traits, validated) and results (read-only traits).

    Parameters are the settings, in PyTorch's names (see :data:`SETTING_NAMES`); a pool
    without ``stride`` takes its kernel size. ``run_torch=False`` skips the real layer
    (``torch_result`` stays None), e.g. for a quiz that hides it.

    >>> s = ExplorerState(kind="max_pool", input_size=5, kernel_size=2, ceil_mode=True)
    >>> s.output_size, s.stride
    ((3, 3), 2)
    >>> s.stride = 0
    Traceback (most recent call last):
    ...
    convwidget.explorer.state.SettingError: stride must be at least 1 in each dimension, not 0
    """

    kind = T.Enum(KINDS, default_value="conv").tag(sync=True)
    #: Spatial dimensions: 1 (a strip, nn.Conv1d...), 2 (an image) or 3 (a volume).
    ndim = T.Int(2).tag(sync=True)
    input_size = _PerDim(7).tag(sync=True)
    kernel_size = _PerDim(3).tag(sync=True)
    stride = _PerDim(1).tag(sync=True)
    padding = _PerDim(0).tag(sync=True)
    dilation = _PerDim(1).tag(sync=True)
    output_padding = _PerDim(0).tag(sync=True)
    ceil_mode = _Checked(False).tag(sync=True)
    count_include_pad = _Checked(True).tag(sync=True)
    in_channels = _Checked(1).tag(sync=True)
    out_channels = _Checked(1).tag(sync=True)
    groups = _Checked(1).tag(sync=True)
    #: The output cell the picture lights (row-major), clamped to the output like a slider.
    step = T.Int(0).tag(sync=True)
    #: 3-D: the output depth slice the picture shows, clamped to the output's depth (else 0).
    depth = T.Int(0).tag(sync=True)

    results = T.Instance(Results, allow_none=True, read_only=True)
    #: The results again, under the name ``interactive_output`` reads: see the module docstring.
    value = T.Instance(Results, allow_none=True, read_only=True)
    spec = T.Instance(LayerSpec, allow_none=True, read_only=True)
    output_size = T.Tuple(allow_none=True, default_value=None, read_only=True).tag(sync=True)
    explanation = T.Instance(Explanation, allow_none=True, read_only=True)
    geometry = T.Instance(Geometry, allow_none=True, read_only=True)
    torch_result = T.Any(None, read_only=True)
    error = T.Unicode(None, allow_none=True, read_only=True).tag(sync=True)

    def __init__(self, *, run_torch: bool = True, **settings: Any) -> None:
        _check_names(settings)
        ndim = infer_ndim(settings)
        check_input_length(settings.get("input_size"), ndim)
        # the defaults (2-D) are carried to ndim; the given settings are checked as they are
        full = {**{k: fit_dims(v, ndim) for k, v in DEFAULTS.items()}, **settings, "ndim": ndim}
        full = {"ndim": full.pop("ndim"), **full}  # ndim first: the others are read by it
        if full["stride"] is None:
            pool = full["kind"] in ("max_pool", "avg_pool")
            full["stride"] = full["kernel_size"] if pool else 1
        self.run_torch = run_torch
        self._batch_depth = 0
        self._dirty = False
        self.recomputations = 0  # how many times the results were computed (tests, benchmarks)
        _check_names(full)
        _check_padding_kind(full["kind"], full["padding"])
        super().__init__(**full)
        self.observe(self._on_setting, names=list(SETTING_NAMES))
        self._recompute()

    # ------------------------------------------------------------------ validation
    @T.validate("ndim")
    def _valid_ndim(self, proposal: dict[str, Any]) -> int:
        return check_ndim(proposal["value"])

    @T.validate(*_PER_DIM)
    def _valid_per_dim(self, proposal: dict[str, Any]) -> Any:
        name = proposal["trait"].name
        try:
            if name == "input_size":
                check_input_length(proposal["value"], self.ndim)
            value = normalise_setting(name, proposal["value"], self.ndim)
        except ValueError as err:
            raise SettingError(str(err)) from None
        if name == "padding" and isinstance(value, str):
            _check_padding_kind(self.kind, value)
        return compact(value)

    @T.validate("in_channels", "out_channels", "groups", "ceil_mode", "count_include_pad")
    def _valid_scalar(self, proposal: dict[str, Any]) -> Any:
        try:
            return normalise_setting(proposal["trait"].name, proposal["value"])
        except ValueError as err:
            raise SettingError(str(err)) from None

    @T.validate("depth")
    def _valid_depth(self, proposal: dict[str, Any]) -> int:
        results = self.results
        last = results.depth.output - 1 if results is not None and results.depth is not None else 0
        return min(max(int(proposal["value"]), 0), max(last, 0))

    @T.validate("step")
    def _valid_step(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        geometry = self.geometry
        last = geometry.n_steps - 1 if geometry is not None else 0
        return min(max(value, 0), last)  # clamped, as an IntSlider clamps

    # ------------------------------------------------------------------ settings
    @property
    def settings(self) -> dict[str, Any]:
        """The current settings in PyTorch's names, per-dimension values as tuples.

        Settings the current kind lacks take their neutral value (e.g. ``dilation=(1, 1)``
        for an average pool); ``ExplorerState(**settings)`` rebuilds the same state.
        """
        spec = self.spec or self._make_spec()
        return {"kind": spec.kind, "ndim": self.ndim, "input_size": dims(self.input_size, self.ndim),
                "kernel_size": spec.kernel_size, "stride": spec.stride, "padding": spec.padding,
                "dilation": spec.dilation, "output_padding": spec.output_padding,
                "ceil_mode": spec.ceil_mode, "count_include_pad": spec.count_include_pad,
                "in_channels": spec.in_channels, "out_channels": spec.out_channels,
                "groups": spec.groups}

    def set(self, **changes: Any) -> ExplorerState:
        """Change several settings at once: one recomputation, one notification per result.

        The whole combination is checked first, so a refused value changes nothing.

        >>> s = ExplorerState()
        >>> s.set(kind="max_pool", padding="same")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convwidget.explorer.state.SettingError: padding='same' is only for convolutions (kind='conv'); ...
        """
        _check_names(changes)
        kind = changes.get("kind", self.kind)
        if "padding" in changes:
            _check_padding_kind(kind, changes["padding"])
        size = changes.get("input_size")
        sized = isinstance(size, (tuple, list)) and len(size) in NDIMS
        ndim = infer_ndim({"ndim": changes.get("ndim", None if sized else self.ndim), "input_size": size})
        check_input_length(size, ndim)
        if ndim != self.ndim:  # the settings not given follow: (5, 7) -> (7,) in 1-D
            changes = {**{n: fit_dims(getattr(self, n), ndim) for n in _PER_DIM}, **changes}
        changes = {**changes, "ndim": ndim}
        values = {}
        for name, value in changes.items():
            values[name] = (value if name in ("kind", "ndim")
                            else compact(normalise_setting(name, value, ndim)))
        with self._batch(), self.hold_sync(), self.hold_trait_notifications():
            if "kind" in values:
                self.kind = values.pop("kind")
            self.ndim = values.pop("ndim")
            for name, value in values.items():
                setattr(self, name, value)
        return self

    # ------------------------------------------------------------------ the update
    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """Setting changes inside do not recompute; one recomputation at the end if needed."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._dirty:
                self._recompute()

    def _on_setting(self, change: dict[str, Any]) -> None:
        with self._batch():
            self._dirty = True
            if change["name"] == "ndim":  # a linked ndim: the other settings follow it
                for name in _PER_DIM:
                    setattr(self, name, compact(fit_dims(dims(getattr(self, name), change["old"]),
                                                         change["new"])))
            if change["name"] == "kind" and change["new"] != "conv" and isinstance(self.padding, str):
                # a padding string is a convolution setting: other kinds get the same numbers
                self.padding = _numeric_padding(self.padding, self.kernel_size, self.dilation, self.ndim)

    def _make_spec(self) -> LayerSpec:
        return spec_for({name: getattr(self, name) for name in SETTING_NAMES if name != "input_size"})

    def _recompute(self) -> None:
        self._dirty = False
        self.recomputations += 1
        spec = self._make_spec()
        results = compute(spec, dims(self.input_size, self.ndim), self.run_torch)
        with self.hold_sync(), self.hold_trait_notifications():
            self.set_trait("spec", spec)
            self.set_trait("explanation", results.explanation)
            self.set_trait("geometry", results.geometry)
            self.set_trait("torch_result", results.torch_result)
            self.set_trait("error", results.problem)
            self.set_trait("output_size", results.output_size)
            self.set_trait("results", results)
            self.set_trait("value", results)
            last = results.geometry.n_steps - 1 if results.geometry is not None else 0
            if self.step > last:
                self.step = last
            depth = results.depth.output - 1 if results.depth is not None else 0
            if self.depth > max(depth, 0):
                self.depth = max(depth, 0)


def _check_names(settings: dict[str, Any]) -> None:
    unknown = set(settings) - set(SETTING_NAMES)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}; ConvExplorer takes "
                         f"{', '.join(SETTING_NAMES)}")
    if "kind" in settings and settings["kind"] not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {settings['kind']!r}")


def _check_padding_kind(kind: str, padding: Any) -> None:
    if isinstance(padding, str) and kind != "conv":
        normalise_setting("padding", padding)  # 'full' is refused as such first
        raise SettingError(f"padding={padding!r} is only for convolutions (kind='conv'); use a number")


def _numeric_padding(padding: str, kernel: Any, dilation: Any, n: int = 2) -> Any:
    """'valid' is 0; 'same' is its symmetric number where there is one, else 0."""
    if padding == "valid":
        return 0
    pads = tuple(d * (k - 1) // 2 if d * (k - 1) % 2 == 0 else 0
                 for k, d in zip(dims(kernel, n), dims(dilation, n), strict=True))
    return compact(pads)
