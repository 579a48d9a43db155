# SPDX-License-Identifier: GPL-2.0
"""cmakit analysis: reports, baseline-vs-candidate verdicts and trend dashboards
over the results the cmakit tools write (cmabench, cmatrace, the BPF collectors).

Run it as ``/usr/bin/python3 -m analysis COMMAND ...`` from the project root, or
through the ``analysis/cmakit-analysis`` script from anywhere.
"""

__version__ = "1.0"
