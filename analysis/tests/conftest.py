# SPDX-License-Identifier: GPL-2.0
"""Shared test helpers: the fixture paths and a way to run the command line."""

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "fixtures")
sys.path.insert(0, ROOT)


def cli(*args, timeout=300):
    """Run `python3 -m analysis ARGS` as a user would; returns CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def small_run(tmp_path):
    """A writable copy of the committed run-small fixture."""
    dst = tmp_path / "run-small"
    shutil.copytree(os.path.join(FIXTURES, "run-small"), dst)
    return dst


@pytest.fixture
def gcma_run(tmp_path):
    dst = tmp_path / "run-gcma"
    shutil.copytree(os.path.join(FIXTURES, "run-gcma"), dst)
    return dst
