# SPDX-License-Identifier: GPL-2.0
"""Seeded synthetic runs in the documented formats, for tests and benchmarks.

``python3 -m analysis synth OUT_DIR --seed 1 --allocations 500`` writes one run
directory that looks like what the board writes: cmabench's result with its
allocation records, cmatrace's JSONL and summary, a BPF latency histogram.
The same seed always gives the same bytes. The model is simple but has the
shapes a report must show: latency grows with the size requested and with how
much of the range is occupied (pages to migrate), failures grow with occupancy
and pinned pages, the migrate phase dominates.
"""

import json
import os

import numpy as np

from .table import PAGE_SIZE

SIZES = np.array([256, 1024, 4096, 16384])         # pages: 1, 4, 16, 64 MiB
MIX_KINDS = ("anon", "file", "shmem", "pinned", "kernel")
MAP_KINDS = ("free", "cma", "anon", "file", "shmem", "pinned", "kernel")
REASON_POOL = ("pinned", "pinned", "pinned", "writeback", "dirty", "locked", "unmovable")
AREA_PAGES = 65536
BASE_PFN = 0x40000


def generate(seed=1, n=500, latency_scale=1.0, fail_scale=1.0, scenario="default",
             kernel_hash="0123abcd", started=1_700_000_000.0, copy_bytes_per_s=590e6):
    """Columns of one synthetic run (plain numpy arrays), seeded."""
    rng = np.random.default_rng(seed)
    size = rng.choice(SIZES, n, p=[0.4, 0.3, 0.2, 0.1])
    occupancy = rng.uniform(0.0, 0.9, n)
    raw = rng.dirichlet([4.0, 3.0, 1.0, 0.3, 0.2], n)
    mix = raw * occupancy[:, None]
    migrated = np.floor(size * occupancy * rng.uniform(0.85, 1.0, n))
    # latency: a fixed cost, then copying at ~0.5x memcpy speed, lognormal noise
    per_page = PAGE_SIZE / (copy_bytes_per_s * 0.5) * 1e9
    lat = (50_000 + 20.0 * size + migrated * per_page) * rng.lognormal(0.0, 0.25, n)
    lat = lat * latency_scale
    p_fail = np.clip((0.01 + 0.5 * mix[:, 3] + 0.05 * occupancy ** 4) * fail_scale, 0, 1)
    failed = rng.uniform(size=n) < p_fail
    enomem = failed & (rng.uniform(size=n) < 0.2)
    err = np.where(failed, np.where(enomem, -12, -16), 0)
    reason = np.where(failed & ~enomem, rng.choice(len(REASON_POOL), n), -1)
    retries = np.where(failed & ~enomem, rng.integers(1, 6, n), rng.poisson(0.2, n))
    frac = rng.dirichlet([1.0, 0.5, 12.0, 0.5], n)   # isolate, drain, migrate, test
    phases = frac * (lat * 0.92)[:, None]
    gaps = rng.exponential(2e6, n) + lat
    t = np.cumsum(gaps) - gaps[0]
    ts0 = 10_000_000_000
    return {
        "seed": seed, "n": n, "scenario": scenario, "kernel_hash": kernel_hash,
        "started": started, "copy_bytes_per_s": copy_bytes_per_s,
        "size": size, "occupancy": occupancy, "mix": mix, "migrated": migrated,
        "latency": np.round(lat), "errno": err, "reason": reason, "retries": retries,
        "phases": np.round(phases), "t": np.round(t), "ts0": ts0,
        "pid": 300 + (seed % 1000), "rng": rng,
    }


def _area_runs(rng, occupancy):
    """Run-length encoded kinds of the area: [[kind, pages], ...]."""
    runs = []
    left = AREA_PAGES
    while left > 0:
        n = int(min(left, rng.integers(64, 2048)))
        if rng.uniform() < occupancy:
            kind = int(rng.choice([2, 3, 4, 5, 6], p=[0.5, 0.3, 0.1, 0.05, 0.05]))
        else:
            kind = 0
        runs.append([kind, n])
        left -= n
    return runs


def _errno_name(e):
    return {0: None, -12: "ENOMEM", -16: "EBUSY"}[int(e)]


def write_run(out, **kw):
    """Write one synthetic run directory; returns its path."""
    g = generate(**kw)
    os.makedirs(out, exist_ok=True)
    n = g["n"]
    rng = g["rng"]
    kernel = f"6.1.192-cmakit-{g['kernel_hash']}"
    # cmabench: the result document and its allocation records
    names = ("isolate_ns", "drain_ns", "migrate_ns", "test_ns")
    with open(os.path.join(out, "allocations.jsonl"), "w") as f:
        for i in range(n):
            e = int(g["errno"][i])
            rec = {
                "schema": "cmakit.cmabench/1.0", "seq": i, "t_ns": int(g["t"][i]),
                "area": "reserved", "count": int(g["size"][i]), "align": 8,
                "errno": e, "latency_ns": int(g["latency"][i]),
                "retries": int(g["retries"][i]),
                "pages_migrated": int(g["migrated"][i]),
                "occupancy": round(float(g["occupancy"][i]), 4),
                "page_mix": {k: round(float(g["mix"][i, j]), 4) for j, k in enumerate(MIX_KINDS)},
                "phases": {names[j]: int(g["phases"][i, j]) for j in range(4)},
                "blocking_reason": REASON_POOL[g["reason"][i]] if g["reason"][i] >= 0 else None,
            }
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    result = {
        "schema": "cmakit.cmabench/1.0",
        "scenario": g["scenario"], "kernel": kernel, "kernel_hash": g["kernel_hash"],
        "started": g["started"],
        "board": {"machine": "qemu-x86_64 (synthetic)", "cpus": 2, "mem_mb": 2048},
        "area": {"name": "reserved", "base_pfn": BASE_PFN, "count": AREA_PAGES},
        "copy_bytes_per_s": g["copy_bytes_per_s"],
        "allocations": "allocations.jsonl",
        "area_map": {
            "before": {"base_pfn": BASE_PFN, "kinds": list(MAP_KINDS), "runs": _area_runs(rng, 0.7)},
            "after": {"base_pfn": BASE_PFN, "kinds": list(MAP_KINDS), "runs": _area_runs(rng, 0.2)},
        },
    }
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    # cmatrace: the same allocations as seen by the trace (docs/cmatrace.md)
    with open(os.path.join(out, "cmatrace.jsonl"), "w") as f:
        for i in range(n):
            e = int(g["errno"][i])
            start = g["ts0"] + int(g["t"][i])
            lat = int(g["latency"][i])
            ph = g["phases"][i]
            reason = REASON_POOL[g["reason"][i]] if g["reason"][i] >= 0 else None
            blocking = None
            if reason:
                blocking = {"pfn": BASE_PFN + 1000 + i % 60000, "source": "cma_busy_page",
                            "stage": "migrate", "reason": reason, "refcount": 3,
                            "mapcount": 1, "migratetype": 4}
            rec = {
                "schema": "cmakit.cmatrace/1.0", "type": "alloc", "seq": i, "pid": g["pid"],
                "comm": "cmabench", "area": "reserved", "count": int(g["size"][i]), "align": 8,
                "status": "ok" if e == 0 else "failed", "errno": e, "errno_name": _errno_name(e),
                "errno_source": "event", "pfn": None if e else BASE_PFN + (i * 256) % AREA_PAGES,
                "ts_start_ns": start, "ts_finish_ns": start + lat, "latency_ns": lat,
                "kernel_elapsed_ns": lat - 500, "cpu_start": i % 2, "cpu_finish": i % 2,
                "retries": int(g["retries"][i]), "retry_pfns": [],
                "phases": {"isolate_ns": int(ph[0]), "drain_ns": int(ph[1]),
                           "migrate_ns": int(ph[2]), "test_ns": int(ph[3]),
                           "attempts": int(g["retries"][i]) + 1},
                "migrate": {"attempted": int(g["migrated"][i]), "migrated": int(g["migrated"][i]),
                            "reclaimed": 0, "failed": 0, "passes": 1},
                "mm_migrate": {"calls": 1, "succeeded": int(g["migrated"][i]), "failed": 0},
                "isolation_tests": {"calls": 1, "failed": 1 if e else 0},
                "blocking": blocking, "busy_pages_total": 1 if blocking else 0,
                "busy_pages": [], "missing": [], "complete": True,
            }
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    ok = int((g["errno"] == 0).sum())
    lat = g["latency"]
    summary = {
        "schema": "cmakit.cmatrace/1.0", "type": "summary", "source": "live",
        "allocations": n, "ok": ok, "failed": n - ok, "unfinished": 0,
        "success_rate": ok / n if n else None,
        "latency_ns": {"count": n, "min": int(lat.min()), "p50": int(np.percentile(lat, 50)),
                       "p90": int(np.percentile(lat, 90)), "p99": int(np.percentile(lat, 99)),
                       "max": int(lat.max()), "mean": float(lat.mean())} if n else None,
        "failures_by_errno": {}, "failures_by_reason": {}, "retries": int(g["retries"].sum()),
        "pages_requested": int(g["size"].sum()), "pages_allocated": int(g["size"][g["errno"] == 0].sum()),
        "events": {}, "events_total": 0, "missed_events": 0, "missed_unknown": 0,
        "unrelated_events": 0, "incomplete": 0,
    }
    with open(os.path.join(out, "cmatrace-summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    # BPF: the kernel-side log2 latency histogram per size class
    hists = []
    for sc in np.unique(np.log2(g["size"]).astype(int)):
        for e in np.unique(g["errno"]):
            m = (np.log2(g["size"]).astype(int) == sc) & (g["errno"] == e)
            if not m.any():
                continue
            us = np.maximum(lat[m] / 1000.0, 1)
            slots = np.bincount(np.floor(np.log2(us)).astype(int) + 1, minlength=32)[:32]
            hists.append({"area": "reserved", "size_class": int(sc), "err": int(e),
                          "count": int(m.sum()), "sum_ns": int(lat[m].sum()),
                          "max_ns": int(lat[m].max()), "unit": "us",
                          "slots": [int(x) for x in slots]})
    with open(os.path.join(out, "cmalat.json"), "w") as f:
        json.dump({"schema": "cmakit.cmalat/1.0", "histograms": hists}, f, indent=1)
        f.write("\n")
    return out


def write_store(out, runs=3, n=300, seed=1, scenario="default", kernel_hash="0123abcd",
                latency_scale=1.0, started=1_700_000_000.0):
    """RUNS run directories <started>-<hash>-<i> under OUT (a baseline or candidate set)."""
    import datetime as dt
    paths = []
    for i in range(runs):
        t = started + 3600 * i
        stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        p = os.path.join(out, f"{stamp}-{kernel_hash}")
        write_run(p, seed=seed * 1000 + i, n=n, latency_scale=latency_scale,
                  scenario=scenario, kernel_hash=kernel_hash, started=t)
        paths.append(p)
    return paths
