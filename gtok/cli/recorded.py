"""The universe a ``.gtok`` file, pack or output folder records, for ``gtok decode`` and
``gtok verify`` run without ``-u``.

A pack records it in its metadata; a batch run's outputs, in the manifest of their folder
(a file: the manifest that lists it as an output, in its folder or one of the ten above;
a folder: its own manifest). The universe is used only when its fingerprint is still the
recorded one.
"""

from __future__ import annotations

import os
from typing import Any

from gtok.io.gtokfile import open_gtok

__all__ = ["recorded_universe", "universe_for"]


def recorded_universe(target: str) -> tuple[str, str] | None:
    """The universe (path, fingerprint) ``target`` records, or None."""
    from gtok.io.manifest import load_manifest
    from gtok.io.pack import GtokPack

    if os.path.isfile(target):
        with open_gtok(target) as f:
            if isinstance(f, GtokPack):
                recorded = (f.metadata.get("tokenizer") or {}).get("universe")
                return (recorded, f.fingerprint) if recorded and f.fingerprint else None
    is_folder = os.path.isdir(target)
    folder = os.path.abspath(target if is_folder else os.path.dirname(target))
    for _ in range(1 if is_folder else 10):
        names = sorted(n for n in os.listdir(folder) if n.startswith("gtok-manifest"))
        for name in names:
            m = load_manifest(os.path.join(folder, name))
            universe = m.get("universe") or {}
            mine = os.path.relpath(os.path.abspath(target), folder)
            listed = is_folder or any(e.get("output") == mine for e in m.get("files", []))
            if listed and universe.get("path") and universe.get("fingerprint"):
                return universe["path"], universe["fingerprint"]
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None


def universe_for(universe: str | None, target: str) -> Any:
    """The tokenizer of ``universe`` (``-u``), or else of the one ``target`` records,
    checked by its fingerprint; ``ValueError`` saying why there is none
    (``FileNotFoundError`` when it must look at ``target``, which is not there)."""
    from gtok.tokenizer import Tokenizer

    if universe:
        return Tokenizer(universe)
    if not os.path.exists(target):
        raise FileNotFoundError(f"{target}: no such file or folder")
    recorded = recorded_universe(target)
    if recorded is None:
        raise ValueError(f"{target}: no universe recorded with it; name one with -u UNIVERSE")
    path, fingerprint = recorded
    if not os.path.exists(path):
        raise ValueError(
            f"{target} was made with the universe {path}, which is not there any more; "
            "name it with -u UNIVERSE"
        )
    tok = Tokenizer(path)
    if tok.fingerprint != fingerprint:
        raise ValueError(
            f"{target} was made with the universe {path}, which has changed since "
            f"(fingerprint {tok.fingerprint[:12]}..., recorded {fingerprint[:12]}...); "
            "name the one it was made with with -u UNIVERSE"
        )
    return tok
