"""Training-side loading: documents from a pack versus a folder of v1 ``.gtok`` files.

Builds (once, fixed seed) 100,000 documents of ~1,000 ids (uniform 800-1,200 ids drawn from a
1,000,007-token vocabulary, so uint32), stored both as one pack and as a folder of v1 files.
Then, in one process run, times:

- sequential and random access (documents per second): ``GtokPack.doc(i)`` from the pack;
  ``gtok.read_gtok``, ``np.fromfile(offset=5)`` and gtars' ``read_tokens_from_gtok`` from the
  folder;
- a padded-batch epoch (tokens per second): every document once in a random order, batches of
  64 padded into an int64 (B, L) array with ``gtok.pad_batch``; for gtars, its reader's lists
  padded the usual Python way (``np.full`` + row assignment).

- against the layouts trainers use instead (``loaders.py``; when ``datasets`` and ``torch``
  are installed, ``--no-trainers`` skips them): the same documents as a Hugging Face
  ``datasets`` Arrow memory map (of the parquet export) and a Megatron-style ``np.memmap`` of
  concatenated ids + offsets: random document access, and a shuffled padded epoch through a
  torch DataLoader with 2 workers (the same sampler and ``PadCollator`` for all three).

Run ``python benchmarks/bench_load.py [--docs N] [--repeats R] [--data DIR]``; prints a
markdown table with medians and ratios. Targets (issue 5): random access from a pack >= 1 M
documents/s; a padded epoch from a pack >= 20x faster than through gtars' reader. Issue 17:
packs >= 2x ``datasets`` and on par with or ahead of the Megatron layout.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import gtok

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loaders  # noqa: E402  (this folder's helper module)

try:
    from gtars.utils import read_tokens_from_gtok
except ImportError:  # pragma: no cover - the comparison is skipped
    read_tokens_from_gtok = None

VOCAB = 1_000_007
BATCH = 64
PAD = VOCAB - 6  # a pad id in the special-token range


def build(data: str, n_docs: int, seed: int = 0) -> tuple[str, list[str]]:
    """Write the pack and the folder of v1 files (skipped when already complete)."""
    pack = os.path.join(data, f"docs_{n_docs}.gtok")
    folder = os.path.join(data, f"docs_{n_docs}")
    marker = os.path.join(folder, ".complete")
    files = [os.path.join(folder, f"{i // 1000:03d}", f"doc_{i:06d}.gtok") for i in range(n_docs)]
    if os.path.exists(pack) and os.path.exists(marker):
        return pack, files
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with gtok.PackWriter(pack, dtype="uint32") as w:
        for i in range(n_docs):
            doc = rng.integers(0, VOCAB - 7, size=int(rng.integers(800, 1201)), dtype=np.uint32)
            doc[0] = 70_000  # every file above 65535: uint32 in both formats
            w.add(doc, name=f"doc_{i:06d}")
            gtok.write_gtok(files[i], doc)
    open(marker, "w").close()
    print(f"built {n_docs} documents in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return pack, files


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "data"))
    ap.add_argument(
        "--gtars-docs",
        type=int,
        default=20_000,
        help="documents read through gtars (it is slow; rates are per document)",
    )
    ap.add_argument("--no-trainers", action="store_true", help="skip datasets / Megatron")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers (trainers)")
    args = ap.parse_args()
    pack_path, files = build(args.data, args.docs)
    n = args.docs
    rng = np.random.default_rng(1)
    order = rng.permutation(n).tolist()
    seq = list(range(n))
    pack = gtok.open_gtok(pack_path)
    total_tokens = pack.n_tokens
    rows = []

    def rate(label: str, count: int, seconds: float, unit: str = "docs/s") -> float:
        r = count / seconds
        rows.append(
            (
                label,
                f"{r / 1e6:.3f} M {unit}" if r >= 1e5 else f"{r:,.0f} {unit}",
                f"{seconds:.3f} s",
            )
        )
        return r

    doc = pack.doc
    rate("pack, sequential `doc(i)`", n, timed(lambda: [doc(i) for i in seq], args.repeats))
    pack_rand = rate(
        "pack, random `doc(i)`", n, timed(lambda: [doc(i) for i in order], args.repeats)
    )
    sub = order[: min(n, 20_000)]
    gtok_rand = rate(
        "folder, random `read_gtok`",
        len(sub),
        timed(lambda: [gtok.read_gtok(files[i]) for i in sub], args.repeats),
    )
    fromfile_rand = rate(
        "folder, random `np.fromfile`",
        len(sub),
        timed(lambda: [np.fromfile(files[i], dtype="<u4", offset=5) for i in sub], args.repeats),
    )
    gsub = order[: min(n, args.gtars_docs)]
    gtars_rand = None
    if read_tokens_from_gtok is not None:
        gtars_rand = rate(
            "folder, random gtars `read_tokens_from_gtok`",
            len(gsub),
            timed(lambda: [read_tokens_from_gtok(files[i]) for i in gsub], 1),
        )

    def epoch_pack() -> None:
        for b in range(0, n, BATCH):
            gtok.pad_batch([doc(i) for i in order[b : b + BATCH]], PAD)

    def epoch_fromfile(idx) -> None:
        for b in range(0, len(idx), BATCH):
            gtok.pad_batch(
                [np.fromfile(files[i], dtype="<u4", offset=5) for i in idx[b : b + BATCH]], PAD
            )

    def epoch_gtars(idx) -> None:
        for b in range(0, len(idx), BATCH):
            lists = [read_tokens_from_gtok(files[i]) for i in idx[b : b + BATCH]]
            width = max(len(x) for x in lists)
            out = np.full((len(lists), width), PAD, dtype=np.int64)
            for r, x in enumerate(lists):
                out[r, : len(x)] = x

    t_pack = timed(epoch_pack, args.repeats)
    epoch_rate_pack = rate(
        "padded epoch from the pack (`pad_batch`)", total_tokens, t_pack, "tokens/s"
    )
    tok_sub = int(pack.lengths()[sub].sum())
    rate(
        "padded epoch, folder via `np.fromfile` + `pad_batch`",
        tok_sub,
        timed(lambda: epoch_fromfile(sub), args.repeats),
        "tokens/s",
    )
    epoch_rate_gtars = None
    if read_tokens_from_gtok is not None:
        tok_g = int(pack.lengths()[gsub].sum())
        epoch_rate_gtars = rate(
            "padded epoch, folder via gtars' reader",
            tok_g,
            timed(lambda: epoch_gtars(gsub), 1),
            "tokens/s",
        )

    trainers = None
    if not args.no_trainers:
        trainers = compare_trainer_layouts(args, pack_path, order, sub, total_tokens, rate)

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"## Loading ({n:,} documents, {total_tokens:,} ids, uint32)\n")
    print(
        f"- Machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, gtok {gtok.__version__}; load average "
        f"{os.getloadavg()[0]:.2f} at the end"
    )
    print(
        f"- Median of {args.repeats} runs (gtars: 1 run over {len(gsub):,} documents); folder "
        f"reads over {len(sub):,} random documents\n"
    )
    print("| workload | rate | time |\n|---|---:|---:|")
    for label, r, t in rows:
        print(f"| {label} | {r} | {t} |")
    print()
    print(
        f"- random access from the pack: {pack_rand / 1e6:.2f} M documents/s "
        f"(target >= 1 M): {'met' if pack_rand >= 1e6 else 'NOT met'}"
    )
    print(
        f"- pack vs folder random access: {pack_rand / gtok_rand:.0f}x `read_gtok`, "
        f"{pack_rand / fromfile_rand:.0f}x `np.fromfile`"
        + (f", {pack_rand / gtars_rand:.0f}x gtars" if gtars_rand else "")
    )
    if epoch_rate_gtars:
        ratio = epoch_rate_pack / epoch_rate_gtars
        print(
            f"- padded epoch, pack vs gtars' reader: {ratio:.0f}x (target >= 20x): "
            f"{'met' if ratio >= 20 else 'NOT met'}"
        )
    if trainers:
        for line in trainers:
            print(line)
    return 0


def compare_trainer_layouts(args, pack_path, order, sub, total_tokens, rate) -> list[str]:
    """Rows for the pack against ``datasets`` and the Megatron layout; summary lines."""
    try:
        import datasets  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        return [f"- trainer layouts skipped: {e}"]
    mega = loaders.MegatronDocs(*loaders.build_megatron(args.data, pack_path))
    hf = loaders.HFDocs(
        loaders.build_parquet(args.data, pack_path), os.path.join(args.data, "hf-cache")
    )
    pack = loaders.PackDocs(pack_path)
    for name, docs in (("pack", pack), ("Megatron", mega), ("datasets", hf)):
        assert all(np.array_equal(docs[i], pack[i]) for i in sub[:1000]), name
    rand = {}
    for name, label, docs, idx in (
        ("pack", "pack, random `doc(i)` (again)", pack, order),
        ("Megatron", "Megatron memmap, random slice", mega, order),
        ("datasets", "HF `datasets`, random `ds[i]`", hf, sub),
    ):
        rand[name] = rate(
            label, len(idx), timed(lambda d=docs, x=idx: [d[i] for i in x], args.repeats)
        )
    epoch = {}
    for name, docs in (("pack", gtok.GtokDataset(pack_path)), ("Megatron", mega), ("datasets", hf)):
        got = []

        def run(docs=docs, got=got) -> None:
            got.append(loaders.padded_epoch(docs, PAD, BATCH, args.workers, seed=len(got)))

        t = timed(run, args.repeats)
        assert set(got) == {total_tokens}, (name, got)
        epoch[name] = rate(
            f"DataLoader epoch ({args.workers} workers, shuffled, padded): {name}",
            total_tokens, t, "tokens/s",
        )  # fmt: skip
    return [
        f"- random access, pack vs `datasets`: {rand['pack'] / rand['datasets']:.0f}x; "
        f"vs Megatron memmap: {rand['pack'] / rand['Megatron']:.2f}x",
        f"- DataLoader epoch, pack vs `datasets`: {epoch['pack'] / epoch['datasets']:.2f}x "
        f"(target >= 2x: {'met' if epoch['pack'] >= 2 * epoch['datasets'] else 'NOT met'}); "
        f"vs Megatron: {epoch['pack'] / epoch['Megatron']:.2f}x (target >= ~1x)",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
