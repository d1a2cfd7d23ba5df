"""The command line: ``python -m convwidget size ...`` and ``python -m convwidget trace ...``.

Thin: parse the arguments, call the library, print. A setting PyTorch refuses prints the
same sentence as the library, on stderr, with exit status 1; a malformed command line, a
file or model that cannot be loaded, or a shape the tracer refuses exits with status 2 and
one line on stderr.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .errors import ShapeError
from .explanations import KINDS, explain
from .inverse import conv_transpose_output_sizes, solve

__all__ = ["main", "main_trace"]

_LAYER_ALIASES = {
    "conv": "conv", "convolution": "conv",
    "conv_transpose": "conv_transpose", "transposed": "conv_transpose",
    "convtranspose": "conv_transpose", "deconv": "conv_transpose",
    "max_pool": "max_pool", "maxpool": "max_pool", "max": "max_pool",
    "avg_pool": "avg_pool", "avgpool": "avg_pool", "avg": "avg_pool",
}
_INPUT_HINT = "--input must be the input shape as comma-separated whole numbers, batch first, e.g. " \
              "--input 1,3,32,32"
# Standard input is read as bytes up to this many, then decoded leniently (as files are);
# the pasted-text reader refuses a text that is still too long with its own sentence.
_STDIN_BYTES = 1 << 22
_MAX_DIM = 2**63 - 1  # PyTorch sizes are int64


class _Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line is one line on stderr (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _whole(part: str) -> int:
    """One size written as digits; ValueError with the reason otherwise.

    >>> _whole(" 32 ")
    32
    >>> _whole("2^10")
    Traceback (most recent call last):
    ...
    ValueError: '2^10' is a power, not a number written in digits: write 1024
    >>> _whole("10^100")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    ValueError: '10^100' is a power, not a number written in digits, and more than any tensor
    dimension holds (2**63 - 1)
    """
    text = part.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    power = re.fullmatch(r"(\d{1,20})\s*(?:\^|\*\*)\s*(\d{1,4})", text)
    if power:
        base, exp = (int(g) for g in power.groups())
        value = base ** exp if base < 2 or exp < 64 else _MAX_DIM + 1  # bounded work
        if value <= _MAX_DIM:
            raise ValueError(f"{text!r} is a power, not a number written in digits: write {value}")
        raise ValueError(f"{text!r} is a power, not a number written in digits, and more than "
                         f"any tensor dimension holds (2**63 - 1)")
    if re.fullmatch(r"-\s*\d+", text):
        raise ValueError(f"{text!r} is negative: a size is 0 or more")
    raise ValueError(f"{text!r} is not a whole number written in digits")


def _sizes(text: str) -> tuple[int, ...]:
    """'32', '32,32', '32x32' or '1,3,32,32' -> a tuple of ints; every part must be a number.

    >>> _sizes("1,3,32x32")
    (1, 3, 32, 32)
    >>> _sizes("1,3,32,32,x")
    Traceback (most recent call last):
    ...
    ValueError: part 5 of '1,3,32,32,x' is empty
    """
    parts = re.split(r"[,x×]", text)
    if not text.strip():
        raise ValueError("no number given")
    values = []
    for i, part in enumerate(parts, 1):
        if not part.strip():
            raise ValueError(f"part {i} of {text!r} is empty")
        values.append(_whole(part))
    return tuple(values)


def _ints(text: str) -> tuple[int, ...]:
    """argparse type for ``size`` arguments: :func:`_sizes`, refusals as argparse errors."""
    try:
        return _sizes(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size ({err}): use whole numbers such as 32 or 32,32") from None


def _padding(text: str) -> str | tuple[int, ...]:
    if text in ("same", "valid"):
        return text
    return _ints(text)


def _one_or_many(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(values) == 1 else values


def _add_size_arguments(size: argparse.ArgumentParser) -> None:
    size.add_argument("size", type=_ints, help="input size: 32, or 32,32 per dimension")
    # Defaults are filled in later: with --solve, a value given is a constraint, a default is not.
    size.add_argument("-k", "--kernel", type=_ints, default=None,
                      help="kernel_size (required, except with --solve)")
    size.add_argument("-s", "--stride", type=_ints, default=None,
                      help="stride (default 1; kernel_size for pooling)")
    size.add_argument("-p", "--padding", type=_padding, default=None,
                      help="padding: a number, 'same' or 'valid' (default 0)")
    size.add_argument("-d", "--dilation", type=_ints, default=None, help="dilation (default 1)")
    size.add_argument("--layer", default="conv", choices=sorted(_LAYER_ALIASES),
                      help="layer kind (default conv)")
    size.add_argument("--transposed", action="store_true",
                      help="transposed convolution (same as --layer conv_transpose)")
    size.add_argument("--output-padding", type=_ints, default=(0,),
                      help="output_padding of a transposed convolution")
    size.add_argument("--ceil-mode", action="store_true", help="pooling with ceil_mode=True")
    size.add_argument("--solve", type=int, metavar="TARGET",
                      help="instead: list the settings that turn SIZE into TARGET")


def _add_trace_arguments(trace: argparse.ArgumentParser) -> None:
    # --input stays text here: main_trace checks it and says what is wrong in one sentence.
    trace.add_argument("model", metavar="FILE",
                       help="pasted PyTorch text in a file, '-' for stdin, or package.module:ClassName")
    trace.add_argument("--input", required=True, help="input shape, batch first, e.g. 1,3,32,32")
    trace.add_argument("--sizes", action="store_true",
                       help="also print which input sizes (last dimension) give the same "
                            "shape at the flatten step")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m convwidget",
        description="Exact PyTorch convolution arithmetic, explained with your numbers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_size_arguments(sub.add_parser(
        "size", help="output size of a conv, transposed conv or pooling layer",
        description="Print how PyTorch computes the output size, with your numbers.",
        epilog="example: python -m convwidget size 32 --kernel 3 --stride 2 --padding 1",
    ))
    _add_trace_arguments(sub.add_parser(
        "trace", help="trace a model's shapes: which in_features does my Linear need?",
        description="Trace every step of a model's forward pass on the meta device.",
        epilog="example: python -m convwidget trace model.txt --input 1,3,32,32",
    ))
    return parser


# ----------------------------------------------------------------------------- size


#: What --solve searches when a parameter is not given (inverse.solve's bounds).
_SOLVE_BOUNDS = {"kernel": range(1, 12), "stride": range(1, 6), "padding": range(0, 6),
                 "dilation": range(1, 5)}


def _solve_ranges(args: argparse.Namespace) -> dict[str, range | tuple[int]]:
    """Each parameter's values for --solve: the one given (a constraint) or the search bounds."""
    ranges: dict[str, range | tuple[int]] = {}
    for name, bound in _SOLVE_BOUNDS.items():
        given = getattr(args, name)
        if given == "valid":
            given = (0,)
        if isinstance(given, str):
            raise ShapeError(f"--solve with --padding {given}: give a number (or leave --padding out "
                             "to search paddings 0-5)")
        if given is not None and len(given) != 1:
            raise ShapeError(f"--solve works on one dimension: give one --{name} value, not "
                             f"{','.join(map(str, given))}")
        ranges[name] = bound if given is None else (given[0],)
    return ranges


def _describe_ranges(ranges: dict[str, range | tuple[int]]) -> str:
    """'kernel 3, stride 1-5, padding 0-5, dilation 1-4'."""
    return ", ".join(f"{name} {r[0]}" if len(r) == 1 else f"{name} {r[0]}-{r[-1]}"
                     for name, r in ranges.items())


def _simplest_window(kernel: int, dilation: int, ranges: dict[str, range | tuple[int]]) -> bool:
    """False for a window a simpler setting already gives: one tap is the same cell whatever
    the dilation (kernel 1 with dilation 2-4 is kernel 1), unless that dilation was asked for."""
    return kernel != 1 or dilation == 1 or len(ranges["dilation"]) == 1


def _solve_command(args: argparse.Namespace, kind: str) -> int:
    if len(args.size) != 1:
        raise ShapeError("--solve works on one dimension: give one input size")
    n = args.size[0]
    ranges = _solve_ranges(args)
    if kind == "conv_transpose":
        return _solve_transposed(n, args.solve, ranges)
    found = [s for s in solve(n, args.solve, kind=kind, ceil_mode=args.ceil_mode,
                              kernel_sizes=ranges["kernel"], strides=ranges["stride"],
                              paddings=ranges["padding"], dilations=ranges["dilation"])
             if _simplest_window(s.kernel_size, s.dilation, ranges)]
    print(f"{KINDS[kind]} settings that turn {n} into {args.solve}"
          f" ({_describe_ranges(ranges)}), simplest first:")
    if not found:
        print("  none within these bounds")
    for s in found[:40]:
        print(f"  kernel_size={s.kernel_size} stride={s.stride} padding={s.padding}"
              f" dilation={s.dilation}")
    if len(found) > 40:
        print(f"  ... and {len(found) - 40} more")
    return 0


def _size_command(args: argparse.Namespace) -> int:
    kind = "conv_transpose" if args.transposed else _LAYER_ALIASES[args.layer]
    if args.solve is not None:
        return _solve_command(args, kind)
    if args.kernel is None:
        raise ShapeError("size needs --kernel (e.g. --kernel 3); only --solve searches kernels")
    padding: Any = (0,) if args.padding is None else args.padding
    padding = padding if isinstance(padding, str) else _one_or_many(padding)
    dilation = (1,) if args.dilation is None else args.dilation
    result = explain(
        _one_or_many(args.size), _one_or_many(args.kernel),
        None if args.stride is None else _one_or_many(args.stride), padding,
        _one_or_many(dilation), kind=kind,
        output_padding=_one_or_many(args.output_padding), ceil_mode=args.ceil_mode,
    )
    if not result.ok:
        print(result, file=sys.stderr)
        return 1
    print(result)
    return 0


def _solve_transposed(n: int, target: int, ranges: dict[str, range | tuple[int]]) -> int:
    print(f"Transposed convolution settings that turn {n} into {target}"
          f" ({_describe_ranges(ranges)}), simplest first:")
    rows = []
    for d in ranges["dilation"]:
        for s in ranges["stride"]:
            for k in ranges["kernel"]:
                for p in ranges["padding"]:
                    if not _simplest_window(k, d, ranges):
                        continue
                    try:
                        sizes = conv_transpose_output_sizes(n, k, s, p, d)
                    except ShapeError:
                        continue
                    if target in sizes:
                        rows.append((d, s, k, p, sizes[target]))
    for d, s, k, p, op in rows[:40]:
        print(f"  kernel_size={k} stride={s} padding={p} dilation={d} output_padding={op}")
    if not rows:
        print("  none within these bounds")
    return 0


# ----------------------------------------------------------------------------- trace


class _Refused(Exception):
    """A bad command line, file or model: its one-line sentence goes to stderr, exit 2."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _input_shape(given: Any) -> tuple[int, ...]:
    text = ",".join(map(str, given)) if isinstance(given, (tuple, list)) else str(given or "")
    try:
        return _sizes(text)
    except ValueError as err:
        raise _Refused(f"{_INPUT_HINT} (got {text!r}: {err})") from None


def _stdin_text() -> str:
    """Standard input as text, undecodable bytes replaced (as files are read)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath (tests, some IDEs)
        return sys.stdin.read(_STDIN_BYTES)
    data: bytes = stream.read(_STDIN_BYTES)
    return data.decode("utf-8", errors="replace")


def _load(spec: str) -> Any:
    """The model FILE names: pasted text read by :func:`convwidget.pasted.read` (file or
    ``-``), or the module ``package.module:Class`` builds."""
    import os

    try:
        if spec == "-" or os.path.isfile(spec):
            from .pasted import read

            if spec == "-":
                return read(_stdin_text())
            with open(spec, encoding="utf-8", errors="replace") as f:
                return read(f.read(_STDIN_BYTES))
        from .loading import load_model

        return load_model(spec)
    except Exception as err:  # the user's own module or constructor may raise anything
        what = "" if isinstance(err, (ValueError, OSError)) else f"{type(err).__name__}: "
        raise _Refused(f"cannot load a model from {spec!r}: {what}{_first_line(err)}") from err


def _trace_arguments(argv_or_args: Sequence[str] | argparse.Namespace | None) -> argparse.Namespace:
    if isinstance(argv_or_args, argparse.Namespace):
        return argv_or_args
    parser = _Parser(prog="convwidget trace",
                     description="Trace a model's shapes on the meta device and say which "
                                 "in_features each Linear needs.")
    _add_trace_arguments(parser)
    return parser.parse_args(list(argv_or_args) if argv_or_args is not None else None)


def _run_trace(args: argparse.Namespace) -> int:
    from .tracer import trace

    shape = _input_shape(args.input)
    loaded = _load(args.model)
    try:
        report = trace(loaded, shape)
    except (ValueError, TypeError) as err:
        raise _Refused(_first_line(err)) from err
    print(report)
    if args.sizes and report.error is None:
        try:
            print(report.input_size_range(dim=-1))
        except (ValueError, TypeError) as err:
            print(f"convwidget trace: {_first_line(err)}", file=sys.stderr)
    return 0 if report.ok else 1


def main_trace(argv_or_args: Sequence[str] | argparse.Namespace | None = None) -> int:
    """``python -m convwidget trace FILE --input 1,3,32,32``: print the trace of a model.

    FILE is pasted PyTorch text, ``-`` for standard input, or ``package.module:ClassName``
    for an importable class built with no arguments. Exit status 0 when the model is
    consistent, 1 when the report lists problems, 2 for bad input (one sentence on stderr).

    >>> main_trace(["torch.nn:Identity", "--input", "2,5"])  # doctest: +ELLIPSIS
    Identity traced on input [2, 5] (meta device)
    ...
    0
    """
    try:
        return _run_trace(_trace_arguments(argv_or_args))
    except SystemExit as exc:  # argparse: --help, or a malformed command line
        return exc.code if isinstance(exc.code, int) else 2
    except _Refused as refusal:
        print(f"convwidget trace: {refusal}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["size", "32", "--kernel", "3", "--stride", "2", "--padding", "1"])
    Convolution: input 32 → output 16
      length: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16
      (the kernel spans 3 cells; the padded input has 34 cells: 32 + 2×1)
    0
    """
    args = _parser().parse_args(argv)
    if args.command == "trace":
        return main_trace(args)
    try:
        return _size_command(args)
    except (ShapeError, TypeError, ValueError) as err:
        print(f"convwidget: {err}", file=sys.stderr)
        return 1
