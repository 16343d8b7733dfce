"""``python -m gtok`` runs the ``gtok`` command line."""

from gtok.cli import run

if __name__ == "__main__":  # (not in a spawned worker, which imports this as __mp_main__)
    run()
