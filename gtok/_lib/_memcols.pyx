"""Region columns held in memory: chromosome names to table indices, coordinates checked.

The policy (which inputs are accepted, the error messages) is in :mod:`gtok.columns`; these
are its loops. Chromosome names are looked up in a :class:`ChromTable` as the bytes they
stand for, one pass over the column, no Python object made per region:

- ``codes_from_fixed``: a NumPy ``S`` or ``U`` array (fixed width; trailing NULs are not
  part of a name, as NumPy has it). ``U`` names are encoded to UTF-8 on the fly (ASCII
  copied), lone surrogates U+DC80..U+DCFF standing for the bytes 0x80..0xFF as
  ``os.fsencode`` has them; a name with another lone surrogate stands for no bytes.
- ``codes_from_offsets``: Arrow's string / binary layout (data bytes, offsets, validity).
- ``codes_from_objects``: Python objects (``str``, ``bytes``, ``None``, NaN, anything else
  looked up as ``str(x)``).

Each gives ``int32`` codes: the name's index, ``NOT_FOUND`` (-1) for a name the table lacks
(or one that stands for no bytes, which cannot be in it), ``MISSING`` (-2) for no name
(empty, ``None``, NaN, null). With ``add`` a name the table lacks is added (a universe being
built); a name that stands for no bytes is then ``NOT_FOUND``, an error for the caller.

``check_coords`` converts start / end columns of any integer type to ``uint32`` in one pass,
giving each row a status (``Problem``, in the order they are reported when a row has
several).
"""

import numpy as np

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_Check, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_Check
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp

from gtok._lib._chromtable cimport ChromTable

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL

cpdef enum Code:
    NOT_FOUND = -1          # a name the table lacks, or one that stands for no bytes
    MISSING = -2            # no name: empty, None, NaN, null
    OUT_OF_MEMORY = -3      # (internal: never in the codes returned)

cpdef enum Problem:
    OK = 0
    MALFORMED = 1           # not (chrom, start, end) (set by the caller)
    CHROM_MISSING = 2
    START_NOT_INT = 3       # (set by the caller)
    END_NOT_INT = 4         # (set by the caller)
    START_NEGATIVE = 5
    END_NEGATIVE = 6
    START_TOO_BIG = 7
    END_TOO_BIG = 8
    START_AFTER_END = 9


cdef inline int32_t _find(ChromTable table, const char* name, Py_ssize_t n,
                          bint add) noexcept nogil:
    cdef int32_t k
    if n == 0:
        return MISSING
    if add:
        k = table.lookup_or_add(name, n)
        return OUT_OF_MEMORY if k < 0 else k
    return table.lookup(name, n)


cdef inline Py_ssize_t _utf8(const uint32_t* cps, Py_ssize_t n, char* out) noexcept nogil:
    """UTF-8 of ``n`` code points into ``out`` (room for 4 n bytes); its length, or -1 for
    a name that stands for no bytes (a lone surrogate outside U+DC80..U+DCFF, or a value
    beyond U+10FFFF)."""
    cdef Py_ssize_t i, k = 0
    cdef uint32_t c
    for i in range(n):
        c = cps[i]
        if c < 0x80:
            out[k] = <char>c
            k += 1
        elif c < 0x800:
            out[k] = <char>(0xC0 | (c >> 6))
            out[k + 1] = <char>(0x80 | (c & 0x3F))
            k += 2
        elif 0xD800 <= c <= 0xDFFF:
            if c < 0xDC80:
                return -1
            out[k] = <char>(c - 0xDC00)    # surrogateescape: a byte that is not UTF-8
            k += 1
        elif c < 0x10000:
            out[k] = <char>(0xE0 | (c >> 12))
            out[k + 1] = <char>(0x80 | ((c >> 6) & 0x3F))
            out[k + 2] = <char>(0x80 | (c & 0x3F))
            k += 3
        elif c <= 0x10FFFF:
            out[k] = <char>(0xF0 | (c >> 18))
            out[k + 1] = <char>(0x80 | ((c >> 12) & 0x3F))
            out[k + 2] = <char>(0x80 | ((c >> 6) & 0x3F))
            out[k + 3] = <char>(0x80 | (c & 0x3F))
            k += 4
        else:
            return -1
    return k


def codes_from_fixed(const uint8_t[::1] raw, Py_ssize_t itemsize, bint ucs4,
                     ChromTable table, bint add=False):
    """Codes of the names in a contiguous NumPy ``S`` (``ucs4`` False) or native-order
    ``U`` array (``ucs4`` True), given as its bytes (``raw``, ``itemsize`` bytes each)."""
    if itemsize <= 0 or raw.shape[0] % itemsize:
        raise ValueError("raw holds no whole number of items")
    if ucs4 and itemsize % 4:
        raise ValueError("a UCS4 item is a multiple of 4 bytes")
    cdef Py_ssize_t n = raw.shape[0] // itemsize, i, length, k
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] codes = out
    cdef int32_t code = MISSING
    cdef const uint8_t* item
    cdef const uint8_t* prev = NULL
    cdef const uint32_t* cps
    cdef char* buf = NULL
    cdef bint oom = False
    if n == 0:
        return out
    if ucs4:
        buf = <char*>malloc(itemsize + 1)   # 4 bytes a code point at most
        if buf == NULL:
            raise MemoryError()
    with nogil:
        for i in range(n):
            item = &raw[i * itemsize]
            # the same name as the row before (sorted or grouped columns): no lookup
            if prev != NULL and memcmp(item, prev, itemsize) == 0:
                codes[i] = code
                continue
            prev = item
            if ucs4:
                cps = <const uint32_t*>item
                length = itemsize // 4
                while length > 0 and cps[length - 1] == 0:
                    length -= 1
                k = _utf8(cps, length, buf)
                code = NOT_FOUND if k < 0 else _find(table, buf, k, add)
            else:
                length = itemsize
                while length > 0 and item[length - 1] == 0:
                    length -= 1
                code = _find(table, <const char*>item, length, add)
            if code == OUT_OF_MEMORY:
                oom = True
                break
            codes[i] = code
    free(buf)
    if oom:
        raise MemoryError()
    return out


ctypedef fused offset_int:
    int32_t
    int64_t


def codes_from_offsets(const uint8_t[::1] data, const offset_int[::1] offsets,
                       Py_ssize_t first, Py_ssize_t n, valid, ChromTable table,
                       bint add=False):
    """Codes of an Arrow string / binary array's ``n`` items from item ``first`` on: item
    ``i`` is ``data[offsets[i]:offsets[i + 1]]``; ``valid`` is the validity bitmap (bytes,
    bit ``i`` of the array) or None when every item is valid."""
    cdef const uint8_t[::1] bits
    cdef const uint8_t* bits_ptr = NULL
    cdef Py_ssize_t i, j, a, b, n_data = data.shape[0]
    cdef int32_t code = 0
    cdef bint oom = False, bad = False
    if first < 0 or n < 0 or offsets.shape[0] < first + n + 1:
        raise ValueError("offsets too short")
    if valid is not None:
        bits = valid
        if bits.shape[0] * 8 < first + n:
            raise ValueError("validity bitmap too short")
        if bits.shape[0]:
            bits_ptr = &bits[0]
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] codes = out
    cdef const char* base = <const char*>&data[0] if n_data else <const char*>NULL
    with nogil:
        for i in range(n):
            j = first + i
            if bits_ptr != NULL and not (bits_ptr[j >> 3] >> (j & 7)) & 1:
                codes[i] = MISSING
                continue
            a = offsets[j]
            b = offsets[j + 1]
            if a < 0 or b < a or b > n_data:
                bad = True
                break
            code = _find(table, base + a, b - a, add)
            if code == OUT_OF_MEMORY:
                oom = True
                break
            codes[i] = code
    if bad:
        raise ValueError("offsets outside the data")
    if oom:
        raise MemoryError()
    return out


def codes_from_objects(list items, ChromTable table, bint add=False):
    """Codes of Python objects: ``str`` (as ``os.fsencode`` would have it) and ``bytes``
    looked up as they are, ``None``, NaN and empty names ``MISSING``, anything else as
    ``str(x)``."""
    cdef Py_ssize_t n = len(items), i, length
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] codes = out
    cdef int32_t code = MISSING
    cdef const char* s
    cdef object prev = None
    cdef bytes b
    cdef bint have_prev = False
    for i in range(n):
        x = items[i]
        if have_prev and x is prev:
            codes[i] = code
            continue
        if x is None or (isinstance(x, float) and x != x):
            code = MISSING
        else:
            if not (PyUnicode_Check(x) or PyBytes_Check(x)):
                x = str(x)
            if PyBytes_Check(x):
                code = _find(table, PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x), add)
            else:
                try:
                    s = PyUnicode_AsUTF8AndSize(x, &length)
                    code = _find(table, s, length, add)
                except UnicodeEncodeError:
                    # lone surrogates: the bytes os.fsdecode made them from, if any
                    try:
                        b = x.encode("utf-8", "surrogateescape")
                    except UnicodeEncodeError:
                        code = NOT_FOUND
                    else:
                        code = _find(table, PyBytes_AS_STRING(b), len(b), add)
            if code == OUT_OF_MEMORY:
                raise MemoryError()
        codes[i] = code
        prev = items[i]
        have_prev = True
    return out


ctypedef fused coord_int:
    int32_t
    int64_t
    uint32_t
    uint64_t


def check_coords(const int32_t[::1] codes, const coord_int[::1] starts,
                 const coord_int[::1] ends, const uint8_t[::1] flags,
                 uint32_t[::1] out_starts, uint32_t[::1] out_ends, uint8_t[::1] status):
    """Check and convert rows to ``uint32`` coordinates in one pass.

    A row's problem is the first that applies, in ``Problem``'s order: ``flags[i]``
    (problems found before, or 0; ``flags`` may be empty) if ``MALFORMED``, a ``MISSING``
    chromosome code, ``flags[i]`` otherwise, then the coordinate rules. ``status`` empty:
    stop at the first bad row; else every row's status is written there.

    Returns ``(n_bad, first_bad, first_problem, n_known)``: bad rows (1 when it stopped),
    the first bad row (-1) and its problem, and how many good rows have a chromosome code
    of 0 or more.
    """
    cdef Py_ssize_t n = codes.shape[0], i, n_bad = 0, first = -1, known = 0
    cdef int first_problem = 0
    cdef uint8_t st
    cdef bint has_flags = flags.shape[0] != 0, all_rows = status.shape[0] != 0
    cdef int64_t s, e
    cdef int64_t top = 0xFFFFFFFF          # 2**32 - 1, the largest coordinate
    cdef uint64_t utop = 0xFFFFFFFF
    cdef const uint8_t* fl = NULL
    if (starts.shape[0] != n or ends.shape[0] != n or out_starts.shape[0] != n
            or out_ends.shape[0] != n or (has_flags and flags.shape[0] != n)
            or (all_rows and status.shape[0] != n)):
        raise ValueError("columns differ in length")
    if has_flags:
        fl = &flags[0]
    with nogil:
        for i in range(n):
            # an unsigned 64-bit value beyond 2**32 - 1 is too big (kept positive)
            if coord_int is uint64_t:
                s = <int64_t>starts[i] if starts[i] <= utop else top + 1
                e = <int64_t>ends[i] if ends[i] <= utop else top + 1
            else:
                s = <int64_t>starts[i]
                e = <int64_t>ends[i]
            st = OK
            if fl != NULL and fl[i] == MALFORMED:
                st = MALFORMED
            elif codes[i] == MISSING:
                st = CHROM_MISSING
            elif fl != NULL and fl[i] != OK:
                st = fl[i]
            elif s < 0:
                st = START_NEGATIVE
            elif e < 0:
                st = END_NEGATIVE
            elif s > top:
                st = START_TOO_BIG
            elif e > top:
                st = END_TOO_BIG
            elif s > e:
                st = START_AFTER_END
            out_starts[i] = <uint32_t>s
            out_ends[i] = <uint32_t>e
            if st == OK:
                if codes[i] >= 0:
                    known += 1
            else:
                if first < 0:
                    first = i
                    first_problem = st
                n_bad += 1
                if not all_rows:
                    break
            if all_rows:
                status[i] = st
    return n_bad, first, first_problem, known
