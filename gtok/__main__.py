"""``python -m gtok`` runs the ``gtok`` command line."""

import sys

from gtok.cli import main

sys.exit(main())
