# The C types of gtok's core data, named once for every kernel.

from libc.stdint cimport int32_t, int64_t, uint32_t

# a token id: a universe region's id, or a special token's (gtars' ids are u32)
ctypedef uint32_t token_id_t
# a region coordinate (BED start/end: 0..2**32-1)
ctypedef uint32_t coord_t
# a chromosome's index in a ChromTable (-1: a name the table lacks)
ctypedef int32_t chrom_index_t
# an offset or count in arrays of any size
ctypedef int64_t offset_t
