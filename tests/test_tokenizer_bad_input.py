"""docs/semantics.md §7 for BED text and tokenizer configs: what bad (and odd but legal)
input gets.

Paths and in-memory input both: a bad line is a ``BedFormatError`` (a ``ValueError``) that
names the file, the line number and the line; ``skip_bad_lines=True`` skips and counts.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtok import Tokenizer
from gtok.errors import BedFormatError, ConfigError, CorruptGzipError, InputFormatError

from _tok_helpers import oracle, write_bed

UNIVERSE = [("chr1", 100, 200), ("chr1", 300, 400), ("chr2", 0, 50)]
UNK = len(UNIVERSE)
GOOD = "chr1\t150\t350\n"  # hits 0 and 1


@pytest.fixture
def universe(tmp_path):
    return write_bed(tmp_path / "universe.bed", UNIVERSE)


def write(path, text, compress=False):
    data = text.encode() if isinstance(text, str) else text
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


# ====================================================================== bad BED lines

# (name, bad line, words expected in the message)
BAD_LINES = [
    ("one_field", "chr1", "fewer than 3 fields"),
    ("two_fields", "chr1\t100", "fewer than 3 fields"),
    ("empty_end", "chr1\t100\t", "end is not an integer"),
    ("word_start", "chr1\tabc\t300", "start is not an integer"),
    ("word_end", "chr1\t100\txyz", "end is not an integer"),
    ("float_start", "chr1\t1.5\t300", "start is not an integer"),
    ("float_both", "chr1\t150.0\t250.0", "not an integer"),
    ("exponent", "chr1\t1e3\t2000", "start is not an integer"),
    ("hex", "chr1\t0x10\t2000", "start is not an integer"),
    ("plus_sign", "chr1\t+10\t2000", "start is not an integer"),
    ("negative_start", "chr1\t-5\t300", "start is negative"),
    ("negative_end", "chr1\t5\t-300", "end is negative"),
    ("start_2_32", "chr1\t4294967296\t4294967297", "start is 2**32 or larger"),
    ("end_2_32", "chr1\t5\t4294967296", "end is 2**32 or larger"),
    ("end_huge", "chr1\t5\t99999999999999999999999", "end is 2**32 or larger"),
    ("start_after_end", "chr1\t300\t250", "start is greater than end"),
    ("empty_chrom", "\t150\t160", "empty chromosome name"),
]


@pytest.mark.parametrize("name,line,problem", BAD_LINES, ids=[b[0] for b in BAD_LINES])
@pytest.mark.parametrize("position", ["first", "middle", "last_no_newline"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_bad_query_line(tok, tmp_path, name, line, problem, position, compressed):
    if position == "first":
        text, line_no = f"{line}\n{GOOD}chr2\t10\t20\n", 1
    elif position == "middle":
        text, line_no = f"# a comment\n{GOOD}{line}\nchr2\t10\t20\n", 3
    else:
        text, line_no = f"{GOOD}chr2\t10\t20\n{line}", 3
    path = write(tmp_path / "q.bed", text, compressed)
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err, InputFormatError)
    assert err.path == os.fspath(path)
    assert err.line_number == line_no
    assert err.line == line
    message = str(err)
    assert os.fspath(path) in message
    assert f"line {line_no}" in message
    assert repr(line) in message
    assert problem in message
    # the same through the call form
    with pytest.raises(BedFormatError):
        tok(path)
    # skipped and counted on request; the good lines still count
    res = tok.tokenize(path, skip_bad_lines=True)
    assert res.n_skipped == 1
    assert res.n_regions == 2
    assert res.ids.tolist() == [0, 1, 2]


def test_many_bad_lines_skipped_and_counted(tok, tmp_path):
    lines = [line for _, line, _ in BAD_LINES]
    text = GOOD + "\n".join(lines) + "\nchr2\t10\t20\n" + "\n".join(lines) + "\n"
    path = write(tmp_path / "q.bed", text)
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(path)
    assert info.value.line_number == 2  # the first bad one
    res = tok.tokenize(path, skip_bad_lines=True)
    assert res.n_skipped == 2 * len(lines)
    assert res.n_regions == 2
    assert res.ids.tolist() == [0, 1, 2]
    assert tok.tokenize(path, skip_bad_lines=True, keep_order=True).ids.tolist() == [0, 1, 2]


def test_only_bad_lines_skipped_gives_unk(tok, tmp_path):
    path = write(tmp_path / "q.bed", "chr1\t-1\t5\nchr1\t9\t1\n")
    res = tok.tokenize(path, skip_bad_lines=True)
    assert res.ids.tolist() == [UNK]
    assert (res.n_regions, res.n_skipped) == (0, 2)


def test_bad_line_in_universe(tmp_path):
    for name, line, problem in BAD_LINES:
        path = write(tmp_path / f"u_{name}.bed", f"chr1\t1\t2\n{line}\nchr1\t5\t6\n")
        with pytest.raises(BedFormatError) as info:
            Tokenizer(path)
        assert info.value.line_number == 2, name
        assert os.fspath(path) in str(info.value), name
        assert problem in str(info.value), name


def test_coordinate_limits_are_legal(tok, tmp_path):
    top = 2**32 - 1
    path = write(tmp_path / "q.bed", f"chr1\t0\t{top}\nchr1\t{top}\t{top}\nchr1\t0\t0\n")
    res = tok.tokenize(path)
    assert res.ids.tolist() == [0, 1]
    assert res.n_regions == 3
    u = Tokenizer(write(tmp_path / "u.bed", f"chr1\t0\t{top}\nchr1\t{top}\t{top}\n"))
    assert u.decode([0, 1]) == [f"chr1:0-{top}", f"chr1:{top}-{top}"]
    assert u.tokenize([("chr1", top - 1, top)]).ids.tolist() == [0]


# ---------------------------------------------------------------------- in-memory input

BAD_REGIONS = [
    ("one_item", ("chr1",), "a region must be"),
    ("two_items", ("chr1", 100), "a region must be"),
    ("str_region", "chr1:100-200", "a region must be"),
    ("none_region", None, "a region must be"),
    ("str_start", ("chr1", "100", 300), "start is not an integer"),
    ("word_start", ("chr1", "abc", 300), "start is not an integer"),
    ("float_start", ("chr1", 1.5, 300), "start is not an integer"),
    ("whole_floats", ("chr1", 150.0, 250.0), "start is not an integer"),
    ("none_end", ("chr1", 100, None), "end is not an integer"),
    ("bool_start", ("chr1", True, 300), "start is not an integer"),
    ("negative_start", ("chr1", -5, 300), "start is negative"),
    ("negative_end", ("chr1", 5, -300), "end is negative"),
    ("start_2_32", ("chr1", 2**32, 2**32 + 1), "start is 2**32 or larger"),
    ("end_2_32", ("chr1", 5, 2**32), "end is 2**32 or larger"),
    ("end_2_70", ("chr1", 5, 2**70), "end is 2**32 or larger"),
    ("start_after_end", ("chr1", 300, 250), "start is greater than end"),
    ("empty_chrom", ("", 150, 160), "chromosome"),
    ("none_chrom", (None, 150, 160), "chromosome"),
]


@pytest.mark.parametrize("name,region,problem", BAD_REGIONS, ids=[b[0] for b in BAD_REGIONS])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_bad_region_in_memory(tok, name, region, problem, position):
    good = [("chr1", 150, 350), ("chr2", 10, 20)]
    regions = good[:position] + [region] + good[position:]
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(regions)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.line_number == position + 1
    assert err.path == "<regions>"
    assert f"line {position + 1}" in str(err)
    assert problem in str(err)
    res = tok.tokenize(regions, skip_bad_lines=True)
    assert res.n_skipped == 1
    assert res.n_regions == 2
    assert res.ids.tolist() == [0, 1, 2]


def test_mixed_types_in_memory_blame_the_bad_region_only(tok):
    """A list mixing good ints with a bad value must not make the good regions bad."""
    regions = [("chr1", 150, 350), ("chr1", "x", 300), ("chr2", 10, 20), ("chr1", 2.5, 300)]
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(regions)
    assert info.value.line_number == 2
    res = tok.tokenize(regions, skip_bad_lines=True)
    assert (res.ids.tolist(), res.n_skipped, res.n_regions) == ([0, 1, 2], 2, 2)


@pytest.mark.parametrize("kind", ["lists", "object_arrays", "float_array"])
def test_bad_values_in_columns(tok, kind):
    chroms = ["chr1", "chr1", "chr2"]
    starts = [150, -5, 10]
    ends = [350, 300, 20]
    if kind == "object_arrays":
        cols = (
            np.array(chroms, dtype=object),
            np.array(starts, dtype=object),
            np.array(ends, dtype=object),
        )
        problem = "start is negative"
    elif kind == "float_array":
        cols = (chroms, np.array([150, 1.5, 10]), np.array(ends))
        problem = "not an integer"
    else:
        cols = (chroms, starts, ends)
        problem = "start is negative"
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(cols)
    if kind != "float_array":  # a float column: every entry is a float
        assert info.value.line_number == 2
    assert problem in str(info.value)
    if kind != "float_array":
        res = tok.tokenize(cols, skip_bad_lines=True)
        assert (res.ids.tolist(), res.n_skipped) == ([0, 1, 2], 1)


def test_columns_of_different_lengths(tok):
    with pytest.raises(ValueError):
        tok.tokenize((["chr1", "chr1"], np.array([100]), np.array([200, 300])))


def test_bad_unk_mode(tok):
    with pytest.raises(ValueError, match="unk"):
        tok.tokenize([("chr1", 1, 2)], unk="each")


# ====================================================================== headers, comments


def test_column_header_first_line_skipped(tok, tmp_path):
    for header in (
        "chrom\tstart\tend",
        "chrom\tchromStart\tchromEnd\tname\tscore",
        "seqnames\tstart_pos\tend_pos",
    ):
        path = write(tmp_path / "q.bed", f"{header}\n{GOOD}")
        res = tok.tokenize(path)
        assert res.ids.tolist() == [0, 1]
        assert (res.n_regions, res.n_skipped) == (1, 0)


def test_column_header_after_comments_skipped(tok, tmp_path):
    path = write(tmp_path / "q.bed", f"track name=x\n# comment\n\nchrom\tstart\tend\n{GOOD}")
    assert tok.tokenize(path).ids.tolist() == [0, 1]


def test_column_header_later_is_an_error(tok, tmp_path):
    path = write(tmp_path / "q.bed", f"{GOOD}chrom\tstart\tend\n")
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(path)
    assert info.value.line_number == 2


@pytest.mark.parametrize("first", ["chr1\t-5\t150", "chr1\t150.0\t250.0", "chr1\tfoo\t250"])
def test_bad_first_region_is_an_error_not_a_header(tok, tmp_path, first):
    """gtars silently drops any first line whose start fails to parse; we do not."""
    path = write(tmp_path / "q.bed", f"{first}\n{GOOD}")
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(path)
    assert info.value.line_number == 1
    assert info.value.line == first


def test_header_in_universe_skipped(tmp_path):
    plain = Tokenizer(write_bed(tmp_path / "u.bed", UNIVERSE))
    text = "chrom\tstart\tend\n" + "".join(f"{c}\t{s}\t{e}\n" for c, s, e in UNIVERSE)
    with_header = Tokenizer(write(tmp_path / "uh.bed", text))
    assert with_header.get_vocab() == plain.get_vocab()
    assert with_header.fingerprint == plain.fingerprint


COMMENTED = (
    'track name=peaks description="x"\n'
    "browser position chr1:1-1000\n"
    "# a comment\n"
    "\n"
    "chr1\t150\t160\n"
    "   \n"
    "\t\n"
    "#\n"
    "track\n"
    "chr1\t310\t320\n"
    "\r\n"
    "browser hide all\n"
    "# trailing comment"
)


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("compressed", [False, True])
def test_track_browser_comment_blank_lines_skipped(tok, tmp_path, crlf, compressed):
    text = COMMENTED.replace("\n", "\r\n") if crlf else COMMENTED
    path = write(tmp_path / "q.bed", text, compressed)
    res = tok.tokenize(path, keep_order=True)
    assert res.ids.tolist() == [0, 1]
    assert (res.n_regions, res.n_skipped) == (2, 0)


def test_track_browser_comment_blank_lines_in_universe(tmp_path):
    text = COMMENTED.replace("chr1\t150\t160", "chr1\t100\t200").replace(
        "chr1\t310\t320", "chr1\t300\t400"
    )
    tok = Tokenizer(write(tmp_path / "u.bed", text))
    assert tok.decode([0, 1]) == ["chr1:100-200", "chr1:300-400"]
    assert tok.vocab_size == 9


def test_chromosome_named_like_a_keyword_is_data(tmp_path):
    """Only whole words `track`/`browser` start a header line; `trackX` is a chromosome."""
    tok = Tokenizer(write(tmp_path / "u.bed", "trackX\t1\t10\nbrowsers\t1\t10\n"))
    assert tok.vocab_size == 9
    assert tok.tokenize([("trackX", 0, 5), ("browsers", 0, 5)]).ids.tolist() == [0, 1]


# ====================================================================== gzip and files


def test_gzip_named_bed_and_plain_named_gz(tok, tmp_path):
    text = f"{GOOD}chr2\t10\t20\n"
    gz_as_bed = write(tmp_path / "q.bed", text, compress=True)
    plain_as_gz = write(tmp_path / "q2.bed.gz", text)
    assert gz_as_bed.read_bytes()[:2] == b"\x1f\x8b"
    assert tok.tokenize(gz_as_bed).ids.tolist() == [0, 1, 2]
    assert tok.tokenize(plain_as_gz).ids.tolist() == [0, 1, 2]
    # universes too
    ubed = "".join(f"{c}\t{s}\t{e}\n" for c, s, e in UNIVERSE)
    for u in (write(tmp_path / "u.bed", ubed, compress=True), write(tmp_path / "u.bed.gz", ubed)):
        assert Tokenizer(u).get_vocab() == tok.get_vocab()
        assert Tokenizer(u).fingerprint == tok.fingerprint


def test_multi_member_gzip(tok, tmp_path):
    # three members; the second boundary falls in the middle of a line
    data = (
        gzip.compress(b"chr1\t150\t350\n")
        + gzip.compress(b"chr2\t1")
        + gzip.compress(b"0\t20\nchr1\t310\t320\n")
    )
    path = write(tmp_path / "q.bed.gz", data)
    assert tok.tokenize(path, keep_order=True).ids.tolist() == [0, 1, 2, 1]
    u = Tokenizer(
        write(
            tmp_path / "u.bed.gz",
            gzip.compress(b"chr1\t100\t200\n") + gzip.compress(b"chr1\t300\t400\nchr2\t0\t50\n"),
        )
    )
    assert u.get_vocab() == tok.get_vocab()


@pytest.mark.parametrize(
    "damage", ["truncated_half", "truncated_trailer", "bad_crc", "header_only"]
)
def test_corrupt_gzip(tok, tmp_path, damage):
    text = "".join(f"chr1\t{i}\t{i + 100}\n" for i in range(0, 50_000, 7)).encode()
    gz = bytearray(gzip.compress(text))
    if damage == "truncated_half":
        gz = gz[: len(gz) // 2]
    elif damage == "truncated_trailer":
        gz = gz[:-4]
    elif damage == "bad_crc":
        gz[-8] ^= 0xFF
    else:
        gz = gz[:10]
    for name in ("q.bed.gz", "q.bed"):
        path = write(tmp_path / name, bytes(gz))
        with pytest.raises(CorruptGzipError) as info:
            tok.tokenize(path)
        assert isinstance(info.value, ValueError)
        assert info.value.path == os.fspath(path)
        assert os.fspath(path) in str(info.value)
        # skip_bad_lines does not make a broken stream acceptable
        with pytest.raises(CorruptGzipError):
            tok.tokenize(path, skip_bad_lines=True)
        with pytest.raises(CorruptGzipError) as info:
            Tokenizer(path)
        assert os.fspath(path) in str(info.value)


def test_missing_file_and_folder(tok, tmp_path):
    missing = tmp_path / "nope.bed"
    for call in (tok.tokenize, tok, Tokenizer, Tokenizer.from_bed):
        with pytest.raises(FileNotFoundError) as info:
            call(missing)
        assert os.fspath(missing) in str(info.value)
        with pytest.raises(IsADirectoryError) as info:
            call(tmp_path)
        assert os.fspath(tmp_path) in str(info.value)
    with pytest.raises(FileNotFoundError):
        Tokenizer.from_config(tmp_path / "nope.toml")
    with pytest.raises(FileNotFoundError):
        Tokenizer(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "\n\n  \n",
        "chrom\tstart\tend\n",
        "track name=x\n# only headers\nbrowser x\n",
        "chrom\tstart\tend",
    ],
)
@pytest.mark.parametrize("compressed", [False, True])
def test_empty_and_header_only_query(tok, tmp_path, text, compressed):
    path = write(tmp_path / "q.bed", text, compressed)
    for keep_order in (False, True):
        for unk in ("whole", "per_region"):
            res = tok.tokenize(path, keep_order=keep_order, unk=unk)
            assert res.ids.tolist() == [UNK]
            assert (res.n_regions, res.n_skipped, res.n_unknown_chrom) == (0, 0, 0)
    assert tok(path) == {"input_ids": [UNK], "attention_mask": [1]}


def test_empty_in_memory(tok):
    for x in (
        [],
        (),
        ([], [], []),
        (np.array([], dtype=str), np.array([], dtype=np.int64), np.array([], dtype=np.int64)),
    ):
        assert tok.tokenize(x).ids.tolist() == [UNK]


# ---------------------------------------------------------------------- wider BED flavours

NARROWPEAK = [
    ("chr1", 100, 200, ".", 0, ".", 12.5, -1, 3.2, 50),
    ("chr1", 300, 400, "peak2", 1000, "+", 1.0, 2.0, 3.0, 10),
    ("chr2", 0, 50, "peak3", 5, "-", 0.0, 0.0, 0.0, -1),
]


@pytest.mark.parametrize("width", [4, 5, 6, 10, 12])
@pytest.mark.parametrize("compressed", [False, True])
def test_wider_bed_universe_and_query(tok, tmp_path, width, compressed):
    """BED4..BED12 and narrowPeak: columns 4+ are ignored (gtars refuses BED4 universes)."""

    def line(row):
        extra = list(row[3:]) + ["x"] * 12
        return "\t".join(str(v) for v in list(row[:3]) + extra[: width - 3]) + "\n"

    u = write(tmp_path / "u.bed", "".join(line(r) for r in NARROWPEAK), compressed)
    wide = Tokenizer(u)
    assert wide.get_vocab() == tok.get_vocab()
    assert wide.fingerprint == tok.fingerprint
    q = write(
        tmp_path / "q.narrowPeak",
        line(("chr2", 10, 20, "p", 1, ".", 1, 1, 1, 1))
        + line(("chr1", 150, 350, "p", 1, ".", 1, 1, 1, 1)),
        compressed,
    )
    assert wide.tokenize(q).ids.tolist() == [0, 1, 2]
    assert wide.tokenize(q, keep_order=True).ids.tolist() == [2, 0, 1]


def test_space_separated_lines(tok, tmp_path):
    """Lines without a tab are split on runs of spaces (gtars refuses them)."""
    path = write(tmp_path / "q.bed", "chr1 150  350\n  chr2 10 20 name\n")
    assert tok.tokenize(path, keep_order=True).ids.tolist() == [0, 1, 2]


def test_non_utf8_bytes_do_not_crash(tmp_path):
    path = write(tmp_path / "u.bed", b"chr\xff\t1\t10\nchr1\t1\t10\n")
    tok = Tokenizer(path)
    assert tok.vocab_size == 9
    assert tok.decode([1]) == ["chr1:1-10"]
    assert len(tok.get_vocab()) == 9
    q = write(tmp_path / "q.bed", b"chr\xff\t2\t3\nchr\xfe\t2\t3\n")
    assert tok.tokenize(q).ids.tolist() == [0]


# ====================================================================== TOML configs


def _config(tmp_path, text, name="tokenizer.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def universe_file(tmp_path):
    write_bed(tmp_path / "universe.bed", UNIVERSE)
    return tmp_path / "universe.bed"


@pytest.mark.parametrize(
    "text,problem",
    [
        ('universe = "universe.bed', "TOML"),  # unterminated string
        ("universe = universe.bed", "TOML"),  # bare word
        ("[[[", "TOML"),
        ("", "universe"),  # no universe key
        ('tokenizer_type = "bits"', "universe"),
        ("universe = 5", "universe"),
        ('universe = ""', "universe"),
        ('universe = "missing.bed"', "missing.bed"),  # file absent
        ('universe = "universe.bed"\ntokenizer_type = "ailist"', "ailist"),
        ('universe = "universe.bed"\ntokenizer_type = "tree"', "tree"),
        ('universe = "universe.bed"\nspecial_tokens = "x"', "special_tokens"),
        ('universe = "universe.bed"\nspecial_tokens = [{name = "nope", token = "x"}]', "nope"),
        ('universe = "universe.bed"\nspecial_tokens = [{name = "unk", token = 5}]', "unk"),
    ],
)
def test_config_errors(tmp_path, universe_file, text, problem):
    path = _config(tmp_path, text)
    for make in (Tokenizer, Tokenizer.from_config):
        with pytest.raises(ConfigError) as info:
            make(path)
        assert isinstance(info.value, ValueError)
        assert info.value.path == os.fspath(path)
        assert os.fspath(path) in str(info.value)
        assert problem in str(info.value)


def test_config_not_utf8(tmp_path):
    path = tmp_path / "tokenizer.toml"
    path.write_bytes(b'universe = "\xff.bed"\n')
    with pytest.raises(ConfigError):
        Tokenizer(path)


def test_config_universe_is_a_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(ConfigError):
        Tokenizer(_config(tmp_path, 'universe = "sub"'))


def test_config_relative_to_its_folder(tmp_path, universe_file, monkeypatch):
    sub = tmp_path / "configs"
    sub.mkdir()
    path = _config(sub, 'universe = "../universe.bed"\ntokenizer_type = "bits"\n')
    monkeypatch.chdir(sub.parent.parent)
    tok = Tokenizer(path)
    assert tok.vocab_size == len(UNIVERSE) + 7
    assert tok.tokenize([("chr1", 150, 350)]).ids.tolist() == [0, 1]


def test_config_custom_special_tokens(tmp_path, universe_file):
    path = _config(
        tmp_path,
        'universe = "universe.bed"\nspecial_tokens = ['
        '{name = "unk", token = "<UNK>"}, {name = "sep", token = "[SEP]"}]\n',
    )
    tok = Tokenizer(path)
    assert tok.unk_token == "<UNK>" and tok.sep_token == "[SEP]" and tok.pad_token == "<pad>"
    assert tok.unk_token_id == UNK
    assert tok.decode([UNK, UNK + 6]) == ["<UNK>", "[SEP]"]
    assert tok.convert_tokens_to_ids("<UNK>") == UNK
    assert tok.tokenize([("chrZ", 1, 2)]).ids.tolist() == [UNK]


def test_very_long_bad_line_is_shortened_in_the_message(tok, tmp_path):
    line = "chr1\t5\t" + "9" * 20_000
    path = write(tmp_path / "q.bed", f"{GOOD}{line}\n")
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(path)
    assert info.value.line == line  # the attribute keeps all of it
    assert len(str(info.value)) < 400
    assert "line 2" in str(info.value) and os.fspath(path) in str(info.value)


# ====================================================================== property: good + bad

_GOOD_ROWS = st.tuples(
    st.sampled_from(["chr1", "chr2", "chr3"]), st.integers(0, 500), st.integers(0, 300)
).map(lambda t: (t[0], t[1], t[1] + t[2]))
_EXAMPLES = int(os.environ.get("GTOK_HYPOTHESIS_EXAMPLES", "60"))
_NOISE = ["# comment", "", "track name=x", "browser hide", "  ", "\t"]


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(
        st.one_of(
            _GOOD_ROWS.map(lambda r: ("good", r)),
            st.sampled_from(BAD_LINES).map(lambda b: ("bad", b[1])),
            st.sampled_from(_NOISE).map(lambda n: ("noise", n)),
        ),
        max_size=40,
    ),
    crlf=st.booleans(),
    compressed=st.booleans(),
)
def test_property_bad_lines_anywhere(items, crlf, compressed):
    eol = "\r\n" if crlf else "\n"
    lines = [f"{x[0]}\t{x[1]}\t{x[2]}" if kind == "good" else x for kind, x in items]
    good = [x for kind, x in items if kind == "good"]
    bad_at = [i + 1 for i, (kind, _) in enumerate(items) if kind == "bad"]
    with tempfile.TemporaryDirectory() as d:
        u = write_bed(Path(d, "u.bed"), UNIVERSE)
        tok = Tokenizer(u)
        path = write(Path(d, "q.bed"), eol.join(lines), compressed)
        if bad_at:
            with pytest.raises(BedFormatError) as info:
                tok.tokenize(path)
            assert info.value.line_number == bad_at[0]
            assert info.value.line == lines[bad_at[0] - 1]
        else:
            assert tok.tokenize(path).ids.tolist() == oracle(UNIVERSE, good, sort=True)
        res = tok.tokenize(path, skip_bad_lines=True, keep_order=True)
        assert res.ids.tolist() == oracle(UNIVERSE, good, sort=False)
        assert (res.n_skipped, res.n_regions) == (len(bad_at), len(good))


@settings(max_examples=_EXAMPLES, deadline=None)
@given(
    items=st.lists(
        st.one_of(
            _GOOD_ROWS.map(lambda r: ("good", r)),
            st.sampled_from(BAD_REGIONS).map(lambda b: ("bad", b[1])),
        ),
        max_size=30,
    )
)
def test_property_bad_regions_anywhere_in_memory(items):
    tok = _property_tokenizer()
    regions = [x for _, x in items]
    good = [x for kind, x in items if kind == "good"]
    bad_at = [i + 1 for i, (kind, _) in enumerate(items) if kind == "bad"]
    if bad_at:
        with pytest.raises(BedFormatError) as info:
            tok.tokenize(regions)
        assert info.value.line_number == bad_at[0]
    res = tok.tokenize(regions, skip_bad_lines=True)
    assert res.ids.tolist() == oracle(UNIVERSE, good, sort=False)
    assert (res.n_skipped, res.n_regions) == (len(bad_at), len(good))


_PROPERTY_TOK: list = []


def _property_tokenizer():
    if not _PROPERTY_TOK:
        with tempfile.TemporaryDirectory() as d:
            _PROPERTY_TOK.append(Tokenizer(write_bed(Path(d, "u.bed"), UNIVERSE)))
    return _PROPERTY_TOK[0]


# ------------------------------------------------------- chromosome names that are not UTF-8


def test_names_that_are_not_utf8_are_bytes_end_to_end(tmp_path):
    """Names are compared, ordered and fingerprinted as the bytes of the file; text is
    made of them only to show them (bytes that are not UTF-8 as U+FFFD)."""
    ff, fe = tmp_path / "ff.bed", tmp_path / "fe.bed"
    ff.write_bytes(b"chr\xff\t100\t200\n")
    fe.write_bytes(b"chr\xfe\t100\t200\n")
    assert Tokenizer(ff).fingerprint != Tokenizer(fe).fingerprint
    # b"chr\xee\x80\x80" (U+E000, valid UTF-8) sorts before b"chr\xff" as bytes, though
    # U+E000 sorts after the surrogate standing for \xff as text
    both = tmp_path / "both.bed"
    both.write_bytes(b"chr\xff\t100\t200\nchr\xee\x80\x80\t100\t200\n")
    tok = Tokenizer(both)
    query = tmp_path / "q.bed"
    query.write_bytes(b"chr\xff\t150\t160\nchr\xee\x80\x80\t150\t160\n")
    ids = tok.tokenize(query).ids.tolist()
    first, second = tok.convert_ids_to_tokens(ids)
    assert first.startswith("chr\ue000") and second.startswith("chr\ufffd")
    # in memory: a str stands for bytes as os.fsdecode makes it; one that stands for none
    # (another lone surrogate) is an unknown chromosome, not an error
    assert (
        tok.tokenize([("chr\udcff", 150, 160)]).ids.tolist()
        == tok.tokenize([(b"chr\xff", 150, 160)]).ids.tolist()
    )
    unk = tok.tokenize([("chr\ud800", 150, 160)])
    assert unk.n_unknown_chrom == 1
