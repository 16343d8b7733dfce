"""BGZF (blocked gzip): inflate a stream's members on several threads, in order.

BGZF is the gzip flavour of ``bgzip``, htslib and 10x Genomics' Cell Ranger (their
``fragments.tsv.gz``): a series of gzip members of at most 64 KiB each, compressed and
inflated, every member's header carrying its own compressed size (the ``BC`` extra
subfield). So the compressed stream can be cut into members without inflating it, and the
members inflated in parallel: inflating is what bounds a fragment file's tokenization (the
parser is faster than one inflating thread).

A member that inflates to more than 64 KiB is refused, as htslib refuses it (a
:class:`~gtok.errors.CorruptGzipError`): memory would otherwise grow with the compression
ratio (a 64 KiB member can hold 64 MiB of text). A task inflates at most
:data:`BATCH_MEMBERS` members, so the text in flight stays a few MiB.

:func:`inflate_members` does that for a stream of compressed blocks, yielding the text in
file order; a member without the ``BC`` subfield (plain multi-member gzip, or a file that
switches format) hands the rest of the stream to an ordinary sequential inflater.
:func:`compress` writes BGZF (for tests, benchmarks and users who want the format).

>>> import gzip
>>> data = compress(b"chr1\\t10\\t20\\tAAAC-1\\n" * 10_000)
>>> is_bgzf(data), gzip.decompress(data) == b"chr1\\t10\\t20\\tAAAC-1\\n" * 10_000
(True, True)
>>> b"".join(inflate_members(iter([data[:1000], data[1000:]]), "x.gz", threads=2)) \\
...     == gzip.decompress(data)
True
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gtok.errors import CorruptGzipError
from gtok.io.gunzip import inflate_member

__all__ = ["is_bgzf", "inflate_members", "compress", "BLOCK_TEXT"]

_FIXED = struct.Struct("<4sIBBH")  # magic+CM+FLG, MTIME, XFL, OS, XLEN
_FEXTRA = 0x04
#: text bytes per member written by :func:`compress` (bgzip's choice)
BLOCK_TEXT = 0xFF00
#: compressed bytes inflated by one task (tens of members: the per-task cost stays small)
BATCH_BYTES = 1 << 20
#: members inflated by one task at most (each holds <= 64 KiB of text, so a task's text
#: stays <= 4 MiB however well the members compress)
BATCH_MEMBERS = 64
_MEMBER_MAX = 1 << 16  # a BGZF member's size is at most this (its BC field is 16 bits)
TEXT_MAX = 1 << 16  # ... and so is its text (SAM spec 4.1; htslib refuses more)
# an empty member: bgzip's end-of-file marker
_EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _member_size(buf: Any, pos: int, end: int) -> int:
    """Size of the member starting at ``buf[pos]``: > 0 from its ``BC`` subfield; 0 when
    more bytes are needed to tell; -1 when it is not a BGZF member."""
    if end - pos < 12:
        return 0
    magic, _, _, _, xlen = _FIXED.unpack_from(buf, pos)
    if magic[:3] != b"\x1f\x8b\x08" or not magic[3] & _FEXTRA:
        return -1
    if end - pos < 12 + xlen:
        return 0
    i, stop = pos + 12, pos + 12 + xlen
    while i + 4 <= stop:
        si1, si2, slen = buf[i], buf[i + 1], buf[i + 2] | (buf[i + 3] << 8)
        if si1 == 66 and si2 == 67 and slen == 2 and i + 6 <= stop:
            size = (buf[i + 4] | (buf[i + 5] << 8)) + 1
            # a member holds at least its header and its 8-byte trailer
            return size if size >= 12 + xlen + 8 else -1
        i += 4 + slen
    return -1


def is_bgzf(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file, 18 or more) starts a BGZF member."""
    return _member_size(head, 0, len(head)) > 0


def _inflate_batch(members: list[Any], path: str) -> tuple[bytes, bool]:
    """The text of a batch of members, and whether its last member is empty (bgzip's
    end-of-file marker)."""
    out = []
    for member in members:
        text, whole = inflate_member(member, path, TEXT_MAX)
        out.append(text)
        if not whole:  # the member's size and its deflate data disagree
            raise CorruptGzipError(
                path, "corrupt BGZF block (its recorded size does not match its compressed data)"
            )
    return b"".join(out), not out[-1]


def _batches(blocks: Iterator[Any], rest: list) -> Iterator[list[Any]]:
    """Cut the compressed stream into batches of whole members (lists of buffers, about
    ``BATCH_BYTES`` each, at most ``BATCH_MEMBERS`` members). A member lying in one block
    is a view of it (no copy); only the member cut by the end of a block is copied, joined
    with the next block's head. At a member that is not BGZF, or at the end, what is left
    over goes to ``rest`` (as bytes) and it stops."""
    carry = b""  # less than one member: the one cut by the end of the last block
    batch: list = []
    batch_bytes = 0
    for block in blocks:
        buf = memoryview(block).cast("B")
        n = len(buf)
        pos = 0
        if carry:
            head = carry + bytes(buf[:_MEMBER_MAX])  # the member cut by the seam ends here
            size = _member_size(head, 0, len(head))
            if size < 0:
                if batch:
                    yield batch
                rest.append(carry + bytes(buf))
                rest.append(blocks)
                return
            if size == 0 or size > len(head):  # (a short block: the member goes on)
                carry += bytes(buf)
                continue
            batch.append(head[:size])
            batch_bytes += size
            if len(batch) >= BATCH_MEMBERS:
                yield batch
                batch, batch_bytes = [], 0
            pos = size - len(carry)
            carry = b""
        while True:
            size = _member_size(buf, pos, n)
            if size < 0:
                if batch:
                    yield batch
                rest.append(bytes(buf[pos:]))
                rest.append(blocks)
                return
            if size == 0 or pos + size > n:
                break
            batch.append(buf[pos : pos + size])
            batch_bytes += size
            pos += size
            if batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_MEMBERS:
                yield batch
                batch, batch_bytes = [], 0
        carry = bytes(buf[pos:])
    if batch:
        yield batch
    rest.append(carry)


def inflate_members(
    blocks: Iterator[bytes],
    path: str,
    *,
    threads: int = 2,
    depth: int = 4,
    sequential: Callable[[Iterator[bytes]], Iterator[bytes]] | None = None,
) -> Generator[bytes, None, None]:
    """The text of a BGZF stream given as compressed ``blocks``, in order, inflated by
    ``threads`` threads (``depth`` batches of ~1 MiB compressed in flight).

    Where the stream stops being BGZF, the remaining bytes go to ``sequential`` (an
    inflater of a plain gzip stream); without one, they must be zero padding. A stream
    that stays BGZF to its end must end with bgzip's empty end-of-file block: without it,
    a file cut at a block boundary would pass for complete.
    Raises :class:`~gtok.errors.CorruptGzipError` for a truncated or corrupt stream.
    """
    rest: list = []
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="gtok-inflate") as pool:
        pending: deque = deque()
        ended = False  # the last member so far was empty: bgzip's end-of-file marker
        try:
            for batch in _batches(blocks, rest):
                pending.append(pool.submit(_inflate_batch, batch, path))
                if len(pending) >= depth:
                    text, ended = pending.popleft().result()
                    yield text
            while pending:
                text, ended = pending.popleft().result()
                yield text
        finally:
            for fut in pending:
                fut.cancel()
    left = rest[0] if rest else b""
    if len(rest) < 2:  # the end of the stream: only zero padding may be left
        if left.strip(b"\0"):
            raise CorruptGzipError(
                path, "truncated gzip data (the stream ends inside a BGZF block)"
            )
        if not ended:
            raise CorruptGzipError(
                path,
                "truncated BGZF data (the stream ends without "
                "the empty end-of-file block bgzip writes)",
            )
        return
    more = rest[1]
    if not left.strip(b"\0"):  # zero padding after the last member: nothing may follow
        for block in more:
            if bytes(block).strip(b"\0"):
                raise CorruptGzipError(
                    path, "corrupt gzip data (data after the zero padding that ends the stream)"
                )
        return
    if sequential is None:
        raise CorruptGzipError(path, "corrupt BGZF data (a block without its size)")
    yield from sequential(_chain(left, more))


def _chain(first: bytes, more: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from more


def compress(data: bytes, level: int = 6, *, eof: bool = True) -> bytes:
    """``data`` as BGZF: members of :data:`BLOCK_TEXT` bytes of text, each with its size in
    the ``BC`` subfield (what ``bgzip`` writes), and bgzip's empty end-of-file member."""
    out = []
    for a in range(0, len(data), BLOCK_TEXT):
        chunk = data[a : a + BLOCK_TEXT]
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        deflated = c.compress(chunk) + c.flush()
        size = 18 + len(deflated) + 8
        if size > 0x10000:  # pragma: no cover - incompressible 64 KiB
            raise ValueError("a BGZF block would exceed 64 KiB")
        out.append(
            b"\x1f\x8b\x08\x04"
            + struct.pack("<IBBH", 0, 0, 0xFF, 6)
            + b"BC"
            + struct.pack("<HH", 2, size - 1)
            + deflated
            + struct.pack("<II", zlib.crc32(chunk), len(chunk))
        )
    if eof:
        out.append(_EOF_BLOCK)
    return b"".join(out)
