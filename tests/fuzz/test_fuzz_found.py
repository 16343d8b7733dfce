"""What the fuzz tests found, each as a small regression test (docs/testing.md).

A defect whose fix has to wait is a strict ``xfail`` naming it, so the fix turns it into a
failure to be unmarked.
"""

from __future__ import annotations

import copy
import gzip
import inspect
import pickle

import pytest

from gtok import Tokenizer, open_gtok, read_gtok, tokenize_fragments, write_pack
from gtok import errors as gtok_errors
from gtok.errors import (
    CorruptGzipError,
    FingerprintMismatchError,
    FragmentFormatError,
    GtokError,
    GtokFormatError,
    ParquetFormatError,
)

# --------------------------------------------------------------- exceptions copy and pickle


def _instances() -> list[GtokError]:
    out: list[GtokError] = []
    for name in gtok_errors.__all__:
        cls = getattr(gtok_errors, name)
        if not (isinstance(cls, type) and issubclass(cls, GtokError)):
            continue
        try:
            params = list(inspect.signature(cls).parameters)
        except ValueError:  # (no __init__ of its own: Exception's)
            params = []
        if cls is FingerprintMismatchError:
            out.append(cls("x.gtok", "aa11", "bb22", reference="the manifest's universe"))
        elif params == ["path", "line_number", "line", "problem"]:
            out.append(cls("x.bed", 3, "chr1\t-5\t10", "start is negative"))
        elif params == ["path", "problem"]:
            out.append(cls("x.gtok", "corrupt"))
        else:
            out.append(cls("a message"))
    return out


@pytest.mark.parametrize("err", _instances(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_every_gtok_error_copies_and_pickles_with_its_attributes(err, how):
    # found by fuzzing fragment files: tokenize_fragments(..., out, skip_bad_lines=True)
    # with a bad line raised TypeError from FragmentSummary.as_dict (dataclasses.asdict
    # deep-copies the first skipped FragmentFormatError, which could not be rebuilt from
    # its message); nor could any gtok error cross a process boundary
    again = copy.deepcopy(err) if how == "deepcopy" else pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert str(again) == str(err) and again.args == err.args
    assert again.__dict__ == err.__dict__


def test_a_fragment_pack_with_a_skipped_bad_line_records_it(tmp_path):
    universe = tmp_path / "universe.bed"
    universe.write_bytes(b"chr1\t0\t100\n")
    frags = tmp_path / "fragments.tsv"
    frags.write_bytes(b"chr1\t10\t20\tAAAC-1\t1\n\x00\nchr1\t30\t40\tAAAC-1\t1\n")
    out = tmp_path / "cells.gtok"
    summary = tokenize_fragments(Tokenizer(universe), frags, out, skip_bad_lines=True)
    assert summary.skipped_lines == 1 and summary.cells == 1
    with open_gtok(out) as pack:
        recorded = pack.metadata["fragments"]
        assert pack.doc(0).tolist() == [0, 0]
    assert "line 2" in recorded["first_skipped"] and str(frags) in recorded["first_skipped"]


# --------------------------------------------------------------- gzip (gtok/io/gunzip.py)


@pytest.mark.parametrize("member", [0, 1])
@pytest.mark.parametrize("bit", [0x20, 0x40, 0x80])
def test_a_gzip_member_with_a_reserved_flag_bit_is_corrupt(tmp_path, bit, member):
    """ISA-L's inflate ignored the reserved FLG bits of a member header, which RFC 1952
    makes an error and zlib (the fallback inflater) refuses: the two disagreed."""
    members = [bytearray(gzip.compress(b"chr1\t10\t20\n", mtime=0)) for _ in range(2)]
    members[member][3] |= bit
    path = tmp_path / "universe.bed.gz"
    path.write_bytes(b"".join(members))
    with pytest.raises(CorruptGzipError, match="universe.bed.gz"):
        Tokenizer(path)


def test_text_starting_with_gzip_magic_is_gzip_plain_and_text_once_inflated(tmp_path):
    """Found fuzzing fragment files (the fuzz test's oracle assumed a text and its gzip
    read the same): a plain file whose bytes start with gzip's magic is gzip, and a
    truncated one (CorruptGzipError); a gzip file is inflated once and its text read as
    text, even when that text starts with the magic (a bad first line, not gzip again)."""
    universe = tmp_path / "u.bed"
    universe.write_bytes(b"chr1\t0\t100\n")
    tok = Tokenizer(universe)
    plain = tmp_path / "frags.tsv"
    plain.write_bytes(b"\x1f\x8b")
    with pytest.raises(CorruptGzipError, match="frags.tsv"):
        tokenize_fragments(tok, plain, None, as_lists=True)
    twice = tmp_path / "twice.tsv.gz"
    twice.write_bytes(gzip.compress(b"\x1f\x8b", mtime=0))
    with pytest.raises(FragmentFormatError, match="line 1") as info:
        tokenize_fragments(tok, twice, None, as_lists=True)
    assert info.value.line_number == 1


# --------------------------------------------------------------- packs read as version 1


@pytest.mark.parametrize("cut", [(4, 6), (4, 5), (5, 7)])
def test_a_pack_with_bytes_lost_after_the_magic_is_refused_not_read_as_version_1(tmp_path, cut):
    # found by fuzzing packs: deleting the flag and version bytes left "GTOK\x02..." (the
    # feature bits' low byte as the flag), which the version-1 reader read as ids
    path = tmp_path / "p.gtok"
    write_pack(path, [], metadata={"note": "x", "n": [1, 2]})
    raw = path.read_bytes()
    path.write_bytes(raw[: cut[0]] + raw[cut[1] :])
    for read in (read_gtok, open_gtok):
        with pytest.raises(GtokFormatError, match="p.gtok"):
            read(path)


# --------------------------------------------------------------- parquet rows lost


def test_a_parquet_file_whose_damaged_names_page_yields_no_rows_is_refused(tmp_path):
    # found by fuzzing parquet import: a flipped bit in the names column's page header made
    # pyarrow's batch reader yield no rows and no error, and the import wrote an empty pack
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from gtok.io.parquet import import_parquet

    path = tmp_path / "docs.parquet"
    table = pa.table({"tokens": pa.array([[1, 2], [3]]), "name": pa.array(["a", "b"])})
    pq.write_table(table, path, compression="none")
    good = pq.ParquetFile(path)
    names_page = good.metadata.row_group(0).column(1).data_page_offset
    raw = bytearray(path.read_bytes())
    # the page header's first field (its type, a zigzag varint after the 0x15 field
    # header): data page 0 becomes 1 (an index page), which the reader skips
    assert raw[names_page] == 0x15 and raw[names_page + 1] == 0x00
    raw[names_page + 1] = 0x02
    path.write_bytes(bytes(raw))
    out = tmp_path / "docs.gtok"
    with pytest.raises(ParquetFormatError, match="docs.parquet"):
        import_parquet(path, out)
    assert not out.exists()


def test_a_parquet_file_with_a_column_name_that_is_not_utf8_is_refused(tmp_path):
    # found by fuzzing parquet import: pyarrow raised UnicodeDecodeError opening it
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from gtok.io.parquet import import_parquet

    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"tokens": pa.array([[1, 2], [3]])}), path, compression="none")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"\x07element")
    raw[at + 1] = 0x80  # "element" (the list's item field) -> b"\x80lement"
    path.write_bytes(bytes(raw))
    with pytest.raises(ParquetFormatError, match="docs.parquet"):
        import_parquet(path, tmp_path / "docs.gtok")
    assert not (tmp_path / "docs.gtok").exists()
