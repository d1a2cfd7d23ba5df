"""The command line: ``python -m convwidget size ...`` and ``python -m convwidget trace ...``.

Thin: parse the arguments, call the core, print. A setting PyTorch refuses
prints the same sentence as the library, on stderr, with exit status 1; a
malformed command line exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import ShapeError
from .explanations import KINDS, explain
from .inverse import conv_transpose_output_sizes, solve

__all__ = ["main"]

_LAYER_ALIASES = {
    "conv": "conv", "convolution": "conv",
    "conv_transpose": "conv_transpose", "transposed": "conv_transpose",
    "convtranspose": "conv_transpose", "deconv": "conv_transpose",
    "max_pool": "max_pool", "maxpool": "max_pool", "max": "max_pool",
    "avg_pool": "avg_pool", "avgpool": "avg_pool", "avg": "avg_pool",
}


def _ints(text: str) -> tuple[int, ...]:
    """'32', '32,32', '32x32' or '1,3,32,32' -> a tuple of ints."""
    parts = text.replace("x", ",").replace("×", ",").split(",")
    try:
        values = tuple(int(p) for p in parts if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: use whole numbers such as 32 or 32,32"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("a size needs at least one number")
    return values


def _padding(text: str) -> str | tuple[int, ...]:
    if text in ("same", "valid"):
        return text
    return _ints(text)


def _one_or_many(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(values) == 1 else values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convwidget",
        description="Exact PyTorch convolution arithmetic, explained with your numbers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    size = sub.add_parser(
        "size", help="output size of a conv, transposed conv or pooling layer",
        description="Print how PyTorch computes the output size, with your numbers.",
        epilog="example: python -m convwidget size 32 --kernel 3 --stride 2 --padding 1",
    )
    size.add_argument("size", type=_ints, help="input size: 32, or 32,32 per dimension")
    size.add_argument("-k", "--kernel", type=_ints, required=True, help="kernel_size")
    size.add_argument("-s", "--stride", type=_ints, default=None,
                      help="stride (default 1; kernel_size for pooling)")
    size.add_argument("-p", "--padding", type=_padding, default=(0,),
                      help="padding: a number, 'same' or 'valid' (default 0)")
    size.add_argument("-d", "--dilation", type=_ints, default=(1,), help="dilation (default 1)")
    size.add_argument("--layer", default="conv", choices=sorted(_LAYER_ALIASES),
                      help="layer kind (default conv)")
    size.add_argument("--transposed", action="store_true",
                      help="transposed convolution (same as --layer conv_transpose)")
    size.add_argument("--output-padding", type=_ints, default=(0,),
                      help="output_padding of a transposed convolution")
    size.add_argument("--ceil-mode", action="store_true", help="pooling with ceil_mode=True")
    size.add_argument("--solve", type=int, metavar="TARGET",
                      help="instead: list the settings that turn SIZE into TARGET")

    trace = sub.add_parser(
        "trace", help="trace a model's shapes: which in_features does my Linear need?",
        description="Trace every step of a model's forward pass on the meta device.",
        epilog="example: python -m convwidget trace model.txt --input 1,3,32,32",
    )
    trace.add_argument("model", help="pasted PyTorch text in a file, '-' for stdin, or "
                                     "package.module:ClassName")
    trace.add_argument("--input", type=_ints, required=True, help="input shape, e.g. 1,3,32,32")
    trace.add_argument("--sizes", action="store_true",
                       help="also print which input sizes (last dimension) give the same "
                            "shape at the flatten step")
    return parser


def _size_command(args: argparse.Namespace) -> int:
    kind = "conv_transpose" if args.transposed else _LAYER_ALIASES[args.layer]
    n = args.size[0] if len(args.size) == 1 else None
    if args.solve is not None:
        if n is None:
            raise ShapeError("--solve works on one dimension: give one input size")
        if kind == "conv_transpose":
            return _solve_transposed(n, args.solve)
        found = solve(n, args.solve, kind=kind, ceil_mode=args.ceil_mode)
        print(f"{KINDS[kind]} settings that turn {n} into {args.solve}"
              f" (kernel 1-11, stride 1-5, padding 0-5, dilation 1-4), simplest first:")
        if not found:
            print("  none within these bounds")
        for s in found[:40]:
            print(f"  kernel_size={s.kernel_size} stride={s.stride} padding={s.padding}"
                  f" dilation={s.dilation}")
        if len(found) > 40:
            print(f"  ... and {len(found) - 40} more")
        return 0
    padding = args.padding if isinstance(args.padding, str) else _one_or_many(args.padding)
    result = explain(
        _one_or_many(args.size), _one_or_many(args.kernel),
        None if args.stride is None else _one_or_many(args.stride), padding,
        _one_or_many(args.dilation), kind=kind,
        output_padding=_one_or_many(args.output_padding), ceil_mode=args.ceil_mode,
    )
    if not result.ok:
        print(result, file=sys.stderr)
        return 1
    print(result)
    return 0


def _solve_transposed(n: int, target: int) -> int:
    print(f"Transposed convolution settings that turn {n} into {target}"
          " (kernel 1-11, stride 1-5, padding 0-5, dilation 1-4), simplest first:")
    rows = []
    for d in range(1, 5):
        for s in range(1, 6):
            for k in range(1, 12):
                for p in range(0, 6):
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["size", "32", "--kernel", "3", "--stride", "2", "--padding", "1"])
    Convolution: input 32 → output 16
      length: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16
      (the kernel spans 3 cells; the padded input has 34 cells: 32 + 2×1)
    0
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "size":
            return _size_command(args)
        from .tracer import main_trace

        return main_trace(args)
    except (ShapeError, TypeError, ValueError) as err:
        print(f"convwidget: {err}", file=sys.stderr)
        return 1
