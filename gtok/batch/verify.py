"""``gtok verify``: are the outputs of batch runs complete, and made with this universe?

For a folder: its manifests (a folder without one cannot say which universe made its
files), every shard of a sharded run present, each manifest's universe fingerprint equal
to the tokenizer's, every entry done and its output present with the size recorded, and no
``.gtok`` file that no manifest lists. For every file (in folders, or named): it opens as a
``.gtok`` file or pack, and its ids are inside the vocabulary.

>>> import os, tempfile
>>> from gtok import Tokenizer, pretokenize
>>> from gtok.example import example_path
>>> out = tempfile.mkdtemp()
>>> tok = Tokenizer(example_path("universe.bed"))
>>> pretokenize(tok, [example_path("sample1.bed")], out, jobs=1).ok
True
>>> report = verify([out], tok)
>>> report.ok, report.files_checked
(True, 1)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from gtok.io.gtokfile import open_gtok
from gtok.io.manifest import DONE, entry_output, manifest_path, read_manifests
from gtok.io.pack import GtokPack
from gtok.tokenizer import Tokenizer

__all__ = ["VerifyReport", "verify"]


@dataclass
class VerifyReport:
    """What :func:`verify` found: the files it opened and each problem, in words."""

    files_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(targets: Iterable[str], tokenizer: Tokenizer) -> VerifyReport:
    """Check batch outputs (folders with manifests, or ``.gtok`` files and packs) against
    ``tokenizer``; see the module docstring for what is checked."""
    report = VerifyReport()
    files: list[str] = []
    sizes: dict[str, int] = {}  # output -> the size its manifest recorded
    for target in targets:
        if os.path.isdir(target):
            files += _check_folder(target, tokenizer, sizes, report.problems)
        else:
            files.append(target)
    for path in files:
        report.problems += _check_file(path, tokenizer, sizes.get(os.path.abspath(path)))
    report.files_checked = len(files)
    return report


def _check_folder(
    target: str, tok: Tokenizer, sizes: dict[str, int], problems: list[str]
) -> list[str]:
    """The folder's manifests checked (problems appended); its ``.gtok`` files returned."""
    unusable: list[str] = []
    manifests = read_manifests(target, unusable)
    problems += unusable
    if not manifests and not unusable:
        problems.append(
            f"{target}: no gtok manifest (cannot check which universe made these files)"
        )
    problems += _missing_shards(target, manifests)
    listed: set[str] = set()
    for m in manifests:
        fp = m.get("universe", {}).get("fingerprint")
        if fp != tok.fingerprint:
            problems.append(
                f"{m['_path']}: made with universe fingerprint {fp}, but the "
                f"universe given ({tok.universe.source}) has {tok.fingerprint}"
            )
        for entry in m.get("files", []):
            out = entry_output(m, entry)
            listed.add(os.path.abspath(out))
            if entry.get("status") not in DONE:
                problems.append(
                    f"{entry.get('input')}: not done ({entry.get('status')}"
                    f"{': ' + entry['error'] if entry.get('error') else ''})"
                )
            elif not os.path.exists(out):
                problems.append(f"{out}: listed in the manifest but missing")
            elif entry.get("output_size"):
                sizes[os.path.abspath(out)] = int(entry["output_size"])
    files = _gtok_files(target)
    if manifests:
        problems += [
            f"{f}: not in any manifest of {target} (which universe made it is unknown)"
            for f in files
            if os.path.abspath(f) not in listed
        ]
    return files


def _missing_shards(target: str, manifests: list[dict]) -> list[str]:
    shards: dict[int, set[int]] = {}
    for m in manifests:
        if isinstance(m.get("shard"), list) and len(m["shard"]) == 2:
            shards.setdefault(int(m["shard"][1]), set()).add(int(m["shard"][0]))
    return [
        f"{target}: shard {k}/{n} has not run (no "
        f"{os.path.basename(manifest_path(target, (k, n)))})"
        for n, ks in sorted(shards.items())
        for k in sorted(set(range(1, n + 1)) - ks)
    ]


def _gtok_files(target: str) -> list[str]:
    found = []
    for folder, dirs, names in os.walk(target):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            os.path.join(folder, n)
            for n in sorted(names)
            if n.endswith(".gtok") and not n.startswith(".")
        ]
    return found


def _check_file(path: str, tok: Tokenizer, recorded_size: int | None) -> list[str]:
    try:
        with open_gtok(path) as f:
            if isinstance(f, GtokPack):
                f.check_fingerprint(tok)  # (a pack records its universe)
            ids = f.tokens
            if len(ids) and int(ids.max()) >= tok.vocab_size:
                bad = int(np.flatnonzero(ids >= tok.vocab_size)[0])
                return [
                    f"{path}: id {int(ids[bad])} at position {bad} is outside the "
                    f"vocabulary (vocab_size {tok.vocab_size})"
                ]
            del ids
        size = os.path.getsize(path)
        if recorded_size is not None and recorded_size != size:
            return [
                f"{path}: {size} bytes, but the manifest recorded {recorded_size} "
                "(changed since written)"
            ]
    except (OSError, ValueError) as exc:
        return [str(exc)]
    return []
