"""The BED text parser's fast paths against a plain Python reading of the same rules, on
lines built to sit at their edges. The word-at-a-time line (8 bytes per load): numbers of 1
to 11 digits, names of 1 to 12 bytes, lines shorter than a word, text ending mid-word,
CRLF, extra fields, control and non-ASCII bytes in names. The loop that finds each line's
newline first (SSE2, while 144 bytes remain, lines up to 128 bytes): long texts mixing
data lines with comment, track, browser and blank lines, names starting as those do, lines
around 128 bytes, lone carriage returns."""

from __future__ import annotations

import mmap
import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtok._lib._chromtable import ChromTable
from gtok.errors import BedFormatError
from gtok.io.bedtext import parse_regions

from _guarded import LINUX_ONLY, run_guarded
from _tok_helpers import read_bed_reference


def reference(text: bytes, names: list[bytes]):
    """(chrom index or -1, start, end) per data line, or the 1-based number of the first bad
    line, by the plain reading of docs/semantics.md §4.8 the fuzz tests share."""
    reading = read_bed_reference(text)
    if reading.bad_lines:
        return reading.bad_lines[0]
    return [(names.index(c) if c in names else -1, s, e) for c, s, e in reading.rows]


NAMES = [
    b"c",
    b"chr1",
    b"chr10",
    b"chrX_ab",
    b"chr1_abc",
    b"chrUn_KI27",
    b"chr\x01x",
    b"chr\xc3\xa9",
    b"12345678",
    b"1",
]

number = st.one_of(
    st.integers(0, 9),
    st.integers(0, 99_999_999),
    st.integers(0, 2**32 + 5),
    st.integers(10**8, 10**9 - 1),
    st.integers(10**9, 2**32 - 1),
)


@st.composite
def bed_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        name = draw(st.sampled_from(NAMES + [b"chrZ", b"chrUnknown1"]))
        s = draw(number)
        e = draw(st.one_of(st.just(s), number, st.integers(s, s + 10**6)))
        zeros = draw(st.integers(0, 3))  # leading zeros make long digit runs
        start = b"0" * zeros + str(s).encode()
        tail = draw(st.sampled_from([b"", b"\tname\t0\t+", b"\t.", b"\r"]))
        lines.append(name + b"\t" + start + b"\t" + str(e).encode() + tail)
    text = b"\n".join(lines)
    if draw(st.booleans()):
        text += b"\n"
    return text


@settings(max_examples=400, deadline=None)
@given(bed_lines())
def test_fast_path_matches_the_plain_rules(text):
    table = ChromTable(NAMES)
    want = reference(text, NAMES)
    if isinstance(want, int):
        with pytest.raises(BedFormatError) as err:
            parse_regions(text, "x.bed", table)
        assert err.value.line_number == want
        return
    cols = parse_regions(text, "x.bed", table)
    got = list(zip(cols.chroms.tolist(), cols.starts.tolist(), cols.ends.tolist()))
    assert got == want


SCAN_NAMES = NAMES + [b"tig1", b"b2", b"track", b"browserX"]


@st.composite
def bed_texts(draw):
    """Up to 60 lines: mostly data lines (some 120 to 136 bytes long), and lines the fast
    loop must hand on (comments, track and browser lines, blank ones, names starting with
    #, t or b, a lone carriage return, spaces), ending in LF or CRLF."""
    lines = []
    for _ in range(draw(st.integers(1, 60))):
        kind = draw(st.sampled_from(["data"] * 10 + ["other"]))
        if kind == "other":
            lines.append(
                draw(
                    st.sampled_from(
                        [b"", b"#c\t1\t2", b"track name=x", b"browser position chr1:1-2",
                         b"  ", b"chr1 5 9", b"chr1\t5\t9\rx", b"#chr1\t1\t2"]
                    )
                )
            )  # fmt: skip
            continue
        name = draw(st.sampled_from(SCAN_NAMES + [b"tig2", b"b", b"chrZ", b"chrUnknown1"]))
        s = draw(number)
        e = draw(st.one_of(st.just(s), number, st.integers(s, s + 10**6)))
        line = name + b"\t" + str(s).encode() + b"\t" + str(e).encode()
        tail = draw(st.sampled_from([b"", b"\t", b"\t.", None]))
        if tail is None:  # a long line: 120 to 136 bytes with its newline
            tail = b"\t" + b"x" * max(0, draw(st.integers(120, 136)) - len(line) - 2)
        lines.append(line + tail)
    ends = [draw(st.sampled_from([b"\n", b"\n", b"\r\n"])) for _ in lines]
    text = b"".join(line + end for line, end in zip(lines, ends))
    return text if draw(st.booleans()) else text[: -len(ends[-1])]


@settings(max_examples=300, deadline=None)
@given(bed_texts(), st.booleans())
def test_lines_found_by_their_newline_first_match_the_plain_rules(text, skip):
    table = ChromTable(SCAN_NAMES)
    reading = read_bed_reference(text)
    want = [(SCAN_NAMES.index(c) if c in SCAN_NAMES else -1, s, e) for c, s, e in reading.rows]
    if reading.bad_lines and not skip:
        with pytest.raises(BedFormatError) as err:
            parse_regions(text, "x.bed", table)
        assert err.value.line_number == reading.bad_lines[0]
        return
    cols = parse_regions(text, "x.bed", table, skip_bad_lines=skip)
    got = list(zip(cols.chroms.tolist(), cols.starts.tolist(), cols.ends.tolist()))
    assert got == want
    assert cols.n_skipped == len(reading.bad_lines)


@pytest.mark.parametrize("length", range(124, 134))
@pytest.mark.parametrize("rows_after", [0, 1, 4, 8])
def test_lines_around_the_longest_the_newline_loop_takes(length, rows_after):
    # a line of `length` bytes (its newline included) among short ones, with the end of
    # the text near (the loop stops 144 bytes before it) or far
    short = [b"chr1\t%d\t%d\n" % (i, i + 7) for i in range(20)]
    head = b"chr10\t123456789\t987654321\t"
    long_line = head + b"y" * (length - len(head) - 1) + b"\n"
    assert len(long_line) == length
    text = b"".join(short) + long_line + b"".join(short[:rows_after])
    cols = parse_regions(text, "x.bed", ChromTable(NAMES))
    assert cols.starts.tolist()[20] == 123456789 and cols.ends.tolist()[20] == 987654321
    want = [(NAMES.index(c), s, e) for c, s, e in read_bed_reference(text).rows]
    assert list(zip(cols.chroms.tolist(), cols.starts.tolist(), cols.ends.tolist())) == want


# (the child scripts' parse: its whole result, the bad lines skipped)
_PARSED = """
from gtok._lib._bedparse import capacity_for, parse_bed
from gtok._lib._chromtable import ChromTable

def parsed(data):
    cap = capacity_for(len(data))
    cols = (np.empty(cap, np.int32), np.empty(cap, np.uint32), np.empty(cap, np.uint32))
    got = parse_bed(data, ChromTable(NAMES), ChromTable(), False, True, *cols)
    return got, [c[: got[0]].tolist() for c in cols]
"""

_PARSE_PAST_THE_END = """
NAMES = [b"chr1", b"chr10"]
head = b"chr10\\t123456789\\t987654321"
for length in range(1, 200):
    for end in (b"", b"\\n", b"\\r\\n", b"\\t", b"\\t1"):
        tail = (head + b"\\t" + b"y" * length)[: max(length, 3)] + end
        text = b"".join(b"chr1\\t%d\\t%d\\n" % (i, i + 7) for i in range(12)) + tail
        assert parsed(guarded(np.frombuffer(text, np.uint8))) == parsed(text), (length, end)
print("ok")
"""


@LINUX_ONLY
def test_the_parser_never_reads_past_the_text():
    """Texts ending right before a page that may not be read (a read past them would
    crash), in every way a last line can: cut anywhere in a long line, after 1 to 200
    bytes, with or without its newline. In a child process."""
    run_guarded(_PARSED + _PARSE_PAST_THE_END)


_PARSE_BEFORE_THE_START = """
NAMES = [b"chr1", b"c"]
rest = b"".join(b"chr1\\t%d\\t%d\\tpeak\\n" % (10**i, 10**i + 7) for i in range(9)) * 8
for first in (b"c\\t1\\t2\\n", b"c\\t1\\t2\\tx\\n", b"\\n", b"#\\n", b"c\\t1\\t2\\r\\n"):
    for repeat in range(1, 6):
        text = first * repeat + rest
        assert parsed(guarded_after(np.frombuffer(text, np.uint8))) == parsed(text), text[:40]
print("ok")
"""


@LINUX_ONLY
def test_the_parser_never_reads_before_the_text():
    """The whole-line SSE2 path reads the 16 bytes before a line: never before the text
    (first lines ending 1 to 40 bytes into a text that starts right after a page
    that may not be read). In a child process."""
    run_guarded(_PARSED + _PARSE_BEFORE_THE_START)


def _digits_of(length):
    return b"9" * length if length <= 9 else b"4294967296"[:length].ljust(length, b"0")


@pytest.mark.parametrize("name_length", [1, 2, 7, 8, 9, 15, 16, 17, 24, 30, 31, 32, 33, 40])
@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\rx\n", b"\t", b"\tx\ty", b" ", b"\x01"])
def test_whole_line_path_takes_any_field_widths(name_length, end):
    # names and numbers of every width around the whole-line path's 32-byte window and its
    # 9-digit numbers, after enough lines that it is tried, and before enough that it runs
    name = (b"chr" + b"x" * name_length)[:name_length]
    lines = []
    for a in range(1, 12):
        for b in (1, 8, 9, 10, 11):
            start, stop = _digits_of(a), _digits_of(b)
            lines.append(name + b"\t" + start + b"\t" + stop + end + b"\n")
    filler = b"chr1\t5\t9\n" * 4
    for line in lines:
        text = filler + line + filler * 40
        reading = read_bed_reference(text)
        table = ChromTable([b"chr1", name])
        cols = parse_regions(text, "x.bed", table, skip_bad_lines=True)
        want = [([b"chr1", name].index(c), s, e) for c, s, e in reading.rows]
        got = list(zip(cols.chroms.tolist(), cols.starts.tolist(), cols.ends.tolist()))
        assert got == want, line
        assert cols.n_skipped == len(reading.bad_lines), line


@pytest.mark.parametrize("digits", range(1, 12))
@pytest.mark.parametrize("pad", range(0, 10))
def test_every_number_length_at_every_distance_from_the_end(digits, pad):
    # the number ends `pad` bytes before the end of the text: the word loads must not read
    # past it, and lengths around 8 and 9 switch between the word and byte paths
    value = int("9" * digits) if digits < 11 else 10**10
    line = b"c\t0\t" + str(value).encode() + b"\t" + b"x" * pad
    table = ChromTable(["c"])
    if value >= 2**32:
        with pytest.raises(BedFormatError, match="2\\*\\*32"):
            parse_regions(line, "x.bed", table)
        return
    if pad == 0:  # the number is the last thing in the text
        line = b"c\t0\t" + str(value).encode()
    cols = parse_regions(line, "x.bed", table)
    assert cols.ends.tolist() == [value]


def test_many_names_share_the_cache_without_mixing_them_up():
    # more distinct short names than the cache has slots, interleaved: every row must keep
    # its own chromosome
    names = [f"n{i}" for i in range(300)]
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(names), 5000)
    text = "".join(f"{names[k]}\t{i}\t{i + 1}\n" for i, k in enumerate(pick)).encode()
    cols = parse_regions(text, "x.bed", ChromTable(names))
    assert cols.chroms.tolist() == pick.tolist()
    assert cols.starts.tolist() == list(range(5000))


def test_names_missing_from_the_table_are_cached_as_missing_or_as_extra():
    # shuffled lines over more names than the cache's slots, half of them unknown
    Table = ChromTable
    known = [f"k{i}" for i in range(150)]
    unknown = [f"u{i}" for i in range(150)]
    names = known + unknown
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(names), 4000)
    text = "".join(f"{names[k]}\t{i}\t{i + 1}\n" for i, k in enumerate(pick)).encode()
    cols = parse_regions(text, "x.bed", Table(known))
    assert cols.chroms.tolist() == [k if k < 150 else -1 for k in pick.tolist()]
    extra = Table()
    cols = parse_regions(text, "x.bed", Table(known), extra=extra)
    for c, k in zip(cols.chroms.tolist(), pick.tolist()):
        assert names[k] == (known[c] if c < 150 else extra.names()[c - 150])


def test_a_gzip_file_parses_into_the_scratch_columns_then_pieces_of_its_own(tmp_path):
    """Streamed input with ``scratch``: a small gzip file's columns are views of the
    thread's scratch columns (no fresh pieces per file); one with more rows than they
    hold is joined into columns of its own, the scratch piece's rows first."""
    import gzip

    from gtok.io.bedtext import read_regions
    from gtok.io.source import TEXT_SIZE
    from gtok.scratch import SCRATCH_ROWS

    table = ChromTable(["c", "d"])
    small = tmp_path / "small.bed.gz"
    small.write_bytes(gzip.compress(b"c\t1\t2\nd\t3\t4\n", mtime=0))
    got = read_regions(small, table, scratch=True)
    assert got.chroms.tolist() == [0, 1] and got.starts.tolist() == [1, 3]
    plain = parse_regions(b"d\t9\t10\n", "p.bed", table, scratch=True)
    assert np.shares_memory(got.starts, plain.starts) and plain.starts.tolist() == [9]
    assert not np.shares_memory(read_regions(small, table).starts, plain.starts)
    pairs = (SCRATCH_ROWS + TEXT_SIZE // 12) // 2  # more rows than the scratch columns
    large = tmp_path / "large.bed.gz"
    large.write_bytes(gzip.compress(b"c\t1\t2\nd\t3\t4\n" * pairs, mtime=0))
    got = read_regions(large, table, scratch=True)
    again = read_regions(small, table, scratch=True)  # (overwrites the scratch columns)
    assert not np.shares_memory(got.starts, again.starts)
    assert len(got) == 2 * pairs
    assert np.array_equal(got.chroms, np.tile(np.array([0, 1], np.int32), pairs))
    assert np.array_equal(got.starts, np.tile(np.array([1, 3], np.uint32), pairs))
    assert np.array_equal(got.ends, np.tile(np.array([2, 4], np.uint32), pairs))


def test_scratch_columns_serve_one_parse_at_a_time_per_thread():
    import threading

    from gtok.scratch import SCRATCH_ROWS

    table = ChromTable(["c", "d"])
    a = b"c\t1\t2\nd\t3\t4\nc\t5\t6\n"
    b = b"d\t7\t8\n"
    first = parse_regions(a, "a.bed", table, scratch=True)
    kept = first.starts.copy()
    second = parse_regions(b, "b.bed", table, scratch=True)
    assert second.starts.tolist() == [7] and second.chroms.tolist() == [1]
    assert kept.tolist() == [1, 3, 5]
    # the views share this thread's scratch; trim and large inputs get columns of their own
    assert np.shares_memory(first.starts, second.starts)
    trimmed = parse_regions(a, "a.bed", table, scratch=True, trim=True)
    assert not np.shares_memory(trimmed.starts, second.starts)
    big = b"c\t1\t2\n" * (SCRATCH_ROWS // 6 * 6 + 60)
    large = parse_regions(big, "big.bed", table, scratch=True)
    assert not np.shares_memory(large.starts, second.starts)
    assert len(large) == SCRATCH_ROWS // 6 * 6 + 60
    # another thread has scratch columns of its own
    other = {}

    def parse_there():
        other["cols"] = parse_regions(a, "a.bed", table, scratch=True)

    t = threading.Thread(target=parse_there)
    t.start()
    t.join()
    assert not np.shares_memory(other["cols"].starts, second.starts)
    assert second.starts.tolist() == [7]


def _vm_flags(array: np.ndarray) -> set[str]:
    """The flags of the mapping holding ``array``'s first whole page (``/proc/self/smaps``)."""
    page = mmap.PAGESIZE
    address = (array.__array_interface__["data"][0] + page - 1) // page * page
    flags = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif head == "VmFlags:" and inside:
                flags = set(line.split()[1:])
    assert flags is not None
    return flags


# (a kernel without transparent huge pages refuses the advice: nothing to test there)
_HAS_THP = os.path.exists("/sys/kernel/mm/transparent_hugepage")


@pytest.fixture
def advised(monkeypatch):
    """The arrays ``gtok.io.bedtext`` advises to base pages, as they are advised. (Their
    absence is checked here, not in smaps: glibc may hand out heap pages that an earlier,
    freed array had advised.)"""
    import gtok.io.bedtext as bedtext

    seen: list[np.ndarray] = []
    advise = bedtext.advise_base_pages

    def spy(array: np.ndarray) -> bool:
        seen.append(array)
        return advise(array)

    monkeypatch.setattr(bedtext, "advise_base_pages", spy)
    return seen


@LINUX_ONLY
@pytest.mark.skipif(not _HAS_THP, reason="a kernel without transparent huge pages")
@pytest.mark.parametrize("gzipped", [False, True])
def test_columns_parsed_for_a_while_get_base_pages_kept_ones_numpys(tmp_path, gzipped, advised):
    """A large parse's columns of its own are advised to base pages (NumPy advises huge
    pages for them, whose first touch costs the zeroing of 2 MiB, and on a VM whose host
    takes back free huge pages 512 host faults), unless they are kept (``trim``, a
    universe's: its index searches them, with fewer TLB misses on huge pages)."""
    import gzip

    from gtok.io.bedtext import read_regions

    table = ChromTable(["c"])
    text = b"c\t1\t2\n" * (1 << 20)  # columns of capacity_for(6 MiB) rows: 4 MiB each
    path = tmp_path / ("big.bed.gz" if gzipped else "big.bed")
    path.write_bytes(gzip.compress(text, compresslevel=1, mtime=0) if gzipped else text)
    kept = read_regions(path, table, trim=True)
    assert len(kept) == 1 << 20 and kept.ends[-1] == 2 and not advised
    cols = read_regions(path, table)
    assert len(cols) == 1 << 20 and cols.ends[-1] == 2 and len(advised) == 3
    assert all("nh" in _vm_flags(column) for column in (cols.chroms, cols.starts, cols.ends))
    cols = parse_regions(text, "big.bed", table)
    assert all("nh" in _vm_flags(column) for column in (cols.chroms, cols.starts, cols.ends))


@LINUX_ONLY
@pytest.mark.skipif(not _HAS_THP, reason="a kernel without transparent huge pages")
def test_files_too_large_for_the_scratch_columns_get_base_pages(tmp_path, advised):
    """With ``scratch`` (as ``Tokenizer.tokenize`` reads): the scratch columns are left as
    NumPy made them (made once, reused); a plain file too large for them, and the joined
    columns of a gzip file too large for them, are advised to base pages."""
    import gzip

    from gtok.io.bedtext import read_regions
    from gtok.io.source import TEXT_SIZE
    from gtok.scratch import SCRATCH_ROWS

    table = ChromTable(["c", "d"])
    rows = SCRATCH_ROWS - 1  # the most the scratch columns take: capacity_for(6 * rows)
    near = parse_regions(b"c\t1\t2\n" * rows, "near.bed", table, scratch=True)
    assert len(near) == rows and not advised
    plain = tmp_path / "plain.bed"
    plain.write_bytes(b"c\t1\t2\n" * (rows + 2))
    cols = read_regions(plain, table, scratch=True)
    assert len(cols) == rows + 2 and cols.starts[-1] == 1
    assert not np.shares_memory(cols.starts, near.starts)
    for column in (cols.chroms, cols.starts, cols.ends):
        assert "nh" in _vm_flags(column)
    pairs = (SCRATCH_ROWS + TEXT_SIZE // 12) // 2  # a scratch piece, then one of its own
    packed = tmp_path / "packed.bed.gz"
    packed.write_bytes(gzip.compress(b"c\t1\t2\nd\t3\t4\n" * pairs, mtime=0, compresslevel=1))
    cols = read_regions(packed, table, scratch=True)
    assert len(cols) == 2 * pairs and cols.chroms[-1] == 1
    for column in (cols.chroms, cols.starts, cols.ends):
        assert "nh" in _vm_flags(column)


def test_base_page_advice_takes_c_contiguous_arrays_only():
    from gtok._lib._mapping import advise_base_pages

    array = np.zeros(1 << 21, dtype=np.uint32)
    for wrong in (array[::2], np.zeros((512, 1024), np.uint32, order="F")):
        with pytest.raises(ValueError, match="C-contiguous"):
            advise_base_pages(wrong)
    with pytest.raises(TypeError):
        advise_base_pages(None)
    done = advise_base_pages(array)
    assert isinstance(done, bool) and (done or not sys.platform.startswith("linux") or not _HAS_THP)
    assert advise_base_pages(np.zeros(10, dtype=np.uint8)) is False  # (no whole page)
    assert not array.any()  # (advice only: the data is untouched)
