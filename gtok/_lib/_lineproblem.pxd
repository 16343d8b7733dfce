# What is wrong with a line of text, as the parsers (_bedparse, _fragline/_fragments) report
# it: one enum, shared by both parsers and by the Python modules that put the codes in words
# (gtok.io.bedtext.BAD_LINE_REASONS, gtok.singlecell.fragments.BAD_LINE_REASONS), which
# import it as the IntEnum gtok._lib._lineproblem.LineProblem.

cpdef enum LineProblem:
    OK = 0
    TOO_FEW_FIELDS = 1
    START_NOT_INTEGER = 2
    END_NOT_INTEGER = 3
    START_NEGATIVE = 4
    END_NEGATIVE = 5
    START_TOO_LARGE = 6
    END_TOO_LARGE = 7
    START_AFTER_END = 8
    EMPTY_CHROM = 9
    OUT_OF_MEMORY = 10
    # fragment files only
    EMPTY_BARCODE = 11
    BARCODE_NOT_UTF8 = 12
