"""The usual wrong output-size formulas, each a named misconception.

Standard library only. A :class:`Misconception` gives, for a :class:`~.question.Question`,
the value its wrong formula produces (``None`` where it does not apply: no dilation to
ignore, no padding to count once), a one-sentence diagnosis with the question's numbers,
and the term of the right formula that fixes it.

Convolutions and pools use the formula as the web writes it,
``⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1`` (``⌈…⌉`` under ``ceil_mode``, with no dropped
window), with the one thing the misconception gets wrong; transposed convolutions use
``(n − 1)·s − 2p + d·(k − 1) + output_padding + 1`` likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .question import Question

__all__ = ["MISCONCEPTIONS", "Misconception", "misconception"]


def _web(total: int, span: int, s: int, ceil: bool) -> int:
    """``⌊(total − span) / s⌋ + 1`` (``⌈…⌉`` if ``ceil``): windows of ``span`` cells, no drop rule."""
    room = total - span
    return (-(-room // s) if ceil else room // s) + 1


def _brackets(ceil: bool) -> tuple[str, str]:
    return ("⌈", "⌉") if ceil else ("⌊", "⌋")


def _web_text(q: Question, total: str, span: str, s: int | None = None, ceil: bool | None = None,
              plus: str = " + 1") -> str:
    lo, hi = _brackets(q.ceil_mode if ceil is None else ceil)
    return f"{lo}({total} − {span}) / {q.stride if s is None else s}{hi}{plus}"


def _total(q: Question) -> str:
    return f"{q.size} + 2·{q.padding}"


def _span(q: Question) -> str:
    return str(q.span)


def _nth(s: int) -> str:
    return {2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(s, f"{s}th")


def _cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


def _conv_like(q: Question) -> bool:
    return q.kind != "conv_transpose"


@dataclass(frozen=True)
class Misconception:
    """A usual wrong formula: its name, a title, the formula in symbols and the term that fixes it.

    :meth:`value`, :meth:`sentence` and :meth:`fix_term` give the same for one question, with
    its numbers.

    >>> m = misconception("padding_once")
    >>> m.title, m.fix
    ('padding counted once', '2·p: padding goes on both sides')
    >>> q = Question("padding_stride", "conv", size=10, kernel_size=3, stride=1, padding=2)
    >>> q.answer, m.value(q)
    (12, 10)
    >>> print(m.sentence(q))
    padding=2 goes on both ends: the windows slide over 10 + 2·2 = 14 cells, not 10 + 2 = 12:
        ⌊(10 + 2 − 3) / 1⌋ + 1 = 10, but ⌊(10 + 2·2 − 1·(3 − 1) − 1) / 1⌋ + 1 = 12.
    >>> m.fix_term(q)
    '+ 2·p = + 4'
    """

    name: str
    title: str
    formula: str
    fix: str
    _value: Callable[[Question], int | None] = field(repr=False, compare=False)
    _sentence: Callable[[Question, int], str] = field(repr=False, compare=False)
    _fix_term: Callable[[Question], str] = field(repr=False, compare=False)

    def value(self, question: Question) -> int | None:
        """The answer this wrong formula gives, or None where the mistake cannot be made."""
        return self._value(question)

    def sentence(self, question: Question) -> str:
        """The diagnosis with the question's numbers (only for a question it applies to)."""
        value = self._value(question)
        if value is None:
            raise ValueError(f"{self.name!r} does not apply to {question.layer}")
        return self._sentence(question, value)

    def fix_term(self, question: Question) -> str:
        """The term of the right formula that fixes it, with the question's numbers."""
        return self._fix_term(question)


# ---------------------------------------------------------------------------- the formulas
# Each misconception: value(q) -> int | None, sentence(q, value) -> str, fix_term(q) -> str.

def _plus_one_value(q: Question) -> int:
    return q.answer - 1


def _plus_one_sentence(q: Question, v: int) -> str:
    if _conv_like(q):
        return (f"{v} counts the steps from the first window to the last; the first window is an output "
                f"cell too, so add 1: {q.derivation}.")
    return (f"{v} is the distance from the first output cell to the last; the cells number one more: "
            f"{q.derivation}.")


def _minus_one_value(q: Question) -> int:
    if _conv_like(q):
        return _web(q.size + 2 * q.padding, q.span - 1, q.stride, q.ceil_mode)
    return q.answer + q.stride


def _minus_one_sentence(q: Question, v: int) -> str:
    if _conv_like(q):
        lo, hi = _brackets(q.ceil_mode)
        return (f"the formula subtracts d·(k − 1) + 1 = {q.span} (the window's whole span), not "
                f"d·(k − 1) = {q.span - 1}: {lo}({_total(q)} − {q.dilation}·({q.kernel_size} − 1)) / "
                f"{q.stride}{hi} + 1 = {v}, but {q.derivation}.")
    return (f"the {q.size} input cells, {q.stride} apart, span (n − 1)·s + 1 = {(q.size - 1) * q.stride + 1} "
            f"cells, not n·s = {q.size * q.stride}: {q.derivation}.")


def _minus_one_fix(q: Question) -> str:
    return "the − 1 inside the bracket" if _conv_like(q) else f"(n − 1)·s = {(q.size - 1) * q.stride}"


def _dilation_value(q: Question) -> int | None:
    if q.dilation == 1:
        return None
    if _conv_like(q):
        return _web(q.size + 2 * q.padding, q.kernel_size, q.stride, q.ceil_mode)
    return q.answer - (q.dilation - 1) * (q.kernel_size - 1)


def _dilation_sentence(q: Question, v: int) -> str:
    d, k = q.dilation, q.kernel_size
    if _conv_like(q):
        return (f"dilation={d} spreads the {k} taps {d} cells apart, over d·(k − 1) + 1 = {q.span} cells, "
                f"not {k}: {_web_text(q, _total(q), str(k))} = {v}, but {q.derivation}.")
    return (f"dilation={d} makes the kernel reach d·(k − 1) = {d * (k - 1)} cells past the last input "
            f"cell, not k − 1 = {k - 1}: {q.derivation}.")


def _dilation_fix(q: Question) -> str:
    if _conv_like(q):
        return f"d·(k − 1) + 1 = {q.span} in place of k = {q.kernel_size}"
    return f"d·(k − 1) = {q.span - 1} in place of k − 1 = {q.kernel_size - 1}"


def _dk_value(q: Question) -> int | None:
    if q.dilation == 1:
        return None
    dk = q.dilation * q.kernel_size
    if _conv_like(q):
        return _web(q.size + 2 * q.padding, dk, q.stride, q.ceil_mode)
    return q.answer - q.span + dk


def _dk_sentence(q: Question, v: int) -> str:
    d, k = q.dilation, q.kernel_size
    head = (f"dilation={d} skips {d - 1} cell{'s' if d != 2 else ''} only between neighbouring taps "
            f"(k − 1 = {k - 1} gap{'s' if k != 2 else ''}), not after the last one, so the kernel spans "
            f"d·(k − 1) + 1 = {q.span} cells, not d·k = {d * k}")
    if _conv_like(q):
        return f"{head}: {_web_text(q, _total(q), str(d * k))} = {v}, but {q.derivation}."
    return f"{head}: {q.derivation}."


def _padding_once_value(q: Question) -> int | None:
    if q.padding == 0:
        return None
    if _conv_like(q):
        return _web(q.size + q.padding, q.span, q.stride, q.ceil_mode)
    return q.answer + q.padding


def _padding_once_sentence(q: Question, v: int) -> str:
    n, p = q.size, q.padding
    if _conv_like(q):
        return (f"padding={p} goes on both ends: the windows slide over {n} + 2·{p} = {n + 2 * p} cells, not "
                f"{n} + {p} = {n + p}: {_web_text(q, f'{n} + {p}', _span(q))} = {v}, but "
                f"{q.derivation}.")
    return (f"padding={p} trims {p} cell{'s' if p != 1 else ''} from both ends of a transposed "
            f"convolution's output: − 2·{p}, not − {p}: {q.derivation}.")


def _padding_ignored_value(q: Question) -> int | None:
    if q.padding == 0:
        return None
    if _conv_like(q):
        return _web(q.size, q.span, q.stride, q.ceil_mode)
    return q.answer + 2 * q.padding


def _padding_ignored_sentence(q: Question, v: int) -> str:
    n, p = q.size, q.padding
    if _conv_like(q):
        return (f"padding={p} adds {p} cell{'s' if p != 1 else ''} on each side: the windows slide over "
                f"{n} + 2·{p} = {n + 2 * p} cells, not {n}: {_web_text(q, str(n), _span(q))} = {v}, but "
                f"{q.derivation}.")
    return (f"padding={p} trims {p} cell{'s' if p != 1 else ''} from each end of a transposed "
            f"convolution's output (− 2·{p}); you left it out: {q.derivation}.")


def _padding_fix(q: Question) -> str:
    return f"+ 2·p = + {2 * q.padding}" if _conv_like(q) else f"− 2·p = − {2 * q.padding}"


def _padding_added_value(q: Question) -> int | None:
    if q.padding == 0 or _conv_like(q):
        return None
    return q.answer + 4 * q.padding


def _padding_added_sentence(q: Question, v: int) -> str:
    p = q.padding
    return (f"in a transposed convolution padding={p} removes cells (it is the padding of the convolution it "
            f"undoes): − 2·{p}, not + 2·{p}: {q.derivation}.")


def _stride_value(q: Question) -> int | None:
    if q.stride == 1:
        return None
    if _conv_like(q):
        return _web(q.size + 2 * q.padding, q.span, 1, False)
    return q.answer - (q.size - 1) * (q.stride - 1)


def _stride_sentence(q: Question, v: int) -> str:
    s = q.stride
    if not _conv_like(q):
        return (f"stride={s} puts {s - 1} zero{'s' if s != 2 else ''} between neighbouring inputs: they span "
                f"({q.size} − 1)·{s} + 1 = {(q.size - 1) * s + 1} cells, not {q.size}: {q.derivation}.")
    why = (f"a pool's stride defaults to its kernel_size ({s}), not 1" if q.stride_defaulted
           else f"stride={s} moves the window {s} cells at a time")
    room = q.size + 2 * q.padding - q.span
    lo, hi = _brackets(q.ceil_mode)
    return (f"{why}: after the first window, the {_cells(room)} of room give {lo}{room} / {s}{hi} more "
            f"windows, not {room}: {q.derivation}.")


def _stride_fix(q: Question) -> str:
    return f"/ s = / {q.stride}" if _conv_like(q) else f"(n − 1)·s = ({q.size} − 1)·{q.stride}"


def _positions_value(q: Question) -> int | None:
    if q.stride == 1 or q.ceil_mode or not _conv_like(q):
        return None
    return (q.size + 2 * q.padding - q.span + 1) // q.stride


def _positions_sentence(q: Question, v: int) -> str:
    pos = q.size + 2 * q.padding - q.span + 1
    return (f"the window has {pos} positions at stride 1 and stride={q.stride} keeps every {_nth(q.stride)} "
            f"starting with the first, which rounds up: ⌈{pos} / {q.stride}⌉, not "
            f"⌊{pos} / {q.stride}⌋ = {v}; {q.derivation}.")


def _ceil_value(q: Question) -> int | None:
    if q.ceil_mode or not _conv_like(q):
        return None
    return _web(q.size + 2 * q.padding, q.span, q.stride, True)


def _ceil_sentence(q: Question, v: int) -> str:
    start = (v - 1) * q.stride
    flag = "ceil_mode=False, the default" if q.is_pool else "a convolution has no ceil_mode"
    return (f"a window must fit inside the padded input ({flag}): rounding up counts a last window over "
            f"cells {start}..{start + q.span - 1}, but the padded input ends at cell "
            f"{q.size + 2 * q.padding - 1} (counting from 0); round down: {q.derivation}.")


def _floor_value(q: Question) -> int | None:
    if not q.ceil_mode:
        return None
    return _web(q.size + 2 * q.padding, q.span, q.stride, False)


def _floor_sentence(q: Question, v: int) -> str:
    return (f"ceil_mode=True keeps a last, partial window if it starts before the end of the input, so "
            f"the division rounds up: {q.derivation}.")


def _no_drop_value(q: Question) -> int | None:
    if not q.ceil_mode:
        return None
    return _web(q.size + 2 * q.padding, q.span, q.stride, True)


def _no_drop_sentence(q: Question, v: int) -> str:
    start = (v - 1) * q.stride - q.padding
    return (f"ceil_mode=True rounds up to {v} windows, but the last would start at cell {start} of the "
            f"input (counting from 0), after its last cell {q.size - 1}: PyTorch drops a window that "
            f"starts past the input, so {q.derivation}.")


def _same_value(q: Question) -> int:
    return -(-q.size // q.stride) if _conv_like(q) else q.size * q.stride


def _same_sentence(q: Question, v: int) -> str:
    if _conv_like(q):
        rule = (f"⌈n / s⌉ = ⌈{q.size} / {q.stride}⌉ = {v}" if q.stride != 1
                else f"the output keeping the input's {q.size} cells")
        return (f"{rule} is TensorFlow's padding='SAME', which pads as much as needed; with "
                f"padding={q.padding} and a {q.span}-cell window PyTorch gives {q.derivation}.")
    return (f"n·s = {q.size}·{q.stride} = {v} holds only when d·(k − 1) − 2p + output_padding + 1 equals the "
            f"stride (e.g. kernel_size=4, stride=2, padding=1); here {q.derivation}.")


def _same_fix(q: Question) -> str:
    if _conv_like(q):
        return f"the window's span {q.span} and the padding 2·{q.padding} in the formula"
    return "the full formula: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1"


def _as_conv_value(q: Question) -> int | None:
    if _conv_like(q):
        return None
    return _web(q.size + 2 * q.padding, q.span, q.stride, False)


def _as_conv_sentence(q: Question, v: int) -> str:
    return (f"{_web_text(q, _total(q), _span(q), ceil=False)} = {v} is the convolution's formula; a "
            f"transposed convolution goes the other way, back to the size a convolution with these "
            f"settings would have read: {q.derivation}.")


def _output_padding_value(q: Question) -> int | None:
    if q.output_padding == 0:
        return None
    return q.answer - q.output_padding


def _output_padding_sentence(q: Question, v: int) -> str:
    op = q.output_padding
    return (f"output_padding={op} adds {_cells(op)} at the end of the output (to pick one of the sizes a "
            f"strided convolution maps to the same size): {q.derivation}.")


def _op_twice_value(q: Question) -> int | None:
    if q.output_padding == 0:
        return None
    return q.answer + q.output_padding


def _op_twice_sentence(q: Question, v: int) -> str:
    op = q.output_padding
    return (f"output_padding={op} adds {_cells(op)} at one end of the output only (unlike padding, which "
            f"counts on both sides): + {op}, not + 2·{op}: {q.derivation}.")


def _reach_value(q: Question) -> int | None:
    if _conv_like(q) or q.kernel_size == 1:
        return None
    return q.answer - q.dilation * (q.kernel_size - 1)


def _reach_sentence(q: Question, v: int) -> str:
    return (f"each input cell spreads over the kernel's {q.span} cells, so the output reaches "
            f"d·(k − 1) = {q.span - 1} cells past the last stretched input cell: {q.derivation}.")


def _const(text: str) -> Callable[[Question], str]:
    return lambda q: text


#: The misconceptions convwidget recognises, in the order a diagnosis lists them.
MISCONCEPTIONS: tuple[Misconception, ...] = (
    Misconception("forgot_plus_one", "the + 1 forgotten",
                  "the formula without its final + 1 (the first window, or the first output cell)",
                  "+ 1", _plus_one_value, _plus_one_sentence, _const("+ 1")),
    Misconception("minus_one_left_out", "the − 1 left out",
                  "⌊(n + 2p − d·(k − 1)) / s⌋ + 1, or n·s for (n − 1)·s in a transposed convolution",
                  "− 1", _minus_one_value, _minus_one_sentence, _minus_one_fix),
    Misconception("dilation_ignored", "dilation ignored", "k where the dilated kernel spans d·(k − 1) + 1",
                  "d·(k − 1) + 1", _dilation_value, _dilation_sentence, _dilation_fix),
    Misconception("dilation_times_kernel", "dilated span taken as d·k",
                  "d·k where the dilated kernel spans d·(k − 1) + 1", "d·(k − 1) + 1", _dk_value,
                  _dk_sentence,
                  lambda q: f"d·(k − 1) + 1 = {q.span} in place of d·k = {q.dilation * q.kernel_size}"),
    Misconception("padding_once", "padding counted once", "n + p where the padded input has n + 2p",
                  "2·p: padding goes on both sides", _padding_once_value, _padding_once_sentence,
                  _padding_fix),
    Misconception("padding_ignored", "padding left out", "the formula without its 2p term",
                  "2·p", _padding_ignored_value, _padding_ignored_sentence, _padding_fix),
    Misconception("padding_added", "padding added to a transposed convolution",
                  "(n − 1)·s + 2p + …, as in a convolution, where a transposed convolution has − 2p",
                  "− 2·p", _padding_added_value, _padding_added_sentence, _padding_fix),
    Misconception("stride_ignored", "stride ignored", "the formula at stride 1 (a pool's stride taken as 1)",
                  "/ s (or (n − 1)·s transposed)", _stride_value, _stride_sentence, _stride_fix),
    Misconception("positions_divided_by_stride", "stride-1 positions divided by the stride, rounded down",
                  "⌊(n + 2p − d·(k − 1)) / s⌋: the + 1 added before dividing", "⌊(… − 1) / s⌋ + 1",
                  _positions_value, _positions_sentence,
                  lambda q: f"⌊({q.size + 2 * q.padding - q.span + 1} − 1) / {q.stride}⌋ + 1"),
    Misconception("ceil_instead_of_floor", "ceil instead of floor", "⌈…⌉ where PyTorch rounds down",
                  "⌊…⌋", _ceil_value, _ceil_sentence, _const("⌊…⌋ (round down)")),
    Misconception("floor_despite_ceil_mode", "floor where ceil_mode asks ceil",
                  "⌊…⌋ although ceil_mode=True", "⌈…⌉", _floor_value, _floor_sentence,
                  _const("⌈…⌉ (round up, ceil_mode=True)")),
    Misconception("ceil_mode_without_drop", "ceil_mode without the dropped window",
                  "⌈(n + 2p − d·(k − 1) − 1) / s⌉ + 1, keeping a last window that starts past the "
                  "input",
                  "− 1 when (out − 1)·s ≥ n + p", _no_drop_value, _no_drop_sentence,
                  lambda q: "− 1: the last window would start at (out − 1)·s ≥ n + p = "
                            f"{q.size + q.padding}"),
    Misconception("same_shortcut", "the 'same' shortcut",
                  "⌈n / s⌉ (TensorFlow's 'SAME'), or n·s for a transposed convolution",
                  "the full formula", _same_value, _same_sentence, _same_fix),
    Misconception("transposed_as_conv", "transposed computed as a convolution",
                  "⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1 applied to a ConvTranspose",
                  "(n − 1)·s − 2p + d·(k − 1) + output_padding + 1", _as_conv_value, _as_conv_sentence,
                  _const("(n − 1)·s − 2p + d·(k − 1) + output_padding + 1")),
    Misconception("output_padding_ignored", "output_padding left out",
                  "the transposed formula without + output_padding", "+ output_padding",
                  _output_padding_value, _output_padding_sentence,
                  lambda q: f"+ output_padding = + {q.output_padding}"),
    Misconception("output_padding_twice", "output_padding counted on both sides",
                  "the transposed formula with + 2·output_padding", "+ output_padding (one side only)",
                  _op_twice_value, _op_twice_sentence, lambda q: f"+ output_padding = + {q.output_padding}"),
    Misconception("kernel_reach_ignored", "the kernel's reach left out (transposed)",
                  "(n − 1)·s − 2p + output_padding + 1, the stretched input without the kernel",
                  "+ d·(k − 1)", _reach_value, _reach_sentence, lambda q: f"+ d·(k − 1) = + {q.span - 1}"),
)

_BY_NAME = {m.name: m for m in MISCONCEPTIONS}


def misconception(name: str) -> Misconception:
    """The misconception called ``name``.

    >>> misconception("dilation_ignored").title
    'dilation ignored'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"no misconception is called {name!r}; use one of {', '.join(_BY_NAME)}") from None
