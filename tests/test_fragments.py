"""Fragment files (``gtok.tokenize_fragments``, ``gtok fragments``): against gtars 0.10's
``tokenize_fragment_file`` and a brute-force oracle, on hypothesis-generated universes and
fragment files; options, bad input, gzip streaming across chunk boundaries, packs, the CLI.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gtok import Tokenizer, open_gtok, tokenize_fragment_file, tokenize_fragments
from gtok.errors import CorruptGzipError, FragmentFormatError
from gtok.singlecell.fragments import read_barcodes

from _tok_helpers import oracle, queries, universes, write_bed
from batchdata import cli, run_cli

SETTINGS = settings(
    max_examples=int(os.environ.get("GTOK_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# (two share their first 16 bytes: the hash table must compare whole barcodes)
BARCODES = [
    "AAACGAACAGTCACGC-1",
    "AAACTGCAGGCATTGA-1",
    "TTTGTGTTCGCTTAGC-1",
    "C",
    "Zz-2",
    "AAACGAACAGTCACGC-2",
]


# ---------------------------------------------------------------------- the oracle


def oracle_cells(
    universe_rows, fragments, *, allow=None, min_fragments=0, min_tokens=0, unique=False
):
    """Per-cell ids by brute force: each fragment alone through the docs/semantics.md §4
    oracle with one <unk> when it hits nothing; cells in order of first appearance."""
    n_regions = len(dict.fromkeys((c, int(s), int(e)) for c, s, e in universe_rows))
    cells: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for c, s, e, bc in fragments:
        if allow is not None and bc not in allow:
            continue
        cells.setdefault(bc, []).extend(
            oracle(universe_rows, [(c, s, e)], sort=False, per_region=True)
        )
        counts[bc] = counts.get(bc, 0) + 1
    out = {}
    for bc, ids in cells.items():
        if unique:
            ids = sorted({i for i in ids if i < n_regions})
        if counts[bc] >= min_fragments and sum(i < n_regions for i in ids) >= min_tokens:
            out[bc] = ids
    return out


def fragment_text(fragments, *, count=True, header=False, crlf=False):
    eol = "\r\n" if crlf else "\n"
    lines = ["# id=test\n# reference_path=/refdata\n"] if header else []
    for k, (c, s, e, bc) in enumerate(fragments):
        lines.append(f"{c}\t{s}\t{e}\t{bc}" + (f"\t{k % 7 + 1}" if count else "") + eol)
    return "".join(lines)


def write_fragments(path, fragments, *, gz=False, members=1, **kwargs) -> str:
    data = fragment_text(fragments, **kwargs).encode()
    path = os.fspath(path)
    if gz:
        # gtars goes by the name (.gz); gtok sniffs. Several members: 10x/bgzip style.
        cut = [len(data) * k // members for k in range(members + 1)]
        data = b"".join(gzip.compress(data[a:b], mtime=0) for a, b in zip(cut, cut[1:]))
        path += ".gz"
    with open(path, "wb") as f:
        f.write(data)
    return path


@st.composite
def fragment_files(draw, universe_rows):
    """Fragments (chrom, start, end, barcode): the tokenizer tests' queries (unknown
    chromosomes, zero-length, touching, repeats, no hits) with barcodes, laid out sorted by
    position, grouped by barcode, or shuffled."""
    qs = draw(queries(universe_rows, max_size=25))
    bcs = draw(st.lists(st.sampled_from(BARCODES), min_size=len(qs), max_size=len(qs)))
    frags = [(c, s, e, b) for (c, s, e), b in zip(qs, bcs)]
    order = draw(st.sampled_from(["position", "barcode", "as_drawn"]))
    if order == "position":
        frags.sort(key=lambda f: (f[0], f[1], f[2]))
    elif order == "barcode":
        frags.sort(key=lambda f: f[3])  # stable: file order within a barcode
    return frags


def as_lists(cells):
    return {k: np.asarray(v).tolist() for k, v in cells.items()}


# ---------------------------------------------------------------------- against gtars


@SETTINGS
@given(
    data=st.data(),
    gz=st.booleans(),
    members=st.integers(1, 3),
    chunk=st.sampled_from([7, 64, 1 << 20]),
)
def test_same_cells_as_gtars(data, gz, members, chunk):
    gtars_tok = pytest.importorskip("gtars.tokenizers")
    urows = data.draw(universes(max_size=30))
    frags = data.draw(fragment_files(urows))
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d) / "u.bed", urows)
        fpath = write_fragments(
            Path(d) / "fragments.tsv",
            frags,
            gz=gz,
            members=members,
            header=data.draw(st.booleans()),
        )
        expected = gtars_tok.tokenize_fragment_file(fpath, gtars_tok.Tokenizer(upath))
        tok = Tokenizer(upath)
        got = tokenize_fragments(tok, fpath, as_lists=True, chunk_size=chunk)
        assert got == expected
        assert list(got) == list(dict.fromkeys(b for *_, b in frags))  # first appearance
        assert tokenize_fragment_file(fpath, tok) == expected
        assert got == oracle_cells(urows, frags)


def test_gtars_edge_cases_agree(tmp_path):
    """The edge cases listed in docs/singlecell.md where gtok and gtars agree."""
    gtars_tok = pytest.importorskip("gtars.tokenizers")
    upath = write_bed(
        tmp_path / "u.bed",
        [("chr1", 100, 200), ("chr1", 150, 300), ("chr1", 500, 600), ("chr2", 0, 1000)],
    )
    cases = {
        "unknown_chrom_and_miss": "chr3\t0\t10\tA\t1\nchr1\t700\t800\tA\t1\n",
        "touching": "chr1\t200\t210\tA\t1\nchr1\t90\t100\tA\t1\n",
        "zero_length": "chr1\t160\t160\tA\t1\nchr1\t200\t200\tB\t1\nchr1\t100\t100\tB\t1\n",
        "max_coordinate": "chr1\t120\t4294967295\tA\t1\n",
        "comments_anywhere": "#a\nchr1\t120\t160\tA\t1\n#b\nchr1\t120\t160\tB\t1\n",
        "crlf_no_final_newline": "chr1\t120\t160\tA\t1\r\nchr1\t520\t560\tA\t1",
        "extra_columns_and_bad_count": "chr1\t120\t160\tA\tx\ty\tz\n",
        "spaces": "chr1 120 160 A 1\n",
        "leading_space": " chr1\t120\t160\tA\t1\n",
        "spaces_around_tab_separated_fields": "chr1 \t 120\t160 \tAAAC-1 \t1\n"
        "chr1\t520\t560\t AAAC-1\t1\n",
        "empty": "",
    }
    tok = Tokenizer(upath)
    g = gtars_tok.Tokenizer(upath)
    for name, text in cases.items():
        p = tmp_path / f"{name}.tsv"
        p.write_text(text)
        assert tokenize_fragment_file(p, tok) == gtars_tok.tokenize_fragment_file(str(p), g), name


# ---------------------------------------------------------------------- options


@SETTINGS
@given(
    data=st.data(),
    unique=st.booleans(),
    min_fragments=st.integers(0, 4),
    min_tokens=st.integers(0, 4),
    use_allow=st.booleans(),
)
def test_options_match_oracle(data, unique, min_fragments, min_tokens, use_allow):
    urows = data.draw(universes(max_size=30))
    frags = data.draw(fragment_files(urows))
    allow = (
        set(data.draw(st.lists(st.sampled_from(BARCODES + ["NOT-SEEN"]), max_size=4)))
        if use_allow
        else None
    )
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d) / "u.bed", urows)
        fpath = write_fragments(Path(d) / "f.tsv", frags, gz=data.draw(st.booleans()))
        got = tokenize_fragments(
            upath,
            fpath,
            barcodes=allow,
            unique=unique,
            min_fragments=min_fragments,
            min_tokens=min_tokens,
            chunk_size=data.draw(st.sampled_from([5, 1 << 16])),
        )
        expected = oracle_cells(
            urows,
            frags,
            allow=allow,
            unique=unique,
            min_fragments=min_fragments,
            min_tokens=min_tokens,
        )
        assert as_lists(got) == expected
        assert list(got) == list(expected)
        s = got.summary
        assert s.cells == len(expected)
        assert s.tokens == sum(map(len, expected.values()))
        kept = [f for f in frags if allow is None or f[3] in allow]
        assert s.fragments == sum(f[3] in expected for f in kept)
        assert s.not_in_barcodes == len(frags) - len(kept)
        assert s.fragments_read == len(frags)
        assert all(v.dtype == np.uint32 for v in got.values())


def test_barcode_file_and_summary(tmp_path, tok):
    frags = [
        ("chr1", 1000, 1500, "A-1"),
        ("chr2", 10, 20, "B-1"),
        ("chrUn", 5, 6, "A-1"),
        ("chr1", 1000, 1500, "C-1"),
    ]
    fpath = write_fragments(tmp_path / "f.tsv", frags)
    allow = tmp_path / "barcodes.tsv.gz"
    allow.write_bytes(gzip.compress(b"# kept cells\nA-1\n\nC-1\tcell type x\n"))
    got = tokenize_fragments(tok, fpath, barcodes=allow)
    assert list(got) == ["A-1", "C-1"]
    s = got.summary
    assert (
        s.cells,
        s.cells_seen,
        s.fragments,
        s.fragments_read,
        s.not_in_barcodes,
        s.unknown_chrom,
        s.lines,
    ) == (2, 2, 3, 4, 1, 1, 4)
    assert s.settings["barcodes"] == 2
    assert got["A-1"][-1] == tok.unk_token_id


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_option_values(tmp_path, tok, bad):
    fpath = write_fragments(tmp_path / "f.tsv", [("chr1", 1, 2, "A")])
    with pytest.raises(ValueError, match="min_fragments"):
        tokenize_fragments(tok, fpath, min_fragments=bad)


# ---------------------------------------------------------------------- bad input

GOOD = "chr1\t100\t200\tA\t1\n"
BAD_LINES = [
    ("chr1\t100\t200\n", "fewer than 4 fields"),
    ("chr1\t100\n", "fewer than 4 fields"),
    ("track name=x\n", "fewer than 4 fields"),
    ("chr1\t-5\t200\tA\t1\n", "start is negative"),
    ("chr1\t100\t-2\tA\t1\n", "end is negative"),
    ("chr1\tabc\t200\tA\t1\n", "start is not an integer"),
    ("chr1\t100.0\t200\tA\t1\n", "start is not an integer"),
    ("chr1\t+100\t200\tA\t1\n", "start is not an integer"),
    ("chr1\t100\t2e3\tA\t1\n", "end is not an integer"),
    ("chr1\t4294967296\t4294967297\tA\t1\n", "start is 2\\*\\*32 or larger"),
    ("chr1\t100\t99999999999999999999\tA\t1\n", "end is 2\\*\\*32 or larger"),
    ("chr1\t300\t200\tA\t1\n", "start is greater than end"),
    ("\t100\t200\tA\t1\n", "empty chromosome"),
    ("chr1\t100\t200\t\t1\n", "empty barcode"),
]


@pytest.mark.parametrize("line,problem", BAD_LINES)
@pytest.mark.parametrize("gz", [False, True])
def test_bad_line_names_file_and_line(tmp_path, tok, line, problem, gz):
    text = "# header\n" + GOOD + GOOD + line + GOOD
    path = tmp_path / "f.tsv"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    out = tmp_path / "cells.gtok"
    with pytest.raises(FragmentFormatError, match=problem) as info:
        tokenize_fragments(tok, path, out, chunk_size=11)
    err = info.value
    assert err.line_number == 4 and err.line == line.rstrip("\n")
    assert str(path) in str(err) and "line 4" in str(err)
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    # skipped on request, and counted
    got = tokenize_fragments(tok, path, skip_bad_lines=True, chunk_size=11)
    assert got.summary.skipped_lines == 1 and got.summary.fragments == 3
    assert got.summary.first_skipped.line_number == 4
    assert len(got["A"]) == 3 * len(tok.tokenize([("chr1", 100, 200)]).ids)


def test_skip_counts_every_bad_line(tmp_path, tok):
    path = tmp_path / "f.tsv"
    path.write_text(GOOD + "".join(line for line, _ in BAD_LINES) + GOOD)
    got = tokenize_fragments(tok, path, skip_bad_lines=True, chunk_size=16)
    assert got.summary.skipped_lines == len(BAD_LINES)
    assert got.summary.first_skipped.line_number == 2
    assert got.summary.fragments == 2


def test_header_blank_lines_and_four_columns(tmp_path, tok):
    """Accepted where gtars refuses: a column header, blank lines, no count column."""
    path = tmp_path / "f.tsv"
    path.write_text(
        "chrom\tstart\tend\tbarcode\tcount\n\nchr1\t1000\t1500\tA\n  \nchr1\t1000\t1500\tA\t3\n"
    )
    got = tokenize_fragments(tok, path, as_lists=True)
    one = tok.tokenize([("chr1", 1000, 1500)]).ids.tolist() or [tok.unk_token_id]
    assert got == {"A": one + one}
    # a header-like line after the first data line is a bad line
    path.write_text("chr1\t1000\t1500\tA\nchrom\tstart\tend\tbarcode\n")
    with pytest.raises(FragmentFormatError, match="line 2"):
        tokenize_fragments(tok, path)


def test_non_utf8_barcode(tmp_path, tok):
    """A barcode that is not UTF-8 makes a bad line (named with its number), like any other:
    skipped on request; a barcode the allow-list leaves out is never looked at."""
    path = tmp_path / "f.tsv"
    path.write_bytes(
        b"chr1\t1000\t1500\tA\nchr1\t1\t2\tA\xff\t1\nchr1\t1000\t1500\tA\xff\nchr1\t1000\t1500\tB\n"
    )
    with pytest.raises(FragmentFormatError, match="line 2.*not UTF-8"):
        tokenize_fragments(tok, path)
    got = tokenize_fragments(tok, path, skip_bad_lines=True, as_lists=True)
    assert list(got) == ["A", "B"] and got.summary.skipped_lines == 2
    got = tokenize_fragments(tok, path, barcodes=["B"], as_lists=True)
    assert list(got) == ["B"]


_BARCODE_BYTES = st.binary(min_size=1, max_size=12).filter(
    lambda b: not any(c in b for c in b"\t\n\r #") and b.strip() == b
)


# bytes at the edges of UTF-8's rules: leads of every length, the continuation range's
# ends, the second bytes that make forms overlong, surrogates or past U+10FFFF
_EDGE_BYTES = st.lists(
    st.sampled_from(
        b"A\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xed\xee\xef\xf0\xf1\xf3\xf4\xf5\xff"
    ),
    min_size=1,
    max_size=8,
).map(bytes)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)  # (tok: read only)
@given(
    raw=st.one_of(
        _BARCODE_BYTES,
        _EDGE_BYTES,
        st.text(min_size=1, max_size=6)
        .map(lambda t: t.encode("utf-8", "surrogatepass"))
        .filter(lambda b: not any(c in b for c in b"\t\n\r #") and b.strip() == b),
    )
)
@example(raw=b"\xed\x9f\xbf")  # U+D7FF: the last before the surrogates
@example(raw=b"\xed\xa0\x80")  # U+D800: a surrogate
@example(raw=b"\xc1\xbf")  # overlong (2 bytes)
@example(raw=b"\xe0\x9f\xbf")  # overlong (3 bytes)
@example(raw=b"\xe0\xa0\x80")  # U+0800
@example(raw=b"\xf0\x8f\xbf\xbf")  # overlong (4 bytes)
@example(raw=b"\xf4\x8f\xbf\xbf")  # U+10FFFF
@example(raw=b"\xf4\x90\x80\x80")  # past U+10FFFF
@example(raw=b"\xf5\x80\x80\x80")  # not a lead byte
@example(raw=b"A\xe2\x82")  # cut short
def test_barcode_utf8_check_agrees_with_python(tok, raw):
    """The parser's UTF-8 check (C, per new barcode) takes exactly what Python's strict
    decoder takes: overlong forms, surrogates and code points past U+10FFFF included."""
    try:
        want = raw.decode("utf-8")
    except UnicodeDecodeError:
        want = None
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.tsv"
        path.write_bytes(b"chr1\t1000\t1500\t" + raw + b"\n")
        if want is None:
            with pytest.raises(FragmentFormatError, match="not UTF-8"):
                tokenize_fragments(tok, path)
        else:
            assert list(tokenize_fragments(tok, path, as_lists=True)) == [want]


def test_missing_file_and_folder(tmp_path, tok):
    with pytest.raises(FileNotFoundError):
        tokenize_fragments(tok, tmp_path / "nope.tsv.gz")
    with pytest.raises(IsADirectoryError):
        tokenize_fragments(tok, tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.9, -4])
def test_truncated_gzip_leaves_no_pack(tmp_path, tok, cut):
    frags = [("chr1", 1000 + k, 1500 + k, BARCODES[k % 3]) for k in range(3000)]
    data = gzip.compress(fragment_text(frags).encode())
    path = tmp_path / "f.tsv.gz"
    path.write_bytes(data[: int(len(data) * cut)] if cut > 0 else data[:cut])
    out = tmp_path / "out" / "cells.gtok"
    with pytest.raises(CorruptGzipError, match="f.tsv.gz"):
        tokenize_fragments(tok, path, out, chunk_size=100)
    assert not out.exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_corrupt_gzip(tmp_path, tok):
    data = bytearray(gzip.compress(GOOD.encode() * 100))
    data[20:30] = b"\xff" * 10
    path = tmp_path / "f.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptGzipError):
        tokenize_fragments(tok, path)


# ---------------------------------------------------------------------- streaming


@pytest.mark.parametrize("chunk", [1, 3, 17, 4096])
def test_lines_spanning_chunks(tmp_path, tok, chunk):
    frags = [
        (c, s, s + w, BARCODES[k % 5])
        for k, (c, s, w) in enumerate(
            zip(
                ["chr1", "chr2", "chrX", "chr10", "chrM"] * 80,
                range(0, 400_000, 1000),
                [50, 500, 0, 3000] * 100,
            )
        )
    ]
    plain = write_fragments(tmp_path / "f.tsv", frags, header=True, crlf=True)
    gz = write_fragments(tmp_path / "g.tsv", frags, gz=True, members=4, header=True)
    expected = oracle_cells(
        [
            (tok.universe.chrom_names[c], s, e)
            for c, s, e in zip(
                tok.universe.region_chroms.tolist(),
                tok.universe.region_starts.tolist(),
                tok.universe.region_ends.tolist(),
            )
        ],
        frags,
    )
    for path in (plain, gz):
        got = tokenize_fragments(tok, path, chunk_size=chunk)
        assert as_lists(got) == expected
        assert got.summary.lines == len(frags) + 2


def test_pipe_input(tmp_path, tok):
    frags = [("chr1", 1000 + 7 * k, 1400 + 7 * k, BARCODES[k % 4]) for k in range(2000)]
    expected = as_lists(tokenize_fragments(tok, write_fragments(tmp_path / "f.tsv", frags)))
    for gz in (False, True):
        data = fragment_text(frags).encode()
        data = gzip.compress(data) if gz else data
        r, w = os.pipe()  # an anonymous pipe, as `<(zcat x.tsv.gz)` gives

        def writer(w: int = w, data: bytes = data) -> None:
            with open(w, "wb") as f:
                f.write(data)

        t = threading.Thread(target=writer)
        t.start()
        try:
            got = tokenize_fragments(tok, f"/dev/fd/{r}", chunk_size=1000)
        finally:
            t.join()
            os.close(r)
        assert as_lists(got) == expected


def test_named_fifo_is_refused_without_waiting(tmp_path, tok):
    fifo = tmp_path / "fragments.tsv"
    os.mkfifo(fifo)  # nobody ever writes: opening it would wait forever
    with pytest.raises(OSError, match="named FIFO") as e:
        tokenize_fragments(tok, fifo)
    assert str(fifo) in str(e.value)
    with pytest.raises(OSError, match="named FIFO"):
        read_barcodes(fifo)


def test_progress_reports_bytes(tmp_path, tok):
    frags = [("chr1", 1000 + k, 1500 + k, "A") for k in range(5000)]
    for gz in (False, True):
        path = write_fragments(tmp_path / f"f{gz}.tsv", frags, gz=gz)
        calls = []
        tokenize_fragments(
            tok,
            path,
            chunk_size=4096,
            progress=lambda done, total, n, calls=calls: calls.append((done, total, n)),
        )
        assert len(calls) > 3
        assert calls[-1] == (os.path.getsize(path), os.path.getsize(path), 5000)
        assert [c[0] for c in calls] == sorted(c[0] for c in calls)


# ---------------------------------------------------------------------- packs and CLI


def test_pack_matches_dict(tmp_path, tok):
    frags = [
        (c, s, s + 300, BARCODES[(s // 1000) % 5])
        for c in ("chr1", "chr2", "chrQ")
        for s in range(0, 2_000_000, 9973)
    ]
    fpath = write_fragments(tmp_path / "f.tsv", frags, gz=True)
    cells = tokenize_fragments(tok, fpath, min_fragments=2)
    out = tmp_path / "cells.gtok"
    summary = tokenize_fragments(tok, fpath, out, min_fragments=2)
    with open_gtok(out) as pack:
        assert pack.names == list(cells)
        assert [pack.doc(i).tolist() for i in range(len(pack))] == list(as_lists(cells).values())
        pack.check_fingerprint(tok)
        meta = pack.metadata["fragments"]
        pack.verify()
    assert meta["source"] == fpath and meta["cells"] == summary.cells == len(cells)
    assert meta["settings"]["min_fragments"] == 2
    assert meta["tokens"] == summary.tokens == sum(len(v) for v in cells.values())


def test_cli_end_to_end(tmp_path, universe):
    frags = [("chr1", s, s + 200, BARCODES[s % 3]) for s in range(0, 1_000_000, 3001)]
    fpath = write_fragments(tmp_path / "f.tsv", frags, gz=True)
    (tmp_path / "bc.txt").write_text(f"{BARCODES[0]}\n{BARCODES[2]}\n")
    out = tmp_path / "cells.gtok"
    r = run_cli(
        "fragments",
        universe,
        fpath,
        "-o",
        out,
        "--barcodes",
        tmp_path / "bc.txt",
        "--min-fragments",
        "2",
        "--unique",
    )
    assert r.returncode == 0, r.stderr
    assert "2 cells" in r.stderr and "\r" not in r.stderr  # no progress bar when piped
    expected = tokenize_fragments(
        universe, fpath, barcodes=[BARCODES[0], BARCODES[2]], min_fragments=2, unique=True
    )
    with open_gtok(out) as pack:
        assert pack.names == list(expected)
        assert [d.tolist() for d in pack] == list(as_lists(expected).values())
        assert pack.metadata["fragments"]["settings"]["unique"] is True
    # quiet
    assert cli("fragments", universe, fpath, "-o", out, "-q") == 0
    # bad input: clear message, exit 1, the old pack untouched and no temporary file
    before = out.read_bytes()
    bad = tmp_path / "bad.tsv"
    bad.write_text(GOOD + "chr1\t5\n")
    r = run_cli("fragments", universe, bad, "-o", out)
    assert r.returncode == 1 and "bad.tsv: line 2: fewer than 4 fields" in r.stderr
    assert "Traceback" not in r.stderr
    assert out.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))
    # a file named on the command line that is not there: a usage error (gtok.cli.status)
    r = run_cli("fragments", universe, tmp_path / "missing.tsv", "-o", out)
    assert r.returncode == 2 and "missing.tsv" in r.stderr
    r = run_cli("fragments", universe, fpath, "-o", out, "--min-tokens", "-3")
    assert r.returncode == 2


def test_plain_zlib_when_isal_is_absent(tmp_path, tok, monkeypatch):
    """The same cells and errors through zlib's inflate as through ISA-L's."""
    import zlib

    import gtok.io.gunzip

    frags = [("chr1", 1000 + 31 * k, 1400 + 31 * k, BARCODES[k % 4]) for k in range(4000)]
    path = write_fragments(tmp_path / "f.tsv", frags, gz=True, members=3)
    expected = as_lists(tokenize_fragments(tok, path, chunk_size=999))
    monkeypatch.setattr(gtok.io.gunzip, "inflater", zlib)
    assert as_lists(tokenize_fragments(tok, path, chunk_size=999)) == expected
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:-100])
    with pytest.raises(CorruptGzipError):
        tokenize_fragments(tok, path)


def test_many_cells(tmp_path, tok):
    """Thousands of barcodes (the cell tables grow), interleaved as in a position-sorted
    file; each cell's ids equal those of its fragments tokenized one by one."""
    rng = np.random.default_rng(5)
    n_cells, n = 3000, 20000
    names = [f"{''.join(rng.choice(list('ACGT'), 16))}-{k}" for k in range(n_cells)]
    cells = rng.integers(0, n_cells, n)
    starts = np.sort(rng.integers(0, 1_990_000, n))
    frags = [("chr2", int(s), int(s) + 300, names[c]) for s, c in zip(starts, cells)]
    path = write_fragments(tmp_path / "f.tsv", frags, gz=True)
    got = tokenize_fragments(tok, path, as_lists=True)
    expected: dict[str, list[int]] = {}
    for c, s, e, bc in frags:
        ids = tok.tokenize([(c, s, e)], unk="per_region").ids.tolist()
        expected.setdefault(bc, []).extend(ids)
    assert got == expected and list(got) == list(expected)
    assert got.summary.cells == len(set(cells.tolist()))


@pytest.mark.parametrize("chunk", [1 << 23, 1 << 16])
def test_ids_logged_then_moved_to_their_cells(tmp_path, chunk):
    """Ids are logged in file order and moved to their cells' buffers every 2**18 ids and
    at the end of each parsed chunk: across those moves, each cell keeps its ids in file
    order (here 330,000 fragments, most with several hits, over 4,000 interleaved cells)."""
    rng = np.random.default_rng(11)
    # region k is [100k, 100k + 150): neighbours overlap
    upath = write_bed(tmp_path / "u.bed", [("chr1", k * 100, k * 100 + 150) for k in range(2000)])
    tok1 = Tokenizer(upath)
    n_cells, n = 4000, 330_000
    names = [f"{''.join(rng.choice(list('ACGT'), 16))}-1" for _ in range(n_cells)]
    cells = rng.integers(0, n_cells, n).tolist()
    starts = np.sort(rng.integers(0, 210_000, n)).tolist()
    ends = [s + int(d) for s, d in zip(starts, rng.integers(1, 260, n))]
    path = tmp_path / "f.tsv"
    path.write_text(
        "".join(f"chr1\t{s}\t{e}\t{names[c]}\t1\n" for s, e, c in zip(starts, ends, cells))
    )
    got = tokenize_fragments(tok1, path, chunk_size=chunk)
    # brute force: the regions k with 100k < end and 100k + 150 > start, in id order
    expected: dict[str, list[int]] = {}
    total = 0
    for s, e, c in zip(starts, ends, cells):
        hits = list(range(max(0, (s - 150) // 100 + 1), min(1999, (e - 1) // 100) + 1))
        expected.setdefault(names[c], []).extend(hits or [tok1.unk_token_id])
        total += len(hits) or 1
    assert total > 2 * (1 << 18)  # the log is moved mid-chunk, twice or more
    assert list(got) == list(expected)
    for name, ids in expected.items():
        assert got[name].tolist() == ids, name


def test_gzip_zero_padding(tmp_path, tok):
    """Zeros after the last member are padding (as gzip allows); data after them is not."""
    frags = [("chr1", 1000 + k, 1500 + k, "A") for k in range(50)]
    plain = write_fragments(tmp_path / "f.tsv", frags)
    expected = as_lists(tokenize_fragments(tok, plain))
    data = gzip.compress(fragment_text(frags).encode())
    path = tmp_path / "g.gz"
    path.write_bytes(data + b"\0" * 300)
    assert as_lists(tokenize_fragments(tok, path, chunk_size=64)) == expected
    path.write_bytes(data + b"\0" * 300 + b"garbage")
    with pytest.raises(CorruptGzipError):
        tokenize_fragments(tok, path, chunk_size=64)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 16])
@pytest.mark.parametrize("use_allow", [False, True])
def test_barcode_lengths_and_line_shapes(tmp_path, tok, chunk, use_allow):
    """Barcodes around the table's word boundaries (8, 16, 24 bytes; pairs differing only
    in their last byte, past the 24th too), with spaces or control bytes, long numbers and
    CRLF lines: the fast path and the general path agree with tokenizing each fragment."""
    rng = np.random.default_rng(11)
    stems = [
        "A" * 7,
        "B" * 8,
        "C" * 9,
        "D" * 15,
        "E" * 16,
        "F" * 17,
        "G" * 23,
        "H" * 24,
        "I" * 25,
        "J" * 40,
        "x y",
        "q\x01z",
    ]
    names = [s + t for s in stems for t in "01"] + ["K"]
    allow = set(names[::3]) if use_allow else None
    frags, lines = [], []
    for k in range(600):
        bc = names[int(rng.integers(len(names)))]
        s = int(rng.integers(0, 1_990_000))
        e = s + int(rng.integers(0, 600))
        frags.append(("chr2", s, e, bc))
        start = f"{s:010d}" if k % 17 == 0 else str(s)  # 10 digits: the general path
        tail = ["", f"\t{k % 5 + 1}", f"\t{k % 5 + 1}\tmore"][k % 3]
        lines.append(f"chr2\t{start}\t{e}\t{bc}{tail}" + ("\r\n" if k % 4 == 0 else "\n"))
    path = tmp_path / "f.tsv"
    path.write_bytes("".join(lines).encode())
    got = tokenize_fragments(tok, path, barcodes=allow, as_lists=True, chunk_size=chunk)
    expected: dict[str, list[int]] = {}
    for c, s, e, bc in frags:
        if allow is None or bc in allow:
            expected.setdefault(bc, []).extend(
                tok.tokenize([(c, s, e)], unk="per_region").ids.tolist()
            )
    assert got == expected and list(got) == list(expected)
    assert got.summary.not_in_barcodes == sum(
        allow is not None and f[3] not in allow for f in frags
    )


def test_barcodes_alike_up_to_a_word(tmp_path, tok):
    """Thousands of barcodes equal in their first 16 or 24 bytes (so probes in the barcode
    table meet keys that differ only in the last word or past it): one cell each."""
    rng = np.random.default_rng(12)
    names = [p + f"{k:x}" for p in ("N" * 16, "M" * 24, "L" * 21) for k in range(1500)]
    order = [names[i] for i in rng.integers(0, len(names), 9000)]
    frags = [("chrAbsent", 100 * k, 100 * k + 50, bc) for k, bc in enumerate(order)]
    got = tokenize_fragments(tok, write_fragments(tmp_path / "f.tsv", frags))
    assert list(got) == list(dict.fromkeys(order))
    sizes = {bc: 0 for bc in got}
    for bc in order:
        sizes[bc] += 1
    assert {bc: len(v) for bc, v in got.items()} == sizes  # one <unk> each
