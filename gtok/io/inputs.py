"""Inputs of a batch job: files, folders, glob patterns and lists of paths expanded into
input files, and the output each one gets.

Folders are searched recursively for region files (``.bed``, ``.narrowPeak``, ... and their
``.gz``; hidden entries skipped); the inputs are sorted by path. Each output mirrors its
input's path relative to its *input root* (the folder given, the non-glob head of a
pattern, or the file's own folder), with the extension replaced by ``.gtok``; two inputs
that would write the same output are an error before any work starts.

>>> output_name("/data/peaks/liver/s1.narrowPeak.gz", "/data/peaks")
'liver/s1.gtok'
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from collections.abc import Iterable, Sequence

__all__ = ["REGION_FILE_SUFFIXES", "find_inputs", "output_name", "plan_outputs"]

REGION_FILE_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak", ".gappedpeak", ".bedgraph")


def _is_region_file(name: str, patterns: Sequence[str] | None) -> bool:
    if patterns:
        return any(fnmatch.fnmatch(name, p) for p in patterns)
    low = name.lower()
    if low.endswith(".gz"):
        low = low[:-3]
    return low.endswith(REGION_FILE_SUFFIXES)


def _has_magic(s: str) -> bool:
    return glob.has_magic(s)


def _glob_root(pattern: str) -> str:
    """The folder part of a pattern before its first wildcard."""
    parts = pattern.split(os.sep)
    head = []
    for part in parts:
        if _has_magic(part):
            break
        head.append(part)
    root = os.sep.join(head) if head else "."
    return root or os.sep


def find_inputs(
    inputs: Iterable[str],
    *,
    patterns: Sequence[str] | None = None,
    from_file: str | None = None,
    skipped: list[str] | None = None,
) -> list[tuple[str, str]]:
    """Expand files, folders, globs and a list file into ``(input_path, root)`` pairs.

    Raises ``FileNotFoundError`` for an input that names nothing (a missing file, or a
    pattern or folder that matches no region file), so typos surface before any work. A
    missing file *listed in* ``from_file`` is kept instead: such lists are made by other
    programs, often for thousands of files, and the file fails on its own (it is reported
    in the manifest) without stopping the rest.

    A folder search visits each real folder and file once: links are followed, but a link
    back to a folder already searched (a loop) or to a file already found is not, and
    region-named entries that are not regular files (a FIFO, a socket, a device) are left
    out, since reading them could block. What was left out, and why, is appended to
    ``skipped`` (one line each) when it is given.
    """
    found: list[tuple[str, str]] = []
    items = [(item, False) for item in inputs]
    if from_file is not None:
        with open(from_file, encoding="utf-8") as f:
            items += [
                (line.strip(), True) for line in f if line.strip() and not line.startswith("#")
            ]
    for item, listed in items:
        if os.path.isdir(item):
            matches = _search_folder(item, patterns, skipped if skipped is not None else [])
            if not matches:
                what = (
                    "no region files (.bed, .narrowPeak, ...; use --glob for others)"
                    if not patterns
                    else f"no files matching {', '.join(patterns)}"
                )
                raise FileNotFoundError(f"{item}: folder holds {what}")
            found += [(m, item) for m in matches]
        elif _has_magic(item):
            matches = [m for m in glob.glob(item, recursive=True) if os.path.isfile(m)]
            if not matches:
                raise FileNotFoundError(f"{item}: pattern matches no file")
            root = _glob_root(item)
            found += [(m, root) for m in matches]
        else:
            # a named file is taken whatever its name; a missing one fails here
            if not listed and not os.path.exists(item):
                raise FileNotFoundError(f"{item}: no such file or folder")
            found.append((item, os.path.dirname(item) or "."))
    found.sort(key=lambda pair: pair[0])
    return found


def _search_folder(root: str, patterns: Sequence[str] | None, skipped: list[str]) -> list[str]:
    """The region files under ``root``, each real folder and file visited once."""
    folders_seen: set[tuple[int, int]] = set()
    files_seen: set[tuple[int, int]] = set()
    matches: list[str] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in folders_seen:
                skipped.append(f"{folder}: a link to a folder already searched (a loop?)")
                continue
            folders_seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(f"{folder}: cannot be searched ({exc.strerror})")
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                st = entry.stat()  # (follows links)
            except OSError as exc:
                skipped.append(f"{entry.path}: {exc.strerror} (a broken link?)")
                continue
            if stat.S_ISDIR(st.st_mode):
                subfolders.append(entry.path)
            elif _is_region_file(entry.name, patterns):
                if not stat.S_ISREG(st.st_mode):
                    skipped.append(f"{entry.path}: not a regular file (a FIFO, socket or device)")
                elif (st.st_dev, st.st_ino) in files_seen:
                    skipped.append(f"{entry.path}: the same file as another input (a link)")
                else:
                    files_seen.add((st.st_dev, st.st_ino))
                    matches.append(entry.path)
        stack.extend(reversed(subfolders))
    return matches


def output_name(input_path: str, root: str) -> str:
    """The input's path relative to its root, with the region-file extension (and any
    ``.gz``) replaced by ``.gtok``."""
    rel = os.path.relpath(input_path, root)
    if rel.startswith(os.pardir):
        rel = os.path.basename(input_path)
    base = rel
    if base.lower().endswith(".gz"):
        base = base[:-3]
    stem, ext = os.path.splitext(base)
    if ext and os.sep not in ext:
        base = stem
    return base + ".gtok"


def plan_outputs(found: Sequence[tuple[str, str]], out_dir: str) -> list[tuple[str, str]]:
    """``(input, output)`` pairs; raise ``ValueError`` listing inputs that share an output."""
    plan: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for path, root in found:
        out = os.path.join(out_dir, output_name(path, root))
        key = os.path.normcase(os.path.abspath(out))
        if key in seen:
            if os.path.abspath(seen[key]) == os.path.abspath(path):
                continue  # the same file named twice
            clashes.append(f"{seen[key]} and {path} -> {out}")
        else:
            seen[key] = path
            plan.append((path, out))
    if clashes:
        raise ValueError(
            "inputs would write the same output:\n  "
            + "\n  ".join(clashes[:20])
            + (f"\n  ... and {len(clashes) - 20} more" if len(clashes) > 20 else "")
        )
    return plan
