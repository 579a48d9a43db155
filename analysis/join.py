# SPDX-License-Identifier: GPL-2.0
"""Joins across a run's sources: the benchmark's records get the detail the
trace (phases, migrated pages, the blocking page) and the BPF collectors
(the failure's reason) recorded of the same allocations. A join is made only
when the records are the same allocations; otherwise the run stays unjoined,
never wrongly joined.
"""

import numpy as np

from .columns import reasons
from .table import reason_code

JOIN_SLACK_NS = 1e6    # clock noise between a request's start and its trace record's


def _match_trace(allocs, trace, order):
    """Trace rows (indices into ``order``) for the benchmark's records, or None.

    The trace may hold more allocations than the benchmark asked for (the
    occupancy fill places itself with allocations of its own). Both tables
    count time from their own first row, so the two clocks differ by one
    offset: the trace time of the first request. It is the candidate (a
    trace row like the first request) under which the most requests find a
    trace row of their size and outcome starting while user space waited
    for them, and then the one under which those rows start closest to the
    requests. Each request takes the unused row of its size and outcome
    that starts closest to it within its wait; every request must have one."""
    t = trace.t_ns[order]
    bt, blat = allocs.t_ns, allocs.latency_ns
    if not (np.isfinite(t).all() and np.isfinite(bt).all()):
        return None
    wait = np.where(np.isfinite(blat), blat, 0.0)
    keys = {}
    for j, k in enumerate(zip(trace.size[order].tolist(), trace.status[order].tolist())):
        keys.setdefault(k, []).append(j)
    keys = {k: np.asarray(v, dtype=np.int64) for k, v in keys.items()}   # each in time order
    want = list(zip(allocs.size.tolist(), allocs.status.tolist()))
    first = int(np.argmin(bt))
    if want[first] not in keys:
        return None

    def window(i, off):
        """Rows like request i that start while it ran (clock offset off)."""
        rows = keys.get(want[i])
        if rows is None:
            return rows, 0, 0
        lo = bt[i] + off - JOIN_SLACK_NS
        return rows, np.searchsorted(t[rows], lo), np.searchsorted(t[rows], lo + wait[i] + 2 * JOIN_SLACK_NS, "right")

    sample = np.unique(np.linspace(0, len(allocs) - 1, min(len(allocs), 64)).astype(np.int64))
    best, best_score = None, None
    for j in keys[want[first]][:2000]:
        off = t[j] - bt[first]
        n, dist = 0, 0.0
        for i in sample:
            rows, a, b = window(i, off)
            if a < b:
                n += 1
                dist += float(np.min(np.abs(t[rows[a:b]] - bt[i] - off)))
        score = (n, -dist)
        if best_score is None or score > best_score:
            best, best_score = off, score
    used = np.zeros(len(order), dtype=bool)
    rows_out = np.empty(len(allocs), dtype=np.int64)
    for i in np.argsort(bt, kind="stable"):
        rows, a, b = window(i, best)
        if rows is None:
            return None
        c = rows[a:b][~used[rows[a:b]]]
        if not len(c):
            return None
        j = c[np.argmin(np.abs(t[c] - bt[i] - best))]
        used[j] = True
        rows_out[i] = j
    return rows_out


def join_trace(allocs, trace):
    """Give the benchmark's records the trace's detail (phases, migrated pages,
    blocking reason) when the trace holds the same allocations: the same
    requests in the same order, possibly among others of the run's own (see
    _match_trace). Returns True when joined."""
    if trace is None or not len(allocs) or len(trace) < len(allocs):
        return False
    order = np.argsort(trace.t_ns, kind="stable") if np.isfinite(trace.t_ns).all() else np.arange(len(trace))
    if len(trace) == len(allocs) and np.array_equal(trace.size[order], allocs.size):
        rows = np.arange(len(allocs))
    else:
        rows = _match_trace(allocs, trace, order)
        if rows is None:
            return False
    order = order[rows]
    own_migrated = allocs.migrated if "migrated" in allocs else None
    for col in ("isolate_ns", "drain_ns", "migrate_ns", "test_ns", "migrated", "block_pfn", "block_kind"):
        allocs.columns[col] = trace[col][order]
    if own_migrated is not None:
        allocs.columns["migrated"] = np.where(np.isfinite(allocs.migrated), allocs.migrated, own_migrated)
    r = trace.reason[order]
    allocs.columns["block_reason"] = r   # also of requests that succeeded after a busy range
    own = allocs.reason
    allocs.columns["reason"] = np.where((own < 0) & (allocs.status == 1), r, own).astype(np.int8)
    if not allocs.has("retries"):
        allocs.columns["retries"] = trace.retries[order]
    return True


def join_bpf_reasons(t, bpf):
    """Failed allocations of T with no blocking reason yet take it from the
    cmafail records of the BPF document BPF (or None) when those are the same
    failures: as many, same sizes in the same order. Returns True when joined."""
    fail = (bpf or {}).get("cmafail")
    if not isinstance(fail, dict) or not isinstance(fail.get("records"), list) or not len(t):
        return False
    recs = [r for r in fail["records"] if isinstance(r, dict) and r.get("errno")]
    idx = np.flatnonzero(t.failed)
    if not len(idx) or len(recs) != len(idx) or (t.reason[idx] >= 0).all() and \
            (t.reason[idx] != reason_code("none")).all():
        return False
    if [r.get("pages") for r in recs] != [int(x) for x in t.size[idx]]:
        return False
    codes = reasons([r.get("reason") or "none" for r in recs])
    keep = (t.reason[idx] >= 0) & (t.reason[idx] != reason_code("none"))
    t.columns["reason"][idx] = np.where(keep, t.reason[idx], codes)
    return True

