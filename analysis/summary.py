# SPDX-License-Identifier: GPL-2.0
"""Numbers of one run: per size class, outcomes, phases, copy floor, metrics.

Everything here is vectorised over the allocation table; nothing loops per
record. ``run_metrics`` gives the scalar metrics `compare` and `dashboard`
use, each with its unit and direction.
"""

import numpy as np

from .table import PAGE_SIZE, PHASES, REASONS, errno_name


def size_label(pages):
    b = int(pages) * PAGE_SIZE
    if b >= 1 << 20 and b % (1 << 20) == 0:
        return f"{b >> 20} MiB"
    if b >= 1 << 10 and b % (1 << 10) == 0:
        return f"{b >> 10} KiB"
    return f"{int(pages)} pages"


def fmt_ns(v):
    """A latency in the unit that reads best: 812 ns, 35.2 us, 4.10 ms, 1.20 s."""
    if v is None or not np.isfinite(v):
        return "-"
    if v < 1e3:
        return f"{v:.0f} ns"
    if v < 1e6:
        return f"{v / 1e3:.1f} us"
    if v < 1e9:
        return f"{v / 1e6:.2f} ms"
    return f"{v / 1e9:.2f} s"


def size_classes(t):
    """Sorted distinct request sizes (pages)."""
    return np.unique(t.size) if len(t) else np.zeros(0, dtype=np.int64)


def latency_stats(lat):
    """min/p50/p90/p99/max/mean of finite latencies (NaN when none)."""
    lat = lat[np.isfinite(lat)]
    if not len(lat):
        return dict(count=0, min=np.nan, p50=np.nan, p90=np.nan, p99=np.nan, max=np.nan, mean=np.nan)
    p = np.percentile(lat, [50, 90, 99])
    return dict(count=int(len(lat)), min=float(lat.min()), p50=float(p[0]), p90=float(p[1]),
                p99=float(p[2]), max=float(lat.max()), mean=float(lat.mean()))


def per_size(t):
    """One row per size class: counts, success rate, latency stats of successes."""
    rows = []
    for s in size_classes(t):
        m = t.size == s
        n = int(m.sum())
        ok = int((m & t.ok).sum())
        failed = int((m & t.failed).sum())
        st = latency_stats(t.latency_ns[m & t.ok])
        rows.append(dict(size=int(s), label=size_label(s), n=n, ok=ok, failed=failed,
                         unfinished=n - ok - failed,
                         success_rate=ok / n if n else np.nan, **st))
    return rows


def failures_by_errno(t):
    e = t.errno[t.failed]
    vals, counts = np.unique(e, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [(errno_name(vals[i]), int(counts[i])) for i in order]


def failures_by_reason(t):
    r = t.reason[t.failed]
    r = r[r >= 0]
    counts = np.bincount(r.astype(np.int64), minlength=len(REASONS))
    order = np.argsort(-counts, kind="stable")
    return [(REASONS[i], int(counts[i])) for i in order if counts[i]]


def phase_means(t):
    """Per size class: mean ns of each phase and of the rest (latency minus phases)."""
    if not all(t.has(p + "_ns") for p in PHASES):
        return []
    rows = []
    for s in size_classes(t):
        m = (t.size == s) & t.finished & np.isfinite(t.isolate_ns)
        if not m.any():
            continue
        means = {p: float(np.nanmean(t[p + "_ns"][m])) for p in PHASES}
        total = float(np.nanmean(t.latency_ns[m]))
        means["other"] = max(total - sum(means.values()), 0.0)
        rows.append(dict(size=int(s), label=size_label(s), n=int(m.sum()), total=total, **means))
    return rows


def copy_floor(t, bw):
    """Per size class: the time a plain copy of the pages migrated (and of the
    whole request) takes at bandwidth BW (bytes/s), against the median latency."""
    if not bw:
        return []
    rows = []
    for s in size_classes(t):
        m = (t.size == s) & t.ok
        if not m.any():
            continue
        lat = t.latency_ns[m]
        whole = s * PAGE_SIZE / bw * 1e9
        row = dict(size=int(s), label=size_label(s), n=int(m.sum()), p50=float(np.median(lat)),
                   whole_floor_ns=whole, ratio_whole=float(np.median(lat) / whole))
        if t.has("migrated"):
            mig = t.migrated[m]
            floor = mig * PAGE_SIZE / bw * 1e9
            ok = floor > 0
            row["migrated_mean"] = float(np.nanmean(mig))
            row["migrated_floor_ns"] = float(np.nanmedian(floor)) if ok.any() else np.nan
            row["ratio_migrated"] = float(np.nanmedian(lat[ok] / floor[ok])) if ok.any() else np.nan
        rows.append(row)
    return rows


def gcma_table(t):
    """The GCMA paper's layout: one row per request size, min / avg / max latency (ms)."""
    rows = []
    for s in size_classes(t):
        lat = t.latency_ns[(t.size == s) & t.ok]
        if not len(lat):
            rows.append(dict(label=size_label(s), size=int(s), n=0, min=np.nan, avg=np.nan, max=np.nan))
            continue
        rows.append(dict(label=size_label(s), size=int(s), n=int(len(lat)), min=float(lat.min()) / 1e6,
                         avg=float(lat.mean()) / 1e6, max=float(lat.max()) / 1e6))
    return rows


# metric name -> (unit, direction); direction: "lower", "higher" or None (a
# measurement with no better side: status DONE)
def metric_spec(name):
    if name.startswith("latency_"):
        return "ns", "lower"
    if name.startswith("success_rate"):
        return "ratio", "higher"
    if name.startswith("retries_per_alloc"):
        return "retries", "lower"
    if name == "copy_bytes_per_s":
        return "B/s", None
    if name == "allocations":
        return "count", None
    if name.startswith("pages_migrated"):
        return "pages", None
    return "", None


def metric_samples(run, name):
    """The per-allocation sample behind metric NAME of one run (pooled tests):
    latencies of the successful allocations (of that size), the retries, or
    the success flags; None for metrics with no per-allocation sample."""
    t = run.allocs
    if not len(t):
        return None
    size = None
    if "[" in name:
        lab = name[name.index("[") + 1:-1]
        sizes = [s for s in size_classes(t) if size_label(s).replace(" ", "") == lab]
        if not sizes:
            return None
        size = sizes[0]
    m = np.ones(len(t), dtype=bool) if size is None else (t.size == size)
    if name.startswith("latency_"):
        v = t.latency_ns[m & t.ok]
        return v[np.isfinite(v)]
    if name.startswith("success_rate"):
        return t.ok[m & t.finished].astype(float)
    if name.startswith("retries_per_alloc"):
        v = t.retries[m]
        return v[np.isfinite(v)]
    return None


TAIL_MIN = 100   # successful allocations a size class needs for its own p99 metric
# and a run for its p90 and p99 metrics: below that, a p99 is the run's worst
# allocation and a p90 one of its few worst, which one slow request moves
# (16-request smoke runs of one kernel differed in latency_p99 by more than
# 5% in 12 of 120 trials, as often as a 10% slower kernel did)


def run_metrics(run):
    """Scalar metrics of one run: {name: value}."""
    t = run.allocs
    out = {"allocations": float(len(t))}
    if not len(t):
        return out
    fin = t.finished
    out["success_rate"] = float(t.ok.sum() / max(fin.sum(), 1))
    st = latency_stats(t.latency_ns[t.ok])
    for k in ("p50", "p90", "p99", "mean") if int(t.ok.sum()) >= TAIL_MIN else ("p50", "mean"):
        out[f"latency_{k}"] = st[k]
    if t.has("retries"):
        out["retries_per_alloc"] = float(np.nanmean(t.retries))
    if t.has("migrated"):
        out["pages_migrated_per_alloc"] = float(np.nanmean(t.migrated))
    for row in per_size(t):
        lab = row["label"].replace(" ", "")
        out[f"latency_p50[{lab}]"] = row["p50"]
        if row["count"] >= TAIL_MIN:
            out[f"latency_p99[{lab}]"] = row["p99"]
        out[f"success_rate[{lab}]"] = row["success_rate"]
    if run.copy_bw:
        out["copy_bytes_per_s"] = run.copy_bw
    return {k: v for k, v in out.items() if v is not None and np.isfinite(v)}
