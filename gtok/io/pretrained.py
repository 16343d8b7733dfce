"""A pretrained tokenizer's files: found in a local folder or a Hugging Face Hub model
repository, and written as a folder.

The layout is gtars': gtars 0.10's ``Tokenizer.from_pretrained`` reads ``universe.bed.gz``
from a folder or from a Hub model repository. gtok also reads a gtars TOML config and
geniml's plain universe; the first of these names that exists is used:

1. ``tokenizer.toml`` -- a gtars tokenizer config (its ``universe`` path relative to it,
   special tokens); it wins because it says more than the BED file does;
2. ``universe.bed.gz`` -- gtars' file;
3. ``universe.bed`` -- how geniml's models on the Hub keep their universe.

A folder is written with ``universe.bed.gz`` (the distinct regions in id order, one
gzip member, reproducible bytes) and ``tokenizer.toml`` naming it and the special tokens,
each file atomically; other files in the folder are left alone.

A Hub repository is read through ``huggingface_hub`` (``pip install "gtok[hub]"``), imported
only then: its cache (``HF_HOME``, ``HF_HUB_CACHE``), offline mode (``HF_HUB_OFFLINE=1``),
token and endpoint settings apply as for any Hugging Face library.

>>> import os, tempfile
>>> import numpy as np
>>> folder = write_pretrained(
...     os.path.join(tempfile.mkdtemp(), "tok"), [b"chr1", b"chr2"],
...     np.array([0, 0, 1]), np.array([100, 300, 0]), np.array([200, 400, 50]),
...     {"unk": "<unk>", "pad": "<pad>"})
>>> sorted(os.listdir(folder))
['tokenizer.toml', 'universe.bed.gz']
>>> locate_pretrained(folder) == os.path.join(folder, "tokenizer.toml")
True
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gtok.errors import ConfigError
from gtok.io.atomic import atomic_output

__all__ = [
    "CONFIG_NAME",
    "UNIVERSE_NAME",
    "LAYOUT",
    "HUB_INSTALL",
    "config_text",
    "is_repo_id",
    "locate_pretrained",
    "write_pretrained",
]

#: the gtars TOML config a folder may hold (and ``write_pretrained`` writes)
CONFIG_NAME = "tokenizer.toml"
#: gtars' universe file (``from_pretrained`` in gtars 0.10 reads only this one)
UNIVERSE_NAME = "universe.bed.gz"
#: the names looked for, first found wins
LAYOUT = (CONFIG_NAME, UNIVERSE_NAME, "universe.bed")
#: how to get the optional Hub support
HUB_INSTALL = 'pip install "gtok[hub]"'

# owner/name as the Hub spells a repository id (letters, digits, "-", "_", "."; each part
# starting with a letter or digit); anything else that is not a local path is refused
# without asking the Hub
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}", re.ASCII)

_LINES_PER_BLOCK = 1 << 16


def is_repo_id(name: str) -> bool:
    """Whether ``name`` has the form of a Hub repository id, ``owner/name``.

    >>> is_repo_id("databio/r2v-encode-hg38"), is_repo_id("./models/tok")
    (True, False)
    >>> is_repo_id("/data/tok"), is_repo_id("a/b/c"), is_repo_id("tok")
    (False, False, False)
    """
    return _REPO_ID.fullmatch(name) is not None and ".." not in name and "--" not in name


# ---------------------------------------------------------------------------- finding


def locate_pretrained(
    folder_or_repo_id: str | os.PathLike | bytes, revision: str | None = None
) -> str:
    """The local path of the file a pretrained tokenizer is read from.

    Parameters
    ----------
    folder_or_repo_id : str or os.PathLike
        An existing local path: a folder is searched for :data:`LAYOUT`'s names, a file is
        itself the answer. Otherwise a ``str`` of the form ``owner/name`` is a Hub model
        repository, whose file of :data:`LAYOUT` is fetched into (or found in) the Hugging
        Face cache; with a ``tokenizer.toml``, the universe file it names is fetched too.
        A path object is always local.
    revision : str, optional
        For a Hub repository: a branch, tag or commit hash (default: the ``main`` branch).

    Raises
    ------
    FileNotFoundError
        No such path and not a repository id; a folder, or a repository (at that revision),
        with none of :data:`LAYOUT`'s names; no such repository or revision; or, offline
        (``HF_HUB_OFFLINE=1``) or without a connection, none of the names in the cache.
        The message says where gtok looked.
    ImportError
        A repository id without ``huggingface_hub`` installed.
    ValueError
        A ``revision`` with a local path.
    gtok.errors.ConfigError
        A Hub repository's ``tokenizer.toml`` that names a universe outside the repository
        or one the repository lacks.
    """
    path = os.fsdecode(folder_or_repo_id)
    if os.path.exists(path):
        if revision is not None:
            raise ValueError(
                f"revision={revision!r} applies to a Hugging Face Hub repository, but "
                f"{path!r} is a local path"
            )
        if not os.path.isdir(path):
            return path
        for name in LAYOUT:
            candidate = os.path.join(path, name)
            if os.path.exists(candidate):
                return candidate
        hint = (
            f"; this local folder is used rather than the Hub repository {path!r}"
            if isinstance(folder_or_repo_id, str) and is_repo_id(path)
            else ""
        )
        raise FileNotFoundError(
            errno.ENOENT, f"a folder without a tokenizer (looked for {_names()}){hint}", path
        )
    if not isinstance(folder_or_repo_id, str) or not is_repo_id(path):
        raise FileNotFoundError(
            errno.ENOENT,
            "no such file or folder (nor a Hugging Face Hub repository id, owner/name)",
            path,
        )
    return _from_hub(path, revision)


def _names() -> str:
    return ", ".join(LAYOUT)


def _from_hub(repo_id: str, revision: str | None) -> str:
    try:
        import huggingface_hub
        from huggingface_hub import constants as hf_constants
        from huggingface_hub.utils import (
            EntryNotFoundError,
            GatedRepoError,
            HFValidationError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as exc:
        raise ImportError(
            f"{repo_id!r} is not a local folder; to read it from the Hugging Face Hub, "
            f"install huggingface_hub: {HUB_INSTALL}",
            name="huggingface_hub",
        ) from exc

    where = f"{repo_id!r}" + (f" at revision {revision!r}" if revision is not None else "")
    not_cached = False
    for name in LAYOUT:
        try:
            found = huggingface_hub.hf_hub_download(repo_id, name, revision=revision)
        except GatedRepoError:
            raise  # its message says how to get access
        except RepositoryNotFoundError as exc:
            raise FileNotFoundError(
                errno.ENOENT,
                "no such local folder, and no such model repository on the Hugging Face Hub "
                "(a private one needs a login: hf auth login)",
                repo_id,
            ) from exc
        except RevisionNotFoundError as exc:
            raise FileNotFoundError(
                errno.ENOENT,
                f"the Hugging Face Hub repository has no revision {revision!r}",
                repo_id,
            ) from exc
        except HFValidationError as exc:
            raise FileNotFoundError(
                errno.ENOENT,
                f"no such local folder, nor a valid Hub repository id ({exc})",
                repo_id,
            ) from exc
        except EntryNotFoundError as exc:  # this name is not there (or not cached): the next
            not_cached = not_cached or isinstance(exc, LocalEntryNotFoundError)
            continue
        if name == CONFIG_NAME:
            _fetch_config_universe(huggingface_hub, repo_id, revision, found, EntryNotFoundError)
        return found
    if not_cached:
        why = (
            "HF_HUB_OFFLINE is set"
            if getattr(hf_constants, "HF_HUB_OFFLINE", False)
            else "the Hub could not be reached"
        )
        problem = (
            f"not a local folder, and the Hugging Face cache ({hf_constants.HF_HUB_CACHE}) "
            f"holds none of {_names()} for the model repository {where} ({why})"
        )
    else:
        problem = f"the Hugging Face Hub model repository {where} has none of {_names()}"
    raise FileNotFoundError(errno.ENOENT, problem, repo_id)


def _fetch_config_universe(
    hub: Any, repo_id: str, revision: str | None, config: str, not_found: type[Exception]
) -> None:
    """Fetch the universe file a Hub repository's ``tokenizer.toml`` names into the same
    snapshot folder, where the config's relative path finds it. A config that cannot be
    read or names no universe is left to the config reader to report."""
    if sys.version_info >= (3, 11):
        import tomllib as toml
    else:  # pragma: no cover - Python 3.10
        import tomli as toml
    try:
        with open(config, "rb") as f:
            universe = toml.loads(f.read().decode("utf-8")).get("universe")
    except (OSError, UnicodeDecodeError, toml.TOMLDecodeError):
        return
    if not isinstance(universe, str) or not universe:
        return
    parts = universe.replace("\\", "/").split("/")
    if universe.startswith("/") or os.path.isabs(universe) or ".." in parts or "" in parts:
        raise ConfigError(
            config,
            f"universe {universe!r} is not a file inside the Hub repository {repo_id!r} "
            '(a relative path such as "universe.bed.gz")',
        )
    try:
        hub.hf_hub_download(repo_id, universe, revision=revision)
    except not_found as exc:
        raise ConfigError(
            config,
            f"universe file {universe!r} not found in the Hub repository {repo_id!r} ({exc})",
        ) from exc


# ---------------------------------------------------------------------------- writing


def write_pretrained(
    folder: str | os.PathLike,
    chrom_names: Sequence[bytes],
    chroms: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    special_tokens: Mapping[str, str],
) -> str:
    """Write a tokenizer folder: ``universe.bed.gz`` and ``tokenizer.toml``.

    Parameters
    ----------
    folder : str or os.PathLike
        Created with its parents if missing. Other files in it are left alone; the two
        files are replaced, each atomically (a temporary file renamed into place).
    chrom_names : sequence of bytes
        Chromosome names, indexed by ``chroms``.
    chroms, starts, ends : numpy.ndarray
        The regions in id order, one BED line each.
    special_tokens : mapping
        Special-token name (``"unk"``...) to its string, in the order to write.

    Returns
    -------
    str
        The folder.
    """
    folder = os.fsdecode(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", folder)
    os.makedirs(folder, exist_ok=True)
    _write_bed_gz(os.path.join(folder, UNIVERSE_NAME), chrom_names, chroms, starts, ends)
    with atomic_output(os.path.join(folder, CONFIG_NAME)) as f:
        f.write(config_text(UNIVERSE_NAME, special_tokens).encode("utf-8"))
    return folder


def _write_bed_gz(
    path: str,
    chrom_names: Sequence[bytes],
    chroms: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> None:
    import gzip  # here: only writing needs it (not every command's start)

    # one gzip member (which every gzip reader takes) without a name or time stamp: the same
    # regions give the same bytes
    prefixes = [name + b"\t" for name in chrom_names]
    with (
        atomic_output(path) as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out,
    ):
        for lo in range(0, int(starts.shape[0]), _LINES_PER_BLOCK):
            hi = lo + _LINES_PER_BLOCK
            out.write(
                b"".join(
                    prefixes[c] + b"%d\t%d\n" % (s, e)
                    for c, s, e in zip(
                        chroms[lo:hi].tolist(), starts[lo:hi].tolist(), ends[lo:hi].tolist()
                    )
                )
            )


def config_text(universe: str, special_tokens: Mapping[str, str]) -> str:
    """A gtars tokenizer config (TOML) naming ``universe`` and the special tokens.

    >>> print(config_text("universe.bed.gz", {"unk": 'a "quoted"\\ttoken'}), end="")
    # gtars tokenizer config, written by gtok's Tokenizer.save_pretrained
    universe = "universe.bed.gz"
    tokenizer_type = "bits"
    special_tokens = [
        { name = "unk", token = "a \\"quoted\\"\\ttoken" },
    ]
    """
    lines = [
        "# gtars tokenizer config, written by gtok's Tokenizer.save_pretrained",
        f"universe = {_toml_string(universe)}",
        'tokenizer_type = "bits"',
        "special_tokens = [",
    ]
    lines += [
        f"    {{ name = {_toml_string(name)}, token = {_toml_string(token)} }},"
        for name, token in special_tokens.items()
    ]
    lines.append("]")
    return "\n".join(lines) + "\n"


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(s: str) -> str:
    """``s`` as a TOML basic string (control characters escaped, the rest as is)."""
    out = []
    for ch in s:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
