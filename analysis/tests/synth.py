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

from analysis.table import PAGE_SIZE

SIZES = np.array([256, 1024, 4096, 16384])         # pages: 1, 4, 16, 64 MiB
MIX_KINDS = ("anon", "file", "shmem", "pinned", "kernel")
REASON_POOL = ("pinned", "pinned", "pinned", "writeback", "dirty", "locked", "unmovable")
AREA_PAGES = 65536
BASE_PFN = 0x40000


GCMA_SIZES = np.array([1, 1024, 4096, 32000])     # the GCMA RFC's request sizes


def generate(seed=1, n=500, latency_scale=1.0, fail_scale=1.0, scenario="default",
             kernel_hash="0123abcd", started=1_700_000_000.0, copy_bytes_per_s=590e6):
    """Columns of one synthetic run (plain numpy arrays), seeded."""
    rng = np.random.default_rng(seed)
    if scenario == "gcma-table":
        size = np.repeat(GCMA_SIZES, -(-n // len(GCMA_SIZES)))[:n]
    else:
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


AREAMAP_KINDS = ("free", "cma", "anon", "shmem", "file", "other")


def _area_runs(rng, used, mix):
    """Run-length encoded kinds of the area ([[kind, pages], ...], kinds of
    AREAMAP_KINDS): runs of 64-2047 pages, a share USED of them holding data
    of the kinds in proportion to MIX (anon, file, shmem, pinned, kernel)."""
    p = np.array([mix[0], mix[2], mix[1], mix[3] + mix[4]], dtype=float)
    p = p / p.sum() if p.sum() > 0 else np.array([1.0, 0, 0, 0])
    runs = []
    left = AREA_PAGES
    while left > 0:
        n = int(min(left, rng.integers(64, 2048)))
        kind = int(rng.choice([2, 3, 4, 5], p=p)) if rng.uniform() < used else 0
        if runs and runs[-1][0] == kind:
            runs[-1][1] += n
        else:
            runs.append([kind, n])
        left -= n
    return runs


def _pfn(i, pages):
    """The first pfn the synthetic request I got: inside the area."""
    return BASE_PFN + (i * 256) % (AREA_PAGES - int(pages) + 1)


def _iso(t):
    import datetime as dt
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _errno_name(e):
    return {0: None, -12: "ENOMEM", -16: "EBUSY"}[int(e)]


def write_run(out, area_map=True, trace=True, occupancy=True, stock=False, **kw):
    """Write one synthetic run directory; returns its path.

    AREA_MAP: cmabench's areamap.json; TRACE: cmatrace's records and summary;
    OCCUPANCY: the records carry the area's occupancy (without it there is no
    area map either: cmabench takes both from one scan); STOCK: a stock
    kernel (no phase or busy-page events, cmabench on the debugfs backend)."""
    g = generate(**kw)
    area_map = area_map and occupancy
    os.makedirs(out, exist_ok=True)
    n = g["n"]
    rng = g["rng"]
    kernel = f"6.1.192-cmakit-{g['kernel_hash']}"
    # cmabench: result.json (docs/results.md)
    started_iso = _iso(g["started"])
    area_pages = AREA_PAGES
    ok = g["errno"] == 0
    with open(os.path.join(out, "result.json"), "w") as f:
        head = {
            "schema": "cmakit.cmabench/1.0",
            "run": {
                "id": f"{started_iso.replace('-', '').replace(':', '')}-{g['scenario']}-cma_bench",
                "tool": "cmabench", "tool_version": "synthetic", "status": "DONE", "error": None,
                "started": started_iso, "finished": _iso(g["started"] + float(g["t"][-1]) / 1e9 + 1),
                "duration_s": float(g["t"][-1]) / 1e9, "command_line": ["cmabench", "synthetic"],
                "scenario": {"name": g["scenario"], "description": "synthetic", "source": "builtin"},
                "config": {"area": "reserved", "sizes_pages": [int(x) for x in SIZES], "align": 8,
                           "count": 0, "threads": 1, "seed": g["seed"]},
                "kernel": {"release": kernel, "version": "#1 SMP", "machine": "x86_64",
                           "series_hash": None if stock else g["kernel_hash"], "patched": not stock},
                "board": {"hostname": "board", "model": "QEMU (synthetic)", "cpus": 2,
                          "mem_total_kb": 2014064, "page_size": PAGE_SIZE},
                "backend": {"name": "debugfs", "requested": "auto", "kernel_timing": False,
                        "pfn": False, "retries": False, "align": False} if stock else
                       {"name": "cma_bench", "requested": "auto", "kernel_timing": True,
                        "pfn": True, "retries": True, "align": True},
                "features": {}, "pressure": [], "inject": None,
            },
            "areas": [{"name": "reserved", "base_pfn": BASE_PFN, "pages": area_pages,
                       "order_per_bit": 0, "dma_heap": "/dev/dma_heap/reserved"}],
        }
        text = json.dumps(head, indent=1)
        f.write(text[:-2] + ',\n "allocations": [\n')
        used = g["mix"].sum(axis=1)
        for i in range(n):
            e = int(-g["errno"][i])
            pages = (g["mix"][i] * area_pages).astype(int)
            occ = {"target": None, "used": round(float(used[i]), 4),
                   "pages": {"free": int(area_pages - pages.sum()), "cma": 0,
                             "anon": int(pages[0]), "file": int(pages[1]), "shmem": int(pages[2]),
                             "other": int(pages[3] + pages[4]), "thp": 0, "dirty": 0, "writeback": 0,
                             "mapped": int(pages[0] + pages[2])}}
            rec = {"seq": i, "round": i, "thread": 0, "t_ns": int(g["t"][i]), "area": "reserved",
                   "pages": int(g["size"][i]), "align": 8, "ok": e == 0, "errno": e,
                   "error": _errno_name(-e), "user_ns": int(g["latency"][i] + 3000),
                   "kernel_ns": None if stock else int(g["latency"][i]),
                   "retries": None if stock else int(g["retries"][i]),
                   "pfn": _pfn(i, g["size"][i]) if e == 0 and not stock else None,
                   "injected": None, "release_ns": 20000, "occupancy": occ if occupancy else None}
            f.write(json.dumps(rec, separators=(",", ":")) + (",\n" if i < n - 1 else "\n"))
        summary = {"allocations": n, "ok": int(ok.sum()), "failed": int(n - ok.sum()),
                   "errors": {}, "pages_requested": int(g["size"].sum()),
                   "pages_allocated": int(g["size"][ok].sum())}
        f.write(' ],\n "counters": {"before": {}, "after": {}, "delta": {}},\n "summary": ')
        f.write(json.dumps(summary) + "\n}\n")
    with open(os.path.join(out, "copybw.json"), "w") as f:
        json.dump({"schema": "cmakit.copybw/1.0", "bytes_per_s": g["copy_bytes_per_s"],
                   "method": "synthetic", "buffer_bytes": 64 << 20, "samples": 5}, f)
        f.write("\n")
    if area_map and n:
        # cmabench's area map (docs/results.md): the area just before the
        # first request, the first failure and the last request
        picks = [("first", 0)]
        if not ok.all():
            picks.append(("first_failure", int(np.flatnonzero(~ok)[0])))
        picks.append(("last", n - 1))
        maps = []
        for when, i in picks:
            runs = _area_runs(rng, float(used[i]), g["mix"][i])
            e = int(g["errno"][i])
            maps.append({"when": when, "request": i, "pages_requested": int(g["size"][i]), "ok": e == 0,
                         "errno": _errno_name(e),
                         "range": {"pfn": _pfn(i, g["size"][i]), "pages": int(g["size"][i])} if e == 0 else None,
                         "runs": runs})
        with open(os.path.join(out, "areamap.json"), "w") as f:
            json.dump({"schema": "cmakit.areamap/2.0", "area": "reserved", "base_pfn": BASE_PFN,
                       "pages": AREA_PAGES, "kinds": list(AREAMAP_KINDS), "maps": maps}, f)
            f.write("\n")
    # BPF: cmacollect's document (docs/bpf.md): cmalat's log2 histograms
    lat = g["latency"]
    hists = []
    sc_all = np.floor(np.log2(g["size"])).astype(int)
    for sc in np.unique(sc_all):
        for e in np.unique(g["errno"]):
            m = (sc_all == sc) & (g["errno"] == e)
            if not m.any():
                continue
            us = np.maximum(lat[m] / 1000.0, 1)
            slot = np.floor(np.log2(us)).astype(int)
            counts = np.bincount(slot)
            hists.append({"area": "reserved", "size_class": int(sc), "pages_min": int(g["size"][m].min()),
                          "pages_max": int(g["size"][m].max()), "errno": int(e),
                          "error": _errno_name(e) or "OK", "count": int(m.sum()),
                          "sum_ns": int(lat[m].sum()), "max_ns": int(lat[m].max()),
                          "busy_retries": int(g["retries"][m].sum()),
                          "slots": [[1 << k, (2 << k) - 1, int(c)] for k, c in enumerate(counts) if c]})
    ok_n = int((g["errno"] == 0).sum())
    bpf = {"schema": "cmakit.bpf/1.0", "kernel": {"release": kernel, "machine": "x86_64"},
           "started": _iso(g["started"]), "duration_s": float(g["t"][-1]) / 1e9,
           "path_requested": "auto", "command": ["cmabench", "synthetic"], "command_status": 0,
           "cmalat": {"tool": "cmalat", "path": "patched", "errno_source": "event", "unit": "us",
                      "interval_s": None, "unavailable": [], "histograms": hists,
                      "allocations": n, "failures": n - ok_n},
           "cmafail": None, "cmamigrate": None}
    with open(os.path.join(out, "bpf.json"), "w") as f:
        json.dump(bpf, f, indent=1)
        f.write("\n")
    # cmatrace: the same allocations as seen by the trace (docs/cmatrace.md)
    if not trace:
        return out
    with open(os.path.join(out, "cmatrace.jsonl"), "w") as f:
        for i in range(n):
            e = int(g["errno"][i])
            start = g["ts0"] + int(g["t"][i])
            lat = int(g["latency"][i])
            ph = g["phases"][i]
            reason = REASON_POOL[g["reason"][i]] if g["reason"][i] >= 0 else None
            blocking = None
            if stock and e:
                # a stock kernel names the blocking pfn, not why
                blocking = {"pfn": BASE_PFN + 1000 + i % 60000, "source": "test_pages_isolated",
                            "reason": "unknown"}
            elif e == 0 and not stock and g["retries"][i] > 0:
                # a request that succeeded after busy retries: the page that was busy
                reason = REASON_POOL[i % len(REASON_POOL)]
            if reason and not stock:
                blocking = {"pfn": BASE_PFN + 1000 + i % 60000, "source": "cma_busy_page",
                            "stage": "migrate", "reason": reason, "refcount": 3,
                            "mapcount": 1, "migratetype": 4,
                            "flags": ["lru", ("anon", "shmem", "file")[i % 3]]}
            rec = {
                "schema": "cmakit.cmatrace/1.0", "type": "alloc", "seq": i, "pid": g["pid"],
                "comm": "cmabench", "area": "reserved", "count": int(g["size"][i]), "align": 8,
                "status": "ok" if e == 0 else "failed", "errno": e, "errno_name": _errno_name(e),
                "errno_source": "inferred" if stock else "event",
                "pfn": None if e else _pfn(i, g["size"][i]),
                "ts_start_ns": start, "ts_finish_ns": start + lat, "latency_ns": lat,
                "kernel_elapsed_ns": None if stock else lat - 500, "cpu_start": i % 2, "cpu_finish": i % 2,
                "retries": int(g["retries"][i]), "retry_pfns": [],
                "phases": None if stock else {"isolate_ns": int(ph[0]), "drain_ns": int(ph[1]),
                                              "migrate_ns": int(ph[2]), "test_ns": int(ph[3]),
                                              "attempts": int(g["retries"][i]) + 1},
                "migrate": None if stock else {"attempted": int(g["migrated"][i]),
                                               "migrated": int(g["migrated"][i]),
                                               "reclaimed": 0, "failed": 0, "passes": 1},
                "mm_migrate": {"calls": 1, "succeeded": int(g["migrated"][i]), "failed": 0},
                "isolation_tests": {"calls": 1, "failed": 1 if e else 0},
                "blocking": blocking, "busy_pages_total": 1 if blocking and not stock else 0,
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


def make_run(seed=1, n=300, latency_scale=1.0, fail_scale=1.0, scenario="default",
             kernel_hash="0123abcd", started=1_700_000_000.0, run_id=None):
    """An in-memory Run with the same model (no files): for statistics tests."""
    from analysis.runs import Run
    from analysis.table import Table, reason_code
    g = generate(seed=seed, n=n, latency_scale=latency_scale, fail_scale=fail_scale,
                 scenario=scenario, kernel_hash=kernel_hash, started=started)
    run = Run(run_id or f"synthetic-{seed}")
    run.meta.update(scenario=scenario, kernel=f"6.1.192-cmakit-{kernel_hash}",
                    kernel_hash=kernel_hash, started=started,
                    copy_bytes_per_s=g["copy_bytes_per_s"])
    reasons = np.array([reason_code(r) for r in REASON_POOL] + [-1], dtype=np.int8)
    cols = {"t_ns": g["t"].astype(float), "size": g["size"].astype(np.int64),
            "align": np.full(n, 8, dtype=np.int64), "latency_ns": g["latency"].astype(float),
            "status": (g["errno"] != 0).astype(np.int8), "errno": g["errno"].astype(np.int32),
            "reason": reasons[g["reason"]], "retries": g["retries"].astype(float),
            "migrated": g["migrated"].astype(float), "occupancy": g["occupancy"]}
    for j, p in enumerate(("isolate", "drain", "migrate", "test")):
        cols[p + "_ns"] = g["phases"][:, j]
    for j, k in enumerate(MIX_KINDS):
        cols["mix_" + k] = g["mix"][:, j]
    run.allocs = Table(cols)
    run.alloc_source = "synthetic"
    return run
