# SPDX-License-Identifier: GPL-2.0
"""Measurements taken on the board during a run, for the report.

    python3 -m analysis.board copybw OUT.json [--mib 64] [--repeat 7]
    python3 -m analysis.board areamap OUT.json --area NAME [--key before|after]

``copybw`` measures the memory-copy bandwidth (numpy copies of a buffer, best
of several: the memcpy floor an allocation that migrates N bytes cannot
beat). ``areamap`` records the kind of every page of a CMA area from
/proc/kpageflags, /proc/kpagecount and the area's debugfs bitmap, run-length
encoded, under KEY (run it before and after the benchmark; the second call
adds to the same file). Both need root on the board.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from .errors import InputError

DEBUGFS = "/sys/kernel/debug/cma"
KINDS = ("free", "cma", "anon", "shmem", "file", "other")
# include/uapi/linux/kernel-page-flags.h
KPF_LRU, KPF_BUDDY, KPF_ANON, KPF_SWAPBACKED = 5, 10, 12, 14


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


def _read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip(), 0)
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    except ValueError:
        raise InputError(path, "not a number") from None


def _kpage(path, pfn, count):
    try:
        with open(path, "rb") as f:
            f.seek(pfn * 8)
            data = f.read(count * 8)
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    if len(data) != count * 8:
        raise InputError(path, f"short read at pfn {pfn}")
    return np.frombuffer(data, dtype=np.uint64)


def area_kinds(area):
    d = os.path.join(DEBUGFS, area)
    if not os.path.isdir(d):
        raise InputError(d, "no such CMA area (is debugfs mounted?)")
    base = _read_int(os.path.join(d, "base_pfn"))
    count = _read_int(os.path.join(d, "count"))
    order = _read_int(os.path.join(d, "order_per_bit"))
    flags = _kpage("/proc/kpageflags", base, count)
    refs = _kpage("/proc/kpagecount", base, count)
    try:
        with open(os.path.join(d, "bitmap")) as f:
            words = np.array(f.read().split(), dtype=np.uint64).astype(np.uint32)
    except OSError as e:
        raise InputError(os.path.join(d, "bitmap"), e.strerror or str(e)) from None
    bits = np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool)
    cma = np.repeat(bits, 1 << order)[:count]
    if len(cma) < count:
        cma = np.concatenate([cma, np.zeros(count - len(cma), dtype=bool)])

    def flag(bit):
        return ((flags >> np.uint64(bit)) & np.uint64(1)).astype(bool)

    anon, swapb, lru = flag(KPF_ANON), flag(KPF_SWAPBACKED), flag(KPF_LRU)
    kind = np.full(count, KINDS.index("other"), dtype=np.uint8)
    kind[(refs == 0) | flag(KPF_BUDDY)] = KINDS.index("free")
    kind[lru & ~anon & ~swapb] = KINDS.index("file")
    kind[swapb & ~anon] = KINDS.index("shmem")
    kind[anon] = KINDS.index("anon")
    kind[cma] = KINDS.index("cma")
    return base, kind


def rle(kind):
    if not len(kind):
        return []
    edges = np.flatnonzero(np.diff(kind)) + 1
    starts = np.concatenate(([0], edges))
    lens = np.diff(np.concatenate((starts, [len(kind)])))
    return [[int(kind[s]), int(n)] for s, n in zip(starts, lens)]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m analysis.board", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("copybw", help="memory-copy bandwidth")
    c.add_argument("out")
    c.add_argument("--mib", type=int, default=64)
    c.add_argument("--repeat", type=int, default=7)
    a = sub.add_parser("areamap", help="page kind of every pfn of a CMA area")
    a.add_argument("out")
    a.add_argument("--area", required=True)
    a.add_argument("--key", choices=("before", "after"), default="before")
    args = p.parse_args(argv)
    try:
        if args.cmd == "copybw":
            doc = copy_bandwidth(args.mib, args.repeat)
        else:
            base, kind = area_kinds(args.area)
            doc = {}
            if os.path.exists(args.out):
                with open(args.out) as f:
                    doc = json.load(f)
            doc.update(schema="cmakit.areamap/1.0", area=args.area)
            doc[args.key] = {"base_pfn": base, "kinds": list(KINDS), "runs": rle(kind)}
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
            f.write("\n")
        os.replace(tmp, args.out)
    except InputError as e:
        print(f"analysis.board: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
