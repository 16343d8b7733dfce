"""Benchmark tokenizing regions held in memory (NumPy / pandas / pyarrow columns) against
other Python interval-overlap libraries, on the same data in the same run.

What is measured
----------------
The universe is :mod:`datagen`'s 1,000,000 regions (seed 0), given to
``Tokenizer.from_regions`` as columns; the queries are its first query sets (shuffled
peaks, ~1 % on contigs the universe lacks) concatenated to 2,500,000 regions, held as
columns. Timed (the universe's index built beforehand by every library that has one):

- **gtok** ``tok.tokenize((chroms, starts, ends))``, the chromosome column as a NumPy ``U``
  array (the headline), an object array, a pandas ``Categorical``, a pyarrow dictionary
  and a pyarrow string array; and ``tok.tokenize_many`` over the query sets as documents
  (one call) against a loop of ``tokenize`` over them.
- **gtok before issue 17** (the row-order path it replaced, ``tests/_memory_reference.py``),
  when the tests folder is there.
- **peers** (each only when installed): ncls (an ``NCLS`` per universe chromosome built
  beforehand; timed: grouping the queries by chromosome name (pandas
  ``Index.get_indexer``), ``all_overlaps_both`` per chromosome);
  ruranges (``ruranges.numpy.overlaps`` with chromosome group ids, the names mapped by a
  pandas ``Categorical`` inside the timing); pyranges1 (``join_overlaps`` of a query
  ``PyRanges`` built inside the timing, the universe's beforehand); bioframe
  (``bioframe.overlap(..., return_index=True)``, both DataFrames built beforehand).
  ruranges and pyranges1 need Python >= 3.12.

Before timing, each peer's result is checked equal to gtok's as a set of (query row,
universe region) pairs (gtok's pairs from ``tokenize_many`` with one document a query).
Times are medians of ``--repeats`` interleaved rounds (every case once a round); the
ratio is peer / gtok (above 1: gtok is faster). The machine's load average is printed:
on a shared machine ratios say more than seconds.

Usage (repository root, gtok installed)::

    python benchmarks/bench_memory.py [--repeats 7] [--regions 2500000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gtok import Tokenizer  # noqa: E402

import datagen  # noqa: E402


def _optional(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


def make_data(n_regions: int) -> dict:
    """The universe and the queries as columns, plus the query sets' offsets."""
    uc, us, ue = datagen.make_universe_1m(0)
    names = np.array(datagen._ALL_CONTIGS)
    qc, qs, qe, sizes = [], [], [], []
    total, i = 0, 0
    while total < n_regions:
        c, s, e, _ = datagen.make_query(i, 0, (uc, us, ue))
        c, s, e = c[: n_regions - total], s[: n_regions - total], e[: n_regions - total]
        qc.append(c)
        qs.append(s)
        qe.append(e)
        sizes.append(len(c))
        total += len(c)
        i += 1
    codes = np.concatenate(qc)
    return {
        "u_chroms": names[uc],
        "u_starts": us,
        "u_ends": ue,
        "q_chroms": names[codes],
        "q_starts": np.concatenate(qs),
        "q_ends": np.concatenate(qe),
        "offsets": np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        "names": names,
    }


def _pairs(q: np.ndarray, u: np.ndarray, n_universe: int) -> np.ndarray:
    """(query, universe region) pairs as sorted int64 keys."""
    return np.sort(np.asarray(q, dtype=np.int64) * n_universe + np.asarray(u, dtype=np.int64))


def gtok_pairs(tok: Tokenizer, cols: tuple) -> np.ndarray:
    n = len(cols[0])
    ids, offs = tok.tokenize_many(cols, np.arange(n + 1))
    q = np.repeat(np.arange(n), np.diff(offs))
    hit = ids < tok.universe.n_regions
    return _pairs(q[hit], ids[hit], tok.universe.n_regions)


# ---------------------------------------------------------------------- peers


def peer_ncls(d: dict) -> Callable[[], tuple]:
    ncls = _optional("ncls")
    if ncls is None:
        return None  # type: ignore[return-value]
    pd = _optional("pandas")
    if pd is None:
        return None  # type: ignore[return-value]
    categories = pd.Index(pd.unique(d["u_chroms"]))
    u_codes = categories.get_indexer(d["u_chroms"])
    trees = []
    for k in range(len(categories)):
        rows = np.flatnonzero(u_codes == k)
        trees.append(
            ncls.NCLS(
                d["u_starts"][rows].astype(np.int64), d["u_ends"][rows].astype(np.int64), rows
            )
        )
    chroms, starts, ends = d["q_chroms"], d["q_starts"], d["q_ends"]

    def run() -> tuple:
        # the names mapped by a pandas hash table (faster than np.unique), then grouped
        codes = categories.get_indexer(chroms)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(categories) + 1))
        qs_out, us_out = [], []
        for k, tree in enumerate(trees):
            rows = order[bounds[k] : bounds[k + 1]]
            q, u = tree.all_overlaps_both(
                starts[rows].astype(np.int64), ends[rows].astype(np.int64), rows
            )
            qs_out.append(q)
            us_out.append(u)
        return np.concatenate(qs_out), np.concatenate(us_out)

    return run


def peer_ruranges(d: dict) -> Callable[[], tuple] | None:
    if sys.version_info < (3, 12):
        return None
    rn = _optional("ruranges.numpy")
    pd = _optional("pandas")
    if rn is None or pd is None:
        return None
    import ruranges.numpy as rn

    categories = pd.Index(pd.unique(d["u_chroms"]))
    u_groups = categories.get_indexer(d["u_chroms"]).astype(np.uint32)
    chroms, starts, ends = d["q_chroms"], d["q_starts"], d["q_ends"]
    other = np.uint32(len(categories))  # the chromosomes the universe lacks: one more group
    us, ue = d["u_starts"].astype(np.int64), d["u_ends"].astype(np.int64)

    def run() -> tuple:
        codes = categories.get_indexer(chroms)
        groups = np.where(codes < 0, other, codes).astype(np.uint32)
        return rn.overlaps(
            starts=starts,
            ends=ends,
            starts2=us,
            ends2=ue,
            groups=groups,
            groups2=u_groups,
            sort_output=False,
        )

    return run


def peer_pyranges1(d: dict) -> Callable[[], tuple] | None:
    if sys.version_info < (3, 12):
        return None
    pr = _optional("pyranges1")
    if pr is None:
        return None
    universe = pr.PyRanges(
        {
            "Chromosome": d["u_chroms"],
            "Start": d["u_starts"],
            "End": d["u_ends"],
            "uid": np.arange(len(d["u_starts"])),
        }
    )
    chroms, starts, ends = d["q_chroms"], d["q_starts"], d["q_ends"]

    def run() -> tuple:
        q = pr.PyRanges(
            {"Chromosome": chroms, "Start": starts, "End": ends, "qid": np.arange(len(starts))}
        )
        j = q.join_overlaps(universe)
        return j["qid"].to_numpy(), j["uid"].to_numpy()

    return run


def peer_bioframe(d: dict) -> Callable[[], tuple] | None:
    bf = _optional("bioframe")
    pd = _optional("pandas")
    if bf is None or pd is None:
        return None
    qdf = pd.DataFrame({"chrom": d["q_chroms"], "start": d["q_starts"], "end": d["q_ends"]})
    udf = pd.DataFrame({"chrom": d["u_chroms"], "start": d["u_starts"], "end": d["u_ends"]})

    def run() -> tuple:
        j = bf.overlap(qdf, udf, how="inner", return_index=True)
        return j["index"].to_numpy(), j["index_"].to_numpy()

    return run


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--regions", type=int, default=2_500_000)
    ap.add_argument("--no-peers", action="store_true", help="time gtok alone")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    d = make_data(args.regions)
    n = len(d["q_starts"])
    t = time.perf_counter()
    tok = Tokenizer.from_regions(d["u_chroms"], d["u_starts"], d["u_ends"])
    print(f"universe from columns: {time.perf_counter() - t:.3f} s", flush=True)
    cols = (d["q_chroms"], d["q_starts"], d["q_ends"])
    want = gtok_pairs(tok, cols)
    reference = tok.tokenize(cols).ids

    cases: dict[str, Callable[[], Any]] = {}
    variants: dict[str, Any] = {"NumPy U": d["q_chroms"], "object": d["q_chroms"].astype(object)}
    pd, pa = _optional("pandas"), _optional("pyarrow")
    if pd is not None:
        variants["pandas Categorical"] = pd.Categorical(d["q_chroms"])
    if pa is not None:
        variants["pyarrow dictionary"] = pa.array(d["q_chroms"]).dictionary_encode()
        variants["pyarrow string"] = pa.array(d["q_chroms"])
    for label, chroms in variants.items():
        c = (chroms, d["q_starts"], d["q_ends"])
        assert np.array_equal(tok.tokenize(c).ids, reference), label
        cases[f"gtok, {label}"] = lambda c=c: tok.tokenize(c)
    tests = Path(__file__).resolve().parents[1] / "tests"
    if (tests / "_memory_reference.py").is_file():
        sys.path.insert(0, str(tests))
        from _memory_reference import reference_tokenize

        before, _ = reference_tokenize(tok, *cols)
        assert np.array_equal(before, reference)
        cases["gtok before issue 17 (row order), NumPy U"] = lambda: reference_tokenize(tok, *cols)
    offs = d["offsets"]
    many_ids, many_offs = tok.tokenize_many(cols, offs)
    docs = [(cols[0][a:b], cols[1][a:b], cols[2][a:b]) for a, b in zip(offs[:-1], offs[1:])]
    for k, doc in enumerate(docs):
        assert np.array_equal(tok.tokenize(doc).ids, many_ids[many_offs[k] : many_offs[k + 1]])
    cases[f"gtok, tokenize_many ({len(docs)} sets, one call)"] = lambda: tok.tokenize_many(
        cols, offs
    )
    cases[f"gtok, tokenize in a loop ({len(docs)} sets)"] = lambda: [tok.tokenize(x) for x in docs]
    peers = {}
    if not args.no_peers:
        for name, make in (
            ("ncls", peer_ncls),
            ("ruranges", peer_ruranges),
            ("pyranges1", peer_pyranges1),
            ("bioframe", peer_bioframe),
        ):
            run = make(d)
            if run is None:
                print(f"{name}: not installed (or needs Python >= 3.12), left out", flush=True)
                continue
            q, u = run()
            got = _pairs(q, u, tok.universe.n_regions)
            if not np.array_equal(got, want):
                raise SystemExit(f"{name}: {len(got)} pairs, gtok {len(want)}: not equal")
            print(f"{name}: {len(got):,} pairs, equal to gtok's", flush=True)
            peers[name] = run
            cases[name] = run
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeats):
        for label, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["gtok, NumPy U"]
    load1 = os.getloadavg()
    import numpy

    print()
    print(
        f"{n:,} query regions ({want.shape[0]:,} overlaps) against {tok.universe.n_regions:,};"
        f" median of {args.repeats} interleaved rounds; Python {platform.python_version()},"
        f" NumPy {numpy.__version__}; load average {load0[0]:.2f} at the start,"
        f" {load1[0]:.2f} at the end"
    )
    print()
    print("| case | time | ns / region | peer / gtok (NumPy U) |")
    print("|---|---:|---:|---:|")
    for label, v in med.items():
        ratio = f"{v / base:.2f}x" if label in peers else ""
        print(f"| {label} | {v:.3f} s | {v / n * 1e9:.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
