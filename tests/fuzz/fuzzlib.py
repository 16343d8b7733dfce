"""What the fuzz tests share: the hypothesis settings, byte mutations, a hang watchdog and
the oracle every target obeys (docs/semantics.md §7, docs/testing.md).

Not a test module. Each ``test_fuzz_*.py`` makes a valid input with hypothesis, damages it
with :func:`mutated` and checks the outcome: a success (compared with a reference where
one is cheap) or one of the typed errors documented for that input, naming the file.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st

#: the fuzz tests' settings (the "gtok-fuzz" profile of tests/conftest.py: example count
#: from GTOK_FUZZ_EXAMPLES, derandomized unless GTOK_FUZZ_RANDOM=1)
FUZZ = settings(settings.get_profile("gtok-fuzz"))


def fuzz_settings(share: float = 1.0) -> settings:
    """The fuzz settings with ``share`` of the examples (for the slower targets)."""
    n = max(1, int(FUZZ.max_examples * share))
    return settings(FUZZ, max_examples=n)


#: an example that runs longer than this is a hang: the watchdog dumps every thread's
#: stack and ends the process (a loop in compiled code holds no Python frame a signal
#: handler could interrupt)
HANG_SECONDS = float(os.environ.get("GTOK_FUZZ_HANG_SECONDS") or 120)


@contextlib.contextmanager
def watchdog(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """End the test process with every thread's traceback if the block runs too long."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def scratch() -> Iterator[str]:
    """A fresh folder for one example (pytest's ``tmp_path`` is one per test, not per
    hypothesis example), removed afterwards."""
    folder = tempfile.mkdtemp(prefix="gtok-fuzz-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------- mutations

#: bytes spliced into inputs: line and field separators, NUL, a sign, numbers at and past
#: the 32-bit limit, words the line rules treat specially, bytes that are not UTF-8
SPECIAL = [
    b"\0",
    b"\r",
    b"\t",
    b"\n",
    b"\r\n",
    b" ",
    b"  ",
    b"#",
    b"-",
    b"+",
    b".",
    b"0",
    b"00000000000",
    b"4294967295",
    b"4294967296",
    b"18446744073709551616",
    b"99999999999999999999999999999",
    b"-1",
    b"1e5",
    b"track",
    b"browser",
    b"chrom\tstart\tend",
    b"\xff",
    b"\xc3",
    b"\x80",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\x1f\x8b",
    b"GTOK",
    b"GTOKPACK",
    b"\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x00\x00\x00\x00\x00\x00\x00\x80",
]

KINDS = ("flip", "replace", "insert", "delete", "truncate", "duplicate", "special", "number")


@dataclass(frozen=True)
class Mutated:
    """Damaged bytes and the mutations that made them (shown when an example fails)."""

    data: bytes
    steps: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Mutated({len(self.data)} bytes: {', '.join(self.steps) or 'unchanged'})"


@st.composite
def mutated(
    draw: st.DrawFn,
    data: bytes,
    *,
    max_steps: int = 4,
    kinds: tuple[str, ...] = KINDS,
    hot: tuple[int, int] | None = None,
) -> Mutated:
    """``data`` after 0..``max_steps`` mutations chosen by hypothesis: a bit flipped, a
    byte replaced, random bytes inserted, a run deleted, the end cut off, a slice
    duplicated, a :data:`SPECIAL` token or a huge number spliced in. ``hot`` (start, end)
    is a byte range positions favour (a header, say) half of the time."""
    buf = bytearray(data)
    steps: list[str] = []

    def position(extra: int = 0) -> int:
        n = len(buf) + extra
        if n <= 0:
            return 0
        if hot is not None and draw(st.booleans()):
            lo, hi = min(hot[0], n - 1), min(hot[1], n - 1)
            return draw(st.integers(max(lo, 0), max(hi, 0)))
        return draw(st.integers(0, n - 1))

    for _ in range(draw(st.integers(0, max_steps))):
        kind = draw(st.sampled_from(kinds))
        if kind in ("flip", "replace", "delete", "duplicate", "truncate") and not buf:
            kind = "insert"
        if kind == "flip":
            i, bit = position(), draw(st.integers(0, 7))
            buf[i] ^= 1 << bit
            steps.append(f"flip bit {bit} of byte {i}")
        elif kind == "replace":
            i, b = position(), draw(st.integers(0, 255))
            buf[i] = b
            steps.append(f"byte {i} := {b:#04x}")
        elif kind == "insert":
            i = position(extra=1)
            chunk = draw(st.binary(min_size=1, max_size=16))
            buf[i:i] = chunk
            steps.append(f"insert {chunk!r} at {i}")
        elif kind == "delete":
            i = position()
            n = draw(st.integers(1, max(1, min(32, len(buf) - i))))
            del buf[i : i + n]
            steps.append(f"delete {n} at {i}")
        elif kind == "truncate":
            n = draw(st.integers(0, len(buf) - 1))
            del buf[n:]
            steps.append(f"truncate to {n}")
        elif kind == "duplicate":
            i = position()
            n = draw(st.integers(1, max(1, min(64, len(buf) - i))))
            j = position(extra=1)
            buf[j:j] = buf[i : i + n]
            steps.append(f"copy [{i}:{i + n}] to {j}")
        elif kind == "special":
            token = draw(st.sampled_from(SPECIAL))
            i = position(extra=1)
            if draw(st.booleans()) and buf:  # overwrite rather than insert
                buf[i : i + len(token)] = token
                steps.append(f"overwrite {token!r} at {i}")
            else:
                buf[i:i] = token
                steps.append(f"insert {token!r} at {i}")
        else:  # a long number spliced over a run of digits (or anywhere)
            digits = draw(st.integers(1, 40))
            token = str(draw(st.integers(0, 10**digits))).encode()
            i = position(extra=1)
            buf[i:i] = token
            steps.append(f"insert number {token.decode()} at {i}")
    return Mutated(bytes(buf), tuple(steps))


# ---------------------------------------------------------------------- the oracle


def check_typed(exc: BaseException, allowed: tuple[type[BaseException], ...], path: str) -> None:
    """The outcome oracle for a failure: ``exc`` must be one of the ``allowed`` typed errors
    (gtok.errors classes, or OSError subclasses) and its message must name ``path``."""
    if not isinstance(exc, allowed):
        raise AssertionError(
            f"untyped failure: {type(exc).__name__}: {exc} (allowed: "
            f"{', '.join(t.__name__ for t in allowed)})"
        ) from exc
    if path not in str(exc):
        raise AssertionError(f"{type(exc).__name__} does not name {path}: {exc}") from exc
    recorded = getattr(exc, "path", None)
    if recorded is not None and recorded != path:
        raise AssertionError(f"{type(exc).__name__}.path is {recorded!r}, not {path!r}")


def write(path: str, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return path
