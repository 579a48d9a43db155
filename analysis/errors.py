# SPDX-License-Identifier: GPL-2.0
"""The one error type of the analysis: a file (or directory) and its problem.

The command line prints it as one line, ``analysis: FILE: PROBLEM``, and exits
with status 2, so a bad input never ends in a traceback.
"""

import argparse


class InputError(Exception):
    """Bad input: ``path`` names the file or directory, ``problem`` says what is wrong."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def module_parser(module, doc):
    """The parser of a ``python3 -m analysis.MODULE COMMAND`` entry point, and
    its subcommands: described by the first paragraph of the module's DOC."""
    p = argparse.ArgumentParser(prog=f"python3 -m analysis.{module}", description=doc.split("\n\n")[0])
    return p, p.add_subparsers(dest="cmd", required=True)
