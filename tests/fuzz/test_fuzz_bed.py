"""Fuzzing the BED parser through the public API: universes (``Tokenizer(path)``) and query
files (``tok.tokenize(path)``), plain and gzip, damaged by random mutations.

The oracle is exact: the plain reading of docs/semantics.md §4.8 in ``_tok_helpers``
(``read_bed_reference``, ``gunzip_reference``) says what every damaged file holds, so a
success must give its regions (universe) or ids (queries, by the brute-force ``oracle``),
and a failure must be the documented typed error: ``CorruptGzipError`` for a stream zlib
refuses, else ``BedFormatError`` at the first bad line, naming the file.
"""

from __future__ import annotations

import gzip
import os

from hypothesis import given
from hypothesis import strategies as st

from gtok import Tokenizer
from gtok.errors import BedFormatError, CorruptGzipError
from gtok.universe import name_bytes

from _tok_helpers import (
    GzipReferenceError,
    gunzip_reference,
    oracle,
    read_bed_reference,
    universe_ids,
    universes,
)
from fuzzlib import check_typed, fuzz_settings, mutated, scratch, watchdog, write

# chromosome names: short and long (the parser's 8-byte name cache), UTF-8 and not,
# digits only, a control byte
NAMES = [
    b"chr1",
    b"chr2",
    b"chr10",
    b"chrX",
    b"c",
    b"chrUn_KI270728v1",
    b"chr\xc3\xa9",
    b"chr\xff",
    b"12345678",
    b"chr\x01",
]

coordinate = st.one_of(
    st.integers(0, 5000), st.integers(0, 2**32 - 1), st.sampled_from([0, 2**32 - 1])
)


@st.composite
def bed_documents(draw, names=NAMES, max_rows=10) -> bytes:
    """Valid BED text in the layouts §4.8 allows: tab or space separated, extra columns,
    CRLF, comments, ``track``/``browser`` and blank lines anywhere, a column header, no
    final newline."""
    lines = []
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from([b"chrom\tstart\tend", b"chr start end name"])))
    for _ in range(draw(st.integers(0, max_rows))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(
                draw(st.sampled_from([b"# note", b"track name=x", b"browser hide all", b" \t"]))
            )
        name = draw(st.sampled_from(names))
        a, b = draw(coordinate), draw(coordinate)
        s, e = min(a, b), max(a, b)
        zeros = b"0" * draw(st.integers(0, 2))
        if draw(st.booleans()):
            tail = draw(st.sampled_from([b"", b"\tpeak\t0\t+", b"\t.", b"\t"]))
            line = b"\t".join([name, zeros + str(s).encode(), str(e).encode()]) + tail
        else:
            sep = draw(st.sampled_from([b" ", b"  "]))
            tail = draw(st.sampled_from([b"", b" name 5"]))
            line = sep.join([name, zeros + str(s).encode(), str(e).encode()]) + tail
        lines.append(line)
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    text = eol.join(lines)
    if lines and draw(st.booleans()):
        text += eol
    return text


@st.composite
def bed_files(draw, names=NAMES) -> bytes:
    """The bytes of a BED file, damaged: the text mutated and written plain or gzip
    (one member or two, zero padding), or gzipped and then the compressed bytes mutated."""
    text = draw(bed_documents(names))
    how = draw(st.sampled_from(["plain", "gzip", "gzip-damaged"]))
    if how != "gzip-damaged":
        text = draw(mutated(text)).data
    if how == "plain":
        return text
    cut = draw(st.integers(0, len(text)))
    data = gzip.compress(text[:cut], mtime=0)
    if draw(st.booleans()):
        data += gzip.compress(text[cut:], mtime=0)
    else:
        data = gzip.compress(text, mtime=0)
    if draw(st.booleans()):
        data += b"\0" * draw(st.integers(1, 8))
    if how == "gzip-damaged":
        data = draw(mutated(data, hot=(0, 12))).data
    return data


def expected_reading(data: bytes):
    """The §4.8 reading of a file's bytes, or None when its gzip is corrupt."""
    try:
        return read_bed_reference(gunzip_reference(data))
    except GzipReferenceError:
        return None


def check_outcome(run, path: str, data: bytes, skip_bad_lines: bool = False):
    """Run ``run()`` on the file ``path`` holding ``data``; return the reading it must
    equal, or None after a failure that was the documented one."""
    want = expected_reading(data)
    try:
        result = run()
    except Exception as exc:
        if want is None:
            # gzip is parsed as it is inflated: a bad line met before the damage is found
            # (damaged deflate data can inflate to wrong text until the member's CRC) is
            # reported first; never a result
            check_typed(exc, (CorruptGzipError, BedFormatError), path)
        else:
            check_typed(exc, (BedFormatError,), path)
            assert want.bad_lines and not skip_bad_lines, f"refused good input: {exc}"
            assert exc.line_number == want.bad_lines[0], exc
        return None, None
    assert want is not None, "read a gzip stream zlib refuses"
    if not skip_bad_lines:
        assert not want.bad_lines, f"read a file with a bad line {want.bad_lines[0]}"
    return result, want


@fuzz_settings()
@given(data=bed_files())
def test_a_damaged_universe_reads_as_the_rules_say_or_raises_a_typed_error(data):
    with scratch() as folder, watchdog():
        path = write(os.path.join(folder, "universe.bed"), data)
        tok, want = check_outcome(lambda: Tokenizer(path), path, data)
    if tok is None:
        return
    u = tok.universe
    got = [
        (name_bytes(u.chrom_names[c]), s, e)
        for c, s, e in zip(
            u.region_chroms.tolist(), u.region_starts.tolist(), u.region_ends.tolist()
        )
    ]
    regions, _ = universe_ids(want.rows)
    assert got == regions
    assert tok.vocab_size == len(regions) + 7


@fuzz_settings()
@given(
    universe_rows=universes(max_size=15, nested=False),
    data=st.data(),
    skip_bad_lines=st.booleans(),
    keep_order=st.booleans(),
    unk=st.sampled_from(["whole", "per_region"]),
)
def test_a_damaged_query_file_gives_the_oracle_ids_or_a_typed_error(
    universe_rows, data, skip_bad_lines, keep_order, unk
):
    names = sorted({c.encode() for c, _, _ in universe_rows}) + [b"chr3", b"chr\xff", b"c"]
    raw = data.draw(bed_files(names))
    with scratch() as folder, watchdog():
        upath = write(
            os.path.join(folder, "universe.bed"),
            "".join(f"{c}\t{s}\t{e}\n" for c, s, e in universe_rows).encode(),
        )
        tok = Tokenizer(upath)
        path = write(os.path.join(folder, "query.bed"), raw)
        got, want = check_outcome(
            lambda: tok.tokenize(
                path, skip_bad_lines=skip_bad_lines, keep_order=keep_order, unk=unk
            ),
            path,
            raw,
            skip_bad_lines,
        )
    if got is None:
        return
    universe_bytes = [(c.encode(), s, e) for c, s, e in universe_rows]
    ids = oracle(universe_bytes, want.rows, sort=not keep_order, per_region=unk == "per_region")
    assert got.ids.tolist() == ids
    known = {c for c, _, _ in universe_bytes}
    assert got.n_regions == len(want.rows)
    assert got.n_unknown_chrom == sum(c not in known for c, _, _ in want.rows)
    assert got.n_skipped == (len(want.bad_lines) if skip_bad_lines else 0)
