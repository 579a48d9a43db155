# SPDX-License-Identifier: GPL-2.0
"""`report RUN_DIR`: one self-contained HTML page and a plain-text summary of a
run; and the page of a compare verdict (``html_verdict``).

The page opens with the numbers a user looks for first (success rate, median
and worst latency per request size, what made the worst one slow), then one
section per view: a sentence on how to read it and the figure, or, when the
run has no data for the view, one sentence saying why.
"""

import datetime as dt
import os

import numpy as np

from . import plots
from .htmlpage import esc, img, page, table
from .jsonio import write_text
from .summary import (copy_floor, failures_by_errno, failures_by_reason, fmt_ns, gcma_table,
                      per_size, phase_means, size_label)
from .table import PHASES, REASONS


def _when(run):
    s = run.started
    if not s:
        return "unknown"
    return dt.datetime.fromtimestamp(s, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(x, fmt):
    return "-" if x is None or not np.isfinite(x) else format(x, fmt)


def _pct(x):
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


# --------------------------------------------------------------------------
# why a view has no data: one sentence each, from what the run holds

def _trace_has_phases(run):
    tr = run.trace
    return tr is not None and tr.has("isolate_ns")


def phases_why(run, short=False):
    """Why the run's requests carry no phase times."""
    if run.trace is None:
        return ("no trace" if short else
                "This run has no cmatrace records, so the time of a request cannot be split into phases.")
    if not _trace_has_phases(run):
        return ("stock kernel: no phase events" if short else
                "The kernel emitted no phase events (a stock kernel has no cma_range_* tracepoints; "
                "the patched series adds them), so the time cannot be split into isolate, drain, "
                "migrate and test.")
    if run.alloc_source == "cmabench" and not run.joined:
        return ("the trace did not match the requests" if short else
                "The trace's records could not be matched to cmabench's requests, so their phases "
                "are left out rather than shown for the wrong requests.")
    return "no phase times" if short else "No finished request carries phase times."


def blocking_why(run):
    """Why the failed requests have no named blocking page."""
    t = run.allocs
    n = int(t.failed.sum())
    reqs = f"{n} request{'s' if n != 1 else ''} failed"
    r = t.reason[t.failed]
    if run.trace is None and not (r >= 0).any():
        return (f"{reqs}, but this run has no cmatrace records (nor BPF cmafail records) "
                "to name the pages that blocked them.")
    if run.alloc_source == "cmabench" and run.trace is not None and not run.joined and not (r >= 0).any():
        return (f"{reqs}; the trace's records could not be matched to cmabench's requests, "
                "so the pages that blocked them are not named.")
    if (r == REASONS.index("unknown")).any():
        return (f"{reqs}; the trace shows where each was blocked but not why: the kernel "
                "names no busy page (a stock kernel has no cma_busy_page event).")
    return (f"{reqs}, and no busy page was seen for them (a failure such as ENOMEM comes from "
            "the search for a free range, before any page is tried).")


def areamap_why(run):
    if any("area map 1.x" in why for _, why in run.ignored):
        return ("This run's area map is of the old format (1.x), taken before the benchmark filled "
                "the area and after it emptied it, so it would show an empty area; cmabench now "
                "writes the area at the first and last request and at the first failure.")
    if run.alloc_source != "cmabench":
        return "This run has no cmabench result, and the area map comes with it."
    if not run.allocs.has("occupancy"):
        return ("cmabench wrote no area map: it takes the map from its scan of /proc/kpageflags, "
                "which this run could not read.")
    return "cmabench wrote no area map (areamap.json) in this run."


# --------------------------------------------------------------------------
# the three numbers first

def _success_line(t):
    n = len(t)
    if not n:
        return "No requests were made."
    ok = int(t.ok.sum())
    fe = failures_by_errno(t)
    tail = "" if not fe else "; " + f"{int(t.failed.sum())} failed (" + ", ".join(f"{k} {v}" for k, v in fe) + ")"
    unf = n - ok - int(t.failed.sum())
    if unf:
        tail += f"; {unf} did not finish"
    return f"Success rate {_pct(ok / n)}: {ok} of {n} requests succeeded{tail}."


def _slowest(t, mask):
    m = mask & np.isfinite(t.latency_ns)
    return int(np.argmax(np.where(m, t.latency_ns, -np.inf))) if m.any() else None


def worst_cause(run, failed=False):
    """One sentence: the worst latency of the successful requests (FAILED:
    the slowest failed request) and what made it slow (the phase that
    dominated it, what was moved, what blocked it), or None."""
    t = run.allocs
    i = _slowest(t, t.failed if failed else t.ok)
    if i is None:
        return None
    lat = float(t.latency_ns[i])
    when = f" at {t.t_ns[i] / 1e9:.2f} s" if np.isfinite(t.t_ns[i]) else ""
    if failed:
        from .table import errno_name
        head = (f"Slowest failure {fmt_ns(lat)}, request #{i} ({size_label(t.size[i])}{when}, "
                f"{errno_name(t.errno[i])})")
    else:
        head = f"Worst latency {fmt_ns(lat)}, request #{i} ({size_label(t.size[i])}{when})"
    parts = []
    ph = {p: float(t[p + "_ns"][i]) for p in PHASES if p + "_ns" in t}
    if len(ph) == len(PHASES) and all(np.isfinite(v) for v in ph.values()):
        p = max(ph, key=ph.get)
        parts.append(f"{100 * ph[p] / lat:.0f} % of it in {p}")
    else:
        parts.append(f"phases unknown ({phases_why(run, short=True)})")
    if "migrated" in t and np.isfinite(t.migrated[i]):
        mig = int(t.migrated[i])
        parts.append(f"{mig} pages migrated" if mig else "nothing migrated")
    moved = None
    amap = run.area_map
    if amap and run.alloc_source == "cmabench":
        for m in amap["maps"]:
            if m["request"] == i and m["range"]:
                moved = f"its range held {plots.mix_text(plots.range_mix(amap, m))} just before"
                break
    if moved is None:
        mix = {k: float(t["mix_" + k][i]) for k in plots.MOVABLE if "mix_" + k in t and np.isfinite(t["mix_" + k][i])}
        if mix and any(mix.values()):
            moved = "the area held " + ", ".join(
                f"{100 * v:.0f} % {k}" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]) if v) + " just before it"
        elif mix:
            moved = "the area held no movable pages just before it"
        else:
            moved = "the page kinds around it are unknown (no occupancy in the records)"
    parts.append(moved)
    rcol = "block_reason" if "block_reason" in t and not failed else "reason"
    rc = int(t[rcol][i]) if rcol in t else -1
    if 0 <= rc < len(REASONS) and REASONS[rc] not in ("none",):
        from .sources import BLOCK_KINDS
        kind = ""
        if "block_kind" in t and t.block_kind[i] >= 0:
            kind = " " + BLOCK_KINDS[int(t.block_kind[i])]
        at = f" at pfn {int(t.block_pfn[i]):#x}" if "block_pfn" in t and np.isfinite(t.block_pfn[i]) else ""
        why = REASONS[rc] if REASONS[rc] != "unknown" else "of unknown state"
        parts.append(f"blocked by a{'n' if kind[:2] in (' a', ' o') else ''}{kind} page{at} ({why})" if failed
                     else f"a busy{kind} page{at} ({why}) made it retry")
    elif "retries" in t and np.isfinite(t.retries[i]) and t.retries[i] > 0:
        parts.append(f"{int(t.retries[i])} busy retries")
    return head + ": " + "; ".join(parts) + "."


def _slowers(t):
    """A failed request took longer than every successful one."""
    f, o = _slowest(t, t.failed), _slowest(t, t.ok)
    return f is not None and (o is None or t.latency_ns[f] > t.latency_ns[o])


def _glance(run):
    t = run.allocs
    out = ['<section class="view" id="view-glance"><h2>At a glance</h2>',
           f'<p class="headline"><b>{esc(_success_line(t))}</b></p>']
    rows = per_size(t)
    if rows:
        out.append('<p class="caption">Median and worst latency of the successful requests of each size '
                   '(the time user space waited for the allocation).</p>')
        out.append(table(["size", "requests", "succeeded", "median", "worst"],
                         [[r["label"], r["n"], _pct(r["success_rate"]), fmt_ns(r["p50"]), fmt_ns(r["max"])]
                          for r in rows]))
    w = worst_cause(run)
    out.append(f'<p class="headline">{esc(w)}</p>' if w else
               '<p class="nodata">No request succeeded, so there is no worst latency to explain.</p>')
    if _slowers(t):
        out.append(f'<p class="headline">{esc(worst_cause(run, failed=True))}</p>')
    out.append("</section>")
    return "\n".join(out)


def text_summary(run):
    """The terminal summary: a few lines a developer reads after `make run`."""
    t = run.allocs
    n = len(t)
    ok = int(t.ok.sum())
    failed = int(t.failed.sum())
    lines = [f"run {run.run_id}: scenario {run.scenario}, kernel {run.kernel}",
             f"allocations: {n} ({ok} ok, {failed} failed, {n - ok - failed} unfinished), "
             f"success rate {_pct(ok / n) if n else '-'}  [from {run.alloc_source or 'no records'}]"]
    rows = per_size(t)
    if rows:
        lines.append(f"{'size':>9} {'n':>8} {'ok%':>7} {'p50':>10} {'p90':>10} {'p99':>10} {'max':>10}")
        for r in rows:
            lines.append(f"{r['label']:>9} {r['n']:>8} {_pct(r['success_rate']):>7} {fmt_ns(r['p50']):>10} "
                         f"{fmt_ns(r['p90']):>10} {fmt_ns(r['p99']):>10} {fmt_ns(r['max']):>10}")
    w = worst_cause(run)
    if w:
        lines.append(w)
    if _slowers(t):
        lines.append(worst_cause(run, failed=True))
    fe = failures_by_errno(t)
    if fe:
        lines.append("failures by errno: " + ", ".join(f"{k} {v}" for k, v in fe))
    fr = failures_by_reason(t)
    if fr and any(k not in ("unknown", "none") for k, _ in fr):
        lines.append("failures by blocking page: " + ", ".join(f"{k} {v}" for k, v in fr))
    elif failed:
        lines.append("failures by blocking page: " + blocking_why(run))
    ph = phase_means(t)
    if ph:
        tot = {p: sum(r[p] * r["n"] for r in ph) for p in list(PHASES) + ["other"]}
        s = sum(tot.values()) or 1.0
        lines.append("time in phases: " + ", ".join(f"{p} {100 * v / s:.0f}%" for p, v in tot.items()))
    elif n:
        lines.append("time in phases: unknown (" + phases_why(run, short=True) + ")")
    cf = copy_floor(t, run.copy_bw)
    if cf:
        lines.append(f"copy floor ({run.copy_bw / 1e6:.0f} MB/s): median latency is " + ", ".join(
            f"{r['label']} {r['ratio_whole']:.1f}x" for r in cf) + " the time to copy the whole request")
    return "\n".join(lines) + "\n"


def _meta_table(run):
    area = run.meta.get("area") or {}
    rows = [("run", run.run_id), ("scenario", run.scenario), ("kernel", run.kernel),
            ("started", _when(run)),
            ("allocations from", run.alloc_source or "none")]
    if area:
        rows.append(("CMA area", f"{area.get('name', '?')}: {area.get('count', '?')} pages from pfn "
                     f"{hex(area['base_pfn']) if isinstance(area.get('base_pfn'), int) else '?'}"))
    if run.copy_bw:
        rows.append(("copy bandwidth", f"{run.copy_bw / 1e6:.0f} MB/s (memcpy, same board, same run)"))
    board = run.meta.get("board")
    if isinstance(board, dict):
        rows.append(("board", ", ".join(f"{k} {v}" for k, v in board.items())))
    if run.meta.get("status"):
        st = run.meta["status"] + (f" ({run.meta['error']})" if run.meta.get("error") else "")
        rows.append(("run status", st))
    t = run.allocs
    if t.has("kernel_ns"):
        m = t.ok & (t.size * 4096 >= 1 << 20) & np.isfinite(t["kernel_ns"])
        if m.any():
            gap = np.median((t.latency_ns[m] - t["kernel_ns"][m]) / t["kernel_ns"][m])
            rows.append(("user vs kernel time", f"median user-space overhead {100 * gap:.1f}% "
                         "for requests of 1 MiB and more"))
    if run.alloc_source == "cmabench" and run.trace is not None:
        rows.append(("trace", "joined to the requests" if run.joined else
                     "not joined: its records do not match the requests"))
    rows.append(("inputs", ", ".join(f"{os.path.basename(f)} ({s})" for f, s in run.sources)))
    return table(["", ""], [list(r) for r in rows], left=2, cls="meta")


def _cross_check(run):
    """Each source's own count of the allocations: they must agree on a quiet board."""
    rows = []
    if run.alloc_source == "cmabench":
        rows.append(["cmabench records", len(run.allocs), int(run.allocs.failed.sum())])
    if run.trace is not None:
        rows.append(["cmatrace records", len(run.trace), int(run.trace.failed.sum())])
    lat = (run.bpf.get("bpf") or {}).get("cmalat")
    if isinstance(lat, dict) and isinstance(lat.get("allocations"), int):
        rows.append(["BPF cmalat", lat["allocations"], lat.get("failures", "-")])
    counters = run.meta.get("counters") or {}
    vm = (counters.get("delta") or {}).get("vmstat") or {}
    if "cma_alloc_success" in vm or "cma_alloc_fail" in vm:
        rows.append(["kernel vmstat delta", vm.get("cma_alloc_success", 0) + vm.get("cma_alloc_fail", 0),
                     vm.get("cma_alloc_fail", 0)])
    return rows if len(rows) > 1 else []


# How to read each view: one sentence.
CAPTIONS = {
    "latency": "Left: the share of the successful requests of each size that finished within a given "
               "latency (a curve further right is slower, its top end is the worst case); right: how "
               "many requests took each latency.",
    "failures": "Left: the share of the requests of each size that succeeded; right: the failed "
                "requests by the error cma_alloc returned (EBUSY: the range held pages that could "
                "not be moved, ENOMEM: no free range of that size).",
    "blocking": "The failed requests by why the page that blocked them could not be moved, as the "
                "kernel's cma_busy_page event names it, and by what that page held.",
    "occupancy": "Each point is one request: the share of the area holding movable data just before it "
                 "(x, 0-100 %) against how long it took (y); red crosses are failures.",
    "pagemix": "One panel per page kind: each point is one request, placed by the share of the area that "
               "kind held just before it (x) and its latency (y); points are not joined, as neighbours "
               "are unrelated requests.",
    "timeline": "Each point is one request at the time it started (x) and its latency (y); red crosses are "
                "failures, so slow or failed stretches of the run stand out.",
    "areamap": "Each strip is the whole area just before one request, pfn by pfn, coloured by what the "
               "pages held; the bar above it is the range the request got (red: the page that blocked a "
               "failed one), and whatever it covers other than free had to be migrated.",
    "phases": "The mean time of a request of each size, split into the phases of alloc_contig_range: "
              "isolate the range, drain the per-cpu lists, migrate the pages in use, test that the range "
              "is free; other is the rest (the bitmap search, waits between retries).",
    "copyfloor": "Each point is one successful request; the black line is the time memcpy on this board "
                 "needs for the same bytes, so the height above the line is what migration costs beyond "
                 "copying.",
    "bpf": "cmalat's kernel-side latency of cma_alloc in log2 slots, one line per size class and "
           "outcome: a cross-check of the latency user space measured.",
}


def view(vid, title, result, alt, extra=""):
    """One view's section: the caption and the figure, or the sentence why not."""
    uri, why = result
    out = [f'<section class="view" id="view-{vid}"><h2>{esc(title)}</h2>']
    if uri:
        out.append(f'<p class="caption">{esc(CAPTIONS[vid])}</p>')
        out.append(img(uri, alt))
        out.append(extra)
    else:
        out.append(f'<p class="nodata">{esc(why)}</p>')
    out.append("</section>")
    return "\n".join(out)


def _blocked_pfns(run):
    t = run.allocs
    if run.alloc_source != "cmabench" or "block_pfn" not in t:
        return {}
    return {int(i): int(t.block_pfn[i]) for i in np.flatnonzero(t.failed & np.isfinite(t.block_pfn))}


def html_report(run):
    t = run.allocs
    parts = [f"<h1>CMA report: {esc(run.scenario)}</h1>", _glance(run)]

    rows = per_size(t)
    numbers = ""
    if rows:
        numbers = table(["size", "requests", "ok", "failed", "success", "min", "p50", "p90", "p99",
                         "max", "mean"],
                        [[r["label"], r["n"], r["ok"], r["failed"], _pct(r["success_rate"]),
                          fmt_ns(r["min"]), fmt_ns(r["p50"]), fmt_ns(r["p90"]), fmt_ns(r["p99"]),
                          fmt_ns(r["max"]), fmt_ns(r["mean"])] for r in rows])
    parts.append(view("latency", "Latency per request size", plots.latency_cdf_hist(t),
                      "latency CDF and histogram", numbers))
    fe, fr = failures_by_errno(t), failures_by_reason(t)
    parts.append(view("failures", "Success and failures", plots.outcomes(t, fe), "success rate and failures",
                      table(["errno", "failures"], [[k, v] for k, v in fe]) if fe else ""))
    parts.append(view("blocking", "What blocked the failed requests", plots.blocking(t, fr, blocking_why(run)),
                      "failures by blocking page"))
    parts.append(view("occupancy", "Latency against occupancy", plots.latency_vs_occupancy(t, run.alloc_source),
                      "latency vs occupancy"))
    parts.append(view("pagemix", "Latency against page mix", plots.page_mix(t, run.alloc_source),
                      "latency vs page mix"))
    parts.append(view("timeline", "Timeline", plots.timeline(t), "request timeline"))
    parts.append(view("areamap", "CMA area map at the first request, the first failure and the last request",
                      plots.area_map(run.area_map, areamap_why(run), _blocked_pfns(run)), "area map"))
    ph = phase_means(t)
    parts.append(view("phases", "Phase breakdown", plots.phases(t, phases_why(run)), "phase breakdown",
                      table(["size", "n", "isolate", "drain", "migrate", "test", "other", "total"],
                            [[r["label"], r["n"]] + [fmt_ns(r[p]) for p in list(PHASES) + ["other", "total"]]
                             for r in ph]) if ph else ""))
    cf = copy_floor(t, run.copy_bw)
    parts.append(view("copyfloor", "Latency against the copy floor", plots.copy_floor_plot(t, run.copy_bw),
                      "copy floor",
                      table(["size", "n", "median latency", "copy of the request", "x floor",
                             "pages migrated (mean)", "copy of migrated", "x migrated floor"],
                            [[r["label"], r["n"], fmt_ns(r["p50"]), fmt_ns(r["whole_floor_ns"]),
                              f"{r['ratio_whole']:.1f}", _num(r.get("migrated_mean"), ".0f"),
                              fmt_ns(r.get("migrated_floor_ns")), _num(r.get("ratio_migrated"), ".1f")]
                             for r in cf]) if cf else ""))
    parts.append(view("bpf", "Kernel-side view (BPF collectors)", plots.bpf_histograms(run.bpf.get("bpf")),
                      "BPF latency histograms"))
    xrows = _cross_check(run)
    if xrows:
        parts.append("<h2>Allocations counted by each source</h2>")
        parts.append(table(["source", "allocations", "failed"], xrows))
    if run.scenario.startswith("gcma"):
        parts.append("<h2>Allocation latency, GCMA paper layout</h2>")
        g = gcma_table(t)
        parts.append(table(["request", "allocations", "min (ms)", "avg (ms)", "max (ms)"],
                           [[r["label"], r["n"], f"{r['min']:.3f}", f"{r['avg']:.3f}", f"{r['max']:.3f}"]
                            for r in g]))
    parts += ["<h2>Run</h2>", _meta_table(run)]
    if run.ignored:
        parts.append('<p class="note">Not read: ' + esc(", ".join(
            f"{os.path.basename(f)} ({why})" for f, why in run.ignored)) + "</p>")
    return page(f"cmakit report {run.run_id}", "\n".join(parts))


def write_report(run, out_html, out_text=None):
    write_text(out_html, html_report(run))
    text = text_summary(run)
    if out_text:
        with open(out_text, "w", encoding="utf-8") as f:
            f.write(text)
    return text


# --------------------------------------------------------------------------
# the compare verdict's page

def _fmt(v, unit):
    if v is None or not np.isfinite(v):
        return "-"
    if unit == "ns":
        return fmt_ns(v)
    if unit == "ratio":
        return f"{100 * v:.2f}%"
    if unit == "B/s":
        return f"{v / 1e6:.0f} MB/s"
    return f"{v:.3g}"


def html_verdict(verdict, base_runs, cand_runs):
    """The page of a compare verdict (compare.compare_runs) and its runs."""
    v = verdict
    parts = [f'<h1>CMA compare: <span class="{v["status"]}">{v["status"]}</span></h1>',
             table(["", ""], [["baseline", f'{len(v["base"]["runs"])} runs: ' + ", ".join(v["base"]["runs"])],
                                ["candidate", f'{len(v["candidate"]["runs"])} runs: ' + ", ".join(v["candidate"]["runs"])],
                                ["scenario", " / ".join(v["base"]["scenarios"]) + " vs " + " / ".join(v["candidate"]["scenarios"])],
                                ["kernels", " ".join(v["base"]["kernels"]) + " vs " + " ".join(v["candidate"]["kernels"])],
                                ["rule", f'FAIL when the one-sided Mann-Whitney U test over per-run values gives '
                                         f'p <= {v["alpha"]} and the median is more than '
                                         f'{100 * v["threshold"]:.0f}% worse']], left=2, cls="meta")]
    for p in v["problems"]:
        parts.append(f'<p class="ERROR">{esc(p)}</p>')
    if v["regressions"]:
        parts.append("<p><b>Regressions:</b> " + esc(", ".join(v["regressions"])) + "</p>")
    rows = []
    for r in v["metrics"]:
        rows.append((r["status"], [r["name"], r["unit"], r["direction"] or "-",
                                   _fmt(r["base"]["median"], r["unit"]), _fmt(r["candidate"]["median"], r["unit"]),
                                   "-" if r["change"] is None else f'{100 * r["change"]:+.1f}%',
                                   "-" if r["cliffs_delta"] is None else f'{r["cliffs_delta"]:+.2f}',
                                   "-" if r["p_value"] is None else f'{r["p_value"]:.3g}',
                                   r["status"], r["note"]]))
    parts.append("<h2>Metrics</h2>")
    parts.append(table(["metric", "unit", "better", "baseline median", "candidate median", "change",
                          "Cliff's delta (+ worse)", "p (one-sided)", "status", "note"], rows, left=3))
    for uri in plots.compare_figures(verdict, base_runs, cand_runs):
        parts.append(img(uri, "compare figure"))
    return page(f"cmakit compare: {v['status']}", "\n".join(parts))
