"""The line problem codes of the text parsers, as the Python enum ``LineProblem`` (declared
once, in ``_lineproblem.pxd``, which the parsers cimport).

>>> from gtok._lib._lineproblem import LineProblem
>>> LineProblem.START_AFTER_END == 8, LineProblem(12).name
(True, 'BARCODE_NOT_UTF8')
"""
