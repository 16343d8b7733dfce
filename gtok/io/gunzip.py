"""gzip input, one way for every reader: sniffing, whole-buffer and streaming inflate.

Every gzip input gtok reads -- BED universes and queries, barcode lists, fragment files and
the members of BGZF files -- goes through this module, so it is inflated by one library:
ISA-L's (``isal``, a regular dependency of gtok; 2-3x faster than zlib and, like zlib,
inflating without the GIL), or zlib's where no ``isal`` wheel exists for the platform (the
fallback; same results and errors, slower). ``INFLATER`` says which one is in use.

A file is gzip when it starts with gzip's magic bytes (never judged by its name). A stream
may hold several members (``cat a.gz b.gz``, bgzip's blocks) and may end in zero padding;
anything else -- a truncated member, a corrupt one, bytes after the last member -- is a
:class:`~gtok.errors.CorruptGzipError` naming the file.

>>> import gzip
>>> data = gzip.compress(b"chr1\\t10\\t20\\n") + gzip.compress(b"chr2\\t5\\t9\\n")
>>> is_gzip(data), gunzip(data, "two-members.bed.gz")
(True, b'chr1\\t10\\t20\\nchr2\\t5\\t9\\n')
"""

from __future__ import annotations

import zlib
from collections.abc import Generator, Iterable
from typing import Any

from gtok.errors import CorruptGzipError

inflater: Any = zlib  # or isal_zlib (whose stub types isal_zlib.error as an instance)
try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - only where isal has no wheel for the platform
    pass
else:
    inflater = isal_zlib

__all__ = ["GZIP_MAGIC", "INFLATER", "is_gzip", "gunzip", "inflate", "inflate_member"]

GZIP_MAGIC = b"\x1f\x8b"
#: the library that inflates gzip here: ``"isal"`` or ``"zlib"``
INFLATER = "zlib" if inflater is zlib else "isal"
_GZIP_WBITS = 31  # a gzip header and trailer around the deflate data
_FLG_RESERVED = 0xE0  # header flag bits RFC 1952 reserves: set, the member is an error


def _check_header(member: Any, path: str) -> None:
    """Refuse a member whose header sets a reserved flag bit, as zlib does (ISA-L ignores
    them): both inflaters give the same answer. (A member cut after fewer than 4 bytes is
    refused by the inflater anyway.)"""
    if len(member) >= 4 and member[3] & _FLG_RESERVED and bytes(member[:2]) == GZIP_MAGIC:
        raise CorruptGzipError(path, "corrupt gzip data (reserved header flag bits set)")


def is_gzip(head: Any) -> bool:
    """Whether bytes starting with ``head`` are gzip (by gzip's magic bytes)."""
    return bytes(head[:2]) == GZIP_MAGIC


def gunzip(data: Any, path: str) -> bytes:
    """The whole text of the gzip stream ``data`` (every member), read from ``path``."""
    return b"".join(inflate((data,), path))


def inflate_member(member: Any, path: str, max_text: int = 0) -> tuple[bytes, bool]:
    """The text of one gzip member that must fill ``member`` exactly (a BGZF block), and
    whether it did; raises :class:`~gtok.errors.CorruptGzipError` on corrupt data, and
    when the member holds more than ``max_text`` bytes of text (``0``: no limit) -- the
    text is never inflated beyond that."""
    _check_header(member, path)
    d = inflater.decompressobj(_GZIP_WBITS)
    try:
        text = d.decompress(member, max_text + 1 if max_text else 0)
    except inflater.error as exc:
        raise CorruptGzipError(path, f"corrupt gzip data ({exc})") from None
    if max_text and len(text) > max_text:
        raise CorruptGzipError(
            path,
            f"a BGZF block holds more than {max_text} bytes of text, the format's limit "
            "(re-compress the file with bgzip, or with gzip)",
        )
    return text, bool(d.eof and not d.unused_data)


def inflate(chunks: Iterable[Any], path: str, out_size: int = 0) -> Generator[bytes, None, None]:
    """The text of the gzip stream whose compressed bytes come as ``chunks``: every member
    of a multi-member stream, in pieces of at most ``out_size`` bytes (``0``: no limit, one
    piece per member and chunk), so a stream is inflated in bounded memory."""
    d = inflater.decompressobj(_GZIP_WBITS)
    padding = False
    first = True
    for raw in chunks:
        if padding:  # only zeros may follow the zeros after the last member
            if bytes(raw).strip(b"\0"):
                raise CorruptGzipError(
                    path, "corrupt gzip data (data after the zero padding that ends the stream)"
                )
            continue
        data = raw
        if first:
            _check_header(data, path)
            first = False
        while True:
            try:
                out = d.decompress(data, out_size)
            except inflater.error as exc:
                raise CorruptGzipError(path, f"corrupt gzip data ({exc})") from None
            if out:
                yield out
            if d.eof:
                data = d.unused_data
                if not data:
                    break
                if not data.strip(b"\0"):  # zero padding after the last member
                    padding = True
                    break
                _check_header(data, path)
                d = inflater.decompressobj(_GZIP_WBITS)  # the next member
                continue
            data = d.unconsumed_tail
            if not data and (out_size == 0 or len(out) < out_size):
                break
    if not padding and not d.eof:
        raise CorruptGzipError(
            path,
            "truncated gzip data (the stream ends before its end "
            "marker), or bytes after the last gzip member that are "
            "not gzip",
        )
