# SPDX-License-Identifier: GPL-2.0
"""``python3 -m analysis``: the command line (see analysis/cli.py)."""

import sys

from .cli import main

sys.exit(main())
