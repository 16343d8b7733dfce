"""Fuzzing the fragment-file parser through ``gtok.tokenize_fragments``: fragment files,
damaged by random mutations, read plain, gzip and BGZF (``gtok.io.bgzf.compress``), in
chunks of many sizes, returned or written to a pack.

Oracles: a failure is ``FragmentFormatError`` (a bad line) or ``CorruptGzipError`` naming
the file, and a failed pack run leaves no file; and the outcome depends only on the text
(docs/semantics.md §4.9): the same text gives the same cells and ids, or the same error at
the same line, whatever its container and chunk size, returned or packed. A damaged
compressed file read without an error must hold a text zlib reads too, and give that
text's outcome.
"""

from __future__ import annotations

import gzip
import os

from hypothesis import assume, given
from hypothesis import strategies as st

from gtok import Tokenizer, open_gtok, tokenize_fragments
from gtok.errors import CorruptGzipError, FragmentFormatError
from gtok.io import bgzf

from _tok_helpers import GzipReferenceError, gunzip_reference, universes
from fuzzlib import check_typed, fuzz_settings, mutated, scratch, watchdog, write

BARCODES = [
    b"AAACGAAAGACTCGGA-1",
    b"AAACGAAAGATTGACA-1",
    b"b",
    b"TTTGTGTTCTGCAGCAAGTACCGGCA-1",  # over 24 bytes: the cell table's slow path
    b"cell\xc3\xa9",
    b"x" * 24,
]
CHROMS = [b"chr1", b"chr2", b"chr10", b"chrX", b"chr3", b"chrUn_KI270728v1"]


@st.composite
def fragment_texts(draw) -> bytes:
    lines = []
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from([b"# id=x", b"chrom\tstart\tend\tbarcode\tcount"])))
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from([b"# comment", b"", b" \t"])))
        a, b = draw(st.integers(0, 5000)), draw(st.integers(0, 5000))
        fields = [
            draw(st.sampled_from(CHROMS)),
            str(min(a, b)).encode(),
            str(max(a, b)).encode(),
            draw(st.sampled_from(BARCODES)),
            str(draw(st.integers(1, 9))).encode(),
        ]
        if draw(st.integers(0, 4)) == 0:
            fields.pop()  # no count column
        sep = b" " if draw(st.integers(0, 5)) == 0 else b"\t"
        lines.append(sep.join(fields))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    text = eol.join(lines)
    if lines and draw(st.booleans()):
        text += eol
    return text


def outcome(tok, path: str, folder: str, **options):
    """``tokenize_fragments``' result as plain data: ("ok", {barcode: ids}, counts) or
    ("error", class, line number); a failure checked by the typed-error oracle."""
    out = options.pop("out", None)
    try:
        got = tokenize_fragments(tok, path, out, as_lists=True, **options)
    except Exception as exc:
        check_typed(exc, (FragmentFormatError, CorruptGzipError), path)
        if out is not None:
            assert os.listdir(folder) == sorted(
                n for n in os.listdir(folder) if not n.startswith(".")
            ), f"a failed run left temporaries: {os.listdir(folder)}"
            assert not os.path.exists(out), "a failed run left its pack"
        return ("error", type(exc).__name__, getattr(exc, "line_number", None))
    if out is None:
        s = got.summary
        return ("ok", dict(got), (s.fragments, s.skipped_lines, s.lines))
    with open_gtok(out) as pack:
        pack.verify()
        cells = dict(zip(pack.names, (d.tolist() for d in pack)))
    os.unlink(out)
    return ("ok", cells, (got.fragments, got.skipped_lines, got.lines))


@fuzz_settings(0.75)
@given(
    universe_rows=universes(max_size=15, nested=False),
    text=fragment_texts(),
    data=st.data(),
    skip_bad_lines=st.booleans(),
    chunk_size=st.sampled_from([1, 7, 64, 8 << 20]),
    container=st.sampled_from(["gzip", "bgzf", "gzip-damaged", "bgzf-damaged"]),
    packed=st.booleans(),
)
def test_a_damaged_fragment_file_gives_its_texts_outcome_in_every_container(
    universe_rows, text, data, skip_bad_lines, chunk_size, container, packed
):
    text = data.draw(mutated(text))
    text = text.data
    # a plain file starting with gzip's magic is read as gzip, its gzip inflated once and
    # read as text: the containers differ by design (test_fuzz_found pins both down)
    assume(not text.startswith(b"\x1f\x8b"))
    with scratch() as folder, watchdog():
        upath = write(
            os.path.join(folder, "universe.bed"),
            "".join(f"{c}\t{s}\t{e}\n" for c, s, e in universe_rows).encode(),
        )
        tok = Tokenizer(upath)
        out_dir = os.path.join(folder, "out")
        os.mkdir(out_dir)
        plain = write(os.path.join(folder, "plain.tsv"), text)
        want = outcome(tok, plain, out_dir, skip_bad_lines=skip_bad_lines)
        # the same text, read in other chunks and written to a pack
        out = os.path.join(out_dir, "cells.gtok") if packed else None
        got = outcome(
            tok, plain, out_dir, skip_bad_lines=skip_bad_lines, chunk_size=chunk_size, out=out
        )
        assert got == want
        # the same text compressed, or its compressed bytes damaged
        compressed = (
            bgzf.compress(text) if container.startswith("bgzf") else gzip.compress(text, mtime=0)
        )
        damaged = container.endswith("damaged")
        if damaged:
            compressed = data.draw(mutated(compressed, hot=(0, 20))).data
        path = write(os.path.join(folder, "fragments.tsv.gz"), compressed)
        got = outcome(
            tok, path, out_dir, skip_bad_lines=skip_bad_lines, chunk_size=chunk_size, out=out
        )
        if not damaged:
            assert got == want
            return
        if got[0] == "error" and got[1] == "CorruptGzipError":
            return  # (zlib may read it: a BGZF file also needs its end-of-file block)
        try:
            reference = gunzip_reference(compressed)
        except GzipReferenceError:
            # the file is streamed: a bad line in the text inflated before the damage is
            # found may stop it first (nothing is written either way)
            assert got[:2] == ("error", "FragmentFormatError"), f"read corrupt gzip: {got}"
            return
        again = write(os.path.join(folder, "again.tsv"), reference)
        assert got == outcome(tok, again, out_dir, skip_bad_lines=skip_bad_lines)
