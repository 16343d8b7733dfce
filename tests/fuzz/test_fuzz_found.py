"""What the fuzz tests found, each as a small regression test (docs/testing.md).

A defect fixed is a plain test; one whose fix lies in code being changed elsewhere is a
strict ``xfail`` naming the defect, so the fix turns it into a failure to be unmarked.
"""

from __future__ import annotations

import copy
import gzip
import inspect
import pickle

import pytest

from gtok import Tokenizer, open_gtok, tokenize_fragments
from gtok import errors as gtok_errors
from gtok.errors import CorruptGzipError, FingerprintMismatchError, GtokError
from gtok.io.gunzip import INFLATER

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


@pytest.mark.xfail(
    INFLATER == "isal",
    strict=True,
    reason="gtok/io/gunzip.py (being changed elsewhere): ISA-L's inflate ignores the "
    "reserved FLG bits of a gzip member header, which RFC 1952 makes an error and zlib "
    "(gtok's fallback inflater) refuses, so the two inflaters disagree",
)
@pytest.mark.parametrize("bit", [0x20, 0x40, 0x80])
def test_a_gzip_member_with_a_reserved_flag_bit_is_corrupt(tmp_path, bit):
    data = bytearray(gzip.compress(b"chr1\t10\t20\n", mtime=0))
    data[3] |= bit
    path = tmp_path / "universe.bed.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptGzipError, match="universe.bed.gz"):
        Tokenizer(path)
