"""Shared pieces of the tokenizer tests: a brute-force oracle of docs/semantics.md §4, a plain
reading of its BED text rules (§4.8) and gzip rules, hypothesis strategies for universes and
queries, and writers of BED text in the layouts users have (plain, gzip, CRLF, no final
newline).

The oracles are deliberately naive (a linear scan per query, Python sorting, ``bytes.split``),
so that they are obviously a transcription of the contract and share no code with gtok.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

MAX_COORD = 2**32 - 1

# chr1 < chr10 < chr2 < chrUn_x < chrX as bytes: a file's regions are visited in that order.
UNIVERSE_CHROMS = ["chr1", "chr10", "chr2", "chrX", "chrUn_x"]
# Query chromosomes the universes never contain.
UNKNOWN_CHROMS = ["chr3", "chrY", "chr1_random", "chr"]

# gtars' and geniml's fixtures, vendored with their origin (data/conformance/README.md)
CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance"

LAYOUTS = ("plain", "gzip", "crlf", "no_final_newline")


# ---------------------------------------------------------------------- the oracle


def universe_ids(rows):
    """Distinct universe regions in id order, and region -> id (first occurrence wins)."""
    ids: dict = {}
    regions = []
    for r in rows:
        r = (r[0], int(r[1]), int(r[2]))
        if r not in ids:
            ids[r] = len(regions)
            regions.append(r)
    return regions, ids


def oracle(universe_rows, queries, *, sort, per_region=False):
    """docs/semantics.md §4 by brute force.

    ``sort``: visit queries by (chromosome name as bytes, start), stably (gtars' order for
    a path); otherwise in the given order. Queries on chromosomes outside the universe hit
    nothing. ``per_region``: one ``<unk>`` per query without a hit; otherwise an empty
    result is ``[unk]``.
    """
    regions, ids = universe_ids(universe_rows)
    unk = len(regions)
    queries = [(c, int(s), int(e)) for c, s, e in queries]
    if sort:  # names as bytes (queries may give them as bytes or str)
        queries = sorted(queries, key=lambda q: (_name_bytes(q[0]), q[1]))
    out = []
    for c, s, e in queries:
        hits = sorted(
            (u for u in regions if u[0] == c and u[1] < e and u[2] > s),
            key=lambda u: (u[1], u[2], ids[u]),
        )
        if hits:
            out.extend(ids[u] for u in hits)
        elif per_region:
            out.append(unk)
    return out or [unk]


def _name_bytes(name):
    return name if isinstance(name, bytes) else name.encode()


# ---------------------------------------------------------------------- reading BED text


@dataclass
class BedReading:
    """What §4.8 makes of a BED text: its regions ``(chrom bytes, start, end)`` in file order
    (every good line, bad ones left out) and the 1-based numbers of its bad lines."""

    rows: list = field(default_factory=list)
    bad_lines: list = field(default_factory=list)


def _coordinate(field_: bytes):
    """The value of a coordinate field, or None: digits only, 0..2**32-1."""
    if not field_ or not all(48 <= b <= 57 for b in field_):
        return None
    value = int(field_)
    return value if value <= MAX_COORD else None


def _is_word(field_: bytes) -> bool:
    """A column-header word: letters, digits, ``_``, one letter or ``_`` at least, not
    starting with a digit."""
    ok = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
    return (
        bool(field_)
        and not field_[:1].isdigit()
        and all(b in ok for b in field_)
        and any(not (48 <= b <= 57) for b in field_)
    )


def _skipped(line: bytes) -> bool:
    if not line.strip(b" \t\r") or line.startswith(b"#"):
        return True
    first = line.replace(b"\t", b" ").split(b" ")[0]
    return first in (b"track", b"browser")


def read_bed_reference(text: bytes, min_fields: int = 3) -> BedReading:
    """docs/semantics.md §4.8 line by line: ``\\n`` or ``\\r\\n`` ends a line; blank, ``#``,
    ``track`` and ``browser`` lines are skipped anywhere; the first other line is a header
    when its 2nd and 3rd fields are words; fields are tab-separated, or split on runs of
    spaces in a line without a tab; a data line needs ``min_fields`` fields, a non-empty
    chromosome and coordinates 0 <= start <= end < 2**32 in digits."""
    out = BedReading()
    header_allowed = True
    for number, line in enumerate(text.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if _skipped(line):
            continue
        fields = line.split(b"\t") if b"\t" in line else [f for f in line.split(b" ") if f]
        first, header_allowed = header_allowed, False
        if len(fields) < min_fields:
            out.bad_lines.append(number)
            continue
        start, end = _coordinate(fields[1]), _coordinate(fields[2])
        if start is None or end is None:
            if first and _is_word(fields[1]) and _is_word(fields[2]):
                continue  # the column header
            out.bad_lines.append(number)
        elif start > end or not fields[0]:
            out.bad_lines.append(number)
        else:
            out.rows.append((fields[0], start, end))
    return out


class GzipReferenceError(Exception):
    """:func:`gunzip_reference` found the stream truncated or corrupt."""


def gunzip_reference(data: bytes) -> bytes:
    """The text of ``data`` by §4.8's compression rules, with zlib: plain text unless it
    starts with gzip's magic; then every member, and only zero bytes after the last one
    (else :class:`GzipReferenceError`). A member whose header sets a reserved flag bit
    (0xE0 of its 4th byte) is an error (RFC 1952; zlib)."""
    if data[:2] != b"\x1f\x8b":
        return data
    out = []
    rest = data
    while True:
        d = zlib.decompressobj(31)
        try:
            out.append(d.decompress(rest))
        except zlib.error as exc:
            raise GzipReferenceError(str(exc)) from None
        if not d.eof:
            raise GzipReferenceError("truncated")
        rest = d.unused_data
        if not rest.strip(b"\0"):
            return b"".join(out)


def oracle_vocab(universe_rows, specials=None):
    regions, ids = universe_ids(universe_rows)
    vocab = {f"{c}:{s}-{e}": i for (c, s, e), i in ids.items()}
    names = ("unk", "pad", "mask", "cls", "eos", "bos", "sep")
    specials = specials or {n: f"<{n}>" for n in names}
    for k, n in enumerate(names):
        vocab[specials[n]] = len(regions) + k
    return vocab


# ---------------------------------------------------------------------- writing BED text


def bed_text(rows, layout="plain"):
    eol = "\r\n" if layout == "crlf" else "\n"
    text = "".join(f"{c}\t{s}\t{e}{eol}" for c, s, e in rows)
    if layout == "no_final_newline":
        text = text[:-1]
    return text


def write_bed(path, rows, layout="plain"):
    """Write ``rows`` as BED at ``path`` in ``layout``; return the path (as str). Gzip
    files get ``.gz`` added to the name (gtars goes by the name; gtok sniffs)."""
    data = bed_text(rows, layout).encode()
    path = os.fspath(path)
    if layout == "gzip":
        data = gzip.compress(data)
        if not path.endswith(".gz"):
            path += ".gz"
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------- strategies


def _interval(max_start=3000, huge=True):
    length = st.one_of(
        st.just(0),
        st.integers(1, 60),
        st.integers(1, 1500),
        *([st.integers(10**6, MAX_COORD)] if huge else []),
    )
    start = st.one_of(st.integers(0, max_start), *([st.integers(0, MAX_COORD)] if huge else []))
    return st.tuples(start, length).map(lambda t: (t[0], min(t[0] + t[1], MAX_COORD)))


@st.composite
def nested_block(draw, chroms=UNIVERSE_CHROMS):
    """One long region holding 30+ small ones, optionally with a middle layer: the layout
    that splits a chromosome's regions into several index components."""
    c = draw(st.sampled_from(chroms))
    base = draw(st.integers(0, 2000))
    span = draw(st.integers(5000, 20000))
    rows = [(c, base, base + span)]
    if draw(st.booleans()):  # a middle layer, itself holding many
        mid = base + draw(st.integers(0, 100))
        rows.append((c, mid, mid + span // 2))
    starts = draw(
        st.lists(st.integers(base, base + span - 50), min_size=30, max_size=45, unique=True)
    )
    for s in starts:
        rows.append((c, s, s + draw(st.integers(0, 49))))
    return rows


@st.composite
def universes(draw, min_size=1, max_size=40, nested=None):
    """Universe rows without duplicates, in a random (unsorted) order."""
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(UNIVERSE_CHROMS), _interval()),
            min_size=min_size,
            max_size=max_size,
        )
    )
    rows = [(c, s, e) for c, (s, e) in rows]
    if nested is None:
        nested = draw(st.booleans())
    if nested:
        for block in draw(st.lists(nested_block(), min_size=1, max_size=2)):
            rows.extend(block)
    rows = list(dict.fromkeys(rows))  # no duplicates here
    return draw(st.permutations(rows))


@st.composite
def queries(draw, universe_rows, max_size=30):
    """Queries: random intervals, copies of universe regions, touching and zero-length
    queries at universe boundaries, unknown chromosomes, repeats; in a random order."""
    chroms = st.sampled_from(UNIVERSE_CHROMS + UNKNOWN_CHROMS)
    free = st.tuples(chroms, _interval()).map(lambda t: (t[0], t[1][0], t[1][1]))
    parts = draw(st.lists(free, max_size=max_size))
    if universe_rows:
        picks = draw(st.lists(st.sampled_from(universe_rows), max_size=8))
        for c, s, e in picks:
            kind = draw(
                st.sampled_from(
                    [
                        "same",
                        "left_touch",
                        "right_touch",
                        "point_start",
                        "point_end",
                        "point_inside",
                        "wide",
                    ]
                )
            )
            if kind == "same":
                parts.append((c, s, e))
            elif kind == "left_touch" and s > 0:
                parts.append((c, max(0, s - 10), s))
            elif kind == "right_touch":
                parts.append((c, e, min(MAX_COORD, e + 10)))
            elif kind == "point_start":
                parts.append((c, s, s))
            elif kind == "point_end":
                parts.append((c, e, e))
            elif kind == "point_inside":
                p = (s + e) // 2
                parts.append((c, p, p))
            elif kind == "wide":
                parts.append((c, max(0, s - 1000), min(MAX_COORD, e + 1000)))
    if parts and draw(st.booleans()):
        parts.extend(draw(st.lists(st.sampled_from(parts), max_size=5)))  # repeats
    return draw(st.permutations(parts))
