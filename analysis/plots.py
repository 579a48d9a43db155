# SPDX-License-Identifier: GPL-2.0
"""The report's figures. Each function takes the allocation table and returns a
PNG data: URI (or None when the run has no data for it). Large runs are drawn
as densities (2-D histograms) instead of one marker per allocation, so a
million records render in about the time of a thousand.
"""

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
import matplotlib.pyplot as plt

from .htmlpage import fig_uri
from .summary import phase_means, size_classes, size_label
from .table import PAGE_SIZE, PHASES

SCATTER_MAX = 20000
COLORS = plt.get_cmap("tab10").colors


def _log_bins(lo, hi, n=60):
    lo = max(lo, 1.0)
    hi = max(hi, lo * 10)
    return np.logspace(np.log10(lo), np.log10(hi), n)


def _us(ns):
    return ns / 1e3


def latency_cdf_hist(t):
    ok = t.ok & np.isfinite(t.latency_ns)
    if not ok.any():
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    lat_all = _us(t.latency_ns[ok])
    bins = _log_bins(lat_all.min() * 0.9, lat_all.max() * 1.1)
    for i, s in enumerate(size_classes(t)):
        lat = np.sort(_us(t.latency_ns[ok & (t.size == s)]))
        if not len(lat):
            continue
        c = COLORS[i % len(COLORS)]
        # the CDF at at most 2000 quantiles: exact shape, bounded drawing cost
        q = np.linspace(0, 1, min(len(lat), 2000))
        x = np.quantile(lat, q)
        a1.plot(x, q * 100, color=c, label=f"{size_label(s)} (n={len(lat)})")
        h, _ = np.histogram(lat, bins=bins)
        a2.step(bins[:-1], h, where="post", color=c, label=size_label(s))
    a1.set_xscale("log")
    a1.set_xlabel("latency (us, log)")
    a1.set_ylabel("allocations at or below (%)")
    a1.set_title("Latency CDF per request size (successful allocations)")
    a1.grid(True, which="both", alpha=0.3)
    a1.legend(fontsize=8)
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("latency (us, log)")
    a2.set_ylabel("allocations (log)")
    a2.set_title("Latency histogram per request size")
    a2.grid(True, which="both", alpha=0.3)
    a2.legend(fontsize=8)
    return fig_uri(fig)


def outcomes(t, by_errno, by_reason, reason_known=True):
    if not len(t):
        return None
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    rows = size_classes(t)
    rates = [100.0 * (t.ok & (t.size == s)).sum() / max((t.size == s).sum(), 1) for s in rows]
    labels = [size_label(s) for s in rows]
    axes[0].bar(labels, rates, color="#4c9a2a")
    axes[0].set_ylim(0, 105)
    axes[0].set_ylabel("success (%)")
    axes[0].set_title("Success rate per request size")
    for i, r in enumerate(rates):
        axes[0].text(i, r + 1, f"{r:.1f}", ha="center", fontsize=8)
    for ax, data, title, col in ((axes[1], by_errno, "Failures by errno", "#c0392b"),
                                 (axes[2], by_reason, "Failures by blocking-page reason", "#d35400")):
        if data:
            ax.barh([d[0] for d in data][::-1], [d[1] for d in data][::-1], color=col)
            ax.set_xlabel("failed allocations")
        else:
            msg = "no failures" if not t.failed.any() else \
                "no blocking-page data\n(cmatrace on a patched kernel names it)"
            ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
        ax.set_title(title)
    fig.tight_layout()
    return fig_uri(fig)


def _density(ax, x, y, xbins, ybins, logx=False, cmap="Blues"):
    """A 2-D histogram drawn as one image. Log axes are drawn as log10 data on
    linear axes with 10^k tick labels (one image instead of thousands of
    transformed quads); returns the function that maps data to the axes."""
    fx = np.log10 if logx else (lambda v: v)
    xe = fx(np.asarray(xbins, dtype=float))
    ye = np.log10(np.asarray(ybins, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        h, _, _ = np.histogram2d(fx(x), np.log10(y), bins=[xe, ye])
    ax.imshow(np.ma.masked_equal(h.T, 0), origin="lower", aspect="auto", cmap=cmap, interpolation="nearest",
              extent=(xe[0], xe[-1], ye[0], ye[-1]), norm=mcolors.LogNorm(vmin=1, vmax=max(h.max(), 2)))
    pow10 = ticker.FuncFormatter(lambda v, _: f"$10^{{{v:g}}}$")
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(pow10)
    if logx:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(pow10)
    return lambda xs, ys: (fx(np.asarray(xs, dtype=float)), np.log10(np.asarray(ys, dtype=float)))


def latency_vs_occupancy(t):
    have_occ = t.has("occupancy")
    kinds = t.mix_kinds()
    if not have_occ:
        return None
    fin = t.finished & np.isfinite(t.latency_ns) & np.isfinite(t.occupancy)
    if not fin.any():
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    occ = t.occupancy * 100
    lat = _us(t.latency_ns)
    ok = fin & t.ok
    bad = fin & t.failed
    ybins = _log_bins(lat[fin].min() * 0.9, lat[fin].max() * 1.1, 50)
    if fin.sum() > SCATTER_MAX:
        to = _density(a1, occ[ok], lat[ok], np.linspace(0, 100, 51), ybins)
        sel = np.flatnonzero(bad)[:SCATTER_MAX]
        a1.scatter(*to(occ[sel], lat[sel]), s=4, color="red", marker="x", label="failed")
    else:
        a1.set_yscale("log")
        for i, s in enumerate(size_classes(t)):
            m = ok & (t.size == s)
            a1.scatter(occ[m], lat[m], s=6, alpha=0.6, color=COLORS[i % len(COLORS)], label=size_label(s))
        a1.scatter(occ[bad], lat[bad], s=14, color="red", marker="x", label="failed")
    a1.set_xlabel("area occupancy before the allocation (%)")
    a1.set_ylabel("latency (us, log)")
    a1.set_title("Latency against area occupancy")
    a1.grid(True, which="both", alpha=0.3)
    a1.legend(fontsize=8, markerscale=2)
    # page mix: median latency per decile of each kind's share of the area
    if kinds:
        edges = np.linspace(0, 100, 11)
        for i, k in enumerate(kinds):
            share = t["mix_" + k][ok] * 100
            l = lat[ok]
            idx = np.clip(np.digitize(share, edges) - 1, 0, 9)
            med = np.full(10, np.nan)
            cnt = np.bincount(idx, minlength=10)
            order = np.lexsort((l, idx))
            starts = np.concatenate(([0], np.cumsum(cnt)[:-1]))
            for b in np.flatnonzero(cnt >= 5):
                seg = l[order[starts[b]:starts[b] + cnt[b]]]
                med[b] = seg[len(seg) // 2]
            a2.plot((edges[:-1] + 5)[np.isfinite(med)], med[np.isfinite(med)], marker="o",
                    color=COLORS[i % len(COLORS)], label=k)
        a2.set_yscale("log")
        a2.set_xlabel("share of the area held by pages of that kind (%)")
        a2.set_ylabel("median latency (us, log)")
        a2.set_title("Latency against page mix")
        a2.grid(True, which="both", alpha=0.3)
        a2.legend(fontsize=8)
    else:
        a2.text(0.5, 0.5, "no page mix in this run", ha="center", va="center", transform=a2.transAxes)
        a2.set_axis_off()
    fig.tight_layout()
    return fig_uri(fig)


def timeline(t):
    fin = t.finished & np.isfinite(t.latency_ns) & np.isfinite(t.t_ns)
    if not fin.any():
        return None
    fig, ax = plt.subplots(figsize=(12, 3.8))
    x = t.t_ns / 1e9
    lat = _us(t.latency_ns)
    ok = fin & t.ok
    bad = fin & t.failed
    to = lambda xs, ys: (xs, ys)  # noqa: E731
    if fin.sum() > SCATTER_MAX:
        ybins = _log_bins(lat[fin].min() * 0.9, lat[fin].max() * 1.1, 50)
        to = _density(ax, x[ok], lat[ok], np.linspace(x[fin].min(), x[fin].max() + 1e-9, 200), ybins)
        sel = np.flatnonzero(bad)
        if len(sel) > SCATTER_MAX:
            sel = sel[np.linspace(0, len(sel) - 1, SCATTER_MAX).astype(np.int64)]
    else:
        ax.set_yscale("log")
        ax.scatter(x[ok], lat[ok], s=5, color="#1f77b4", label="ok")
        sel = np.flatnonzero(bad)
    ax.scatter(*to(x[sel], lat[sel]), s=16, color="red", marker="x",
               label=f"failed ({int(bad.sum())})")
    unf = t.status == 2
    if unf.any() and np.isfinite(t.t_ns[unf]).any():
        ax.scatter(*to(x[unf], np.full(int(unf.sum()), lat[fin].max())), s=16, color="black",
                   marker="|", label=f"unfinished ({int(unf.sum())})")
    ax.set_xlabel("time since the first allocation (s)")
    ax.set_ylabel("latency (us, log)")
    ax.set_title("Allocations over time (failures marked)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig_uri(fig)


MAP_COLORS = {"free": "#ffffff", "cma": "#2ca02c", "allocated": "#2ca02c", "anon": "#1f77b4",
              "file": "#ff7f0e", "shmem": "#9467bd", "pinned": "#d62728", "kernel": "#7f7f7f",
              "unmovable": "#7f7f7f", "buddy": "#ffffff", "other": "#bcbd22"}


def area_map(maps):
    keys = [k for k in ("before", "after") if k in maps]
    if not keys:
        return None
    names = []
    for k in keys:
        names += [n for n in maps[k]["names"] if n not in names]
    fig, axes = plt.subplots(len(keys), 1, figsize=(12, 1.3 * len(keys) + 0.9), squeeze=False)
    cmap = mcolors.ListedColormap([MAP_COLORS.get(n, COLORS[i % len(COLORS)]) for i, n in enumerate(names)])
    for ax, k in zip(axes[:, 0], keys):
        m = maps[k]
        remap = np.array([names.index(n) for n in m["names"]], dtype=np.int64)
        row = remap[m["kinds"]] if len(m["kinds"]) else np.zeros(1, dtype=np.int64)
        # at most 4096 columns: each column shows the most common kind of its pages
        cols = min(len(row), 4096)
        idx = np.arange(len(row)) * cols // len(row)
        counts = np.zeros((cols, len(names)), dtype=np.int64)
        np.add.at(counts, (idx, row), 1)
        img = counts.argmax(axis=1)[None, :]
        base = m["base_pfn"]
        ax.imshow(img, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, interpolation="nearest",
                  extent=(base, base + len(row), 0, 1))
        ax.set_yticks([])
        ax.set_ylabel(k, rotation=0, ha="right", va="center")
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    axes[-1, 0].set_xlabel("pfn")
    axes[0, 0].set_title("CMA area map: page kind by pfn")
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=cmap(i), edgecolor="black", linewidth=0.5) for i in range(len(names))]
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, bbox_to_anchor=(0.5, -0.12))
    return fig_uri(fig)


def phases(t):
    rows = phase_means(t)
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(10, 3.8))
    labels = [r["label"] for r in rows]
    bottom = np.zeros(len(rows))
    for i, p in enumerate(list(PHASES) + ["other"]):
        v = np.array([r[p] for r in rows]) / 1e3
        ax.bar(labels, v, bottom=bottom, label=p, color=COLORS[i % len(COLORS)] if p != "other" else "#cccccc")
        bottom += v
    ax.set_ylabel("mean time per allocation (us)")
    ax.set_title("Phase breakdown of alloc_contig_range (isolate, drain, migrate, test)")
    ax.legend(fontsize=8)
    return fig_uri(fig)


def copy_floor_plot(t, bw):
    if not bw:
        return None
    ok = t.ok & np.isfinite(t.latency_ns)
    if not ok.any():
        return None
    fig, ax = plt.subplots(figsize=(10, 4.2))
    mib = t.size * PAGE_SIZE / 2 ** 20
    lat = t.latency_ns / 1e6
    if t.has("migrated"):
        x = t.migrated * PAGE_SIZE / 2 ** 20
        xlabel = "MiB migrated for the allocation (log)"
    else:
        x = mib
        xlabel = "MiB requested (log)"
    good = ok & (x > 0)
    to = lambda xs, ys: (xs, ys)  # noqa: E731
    if good.sum() > SCATTER_MAX:
        xb = np.logspace(np.log10(x[good].min() * 0.9), np.log10(x[good].max() * 1.1), 60)
        yb = np.logspace(np.log10(lat[good].min() * 0.9), np.log10(lat[good].max() * 1.1), 50)
        to = _density(ax, x[good], lat[good], xb, yb, logx=True)
    else:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.scatter(x[good], lat[good], s=5, alpha=0.6, label="allocations")
    if good.any():
        xs = np.logspace(np.log10(x[good].min()), np.log10(x[good].max()), 50)
        ax.plot(*to(xs, xs * 2 ** 20 / bw * 1e3), color="black", linewidth=2,
                label=f"copy floor ({bw / 1e6:.0f} MB/s measured)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (ms, log)")
    ax.set_title("Latency against the copy floor (the same bytes through memcpy on this board)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig_uri(fig)


def composition(comp):
    """The area's page kinds before the first and after the last request (pages)."""
    keys = [k for k in ("before", "after") if k in comp]
    if not keys:
        return None
    kinds = ["free", "cma", "anon", "shmem", "file", "other"]
    fig, ax = plt.subplots(figsize=(12, 0.8 * len(keys) + 1.2))
    for y, k in enumerate(keys):
        left = 0
        for kind in kinds:
            v = comp[k].get(kind, 0) or 0
            ax.barh(y, v, left=left, color=MAP_COLORS.get(kind, "#bcbd22"), edgecolor="black",
                    linewidth=0.3, label=kind if y == 0 else None)
            left += v
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([f"{k} (first request)" if k == "before" else f"{k} (last request)" for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel("pages of the area")
    ax.set_title("CMA area composition (from /proc/kpageflags, as cmabench read it)")
    ax.legend(fontsize=8, ncol=len(kinds), loc="upper center", bbox_to_anchor=(0.5, -0.35))
    return fig_uri(fig)


def bpf_histograms(doc):
    """cmalat's kernel-side log2 latency histograms: one line per size class and errno."""
    lat = doc.get("cmalat") if isinstance(doc, dict) else None
    hists = lat.get("histograms") if isinstance(lat, dict) else None
    if not hists:
        return None
    unit = lat.get("unit", "us")
    fig, ax = plt.subplots(figsize=(12, 3.8))
    drawn = 0
    for i, h in enumerate(hists):
        slots = h.get("slots") or []
        try:
            arr = np.array(slots, dtype=float).reshape(-1, 3)
        except ValueError:
            continue
        if not len(arr):
            continue
        x = np.sqrt(np.maximum(arr[:, 0], 0.5) * np.maximum(arr[:, 1], 1))
        pages = h.get("pages_min")
        label = f"{size_label(pages) if pages else 'class ' + str(h.get('size_class'))} {h.get('error', '')}".strip()
        ax.plot(x, arr[:, 2], marker="o", color=COLORS[i % len(COLORS)], label=f"{label} (n={h.get('count')})")
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xscale("log")
    ax.set_xlabel(f"latency ({unit}, log2 slots)")
    ax.set_ylabel("allocations")
    ax.set_title("Kernel-side latency histograms (BPF cmalat)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig_uri(fig)
