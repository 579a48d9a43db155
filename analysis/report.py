# SPDX-License-Identifier: GPL-2.0
"""`report RUN_DIR`: one self-contained HTML page and a plain-text summary of a run."""

import datetime as dt
import os

import numpy as np

from . import plots
from .htmlpage import esc, img, page, table
from .summary import (copy_floor, failures_by_errno, failures_by_reason, fmt_ns, gcma_table,
                      per_size, phase_means)
from .table import PHASES


def _when(run):
    s = run.started
    if not s:
        return "unknown"
    return dt.datetime.fromtimestamp(s, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(x, fmt):
    return "-" if x is None or not np.isfinite(x) else format(x, fmt)


def _pct(x):
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


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
    fe = failures_by_errno(t)
    if fe:
        lines.append("failures by errno: " + ", ".join(f"{k} {v}" for k, v in fe))
    fr = failures_by_reason(t)
    if fr:
        lines.append("failures by blocking page: " + ", ".join(f"{k} {v}" for k, v in fr))
    ph = phase_means(t)
    if ph:
        tot = {p: sum(r[p] * r["n"] for r in ph) for p in list(PHASES) + ["other"]}
        s = sum(tot.values()) or 1.0
        lines.append("time in phases: " + ", ".join(f"{p} {100 * v / s:.0f}%" for p, v in tot.items()))
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
    rows.append(("inputs", ", ".join(f"{os.path.basename(f)} ({s})" for f, s in run.sources)))
    return table(["", ""], [list(r) for r in rows], left=2, cls="meta")


def H_img(uri, alt):
    return img(uri, alt)


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


def html_report(run):
    t = run.allocs
    parts = [f"<h1>CMA report: {esc(run.scenario)}</h1>", _meta_table(run),
             "<h2>Summary</h2>", f"<pre>{esc(text_summary(run))}</pre>"]

    rows = per_size(t)
    if rows:
        parts.append(table(["size", "allocations", "ok", "failed", "success", "min", "p50", "p90", "p99",
                            "max", "mean"],
                           [[r["label"], r["n"], r["ok"], r["failed"], _pct(r["success_rate"]),
                             fmt_ns(r["min"]), fmt_ns(r["p50"]), fmt_ns(r["p90"]), fmt_ns(r["p99"]),
                             fmt_ns(r["max"]), fmt_ns(r["mean"])] for r in rows]))

    def section(title, uri, alt, note=None):
        parts.append(f"<h2>{esc(title)}</h2>")
        if uri:
            parts.append(img(uri, alt))
        else:
            parts.append(f'<p class="note">{esc(note or "no data for this view in this run")}</p>')

    section("Latency per request size", plots.latency_cdf_hist(t), "latency CDF and histogram")
    fe, fr = failures_by_errno(t), failures_by_reason(t)
    section("Success and failures", plots.outcomes(t, fe, fr), "success rate and failures")
    if fe:
        parts.append(table(["errno", "failures"], [[k, v] for k, v in fe]))
    section("Latency against occupancy and page mix", plots.latency_vs_occupancy(t),
            "latency vs occupancy", "this run's records carry no area occupancy")
    section("Timeline", plots.timeline(t), "allocation timeline")
    section("CMA area map, before and after", plots.area_map(run.area_maps), "area map",
            "this run has no area map (analysis.board areamap before and after the benchmark)")
    comp = plots.composition(run.composition)
    if comp:
        parts.append(H_img(comp, "area composition"))
    section("Phase breakdown", plots.phases(t), "phase breakdown",
            "no phase timing (stock kernel or no trace)")
    ph = phase_means(t)
    if ph:
        parts.append(table(["size", "n", "isolate", "drain", "migrate", "test", "other", "total"],
                           [[r["label"], r["n"]] + [fmt_ns(r[p]) for p in list(PHASES) + ["other", "total"]]
                            for r in ph]))
    section("Latency against the copy floor", plots.copy_floor_plot(t, run.copy_bw), "copy floor",
            "no copy bandwidth measured in this run")
    cf = copy_floor(t, run.copy_bw)
    if cf:
        parts.append(table(["size", "n", "median latency", "copy of the request", "x floor",
                            "pages migrated (mean)", "copy of migrated", "x migrated floor"],
                           [[r["label"], r["n"], fmt_ns(r["p50"]), fmt_ns(r["whole_floor_ns"]),
                             f"{r['ratio_whole']:.1f}", _num(r.get("migrated_mean"), ".0f"),
                             fmt_ns(r.get("migrated_floor_ns")), _num(r.get("ratio_migrated"), ".1f")]
                            for r in cf]))
    bpf = run.bpf.get("bpf")
    if bpf:
        section("Kernel-side view (BPF collectors)", plots.bpf_histograms(bpf), "BPF latency histograms",
                "the BPF document has no cmalat histograms")
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
    if run.ignored:
        parts.append('<p class="note">Not read: ' + esc(", ".join(
            f"{os.path.basename(f)} ({why})" for f, why in run.ignored)) + "</p>")
    return page(f"cmakit report {run.run_id}", "\n".join(parts))


def write_report(run, out_html, out_text=None):
    os.makedirs(os.path.dirname(os.path.abspath(out_html)), exist_ok=True)
    html = html_report(run)
    tmp = out_html + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(html)
    os.replace(tmp, out_html)
    text = text_summary(run)
    if out_text:
        with open(out_text, "w", encoding="utf-8") as f:
            f.write(text)
    return text
