"""File formats: what gtok reads and writes, and nothing about tokenizing.

- :mod:`gtok.io.source` -- which paths may be read (never a named FIFO) and text in blocks;
- :mod:`gtok.io.bedtext` -- BED files (plain, gzip, pipes) parsed into region columns;
- :mod:`gtok.io.gunzip` -- gzip input for every reader (ISA-L's inflate, zlib's fallback);
- :mod:`gtok.io.bgzf` -- BGZF (bgzip, Cell Ranger): members inflated on threads, in order;
- :mod:`gtok.io.container` -- what ``.gtok`` files and packs share: magic, flags, sniffing,
  id encoding, zero-copy views of a mapping;
- :mod:`gtok.io.gtokfile` -- ``.gtok`` version 1 (gtars' format): ``write_gtok``,
  ``read_gtok``, ``open_gtok``;
- :mod:`gtok.io.pack` -- packs: many documents in one mapped file;
- :mod:`gtok.io.manifest` -- ``gtok-manifest.json``: what a batch run made;
- :mod:`gtok.io.inputs` -- a batch job's inputs (files, folders, globs, lists) and outputs;
- :mod:`gtok.io.parquet` -- parquet export and import (needs pyarrow);
- :mod:`gtok.io.pretrained` -- a pretrained tokenizer's files: a folder or a Hugging Face Hub
  repository (``huggingface_hub``, imported only then) found, a folder written;
- :mod:`gtok.io.atomic` -- atomic writes (temporary file, then rename).

The byte layouts are in ``docs/format.md``; the rules in ``docs/semantics.md``.
"""
