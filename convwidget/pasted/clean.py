"""Pasted text -> Python source: strip what is not code, repair what was cut off.

Forum pastes come with prose, markdown fences, ``>>>``/``In [1]:`` prompts and
typographic quotes around the code, as the printed ``repr`` of a model, or cut off
mid-way. Everything here works on text, line numbers kept (a removed line becomes
blank), and runs in time linear in the text's length. Standard library only.
"""

from __future__ import annotations

import ast
import keyword
import os
import re
import warnings
from collections.abc import Callable

from .limits import MAX_BRACKET_DEPTH, MAX_CHARS, MAX_CUTS, MAX_LAYERS, MAX_LINES, MAX_NODES, PasteError

__all__ = ["REPR_ENTRY", "ParseBudget", "cut_points", "from_repr", "is_prose_fallback", "is_repr",
           "parse_variants", "repair", "strip_non_code"]

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^\s*(>>>|\.\.\.)( |$)")
# One way to read leading whitespace: `^\s*(In ...|\s+...:)` backtracked quadratically on it.
_IPY_PROMPT = re.compile(r"^(\s*In \[\d*\]:|\s+\.\.\.:)( |$)")
_SOFT_KEYWORDS = {"match", "case", "type", "_"}
_LONE_WORD = re.compile(r"^\s*([A-Za-z_]\w*)\s*[:!?.]+\s*$")
_WEB_CHARACTERS = str.maketrans({
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": "",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2212": "-",
})
_PROSE_TOKEN = re.compile(
    r"(?P<s>[rbfuRBFU]{0,2}('[^'\n]*'|\"[^\"\n]*\"))|(?P<w>[A-Za-z_]\w*)|(?P<n>\d[\w.]*)"
    r"|(?P<c>[)\]}])|(?P<o>\S)")
_TRIPLE_OR_COMMENT = re.compile(r"\"\"\"|'''|#")
REPR_ENTRY = re.compile(r"^(\s*)\(([\w-]+)\): (?:(\d+) x )?(.*)$")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_SPECIAL = re.compile(r"[#'\"()\[\]{}\n]")  # what the bracket scan stops at


def _is_prose(line: str) -> bool:
    """A name after a name, number, string or closing bracket, with only a space between
    ("my model", "print(model) gives") never happens in Python code outside keywords.

    >>> _is_prose("Here is my model:"), _is_prose("nn.Conv2d(3, 6, 5),  # my conv")
    (True, False)
    """
    if REPR_ENTRY.match(line):  # "(0-2): 3 x Linear(...)" in a printed model
        return False
    lone = _LONE_WORD.match(line)  # "Model:", "Thanks!", "Edit." are never code
    if lone and not keyword.iskeyword(lone.group(1)):
        return True
    prev: tuple[str, int] | None = None
    for m in _PROSE_TOKEN.finditer(line):
        kind = m.lastgroup or "o"
        text = m.group()
        if kind == "o" and text == "#":
            break
        if kind == "w" and (keyword.iskeyword(text) or text in _SOFT_KEYWORDS):
            kind = "k"
        if (prev is not None and kind == "w" and prev[0] in ("w", "n", "c", "s")
                and prev[1] < m.start() and line[prev[1]: m.start()].strip() == ""):
            return True
        prev = (kind, m.end())
    return False


def _string_lines(lines: list[str]) -> set[int]:
    """Indexes of lines that start inside a triple-quoted string."""
    inside: str | None = None
    result = set()
    for i, line in enumerate(lines):
        if inside:
            result.add(i)
        pos = 0
        while True:
            if inside:
                j = line.find(inside, pos)
                if j < 0:
                    break
                inside, pos = None, j + 3
            else:
                m = _TRIPLE_OR_COMMENT.search(line, pos)
                if not m or m.group() == "#":
                    break
                inside, pos = m.group(), m.end()
    return result


def _keep_fenced(lines: list[str]) -> None:
    """Markdown fences: keep only what is inside them."""
    if not any(_FENCE.match(line) for line in lines):
        return
    inside = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            inside = not inside
            lines[i] = ""
        elif not inside:
            lines[i] = ""


def _keep_prompted(lines: list[str], notes: list[str]) -> None:
    """Interactive prompts: keep the input, drop the printed output."""
    for prompt in (_PROMPT, _IPY_PROMPT):
        if any(prompt.match(line) and line.strip()[:3] in (">>>", "In ") for line in lines):
            if _printed_repr(lines, prompt):
                notes.append("read the printed model after the interactive prompts")
                return
            for i, line in enumerate(lines):
                m = prompt.match(line)
                lines[i] = line[m.end():] if m else ""
            notes.append("read the code after the interactive prompts; printed output ignored")


def _printed_repr(lines: list[str], prompt: re.Pattern) -> bool:
    """``>>> print(model)`` and its output: when the output is a model's repr and the input
    builds no layers, the output is the model (the prompt lines are dropped)."""
    typed = [i for i, line in enumerate(lines) if prompt.match(line)]
    if any("nn." in lines[i] or "class " in lines[i] for i in typed):
        return False
    if not any(REPR_ENTRY.match(line) for line in lines if not prompt.match(line)):
        return False
    for i in typed:
        lines[i] = ""
    return True


def _drop_prose(lines: list[str], notes: list[str]) -> None:
    in_string = _string_lines(lines)
    dropped = 0
    for i, line in enumerate(lines):
        if i not in in_string and _is_prose(line):
            lines[i] = ""
            dropped += 1
    if dropped:
        notes.append(f"ignored {dropped} line(s) of prose around the code")


def strip_non_code(text: str, notes: list[str]) -> str:
    """Strip what is not code, keeping line numbers (removed lines become blank).

    >>> notes = []
    >>> strip_non_code("My net:\\n```python\\nnn.ReLU()\\n```\\nThanks!", notes)
    '\\n\\nnn.ReLU()\\n\\n'
    """
    if any(chr(c) in text for c in _WEB_CHARACTERS):  # copied from a web page or a word processor
        text = text.translate(_WEB_CHARACTERS)
        notes.append("replaced typographic quotes / non-breaking spaces copied from a web page")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    if len(lines) > MAX_LINES:
        raise PasteError(f"the text has {len(lines)} lines; parse reads at most {MAX_LINES}")
    _keep_fenced(lines)
    _keep_prompted(lines, notes)
    _drop_prose(lines, notes)
    return "\n".join(lines)


def is_repr(src: str) -> bool:
    """Whether the text is (or holds) the printed ``repr`` of a model."""
    return any(REPR_ENTRY.match(line) for line in src.split("\n"))


def from_repr(src: str, notes: list[str]) -> str:
    """Printed ``print(model)`` output -> code: ``(conv1): Conv2d(...)`` -> ``conv1=Conv2d(...),``.

    >>> print(from_repr("Sequential(\\n  (0): ReLU()\\n  (fc): Linear(2, 1)\\n)", []))
    Sequential(
      _0=ReLU(),
      fc=Linear(2, 1),
    ),
    """
    out = []
    for line in src.split("\n"):
        m = REPR_ENTRY.match(line)
        if m:
            indent, name, _, rest = m.groups()
            if "-" in name:  # "(0-2): 3 x Linear(...)": repeated identical modules
                out.append(indent + _repeated(name, rest))
                continue
            line = f"{indent}_{name}={rest}" if name.isdigit() else f"{indent}{name}={rest}"
        if line.rstrip().endswith(")"):
            line = line.rstrip() + ","
        out.append(line)
    notes.append("read the printed repr of a model: containers keep their children in "
                 "printed (__init__) order, which is not always the order forward runs them")
    return "\n".join(out)


def _repeated(name: str, rest: str) -> str:
    """``(0-2): 3 x Linear(...)`` -> ``_0=Linear(...), _1=Linear(...), _2=Linear(...),``."""
    bounds = re.fullmatch(r"(\d{1,7})-(\d{1,7})", name)
    if not bounds:
        raise PasteError(f"'({name[:20]})' in the printed model is neither a name nor a range of "
                         "repeated modules such as '(0-2)'")
    lo, hi = int(bounds[1]), int(bounds[2])
    if not 0 < hi - lo + 1 <= MAX_LAYERS:
        raise PasteError(f"the printed range ({name}) repeats {hi - lo + 1} modules; parse reads "
                         f"1 to {MAX_LAYERS}")
    if (hi - lo + 1) * len(rest) > MAX_CHARS:
        raise PasteError(f"the printed range ({name}) repeats {len(rest)} characters "
                         f"{hi - lo + 1} times; parse reads at most {MAX_CHARS}")
    if not rest.rstrip().endswith(")") or rest.rstrip().endswith("("):
        raise PasteError("a repeated block '(a-b): n x ...' spanning several lines "
                         "is not supported; paste the code instead")
    return " ".join(f"_{k}={rest}," for k in range(lo, hi + 1))


_STRING_STOP = {q: re.compile(r"\\|" + re.escape(q) + ("" if len(q) == 3 else r"|\n"))
                for q in ('"""', "'''", '"', "'")}


def _string_end(src: str, i: int) -> int | None:
    """Offset just after the string literal starting at ``src[i]``, None if unterminated."""
    quote = src[i: i + 3] if src[i: i + 3] in ('"""', "'''") else src[i]
    stop = _STRING_STOP[quote]
    j = i + len(quote)
    while True:
        m = stop.search(src, j)
        if m is None or m.group() == "\n":
            return None
        if m.group() == "\\":
            j = m.end() + 1
            continue
        return m.end()


class _Brackets:
    """The bracket stack left open, unmatched closers, and where an unterminated string
    starts (or None). Refuses deep nesting before ``ast`` sees it."""

    def __init__(self, src: str) -> None:
        self.stack: list[tuple[str, int]] = []
        self.extra: list[int] = []
        self.string_start: int | None = None
        self._scan(src)

    def _scan(self, src: str) -> None:
        i, line = 0, 1
        while True:
            m = _SPECIAL.search(src, i)
            if m is None:
                return
            i, c = m.start(), m.group()
            if c == "#":
                j = src.find("\n", i)
                if j < 0:
                    return
                i = j
                continue
            if c in "'\"":
                end = _string_end(src, i)
                if end is None:
                    self.string_start = i
                    return
                line += src.count("\n", i, end)
                i = end
                continue
            if c == "\n":
                line += 1
            else:
                self._bracket(c, i, line)
            i += 1

    def _bracket(self, c: str, i: int, line: int) -> None:
        if c in "([{":
            self.stack.append((c, line))
            if len(self.stack) > MAX_BRACKET_DEPTH:
                raise PasteError(f"brackets nested more than {MAX_BRACKET_DEPTH} deep", line)
        elif c in _CLOSERS:
            if self.stack and self.stack[-1][0] == _CLOSERS[c]:
                self.stack.pop()
            elif not self.stack:
                self.extra.append(i)
            # a mismatched closer is left for ast to report


def repair(src: str) -> tuple[str, str | None]:
    """Close brackets left open by a truncated paste; drop stray closers at the end.

    >>> src, note = repair("nn.Sequential(nn.ReLU(),")
    >>> src
    'nn.Sequential(nn.ReLU(),\\n)'
    >>> note
    "the paste looks truncated (bracket opened on line 1 is never closed); closed it with ')'"
    """
    found = _Brackets(src)
    note = None
    if found.string_start is not None:
        src = src[:found.string_start]
        found = _Brackets(src)
        note = "the paste ends inside a string; ignored it from there"
    if found.extra:
        extra = set(found.extra)
        src = "".join(c for i, c in enumerate(src) if i not in extra)
        note = f"ignored {len(extra)} unmatched closing bracket(s)"
    if found.stack:
        closers = "".join({"(": ")", "[": "]", "{": "}"}[b] for b, _ in reversed(found.stack))
        src = src.rstrip().rstrip("\\") + "\n" + closers  # own line: the last may be a comment
        note = (f"the paste looks truncated (bracket opened on line {found.stack[-1][1]} is never "
                f"closed); closed it with {closers!r}")
    return src, note


def _ast_parse(src: str) -> ast.Module:
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in a paste is not ours to warn
            warnings.simplefilter("ignore")
            return ast.parse(src)
    except (RecursionError, MemoryError) as err:
        raise PasteError("the text is nested too deeply to read") from err


def _dedent(src: str) -> str:
    """textwrap.dedent without its regex built from the margin (slow for a huge margin).

    >>> _dedent("  a\\n\\n    b\\n")
    'a\\n\\n  b\\n'
    """
    lines = src.split("\n")
    margins = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip(" \t")]
    margin = os.path.commonprefix(margins) if margins else ""
    return "\n".join(line[len(margin):] if line.strip(" \t") else "" for line in lines)


# [ \t]*, not \s*: with re.M, \s* ran across every following blank line (quadratic).
_CLASS_OR_DEF = re.compile(r"^[ \t]*(class|def)\s", re.M)


class ParseBudget:
    """The work ``ast.parse`` may still do for one paste, shared by every retry (variants,
    lines dropped as prose, cuts of a truncated paste), so that refusal stays quick.

    A unit is about one syntax node: five per bracket (a call is a Call, its function and
    its arguments), one per comma, one per fifty characters. About 0.5 s of ast.parse in all.

    >>> budget = ParseBudget()
    >>> budget.spend("nn.ReLU()")
    >>> budget.spend("nn.ReLU(), " * 40_000)
    Traceback (most recent call last):
    ...
    convwidget.pasted.PasteError: the code has about 248800 syntax nodes (five per bracket, one per ...
    >>> for _ in range(3):
    ...     budget.spend("nn.ReLU(), " * 8_000)
    Traceback (most recent call last):
    ...
    convwidget.pasted.PasteError: the code is too large to read quickly (about 49760 syntax nodes ...
    """

    UNITS = 2 * MAX_NODES

    def __init__(self) -> None:
        self.left = self.UNITS

    def spend(self, src: str) -> None:
        cost = (5 * (src.count("(") + src.count("[") + src.count("{")) + src.count(",")
                + len(src) // 50)
        if cost > MAX_NODES * 6 // 5:  # 20% over the limit: ast would find more than MAX_NODES
            raise PasteError(f"the code has about {cost} syntax nodes (five per bracket, one per "
                             "comma); parse "
                             f"reads at most {MAX_NODES} (paste only the model's code)", fatal=True)
        self.left -= cost
        if self.left < 0:
            raise PasteError(
                f"the code is too large to read quickly (about {cost} syntax nodes to read, "
                f"{self.UNITS} in all, counting every retry of a paste with lines that are not "
                "code); paste only the model's code", fatal=True)


def parse_variants(src: str, budget: ParseBudget,
                   final: Callable[[SyntaxError], bool] = lambda err: False,
                   indent_again: bool = True) -> tuple[ast.Module, str]:
    """ast.parse, retrying as a dedented fragment, with all indentation removed
    (no class/def), or wrapped in parentheses (comma-separated layer lines), or indented
    again from its class and def lines (unless ``indent_again`` is False: brackets closed at
    the end of a cut paste break its indentation, and the cut is the better reading); an
    error that ``final`` accepts ends the retries (a line of prose that the caller drops)."""
    first: SyntaxError | None = None
    variants = [_dedent(src)]
    if not _CLASS_OR_DEF.search(src):
        variants.append("\n".join(line.strip() for line in src.split("\n")))
        variants.append("(" + variants[-1] + "\n)")
    elif indent_again:
        variants.append(reindent(src) or variants[0])
    for k, variant in enumerate(variants):
        if k >= 1 and variant == variants[0]:
            continue  # nothing was indented, or nothing to re-indent: the same error
        budget.spend(variant)
        try:
            return _ast_parse(variant), variant
        except SyntaxError as err:
            if final(err):
                raise
            first = first or err
    assert first is not None
    raise first


REINDENTED = "\n# convwidget: re-indented"  # marks the variant, for the note
_HEADER = re.compile(r"(class|(async\s+)?def)\s")
_COMPOUND = re.compile(r"(if|elif|else|for|while|with|try|except|finally)\b.*:$")
_STRINGS = re.compile(r"'[^']*'|\"[^\"]*\"|#.*$")


def reindent(src: str) -> str | None:
    """Code whose indentation was lost or mixed, indented again from its ``class`` and ``def``
    lines: a class at 0, its methods at 1, their bodies at 2 (without a class: defs at 0).
    Lines inside brackets keep theirs. None where the structure is ambiguous (an ``if`` or
    ``for`` block: where it ends cannot be known).

    >>> lost = ["class N(nn.Module):", "def f(self):", "return 1"]
    >>> print(reindent("\\n".join(lost)).replace(REINDENTED, ""))
    class N(nn.Module):
        def f(self):
            return 1
    """
    out, depth, level, in_class = [], 0, 0, False
    for line in src.split("\n"):
        s = line.strip()
        if depth > 0 or not s or s.startswith("#"):
            out.append(line)
        elif _HEADER.match(s) or s.startswith("@"):
            in_class = in_class or s.startswith("class")
            at = 0 if s.startswith("class") else int(in_class)
            out.append("    " * at + s)
            level = at + 1 if s.endswith(":") else level
        elif _COMPOUND.match(_STRINGS.sub("", s).rstrip()):
            return None
        else:
            out.append("    " * level + s)
        code = _STRINGS.sub("", s)
        depth = max(0, depth + sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}"))
    return "\n".join(out) + REINDENTED


# `[ \t]*,?[ \t]*` would backtrack quadratically on a long run of blanks after a ')'.
_CUT_POINT = re.compile(r"\)[ \t]*(?:,[ \t]*)?(#[^\n]*)?$", re.M)


def cut_points(src: str, limit: int = MAX_CUTS) -> list[int]:
    """Offsets just after the last few ')' that end a line, for a truncated paste.

    >>> cut_points("nn.ReLU(),\\nnn.Linear(2, 3),\\nnn.Conv2d(3,")
    [27, 10]
    """
    points = [m.end() for m in _CUT_POINT.finditer(src)]
    return points[::-1][:limit]


def is_prose_fallback(line: str) -> bool:
    """A line ast refuses that has no code punctuation ("Model:", "Thanks!")."""
    s = line.strip()
    return bool(s) and not re.search(r"[()\[\]=,]", s) and not keyword.iskeyword(
        s.split()[0].rstrip(":"))
