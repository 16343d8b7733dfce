"""The ``gtok`` command line: ``tokenize``, ``pack``, ``info``, ``decode``, ``verify``,
``fragments``, ``anndata`` and ``parquet``.

Each subcommand is a thin layer over the Python API; ``gtok SUBCOMMAND --help`` documents
it. Exit codes (:mod:`gtok.cli.status`): 0 success, 1 some input failed or a check found
a problem, 2 bad usage (an option or a file named on the command line that is wrong or
not there), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM, handled as Ctrl-C is).

The modules:

- :mod:`gtok.cli.program` -- :func:`main`, :func:`run` (the program) and the parser;
- :mod:`gtok.cli.tokenize` -- ``gtok tokenize`` (a ``.gtok`` file per input, or one pack),
  with :mod:`gtok.cli.hints`, the warnings its summary adds;
- :mod:`gtok.cli.pack` -- ``gtok pack``;
- :mod:`gtok.cli.info`, :mod:`gtok.cli.decode`, :mod:`gtok.cli.verify` -- the commands
  that read ``.gtok`` files, with :mod:`gtok.cli.recorded` (the universe outputs record);
- :mod:`gtok.cli.singlecell` -- ``gtok fragments`` and ``gtok anndata``;
- :mod:`gtok.cli.parquet` -- ``gtok parquet export|import``;
- :mod:`gtok.cli.progress` -- the one progress display (a tqdm bar, :mod:`gtok.cli.bar`)
  and the lines printed above it;
- :mod:`gtok.cli.parsing` -- help texts wrapped to the terminal, argument types;
- :mod:`gtok.cli.status` -- the exit codes and which one an error gives.
"""

import os
import sys

# The command does no linear algebra: one OpenBLAS thread (unless the user says otherwise)
# saves ~60 ms of start-up and keeps a spare core free for the work. It must be set before
# NumPy loads, so only a fresh ``gtok`` process (not a program importing this package) sets
# it; every module of the package is imported after this line.
if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from gtok.cli.program import build_parser, main, run  # noqa: E402

__all__ = ["main", "run", "build_parser"]
