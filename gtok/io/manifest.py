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

from gtok.errors import FingerprintMismatchError
from gtok.io.atomic import atomic_output

__all__ = [
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


def read_manifests(out_dir: str) -> list[dict]:
    """Every gtok manifest in ``out_dir`` (shards included), parsed; unreadable ones are
    skipped (a resume then redoes their files, which is always safe)."""
    manifests = []
    try:
        names = sorted(os.listdir(out_dir))
    except FileNotFoundError:
        return []
    for name in names:
        if is_manifest_name(name):
            try:
                with open(os.path.join(out_dir, name), encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT:
                data["_path"] = os.path.join(out_dir, name)
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
    with atomic_output(path) as f:
        f.write(text.encode())


_ENTRY_ENCODER = json.JSONEncoder(separators=(", ", ": "))


def entry_output(manifest: dict, entry: dict) -> str:
    """The path of a manifest entry's output (recorded relative to the manifest's folder)."""
    return os.path.join(os.path.dirname(manifest["_path"]), entry["output"])


def load_manifest(path: str) -> dict:
    """The manifest at ``path``; ``ValueError`` naming it when it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as exc:
        raise ValueError(f"{path}: not a gtok manifest (invalid JSON: {exc})") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != MANIFEST_FORMAT
        or not isinstance(data.get("files"), list)
    ):
        raise ValueError(
            f'{path}: not a gtok manifest (no "format": "{MANIFEST_FORMAT}" and "files" list)'
        )
    return data


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
