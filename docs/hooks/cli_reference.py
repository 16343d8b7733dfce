"""MkDocs hook: the command line reference (docs/cli.md) is gtok's own ``--help`` output.

``{{ gtok_cli_reference }}`` in a page becomes one section per command with the text
``gtok COMMAND --help`` prints (at 88 columns), so the reference cannot drift from the
program. The installed gtok is run (``python -m gtok``), as a user would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

MARKER = "{{ gtok_cli_reference }}"


def _help(*args: str) -> str:
    env = dict(os.environ, COLUMNS="88")
    done = subprocess.run(
        [sys.executable, "-m", "gtok", *args, "--help"],
        capture_output=True, text=True, env=env, check=True,
        cwd=tempfile.gettempdir(),  # not the source folder, whose modules are not compiled
    )  # fmt: skip
    return done.stdout.rstrip()


def _commands(top: str) -> list[str]:
    """The commands ``gtok --help`` lists (indented four spaces under ``COMMAND``)."""
    listing = top.split("COMMAND\n", 2)[-1].split("\noptions:")[0]
    found = re.findall(r"^ {4}([a-z][a-z-]*)(?=\s|$)", listing, flags=re.MULTILINE)
    if not found:
        raise RuntimeError("gtok --help lists no commands")
    return found


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001
    if MARKER not in markdown:
        return markdown
    top = _help()
    parts = ["```text", f"$ gtok --help\n{top}", "```"]
    for command in _commands(top):
        parts += [f"\n### gtok {command}\n", "```text", _help(command), "```"]
    return markdown.replace(MARKER, "\n".join(parts))
