"""The Cython sources keep the rules the build relies on.

gtok's extensions are compiled with ``wraparound=False`` (setup.py): an index is used as it
is, so ``a[-1]`` does not mean "the last item". On a typed memoryview or pointer it reads
out of bounds; on a Python object it is passed to the object's item slot unwrapped, which
NumPy >= 2.5 refuses (``IndexError: index -15 is out of bounds``) -- the bug that broke every
``Tokenizer`` on Python 3.12+. The checked build (``GTOK_CYTHON_CHECKS=1``) catches negative
indices on memoryviews at run time; this test catches the literal ones in any expression,
including the code paths no test runs.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

SOURCES = sorted(
    p
    for ext in ("*.pyx", "*.pxd")
    for p in (Path(__file__).resolve().parents[1] / "gtok").rglob(ext)
)

# a "[" after these opens a subscript; after anything else (an operator, "return", "in",
# "(" ...) it opens a list display
_KEYWORDS = {
    "and",
    "or",
    "not",
    "in",
    "is",
    "return",
    "if",
    "elif",
    "else",
    "for",
    "while",
    "yield",
    "await",
    "lambda",
    "print",
    "del",
    "assert",
    "with",
    "from",
    "import",
}


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.STRING,
        tokenize.ENCODING,
    }
    return [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip]


def negative_subscripts(text: str) -> list[tuple[int, str]]:
    """(line, text) of each subscript with an index or slice bound written as ``-...``."""
    toks = _tokens(text)
    found = []
    for i, tok in enumerate(toks):
        if tok.string != "[" or i == 0:
            continue
        prev = toks[i - 1]
        if not (
            (prev.type == tokenize.NAME and prev.string not in _KEYWORDS)
            or prev.string in (")", "]")
        ):
            continue
        depth, part_start = 0, True
        for t in toks[i + 1 :]:
            if t.string in "([{" and t.type == tokenize.OP:
                depth += 1
            elif t.string in ")]}" and t.type == tokenize.OP:
                if depth == 0:
                    break
                depth -= 1
            if depth == 0 and t.string in (",", ":"):
                part_start = True
                continue
            if part_start and depth == 0 and t.string == "-":
                found.append((tok.start[0], tok.line.strip()))
                break
            part_start = False
    return found


def test_the_scanner_finds_negative_subscripts():
    src = (
        "x = a[-1]\ny = b[1:-2]\nz = c[i, -k]\nw = d[(n - 1)]\nv = [-1, 2]\n"
        "u = f(x)[-1]\nt = g[h[-1]]\nreturn [-1]\n"
    )
    assert [line for line, _ in negative_subscripts(src)] == [1, 2, 3, 6, 7]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_negative_index_in_cython_sources(path: Path):
    text = path.read_text(encoding="utf-8")
    bad = negative_subscripts(text)
    assert not bad, (
        f"{path.name}: negative index under wraparound=False "
        f"(write the explicit length instead): {bad}"
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_module_turns_wraparound_on(path: Path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"wraparound\s*(=\s*True|\(\s*True)", text), (
        f"{path.name} turns wraparound on: the build's directives are set once, in setup.py"
    )


def test_sources_were_found():
    assert len(SOURCES) >= 10
