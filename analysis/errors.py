# SPDX-License-Identifier: GPL-2.0
"""The one error type of the analysis: a file (or directory) and its problem.

The command line prints it as one line, ``analysis: FILE: PROBLEM``, and exits
with status 2, so a bad input never ends in a traceback.
"""


class InputError(Exception):
    """Bad input: ``path`` names the file or directory, ``problem`` says what is wrong."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
