# SPDX-License-Identifier: GPL-2.0
"""Measurements taken on the board during a run, for the report.

    python3 -m analysis.board copybw OUT.json [--mib 64] [--repeat 7]

``copybw`` measures the memory-copy bandwidth (numpy copies of a buffer, best
of several: the memcpy floor an allocation that migrates N bytes cannot
beat). The area map is cmabench's own (areamap.json, docs/results.md).
"""

import sys
import time

import numpy as np

from .errors import module_parser
from .jsonio import write_json


def copy_bandwidth(mib=64, repeat=7):
    src = np.ones(mib << 20, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)          # fault both buffers in first
    best = None
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        np.copyto(dst, src)
        dt = time.perf_counter_ns() - t0
        samples.append(dt)
        best = dt if best is None else min(best, dt)
    return {"schema": "cmakit.copybw/1.0", "bytes_per_s": src.nbytes / (best / 1e9),
            "method": "numpy.copyto", "buffer_bytes": int(src.nbytes), "samples_ns": samples}


def main(argv=None):
    p, sub = module_parser("board", __doc__)
    c = sub.add_parser("copybw", help="memory-copy bandwidth")
    c.add_argument("out", help="the cmakit.copybw JSON document to write")
    c.add_argument("--mib", type=int, default=64, help="size of the buffer copied, MiB (default 64)")
    c.add_argument("--repeat", type=int, default=7, help="copies timed; the best counts (default 7)")
    args = p.parse_args(argv)
    try:
        write_json(args.out, copy_bandwidth(args.mib, args.repeat), indent=None)
    except OSError as e:
        print(f"analysis.board: {args.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
