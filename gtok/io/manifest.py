"""``gtok-manifest.json``: the record a batch run keeps of what it made.

A manifest sits in the output folder of :func:`gtok.pretokenize` (``gtok-manifest.json``,
or ``gtok-manifest.K-of-N.json`` for shard K of N). It is JSON: ``"format":
"gtok-manifest/1"``, the gtok version, the universe (path, fingerprint, vocabulary size),
the settings, counts, and ``"files"``: one entry per input with its absolute path and size,
its output (relative to the manifest's folder, so the folder can move), the numbers of
regions, tokens and regions on unknown chromosomes, the status (``ok``, ``skipped``,
``error``, ``pending``) and the error. It is always replaced atomically, so it is always
whole.

This module reads, writes and checks manifests; the batch run (:mod:`gtok.batch.run`),
``gtok verify``, datasets (:mod:`gtok.train.dataset`) and the parquet export use it.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = manifest_path(folder, None)
>>> write_manifest(path, {"format": MANIFEST_FORMAT}, [
...     {"input": "/data/a.bed", "output": "a.gtok", "status": "ok"}])
>>> [m["files"][0]["output"] for m in read_manifests(folder)]
['a.gtok']
>>> is_manifest_name("gtok-manifest.json"), is_manifest_name("notes.json")
(True, False)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable

from gtok.errors import FingerprintMismatchError, ManifestFormatError
from gtok.io.atomic import atomic_output
from gtok.io.source import check_input

__all__ = [
    "ENTRY_COUNTS",
    "MANIFEST_NAME",
    "MANIFEST_FORMAT",
    "DONE",
    "is_manifest_name",
    "manifest_path",
    "read_manifests",
    "load_manifest",
    "check_manifests",
    "write_manifest",
    "entry_output",
    "done_outputs",
]

MANIFEST_NAME = "gtok-manifest.json"
MANIFEST_FORMAT = "gtok-manifest/1"
_PREFIX = "gtok-manifest"
#: the statuses of an entry whose output is complete
DONE = ("ok", "skipped")


def is_manifest_name(name: str) -> bool:
    """Whether a file name is a manifest's (``gtok-manifest*.json``)."""
    return name.startswith(_PREFIX) and name.endswith(".json")


def manifest_path(out_dir: str, shard: tuple[int, int] | None) -> str:
    if shard is None or shard[1] == 1:
        return os.path.join(out_dir, MANIFEST_NAME)
    return os.path.join(out_dir, f"gtok-manifest.{shard[0]}-of-{shard[1]}.json")


_STATUSES = ("ok", "skipped", "error", "pending")
#: the counts a manifest entry records for its input and output
ENTRY_COUNTS = (
    "input_size",
    "regions",
    "tokens",
    "unknown_chrom_regions",
    "skipped_lines",
    "output_size",
)


def manifest_problem(data: object) -> str | None:
    """What makes parsed JSON ``data`` unusable as a manifest, or None when it is one: the
    format, and every field gtok reads having the kind it expects."""
    if not isinstance(data, dict):
        return f"JSON {type(data).__name__}, not an object"
    if data.get("format") != MANIFEST_FORMAT:
        return f'no "format": "{MANIFEST_FORMAT}"'
    for key, kind in (("universe", dict), ("settings", dict)):
        if key in data and not isinstance(data[key], kind):
            return f'"{key}" is not an object'
    universe = data.get("universe") or {}
    fingerprint = universe.get("fingerprint")
    if fingerprint is not None and not _is_fingerprint(fingerprint):
        return '"universe"."fingerprint" is not 32 hexadecimal digits'
    shard = data.get("shard")
    if shard is not None and not (
        isinstance(shard, list) and len(shard) == 2 and all(type(v) is int for v in shard)
    ):
        return '"shard" is not null or [K, N]'
    files = data.get("files")
    if not isinstance(files, list):
        return '"files" is not a list'
    for k, entry in enumerate(files):
        problem = _entry_problem(entry)
        if problem is not None:
            return f'"files"[{k}] {problem}'
    return None


def _entry_problem(entry: object) -> str | None:
    if not isinstance(entry, dict):
        return "is not an object"
    for key in ("input", "output"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            return f'has no "{key}" path'
    if entry.get("status") not in _STATUSES:
        return f'has an unknown "status" ({entry.get("status")!r})'
    for key in ENTRY_COUNTS:
        value = entry.get(key, 0)
        if type(value) is not int or value < 0:
            return f'has a "{key}" that is not a count ({value!r})'
    if not isinstance(entry.get("error"), (str, type(None))):
        return 'has an "error" that is not text'
    return None


def _parse(path: str) -> dict:
    """The manifest at ``path``, checked; :class:`~gtok.errors.ManifestFormatError` (or the
    ``OSError`` of reading it) naming it otherwise."""
    check_input(path)  # (a named FIFO is never opened)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (ValueError, RecursionError) as exc:  # (UnicodeDecodeError is a ValueError)
        raise ManifestFormatError(path, f"not a gtok manifest (invalid JSON: {exc})") from None
    problem = manifest_problem(data)
    if problem is None:
        return data
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ManifestFormatError(path, f"not a gtok manifest ({problem})")
    raise ManifestFormatError(path, f"not a usable gtok manifest: {problem}")


def _is_fingerprint(value: object) -> bool:
    """A universe fingerprint as gtok writes it: 32 lowercase hexadecimal digits."""
    return (
        isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    )


def read_manifests(out_dir: str, unusable: list[str] | None = None) -> list[dict]:
    """Every gtok manifest in ``out_dir`` (shards included), parsed and checked. One that
    cannot be read or is not a usable manifest is left out (a resume then redoes its files,
    which is always safe); with ``unusable``, a line naming it and why is appended there."""
    manifests = []
    try:
        names = sorted(os.listdir(out_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for name in names:
        if is_manifest_name(name):
            path = os.path.join(out_dir, name)
            try:
                data = _parse(path)
            except (OSError, ManifestFormatError) as exc:
                if unusable is not None:
                    unusable.append(str(exc) if path in str(exc) else f"{path}: {exc}")
                continue
            data["_path"] = path
            manifests.append(data)
    return manifests


def check_manifests(folders: Iterable[str], fingerprint: str) -> None:
    """Raise :class:`~gtok.errors.FingerprintMismatchError` when a manifest in one of
    ``folders`` records another universe than ``fingerprint``."""
    for folder in sorted(set(folders)):
        for m in read_manifests(folder):
            fp = m.get("universe", {}).get("fingerprint")
            if fp and fp != fingerprint:
                raise FingerprintMismatchError(m["_path"], fingerprint, fp)


def write_manifest(path: str, header: dict, entries: Iterable[dict]) -> None:
    """Write a manifest atomically: ``header``'s fields, ``updated``, the ``counts`` of
    each status, and ``files``, one entry per line (with 10^5 inputs this takes a fraction
    of a second).
    """
    doc = dict(header)
    doc["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    counts = dict.fromkeys(("ok", "skipped", "error", "pending"), 0)
    encode = _ENTRY_ENCODER.encode
    lines = []
    for entry in entries:
        status = entry.get("status")
        if status in counts:
            counts[status] += 1
        lines.append(encode(entry))
    doc["counts"] = counts
    head = json.dumps(doc, indent=1)
    files = ("[\n  " + ",\n  ".join(lines) + "\n ]") if lines else "[]"
    text = head[:-2] + ',\n "files": ' + files + "\n}\n"
    with atomic_output(path) as f:  # (an error names the manifest: see gtok.io.atomic)
        f.write(text.encode())


_ENTRY_ENCODER = json.JSONEncoder(separators=(", ", ": "))


def entry_output(manifest: dict, entry: dict) -> str:
    """The path of a manifest entry's output (recorded relative to the manifest's folder)."""
    return os.path.join(os.path.dirname(manifest["_path"]), entry["output"])


def load_manifest(path: str) -> dict:
    """The manifest at ``path``; :class:`~gtok.errors.ManifestFormatError` (a ``ValueError``)
    naming it when it is not a usable one."""
    return _parse(path)


def done_outputs(path: str, data: dict, *, strict: bool = True) -> list[str]:
    """Absolute paths of the manifest's done (``ok``/``skipped``) outputs, in its order.

    The batch command records each output as ``os.path.join(out_dir, name)``, with
    ``out_dir`` as it was given (relative to that run's working folder, or absolute), and
    the manifest sits in ``out_dir``. Outputs are therefore resolved inside the manifest's
    folder: the leading components that spelled ``out_dir`` are dropped, their number
    found once, from the first output that exists. So a manifest works from any working
    folder, and after its folder was moved or copied. If no output exists, ``strict``
    raises ``FileNotFoundError``; otherwise the manifest covers nothing (``[]``).
    """
    mdir = os.path.dirname(os.path.abspath(path))
    outputs = [
        e["output"]
        for e in data["files"]
        if isinstance(e, dict)
        and e.get("status") in DONE
        and isinstance(e.get("output"), str)
        and e["output"]
    ]
    drop = None
    for out in outputs:
        drop = _leading_parts_to_drop(out, mdir)
        if drop is not None:
            break
    if drop is None:
        if outputs and strict:
            raise FileNotFoundError(
                f"{path}: none of its outputs (e.g. {outputs[0]!r}) is "
                f"in {mdir}, the manifest's folder"
            )
        return []
    return [os.path.join(mdir, *_parts(out)[drop:]) for out in outputs]


def _parts(out: str) -> list[str]:
    """The components of a path, without the root (``/a/b`` -> ``["a", "b"]``)."""
    return [p for p in os.path.normpath(out).split(os.sep) if p]


def _leading_parts_to_drop(out: str, mdir: str) -> int | None:
    """How many leading components of ``out`` spell the manifest's folder, or None when
    ``out`` is not found under ``mdir``."""
    parts = _parts(out)
    here = os.path.abspath(out)  # as recorded: absolute, or relative to the working folder
    if here.startswith(mdir + os.sep) and os.path.isfile(here):
        return len(parts) - len(os.path.relpath(here, mdir).split(os.sep))
    for k in [*range(1, len(parts)), 0]:
        if os.path.isfile(os.path.join(mdir, *parts[k:])):
            return k
    return None
