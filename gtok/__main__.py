"""``python -m gtok`` runs the ``gtok`` command line."""

from gtok.cli import run

run()
